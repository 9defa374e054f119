package storage

import (
	"context"
	"time"

	"github.com/deskgate/deskgate/domain"
)

func (t *txStore) MoveIdentities(ctx context.Context, from, to int64, now time.Time) error {
	// The NOT EXISTS sees the target's rows as they were: a user has at most
	// one primary identity of a type, so no two moved rows compete.
	_, err := t.q.ExecContext(ctx, `UPDATE identities SET user_id = ?1, updated_at = ?3,
		is_primary = is_primary AND NOT EXISTS (SELECT 1 FROM identities t
			WHERE t.user_id = ?1 AND t.type = identities.type AND t.is_primary)
		WHERE user_id = ?2`, to, from, now.Unix())
	return err
}

func (t *txStore) MoveOrganizationMemberships(ctx context.Context, from, to int64, now time.Time) error {
	_, err := t.q.ExecContext(ctx, `UPDATE organization_memberships SET user_id = ?1, updated_at = ?3,
		is_default = is_default AND NOT EXISTS (SELECT 1 FROM organization_memberships t
			WHERE t.user_id = ?1 AND t.is_default)
		WHERE user_id = ?2 AND organization_id NOT IN (SELECT organization_id FROM organization_memberships WHERE user_id = ?1)`,
		to, from, now.Unix())
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, "DELETE FROM organization_memberships WHERE user_id = ?", from)
	return err
}

func (t *txStore) RevokeCredentials(ctx context.Context, userID int64) error {
	if _, err := t.q.ExecContext(ctx, "DELETE FROM api_tokens WHERE user_id = ?", userID); err != nil {
		return err
	}
	return t.SetPasswordHash(ctx, userID, "")
}

func (t *txStore) DeleteIdentities(ctx context.Context, userID int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM identities WHERE user_id = ?", userID)
	return err
}

func (t *txStore) DeleteUserMail(ctx context.Context, userID int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM outbox WHERE user_id = ?", userID)
	return err
}

// ScrubJobItems blanks the job items whose results name the user: their
// changes become {} and their results' email "" (a result is JSON of
// domain.JobResult). Only items with a result are touched: the worker
// reads the pending ones.
func (t *txStore) ScrubJobItems(ctx context.Context, userID int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE job_items SET item = '{}', result = json_set(result, '$.Email', '')
		WHERE result IS NOT NULL AND json_extract(result, '$.UserID') = ?`, userID)
	return err
}

func (t *txStore) MarkErased(ctx context.Context, userID int64, at time.Time) error {
	_, err := t.q.ExecContext(ctx, "UPDATE users SET erased_at = ? WHERE id = ?", at.Unix(), userID)
	return err
}

func (t *txStore) InsertComplianceStatus(ctx context.Context, st *domain.ComplianceDeletionStatus) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO compliance_deletion_statuses (user_id, action, application, executer_id, created_at)
		VALUES (?, ?, ?, ?, ?)`, st.UserID, st.Action, st.Application, nullID(st.ExecuterID), st.CreatedAt.Unix())
	if err != nil {
		return err
	}
	st.ID, err = res.LastInsertId()
	return err
}

func (r reader) ComplianceDeletionStatuses(ctx context.Context, userID int64) ([]domain.ComplianceDeletionStatus, error) {
	return queryAll(ctx, r.q, `SELECT id, user_id, action, application, coalesce(executer_id, 0), created_at
		FROM compliance_deletion_statuses WHERE user_id = ? ORDER BY id`, []any{userID},
		func(sc scanner) (domain.ComplianceDeletionStatus, error) {
			var st domain.ComplianceDeletionStatus
			var created int64
			err := sc.Scan(&st.ID, &st.UserID, &st.Action, &st.Application, &st.ExecuterID, &created)
			st.CreatedAt = unix(created)
			return st, err
		})
}

func (t *txStore) InsertSkip(ctx context.Context, sk *domain.Skip) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO skips (user_id, ticket_id, reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`, sk.UserID, sk.TicketID, sk.Reason, sk.CreatedAt.Unix(), sk.UpdatedAt.Unix())
	if err != nil {
		return err
	}
	sk.ID, err = res.LastInsertId()
	return err
}

func skipWhere(f domain.SkipFilter) (string, []any) {
	if f.TicketID != 0 {
		return " WHERE user_id = ? AND ticket_id = ?", []any{f.UserID, f.TicketID}
	}
	return " WHERE user_id = ?", []any{f.UserID}
}

func (r reader) Skips(ctx context.Context, f domain.SkipFilter, w domain.Window) ([]domain.Skip, error) {
	where, args := skipWhere(f)
	q, args := windowed("SELECT id, user_id, ticket_id, reason, created_at, updated_at FROM skips", where, args, w, "id", nil)
	return queryWindow(ctx, r.q, w, q, args, func(sc scanner) (domain.Skip, error) {
		var sk domain.Skip
		var created, updated int64
		err := sc.Scan(&sk.ID, &sk.UserID, &sk.TicketID, &sk.Reason, &created, &updated)
		sk.CreatedAt, sk.UpdatedAt = unix(created), unix(updated)
		return sk, err
	})
}

func (r reader) CountSkips(ctx context.Context, f domain.SkipFilter) (int, error) {
	where, args := skipWhere(f)
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM skips"+where, args...).Scan(&n)
	return n, err
}
