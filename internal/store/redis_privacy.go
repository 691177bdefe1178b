package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ ZaakPurger   = (*Redis)(nil)
	_ CacheScanner = (*Redis)(nil)
)

func (r *Redis) zaakKey(ref string) string { return r.prefix + "ledger:zaak:" + ref }

// ByZaak implements ZaakPurger.
func (r *Redis) ByZaak(ctx context.Context, ref string) ([]Record, error) {
	if ref == "" {
		return nil, nil
	}
	recs, err := r.readList(ctx, r.zaakKey(ref), -1)
	if err != nil {
		return nil, fmt.Errorf("store: redis: read records by zaak: %w", err)
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
	return recs, nil
}

// PurgeZaak implements ZaakPurger. The records are found by following ids
// from the zaak's list to a fixed point; each is then removed, by its exact
// stored value, from every list it was appended to (its id trails, its
// subject's and zaak's lists and the recent list), in one MULTI/EXEC.
func (r *Redis) PurgeZaak(ctx context.Context, ref string, keys []string, tombstone Record) (PurgeStats, error) {
	var st PurgeStats
	if ref == "" {
		return st, errors.New("store: redis: purge zaak: the zaak reference is empty")
	}
	raws := map[string]Record{}
	ids := map[string]bool{}
	var queue []string
	visit := func(vals []string) error {
		for _, v := range vals {
			if _, ok := raws[v]; ok {
				continue
			}
			var rec Record
			if err := json.Unmarshal([]byte(v), &rec); err != nil {
				return fmt.Errorf("decode record: %w", err)
			}
			raws[v] = rec
			for _, id := range []string{rec.TraceID, rec.EventID, rec.DeliveryID} {
				if id != "" && !ids[id] {
					ids[id] = true
					queue = append(queue, id)
				}
			}
		}
		return nil
	}
	vals, err := r.c.LRange(ctx, r.zaakKey(ref), 0, -1).Result()
	if err != nil {
		return st, fmt.Errorf("store: redis: purge zaak: %w", err)
	}
	if err := visit(vals); err != nil {
		return st, fmt.Errorf("store: redis: purge zaak: %w", err)
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		vals, err := r.c.LRange(ctx, r.trailKey(id), 0, -1).Result()
		if err != nil {
			return st, fmt.Errorf("store: redis: purge zaak: %w", err)
		}
		if err := visit(vals); err != nil {
			return st, fmt.Errorf("store: redis: purge zaak: %w", err)
		}
	}
	linked, err := linkedKeys(ctx, r, ref)
	if err != nil {
		return st, fmt.Errorf("store: redis: purge zaak: %w", err)
	}
	var dels []*redis.IntCmd
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.zaakKey(ref))
		for id := range ids {
			p.Del(ctx, r.trailKey(id))
		}
		for v, rec := range raws {
			p.LRem(ctx, r.recentKey(), 0, v)
			if rec.SubjectRef != "" {
				p.LRem(ctx, r.subjectKey(rec.SubjectRef), 0, v)
			}
			if rec.ZaakRef != "" && rec.ZaakRef != ref {
				p.LRem(ctx, r.zaakKey(rec.ZaakRef), 0, v)
			}
		}
		for _, k := range append(keys, linked...) {
			dels = append(dels, p.Del(ctx, r.cacheKey(k), r.claimKey(k)))
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("store: redis: purge zaak: %w", err)
	}
	st.Records = len(raws)
	for _, d := range dels {
		st.Keys += int(d.Val())
	}
	if tombstone.TraceID != "" {
		if err := r.Append(ctx, tombstone); err != nil {
			return st, err
		}
	}
	return st, nil
}

// PurgeLedgerBefore implements ZaakPurger: records stamped before cutoff
// are removed from every ledger list. (Redis also expires a whole list
// LedgerRetention after its last append.)
func (r *Redis) PurgeLedgerBefore(ctx context.Context, cutoff time.Time) (int, error) {
	removed := map[string]bool{}
	iter := r.c.Scan(ctx, 0, escapeGlob(r.prefix+"ledger:")+"*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		vals, err := r.c.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			return 0, fmt.Errorf("store: redis: purge old ledger records: %w", err)
		}
		for _, v := range vals {
			var rec Record
			if json.Unmarshal([]byte(v), &rec) != nil || !rec.At.Before(cutoff) {
				continue
			}
			if err := r.c.LRem(ctx, k, 0, v).Err(); err != nil {
				return 0, fmt.Errorf("store: redis: purge old ledger records: %w", err)
			}
			removed[v] = true
		}
	}
	if err := iter.Err(); err != nil {
		return 0, fmt.Errorf("store: redis: purge old ledger records: %w", err)
	}
	return len(removed), nil
}

// ScanCache implements CacheScanner.
func (r *Redis) ScanCache(ctx context.Context, prefix string, fn func(CacheEntry) error) error {
	base := r.cacheKey("")
	iter := r.c.Scan(ctx, 0, escapeGlob(base+prefix)+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("store: redis: list cache: %w", err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val, err := r.c.Get(ctx, k).Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired meanwhile
		}
		if err != nil {
			return fmt.Errorf("store: redis: list cache: %w", err)
		}
		ttl, err := r.c.PTTL(ctx, k).Result()
		if err != nil {
			return fmt.Errorf("store: redis: list cache: %w", err)
		}
		if ttl < 0 {
			ttl = 0 // -1: no expiry
		}
		if err := fn(CacheEntry{Key: strings.TrimPrefix(k, base), Value: val, TTL: ttl}); err != nil {
			return err
		}
	}
	return nil
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
