package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
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
	// DataKey (32 bytes) encrypts every cache value at rest (Encrypt);
	// DataKeyPrevious, when set, is an older key still accepted for
	// reading. Without a DataKey, the SQLite backend uses the key in
	// DataKeyFile (default: data.key next to the database), creating it
	// with mode 0600 on first use, and warns on Logger; the Redis backend
	// refuses to open.
	DataKey, DataKeyPrevious []byte
	DataKeyFile              string
	Logger                   *slog.Logger
}

// Defaults of the retention per data class (config store.retention).
const (
	DefaultTaakStateRetention = 400 * 24 * time.Hour
	DefaultDedupRetention     = 7 * 24 * time.Hour
)

// DefaultDataKeyFile is where the SQLite backend keeps a generated data key
// when none is configured: next to the database it protects.
func DefaultDataKeyFile(sqlitePath string) string {
	return filepath.Join(filepath.Dir(sqlitePath), "data.key")
}

// Open opens the backend that o names, with its cache encrypted (see
// Options.DataKey).
func Open(ctx context.Context, o Options) (Store, error) {
	// The backend first: a wrong path or address must not leave a key file
	// behind.
	st, err := openBackend(ctx, o)
	if err != nil {
		return nil, err
	}
	key, err := dataKeyFor(o)
	if err != nil {
		st.Close()
		return nil, err
	}
	enc, err := Encrypt(st, key, o.DataKeyPrevious, o.Now)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return enc, nil
}

// DataKeyFor is the data key Open uses for o: o.DataKey, or for SQLite the
// key in the key file (created if needed). The bus seals its payloads
// under the same key.
func DataKeyFor(o Options) ([]byte, error) {
	o.Logger = nil // Open warns; a second caller need not
	return dataKeyFor(o)
}

// dataKeyFor is o.DataKey, or for SQLite the key in the key file.
func dataKeyFor(o Options) ([]byte, error) {
	if len(o.DataKey) > 0 {
		return o.DataKey, nil
	}
	if o.Backend != "" && o.Backend != BackendSQLite {
		return nil, errors.New("store: store.data_key is required with the redis backend: it encrypts the personal data Koerier keeps in Redis (generate one with: openssl rand -base64 32)")
	}
	path := o.DataKeyFile
	if path == "" {
		path = DefaultDataKeyFile(o.SQLitePath)
	}
	key, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if o.Logger != nil {
		verb := "using"
		if created {
			verb = "generated"
		}
		o.Logger.Warn("store.data_key is not set: "+verb+" a data key in a file next to the store; "+
			"a copy of the data directory then holds the key too. Set store.data_key from a secret for real protection at rest",
			"key_file", path)
	}
	return key, nil
}

// openBackend opens the backend that o names, without encryption.
func openBackend(ctx context.Context, o Options) (Store, error) {
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
