package main

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpapi"
)

// cutProxy is a TCP proxy that a test can cut: every open connection is
// closed and new ones are refused until it is restored, as when the
// network to Redis fails.
type cutProxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// setCut cuts (true) or restores (false) the connection.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// A Redis outage while notifications are posted: the bus takes them, the
// store cannot record them. Once Redis is back, every trail starts at
// ingest (enrich writes the record ingest could not), with one ingest
// record each.
func TestRedisOutageLeavesNoLedgerHoles(t *testing.T) {
	requireServer(t, "Redis", "127.0.0.1:6379")
	proxy := startCutProxy(t, "127.0.0.1:6379")
	h := startHarness(t, "scaled", func(c *config.Config) {
		c.Store.Redis.Addr = proxy.Addr()
		// Long enough that the messages taken during the cut are retried
		// after it, not dead-lettered.
		c.Pipeline.TemporaryBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	})
	oz, d := h.sb.OpenZaak, h.sb.Demo

	proxy.setCut(true)
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
	proxy.setCut(false)

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
