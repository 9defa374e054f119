package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// seedBatch is how many users one seeding transaction inserts: large enough
// that commits do not dominate, small enough that the WAL stays modest.
const seedBatch = 5000

// SeedUsers appends n generated users for benchmarks and load tests, a few
// thousand times faster than creating them through the service: prepared
// statements in transactions of seedBatch users, no password hashing, no
// seat check. User k (k = its position, so repeated seeding never collides)
// is named "User k <Surname>" (one of 1,000 surnames, spread over the ids)
// with the primary email userk@example.com and the external id Xk; every
// 20th is an agent in the group "Seeded agents", every 100th an admin, the
// rest end users; every 10th is tagged vip and belongs to one of 100
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
	for done := 0; done < n; done += seedBatch {
		if err := db.seedBatch(ctx, min(seedBatch, n-done), groupID, orgIDs, ts); err != nil {
			return fmt.Errorf("seeding users: %w", err)
		}
	}
	return nil
}

const seedOrganizations = 100

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

func (db *DB) seedBatch(ctx context.Context, n int, groupID int64, orgIDs []int64, ts int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var next, nextID int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(position) + 1, 0), coalesce(max(id) + 1, 1) FROM users").Scan(&next, &nextID); err != nil {
			return err
		}
		// The email identity goes in before its user, so that the user's
		// full-text row is written once, with the email (migration 0012).
		if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		users, err := tx.PrepareContext(ctx, `INSERT INTO users (id, position, name, role, restriction, verified,
			locale, time_zone, external_id, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 'en-US', ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer users.Close()
		emails, err := tx.PrepareContext(ctx, `INSERT INTO identities (user_id, type, value, verified, is_primary, created_at, updated_at)
			VALUES (?, 'email', ?, 1, 1, ?, ?)`)
		if err != nil {
			return err
		}
		defer emails.Close()
		groups, err := tx.PrepareContext(ctx, `INSERT INTO group_memberships (user_id, group_id, is_default, created_at, updated_at)
			VALUES (?, ?, 1, ?, ?)`)
		if err != nil {
			return err
		}
		defer groups.Close()
		orgs, err := tx.PrepareContext(ctx, `INSERT INTO organization_memberships (user_id, organization_id, is_default, created_at, updated_at)
			VALUES (?, ?, 1, ?, ?)`)
		if err != nil {
			return err
		}
		defer orgs.Close()
		for i := range int64(n) {
			pos, id := next+i, nextID+i
			role := domain.EndUser
			switch {
			case pos%100 == 0:
				role = domain.Admin
			case pos%20 == 0:
				role = domain.Agent
			}
			tags := "[]"
			if pos%10 == 0 {
				tags = `["vip"]`
			}
			if _, err := emails.ExecContext(ctx, id, fmt.Sprintf("user%d@example.com", pos), ts, ts); err != nil {
				return constraint(err)
			}
			_, err := users.ExecContext(ctx, id, pos, fmt.Sprintf("User %d %s", pos, SeedSurname(pos)), role, domain.DefaultRestriction(role),
				domain.DefaultZone.Name, fmt.Sprintf("X%d", pos), tags, ts, ts)
			if err != nil {
				return constraint(err)
			}
			if role.IsAgent() && groupID != 0 {
				if _, err := groups.ExecContext(ctx, id, groupID, ts, ts); err != nil {
					return err
				}
			}
			if pos%10 == 0 && len(orgIDs) > 0 {
				if _, err := orgs.ExecContext(ctx, id, orgIDs[pos/10%int64(len(orgIDs))], ts, ts); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
