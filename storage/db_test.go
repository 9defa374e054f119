package storage

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// versionOne returns the path of a closed deskgate database at schema
// version 1, so that opening it must migrate, and its bytes.
func versionOne(t *testing.T) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deskgate.db")
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Undo migration 2 and shrink the file, so redoing it needs new pages.
	for _, q := range []string{"DROP INDEX users_active", "DELETE FROM schema_version WHERE version = 2", "VACUUM"} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// query answers q from path through a read-only connection, which neither
// migrates nor changes the file.
func query(t *testing.T, path, q string) string {
	t.Helper()
	db := sql.OpenDB(connector{dsn: "file:" + path + "?mode=ro"})
	defer db.Close()
	var v string
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOpenReadOnly: a database deskgate may not write stops start-up with a
// message that says so, and is left as it was. chmod makes the file and its
// directory read-only; root writes through chmod, so there the file is opened
// with SQLite's mode=ro, which refuses writes with the same SQLITE_READONLY.
func TestOpenReadOnly(t *testing.T) {
	path, before := versionOne(t)
	var with connector
	if os.Geteuid() == 0 {
		t.Log("running as root, where chmod does not stop writes: opening with mode=ro instead")
		with.dsn = "&mode=ro"
	} else {
		dir := filepath.Dir(path)
		if err := os.Chmod(path, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755); os.Chmod(path, 0o644) })
	}
	_, err := open(context.Background(), path, nil, with)
	if err == nil || !strings.Contains(err.Error(), "the database is read-only") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file and saying it is read-only", err)
	}
	t.Log(err)
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the read-only file was changed")
	}
}

// TestOpenDiskFull: a disk that fills up during a migration stops start-up
// with a message that says so, and the migration is rolled back whole; with
// space again, the next start applies it. SQLite's max_page_count keeps the
// file from growing, which SQLite reports as it does a full disk
// (SQLITE_FULL).
func TestOpenDiskFull(t *testing.T) {
	path, _ := versionOne(t)
	ctx := context.Background()
	full := connector{init: "PRAGMA max_page_count = " + query(t, path, "PRAGMA page_count")}
	_, err := open(ctx, path, nil, full)
	if err == nil || !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file and saying the disk is full", err)
	}
	t.Log(err)
	const state = "SELECT max(version) || ' ' || (SELECT count(*) FROM sqlite_master WHERE name = 'users_active') FROM schema_version"
	if got := query(t, path, state); got != "1 0" {
		t.Errorf("after the failure, schema version and index %q, want 1 and none", got)
	}
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got := query(t, path, state); got != "2 1" {
		t.Errorf("after a start with space, schema version and index %q, want 2 and the index", got)
	}
}
