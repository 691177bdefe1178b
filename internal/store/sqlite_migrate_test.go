package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/mijnservices/koerier/internal/store"
)

// A store file made before the ledger had zaak_ref opens, keeps its records
// and gains the column.
func TestSQLiteMigratesZaakRef(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE ledger (
	seq INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL, event_id TEXT NOT NULL DEFAULT '',
	delivery_id TEXT NOT NULL DEFAULT '', stage TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',
	subject_ref TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL, appended_at INTEGER NOT NULL);
INSERT INTO ledger(trace_id, stage, status, at, appended_at) VALUES('old', 'ingest', 'accepted', 1, 1);`)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openSQLite(t, path)
	ctx := context.Background()
	if got, err := s.Trail(ctx, "old"); err != nil || len(got) != 1 {
		t.Fatalf("Trail(old) = %+v, %v", got, err)
	}
	if err := s.Append(ctx, store.Record{TraceID: "new", Stage: "enrich", ZaakRef: "z"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ByZaak(ctx, "z"); err != nil || len(got) != 1 || got[0].TraceID != "new" {
		t.Fatalf("ByZaak = %+v, %v", got, err)
	}
	// Opening again (the column exists now) is fine.
	openSQLite(t, path)
}
