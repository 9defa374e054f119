package storage

import (
	"context"
	"time"

	"github.com/deskgate/deskgate/domain"
)

const mailColumns = `m.id, m.recipient, m.subject, m.body, coalesce(m.user_id, 0), m.created_at, coalesce(m.delivery, ''),
	m.attempts, m.last_error, coalesce(m.next_attempt_at, 0), coalesce(m.sent_at, 0)`

func scanMail(sc scanner) (*domain.OutboxMail, error) {
	var m domain.OutboxMail
	var created, next, sent int64
	if err := sc.Scan(&m.ID, &m.To, &m.Subject, &m.Text, &m.UserID, &created, &m.Delivery,
		&m.Attempts, &m.LastError, &next, &sent); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt, m.SentAt = unix(created), unix(next), unix(sent)
	return &m, nil
}

func outboxWhere(f domain.OutboxFilter) (string, []any) {
	if f.Recipient == "" {
		return "", nil
	}
	return " WHERE m.recipient = ? COLLATE NOCASE", []any{f.Recipient}
}

func (r reader) Outbox(ctx context.Context, f domain.OutboxFilter, w domain.Window) ([]*domain.OutboxMail, error) {
	where, args := outboxWhere(f)
	q, args := windowed("SELECT "+mailColumns+" FROM outbox m", where, args, w, "m.id", nil)
	return queryWindow(ctx, r.q, w, q, args, scanMail)
}

func (r reader) CountOutbox(ctx context.Context, f domain.OutboxFilter) (int, error) {
	where, args := outboxWhere(f)
	return r.countWhere(ctx, "outbox m", where, args)
}

func (r reader) DueMails(ctx context.Context, now time.Time, limit int) ([]*domain.OutboxMail, error) {
	return queryAll(ctx, r.q, `SELECT `+mailColumns+` FROM outbox m
		WHERE m.delivery = 'pending' AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at, m.id LIMIT ?`, []any{now.Unix(), limit}, scanMail)
}

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func nullDelivery(d domain.Delivery) any {
	if d == domain.NotDelivered {
		return nil
	}
	return string(d)
}

func (t *txStore) InsertMail(ctx context.Context, m *domain.OutboxMail) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO outbox (recipient, subject, body, user_id, created_at, delivery, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, m.To, m.Subject, m.Text, nullID(m.UserID), m.CreatedAt.Unix(),
		nullDelivery(m.Delivery), nullTime(m.NextAttemptAt))
	if err != nil {
		return err
	}
	m.ID, err = res.LastInsertId()
	return err
}

func (t *txStore) RecordDelivery(ctx context.Context, m *domain.OutboxMail) error {
	_, err := t.q.ExecContext(ctx, `UPDATE outbox SET delivery = ?, attempts = ?, last_error = ?, next_attempt_at = ?, sent_at = ?
		WHERE id = ?`, nullDelivery(m.Delivery), m.Attempts, m.LastError, nullTime(m.NextAttemptAt), nullTime(m.SentAt), m.ID)
	return err
}
