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
// is named "User k" with the primary email userk@example.com; every 20th is
// an agent in the group "Seeded agents", every 100th an admin, the rest end
// users. Positions stay contiguous, as InsertUser keeps them.
func (db *DB) SeedUsers(ctx context.Context, n int, now time.Time) error {
	if n < 0 {
		return fmt.Errorf("cannot seed %d users", n)
	}
	ts := now.Unix()
	var groupID int64
	if n >= 20 {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO groups (name, created_at, updated_at) VALUES ('Seeded agents', ?, ?)`, ts, ts)
			if err != nil {
				return err
			}
			groupID, err = res.LastInsertId()
			return err
		})
		if err != nil {
			return err
		}
	}
	for done := 0; done < n; done += seedBatch {
		if err := db.seedBatch(ctx, min(seedBatch, n-done), groupID, ts); err != nil {
			return fmt.Errorf("seeding users: %w", err)
		}
	}
	return nil
}

func (db *DB) seedBatch(ctx context.Context, n int, groupID, ts int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(position) + 1, 0) FROM users").Scan(&next); err != nil {
			return err
		}
		users, err := tx.PrepareContext(ctx, `INSERT INTO users (position, name, role, restriction, verified,
			locale, time_zone, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 'en-US', ?, ?, ?)`)
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
		for i := range int64(n) {
			pos := next + i
			role := domain.EndUser
			switch {
			case pos%100 == 0:
				role = domain.Admin
			case pos%20 == 0:
				role = domain.Agent
			}
			res, err := users.ExecContext(ctx, pos, fmt.Sprintf("User %d", pos), role, domain.DefaultRestriction(role),
				domain.DefaultZone.Name, ts, ts)
			if err != nil {
				return constraint(err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if _, err := emails.ExecContext(ctx, id, fmt.Sprintf("user%d@example.com", pos), ts, ts); err != nil {
				return constraint(err)
			}
			if role.IsAgent() && groupID != 0 {
				if _, err := groups.ExecContext(ctx, id, groupID, ts, ts); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
