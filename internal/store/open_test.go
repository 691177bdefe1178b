package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mijnservices/koerier/internal/store"
)

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
			return store.Options{Backend: "redis", Redis: redisOptions(t)}
		}, "redis", true},
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
			switch s.(type) {
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
