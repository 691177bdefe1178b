package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/netcut"
)

// A Redis outage while notifications are posted: the bus takes them, the
// store cannot record them. Once Redis is back, every trail starts at
// ingest (enrich writes the record ingest could not), with one ingest
// record each.
func TestRedisOutageLeavesNoLedgerHoles(t *testing.T) {
	requireServer(t, "Redis", "127.0.0.1:6379")
	proxy := netcut.Start(t, "127.0.0.1:6379")
	h := startHarness(t, "scaled", func(c *config.Config) {
		c.Store.Redis.Addr = proxy.Addr()
		// Long enough that the messages taken during the cut are retried
		// after it, not dead-lettered.
		c.Pipeline.TemporaryBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	})
	oz, d := h.sb.OpenZaak, h.sb.Demo

	proxy.Cut()
	var ids []string
	for i := 0; i < 10; i++ {
		st := oz.SetStatus(d.ZaakInwoner.URL, d.Statustypen[1], h.clock.Now())
		n := statusNotification(oz, d.ZaakInwoner, st)
		if code := h.post(t, n); code != http.StatusNoContent {
			t.Fatalf("post %d during the outage: HTTP %d (the bus is up: ingest must accept)", i, code)
		}
		ids = append(ids, httpapi.NotificationID(n))
	}
	time.Sleep(time.Second) // the outage lasts a while; enrich fails meanwhile
	proxy.Restore()

	for _, id := range ids {
		eventually(t, 30*time.Second, "trail "+id[:8]+" to start at ingest and reach enrich", func() bool {
			recs := h.trail(t, id)
			if len(recs) == 0 || recs[0].Stage != "ingest" {
				return false
			}
			ingest, enrich := 0, 0
			for _, r := range recs {
				switch r.Stage {
				case "ingest":
					ingest++
				case "enrich":
					enrich++
				}
			}
			if ingest > 1 {
				t.Fatalf("trail %s has %d ingest records", id, ingest)
			}
			return enrich > 0
		})
	}
}
