package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ZaakRef is the ledger's reference to a zaak: a keyed hash of its URL
// under the subject key, like SubjectRef for a recipient. The router
// records it and `koerier purge --zaak` and `koerier trail --zaak` compute
// it, so all use this one function.
func ZaakRef(key []byte, zaakURL string) string {
	if zaakURL == "" {
		return ""
	}
	return SubjectRef(key, "zaak", zaakURL)
}

// ZaakLinkPrefix starts the cache entries that tie a piece of state (a taak
// state, for instance) to a zaak: "zaaklink:<zaakRef>:<key>". PurgeZaak
// deletes every key so linked, and the link.
const ZaakLinkPrefix = "zaaklink:"

// LinkZaak records that the cache entry key belongs to the zaak with
// reference ref, so that purging the zaak deletes it.
func LinkZaak(ctx context.Context, c Cache, ref, key string) error {
	if ref == "" {
		return nil
	}
	return c.Set(ctx, ZaakLinkPrefix+ref+":"+key, nil, 0)
}

// PurgedTraceID is the trace id of the one ledger line a purge leaves: it
// says that the zaak with reference ref was purged, and nothing else.
func PurgedTraceID(ref string) string { return "zaak-purged:" + ref }

// ZaakPurger is implemented by both backends (and forwarded by Encrypted):
// everything the store holds about one zaak can be found and deleted.
type ZaakPurger interface {
	// ByZaak returns, oldest first, every ledger record whose ZaakRef is
	// ref.
	ByZaak(ctx context.Context, ref string) ([]Record, error)
	// PurgeZaak deletes every ledger record whose ZaakRef is ref, and every
	// record sharing a trace, event or delivery id with one of those (the
	// ingest, route, deliver and settle lines of the same notification),
	// every cache entry and claim named in keys, and every cache entry
	// linked to the zaak with LinkZaak. It then appends tombstone. It is
	// idempotent.
	PurgeZaak(ctx context.Context, ref string, keys []string, tombstone Record) (PurgeStats, error)
	// PurgeLedgerBefore deletes the ledger records appended (SQLite) or
	// stamped (Redis) before cutoff.
	PurgeLedgerBefore(ctx context.Context, cutoff time.Time) (int, error)
}

// PurgeStats says what a purge deleted.
type PurgeStats struct {
	Records int `json:"records"`
	Keys    int `json:"keys"`
}

// closeIDs grows ids, the trace, event and delivery ids of records, to a
// fixed point using trail, so that every record sharing an id with one
// already found is found too. It returns every record so found, once.
func closeIDs(ctx context.Context, seed []Record, trail func(ctx context.Context, id string) ([]Record, error)) ([]Record, map[string]bool, error) {
	ids := map[string]bool{}
	var queue []string
	add := func(r Record) {
		for _, id := range []string{r.TraceID, r.EventID, r.DeliveryID} {
			if id != "" && !ids[id] {
				ids[id] = true
				queue = append(queue, id)
			}
		}
	}
	for _, r := range seed {
		add(r)
	}
	type recKey struct {
		r  Record
		at int64
	}
	seen := map[recKey]bool{}
	var all []Record
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		recs, err := trail(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range recs {
			k := recKey{r, r.At.UnixNano()}
			k.r.At = time.Time{}
			if !seen[k] {
				seen[k] = true
				all = append(all, r)
			}
			add(r)
		}
	}
	return all, ids, nil
}

// linkedKeys lists the cache keys linked to the zaak ref (and the links).
func linkedKeys(ctx context.Context, sc CacheScanner, ref string) ([]string, error) {
	prefix := ZaakLinkPrefix + ref + ":"
	var keys []string
	err := sc.ScanCache(ctx, prefix, func(ce CacheEntry) error {
		keys = append(keys, ce.Key, strings.TrimPrefix(ce.Key, prefix))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys linked to the zaak: %w", err)
	}
	return keys, nil
}

// ByZaak forwards to the backend.
func (e *Encrypted) ByZaak(ctx context.Context, ref string) ([]Record, error) {
	p, ok := e.Store.(ZaakPurger)
	if !ok {
		return nil, fmt.Errorf("store: the %T backend cannot search the ledger by zaak", e.Store)
	}
	return p.ByZaak(ctx, ref)
}

// PurgeZaak forwards to the backend.
func (e *Encrypted) PurgeZaak(ctx context.Context, ref string, keys []string, tombstone Record) (PurgeStats, error) {
	p, ok := e.Store.(ZaakPurger)
	if !ok {
		return PurgeStats{}, fmt.Errorf("store: the %T backend cannot purge a zaak", e.Store)
	}
	return p.PurgeZaak(ctx, ref, keys, tombstone)
}

// PurgeLedgerBefore forwards to the backend.
func (e *Encrypted) PurgeLedgerBefore(ctx context.Context, cutoff time.Time) (int, error) {
	p, ok := e.Store.(ZaakPurger)
	if !ok {
		return 0, fmt.Errorf("store: the %T backend cannot purge its ledger", e.Store)
	}
	return p.PurgeLedgerBefore(ctx, cutoff)
}

// BySubject forwards to the backend.
func (e *Encrypted) BySubject(ctx context.Context, ref string) ([]Record, error) {
	p, ok := e.Store.(interface {
		BySubject(ctx context.Context, ref string) ([]Record, error)
	})
	if !ok {
		return nil, fmt.Errorf("store: the %T backend cannot search the ledger by subject", e.Store)
	}
	return p.BySubject(ctx, ref)
}

// ScanCache forwards to the backend (raw, still encrypted, values).
func (e *Encrypted) ScanCache(ctx context.Context, prefix string, fn func(CacheEntry) error) error {
	sc, ok := e.Store.(CacheScanner)
	if !ok {
		return fmt.Errorf("store: the %T backend cannot list its cache", e.Store)
	}
	return sc.ScanCache(ctx, prefix, fn)
}

// ZaakRecords returns every ledger record about the zaak with reference
// ref: those with that ZaakRef and, to a fixed point, those sharing a trace,
// event or delivery id with one found.
func ZaakRecords(ctx context.Context, st Store, ref string) ([]Record, error) {
	p, ok := st.(ZaakPurger)
	if !ok {
		return nil, fmt.Errorf("store: the %T store cannot search the ledger by zaak", st)
	}
	seed, err := p.ByZaak(ctx, ref)
	if err != nil {
		return nil, err
	}
	all, _, err := closeIDs(ctx, seed, st.Trail)
	return all, err
}
