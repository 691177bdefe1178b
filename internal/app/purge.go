package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/httpapi"
	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/router"
)

// maxEnrichAttempts bounds the "enriched:<id>:<attempt>" markers a purge
// deletes per notification; enrich re-queues a notification far fewer
// times (the rol back-off has four steps).
const maxEnrichAttempts = 32

// PurgeZaak deletes every record Koerier holds about the zaak at zaakURL:
// its ledger lines (and every line of the same notifications, events and
// deliveries), delivery plans, done markers, leases, group windows and the
// state of its taken. One ledger line remains, under the trace id
// store.PurgedTraceID(ref), saying that a zaak was purged; it holds only
// the keyed hash of the zaak URL. key is store.subject_key.
func PurgeZaak(ctx context.Context, st store.Store, key []byte, zaakURL string, now time.Time) (store.PurgeStats, error) {
	if zaakURL == "" {
		return store.PurgeStats{}, errors.New("purge: the zaak URL is empty")
	}
	if len(key) == 0 {
		return store.PurgeStats{}, errors.New("purge: store.subject_key is not set, so the zaak's records cannot be found")
	}
	p, ok := st.(store.ZaakPurger)
	if !ok {
		return store.PurgeStats{}, fmt.Errorf("purge: the %T store cannot purge a zaak", st)
	}
	ref := store.ZaakRef(key, zaakURL)
	recs, err := store.ZaakRecords(ctx, st, ref)
	if err != nil {
		return store.PurgeStats{}, fmt.Errorf("purge: %w", err)
	}
	keys := zaakKeys(recs, zaakURL)
	tomb := store.Record{TraceID: store.PurgedTraceID(ref), Stage: "purge", Status: "purged", At: now.UTC(),
		Detail: fmt.Sprintf("zaak verwijderd (archivering): %d ledgerregel(s) en de bijbehorende toestand gewist", len(recs))}
	stats, err := p.PurgeZaak(ctx, ref, keys, tomb)
	if err != nil {
		return stats, fmt.Errorf("purge: %w", err)
	}
	return stats, nil
}

// zaakKeys lists the cache keys and claims the stages derive from the ids
// in recs; the keys linked to the zaak explicitly (taak state) are found
// by the store itself.
func zaakKeys(recs []store.Record, zaakURL string) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, r := range recs {
		if r.TraceID != "" {
			add(httpapi.SeenKey(r.TraceID))
			for i := 0; i < maxEnrichAttempts; i++ {
				add(fmt.Sprintf("enriched:%s:%d", r.TraceID, i))
			}
		}
		if r.DeliveryID != "" {
			for _, k := range []string{"delivery:", "sent:", "settled:", "lease:"} {
				add(k + r.DeliveryID)
			}
		}
		if r.SubjectRef != "" {
			add(router.GroupKey(r.SubjectRef, zaakURL))
		}
	}
	return keys
}

// Data classes for Retain.
const (
	ClassLedger    = "ledger"
	ClassTaakState = "taak_state"
	ClassDedup     = "dedup"
)

// Classes lists the data classes Retain knows.
var Classes = []string{ClassLedger, ClassTaakState, ClassDedup}

// retentionPrefixes are the cache keys of each class held in the cache.
var retentionPrefixes = map[string][]string{
	ClassTaakState: {"zgw:taak:", store.ZaakLinkPrefix},
	ClassDedup:     {"inbound:", "enriched:", "sent:", "settled:"},
}

// Retain deletes, per data class, what is older than its retention: the
// configured one (store.ledger_retention, store.retention.taak_state,
// store.retention.dedup), or olderThan for every class when it is more than
// 0. It returns the number deleted per class.
func Retain(ctx context.Context, st store.Store, cfg config.Config, olderThan time.Duration, classes []string, now time.Time) (map[string]int, error) {
	periods := map[string]time.Duration{
		ClassLedger:    cfg.Store.LedgerRetention,
		ClassTaakState: cfg.Store.Retention.TaakState,
		ClassDedup:     cfg.Store.Retention.Dedup,
	}
	if len(classes) == 0 {
		classes = Classes
	}
	out := map[string]int{}
	for _, c := range classes {
		d, ok := periods[c]
		if !ok {
			return out, fmt.Errorf("retain: unknown data class %q (want one of %v)", c, Classes)
		}
		if olderThan > 0 {
			d = olderThan
		}
		cutoff := now.Add(-d)
		if c == ClassLedger {
			p, ok := st.(store.ZaakPurger)
			if !ok {
				return out, fmt.Errorf("retain: the %T store cannot purge its ledger", st)
			}
			n, err := p.PurgeLedgerBefore(ctx, cutoff)
			if err != nil {
				return out, fmt.Errorf("retain %s: %w", c, err)
			}
			out[c] = n
			continue
		}
		e, ok := st.(*store.Encrypted)
		if !ok {
			return out, fmt.Errorf("retain: the %T store keeps no write times", st)
		}
		for _, prefix := range retentionPrefixes[c] {
			n, err := e.DeleteWrittenBefore(ctx, prefix, cutoff)
			if err != nil {
				return out, fmt.Errorf("retain %s: %w", c, err)
			}
			out[c] += n
		}
	}
	return out, nil
}

// purgeZaak is the router's ZaakPurgeFunc: the zaak destroy notification
// purges on the app's store and clock.
func (a *App) purgeZaak(ctx context.Context, zaakURL string) error {
	stats, err := PurgeZaak(ctx, a.store, []byte(a.cfg.Store.SubjectKey), zaakURL, a.now())
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "zaak purged after its destroy notification", "records", stats.Records, "keys", stats.Keys)
	return nil
}

// dataKey decodes a data key that config validation has already checked;
// empty stays empty. A key that does not decode (a config built without
// validation) becomes one the store refuses, never no key.
func dataKey(s string) []byte {
	if s == "" {
		return nil
	}
	k, err := store.ParseDataKey(s)
	if err != nil {
		return []byte{0}
	}
	return k
}
