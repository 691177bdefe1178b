package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/app"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/sandbox/openzaak"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/telemetry"
)

func recent(t *testing.T, h *harness) []store.Record {
	recs, err := h.app.Store().Recent(context.Background(), 2000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// startReplica runs a second app on h's bus, store and clock.
func startReplica(t *testing.T, h *harness) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Server.Listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, telemetry.NewLogger(&syncBuffer{}, "json", "info"), h.clock.Now)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	a.UseListener(ln)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	select {
	case <-a.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("replica did not start")
	}
}

// Two routers on the same RabbitMQ and Redis share one Notify budget: with
// a scaled-down limit of 5 requests a second (margin 20 %: a rate of 4
// and a burst of 1, at most 5 in any second) and 20 messages, Notify never sees more than 5 requests in a
// second, not 5 per replica, the limiter did hold messages back, and every message is sent exactly once. A
// count, not a timing. The clock is not moved here: the shared limiter
// (redis_rate) reads Redis's own clock, and the fake clock runs on at the
// same pace, so the requests' times on it are counted per second.
func TestEndToEndReplicasShareNotifyLimit(t *testing.T) {
	h := startHarness(t, "scaled", func(c *config.Config) {
		c.Notify.RateLimit = config.NotifyRateLimit{Requests: 5, Per: time.Second, Margin: 0.2}
		c.Pipeline.Concurrency = 2
	})
	startReplica(t, h)
	oz, d := h.sb.OpenZaak, h.sb.Demo
	const messages = 20
	start := h.clock.Now()
	var last string
	for i := range messages {
		z := newDemoZaak(oz, d, fmt.Sprintf("ZAAK-RL-%02d", i), "Limiet", openzaak.DemoBSNJansen, "Jan")
		n := statusNotification(oz, z, oz.SetStatus(z.URL, d.Statustypen[0], h.clock.Now()))
		h.post(t, n)
		last = httpapi.NotificationID(n)
	}
	defer func() {
		if t.Failed() {
			for _, r := range h.trail(t, last) {
				t.Logf("%s %s %s %s", r.At.Format("15:04:05.000"), r.Stage, r.Status, r.Detail)
			}
			t.Logf("notify requests %d, sent %d", len(h.sb.Notify.Requests()), len(h.sb.Notify.Sent()))
		}
	}()
	inWindow := func(from time.Time) int {
		n := 0
		for _, r := range h.sb.Notify.Requests() {
			if !r.At.Before(from) && r.At.Before(from.Add(time.Second)) {
				n++
			}
		}
		return n
	}
	eventually(t, 60*time.Second, "every message to be sent", func() bool { return len(h.sb.Notify.Sent()) >= messages })
	time.Sleep(300 * time.Millisecond) // a duplicate, if any, would show now
	seen := map[string]bool{}
	for _, s := range h.sb.Notify.Sent() {
		if seen[s.Reference] {
			t.Fatalf("delivery %s sent twice", s.Reference)
		}
		seen[s.Reference] = true
	}
	if len(seen) != messages {
		t.Fatalf("%d distinct deliveries, want %d", len(seen), messages)
	}
	// No second of the clock saw more than the budget.
	busiest := 0
	for from := start.Add(-time.Second); from.Before(h.clock.Now()); from = from.Add(10 * time.Millisecond) {
		busiest = max(busiest, inWindow(from))
	}
	if busiest > 5 {
		t.Fatalf("%d Notify requests in one second from two replicas, want at most 5", busiest)
	}
	parks := 0
	for _, r := range recent(t, h) {
		if r.Stage == "deliver" && r.Status == "requeued" && strings.Contains(r.Detail, "snelheidslimiet") {
			parks++
		}
	}
	if parks == 0 {
		t.Fatal("the limiter never held a message back: the test did not reach the limit")
	}
	t.Logf("%d messages, %d Notify requests, at most %d in any second, %d parks", messages, len(h.sb.Notify.Requests()), busiest, parks)
}
