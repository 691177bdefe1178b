package store_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/store/storetest"
)

// redisAddr is the test server, 127.0.0.1:6379 unless
// KOERIER_TEST_REDIS_ADDR says otherwise.
func redisAddr() string {
	if a := os.Getenv("KOERIER_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisOptions returns options with a prefix unique to this call, and
// deletes every key under it when the test ends. Without a reachable Redis
// the test is skipped, except under CI=true, where that is a failure.
func redisOptions(t testing.TB) store.RedisOptions {
	t.Helper()
	o := store.RedisOptions{Addr: redisAddr(), Prefix: "koerier-test:" + uuid.NewString() + ":"}
	if err := redisReachable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis at %s is unreachable: %v", o.Addr, err)
		}
		t.Skipf("redis at %s is unreachable: %v", o.Addr, err)
	}
	c := redis.NewClient(&redis.Options{Addr: o.Addr})
	t.Cleanup(func() {
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, o.Prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
			}
		}
	})
	return o
}

// redisReachable asks once per test binary, so that a missing server
// costs one timeout rather than one per test.
var redisReachable = sync.OnceValue(func() error {
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
})

func openRedis(t testing.TB, o store.RedisOptions) *store.Redis {
	t.Helper()
	r, err := store.OpenRedis(context.Background(), o)
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openRedis(t, redisOptions(t))
	})
}

func TestRedisShared(t *testing.T) {
	// Every handle a subtest opens shares that subtest's prefix.
	var mu sync.Mutex
	opts := map[string]store.RedisOptions{}
	storetest.RunShared(t, func(t *testing.T) store.Store {
		// Unlocked by defer: redisOptions may end the goroutine with
		// t.Skip, which would otherwise leave the mutex locked.
		mu.Lock()
		defer mu.Unlock()
		o, ok := opts[t.Name()]
		if !ok {
			o = redisOptions(t)
			opts[t.Name()] = o
		}
		return openRedis(t, o)
	})
}

// TestRedisKeys checks what the conformance suite cannot see: every key is
// under the prefix, ledger lists carry the retention, and the recent list
// is capped.
func TestRedisKeys(t *testing.T) {
	ctx := context.Background()
	o := redisOptions(t)
	o.LedgerRetention = 3 * time.Hour
	o.RecentLimit = 3
	r := openRedis(t, o)
	c := redis.NewClient(&redis.Options{Addr: o.Addr})
	defer c.Close()

	if _, err := r.Claim(ctx, "k", time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := r.Set(ctx, "c", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		rec := store.Record{TraceID: id, EventID: "e", SubjectRef: "ref", Stage: "ingest", Status: "accepted"}
		if err := r.Append(ctx, rec); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}

	keys, err := c.Keys(ctx, o.Prefix+"*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	// claim, cache, 5 trace trails, 1 event trail, 1 subject list, recent.
	if len(keys) != 10 {
		t.Errorf("keys under the prefix = %v, want 10", keys)
	}
	tests := []struct {
		key        string
		wantTTLMin time.Duration
		wantTTLMax time.Duration
	}{
		{"claim:k", time.Second, time.Minute},
		{"cache:c", -1, -1}, // no expiry
		{"ledger:id:t1", 2 * time.Hour, 3 * time.Hour},
		{"ledger:id:e", 2 * time.Hour, 3 * time.Hour},
		{"ledger:subject:ref", 2 * time.Hour, 3 * time.Hour},
		{"ledger:recent", 2 * time.Hour, 3 * time.Hour},
	}
	for _, tt := range tests {
		ttl, err := c.PTTL(ctx, o.Prefix+tt.key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", tt.key, err)
		}
		if ttl < tt.wantTTLMin || ttl > tt.wantTTLMax {
			t.Errorf("PTTL %s = %v, want between %v and %v", tt.key, ttl, tt.wantTTLMin, tt.wantTTLMax)
		}
	}
	if n, err := c.LLen(ctx, o.Prefix+"ledger:recent").Result(); err != nil || n != 3 {
		t.Errorf("LLEN recent = %d, %v; want 3", n, err)
	}
	subj, err := r.BySubject(ctx, "ref")
	if err != nil || len(subj) != 5 {
		t.Errorf("BySubject = %d records, %v; want 5", len(subj), err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, o.Prefix) {
			t.Errorf("key %q is outside the prefix", k)
		}
	}
}

func TestOpenRedisUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback refuses at once.
	if r, err := store.OpenRedis(ctx, store.RedisOptions{Addr: "127.0.0.1:1"}); err == nil {
		r.Close()
		t.Fatal("OpenRedis of a closed port: err = nil, want an error")
	}
	if _, err := store.OpenRedis(ctx, store.RedisOptions{}); err == nil {
		t.Fatal("OpenRedis without an address: err = nil, want an error")
	}
}
