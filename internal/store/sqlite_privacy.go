package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	_ ZaakPurger   = (*SQLite)(nil)
	_ CacheScanner = (*SQLite)(nil)
)

// migrateZaakRef adds the ledger's zaak_ref column to a file created before
// it existed, and its index.
func migrateZaakRef(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('ledger') WHERE name = 'zaak_ref'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate ledger.zaak_ref: %w", err)
	}
	if n == 0 {
		if _, err := db.Exec(`ALTER TABLE ledger ADD COLUMN zaak_ref TEXT NOT NULL DEFAULT ''`); err != nil &&
			!strings.Contains(err.Error(), "duplicate column") { // another process was first
			return fmt.Errorf("migrate ledger.zaak_ref: %w", err)
		}
	}
	if _, err := db.Exec(`CREATE INDEX IF NOT EXISTS ledger_zaak_ref ON ledger(zaak_ref)`); err != nil {
		return fmt.Errorf("migrate ledger.zaak_ref: %w", err)
	}
	return nil
}

// ByZaak implements ZaakPurger.
func (s *SQLite) ByZaak(ctx context.Context, ref string) ([]Record, error) {
	if ref == "" {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+ledgerColumns+` FROM ledger WHERE zaak_ref = ? ORDER BY at, seq`, ref)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read records by zaak: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read records by zaak: %w", err)
	}
	return recs, nil
}

// PurgeZaak implements ZaakPurger, in one transaction.
func (s *SQLite) PurgeZaak(ctx context.Context, ref string, keys []string, tombstone Record) (PurgeStats, error) {
	var st PurgeStats
	if ref == "" {
		return st, errors.New("store: sqlite: purge zaak: the zaak reference is empty")
	}
	seed, err := s.ByZaak(ctx, ref)
	if err != nil {
		return st, err
	}
	_, ids, err := closeIDs(ctx, seed, s.Trail)
	if err != nil {
		return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
	}
	linked, err := linkedKeys(ctx, s, ref)
	if err != nil {
		return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
	}
	defer tx.Rollback()
	del := func(q string, args ...any) (int, error) {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		return int(n), err
	}
	n, err := del(`DELETE FROM ledger WHERE zaak_ref = ?`, ref)
	if err != nil {
		return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
	}
	st.Records += n
	for id := range ids {
		n, err := del(`DELETE FROM ledger WHERE trace_id = ?1 OR event_id = ?1 OR delivery_id = ?1`, id)
		if err != nil {
			return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
		}
		st.Records += n
	}
	for _, k := range append(keys, linked...) {
		n1, err := del(`DELETE FROM cache WHERE key = ?`, k)
		if err != nil {
			return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
		}
		n2, err := del(`DELETE FROM claims WHERE key = ?`, k)
		if err != nil {
			return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
		}
		st.Keys += n1 + n2
	}
	if err := tx.Commit(); err != nil {
		return st, fmt.Errorf("store: sqlite: purge zaak: %w", err)
	}
	if tombstone.TraceID != "" {
		if err := s.Append(ctx, tombstone); err != nil {
			return st, err
		}
	}
	return st, nil
}

// PurgeLedgerBefore implements ZaakPurger.
func (s *SQLite) PurgeLedgerBefore(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM ledger WHERE appended_at < ?`, cutoff.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("store: sqlite: purge old ledger records: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ScanCache implements CacheScanner. Expired entries are left out.
func (s *SQLite) ScanCache(ctx context.Context, prefix string, fn func(CacheEntry) error) error {
	now := s.nowNanos()
	// Read everything first: fn may write through the single writer while
	// a reader holds a snapshot, which is fine, but keeping rows open
	// across callbacks is not needed for the sizes a cache has.
	// A key range rather than substr(), so that the primary key index
	// answers it: every key with the prefix sorts between the prefix and
	// the prefix followed by U+10FFFF, the highest code point.
	rows, err := s.r.QueryContext(ctx, `SELECT key, value, expires_at FROM cache
WHERE key >= ?1 AND key < ?1 || char(1114111) AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key`, prefix, now)
	if err != nil {
		return fmt.Errorf("store: sqlite: list cache: %w", err)
	}
	var entries []CacheEntry
	for rows.Next() {
		var ce CacheEntry
		var exp sql.NullInt64
		if err := rows.Scan(&ce.Key, &ce.Value, &exp); err != nil {
			rows.Close()
			return fmt.Errorf("store: sqlite: list cache: %w", err)
		}
		if exp.Valid {
			ce.TTL = max(time.Duration(exp.Int64-now), time.Millisecond)
		}
		entries = append(entries, ce)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("store: sqlite: list cache: %w", err)
	}
	for _, ce := range entries {
		if err := fn(ce); err != nil {
			return err
		}
	}
	return nil
}
