package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/mijnservices/koerier/internal/clock"
	"github.com/mijnservices/koerier/internal/sqlitefile"
)

// SQLiteConfig configures the embedded SQLite Pub/Sub. Zero values work.
type SQLiteConfig struct {
	// Path of the database file. It is created when missing.
	Path string
	// VisibilityTimeout is how long a claimed message stays invisible to other
	// consumers. A live subscriber extends the claim while its handler runs, so
	// this only bounds how long a crashed process delays redelivery.
	// Default 30s.
	VisibilityTimeout time.Duration
	// NackDelay is how long a nacked message waits before it is delivered
	// again; this is what turns a Nack into a delayed retry. Default 1s.
	NackDelay time.Duration
	// PollInterval bounds how long a subscriber takes to notice a message
	// published by another process or one whose delay ran out. Messages
	// published by this process wake subscribers at once. Default 500ms.
	PollInterval time.Duration
	// MaxDeliveries moves a message to DeadLetterTopic when it is about to be
	// delivered for the (MaxDeliveries+1)th time, so a message that crashes
	// its handler cannot loop for ever. 0 means no limit.
	MaxDeliveries int
	// DeadLetterTopic receives messages over MaxDeliveries. Default
	// "koerier.deadletter".
	DeadLetterTopic string
	// Now is the clock; tests inject one. Default clock.System.
	Now func() time.Time
	// CompactInterval is how often the file gives its free pages back to
	// the file system and the WAL is truncated (see Compact). Default one
	// minute; less than zero disables it (Compact can still be called).
	CompactInterval time.Duration
}

func (c *SQLiteConfig) setDefaults() {
	if c.VisibilityTimeout <= 0 {
		c.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if c.NackDelay <= 0 {
		c.NackDelay = DefaultNackDelay
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if c.Now == nil {
		c.Now = clock.System
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = DefaultCompactInterval
	}
}

// DefaultCompactInterval is how often the SQLite bus compacts its file.
const DefaultCompactInterval = time.Minute

// DefaultDeadLetterTopic is where messages go that no handler could process.
// It equals event.TopicDeadLetter; the bus does not import event to stay a
// leaf package.
const DefaultDeadLetterTopic = "koerier.deadletter"

// Metadata keys the SQLite subscriber adds to every message it delivers.
const (
	// MetaDeliveryAttempt counts deliveries of the message, 1 on the first.
	MetaDeliveryAttempt = "koerier_delivery_attempt"
	// MetaDeadLetterReason says why the bus itself dead-lettered a message.
	MetaDeadLetterReason = "koerier_dead_letter_reason"
	// MetaDeadLetterTopic names the topic a dead-lettered message came from.
	MetaDeadLetterTopic = "koerier_dead_letter_topic"
)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS messages (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	topic         TEXT    NOT NULL,
	uuid          TEXT    NOT NULL,
	payload       BLOB,
	metadata      TEXT    NOT NULL DEFAULT '{}',
	published_at  INTEGER NOT NULL,           -- unix ms
	available_at  INTEGER NOT NULL,           -- unix ms: not delivered before
	claimed_until INTEGER NOT NULL DEFAULT 0, -- unix ms: lease of the consumer holding it
	attempts      INTEGER NOT NULL DEFAULT 0  -- deliveries so far; also the claim's fencing token
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (topic, available_at, id);
`

// SQLite is the embedded Pub/Sub engine: one database file, one writer
// goroutine that owns the only writing connection, and any number of
// publishers and subscribers on top of it.
//
// Every write (publish, claim, ack, nack) goes through the writer goroutine,
// which commits whatever is queued in one transaction. That keeps SQLite
// from ever answering SQLITE_BUSY inside the process and lets many
// concurrent publishers share one fsync.
type SQLite struct {
	cfg    SQLiteConfig
	db     *sql.DB
	conn   *sql.Conn // pinned, so the synchronous mode we track is the one in force
	logger watermill.LoggerAdapter

	ops        chan *writeOp
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	syncFull bool                 // the connection's current synchronous mode; writer only
	stmts    map[string]*sql.Stmt // prepared on conn; writer only

	wakeMu sync.Mutex
	wake   map[string]chan struct{}

	compactDone chan struct{}
}

type writeOp struct {
	fn func(tx *wtx) error
	// durable ops (publishes) are fsynced before they are acknowledged;
	// the rest (claims, acks, nacks) may be lost in a power cut, which only
	// causes a redelivery.
	durable bool
	// outside, when set, runs instead of fn outside any transaction (for
	// pragmas SQLite refuses inside one), alone, after the writes queued
	// before it are committed.
	outside func(conn *sql.Conn) error
	done    chan error
}

// ErrClosed is returned by publishers, subscribers and the engine after Close.
var ErrClosed = errors.New("bus: closed")

// maxBatch bounds how many queued writes share one transaction, so a burst
// of publishes cannot hold the write lock for long.
const maxBatch = 256

// NewSQLite opens (creating when needed) the database at cfg.Path.
func NewSQLite(cfg SQLiteConfig, logger watermill.LoggerAdapter) (*SQLite, error) {
	cfg.setDefaults()
	if cfg.Path == "" {
		return nil, errors.New("bus: sqlite: no database path configured")
	}
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("bus: sqlite: create data directory: %w", err)
	}
	q := url.Values{}
	// WAL lets readers run beside the writer; busy_timeout covers other
	// processes (the CLI, a crashed predecessor's recovery). The writer
	// switches synchronous between FULL (publishes: an accepted notification
	// must survive a power cut) and NORMAL (claims and acks: losing one only
	// redelivers); WAL keeps the file consistent either way.
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(FULL)")
	// Messages carry personal data (BSNs, addresses): overwrite what a
	// delete frees instead of leaving it in free pages.
	q.Add("_pragma", "secure_delete(ON)")
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("bus: sqlite: open %s: %w", cfg.Path, err)
	}
	// One connection: the writer goroutine's. database/sql would otherwise
	// open more and let them fight over SQLite's single write lock.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := sqlitefile.EnsureIncrementalVacuum(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bus: sqlite: %s: %w", cfg.Path, err)
	}
	if _, err := db.Exec(sqliteSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bus: sqlite: create schema in %s: %w", cfg.Path, err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bus: sqlite: connect to %s: %w", cfg.Path, err)
	}
	s := &SQLite{
		cfg:         cfg,
		db:          db,
		conn:        conn,
		syncFull:    true,
		stmts:       map[string]*sql.Stmt{},
		logger:      logger,
		ops:         make(chan *writeOp, maxBatch),
		closing:     make(chan struct{}),
		writerDone:  make(chan struct{}),
		wake:        map[string]chan struct{}{},
		compactDone: make(chan struct{}),
	}
	go s.writer()
	go s.compactLoop()
	return s, nil
}

// Compact gives the file's free pages back to the file system and
// truncates the WAL, so the file shrinks after a flood and the bytes of
// acked messages are gone from disk (secure_delete zeroes them in the pages
// the checkpoint writes back). It runs in the writer goroutine between
// batches.
func (s *SQLite) Compact() error {
	return s.queue(&writeOp{outside: compactConn, done: make(chan error, 1)})
}

func compactConn(conn *sql.Conn) error {
	if err := sqlitefile.Compact(context.Background(), conn); err != nil {
		return fmt.Errorf("bus: sqlite: %w", err)
	}
	return nil
}

func (s *SQLite) compactLoop() {
	defer close(s.compactDone)
	if s.cfg.CompactInterval < 0 {
		return
	}
	t := time.NewTicker(s.cfg.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			if err := s.Compact(); err != nil && !errors.Is(err, ErrClosed) {
				s.logger.Error("Cannot compact the bus database; retrying at the next interval", err, nil)
			}
		}
	}
}

func (s *SQLite) writer() {
	defer close(s.writerDone)
	var carry *writeOp // an outside op that ended the previous batch
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.ops:
			case <-s.closing:
				return
			}
		}
		if first.outside != nil {
			first.done <- first.outside(s.conn)
			continue
		}
		batch := []*writeOp{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-s.ops:
				if op.outside != nil {
					carry = op
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction. Each op runs inside its own
// savepoint, so one failing op does not undo the others; a failing commit
// fails them all.
func (s *SQLite) commit(batch []*writeOp) {
	errs := make([]error, len(batch))
	durable := false
	for _, op := range batch {
		durable = durable || op.durable
	}
	if durable != s.syncFull {
		mode := "NORMAL"
		if durable {
			mode = "FULL"
		}
		if _, err := s.conn.ExecContext(context.Background(), "PRAGMA synchronous = "+mode); err != nil {
			for _, op := range batch {
				op.done <- fmt.Errorf("bus: sqlite: set synchronous %s: %w", mode, err)
			}
			return
		}
		s.syncFull = durable
	}
	tx := &wtx{s: s}
	if _, err := tx.Exec("BEGIN IMMEDIATE"); err != nil {
		for _, op := range batch {
			op.done <- fmt.Errorf("bus: sqlite: begin: %w", err)
		}
		return
	}
	for i, op := range batch {
		if _, err := tx.Exec("SAVEPOINT op"); err != nil {
			errs[i] = err
			continue
		}
		if err := op.fn(tx); err != nil {
			errs[i] = err
			if _, rbErr := tx.Exec("ROLLBACK TO op"); rbErr != nil {
				errs[i] = errors.Join(err, rbErr)
			}
		}
		if _, err := tx.Exec("RELEASE op"); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	if _, err := tx.Exec("COMMIT"); err != nil {
		_, _ = tx.Exec("ROLLBACK")
		for _, op := range batch {
			op.done <- fmt.Errorf("bus: sqlite: commit: %w", err)
		}
		return
	}
	for i, op := range batch {
		op.done <- errs[i]
	}
}

// wtx is the transaction the writer goroutine has open on its connection.
// Statements are prepared once and reused: parsing SQL costs more than
// running these one-row statements.
type wtx struct{ s *SQLite }

func (t *wtx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.s.stmts[query]; ok {
		return st, nil
	}
	st, err := t.s.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	t.s.stmts[query] = st
	return st, nil
}

func (t *wtx) Exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

// QueryRow returns the first row; unlike sql.Row, the caller scans it with
// the error already folded in.
func (t *wtx) QueryRow(query string, args ...any) rowScanner {
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(context.Background(), args...)
}

type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// write runs fn in the writer goroutine and waits for its commit. It does
// not take a context on purpose: abandoning a claim half-way would leave the
// message invisible until its lease ran out.
func (s *SQLite) write(fn func(tx *wtx) error) error {
	return s.queue(&writeOp{fn: fn, done: make(chan error, 1)})
}

func (s *SQLite) writeDurable(fn func(tx *wtx) error) error {
	return s.queue(&writeOp{fn: fn, durable: true, done: make(chan error, 1)})
}

func (s *SQLite) queue(op *writeOp) error {
	select {
	case s.ops <- op:
	case <-s.closing:
		return ErrClosed
	}
	select {
	case err := <-op.done:
		return err
	case <-s.writerDone:
		// The writer may have taken the op just before it stopped.
		select {
		case err := <-op.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// Ping checks that the writer goroutine and the database answer.
func (s *SQLite) Ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		done <- s.write(func(tx *wtx) error {
			var one int
			return tx.QueryRow("SELECT 1").Scan(&one)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("bus: sqlite: ping: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bus: sqlite: ping: %w", ctx.Err())
	}
}

// Close stops the writer and closes the database. Publishers and
// subscribers made from this engine must be closed first: a subscriber
// closed afterwards cannot hand its claims back, and they wait for
// VisibilityTimeout instead.
func (s *SQLite) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.compactDone
		<-s.writerDone
		for _, st := range s.stmts {
			_ = st.Close()
		}
		_ = s.conn.Close()
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("bus: sqlite: close: %w", cerr)
		}
	})
	return err
}

// waiter returns a channel that is closed at the next local publish (or
// release) on topic. Take it before looking for work, so a publish between
// the look and the wait is not missed.
func (s *SQLite) waiter(topic string) <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	ch, ok := s.wake[topic]
	if !ok {
		ch = make(chan struct{})
		s.wake[topic] = ch
	}
	return ch
}

func (s *SQLite) notify(topic string) {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if ch, ok := s.wake[topic]; ok {
		close(ch)
		delete(s.wake, topic)
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// publish stores msgs on topic in one savepoint: all or none.
func (s *SQLite) publish(topic string, msgs []*message.Message) error {
	now := s.cfg.Now()
	type row struct {
		uuid      string
		payload   []byte
		metadata  string
		available int64
	}
	rows := make([]row, 0, len(msgs))
	for _, m := range msgs {
		meta, err := json.Marshal(m.Metadata)
		if err != nil {
			return fmt.Errorf("bus: sqlite: encode metadata of message %s: %w", m.UUID, err)
		}
		avail := now
		if nb, ok := NotBefore(m); ok && nb.After(avail) {
			avail = nb
		}
		rows = append(rows, row{m.UUID, m.Payload, string(meta), ms(avail)})
	}
	err := s.writeDurable(func(tx *wtx) error {
		for _, r := range rows {
			if _, err := tx.Exec(
				`INSERT INTO messages (topic, uuid, payload, metadata, published_at, available_at) VALUES (?, ?, ?, ?, ?, ?)`,
				topic, r.uuid, r.payload, r.metadata, ms(now), r.available,
			); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bus: sqlite: publish to %s: %w", topic, err)
	}
	s.notify(topic)
	return nil
}

// claimed is a message a subscriber holds; attempts fences ack and nack
// against a claim that expired and was taken over by another consumer.
type claimed struct {
	id       int64
	uuid     string
	payload  []byte
	metadata message.Metadata
	attempts int
}

// claim takes the oldest due message of topic, or returns nil when none is
// due. Messages over MaxDeliveries are moved to the dead-letter topic on the
// way.
func (s *SQLite) claim(topic string) (*claimed, error) {
	return s.ackAndClaim(nil, topic)
}

// ackAndClaim acks a message and claims the next one in one write, which
// halves the commits of a busy consumer.
func (s *SQLite) ackAndClaim(acked *claimed, topic string) (*claimed, error) {
	var c *claimed
	var deadLettered bool
	err := s.write(func(tx *wtx) error {
		c, deadLettered = nil, false
		if acked != nil {
			if _, err := tx.Exec(`DELETE FROM messages WHERE id = ? AND attempts = ?`, acked.id, acked.attempts); err != nil {
				return fmt.Errorf("ack message %s: %w", acked.uuid, err)
			}
		}
		for {
			now := s.cfg.Now()
			var (
				got  claimed
				meta string
			)
			err := tx.QueryRow(`
UPDATE messages
SET claimed_until = ?, attempts = attempts + 1
WHERE id = (
	SELECT id FROM messages
	WHERE topic = ? AND available_at <= ? AND claimed_until <= ?
	ORDER BY available_at, id
	LIMIT 1
)
RETURNING id, uuid, payload, metadata, attempts`,
				ms(now.Add(s.cfg.VisibilityTimeout)), topic, ms(now), ms(now),
			).Scan(&got.id, &got.uuid, &got.payload, &meta, &got.attempts)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(meta), &got.metadata); err != nil {
				// Deliver it anyway: failing here would stall the topic
				// behind one damaged row.
				s.logger.Error("Message metadata is damaged; delivering it without", err,
					watermill.LogFields{"topic": topic, "message_uuid": got.uuid})
				got.metadata = nil
			}
			if got.metadata == nil {
				got.metadata = message.Metadata{}
			}
			if s.cfg.MaxDeliveries > 0 && got.attempts > s.cfg.MaxDeliveries && topic != s.cfg.DeadLetterTopic {
				if err := s.deadLetter(tx, got, topic, now); err != nil {
					return err
				}
				deadLettered = true
				continue
			}
			c = &got
			return nil
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bus: sqlite: claim from %s: %w", topic, err)
	}
	if deadLettered {
		s.notify(s.cfg.DeadLetterTopic)
	}
	return c, nil
}

func (s *SQLite) deadLetter(tx *wtx, c claimed, topic string, now time.Time) error {
	c.metadata.Set(MetaDeadLetterTopic, topic)
	c.metadata.Set(MetaDeadLetterReason, fmt.Sprintf("delivered %d times without an ack", c.attempts-1))
	meta, err := json.Marshal(c.metadata)
	if err != nil {
		return err
	}
	_, err = tx.Exec(
		`UPDATE messages SET topic = ?, metadata = ?, available_at = ?, claimed_until = 0, attempts = 0 WHERE id = ?`,
		s.cfg.DeadLetterTopic, string(meta), ms(now), c.id,
	)
	return err
}

func (s *SQLite) ack(c *claimed) error {
	err := s.write(func(tx *wtx) error {
		_, err := tx.Exec(`DELETE FROM messages WHERE id = ? AND attempts = ?`, c.id, c.attempts)
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: sqlite: ack message %s: %w", c.uuid, err)
	}
	return nil
}

// nack makes the message due again after delay. A zero delay keeps its
// place in the queue (used when a closing subscriber hands a message back).
func (s *SQLite) nack(topic string, c *claimed, delay time.Duration) error {
	err := s.write(func(tx *wtx) error {
		if delay <= 0 {
			_, err := tx.Exec(`UPDATE messages SET claimed_until = 0 WHERE id = ? AND attempts = ?`, c.id, c.attempts)
			return err
		}
		_, err := tx.Exec(
			`UPDATE messages SET available_at = ?, claimed_until = 0 WHERE id = ? AND attempts = ?`,
			ms(s.cfg.Now().Add(delay)), c.id, c.attempts,
		)
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: sqlite: nack message %s: %w", c.uuid, err)
	}
	s.notify(topic)
	return nil
}

func (s *SQLite) extend(c *claimed) error {
	err := s.write(func(tx *wtx) error {
		_, err := tx.Exec(
			`UPDATE messages SET claimed_until = ? WHERE id = ? AND attempts = ?`,
			ms(s.cfg.Now().Add(s.cfg.VisibilityTimeout)), c.id, c.attempts,
		)
		return err
	})
	if err != nil {
		return fmt.Errorf("bus: sqlite: extend claim of message %s: %w", c.uuid, err)
	}
	return nil
}

// Pending counts the messages of topic that are not yet acked, in flight or
// not; the router exports it as queue depth.
func (s *SQLite) Pending(ctx context.Context, topic string) (int, error) {
	var n int
	done := make(chan error, 1)
	go func() {
		done <- s.write(func(tx *wtx) error {
			return tx.QueryRow(`SELECT count(*) FROM messages WHERE topic = ?`, topic).Scan(&n)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			return 0, fmt.Errorf("bus: sqlite: count pending on %s: %w", topic, err)
		}
		return n, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("bus: sqlite: count pending on %s: %w", topic, ctx.Err())
	}
}

// Publisher returns a publisher on this engine. Closing it leaves the
// engine open.
func (s *SQLite) Publisher() message.Publisher { return &sqlitePublisher{s: s} }

type sqlitePublisher struct {
	s      *SQLite
	mu     sync.RWMutex
	closed bool
}

func (p *sqlitePublisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return fmt.Errorf("bus: sqlite: publish to %s: %w", topic, ErrClosed)
	}
	return p.s.publish(topic, msgs)
}

func (p *sqlitePublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Subscriber returns a subscriber on this engine. Every Subscribe call is one
// competing consumer: it holds at most one message at a time and takes the
// next only after Ack or Nack, so N Subscribe calls on a topic make a worker
// pool of N. Closing it hands unacked messages back and leaves the engine
// open.
func (s *SQLite) Subscriber() message.Subscriber {
	return &sqliteSubscriber{s: s, closing: make(chan struct{})}
}

type sqliteSubscriber struct {
	s       *SQLite
	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

func (sub *sqliteSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return nil, fmt.Errorf("bus: sqlite: subscribe to %s: %w", topic, ErrClosed)
	}
	out := make(chan *message.Message)
	sub.wg.Add(1)
	go func() {
		defer sub.wg.Done()
		defer close(out)
		sub.consume(ctx, topic, out)
	}()
	return out, nil
}

// SubscribeInitialize exists so callers can treat both backends alike; the
// SQLite table needs no per-topic set-up.
func (sub *sqliteSubscriber) SubscribeInitialize(string) error { return nil }

func (sub *sqliteSubscriber) Close() error {
	sub.mu.Lock()
	if !sub.closed {
		sub.closed = true
		close(sub.closing)
	}
	sub.mu.Unlock()
	sub.wg.Wait()
	return nil
}

func (sub *sqliteSubscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	s := sub.s
	fields := watermill.LogFields{"topic": topic}
	poll := time.NewTimer(s.cfg.PollInterval)
	defer poll.Stop()
	var next *claimed // claimed together with the previous ack
	for {
		select {
		case <-sub.closing:
			sub.release(topic, next)
			return
		case <-ctx.Done():
			sub.release(topic, next)
			return
		default:
		}
		c := next
		next = nil
		if c == nil {
			wake := s.waiter(topic)
			var err error
			c, err = s.claim(topic)
			if err != nil {
				if errors.Is(err, ErrClosed) {
					return
				}
				s.logger.Error("Cannot claim a message, retrying after the poll interval", err, fields)
			}
			if c == nil {
				poll.Reset(s.cfg.PollInterval)
				select {
				case <-wake:
				case <-poll.C:
				case <-sub.closing:
					return
				case <-ctx.Done():
					return
				}
				continue
			}
		}
		var ok bool
		if next, ok = sub.deliver(ctx, topic, c, out); !ok {
			return
		}
	}
}

// release hands an unacked message back at its place in the queue.
func (sub *sqliteSubscriber) release(topic string, c *claimed) {
	if c == nil {
		return
	}
	if err := sub.s.nack(topic, c, 0); err != nil && !errors.Is(err, ErrClosed) {
		sub.s.logger.Error("Cannot hand back an unacked message; it is redelivered after the visibility timeout", err,
			watermill.LogFields{"topic": topic, "message_uuid": c.uuid})
	}
}

// deliver hands one claimed message to the consumer and settles it. After
// an ack it returns the next message, claimed in the same write, if one was
// due. ok is false when the subscription ends.
func (sub *sqliteSubscriber) deliver(ctx context.Context, topic string, c *claimed, out chan<- *message.Message) (next *claimed, ok bool) {
	s := sub.s
	fields := watermill.LogFields{"topic": topic, "message_uuid": c.uuid}
	msg := message.NewMessage(c.uuid, c.payload)
	msg.Metadata = c.metadata
	msg.Metadata.Set(MetaDeliveryAttempt, fmt.Sprint(c.attempts))
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)

	select {
	case out <- msg:
	case <-sub.closing:
		sub.release(topic, c)
		return nil, false
	case <-ctx.Done():
		sub.release(topic, c)
		return nil, false
	}

	// Extend the lease well before it runs out, so a slow handler does not
	// see its message delivered twice.
	lease := time.NewTicker(max(s.cfg.VisibilityTimeout/3, time.Millisecond))
	defer lease.Stop()
	for {
		select {
		case <-msg.Acked():
			next, err := s.ackAndClaim(c, topic)
			if err != nil {
				s.logger.Error("Cannot ack a message; it will be delivered again", err, fields)
			}
			return next, true
		case <-msg.Nacked():
			if err := s.nack(topic, c, s.cfg.NackDelay); err != nil {
				s.logger.Error("Cannot nack a message; it is redelivered after the visibility timeout", err, fields)
			}
			return nil, true
		case <-lease.C:
			if err := s.extend(c); err != nil {
				s.logger.Error("Cannot extend the claim of a message", err, fields)
			}
		case <-sub.closing:
			s.settleOrRelease(sub, topic, c, msg, fields)
			return nil, false
		case <-ctx.Done():
			s.settleOrRelease(sub, topic, c, msg, fields)
			return nil, false
		}
	}
}

// settleOrRelease runs when the subscription ends while a message is out.
// Go's select picks at random among ready cases, so an Ack that raced the
// shutdown must still count: otherwise the message is handed back and
// processed twice.
func (s *SQLite) settleOrRelease(sub *sqliteSubscriber, topic string, c *claimed, msg *message.Message, fields watermill.LogFields) {
	select {
	case <-msg.Acked():
		if err := s.ack(c); err != nil {
			s.logger.Error("Cannot ack a message; it will be delivered again", err, fields)
		}
	case <-msg.Nacked():
		if err := s.nack(topic, c, s.cfg.NackDelay); err != nil {
			s.logger.Error("Cannot nack a message; it is redelivered after the visibility timeout", err, fields)
		}
	default:
		sub.release(topic, c)
	}
}
