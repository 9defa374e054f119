package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// seedBatch is how many users one seeding transaction inserts: large enough
// that commits and the per-batch statements do not count, small enough that
// a batch's rows stay a few megabytes.
const seedBatch = 50000

// SeedUsers appends n generated users for benchmarks and load tests, a few
// thousand times faster than creating them through the service: each table
// of a batch of seedBatch users is written by one statement, no password
// hashing, no seat check. User k (k = its position, so repeated seeding never
// collides) is named "User k <Surname>" (one of 1,000 surnames, spread over
// the ids) with the primary email userk@example.com and the external id Xk;
// every 20th is an agent in the group "Seeded agents", every 100th an admin,
// the rest end users; every 10th is tagged vip and belongs to one of 100
// organizations. Positions stay contiguous, as InsertUser keeps them.
func (db *DB) SeedUsers(ctx context.Context, n int, now time.Time) error {
	if n < 0 {
		return fmt.Errorf("cannot seed %d users", n)
	}
	ts := now.Unix()
	var groupID int64
	var orgIDs []int64
	if n >= 20 {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO groups (name, created_at, updated_at) VALUES ('Seeded agents', ?, ?)`, ts, ts)
			if err != nil {
				return err
			}
			groupID, err = res.LastInsertId()
			for i := 0; err == nil && i < seedOrganizations; i++ {
				name := fmt.Sprintf("Seeded Org %d", i) // kept when seeding again
				_, err = tx.ExecContext(ctx, `INSERT INTO organizations (name, created_at, updated_at) VALUES (?, ?, ?)
					ON CONFLICT DO NOTHING`, name, ts, ts)
				var id int64
				if err == nil {
					err = tx.QueryRowContext(ctx, "SELECT id FROM organizations WHERE name = ?", name).Scan(&id)
				}
				orgIDs = append(orgIDs, id)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := execAll(ctx, conn, seedingPragmas); err != nil {
		return err
	}
	defer execAll(context.WithoutCancel(ctx), conn, servingPragmas)
	for done := 0; done < n; done += seedBatch {
		err := runTx(ctx, conn, func(tx *sql.Tx) error {
			return seedBatchOf(ctx, tx, min(seedBatch, n-done), groupID, orgIDs, ts)
		})
		if err != nil {
			return fmt.Errorf("seeding users: %w", err)
		}
	}
	return nil
}

const seedOrganizations = 100

// seedingPragmas are the seeding connection's settings while it seeds: a
// cache that holds the index pages a batch touches (with the default 2 MB,
// pages were written and read back several times a batch, half the CPU in
// system calls), and no fsync, as a half-seeded database is thrown away
// anyway. servingPragmas put back what Open set.
var (
	seedingPragmas = []string{"PRAGMA cache_size = -262144", "PRAGMA synchronous = OFF"}
	servingPragmas = []string{"PRAGMA cache_size = -2000", "PRAGMA synchronous = NORMAL"}
)

func execAll(ctx context.Context, c querier, stmts []string) error {
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// SeedSurname is the surname of the seeded user at position pos: 1,000
// names of three syllables, each held by one user in 1,000.
func SeedSurname(pos int64) string {
	const syllables = "kalominerasutovibedo"
	k := (pos * 7919) % 1000 // a prime stride spreads each name over the ids
	b := make([]byte, 0, 6)
	for _, d := range []int64{k / 100, k / 10 % 10, k % 10} {
		b = append(b, syllables[2*d], syllables[2*d+1])
	}
	b[0] -= 'a' - 'A'
	return string(b)
}

// seededUser is one generated user as the seeding statements read it, a
// JSON array: [id, position, name, role, restriction, external_id, tags,
// organization id or 0, 1 when in the seeded group]. One statement per
// table reads a whole batch of them from json_each: a statement per row
// cost ten times as much.
type seededUser [9]any

// seedBatchOf inserts n users in tx, then their search index rows in bulk.
func seedBatchOf(ctx context.Context, tx *sql.Tx, n int, groupID int64, orgIDs []int64, ts int64) error {
	var next, nextID int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(position) + 1, 0), coalesce(max(id) + 1, 1) FROM users").Scan(&next, &nextID); err != nil {
		return err
	}
	batch := make([]seededUser, n)
	for i := range batch {
		batch[i] = seedUser(next+int64(i), nextID+int64(i), groupID, orgIDs)
	}
	rows, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	return withoutIndexTriggers(ctx, tx, func() error {
		for _, q := range seedStatements {
			if _, err := tx.ExecContext(ctx, q, rows, ts, groupID); err != nil {
				return constraint(err)
			}
		}
		return indexUsers(ctx, tx, batch)
	})
}

// seedUser generates the user at position pos with the given id.
func seedUser(pos, id, groupID int64, orgIDs []int64) seededUser {
	role := domain.EndUser
	switch {
	case pos%100 == 0:
		role = domain.Admin
	case pos%20 == 0:
		role = domain.Agent
	}
	tags, orgID := "[]", int64(0)
	if pos%10 == 0 {
		tags = `["vip"]`
		if len(orgIDs) > 0 {
			orgID = orgIDs[pos/10%int64(len(orgIDs))]
		}
	}
	inGroup := role.IsAgent() && groupID != 0
	return seededUser{id, pos, "User " + strconv.FormatInt(pos, 10) + " " + SeedSurname(pos), role,
		domain.DefaultRestriction(role), "X" + strconv.FormatInt(pos, 10), tags, orgID, inGroup}
}

// seedStatements write a batch (?1, seededUser rows) created at ?2, with
// the seeded group ?3. The email is userk@example.com for position k.
var seedStatements = []string{
	`INSERT INTO users (id, position, name, role, restriction, verified, locale, time_zone, external_id, tags, created_at, updated_at)
		SELECT value->>0, value->>1, value->>2, value->>3, value->>4, 1, 'en-US', '` + domain.DefaultZone.Name + `', value->>5, value->>6, ?2, ?2
		FROM json_each(?1)`,
	`INSERT INTO identities (user_id, type, value, verified, is_primary, created_at, updated_at)
		SELECT value->>0, 'email', 'user' || (value->>1) || '@example.com', 1, 1, ?2, ?2 FROM json_each(?1)`,
	`INSERT INTO group_memberships (user_id, group_id, is_default, created_at, updated_at)
		SELECT value->>0, ?3, 1, ?2, ?2 FROM json_each(?1) WHERE value->>8`,
	`INSERT INTO organization_memberships (user_id, organization_id, is_default, created_at, updated_at)
		SELECT value->>0, value->>7, 1, ?2, ?2 FROM json_each(?1) WHERE value->>7 <> 0`,
}

// indexTriggers are the triggers of migration 0012 that index a user or an
// identity as it is inserted, row by row: for a batch of seeded users they
// cost several times what indexUsers does for the whole batch.
var indexTriggers = []string{"users_words_insert", "identities_words_insert", "users_trigrams_insert"}

// withoutIndexTriggers runs fn with indexTriggers dropped, then creates them
// again from their own SQL, all in tx: no other connection ever sees the
// tables without them.
func withoutIndexTriggers(ctx context.Context, tx *sql.Tx, fn func() error) error {
	defs, err := queryAll(ctx, tx, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN (SELECT value FROM json_each(?))",
		[]any{idsJSON(indexTriggers)}, func(sc scanner) (def string, err error) { return def, sc.Scan(&def) })
	if err != nil {
		return err
	}
	if len(defs) != len(indexTriggers) {
		return fmt.Errorf("found %d of the %d index triggers", len(defs), len(indexTriggers))
	}
	for _, name := range indexTriggers {
		if _, err := tx.ExecContext(ctx, "DROP TRIGGER "+name); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		return err
	}
	return execAll(ctx, tx, defs)
}

// seedWordStatements write the full-text rows of the batch of users with
// ids ?1 to ?2.
var seedWordStatements = wordStatements("id BETWEEN ?1 AND ?2")

// indexUsers writes the search index rows of a batch of just inserted
// users as indexTriggers would have written them, which
// TestSeededIndexesMatchTriggers holds them to.
func indexUsers(ctx context.Context, tx *sql.Tx, batch []seededUser) error {
	first, last := batch[0][0], batch[len(batch)-1][0]
	for _, q := range seedWordStatements {
		if _, err := tx.ExecContext(ctx, q, first, last); err != nil {
			return err
		}
	}
	return indexTrigrams(ctx, tx, batch)
}

// indexTrigrams writes the batch's name trigrams one trigram at a time,
// its users in id order: each statement appends to one run of the index.
// SQL sorting the rows first cost four times as much.
func indexTrigrams(ctx context.Context, tx *sql.Tx, batch []seededUser) error {
	users := map[string][]int64{}
	var order []string
	for _, u := range batch {
		id := u[0].(int64)
		for _, t := range indexedTrigrams(u[2].(string)) {
			if users[t] == nil {
				order = append(order, t)
			}
			users[t] = append(users[t], id)
		}
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO user_name_trigrams (trigram, user_id) SELECT ?, value FROM json_each(?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, t := range order {
		if _, err := stmt.ExecContext(ctx, t, idsJSON(users[t])); err != nil {
			return err
		}
	}
	return nil
}

// maxTrigramStart is the last start of a trigram that migration 0012's
// name_trigram_starts holds.
const maxTrigramStart = 253

// indexedTrigrams is what users_trigrams_insert indexes of a name: every run
// of three characters, lowercased as SQLite's lower() does (ASCII letters
// only), one entry per run (repeats included: the insert ignores them).
// Seeded names hold no NUL, where SQLite's length() would stop.
func indexedTrigrams(name string) []string {
	runes := []rune(asciiLower(name))
	var out []string
	for n := 0; n+3 <= len(runes) && n < maxTrigramStart; n++ {
		out = append(out, string(runes[n:n+3]))
	}
	return out
}
