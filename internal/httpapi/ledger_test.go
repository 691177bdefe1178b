package httpapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// hangUpPublisher cancels the request's context once the message is
// durable, as a client that gives up right then does.
type hangUpPublisher struct {
	message.Publisher
	cancel context.CancelFunc
}

func (p hangUpPublisher) Publish(topic string, msgs ...*message.Message) error {
	err := p.Publisher.Publish(topic, msgs...)
	p.cancel()
	return err
}

func TestIngestBookkeepingSurvivesClientDisconnect(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := newHarness(t, func(o *Options) { o.Publisher = hangUpPublisher{Publisher: o.Publisher, cancel: cancel} })
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/notificaties", strings.NewReader(string(readTestdata(t, "status-created.json"))))
	req.Header.Set("Authorization", testToken)
	h.srv.ServeHTTP(httptest.NewRecorder(), req)
	got := h.published(t)
	if len(got) != 1 {
		t.Fatalf("published %d", len(got))
	}
	id := got[0].ID
	if _, ok, _ := h.store.Get(context.Background(), SeenKey(id)); !ok {
		t.Error("dedup mark lost when the client hung up after the publish")
	}
	if trail := h.ledger(t); len(trail) != 1 || trail[0].Stage != "ingest" {
		t.Errorf("trail = %+v, want the ingest record", trail)
	}
}

// outageStore fails every write while down, as a store behind a cut
// connection does.
type outageStore struct {
	*store.SQLite
	down atomic.Bool
}

var errOutage = errors.New("store unreachable")

func (s *outageStore) Append(ctx context.Context, r store.Record) error {
	if s.down.Load() {
		return errOutage
	}
	return s.SQLite.Append(ctx, r)
}

func (s *outageStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if s.down.Load() {
		return false, errOutage
	}
	return s.SQLite.Claim(ctx, key, ttl)
}

func (s *outageStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if s.down.Load() {
		return errOutage
	}
	return s.SQLite.Set(ctx, key, v, ttl)
}

func (s *outageStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, errOutage
	}
	return s.SQLite.Get(ctx, key)
}

// A notification accepted while the store was down has no ingest record;
// enrich writes it (EnsureIngested) once the store is back, exactly once,
// and with the time ingest received it, so the trail starts at ingest.
func TestEnsureIngestedFillsTheHole(t *testing.T) {
	var st *outageStore
	h := newHarness(t, func(o *Options) {
		st = &outageStore{SQLite: o.Store.(*store.SQLite)}
		o.Store = st
	})
	st.down.Store(true)
	body := readTestdata(t, "status-created.json")
	if rec := h.do("POST", "/api/v1/notificaties", testToken, "application/json", body); rec.Code != 204 {
		t.Fatalf("status %d: the publish succeeded, ingest must answer 204", rec.Code)
	}
	in := h.published(t)[0]
	if err := EnsureIngested(context.Background(), st, in); err == nil {
		t.Fatal("EnsureIngested succeeded while the store was down: the message would not be retried")
	}
	st.down.Store(false)
	if len(h.ledger(t)) != 0 {
		t.Fatal("ledger written during the outage?")
	}
	for range 2 { // a redelivery writes nothing more
		if err := EnsureIngested(context.Background(), st, in); err != nil {
			t.Fatal(err)
		}
	}
	trail := h.ledger(t)
	if len(trail) != 1 || trail[0].Stage != "ingest" || !trail[0].At.Equal(in.ReceivedAt) || trail[0].Detail != IngestDetail(in) {
		t.Fatalf("trail = %+v, want one ingest record at %s", trail, in.ReceivedAt)
	}
	if _, ok, _ := st.Get(context.Background(), SeenKey(in.ID)); !ok {
		t.Fatal("dedup mark not re-established")
	}
	// The next post of it is recognised as a duplicate.
	h.do("POST", "/api/v1/notificaties", testToken, "application/json", body)
	if n := len(h.published(t)); n != 0 {
		t.Fatalf("published %d, want the redelivery recognised", n)
	}

	// Normal path: ingest wrote the record; enrich adds none.
	other := replaceJSON(t, body, "aanmaakdatum", "2025-03-15T11:00:00Z")
	h.do("POST", "/api/v1/notificaties", testToken, "application/json", other)
	in2 := h.published(t)[0]
	if err := EnsureIngested(context.Background(), st, in2); err != nil {
		t.Fatal(err)
	}
	if trail, _ := st.Trail(context.Background(), in2.ID); len(trail) != 1 {
		t.Fatalf("trail = %+v, want one ingest record", trail)
	}
	// Timers and re-queued messages are left alone.
	if err := EnsureIngested(context.Background(), st, event.Inbound{ID: "t", Source: event.SourceScheduler, ReceivedAt: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if trail, _ := st.Trail(context.Background(), "t"); len(trail) != 0 {
		t.Fatal("a timer got an ingest record")
	}
}
