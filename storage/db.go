// Package storage keeps deskgate's data in SQLite. All SQL lives here.
package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the SQLite store: one connection for writes, a pool for reads.
type DB struct {
	reader // over the read pool
	write  *sql.DB
	read   *sql.DB
	log    *slog.Logger
	snaps  snapshots
	path   string
	dsn    string // without the pool-specific parameters

	checkpointsDone, checkpointsBusy, checkpointsFailed atomic.Uint64
	// replaced counts the resets and snapshot restores, which replace every
	// table's rows at once: the journal's writer forgets the ids it
	// remembers when it changes. Each bumps it while it holds the writer.
	replaced atomic.Uint64

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	done      sync.WaitGroup
}

var _ domain.Store = (*DB)(nil)

// settings shared by both pools. synchronous=NORMAL in WAL mode: a process
// crash (even SIGKILL) loses no committed transaction; a power loss or kernel
// crash may roll back the last commits before a checkpoint, but never
// corrupts the file. FULL would cost about five times the commit rate.
const commonParams = "_foreign_keys=1&_busy_timeout=5000&_synchronous=NORMAL&_stmt_cache_size=64"

// journalSizeLimit caps the WAL file left after a checkpoint, so that a write
// burst does not leave a file of gigabytes that slows every read.
const journalSizeLimit = 64 << 20

// writeInit sets up the write connection. A savepoint's journal (every
// item of a bulk job runs in one, domain/jobs.go) stays in memory: on a
// temporary file, as by default, an item's journal outgrew SQLite's 64 KiB
// in memory and writing it out took a fifth of an import's CPU. Its
// temporary tables and sorts (a migration's index build) stay in memory
// too, as seeding's did already.
const writeInit = "PRAGMA temp_store = MEMORY;"

// readers is the size of the read pool. Reads are short and the CPU is the
// limit: on two cores, 4 and 8 readers served the same rates within noise,
// and each reader keeps its own page cache (2 MB).
//
// The readers do not memory-map the file (SQLite's mmap_size stays 0). A map
// of the whole file per connection saved nothing measurable over read(2) from
// the OS page cache (1,000,000 users, a 268 MB file: v2 show and a cursor page
// of 100 at the same rates within run-to-run noise), while every mapping
// counts the pages it touched in the process's RSS again: 1.3-1.5 GB peak RSS
// and 390 MB PSS with 1 GiB maps, against 140 MB for both without.
const readers = 4

// checkpointEvery is how often a full checkpoint runs after writes. SQLite's
// automatic checkpoints are passive: under steady reads they may never reach
// the end of the WAL, which then grows without bound.
const checkpointEvery = 5 * time.Second

// Open opens (creating if needed) and migrates the database at path. It
// refuses a file that is not a deskgate database, is damaged, or was written
// by a newer deskgate, and says so when the file cannot be written (read-only,
// disk full); a migration that fails leaves the file as it was before it.
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	return open(ctx, path, log, connector{})
}

// open is Open with extra URI parameters and SQL run on each new
// connection (in with's dsn and init), for tests that make SQLite refuse
// writes as a read-only file or a full disk does.
func open(ctx context.Context, path string, log *slog.Logger, with connector) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + commonParams + with.dsn
	// WAL is switched on only after check: it rewrites the file header, and
	// a refused file must be left exactly as it was.
	write := sql.OpenDB(connector{dsn: base + "&_txlock=immediate", init: writeInit + with.init})
	write.SetMaxOpenConns(1) // SQLite has one writer; queueing here beats SQLITE_BUSY
	write.SetConnMaxLifetime(0)
	db := &DB{write: write, log: log, path: path, dsn: base, stop: make(chan struct{})}
	err := db.check(ctx)
	if err == nil {
		_, err = db.write.ExecContext(ctx, "PRAGMA journal_mode = WAL")
	}
	if err == nil {
		err = db.migrate(ctx)
	}
	if err == nil {
		// An up-to-date file needs no write to open: a write that changes
		// nothing refuses a read-only one now, not at the first request
		// that writes. (BEGIN IMMEDIATE alone succeeds on a read-only file.)
		_, err = db.write.ExecContext(ctx, "DELETE FROM schema_version WHERE 0")
	}
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("%s: %w", path, explainOpen(err))
	}
	db.read = sql.OpenDB(connector{dsn: base + "&_query_only=1", init: with.init})
	db.read.SetMaxOpenConns(readers)
	db.read.SetMaxIdleConns(readers)
	db.reader = reader{db.read}
	db.done.Add(1)
	go db.checkpoints()
	return db, nil
}

// explainOpen tells the operator what to fix when SQLite cannot write the
// file: its own messages ("attempt to write a readonly database") do not say.
func explainOpen(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrReadonly:
		return fmt.Errorf("the database is read-only; deskgate must write the file and create its -wal and -shm files beside it, so make both the file and its directory writable (nothing was changed): %w", err)
	case sqlite3.ErrFull:
		return fmt.Errorf("the disk is full; free some space and start again (the failed migration was rolled back, nothing was changed): %w", err)
	case sqlite3.ErrCantOpen:
		return fmt.Errorf("the file cannot be opened or created; check that its directory exists and is writable: %w", err)
	}
	return err
}

// connector opens go-sqlite3 connections with the settings the DSN cannot
// carry, then runs init, if any, on each.
type connector struct{ dsn, init string }

var sqliteDriver = &sqlite3.SQLiteDriver{
	ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA journal_size_limit = "+strconv.Itoa(journalSizeLimit), nil)
		return err
	},
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := sqliteDriver.Open(c.dsn)
	if err != nil || c.init == "" {
		return conn, err
	}
	if _, err := conn.(*sqlite3.SQLiteConn).Exec(c.init, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return sqliteDriver }

// Close stops the checkpointer, checkpoints the WAL and closes both pools.
// Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		db.done.Wait()
		db.snaps.close()
		rerr := db.read.Close()
		_, cerr := db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		db.closeErr = errors.Join(rerr, cerr, db.write.Close())
	})
	return db.closeErr
}

func (db *DB) checkpoints() {
	defer db.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			var busy, logged, done int
			err := db.write.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done)
			switch {
			case err != nil:
				db.checkpointsFailed.Add(1)
				db.log.Warn("wal checkpoint", "err", err)
			case busy != 0:
				db.checkpointsBusy.Add(1) // a reader held the WAL: it stays for the next round
			default:
				db.checkpointsDone.Add(1)
			}
		}
	}
}

// check refuses files that are not SQLite, are damaged, or hold another
// application's tables. sql.Open never fails on a bad file; the first
// statement does, and only quick_check finds damaged pages.
func (db *DB) check(ctx context.Context) error {
	var result string
	if err := db.write.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&result); err != nil {
		return fmt.Errorf("not a usable SQLite database: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("the database is damaged (quick_check: %s); restore it from a backup", result)
	}
	var tables, versioned int
	err := db.write.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE name = 'schema_version')
		FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &versioned)
	if err != nil {
		return err
	}
	if tables > 0 && versioned == 0 {
		return errors.New("the file holds tables but is not a deskgate database; refusing to change it")
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, in version order. A migration's version is the number its
// file name starts with (0003_identities.sql is version 3). Each version is
// recorded on its own, so a migration merged after a higher-numbered one
// (numbers are handed out per branch) is still applied.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	steps, err := migrationSteps()
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db.write)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		if current, newest := slices.Max(slices.Collect(maps.Keys(applied))), steps[len(steps)-1].version; current > newest {
			return fmt.Errorf("the database has schema version %d, newer than this deskgate knows (%d); use a newer deskgate", current, newest)
		}
	}
	for _, m := range steps {
		if applied[m.version] {
			continue
		}
		text, err := migrations.ReadFile(m.name)
		if err != nil {
			return err
		}
		// The write transaction is BEGIN IMMEDIATE: checking again inside it
		// keeps a second process starting on the same file from applying a
		// step the first has just applied.
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			var done bool
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM schema_version WHERE version = ?)", m.version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(text)); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", m.version, time.Now().Unix())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// appliedVersions reads the migration versions the database records.
func appliedVersions(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT version FROM schema_version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

type migration struct {
	version int
	name    string
}

// migrationSteps lists the embedded migrations in version order.
func migrationSteps() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	steps := make([]migration, 0, len(names))
	for _, name := range names {
		prefix, _, _ := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: the file name must start with its version number", name)
		}
		steps = append(steps, migration{version: v, name: name})
	}
	slices.SortFunc(steps, func(a, b migration) int { return a.version - b.version })
	return steps, nil
}

func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return runTx(ctx, db.write, fn)
}

// runTx runs fn in a transaction of c, the write pool or one of its
// connections.
func runTx(ctx context.Context, c interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(tx *sql.Tx) error) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// InTx runs fn in one write transaction (BEGIN IMMEDIATE: a read-then-write
// such as the seat check cannot fail halfway on a lock).
func (db *DB) InTx(ctx context.Context, fn func(domain.Tx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		t := &txStore{reader: reader{tx}}
		if err := fn(t); err != nil {
			return err
		}
		return t.indexDeferred(ctx)
	})
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements domain.Reader over the read pool or a transaction.
type reader struct{ q querier }

// txStore implements domain.Tx.
type txStore struct {
	reader
	searchDeferred bool // DeferSearchIndex was called: indexDeferred must run before the commit
}

// notFound maps sql.ErrNoRows to the domain's NotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ErrNotFound
	}
	return err
}

// constraint maps a uniqueness violation that slipped past the domain's
// checks (two requests racing) to Conflict; other errors pass through.
func constraint(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		return &domain.Error{Kind: domain.Conflict, Msg: "A record with the same unique value already exists", Err: err}
	}
	return err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
