package bus

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// fileBytes returns the database file and its WAL as they are on disk.
func fileBytes(t *testing.T, path string) (db, wal []byte) {
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

// TestSQLiteCompactShrinksAndForgets floods the bus with large messages
// carrying personal data, acks them, compacts, and reads the raw files: the
// file must have shrunk and the data must be gone from file and WAL.
func TestSQLiteCompactShrinksAndForgets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	s := newTestSQLite(t, SQLiteConfig{Path: path, CompactInterval: -1})
	const marker = "BSN-999993653-marker"
	const n = 200
	payload := []byte(strings.Repeat(marker+" jan@jandijk.example ", 64*1024/40)) // ~64 KiB
	topic := "koerier.compact"
	for i := range n {
		if err := s.Publisher().Publish(topic, message.NewMessage(watermill.NewUUID(), payload)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	// One message without the marker stays behind, as after a real flood.
	if err := s.Publisher().Publish(topic, message.NewMessage("kept", []byte("nothing personal"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := s.Subscriber().Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		m := receive(t, msgs)
		m.Ack()
	}
	if got, err := s.Pending(context.Background(), topic); err != nil || got != 1 {
		// The last ack is asynchronous: wait until only "kept" is left.
		eventually(t, "all flooded messages are acked", func() bool {
			got, err := s.Pending(context.Background(), topic)
			return err == nil && got == 1
		})
	}
	cancel()

	dbBefore, walBefore := fileBytes(t, path)
	before := len(dbBefore) + len(walBefore)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	dbAfter, walAfter := fileBytes(t, path)
	after := len(dbAfter) + len(walAfter)
	t.Logf("bus.db+wal after %d × %d KiB acked: %d KiB (db %d, wal %d) before compaction, %d KiB (db %d, wal %d) after",
		n, len(payload)/1024, before/1024, len(dbBefore)/1024, len(walBefore)/1024, after/1024, len(dbAfter)/1024, len(walAfter)/1024)
	if after > before/10 {
		t.Errorf("files are %d bytes after compaction, want under a tenth of %d", after, before)
	}
	for name, b := range map[string][]byte{"bus.db": dbAfter, "bus.db-wal": walAfter} {
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still contains the personal data of acked messages", name)
		}
	}
}

// TestSQLiteConvertsOldFileToIncrementalVacuum opens a file created without
// auto_vacuum, as older Koerier versions made them, and checks it is
// converted once.
func TestSQLiteConvertsOldFileToIncrementalVacuum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(sqliteSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO messages(topic, uuid, payload, published_at, available_at) VALUES('t', 'u', x'00', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	_ = old.Close()

	s := newTestSQLite(t, SQLiteConfig{Path: path, CompactInterval: -1})
	var mode int
	// The engine's only connection belongs to the writer: ask through it.
	if err := s.write(func(tx *wtx) error { return tx.QueryRow("PRAGMA auto_vacuum").Scan(&mode) }); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Fatalf("auto_vacuum = %d after opening an old file, want 2 (incremental)", mode)
	}
	if got, err := s.Pending(context.Background(), "t"); err != nil || got != 1 {
		t.Fatalf("pending = %d, %v after conversion, want the old message kept", got, err)
	}
}
