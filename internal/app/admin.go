package app

import (
	"encoding/json"
	"net/http"

	"github.com/mijnservices/koerier/channels/notifynl"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/ratelimit"
)

// mountAdmin registers the admin API behind the admin tokens: metrics,
// rules status and reload, and the ledger.
func (a *App) mountAdmin() {
	a.api.MountAdmin("GET /metrics", a.prov.MetricsHandler)
	a.api.MountAdmin("GET /admin/rules", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.rules.Status())
	}))
	a.api.MountAdmin("POST /admin/rules/reload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.rules.Reload(); err != nil {
			httpapi.WriteProblem(w, http.StatusUnprocessableEntity, "De regels zijn niet herladen", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, a.rules.Status())
	}))
	a.api.MountAdmin("GET /admin/notify", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.notifyStatus())
	}))
	a.api.MountAdmin("GET /admin/trail/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recs, err := a.store.Trail(r.Context(), r.PathValue("id"))
		if err != nil {
			httpapi.WriteProblem(w, http.StatusServiceUnavailable, "Het spoor kon niet worden gelezen", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, recs)
	}))
	a.api.MountAdmin("GET /admin/ledger", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recs, err := a.store.Recent(r.Context(), 200)
		if err != nil {
			httpapi.WriteProblem(w, http.StatusServiceUnavailable, "Het grootboek kon niet worden gelezen", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, recs)
	}))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NotifyStatus is GET /admin/notify: the configured limit and, per Notify
// service, its circuit breaker, daily-limit parks and limiter use, for the
// console. The counts are this replica's since it started; the limiter's
// budget itself is shared (Redis) in the scaled set-up.
type NotifyStatus struct {
	// Limiter is "redis" (shared by all replicas) or "local".
	Limiter string `json:"limiter"`
	// Requests per Per with Margin is the configured limit per API key;
	// Rate is what the limiter lets through per Per.
	Requests int               `json:"requests"`
	Per      string            `json:"per"`
	Margin   float64           `json:"margin"`
	Rate     int               `json:"rate"`
	Services []notifynl.Status `json:"services"`
}

func (a *App) notifyStatus() NotifyStatus {
	rl := a.cfg.Notify.RateLimit
	st := NotifyStatus{Limiter: "local", Requests: rl.Requests, Per: rl.Per.String(), Margin: rl.Margin,
		Rate: ratelimit.Limit{Requests: rl.Requests, Per: rl.Per, Margin: rl.Margin}.Rate(), Services: []notifynl.Status{}}
	if a.cfg.Store.Backend == "redis" {
		st.Limiter = "redis"
	}
	for _, c := range a.notify {
		st.Services = append(st.Services, c.Status())
	}
	return st
}
