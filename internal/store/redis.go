package store

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mijnservices/koerier/internal/clock"
)

// Default values of RedisOptions.
const (
	DefaultRedisPrefix     = "koerier:"
	DefaultLedgerRetention = 90 * 24 * time.Hour
	DefaultRecentLimit     = 10000
)

// RedisOptions configures the Redis backend. The zero value (plus Addr)
// works.
type RedisOptions struct {
	Addr     string // host:port
	Username string
	Password string
	DB       int
	// Prefix is put before every key (default "koerier:"), so that several
	// installations, or tests, can share one Redis without seeing each
	// other's keys.
	Prefix string
	// TLS connects with TLS 1.2 or later, verifying the server against the
	// system roots.
	TLS bool
	// LedgerRetention is how long a ledger trail is kept after the last
	// record was appended to it (default 90 days).
	LedgerRetention time.Duration
	// RecentLimit caps the list that Recent reads (default 10 000).
	RecentLimit int
	// Now stamps records appended without At (default clock.System). Expiry
	// of claims and cache entries follows the Redis server's clock.
	Now func() time.Time
}

// Redis is the scaled backend, shared by every replica. Claims are SET NX
// with an expiry; the ledger is a JSON list per id (trace, event, delivery
// and subject) plus one capped list of recent records; the cache is plain
// keys with an expiry.
type Redis struct {
	c         *redis.Client
	prefix    string
	retention time.Duration
	recent    int
	now       func() time.Time

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Redis)(nil)

// OpenRedis connects to Redis and checks that it answers.
func OpenRedis(ctx context.Context, o RedisOptions) (*Redis, error) {
	if o.Addr == "" {
		return nil, errors.New("store: open redis: the address is empty")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	if o.LedgerRetention <= 0 {
		o.LedgerRetention = DefaultLedgerRetention
	}
	if o.RecentLimit <= 0 {
		o.RecentLimit = DefaultRecentLimit
	}
	if o.Now == nil {
		o.Now = clock.System
	}
	ro := &redis.Options{
		Addr:     o.Addr,
		Username: o.Username,
		Password: o.Password,
		DB:       o.DB,
	}
	if o.TLS {
		ro.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	r := &Redis{c: redis.NewClient(ro), prefix: o.Prefix, retention: o.LedgerRetention, recent: o.RecentLimit, now: o.Now}
	if err := r.Ping(ctx); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("store: open redis %s: %w", o.Addr, err)
	}
	return r, nil
}

func (r *Redis) claimKey(key string) string   { return r.prefix + "claim:" + key }
func (r *Redis) cacheKey(key string) string   { return r.prefix + "cache:" + key }
func (r *Redis) trailKey(id string) string    { return r.prefix + "ledger:id:" + id }
func (r *Redis) subjectKey(ref string) string { return r.prefix + "ledger:subject:" + ref }
func (r *Redis) recentKey() string            { return r.prefix + "ledger:recent" }

// Claim implements Claims. A ttl of 0 or less claims the key until it is
// released.
func (r *Redis) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		ttl = 0
	}
	first, err := r.c.SetNX(ctx, r.claimKey(key), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: redis: claim: %w", err)
	}
	return first, nil
}

// Release implements Claims.
func (r *Redis) Release(ctx context.Context, key string) error {
	if err := r.c.Del(ctx, r.claimKey(key)).Err(); err != nil {
		return fmt.Errorf("store: redis: release claim: %w", err)
	}
	return nil
}

// Append implements Ledger. A record without At is stamped with
// RedisOptions.Now; all times are stored in UTC.
func (r *Redis) Append(ctx context.Context, rec Record) error {
	if rec.TraceID == "" {
		return errors.New("store: redis: append: the record has no trace id")
	}
	if rec.At.IsZero() {
		rec.At = r.now()
	}
	rec.At = rec.At.UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: redis: append to ledger: %w", err)
	}
	// A record whose EventID equals its TraceID must appear once in that
	// trail, not twice.
	keys := make([]string, 0, 4)
	seen := make(map[string]bool, 3)
	for _, id := range []string{rec.TraceID, rec.EventID, rec.DeliveryID} {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, r.trailKey(id))
		}
	}
	if rec.SubjectRef != "" {
		keys = append(keys, r.subjectKey(rec.SubjectRef))
	}
	if rec.ZaakRef != "" {
		keys = append(keys, r.zaakKey(rec.ZaakRef))
	}
	// MULTI/EXEC, so that a record is in all of its trails or in none.
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.RPush(ctx, k, b)
			p.PExpire(ctx, k, r.retention)
		}
		p.LPush(ctx, r.recentKey(), b)
		p.LTrim(ctx, r.recentKey(), 0, int64(r.recent-1))
		p.PExpire(ctx, r.recentKey(), r.retention)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: redis: append to ledger: %w", err)
	}
	return nil
}

// Trail implements Ledger. Records are ordered by At, and records with the
// same At in the order they were appended.
func (r *Redis) Trail(ctx context.Context, id string) ([]Record, error) {
	if id == "" {
		return nil, nil
	}
	recs, err := r.readList(ctx, r.trailKey(id), -1)
	if err != nil {
		return nil, fmt.Errorf("store: redis: read trail: %w", err)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
	return recs, nil
}

// BySubject returns, oldest first, every record about the recipient whose
// SubjectRef is ref.
func (r *Redis) BySubject(ctx context.Context, ref string) ([]Record, error) {
	if ref == "" {
		return nil, nil
	}
	recs, err := r.readList(ctx, r.subjectKey(ref), -1)
	if err != nil {
		return nil, fmt.Errorf("store: redis: read records by subject: %w", err)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
	return recs, nil
}

// Recent implements Ledger. Records are ordered by At, newest first, and
// records with the same At newest appended first; only the last RecentLimit
// appended records are kept for it. A limit of 0 or less returns nothing.
func (r *Redis) Recent(ctx context.Context, limit int) ([]Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	recs, err := r.readList(ctx, r.recentKey(), int64(limit-1))
	if err != nil {
		return nil, fmt.Errorf("store: redis: read recent records: %w", err)
	}
	// The list is in append order; replicas may append slightly out of At
	// order, which the SQLite backend would not show.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.After(recs[j].At) })
	return recs, nil
}

func (r *Redis) readList(ctx context.Context, key string, stop int64) ([]Record, error) {
	vals, err := r.c.LRange(ctx, key, 0, stop).Result()
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, len(vals))
	for _, v := range vals {
		var rec Record
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs, nil
}

// Get implements Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	val, err := r.c.Get(ctx, r.cacheKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: redis: get from cache: %w", err)
	}
	if val == nil {
		val = []byte{}
	}
	return val, true, nil
}

// Set implements Cache.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		ttl = 0
	}
	if err := r.c.Set(ctx, r.cacheKey(key), val, ttl).Err(); err != nil {
		return fmt.Errorf("store: redis: set in cache: %w", err)
	}
	return nil
}

// Delete implements Cache.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.c.Del(ctx, r.cacheKey(key)).Err(); err != nil {
		return fmt.Errorf("store: redis: delete from cache: %w", err)
	}
	return nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: redis: ping: %w", err)
	}
	return nil
}

// Close implements Store. It is safe to call more than once.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		if err := r.c.Close(); err != nil {
			r.closeErr = fmt.Errorf("store: redis: close: %w", err)
		}
	})
	return r.closeErr
}
