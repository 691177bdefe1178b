package store

import (
	"context"
	"fmt"
)

// Backend names accepted by Options.Backend.
const (
	BackendSQLite = "sqlite"
	BackendRedis  = "redis"
)

// Options chooses and configures a backend for Open.
type Options struct {
	// Backend is "sqlite" (the default when empty) or "redis".
	Backend    string
	SQLitePath string
	Redis      RedisOptions
}

// Open opens the backend that o names.
func Open(ctx context.Context, o Options) (Store, error) {
	switch o.Backend {
	case "", BackendSQLite:
		s, err := OpenSQLite(o.SQLitePath)
		if err != nil {
			return nil, err
		}
		return s, nil
	case BackendRedis:
		r, err := OpenRedis(ctx, o.Redis)
		if err != nil {
			return nil, err
		}
		return r, nil
	default:
		return nil, fmt.Errorf("store: unknown backend %q (want %q or %q)", o.Backend, BackendSQLite, BackendRedis)
	}
}
