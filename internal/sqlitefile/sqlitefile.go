// Package sqlitefile keeps Koerier's SQLite files (the embedded bus and the
// embedded store) small and free of deleted personal data: free pages go
// back to the file system and the WAL is truncated, and secure_delete (set
// by each owner on its connections) zeroes deleted rows in the pages that
// are written back. It knows nothing of what the files hold.
package sqlitefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// EnsureIncrementalVacuum makes the file return free pages to the file
// system on PRAGMA incremental_vacuum. SQLite only takes auto_vacuum before
// the first table is created and the file is switched to WAL, so a file
// made by an older Koerier (or fresh in WAL mode) is converted once with a
// full VACUUM (which waits for other processes via the busy timeout).
func EnsureIncrementalVacuum(db *sql.DB) error {
	const incremental = 2
	var mode int
	if err := db.QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == incremental {
		return nil
	}
	if _, err := db.Exec("PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	// The pragma alone would do on a file without tables, but not once it
	// is in WAL mode; VACUUM applies it either way (at once when empty).
	if _, err := db.Exec("VACUUM"); err != nil {
		return fmt.Errorf("convert to incremental auto_vacuum: %w", err)
	}
	if err := db.QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode != incremental {
		return fmt.Errorf("auto_vacuum stayed %d after VACUUM, want %d (incremental)", mode, incremental)
	}
	return nil
}

// ErrWALBusy says a reader (another process, or a query of the owner's
// own) held an old snapshot, so the WAL was not truncated; the next
// Compact finishes the job.
var ErrWALBusy = errors.New("checkpoint: a reader held the WAL; it was not truncated")

// Compact frees every free page and truncates the WAL, on conn (a writer
// connection of the file).
func Compact(ctx context.Context, conn *sql.Conn) error {
	if err := incrementalVacuum(ctx, conn); err != nil {
		return err
	}
	var busy, logFrames, checkpointed int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrWALBusy
	}
	return nil
}

// incrementalVacuum frees every free page. SQLite frees one page per step
// of the statement, so it is read to the end: Exec would stop after one.
func incrementalVacuum(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA incremental_vacuum")
	if err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	return nil
}
