package app

import (
	"encoding/json"
	"net/http"

	"github.com/mijnservices/koerier/internal/httpapi"
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
