package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// CreatedAt is when the first migration ran: the day the database was made.
func (r reader) CreatedAt(ctx context.Context) (time.Time, error) {
	var at int64
	err := r.q.QueryRowContext(ctx, "SELECT applied_at FROM schema_version ORDER BY version LIMIT 1").Scan(&at)
	return time.Unix(at, 0).UTC(), err
}

// BackupTo copies the database with VACUUM INTO on a connection of its own:
// the copy is one read transaction, a consistent snapshot that in WAL mode
// holds up no writer, and the one write connection stays free for requests.
func (db *DB) BackupTo(ctx context.Context, path string) (int64, error) {
	return vacuumInto(ctx, db.dsn, path)
}

// Backup copies the deskgate database at from to a new file at to, also
// while a server is using it.
func Backup(ctx context.Context, from, to string) (int64, error) {
	if _, err := os.Stat(from); err != nil {
		return 0, err
	}
	return vacuumInto(ctx, "file:"+(&url.URL{Path: from}).EscapedPath()+"?mode=ro&"+commonParams, to)
}

func vacuumInto(ctx context.Context, dsn, to string) (int64, error) {
	if _, err := os.Stat(to); !errors.Is(err, fs.ErrNotExist) {
		return 0, &domain.Error{Kind: domain.Conflict, Msg: "A backup named " + filepath.Base(to) + " already exists; backups never overwrite a file", Err: err}
	}
	conn := sql.OpenDB(connector{dsn: dsn})
	defer conn.Close()
	var versioned int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").Scan(&versioned); err != nil {
		return 0, err
	}
	if versioned == 0 {
		return 0, errors.New("not a deskgate database")
	}
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		os.Remove(to) // a half-written copy is no backup
		return 0, fmt.Errorf("backup to %s: %w", to, err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Stats are the figures an operator watches.
type Stats struct {
	FileBytes, WALBytes int64 // sizes of the database file and its write-ahead log
	// Checkpoints of the WAL by outcome: done, busy (a reader held the WAL
	// and part of it waits for the next round) and failed.
	CheckpointsDone, CheckpointsBusy, CheckpointsFailed uint64
}

// Stats reads the file sizes and checkpoint counts.
func (db *DB) Stats() Stats {
	size := func(path string) int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	return Stats{
		FileBytes:         size(db.path),
		WALBytes:          size(db.path + "-wal"),
		CheckpointsDone:   db.checkpointsDone.Load(),
		CheckpointsBusy:   db.checkpointsBusy.Load(),
		CheckpointsFailed: db.checkpointsFailed.Load(),
	}
}

// Ready reports whether the database answers and holds every migration
// this deskgate knows.
func (db *DB) Ready(ctx context.Context) error {
	steps, err := migrationSteps()
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db.read)
	if err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	for _, m := range steps {
		if !applied[m.version] {
			return fmt.Errorf("migration %s not applied", m.name)
		}
	}
	return nil
}
