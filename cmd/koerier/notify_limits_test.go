package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/notify"
	"github.com/mijnservices/koerier/internal/store"
)

func requeuedDetails(recs []store.Record, stage string) []string {
	var out []string
	for _, r := range recs {
		if r.Stage == stage && r.Status == "requeued" {
			out = append(out, r.Detail)
		}
	}
	return out
}

func (h *harness) notifyStatus(t *testing.T) app.NotifyStatus {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+"/admin/notify", nil)
	req.Header.Set("Authorization", "Bearer admin-e2e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st app.NotifyStatus
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/notify: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func notifySends(h *harness) int {
	n := 0
	for _, r := range h.sb.Notify.Requests() {
		if r.Method == http.MethodPost {
			n++
		}
	}
	return n
}

// A 429 with Retry-After re-queues the delivery for that long: nothing is
// sent before the fake clock passes it, and it is sent once after.
func TestEndToEndNotify429RetryAfter(t *testing.T) {
	h := startHarness(t, "embedded")
	h.sb.NotifyFaults.Add(notify.RateLimitFault(1, 45*time.Second))
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	id := httpapi.NotificationID(n)
	start := h.clock.Now()
	h.post(t, n)
	eventually(t, 20*time.Second, "the re-queue after the 429", func() bool {
		return len(requeuedDetails(h.trail(t, id), "deliver")) > 0
	})
	det := requeuedDetails(h.trail(t, id), "deliver")[0]
	if !strings.Contains(det, "429") {
		t.Fatalf("re-queue detail %q does not name the 429", det)
	}
	// The next attempt is 45 s on (Amsterdam time, to the second).
	want := start.Add(45 * time.Second).In(clock.Amsterdam)
	if !strings.Contains(det, want.Format("02-01-2006 15:04")) {
		t.Fatalf("re-queue detail %q: want the next attempt about %s", det, want.Format("15:04:05"))
	}
	time.Sleep(500 * time.Millisecond)
	if got := len(sentTo(h.sb, "jan.jansen@example.com")); got != 0 {
		t.Fatalf("%d emails before the Retry-After passed", got)
	}
	h.clock.Advance(46 * time.Second)
	eventually(t, 20*time.Second, "the email after the Retry-After", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
	})
	if got := len(sentTo(h.sb, "jan.jansen@example.com")); got != 1 {
		t.Fatalf("%d emails, want 1", got)
	}
	if st := h.notifyStatus(t); len(st.Services) == 0 || st.Services[0].TooMany != 1 {
		t.Fatalf("/admin/notify does not count the 429: %+v", st)
	}
}

// The daily limit parks the delivery until just after midnight in
// Amsterdam: an hour later nothing has been tried again; after midnight it
// is sent once.
func TestEndToEndNotifyDailyLimitParks(t *testing.T) {
	h := startHarness(t, "embedded")
	h.sb.NotifyFaults.Add(notify.DailyLimitFault(1, 250))
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	id := httpapi.NotificationID(n)
	h.post(t, n)
	eventually(t, 20*time.Second, "the park after the daily limit", func() bool {
		return len(requeuedDetails(h.trail(t, id), "deliver")) > 0
	})
	det := requeuedDetails(h.trail(t, id), "deliver")[0]
	now := h.clock.Now().In(clock.Amsterdam)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, clock.Amsterdam)
	if !strings.Contains(det, "geparkeerd") || !strings.Contains(det, midnight.Format("02-01-2006 00:0")) {
		t.Fatalf("park detail %q: want parked until just after %s", det, midnight)
	}
	if st := h.notifyStatus(t); len(st.Services) == 0 || len(st.Services[0].ParkedUntil) == 0 {
		t.Fatalf("/admin/notify does not show the park: %+v", st)
	}
	calls := len(h.sb.Notify.Requests())
	h.clock.Advance(time.Hour)
	time.Sleep(500 * time.Millisecond)
	if got := len(h.sb.Notify.Requests()); got != calls {
		t.Fatalf("Notify called %d more times during the park", got-calls)
	}
	h.clock.Set(midnight.Add(2 * time.Minute))
	eventually(t, 20*time.Second, "the email after midnight", func() bool {
		return hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered)
	})
	if got := len(sentTo(h.sb, "jan.jansen@example.com")); got != 1 {
		t.Fatalf("%d emails, want 1", got)
	}
}

// After N consecutive 5xx the breaker opens: the delivery is parked
// instead of tried (the attempts during the outage are bounded), the trail
// and /admin/notify say so, and after the outage one probe sends it once.
//
// gobreaker reads the wall clock, not the injected one, so the interval is
// a short real one here; the fake clock runs on at the same pace, and the
// park (on the fake clock) and the half-open probe (on the wall clock)
// fall due together.
func TestEndToEndNotifyBreakerOpens(t *testing.T) {
	h := startHarness(t, "embedded", func(c *config.Config) {
		c.Notify.Breaker = config.NotifyBreaker{Failures: 3, Interval: time.Second}
		c.Pipeline.TemporaryBackoff = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond,
			100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	})
	h.sb.NotifyFaults.Add(notify.ServerErrorFault(0))
	oz, d := h.sb.OpenZaak, h.sb.Demo
	n := statusNotification(oz, d.ZaakInwoner, oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[0], h.clock.Now()))
	id := httpapi.NotificationID(n)
	h.post(t, n)
	eventually(t, 20*time.Second, "the breaker park in the trail", func() bool {
		for _, det := range requeuedDetails(h.trail(t, id), "deliver") {
			if strings.Contains(det, "geparkeerd") {
				return true
			}
		}
		return false
	})
	st := h.notifyStatus(t)
	if len(st.Services) == 0 || st.Services[0].Breaker != "open" || st.Services[0].BreakerParks == 0 {
		t.Fatalf("/admin/notify: %+v, want the breaker open", st)
	}
	if got := len(h.sb.Notify.Requests()); got > 3 {
		t.Fatalf("%d calls to Notify during the outage, want at most the 3 that opened the breaker", got)
	}
	if hasStatus(h.trail(t, id), "deliver", "deadletter") {
		t.Fatal("dead-lettered during the outage")
	}
	h.sb.NotifyFaults.Clear()
	deadline := time.Now().Add(20 * time.Second)
	for !hasStatus(h.trail(t, id), "settle", event.OutcomeDelivered) {
		if time.Now().After(deadline) {
			for _, r := range h.trail(t, id) {
				t.Logf("%s %s %s %s", r.At.Format("15:04:05.000"), r.Stage, r.Status, r.Detail)
			}
			t.Fatalf("no delivery after the outage; /admin/notify %+v", h.notifyStatus(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := len(sentTo(h.sb, "jan.jansen@example.com")); got != 1 {
		t.Fatalf("%d emails, want exactly 1", got)
	}
	if st := h.notifyStatus(t); st.Services[0].Breaker != "closed" {
		t.Fatalf("breaker %q after recovery, want closed", st.Services[0].Breaker)
	}
}
