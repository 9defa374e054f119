package storage

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// migrated returns the path of a closed, up-to-date deskgate database and
// its bytes.
func migrated(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deskgate.db")
	db, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
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
	path, before := migrated(t)
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
// space again, the next start applies every migration. SQLite's
// max_page_count keeps the file from growing past its first pages (the
// schema and the schema_version table), which SQLite reports as it does a
// full disk (SQLITE_FULL).
func TestOpenDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deskgate.db")
	ctx := context.Background()
	_, err := open(ctx, path, nil, connector{init: "PRAGMA max_page_count = 3"})
	if err == nil || !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file and saying the disk is full", err)
	}
	t.Log(err)
	const state = "SELECT (SELECT count(*) FROM schema_version) || ' ' || group_concat(name) FROM sqlite_master"
	if got := query(t, path, state); got != "0 schema_version" {
		t.Errorf("after the failure, migrations recorded and objects %q, want none but schema_version", got)
	}
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	steps, err := migrationSteps()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := query(t, path, "SELECT max(version) FROM schema_version"), strconv.Itoa(steps[len(steps)-1].version); got != want {
		t.Errorf("after a start with space, schema version %s, want %s", got, want)
	}
}

// TestMigrationMergedLate opens a database that recorded a higher version
// but not the journal's migration, as one made before the journal was
// merged does: the migration is applied all the same.
func TestMigrationMergedLate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deskgate.db")
	db, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without the journal, nor migration 0018, which reshaped it.
	if _, err := db.write.Exec(`DROP VIEW request_journal; DROP TABLE request_log; DROP TABLE request_kinds; DROP TABLE request_clients;
		DELETE FROM schema_version WHERE version IN (5, 18)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(context.Background()); err == nil {
		t.Error("ready without migration 5")
	}
	db.Close()
	if db, err = Open(context.Background(), path, nil); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ready(context.Background()); err != nil {
		t.Error(err)
	}
	db.journalCount(t)
}
