package storage

import (
	"context"
	"database/sql"
	"time"

	"github.com/deskgate/deskgate/domain"
)

const identityColumns = "id, user_id, type, value, verified, is_primary, undeliverable_count, created_at, updated_at"

func scanIdentity(sc scanner) (domain.Identity, error) {
	var i domain.Identity
	var created, updated int64
	err := sc.Scan(&i.ID, &i.UserID, &i.Type, &i.Value, &i.Verified, &i.Primary, &i.UndeliverableCount, &created, &updated)
	i.CreatedAt, i.UpdatedAt = unix(created), unix(updated)
	return i, err
}

// Identities lists a user's identities (+?: see GroupMemberships).
func (r reader) Identities(ctx context.Context, userID int64) ([]domain.Identity, error) {
	return queryAll(ctx, r.q, "SELECT "+identityColumns+" FROM identities WHERE user_id = +? ORDER BY id", []any{userID}, scanIdentity)
}

// IdentitiesOfUsers lists the identities of several users, in id order.
func (r reader) IdentitiesOfUsers(ctx context.Context, userIDs []int64) ([]domain.Identity, error) {
	return queryAll(ctx, r.q, "SELECT "+identityColumns+" FROM identities WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY id",
		[]any{idsJSON(userIDs)}, scanIdentity)
}

func (t *txStore) UserIDByIdentity(ctx context.Context, typ domain.IdentityType, value string) (int64, error) {
	var id int64
	err := t.q.QueryRowContext(ctx, "SELECT user_id FROM identities WHERE type = ? AND value = ? COLLATE NOCASE", typ, value).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

func (t *txStore) InsertIdentity(ctx context.Context, i *domain.Identity) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO identities (user_id, type, value, verified, is_primary, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, i.UserID, i.Type, i.Value, i.Verified, i.Primary, i.CreatedAt.Unix(), i.UpdatedAt.Unix())
	if err != nil {
		return constraint(err)
	}
	i.ID, err = res.LastInsertId()
	return err
}

func (t *txStore) UpdateIdentity(ctx context.Context, i *domain.Identity) error {
	_, err := t.q.ExecContext(ctx, "UPDATE identities SET value = ?, verified = ?, is_primary = ?, updated_at = ? WHERE id = ? AND user_id = ?",
		i.Value, i.Verified, i.Primary, i.UpdatedAt.Unix(), i.ID, i.UserID)
	return constraint(err)
}

func (t *txStore) DeleteIdentity(ctx context.Context, userID, id int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM identities WHERE id = ? AND user_id = ?", id, userID)
	return err
}

func (t *txStore) TouchUser(ctx context.Context, userID int64, at time.Time) error {
	_, err := t.q.ExecContext(ctx, "UPDATE users SET updated_at = ? WHERE id = ?", at.Unix(), userID)
	return err
}
