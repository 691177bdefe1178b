package zgw

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/mijnservices/koerier/internal/store"
)

// memCache is the in-process store.Cache used when none is configured. It
// is fine for one process; replicas should share a store.Cache (Redis), or
// each one fetches the catalogue itself and, worse, keeps its own last-seen
// taak state.
type memCache struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]memEntry
}

type memEntry struct {
	val []byte
	exp time.Time
}

var _ store.Cache = (*memCache)(nil)

func newMemCache(now func() time.Time) *memCache {
	return &memCache{now: now, m: map[string]memEntry{}}
}

func (c *memCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false, nil
	}
	if !e.exp.IsZero() && !c.now().Before(e.exp) {
		delete(c.m, key)
		return nil, false, nil
	}
	return append([]byte(nil), e.val...), true, nil
}

func (c *memCache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Bound memory: catalogue objects are few, but a leak of expired
	// entries over months is not.
	if len(c.m) > 10000 {
		now := c.now()
		for k, e := range c.m {
			if !e.exp.IsZero() && !now.Before(e.exp) {
				delete(c.m, k)
			}
		}
	}
	var exp time.Time
	if ttl > 0 {
		exp = c.now().Add(ttl)
	}
	c.m[key] = memEntry{val: append([]byte(nil), val...), exp: exp}
	return nil
}

func (c *memCache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
	return nil
}

// getCatalogus fetches a catalogue object through the cache. Catalogue
// objects (zaaktype, statustype, resultaattype, besluittype) change only
// when a new version is published, so a TTL of an hour saves most GETs. A
// cache failure is not fatal: the peer is asked instead. A TTL of 0 means
// no cache (a store Set with TTL 0 would keep the entry for ever).
func (e *Enricher) getCatalogus(ctx context.Context, rawURL string, out any) error {
	if e.cfg.CatalogiTTL <= 0 {
		return e.client.Get(ctx, rawURL, nil, out)
	}
	key := "zgw:catalogi:" + rawURL
	if b, ok, err := e.cache.Get(ctx, key); err == nil && ok {
		if json.Unmarshal(b, out) == nil {
			return nil
		}
	}
	if err := e.client.Get(ctx, rawURL, nil, out); err != nil {
		return err
	}
	if b, err := json.Marshal(out); err == nil {
		_ = e.cache.Set(ctx, key, b, e.cfg.CatalogiTTL)
	}
	return nil
}
