package storage

import (
	"context"

	"github.com/deskgate/deskgate/domain"
)

const sessionColumns = "s.id, s.user_id, s.renewals, s.authenticated_at, s.last_seen_at, s.expires_at"

// sessionDest is where a row of sessionColumns is scanned; done converts it.
func sessionDest(ses *domain.Session) (dest []any, done func()) {
	var auth, seen, expires int64
	return []any{&ses.ID, &ses.UserID, &ses.Renewals, &auth, &seen, &expires}, func() {
		ses.AuthenticatedAt, ses.LastSeenAt, ses.ExpiresAt = unix(auth), unix(seen), unix(expires)
	}
}

func scanSession(sc scanner) (*domain.Session, error) {
	ses := new(domain.Session)
	dest, done := sessionDest(ses)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	done()
	return ses, nil
}

func (r reader) SessionByHash(ctx context.Context, secretHash []byte) (*domain.Session, *domain.Principal, error) {
	ses := new(domain.Session)
	dest, done := sessionDest(ses)
	p, err := scanPrincipal(r.q.QueryRowContext(ctx, `SELECT `+principalColumns+`, `+sessionColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`, secretHash), dest...)
	if err != nil {
		return nil, nil, err
	}
	done()
	return ses, p, nil
}

func (r reader) SessionByID(ctx context.Context, id int64) (*domain.Session, error) {
	ses, err := scanSession(r.q.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions s WHERE s.id = ?", id))
	return ses, notFound(err)
}

// sessionWhere selects the live sessions of f.
func sessionWhere(f domain.SessionFilter) (string, []any) {
	where := " WHERE s.expires_at > ? AND s.last_seen_at > ?"
	args := []any{f.Now.Unix(), f.SeenAfter.Unix()}
	if f.UserID != 0 {
		where += " AND s.user_id = ?"
		args = append(args, f.UserID)
	}
	return where, args
}

func (r reader) Sessions(ctx context.Context, f domain.SessionFilter, w domain.Window) ([]*domain.Session, error) {
	where, args := sessionWhere(f)
	q, args := windowed("SELECT "+sessionColumns+" FROM sessions s", where, args, w, "s.id", nil)
	return queryWindow(ctx, r.q, w, q, args, scanSession)
}

func (r reader) CountSessions(ctx context.Context, f domain.SessionFilter) (int, error) {
	where, args := sessionWhere(f)
	return r.countWhere(ctx, "sessions s", where, args)
}

// countWhere counts the rows of from (a table and its alias) that where keeps.
func (r reader) countWhere(ctx context.Context, from, where string, args []any) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM "+from+where, args...).Scan(&n)
	return n, err
}

func (t *txStore) InsertSession(ctx context.Context, ses *domain.Session, secretHash []byte) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO sessions (user_id, secret_hash, renewals, authenticated_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, ses.UserID, secretHash, ses.Renewals, ses.AuthenticatedAt.Unix(), ses.LastSeenAt.Unix(), ses.ExpiresAt.Unix())
	if err != nil {
		return constraint(err)
	}
	ses.ID, err = res.LastInsertId()
	return err
}

func (t *txStore) UpdateSession(ctx context.Context, ses *domain.Session) error {
	_, err := t.q.ExecContext(ctx, "UPDATE sessions SET renewals = ?, last_seen_at = ?, expires_at = ? WHERE id = ? AND user_id = ?",
		ses.Renewals, ses.LastSeenAt.Unix(), ses.ExpiresAt.Unix(), ses.ID, ses.UserID)
	return err
}

func (t *txStore) DeleteSession(ctx context.Context, userID, id int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM sessions WHERE id = ? AND user_id = ?", id, userID)
	return err
}

func (t *txStore) DeleteUserSessions(ctx context.Context, userIDs ...int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM sessions WHERE user_id IN (SELECT value FROM json_each(?))", idsJSON(userIDs))
	return err
}

func (t *txStore) PurgeSessions(ctx context.Context, f domain.SessionFilter) (int, error) {
	res, err := t.q.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", f.Now.Unix(), f.SeenAfter.Unix())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
