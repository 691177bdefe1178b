package bus

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
)

func newTestSQLite(t testing.TB, cfg SQLiteConfig) *SQLite {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "bus.db")
	}
	s, err := NewSQLite(cfg, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("open sqlite bus: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestSQLitePubSubConformance runs watermill's own Pub/Sub test suite. All
// publishers and subscribers share one engine, as the stages of one process
// do; the crash test below covers separate processes.
func TestSQLitePubSubConformance(t *testing.T) {
	s := newTestSQLite(t, SQLiteConfig{
		VisibilityTimeout: 10 * time.Second,
		NackDelay:         time.Millisecond,
		PollInterval:      50 * time.Millisecond,
	})
	constructor := func(t *testing.T) (message.Publisher, message.Subscriber) {
		return s.Publisher(), s.Subscriber()
	}
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:                      false,
		ExactlyOnceDelivery:                 false,
		GuaranteedOrder:                     true,
		GuaranteedOrderWithSingleSubscriber: true,
		Persistent:                          true,
	}, constructor, nil)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustClaim(t *testing.T, s *SQLite, topic string) *claimed {
	t.Helper()
	c, err := s.claim(topic)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return c
}

// TestSQLiteDueTimes drives claims with a fake clock, so delays, nack delays
// and visibility timeouts are checked without waiting for them.
func TestSQLiteDueTimes(t *testing.T) {
	const vt, nackDelay = 30 * time.Second, 5 * time.Second
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		// run gets a fresh engine with one message (uuid "m") published at
		// start with the given delay.
		delay time.Duration
		run   func(t *testing.T, s *SQLite, clock *fakeClock)
	}{
		{
			name: "undelayed message is due at once and gone after ack",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				c := mustClaim(t, s, "t")
				if c == nil || c.uuid != "m" || c.attempts != 1 {
					t.Fatalf("claim = %+v, want message m on its first attempt", c)
				}
				if err := s.ack(c); err != nil {
					t.Fatal(err)
				}
				clock.Advance(vt + time.Second)
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("acked message claimed again: %+v", c)
				}
			},
		},
		{
			name:  "delayed message waits for its due time",
			delay: 72 * time.Hour,
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				clock.Advance(72*time.Hour - time.Millisecond)
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("message claimed before its due time")
				}
				clock.Advance(time.Millisecond)
				if c := mustClaim(t, s, "t"); c == nil {
					t.Fatalf("message not claimed at its due time")
				}
			},
		},
		{
			name: "claimed message is invisible until the visibility timeout",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				first := mustClaim(t, s, "t")
				clock.Advance(vt - time.Millisecond)
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("claimed message visible before the visibility timeout")
				}
				clock.Advance(time.Millisecond)
				second := mustClaim(t, s, "t")
				if second == nil || second.attempts != 2 {
					t.Fatalf("claim after timeout = %+v, want attempt 2", second)
				}
				// The first consumer's late ack must not delete the message
				// the second consumer now holds.
				if err := s.ack(first); err != nil {
					t.Fatal(err)
				}
				if err := s.nack("t", second, 0); err != nil {
					t.Fatal(err)
				}
				if c := mustClaim(t, s, "t"); c == nil {
					t.Fatalf("stale ack deleted a message claimed by another consumer")
				}
			},
		},
		{
			name: "extended claim stays invisible past the visibility timeout",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				c := mustClaim(t, s, "t")
				clock.Advance(vt / 2)
				if err := s.extend(c); err != nil {
					t.Fatal(err)
				}
				clock.Advance(vt/2 + time.Second)
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("extended claim was taken over")
				}
			},
		},
		{
			name: "nacked message comes back after the nack delay",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				c := mustClaim(t, s, "t")
				if err := s.nack("t", c, nackDelay); err != nil {
					t.Fatal(err)
				}
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("nacked message claimed before the nack delay")
				}
				clock.Advance(nackDelay)
				if c := mustClaim(t, s, "t"); c == nil || c.attempts != 2 {
					t.Fatalf("claim after nack delay = %+v, want attempt 2", c)
				}
			},
		},
		{
			name: "message over MaxDeliveries moves to the dead-letter topic",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				for i := 0; i < 3; i++ {
					c := mustClaim(t, s, "t")
					if c == nil {
						t.Fatalf("delivery %d missing", i+1)
					}
					if err := s.nack("t", c, 0); err != nil {
						t.Fatal(err)
					}
				}
				if c := mustClaim(t, s, "t"); c != nil {
					t.Fatalf("message delivered a 4th time with MaxDeliveries 3")
				}
				dl := mustClaim(t, s, DefaultDeadLetterTopic)
				if dl == nil || dl.uuid != "m" {
					t.Fatalf("dead-letter claim = %+v, want message m", dl)
				}
				if got := dl.metadata.Get(MetaDeadLetterTopic); got != "t" {
					t.Fatalf("dead-letter source topic = %q, want t", got)
				}
			},
		},
		{
			name: "topics are separate",
			run: func(t *testing.T, s *SQLite, clock *fakeClock) {
				if c := mustClaim(t, s, "other"); c != nil {
					t.Fatalf("message of topic t claimed from topic other")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: start}
			s := newTestSQLite(t, SQLiteConfig{
				VisibilityTimeout: vt,
				NackDelay:         nackDelay,
				MaxDeliveries:     3,
				Now:               clock.Now,
			})
			msg := message.NewMessage("m", []byte("x"))
			if tt.delay > 0 {
				SetNotBefore(msg, start.Add(tt.delay))
			}
			if err := s.Publisher().Publish("t", msg); err != nil {
				t.Fatal(err)
			}
			tt.run(t, s, clock)
		})
	}
}

// TestSQLiteNackRedelivers checks the subscriber path: a nacked message is
// delivered again, to the same or another competing consumer.
func TestSQLiteNackRedelivers(t *testing.T) {
	s := newTestSQLite(t, SQLiteConfig{NackDelay: time.Millisecond, PollInterval: 10 * time.Millisecond})
	sub := s.Subscriber()
	defer sub.Close()
	msgs, err := sub.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publisher().Publish("t", message.NewMessage("m", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	first := receive(t, msgs)
	if got := first.Metadata.Get(MetaDeliveryAttempt); got != "1" {
		t.Fatalf("first delivery attempt = %q, want 1", got)
	}
	first.Nack()
	second := receive(t, msgs)
	if second.UUID != "m" || second.Metadata.Get(MetaDeliveryAttempt) != "2" {
		t.Fatalf("redelivery = %s attempt %s, want m attempt 2", second.UUID, second.Metadata.Get(MetaDeliveryAttempt))
	}
	second.Ack()
}

// TestSQLiteCompetingConsumers checks that every message goes to exactly one
// of several subscriptions when all of them ack.
func TestSQLiteCompetingConsumers(t *testing.T) {
	s := newTestSQLite(t, SQLiteConfig{PollInterval: 10 * time.Millisecond})
	sub := s.Subscriber()
	defer sub.Close()
	const n, consumers = 200, 4
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < consumers; i++ {
		msgs, err := sub.Subscribe(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range msgs {
				mu.Lock()
				seen[m.UUID]++
				if len(seen) == n {
					close(done)
				}
				mu.Unlock()
				m.Ack()
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := s.Publisher().Publish("t", message.NewMessage(fmt.Sprint(i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("received %d of %d messages", len(seen), n)
	}
	cancel()
	sub.Close()
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s delivered %d times, want once", id, k)
		}
	}
}

// TestSQLiteCloseHandsBackUnacked checks that closing a subscriber with a
// message in flight makes it available at once, not after the visibility
// timeout.
func TestSQLiteCloseHandsBackUnacked(t *testing.T) {
	s := newTestSQLite(t, SQLiteConfig{VisibilityTimeout: time.Hour, PollInterval: 10 * time.Millisecond})
	if err := s.Publisher().Publish("t", message.NewMessage("m", nil)); err != nil {
		t.Fatal(err)
	}
	sub1 := s.Subscriber()
	msgs1, err := sub1.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, msgs1)
	if err := sub1.Close(); err != nil {
		t.Fatal(err)
	}
	if m.Context().Err() == nil {
		t.Errorf("message context not cancelled when its subscriber closed")
	}
	sub2 := s.Subscriber()
	defer sub2.Close()
	msgs2, err := sub2.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if got := receive(t, msgs2); got.UUID != "m" {
		t.Fatalf("got %s, want m", got.UUID)
	}
}

func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30s")
	}
	return nil
}

const crashChildEnv = "KOERIER_BUS_CRASH_CHILD"

// TestSQLiteSurvivesCrash publishes and claims messages in a child process
// that is SIGKILLed without acking; a fresh engine on the same file must
// deliver every message.
func TestSQLiteSurvivesCrash(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "bus.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteSurvivesCrash$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child writes one line once it has published everything and holds
	// a claimed, unacked message.
	line := make([]byte, 64)
	n, err := stdout.Read(line)
	if err != nil || string(line[:n]) != "ready\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("child did not get ready: %q %v", line[:n], err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := newTestSQLite(t, SQLiteConfig{Path: path, VisibilityTimeout: 200 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	sub := s.Subscriber()
	defer sub.Close()
	msgs, err := sub.Subscribe(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < crashMessages {
		m := receive(t, msgs)
		seen[m.UUID] = true
		m.Ack()
	}
}

const crashMessages = 50

func crashChild(path string) {
	s, err := NewSQLite(SQLiteConfig{Path: path, VisibilityTimeout: 200 * time.Millisecond}, watermill.NopLogger{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; i < crashMessages; i++ {
		if err := s.Publisher().Publish("t", message.NewMessage(fmt.Sprint(i), []byte("x"))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	msgs, err := s.Subscriber().Subscribe(context.Background(), "t")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	<-msgs // claimed and never acked
	fmt.Print("ready\n")
	select {} // wait for SIGKILL
}

// TestSQLiteTwoEnginesShareAFile checks two engines on one file, as two
// processes (koerier serve and a koerier CLI command) would have: their
// writers contend for SQLite's lock, which busy_timeout must absorb, and
// their consumers compete for the same messages.
func TestSQLiteTwoEnginesShareAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	engines := []*SQLite{
		newTestSQLite(t, SQLiteConfig{Path: path, PollInterval: 10 * time.Millisecond}),
		newTestSQLite(t, SQLiteConfig{Path: path, PollInterval: 10 * time.Millisecond}),
	}
	const perEngine = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	all := make(chan struct{})
	for _, s := range engines {
		sub := s.Subscriber()
		defer sub.Close()
		for i := 0; i < 2; i++ {
			msgs, err := sub.Subscribe(ctx, "t")
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				for m := range msgs {
					mu.Lock()
					seen[m.UUID]++
					if len(seen) == 2*perEngine && seen[m.UUID] == 1 {
						close(all)
					}
					mu.Unlock()
					m.Ack()
				}
			}()
		}
	}
	var wg sync.WaitGroup
	for e, s := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perEngine; i++ {
				if err := s.Publisher().Publish("t", message.NewMessage(fmt.Sprintf("%d-%d", e, i), nil)); err != nil {
					t.Errorf("engine %d: publish: %v", e, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(60 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("received %d of %d messages", len(seen), 2*perEngine)
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times, want once", id, n)
		}
	}
}
