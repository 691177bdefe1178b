package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Enqueue implements Batches.
func (s *SQLite) Enqueue(ctx context.Context, bucket, id string, payload []byte) (bool, error) {
	if payload == nil {
		payload = []byte{}
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO batch_items(id, bucket, payload) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`, id, bucket, payload)
	if err != nil {
		return false, fmt.Errorf("store: sqlite: enqueue: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: sqlite: enqueue: %w", err)
	}
	return n == 1, nil
}

// OpenItems implements Batches.
func (s *SQLite) OpenItems(ctx context.Context, bucket string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM batch_items WHERE bucket = ? AND batch_id IS NULL`, bucket).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: sqlite: count open items: %w", err)
	}
	return n, nil
}

// Lock implements Batches. One upsert, so that the check and the take are
// atomic across processes: a live lock makes it a no-op.
func (s *SQLite) Lock(ctx context.Context, bucket string, ttl time.Duration) (int64, bool, error) {
	now := s.now()
	var token int64
	err := s.w.QueryRowContext(ctx, `
INSERT INTO batch_locks(bucket, token, expires_at) VALUES(?, 1, ?)
ON CONFLICT(bucket) DO UPDATE SET token = batch_locks.token + 1, expires_at = excluded.expires_at
WHERE batch_locks.expires_at <= ?
RETURNING token`, bucket, now.Add(ttl).UnixNano(), now.UnixNano()).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: sqlite: lock bucket: %w", err)
	}
	return token, true, nil
}

// Unlock implements Batches. The token stays, so the next Lock's is newer.
func (s *SQLite) Unlock(ctx context.Context, bucket string, token int64) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE batch_locks SET expires_at = 0 WHERE bucket = ? AND token = ?`, bucket, token); err != nil {
		return fmt.Errorf("store: sqlite: unlock bucket: %w", err)
	}
	return nil
}

func checkFence(ctx context.Context, tx *sql.Tx, bucket string, token int64) error {
	var cur int64
	err := tx.QueryRowContext(ctx, `SELECT token FROM batch_locks WHERE bucket = ?`, bucket).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && cur != token) {
		return ErrFenced
	}
	return err
}

// Seal implements Batches, in one immediate transaction: the fence check,
// the name and the move of the items are one step for every process.
func (s *SQLite) Seal(ctx context.Context, bucket, namePrefix string, max int, token int64) (Batch, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	defer tx.Rollback()
	if err := checkFence(ctx, tx, bucket, token); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal %s: %w", bucket, err)
	}
	limit := -1
	if max > 0 {
		limit = max
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM batch_items WHERE bucket = ? AND batch_id IS NULL LIMIT ?)`, bucket, limit).Scan(&n); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	if n == 0 {
		return Batch{}, nil
	}
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM batches WHERE substr(id, 1, ?) = ?`, len(namePrefix)+1, namePrefix+"-").Scan(&seq); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	b := Batch{ID: fmt.Sprintf("%s-%d", namePrefix, seq+1), Bucket: bucket, State: BatchSealed, Items: n, SealedAt: s.now().UTC()}
	if _, err := tx.ExecContext(ctx, `
UPDATE batch_items SET batch_id = ? WHERE seq IN (
	SELECT seq FROM batch_items WHERE bucket = ? AND batch_id IS NULL ORDER BY seq LIMIT ?)`, b.ID, bucket, limit); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches(id, bucket, state, items, sealed_at) VALUES(?, ?, ?, ?, ?)`,
		b.ID, b.Bucket, b.State, b.Items, b.SealedAt.UnixNano()); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Batch{}, fmt.Errorf("store: sqlite: seal: %w", err)
	}
	return b, nil
}

// MarkSent implements Batches.
func (s *SQLite) MarkSent(ctx context.Context, id string, token int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: sqlite: mark batch sent: %w", err)
	}
	defer tx.Rollback()
	var bucket string
	if err := tx.QueryRowContext(ctx, `SELECT bucket FROM batches WHERE id = ?`, id).Scan(&bucket); err != nil {
		return fmt.Errorf("store: sqlite: mark batch %s sent: %w", id, err)
	}
	if err := checkFence(ctx, tx, bucket, token); err != nil {
		return fmt.Errorf("store: sqlite: mark batch %s sent: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET state = ?, sent_at = ? WHERE id = ?`, BatchSent, s.nowNanos(), id); err != nil {
		return fmt.Errorf("store: sqlite: mark batch %s sent: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: sqlite: mark batch %s sent: %w", id, err)
	}
	return nil
}

const batchColumns = `id, bucket, state, items, sealed_at, sent_at`

func scanBatch(sc interface{ Scan(...any) error }) (Batch, error) {
	var b Batch
	var sealed int64
	var sent sql.NullInt64
	if err := sc.Scan(&b.ID, &b.Bucket, &b.State, &b.Items, &sealed, &sent); err != nil {
		return Batch{}, err
	}
	b.SealedAt = time.Unix(0, sealed).UTC()
	if sent.Valid {
		b.SentAt = time.Unix(0, sent.Int64).UTC()
	}
	return b, nil
}

// Batch implements Batches.
func (s *SQLite) Batch(ctx context.Context, id string) (Batch, []BatchItem, bool, error) {
	b, err := scanBatch(s.r.QueryRowContext(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, nil, false, nil
	}
	if err != nil {
		return Batch{}, nil, false, fmt.Errorf("store: sqlite: read batch: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, payload FROM batch_items WHERE batch_id = ? ORDER BY seq`, id)
	if err != nil {
		return Batch{}, nil, false, fmt.Errorf("store: sqlite: read batch items: %w", err)
	}
	defer rows.Close()
	var items []BatchItem
	for rows.Next() {
		var it BatchItem
		if err := rows.Scan(&it.ID, &it.Payload); err != nil {
			return Batch{}, nil, false, fmt.Errorf("store: sqlite: read batch items: %w", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return Batch{}, nil, false, fmt.Errorf("store: sqlite: read batch items: %w", err)
	}
	return b, items, true, nil
}

// ListBatches implements Batches.
func (s *SQLite) ListBatches(ctx context.Context, bucket, state string) ([]Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+batchColumns+` FROM batches
WHERE (?1 = '' OR bucket = ?1) AND (?2 = '' OR state = ?2) ORDER BY sealed_at, id`, bucket, state)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: list batches: %w", err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sqlite: list batches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
