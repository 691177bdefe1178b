package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/mijnservices/koerier/channels/batch"
	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/store"
)

// fakeChannel hands over by remembering; failHand makes the next n Hands fail.
type fakeChannel struct {
	mu       sync.Mutex
	handed   map[string][]string // batch id -> delivery ids
	calls    int
	failHand int
}

func (f *fakeChannel) Name() string { return "print" }
func (f *fakeChannel) Profiles() []batch.Profile {
	return []batch.Profile{{Name: "default", Schedule: batch.MustCutoff("16:00 ma-vr"), Max: 0}}
}
func (f *fakeChannel) Profile(_ context.Context, d event.Delivery) (string, error) {
	if d.Recipient.Deceased {
		return "", failure.Permanent("overleden", errors.New("the recipient has died"))
	}
	return "default", nil
}
func (f *fakeChannel) Hand(_ context.Context, b batch.Sealed) ([]batch.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failHand > 0 {
		f.failHand--
		return nil, errors.New("sink down")
	}
	if f.handed == nil {
		f.handed = map[string][]string{}
	}
	var ids []string
	var out []batch.Result
	for _, d := range b.Deliveries {
		ids = append(ids, d.ID)
		out = append(out, batch.Result{DeliveryID: d.ID, Status: event.OutcomeHandedOver})
	}
	f.handed[b.ID] = ids // idempotent by batch id
	return out, nil
}

// recorder is a publisher that keeps what was published, by message id.
type recorder struct {
	mu   sync.Mutex
	msgs map[string]event.Outcome
	n    int
}

func (r *recorder) Publish(topic string, msgs ...*message.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.msgs == nil {
		r.msgs = map[string]event.Outcome{}
	}
	for _, m := range msgs {
		var o event.Outcome
		if err := json.Unmarshal(m.Payload, &o); err != nil {
			return err
		}
		r.msgs[m.UUID] = o
		r.n++
	}
	return nil
}
func (r *recorder) Close() error { return nil }

type backend struct {
	name string
	// open returns a new handle on one shared store per test.
	open func(t *testing.T, now func() time.Time) func() store.Store
}

func backends(t *testing.T) []backend {
	return []backend{
		{"sqlite", func(t *testing.T, now func() time.Time) func() store.Store {
			path := filepath.Join(t.TempDir(), "store.db")
			return func() store.Store {
				s, err := store.OpenSQLite(path, store.WithClock(now))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
		{"redis", func(t *testing.T, now func() time.Time) func() store.Store {
			addr := os.Getenv("KOERIER_TEST_REDIS_ADDR")
			if addr == "" {
				addr = "127.0.0.1:6379"
			}
			prefix := "koerier-batch-test:" + uuid.NewString() + ":"
			return func() store.Store {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				s, err := store.OpenRedis(ctx, store.RedisOptions{Addr: addr, Prefix: prefix, Now: now})
				if err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatalf("redis: %v", err)
					}
					t.Skipf("redis unreachable: %v", err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
	}
}

func delivery(i int) event.Delivery {
	return event.Delivery{ID: fmt.Sprintf("d%04d", i), EventID: "e", InboundID: "n", Channel: "print"}
}

func TestSealerAtCutoff(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clk := clock.NewFake(clock.WorkingDay) // Tuesday 10:00
			st := be.open(t, clk.Now)()
			ctx := context.Background()
			ch := &fakeChannel{}
			q := batch.NewQueue(ch, st)
			pub := &recorder{}
			s := batch.NewSealer(st, pub, []batch.Channel{ch}, batch.Options{Now: clk.Now})

			// First tick ever: due (nothing recorded), but the bucket is empty.
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, added, err := q.Enqueue(ctx, delivery(i)); err != nil || !added {
					t.Fatalf("Enqueue: %v %v", added, err)
				}
			}
			dead := delivery(9)
			dead.Recipient.Deceased = true
			if _, _, err := q.Enqueue(ctx, dead); failure.Classify(err).Kind != failure.KindPermanent {
				t.Fatalf("Enqueue of a deceased recipient: %v, want a permanent failure", err)
			}
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if pub.n != 0 {
				t.Fatalf("before the cut-off: %d outcomes, want none", pub.n)
			}
			clk.Set(time.Date(2026, 6, 9, 16, 0, 1, 0, clock.Amsterdam))
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if len(ch.handed) != 1 || len(ch.handed["koerier-20260609-1600-1"]) != 3 {
				t.Fatalf("handed = %v, want one batch koerier-20260609-1600-1 of 3", ch.handed)
			}
			o, ok := pub.msgs["d0001:handed-over"]
			if !ok || o.ProviderID != "koerier-20260609-1600-1" || o.Delivery == nil || o.InboundID != "n" {
				t.Fatalf("outcome of d0001 = %+v (found %v)", o, ok)
			}
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if ch.calls != 1 || pub.n != 3 {
				t.Fatalf("a second tick after the cut-off handed over again: %d calls, %d outcomes", ch.calls, pub.n)
			}
			bs, err := st.ListBatches(ctx, "print/default", store.BatchSent)
			if err != nil || len(bs) != 1 {
				t.Fatalf("sent batches = %v, %v", bs, err)
			}
		})
	}
}

func TestSealerResumesAfterFailedHandOver(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clk := clock.NewFake(clock.WorkingDay)
			open := be.open(t, clk.Now)
			st := open()
			ctx := context.Background()
			ch := &fakeChannel{failHand: 1}
			q := batch.NewQueue(ch, st)
			pub := &recorder{}
			s := batch.NewSealer(st, pub, []batch.Channel{ch}, batch.Options{Now: clk.Now})
			if err := s.Tick(ctx); err != nil { // records Monday's cut-off as done
				t.Fatal(err)
			}
			for i := range 5 {
				q.Enqueue(ctx, delivery(i))
			}
			if _, err := s.Flush(ctx, "print", "default"); err == nil {
				t.Fatal("Flush with a failing sink: no error")
			}
			// Enqueued after the seal: waits for the next batch.
			q.Enqueue(ctx, delivery(7))
			bs, _ := st.ListBatches(ctx, "", store.BatchSealed)
			if len(bs) != 1 {
				t.Fatalf("sealed, unsent batches = %v, want 1", bs)
			}
			// A new sealer (another replica, or after a restart) resumes it
			// on its next tick, before any cut-off.
			s2 := batch.NewSealer(open(), pub, []batch.Channel{ch}, batch.Options{Now: clk.Now})
			clk.Set(time.Date(2026, 6, 9, 15, 0, 0, 0, clock.Amsterdam))
			if err := s2.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			if pub.n != 5 || len(ch.handed[bs[0].ID]) != 5 {
				t.Fatalf("after resume: %d outcomes, handed %v", pub.n, ch.handed)
			}
			if n, _ := st.OpenItems(ctx, "print/default"); n != 1 {
				t.Fatalf("open items = %d, want 1 (d0007)", n)
			}
		})
	}
}

// TestTwoSealersRace: two replicas tick at the cut-off at once; every
// delivery is handed over exactly once.
func TestTwoSealersRace(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 6, 9, 16, 0, 5, 0, clock.Amsterdam))
			open := be.open(t, clk.Now)
			ctx := context.Background()
			ch := &fakeChannel{}
			q := batch.NewQueue(ch, open())
			for i := range 300 {
				q.Enqueue(ctx, delivery(i))
			}
			pub := &recorder{}
			var wg sync.WaitGroup
			for range 2 {
				s := batch.NewSealer(open(), pub, []batch.Channel{ch}, batch.Options{Now: clk.Now})
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Tick(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			seen := map[string]bool{}
			for _, ids := range ch.handed {
				for _, id := range ids {
					if seen[id] {
						t.Fatalf("%s handed over twice", id)
					}
					seen[id] = true
				}
			}
			if len(seen) != 300 || ch.calls != 1 || pub.n != 300 {
				t.Fatalf("%d handed over in %d calls, %d outcomes; want 300 in 1 call", len(seen), ch.calls, pub.n)
			}
		})
	}
}

func TestCutoffPrev(t *testing.T) {
	c := batch.MustCutoff("16:00 ma-vr")
	tests := []struct{ at, want time.Time }{
		{time.Date(2026, 6, 9, 10, 0, 0, 0, clock.Amsterdam), time.Date(2026, 6, 8, 16, 0, 0, 0, clock.Amsterdam)},
		{time.Date(2026, 6, 9, 16, 0, 0, 0, clock.Amsterdam), time.Date(2026, 6, 9, 16, 0, 0, 0, clock.Amsterdam)},
		{time.Date(2026, 6, 14, 12, 0, 0, 0, clock.Amsterdam), time.Date(2026, 6, 12, 16, 0, 0, 0, clock.Amsterdam)}, // Sunday → Friday
		{time.Date(2026, 3, 30, 9, 0, 0, 0, clock.Amsterdam), time.Date(2026, 3, 27, 16, 0, 0, 0, clock.Amsterdam)},  // after DST change
	}
	for _, tt := range tests {
		if got := c.Prev(tt.at); !got.Equal(tt.want) {
			t.Errorf("Prev(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	for _, bad := range []string{"", "25:00", "16:00 mo-fr", "16:00 ma-vr extra"} {
		if _, err := batch.ParseCutoff(bad); err == nil {
			t.Errorf("ParseCutoff(%q): no error", bad)
		}
	}
}
