package store

import (
	"context"
	"fmt"
	"time"
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
	// LedgerRetention is how long ledger records are kept (default 90
	// days), on either backend; Redis.LedgerRetention, when set, wins.
	LedgerRetention time.Duration
	// Now is the clock (default clock.System). For SQLite it also decides
	// expiry; Redis expires by its own clock, so Now only stamps records
	// appended without At there.
	Now func() time.Time
}

// Open opens the backend that o names.
func Open(ctx context.Context, o Options) (Store, error) {
	switch o.Backend {
	case "", BackendSQLite:
		var opts []SQLiteOption
		if o.Now != nil {
			opts = append(opts, WithClock(o.Now))
		}
		if o.LedgerRetention > 0 {
			opts = append(opts, WithLedgerRetention(o.LedgerRetention))
		}
		s, err := OpenSQLite(o.SQLitePath, opts...)
		if err != nil {
			return nil, err
		}
		return s, nil
	case BackendRedis:
		if o.Redis.Now == nil {
			o.Redis.Now = o.Now
		}
		if o.Redis.LedgerRetention <= 0 {
			o.Redis.LedgerRetention = o.LedgerRetention
		}
		r, err := OpenRedis(ctx, o.Redis)
		if err != nil {
			return nil, err
		}
		return r, nil
	default:
		return nil, fmt.Errorf("store: unknown backend %q (want %q or %q)", o.Backend, BackendSQLite, BackendRedis)
	}
}
