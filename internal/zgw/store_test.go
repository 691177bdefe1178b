package zgw

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mijnservices/koerier/internal/event"
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
			s, err := store.Open(ctx, store.Options{Backend: store.BackendRedis, Redis: store.RedisOptions{Addr: "127.0.0.1:6379", Prefix: "koerier-zgw-test-" + uuid.NewString() + ":"}})
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
