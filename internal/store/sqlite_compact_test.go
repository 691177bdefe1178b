package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mijnservices/koerier/internal/store"
)

// TestSQLiteCompactShrinksAndForgets fills the cache and ledger with
// entries carrying personal data, lets them expire or deletes them, purges
// and compacts, and reads the raw files: the file must have shrunk and the
// data must be gone from file and WAL.
func TestSQLiteCompactShrinksAndForgets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "koerier.db")
	clk := &clock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := openSQLite(t, path, store.WithClock(clk.Now), store.WithPurgeInterval(0), store.WithLedgerRetention(24*time.Hour))
	const marker = "BSN-999993653-marker"
	value := []byte(strings.Repeat(marker+" jan@jandijk.example ", 32*1024/40)) // ~32 KiB
	const n = 300
	for i := range n {
		key := "klant-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
		ttl := time.Minute
		if i%2 == 0 {
			ttl = 0 // deleted below instead of expiring
		}
		if err := s.Set(ctx, key, value, ttl); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Append(ctx, store.Record{TraceID: "t", Stage: "route", Status: "decided", Detail: marker, At: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, "kept", []byte("nothing personal"), 0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour) // cache entries expired, ledger past retention
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	db, wal := rawFiles(t, path)
	before := len(db) + len(wal)
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	db, wal = rawFiles(t, path)
	after := len(db) + len(wal)
	t.Logf("koerier.db+wal after %d × %d KiB deleted or expired: %d KiB before compaction, %d KiB (db %d, wal %d) after",
		n, len(value)/1024, before/1024, after/1024, len(db)/1024, len(wal)/1024)
	if after > before/10 {
		t.Errorf("files are %d bytes after compaction, want under a tenth of %d", after, before)
	}
	for name, b := range map[string][]byte{"koerier.db": db, "koerier.db-wal": wal} {
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still contains the personal data of deleted entries", name)
		}
	}
	if v, ok, err := s.Get(ctx, "kept"); err != nil || !ok || string(v) != "nothing personal" {
		t.Fatalf("Get(kept) = %q, %v, %v after compaction", v, ok, err)
	}
}

func rawFiles(t *testing.T, path string) (db, wal []byte) {
	t.Helper()
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, err = os.ReadFile(path + "-wal")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return db, wal
}
