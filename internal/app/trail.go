package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/mijnservices/koerier/config"
	"github.com/mijnservices/koerier/internal/event"
	"github.com/mijnservices/koerier/internal/store"
)

// OpenStore opens the configured store on the clock now, as New does, for
// an operator command. It refuses to create an empty SQLite store: a wrong
// path must not look like an empty ledger.
func OpenStore(ctx context.Context, cfg config.Config, now func() time.Time) (store.Store, error) {
	if cfg.Store.Backend == "" || cfg.Store.Backend == store.BackendSQLite {
		if _, err := os.Stat(cfg.Store.SQLitePath); err != nil {
			return nil, fmt.Errorf("no store database at %s (check data_dir and store.sqlite_path in the configuration): %w", cfg.Store.SQLitePath, err)
		}
	}
	st, err := store.Open(ctx, StoreOptions(cfg, now))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// TrailQuery says which ledger records to read: exactly one of ID, Subject
// or Recent is set.
type TrailQuery struct {
	// ID is a notification id (dedup key), event id or delivery id.
	ID      string
	Subject event.Subject
	// Recent is the number of newest records.
	Recent int
	// Zaak is a zaak URL: its records (found by the keyed hash the router
	// recorded, store.ZaakRef) and, once purged, the line saying so.
	Zaak string
}

// subjectLedger is implemented by store backends that index the ledger by
// subject (SQLite and Redis); it is not part of store.Store, so a backend
// without it can still run the router.
type subjectLedger interface {
	BySubject(ctx context.Context, ref string) ([]store.Record, error)
}

// Trail returns the records q asks for, oldest first. key is the store's
// subject key: a subject is found by the keyed hash the router recorded
// (store.SubjectRefOf), never by its BSN.
func Trail(ctx context.Context, st store.Store, key []byte, q TrailQuery) ([]store.Record, error) {
	switch {
	case q.ID != "":
		return st.Trail(ctx, q.ID)
	case q.Zaak != "":
		if len(key) == 0 {
			return nil, errors.New("store.subject_key is not set, so no record can be found by zaak")
		}
		ref := store.ZaakRef(key, q.Zaak)
		recs, err := store.ZaakRecords(ctx, st, ref)
		if err != nil {
			return nil, err
		}
		purged, err := st.Trail(ctx, store.PurgedTraceID(ref))
		if err != nil {
			return nil, err
		}
		recs = append(recs, purged...)
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].At.Before(recs[j].At) })
		return recs, nil
	case q.Subject != (event.Subject{}):
		bs, ok := st.(subjectLedger)
		if !ok {
			return nil, fmt.Errorf("the %T store cannot search the ledger by subject; find the notification id first (koerier trail --recent N)", st)
		}
		if len(key) == 0 {
			return nil, errors.New("store.subject_key is not set, so no record can be found by subject")
		}
		return bs.BySubject(ctx, store.SubjectRefOf(key, q.Subject))
	default:
		recs, err := st.Recent(ctx, q.Recent)
		// Recent is newest first; a trail reads oldest first.
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
		return recs, err
	}
}
