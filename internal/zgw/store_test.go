package zgw

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/failure"
	"github.com/mijnservices/koerier/internal/sandbox/objecten"
	"github.com/mijnservices/koerier/internal/store"
)

// Two replicas sharing a store must agree on a taak's last seen state:
// the update that closes the taak reaches the replica that did not see it
// open, and still yields taak.afgerond.
func TestTaakStateSharedBetweenReplicas(t *testing.T) {
	backends := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := store.Open(context.Background(), store.Options{Backend: store.BackendSQLite, SQLitePath: filepath.Join(t.TempDir(), "koerier.db")})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"redis": func(t *testing.T) store.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			s, err := store.Open(ctx, store.Options{Backend: store.BackendRedis, Redis: store.RedisOptions{Addr: "127.0.0.1:6379", Prefix: "koerier-zgw-test-" + uuid.NewString() + ":"}, DataKey: []byte("0123456789abcdef0123456789abcdef")})
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("redis unreachable: %v", err)
				}
				t.Skipf("redis unreachable: %v", err)
			}
			return s
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			w := newWorld(t, func(c *Config) { c.Cache = st })
			tw := &taakWorld{world: w, id: uuid.NewString()}
			tw.put(objecten.CommunityTaak("Upload uw loonstrook", "open", "", "2025-04-10 17:00:00", "bsn", "999993653"))
			if got := outcome(tw.notify(t, "create")); got != event.TypeTaakToegewezen {
				t.Fatalf("replica 1: %q", got)
			}
			replica2, err := New(w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tw.world = &world{e: replica2, obj: w.obj, now: w.now}
			tw.put(objecten.CommunityTaak("Upload uw loonstrook", "afgerond", "", "2025-04-10 17:00:00", "bsn", "999993653"))
			if got := outcome(tw.notify(t, "partial_update")); got != event.TypeTaakAfgerond {
				t.Fatalf("replica 2: %q, want %s", got, event.TypeTaakAfgerond)
			}
		})
	}
}

func TestTaakBusyElsewhereIsRetried(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Backend: store.BackendSQLite, SQLitePath: filepath.Join(t.TempDir(), "koerier.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newWorld(t, func(c *Config) { c.Cache, c.Claims = st, st })
	tw := &taakWorld{world: w, id: uuid.NewString()}
	tw.put(objecten.CommunityTaak("Upload uw loonstrook", "open", "", "2025-04-10 17:00:00", "bsn", "999993653"))
	// Another replica holds the taak.
	if first, err := st.Claim(context.Background(), "zgw:taak-lock:"+tw.url, time.Minute); err != nil || !first {
		t.Fatalf("claim: %v %v", first, err)
	}
	n := event.Notification{Kanaal: "objecten", Resource: "object", Actie: "create", ResourceURL: tw.url, Aanmaakdatum: w.now, Kenmerken: map[string]string{"objectType": exampleTaakType}}
	_, err = w.e.Enrich(context.Background(), inbound(n))
	if got := failure.Classify(err); got.Kind != failure.KindTemporary || got.Reason != ReasonTaakBezet || got.RetryAfter != taakBusyRetry {
		t.Fatalf("busy taak: err = %v, want a temporary %s", err, ReasonTaakBezet)
	}
	if err := st.Release(context.Background(), "zgw:taak-lock:"+tw.url); err != nil {
		t.Fatal(err)
	}
	res, err := w.e.Enrich(context.Background(), inbound(n))
	if err != nil || outcome(res) != event.TypeTaakToegewezen {
		t.Fatalf("after release: %+v %v", res, err)
	}
	// The enricher released its own lock: the next notification proceeds.
	res, err = w.e.Enrich(context.Background(), inbound(n))
	if err != nil || outcome(res) != event.TypeTaakToegewezen {
		t.Fatalf("redelivery: %+v %v", res, err)
	}
}
