package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

	"github.com/mattn/go-sqlite3"
)

// snapshots holds named copies of the database, each in its own in-memory
// SQLite connection, for test mode. SQLite's backup API copies pages, not
// rows, so a copy of 10,000 users in or out takes milliseconds.
type snapshots struct {
	mu  sync.Mutex
	dbs map[string]*sqlite3.SQLiteConn
}

// Snapshot copies the whole database under name, replacing an older copy of
// that name. It runs on the writer connection, so it sees no write halfway.
func (db *DB) Snapshot(ctx context.Context, name string) error {
	mem, err := sqliteDriver.Open(":memory:")
	if err != nil {
		return err
	}
	memConn := mem.(*sqlite3.SQLiteConn)
	if err := db.withWriter(ctx, func(file *sqlite3.SQLiteConn) error { return backup(memConn, file) }); err != nil {
		memConn.Close()
		return err
	}
	db.snaps.mu.Lock()
	defer db.snaps.mu.Unlock()
	if old := db.snaps.dbs[name]; old != nil {
		old.Close()
	}
	if db.snaps.dbs == nil {
		db.snaps.dbs = map[string]*sqlite3.SQLiteConn{}
	}
	db.snaps.dbs[name] = memConn
	return nil
}

// Restore replaces the database's contents with the snapshot called name, in
// one write transaction: a reader sees the old contents or the new, never a
// mix. It reports false when there is no such snapshot.
func (db *DB) Restore(ctx context.Context, name string) (bool, error) {
	db.snaps.mu.Lock()
	defer db.snaps.mu.Unlock() // a Snapshot of the same name must not close the source meanwhile
	mem := db.snaps.dbs[name]
	if mem == nil {
		return false, nil
	}
	return true, db.withWriter(ctx, func(file *sqlite3.SQLiteConn) error {
		db.replaced.Add(1)
		return backup(file, mem)
	})
}

// Snapshots lists the snapshot names in order.
func (db *DB) Snapshots() []string {
	db.snaps.mu.Lock()
	defer db.snaps.mu.Unlock()
	names := make([]string, 0, len(db.snaps.dbs))
	for name := range db.snaps.dbs {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (s *snapshots) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, c := range s.dbs {
		c.Close()
		delete(s.dbs, name)
	}
}

// withWriter runs fn on the raw writer connection; holding it keeps every
// write transaction out meanwhile.
func (db *DB) withWriter(ctx context.Context, fn func(*sqlite3.SQLiteConn) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*sqlite3.SQLiteConn)) })
}

// backup copies every page of src's main database over dest's, in one step.
func backup(dest, src *sqlite3.SQLiteConn) error {
	b, err := dest.Backup("main", src, "main")
	if err != nil {
		return err
	}
	done, err := b.Step(-1)
	if ferr := b.Finish(); err == nil {
		err = ferr
	}
	if err == nil && !done {
		err = fmt.Errorf("backup stopped with %d pages left", b.Remaining())
	}
	return err
}

// keptOnReset names the tables whose rows a reset keeps for the account
// owner, and the condition that selects those rows. Every other table but
// the schema version and the server's secrets is emptied, so tables added by
// later migrations need no change here.
var keptOnReset = map[string]string{
	"users":      "owner",
	"identities": "user_id IN (SELECT id FROM users WHERE owner)",
	"api_tokens": "user_id IN (SELECT id FROM users WHERE owner)",
}

// Reset empties the directory but for the account owner and its
// credentials, in one transaction. deskgate's tables use plain INTEGER
// PRIMARY KEYs (sqlite_sequence is rewound for any table that does not), so
// new ids follow the largest remaining one: user 2 comes next.
func (db *DB) Reset(ctx context.Context) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		db.replaced.Add(1)
		if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		tables, err := userTables(ctx, tx)
		if err != nil {
			return err
		}
		var sequences int // tables with AUTOINCREMENT keep their high-water mark in sqlite_sequence
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").Scan(&sequences); err != nil {
			return err
		}
		for _, t := range tables {
			q := `DELETE FROM "` + t + `"`
			if keep, ok := keptOnReset[t]; ok {
				q += " WHERE NOT (" + keep + ")"
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("resetting %s: %w", t, err)
			}
			if sequences == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(rowid), 0) FROM "`+t+`") WHERE name = ?`, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// userTables lists the tables a reset empties: all but SQLite's own, the
// schema version and the secrets.
func userTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT IN ('schema_version', 'secrets')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
