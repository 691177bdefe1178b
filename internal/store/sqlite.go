package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	// The pure-Go driver keeps the embedded default free of cgo.
	"modernc.org/sqlite"

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/sqlitefile"
)

// SQLite is the embedded backend: one database file that may be shared by
// several goroutines and by several processes on the same host. It relies on
// WAL mode (readers never block the writer) and a busy timeout (a writer waits
// for another process's write instead of failing at once).
type SQLite struct {
	// Writes go through one connection, so that goroutines of this process
	// queue fairly in database/sql instead of contending in SQLite's busy
	// handler, whose growing back-off starved some writers for seconds
	// under load. Reads use a pool: WAL lets them run beside the writer.
	w, r      *sql.DB
	now       func() time.Time
	retention time.Duration
	// stmts holds the hot statements prepared once: SQLite parsed each of
	// them again on every call, about a tenth of the embedded router's CPU
	// (koerier bench --pprof, docs/BENCHMARKS.md).
	stmts sync.Map // stmtKey → *sql.Stmt

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ Store = (*SQLite)(nil)

// SQLiteOption tunes OpenSQLite.
type SQLiteOption func(*sqliteConfig)

type sqliteConfig struct {
	now           func() time.Time
	purgeInterval time.Duration
	busyTimeout   time.Duration
	retention     time.Duration
}

// WithClock makes the backend read the time from now instead of the wall
// clock, so that tests can move time forward instead of waiting for it.
func WithClock(now func() time.Time) SQLiteOption {
	return func(c *sqliteConfig) { c.now = now }
}

// WithPurgeInterval sets how often expired claims and cache entries, and
// ledger records past the retention, are deleted in the background (default
// one minute). Expired claims and cache entries already behave as absent;
// purging them only keeps the file small. Zero or less disables
// the background purge; Purge can still be called.
func WithPurgeInterval(d time.Duration) SQLiteOption {
	return func(c *sqliteConfig) { c.purgeInterval = d }
}

// WithLedgerRetention sets how long a ledger record is kept after it was
// appended (default 90 days, as for Redis); zero or less keeps records
// forever. Old records are deleted by the purge.
func WithLedgerRetention(d time.Duration) SQLiteOption {
	return func(c *sqliteConfig) { c.retention = d }
}

// WithBusyTimeout sets how long a write waits for another connection or
// process holding the write lock (default 10 s).
func WithBusyTimeout(d time.Duration) SQLiteOption {
	return func(c *sqliteConfig) { c.busyTimeout = d }
}

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS claims (
	key        TEXT PRIMARY KEY,
	expires_at INTEGER -- unix nanoseconds; NULL never expires
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	trace_id    TEXT NOT NULL,
	event_id    TEXT NOT NULL DEFAULT '',
	delivery_id TEXT NOT NULL DEFAULT '',
	stage       TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL DEFAULT '',
	channel     TEXT NOT NULL DEFAULT '',
	rule        TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	subject_ref TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	zaak_ref    TEXT NOT NULL DEFAULT '', -- keyed hash of the zaak URL
	at          INTEGER NOT NULL, -- unix nanoseconds, UTC
	-- The backend's clock at Append, for retention: At may be a peer's
	-- time (a delivery receipt), appended_at is ours.
	appended_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_trace_id ON ledger(trace_id);
CREATE INDEX IF NOT EXISTS ledger_event_id ON ledger(event_id);
CREATE INDEX IF NOT EXISTS ledger_delivery_id ON ledger(delivery_id);
CREATE INDEX IF NOT EXISTS ledger_at ON ledger(at);
CREATE INDEX IF NOT EXISTS ledger_subject_ref ON ledger(subject_ref);
CREATE INDEX IF NOT EXISTS ledger_appended_at ON ledger(appended_at);
-- ledger_zaak_ref is created by migrateZaakRef, after the column exists in
-- files made before it.
CREATE TABLE IF NOT EXISTS cache (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	expires_at INTEGER -- unix nanoseconds; NULL never expires
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_items (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT, -- enqueue order
	id       TEXT NOT NULL UNIQUE,
	bucket   TEXT NOT NULL,
	payload  BLOB NOT NULL,
	batch_id TEXT -- NULL while in the open bucket
);
CREATE INDEX IF NOT EXISTS batch_items_bucket ON batch_items(bucket, batch_id, seq);
CREATE INDEX IF NOT EXISTS batch_items_batch ON batch_items(batch_id, seq);
CREATE TABLE IF NOT EXISTS batches (
	id        TEXT PRIMARY KEY,
	bucket    TEXT NOT NULL,
	state     TEXT NOT NULL,
	items     INTEGER NOT NULL,
	sealed_at INTEGER NOT NULL, -- unix nanoseconds, UTC
	sent_at   INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batch_locks (
	bucket     TEXT PRIMARY KEY,
	token      INTEGER NOT NULL, -- the fencing token: grows with every Lock
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`

// OpenSQLite opens (and if needed creates) the store in the database file at
// path. Several processes may open the same file at once. The file must be
// on a local file system (WAL needs shared memory), and ":memory:" is not
// supported: every pooled connection would see a database of its own.
func OpenSQLite(path string, opts ...SQLiteOption) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("store: open sqlite: the database path is empty")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: open sqlite: the database path %q contains '?' or '#'", path)
	}
	cfg := sqliteConfig{
		now:           clock.System,
		purgeInterval: time.Minute,
		busyTimeout:   10 * time.Second,
		retention:     DefaultLedgerRetention,
	}
	for _, o := range opts {
		o(&cfg)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	// NORMAL is durable in WAL mode against a process crash, which is the
	// failure the embedded default promises to survive.
	q.Add("_pragma", "synchronous(NORMAL)")
	// The ledger and cache hold personal data (subject references, Open
	// Klant answers): overwrite what a delete frees instead of leaving it in
	// free pages.
	q.Add("_pragma", "secure_delete(ON)")
	// Transactions take the write lock at BEGIN: a deferred transaction that
	// upgrades from read to write in WAL mode fails with SQLITE_BUSY without
	// waiting for the busy timeout.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := enableWAL(w, cfg.busyTimeout); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := sqlitefile.EnsureIncrementalVacuum(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := createSchema(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: create schema: %w", path, err)
	}
	if err := migrateZaakRef(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	s := &SQLite{w: w, r: r, now: cfg.now, retention: cfg.retention, stop: make(chan struct{}), done: make(chan struct{})}
	if cfg.purgeInterval > 0 {
		go s.purgeLoop(cfg.purgeInterval)
	} else {
		close(s.done)
	}
	return s, nil
}

// enableWAL switches the file to WAL mode, which then sticks to the file for
// every later connection. It is done once here rather than per connection
// because the switch needs an exclusive lock for which SQLite does not call
// the busy handler: two processes opening a new file at once would otherwise
// fail with SQLITE_BUSY. So this retries until the busy timeout.
func enableWAL(db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := time.Millisecond
	for {
		var mode string
		err := db.QueryRow(`PRAGMA journal_mode=WAL`).Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("enable WAL: the journal mode stayed %q (is the file on a network file system?)", mode)
			}
			return nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return fmt.Errorf("enable WAL: %w", err)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// Compact gives the file's free pages back to the file system and
// truncates the WAL, so the file shrinks after deletes and the bytes of
// deleted rows are gone from disk (secure_delete zeroes them in the pages
// the checkpoint writes back). The background purge calls it after every
// purge.
func (s *SQLite) Compact(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: sqlite: compact: %w", err)
	}
	defer conn.Close()
	if err := sqlitefile.Compact(ctx, conn); err != nil {
		return fmt.Errorf("store: sqlite: %w", err)
	}
	return nil
}

func isBusy(err error) bool {
	var e *sqlite.Error
	// The primary result code is the low byte; 5 is SQLITE_BUSY, 6
	// SQLITE_LOCKED.
	return errors.As(err, &e) && (e.Code()&0xff == 5 || e.Code()&0xff == 6)
}

// createSchema runs in one immediate transaction: as loose statements, a
// process that read the schema while another created it would fail with
// SQLITE_BUSY at once, because waiting cannot refresh a stale snapshot.
func createSchema(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.Exec(sqliteSchema); err != nil {
		tx.Rollback()
		return fmt.Errorf("exec: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *SQLite) nowNanos() int64 { return s.now().UnixNano() }

// expiresAt turns a ttl into the stored expiry; a ttl of 0 or less never
// expires and is stored as NULL.
func (s *SQLite) expiresAt(ttl time.Duration) any {
	if ttl <= 0 {
		return nil
	}
	return s.now().Add(ttl).UnixNano()
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmt returns query prepared on db, preparing it on first use. A failed
// prepare is not cached, so the next call tries again.
func (s *SQLite) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{db, query}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(k, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// exec runs a hot write statement, prepared once.
func (s *SQLite) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, s.w, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Claim implements Claims. A ttl of 0 or less claims the key until it is
// released.
func (s *SQLite) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	// One statement, so the check and the write are atomic across
	// connections and processes: a live claim makes the upsert a no-op
	// (0 rows changed), an absent or expired one is (re)written.
	res, err := s.exec(ctx, `
INSERT INTO claims(key, expires_at) VALUES(?, ?)
ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at
WHERE claims.expires_at IS NOT NULL AND claims.expires_at <= ?`,
		key, s.expiresAt(ttl), s.nowNanos())
	if err != nil {
		return false, fmt.Errorf("store: sqlite: claim: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: sqlite: claim: %w", err)
	}
	return n == 1, nil
}

// Release implements Claims.
func (s *SQLite) Release(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM claims WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: sqlite: release claim: %w", err)
	}
	return nil
}

// Append implements Ledger. A record without At is stamped with the
// backend's clock; all times are stored in UTC.
func (s *SQLite) Append(ctx context.Context, r Record) error {
	if r.TraceID == "" {
		return errors.New("store: sqlite: append: the record has no trace id")
	}
	now := s.now()
	at := r.At
	if at.IsZero() {
		at = now
	}
	_, err := s.exec(ctx, `
INSERT INTO ledger(trace_id, event_id, delivery_id, stage, status, channel, rule, detail, subject_ref, provider_id, zaak_ref, at, appended_at)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.TraceID, r.EventID, r.DeliveryID, r.Stage, r.Status, r.Channel, r.Rule, r.Detail, r.SubjectRef, r.ProviderID, r.ZaakRef, at.UnixNano(), now.UnixNano())
	if err != nil {
		return fmt.Errorf("store: sqlite: append to ledger: %w", err)
	}
	return nil
}

const ledgerColumns = `trace_id, event_id, delivery_id, stage, status, channel, rule, detail, subject_ref, provider_id, zaak_ref, at`

// Trail implements Ledger. Records are ordered by At, and records with the
// same At in the order they were appended.
func (s *SQLite) Trail(ctx context.Context, id string) ([]Record, error) {
	if id == "" {
		return nil, nil
	}
	// A UNION of three indexed look-ups instead of one OR, which SQLite may
	// answer with a full scan.
	rows, err := s.r.QueryContext(ctx, `
SELECT `+ledgerColumns+` FROM ledger WHERE seq IN (
	SELECT seq FROM ledger WHERE trace_id = ?1
	UNION SELECT seq FROM ledger WHERE event_id = ?1
	UNION SELECT seq FROM ledger WHERE delivery_id = ?1
) ORDER BY at, seq`, id)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read trail: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read trail: %w", err)
	}
	return recs, nil
}

// Recent implements Ledger. Records are ordered by At, newest first, and
// records with the same At newest appended first. A limit of 0 or less
// returns nothing.
func (s *SQLite) Recent(ctx context.Context, limit int) ([]Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+ledgerColumns+` FROM ledger ORDER BY at DESC, seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read recent records: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read recent records: %w", err)
	}
	return recs, nil
}

// BySubject returns, oldest first, every record about the recipient whose
// SubjectRef is ref, so that an admin can answer "what did we send this
// inwoner" from a BSN without the ledger holding it.
func (s *SQLite) BySubject(ctx context.Context, ref string) ([]Record, error) {
	if ref == "" {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+ledgerColumns+` FROM ledger WHERE subject_ref = ? ORDER BY at, seq`, ref)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read records by subject: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: read records by subject: %w", err)
	}
	return recs, nil
}

func scanRecords(rows *sql.Rows) ([]Record, error) {
	defer rows.Close()
	var recs []Record
	for rows.Next() {
		var r Record
		var at int64
		if err := rows.Scan(&r.TraceID, &r.EventID, &r.DeliveryID, &r.Stage, &r.Status, &r.Channel, &r.Rule, &r.Detail, &r.SubjectRef, &r.ProviderID, &r.ZaakRef, &at); err != nil {
			return nil, err
		}
		r.At = time.Unix(0, at).UTC()
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// Get implements Cache.
func (s *SQLite) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var val []byte
	st, err := s.stmt(ctx, s.r, `SELECT value FROM cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`)
	if err != nil {
		return nil, false, fmt.Errorf("store: sqlite: get from cache: %w", err)
	}
	err = st.QueryRowContext(ctx, key, s.nowNanos()).Scan(&val)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: sqlite: get from cache: %w", err)
	}
	if val == nil {
		// A stored empty value is still a hit.
		val = []byte{}
	}
	return val, true, nil
}

// Set implements Cache.
func (s *SQLite) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if val == nil {
		val = []byte{}
	}
	_, err := s.exec(ctx, `
INSERT INTO cache(key, value, expires_at) VALUES(?, ?, ?)
ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		key, val, s.expiresAt(ttl))
	if err != nil {
		return fmt.Errorf("store: sqlite: set in cache: %w", err)
	}
	return nil
}

// Delete implements Cache.
func (s *SQLite) Delete(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM cache WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: sqlite: delete from cache: %w", err)
	}
	return nil
}

// Purge deletes expired claims and cache entries, which already behave as
// absent, and ledger records appended longer ago than the retention.
func (s *SQLite) Purge(ctx context.Context) error {
	now := s.nowNanos()
	if s.retention > 0 {
		cutoff := s.now().Add(-s.retention).UnixNano()
		if _, err := s.w.ExecContext(ctx, `DELETE FROM ledger WHERE appended_at < ?`, cutoff); err != nil {
			return fmt.Errorf("store: sqlite: purge old ledger records: %w", err)
		}
		// Sent batches hold letters' addresses: they go with the ledger.
		if _, err := s.w.ExecContext(ctx, `DELETE FROM batch_items WHERE batch_id IN (SELECT id FROM batches WHERE state = 'sent' AND sent_at < ?)`, cutoff); err != nil {
			return fmt.Errorf("store: sqlite: purge old batches: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM batches WHERE state = 'sent' AND sent_at < ?`, cutoff); err != nil {
			return fmt.Errorf("store: sqlite: purge old batches: %w", err)
		}
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM claims WHERE expires_at IS NOT NULL AND expires_at <= ?`, now); err != nil {
		return fmt.Errorf("store: sqlite: purge expired claims: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?`, now); err != nil {
		return fmt.Errorf("store: sqlite: purge expired cache entries: %w", err)
	}
	return nil
}

func (s *SQLite) purgeLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failed purge or compaction is harmless (expired rows stay
			// invisible) and the next tick tries again, so the error is
			// dropped here.
			ctx, cancel := context.WithTimeout(context.Background(), every)
			if s.Purge(ctx) == nil {
				_ = s.Compact(ctx)
			}
			cancel()
		}
	}
}

// Ping implements Store.
func (s *SQLite) Ping(ctx context.Context) error {
	// Through the reader pool: a ping that queued behind writes on the one
	// writer connection would report a busy store as unready.
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: sqlite: ping: %w", err)
	}
	return nil
}

// Close stops the background purge and closes the database. It is safe to
// call more than once.
func (s *SQLite) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.stmts.Range(func(_, st any) bool { _ = st.(*sql.Stmt).Close(); return true })
		err = errors.Join(s.r.Close(), s.w.Close())
		if err != nil {
			err = fmt.Errorf("store: sqlite: close: %w", err)
		}
	})
	return err
}
