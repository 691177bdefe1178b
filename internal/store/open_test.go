package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/store"
)

// testDataKey is a data key for tests only.
var testDataKey = []byte("0123456789abcdef0123456789abcdef")

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name    string
		opts    func(t *testing.T) store.Options
		want    string // type of the backend, "" for an error
		needsRd bool
	}{
		{"default is sqlite", func(*testing.T) store.Options {
			return store.Options{SQLitePath: filepath.Join(dir, "a.db")}
		}, "sqlite", false},
		{"sqlite", func(*testing.T) store.Options {
			return store.Options{Backend: "sqlite", SQLitePath: filepath.Join(dir, "b.db")}
		}, "sqlite", false},
		{"sqlite without path", func(*testing.T) store.Options {
			return store.Options{Backend: "sqlite"}
		}, "", false},
		{"unknown backend", func(*testing.T) store.Options {
			return store.Options{Backend: "etcd"}
		}, "", false},
		{"redis", func(t *testing.T) store.Options {
			return store.Options{Backend: "redis", Redis: redisOptions(t), DataKey: testDataKey}
		}, "redis", true},
		{"redis without a data key", func(t *testing.T) store.Options {
			return store.Options{Backend: "redis", Redis: redisOptions(t)}
		}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(ctx, tt.opts(t))
			if tt.want == "" {
				if err == nil {
					s.Close()
					t.Fatal("Open: err = nil, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			var got string
			enc, ok := s.(*store.Encrypted)
			if !ok {
				t.Fatalf("Open returned a %T, want the backend wrapped in *store.Encrypted", s)
			}
			switch enc.Unwrap().(type) {
			case *store.SQLite:
				got = "sqlite"
			case *store.Redis:
				got = "redis"
			}
			if got != tt.want {
				t.Fatalf("Open returned a %T, want the %s backend", s, tt.want)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}

// The clock given to Open stamps records appended without At, on both
// backends.
func TestOpenPassesClock(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	now := func() time.Time { return at }
	tests := []struct {
		name string
		opts func(t *testing.T) store.Options
	}{
		{"sqlite", func(t *testing.T) store.Options {
			return store.Options{SQLitePath: filepath.Join(t.TempDir(), "k.db"), Now: now}
		}},
		{"redis", func(t *testing.T) store.Options {
			return store.Options{Backend: "redis", Redis: redisOptions(t), Now: now, DataKey: testDataKey}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(ctx, tt.opts(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			if err := s.Append(ctx, store.Record{TraceID: "t", Stage: "ingest", Status: "accepted"}); err != nil {
				t.Fatalf("Append: %v", err)
			}
			got, err := s.Trail(ctx, "t")
			if err != nil || len(got) != 1 || !got[0].At.Equal(at) {
				t.Fatalf("Trail = %+v, %v; want one record at %v", got, err, at)
			}
		})
	}
}

func TestOpenPassesLedgerRetentionToSQLite(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}
	s, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "k.db"), Now: clk.Now, LedgerRetention: time.Minute})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Append(ctx, store.Record{TraceID: "t", Stage: "ingest", Status: "accepted"}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	clk.Advance(time.Minute + time.Nanosecond)
	if err := s.(*store.Encrypted).Unwrap().(*store.SQLite).Purge(ctx); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if got, err := s.Trail(ctx, "t"); err != nil || len(got) != 0 {
		t.Fatalf("Trail after the retention = %+v, %v; want none", got, err)
	}
}
