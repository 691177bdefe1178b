// Package ratelimit keeps every replica of Koerier together under a peer's
// request limit per API key (Notify NL: 3,000 requests per 60 seconds per
// key, look-ups included). It owns the arithmetic (GCRA, a safety margin)
// and the shared state: Redis in the scaled set-up, so that N replicas
// share one budget, and process memory on the embedded default. It knows
// nothing of Notify or of the bus: a caller that must wait is told how
// long, and re-queues its message rather than holding a worker.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/mijnservices/koerier/internal/clock"
)

// Limit is a peer's limit and how close to it we go.
type Limit struct {
	// Requests per Per is the peer's own limit (Notify: 3000 per minute).
	Requests int
	Per      time.Duration
	// Margin is the fraction of Requests we leave unused (0.02: 2 %), for
	// clock differences between replicas, Redis and the peer.
	Margin float64
}

// gcra is the steady rate and the burst: in any window of length Per at
// most burst+rate requests pass, which stays at or under
// Requests*(1-Margin/2).
func (l Limit) gcra() (rate, burst int) {
	rate = int(float64(l.Requests) * (1 - l.Margin))
	burst = max(1, (l.Requests-rate)/2)
	rate = max(1, rate-burst+1)
	return rate, burst
}

// Rate is the sustained rate the limiter lets through per Per.
func (l Limit) Rate() int { r, _ := l.gcra(); return r }

// Limiter hands out turns per key.
type Limiter interface {
	// Take asks for one request for key now. A wait > 0 means: not now,
	// come back after wait (nothing was taken).
	Take(ctx context.Context, key string) (wait time.Duration, err error)
	// Slow holds key back for d: the peer answered 429 with Retry-After,
	// so every replica pauses that key, not only the one that was told.
	Slow(ctx context.Context, key string, d time.Duration) error
}

// Local is a Limiter in process memory on an injected clock, for the
// embedded default (one process).
type Local struct {
	limit Limit
	now   func() time.Time
	mu    sync.Mutex
	tat   map[string]time.Time // GCRA theoretical arrival time per key
	slow  map[string]time.Time
}

// NewLocal returns an in-process limiter; now nil is the wall clock.
func NewLocal(l Limit, now func() time.Time) *Local {
	return &Local{limit: l, now: clock.Or(now), tat: map[string]time.Time{}, slow: map[string]time.Time{}}
}

func (l *Local) Take(_ context.Context, key string) (time.Duration, error) {
	rate, burst := l.limit.gcra()
	emission := l.limit.Per / time.Duration(rate)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.slow[key]; now.Before(until) {
		return until.Sub(now), nil
	}
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(emission)
	if allowAt := next.Add(-time.Duration(burst) * emission); now.Before(allowAt) {
		return allowAt.Sub(now), nil
	}
	l.tat[key] = next
	return 0, nil
}

func (l *Local) Slow(_ context.Context, key string, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.slow[key]) {
		l.slow[key] = until
	}
	return nil
}

// Redis is a Limiter shared by every replica on one Redis: GCRA by
// github.com/go-redis/redis_rate (the arithmetic runs in a Lua script on
// Redis' own clock, so replicas with skewed clocks still agree).
type Redis struct {
	c      redis.UniversalClient
	rl     *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
}

// NewRedis returns a shared limiter; prefix namespaces its keys (the
// store's prefix, so two installations on one Redis do not share a budget).
func NewRedis(c redis.UniversalClient, prefix string, l Limit) *Redis {
	rate, burst := l.gcra()
	return &Redis{c: c, rl: redis_rate.NewLimiter(c), prefix: prefix, limit: redis_rate.Limit{Rate: rate, Burst: burst, Period: l.Per}}
}

func (r *Redis) Take(ctx context.Context, key string) (time.Duration, error) {
	if ttl, err := r.c.PTTL(ctx, r.prefix+"ratelimit:slow:"+key).Result(); err != nil {
		return 0, fmt.Errorf("ratelimit: %w", err)
	} else if ttl > 0 {
		return ttl, nil
	}
	res, err := r.rl.Allow(ctx, r.prefix+"ratelimit:"+key, r.limit)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %w", err)
	}
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), nil
	}
	return 0, nil
}

func (r *Redis) Slow(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	k := r.prefix + "ratelimit:slow:" + key
	// Only lengthen a pause another replica set.
	if ttl, err := r.c.PTTL(ctx, k).Result(); err == nil && ttl >= d {
		return nil
	}
	if err := r.c.Set(ctx, k, "1", d).Err(); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}
