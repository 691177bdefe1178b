package store_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/store"
	"github.com/mijnservices/koerier/internal/store/storetest"
)

func openSQLite(t testing.TB, path string, opts ...store.SQLiteOption) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(path, opts...)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "koerier.db"))
	})
}

func TestSQLiteShared(t *testing.T) {
	// Every handle a subtest opens shares that subtest's file.
	var mu sync.Mutex
	paths := map[string]string{}
	storetest.RunShared(t, func(t *testing.T) store.Store {
		mu.Lock()
		defer mu.Unlock()
		p, ok := paths[t.Name()]
		if !ok {
			p = filepath.Join(t.TempDir(), "koerier.db")
			paths[t.Name()] = p
		}
		return openSQLite(t, p)
	})
}

// clock is a settable time source for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// With an injected clock, expiry is exact: alive one nanosecond before the
// ttl has passed, gone at the ttl.
func TestSQLiteExpiryWithClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := openSQLite(t, filepath.Join(t.TempDir(), "koerier.db"), store.WithClock(clk.Now), store.WithPurgeInterval(0))

	claim := func(key string, ttl time.Duration) bool {
		t.Helper()
		first, err := s.Claim(ctx, key, ttl)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		return first
	}
	cached := func(key string) bool {
		t.Helper()
		_, ok, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return ok
	}

	if !claim("k", time.Minute) {
		t.Fatal("first Claim: first = false")
	}
	if err := s.Set(ctx, "c", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := s.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if claim("k", time.Minute) {
		t.Fatal("Claim 1ns before expiry: first = true, want false")
	}
	if !cached("c") {
		t.Fatal("Get 1ns before expiry: miss, want hit")
	}
	clk.Advance(time.Nanosecond)
	if !cached("forever") {
		t.Fatal("Get of an entry without expiry: miss, want hit")
	}
	if cached("c") {
		t.Fatal("Get at expiry: hit, want miss")
	}
	if !claim("k", time.Minute) {
		t.Fatal("Claim at expiry: first = false, want true")
	}
	if claim("k", time.Minute) {
		t.Fatal("Claim right after reclaiming: first = true, want false")
	}

	// A record without At gets the injected clock's time.
	if err := s.Append(ctx, store.Record{TraceID: "t", Stage: "ingest", Status: "accepted"}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	trail, err := s.Trail(ctx, "t")
	if err != nil || len(trail) != 1 || !trail[0].At.Equal(clk.Now()) {
		t.Fatalf("Trail = %+v, %v; want one record at %v", trail, err, clk.Now())
	}
}

func TestSQLitePurge(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "koerier.db")
	s := openSQLite(t, path, store.WithClock(clk.Now), store.WithPurgeInterval(0), store.WithLedgerRetention(2*time.Minute))
	// Retention counts from Append, not from At: a receipt with an old At
	// appended now is kept.
	old := store.Record{TraceID: "old", Stage: "ingest", Status: "accepted", At: clk.Now()}
	if err := s.Append(ctx, old); err != nil {
		t.Fatalf("Append: %v", err)
	}
	clk.Advance(time.Minute)
	recent := store.Record{TraceID: "recent", Stage: "deliver", Status: "delivered", At: clk.Now().Add(-time.Hour)}
	if err := s.Append(ctx, recent); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := s.Claim(ctx, k, time.Minute); err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if err := s.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	if _, err := s.Claim(ctx, "kept", time.Hour); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.Set(ctx, "kept", []byte("kept"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	clk.Advance(time.Minute + time.Nanosecond)
	if err := s.Purge(ctx); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	// Count rows with a second handle, since expired rows are invisible
	// through the store's own methods by design.
	tests := []struct {
		table string
		want  int
	}{{"claims", 1}, {"cache", 1}, {"ledger", 1}}
	for _, tt := range tests {
		if got := countRows(t, path, tt.table); got != tt.want {
			t.Errorf("rows in %s after Purge = %d, want %d", tt.table, got, tt.want)
		}
	}
	if got, err := s.Trail(ctx, "recent"); err != nil || len(got) != 1 {
		t.Errorf("Trail(recent) after Purge = %+v, %v; want the record kept", got, err)
	}
}

func TestOpenSQLiteRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b.db", "a#b.db"} {
		if s, err := store.OpenSQLite(p); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q): err = nil, want an error", p)
		}
	}
}

// TestSQLiteTwoProcesses claims one key from several processes sharing one
// file, the embedded default's promise when an operator runs a second
// koerier command (trail, deadletter) next to serve.
func TestSQLiteTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "koerier.db")
	// The file does not exist yet: the children also race on creating it,
	// switching it to WAL and creating the tables.

	const procs, perProc = 4, 25
	ready := filepath.Join(t.TempDir(), "go")
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*os.File, procs)
	for i := range cmds {
		out, err := os.Create(filepath.Join(t.TempDir(), "out"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = out
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteClaimHelperProcess$")
		cmd.Env = append(os.Environ(),
			"KOERIER_STORE_HELPER=1",
			"KOERIER_STORE_DB="+path,
			"KOERIER_STORE_READY="+ready,
			"KOERIER_STORE_N="+strconv.Itoa(perProc))
		cmd.Stdout = out
		cmd.Stderr = out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper: %v", err)
		}
		cmds[i] = cmd
	}
	// Release all children at once.
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			b, _ := os.ReadFile(outs[i].Name())
			t.Fatalf("helper %d: %v\n%s", i, err, b)
		}
	}
	firsts := 0
	for _, out := range outs {
		b, err := os.ReadFile(out.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line == "FIRST" {
				firsts++
			}
		}
	}
	if firsts != 1 {
		t.Fatalf("%d processes x %d goroutines claimed one key: %d got first, want exactly 1", procs, perProc, firsts)
	}
}

// TestSQLiteClaimHelperProcess is the child of TestSQLiteTwoProcesses; it
// does nothing when run normally.
func TestSQLiteClaimHelperProcess(t *testing.T) {
	if os.Getenv("KOERIER_STORE_HELPER") != "1" {
		t.Skip("helper process for TestSQLiteTwoProcesses")
	}
	s, err := store.OpenSQLite(os.Getenv("KOERIER_STORE_DB"), store.WithPurgeInterval(0))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv("KOERIER_STORE_N"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(os.Getenv("KOERIER_STORE_READY")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never told to start")
		}
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.Claim(context.Background(), "shared", time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("Claim: %v", err)
				return
			}
			if first {
				os.Stdout.WriteString("\nFIRST\n")
			}
		}()
	}
	wg.Wait()
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count rows in %s: %v", table, err)
	}
	return n
}
