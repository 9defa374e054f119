package domain

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Mail is a message the product sends.
type Mail struct {
	To, Subject, Text string
	UserID            int64 // the user the mail concerns; 0 for none
}

// Delivery is where an outbox mail stands with the SMTP server.
type Delivery string

const (
	NotDelivered    Delivery = ""        // no SMTP server is configured: the outbox is all there is
	DeliveryPending Delivery = "pending" // waiting for its first or next attempt
	DeliverySent    Delivery = "sent"
	DeliveryFailed  Delivery = "failed" // given up after maxDeliveryAttempts
)

// OutboxMail is a mail as the outbox keeps it.
type OutboxMail struct {
	ID int64
	Mail
	CreatedAt     time.Time
	Delivery      Delivery
	Attempts      int
	LastError     string    // the last failed attempt's error, "" after success
	NextAttemptAt time.Time // pending only
	SentAt        time.Time
}

// OutboxFilter narrows the outbox to one recipient (case-insensitive); the
// zero value lists every mail.
type OutboxFilter struct {
	Recipient string
}

// Delivery retries: failed attempt n waits deliveryBackoff << (n-1) (30 s,
// 1, 2, 4, 8 minutes), and the mail fails after maxDeliveryAttempts.
const (
	deliveryBackoff     = 30 * time.Second
	maxDeliveryAttempts = 6
	maxDeliveryError    = 500 // bytes of an SMTP error kept on the row
	deliveryBatch       = 20
)

// sendMail records m in the outbox inside the caller's write transaction,
// so a mail exists exactly when the change it reports was committed. A
// configured SMTP sender delivers it later; its failures never reach the
// caller. A mail to nobody (a user without an email address) is dropped.
func (s *Service) sendMail(ctx context.Context, tx Tx, m Mail) error {
	if m.To == "" {
		return nil
	}
	now := s.Now()
	om := &OutboxMail{Mail: m, CreatedAt: now}
	if s.delivers {
		om.Delivery, om.NextAttemptAt = DeliveryPending, now
		s.mailQueued.Store(true)
	}
	return tx.InsertMail(ctx, om)
}

// MailQueued is signalled after a commit that queued mail for delivery, so
// a sender can wake at once instead of at its next round.
func (s *Service) MailQueued() <-chan struct{} { return s.mailWake }

// Outbox lists the mails sent, oldest first, optionally to one recipient.
// Admins only: mails carry verification links.
func (s *Service) Outbox(ctx context.Context, f OutboxFilter, p PageRequest) ([]*OutboxMail, PageInfo, error) {
	if _, err := admin(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	f.Recipient = strings.TrimSpace(f.Recipient)
	return paginate(s, "outbox?to="+strings.ToLower(f.Recipient), p, mailSorting,
		func(w Window) ([]*OutboxMail, error) { return s.store.Outbox(ctx, f, w) },
		func() (int, error) { return s.store.CountOutbox(ctx, f) })
}

// DeliverMail makes one round of deliveries: every pending mail that is
// due goes to send, and its outcome is recorded on the outbox row, a
// failure with the next attempt after a growing delay. It returns how many
// mails it tried. The background sender calls it; nobody's request waits on it.
func (s *Service) DeliverMail(ctx context.Context, send func(context.Context, Mail) error) (int, error) {
	due, err := s.store.DueMails(ctx, s.Now(), deliveryBatch)
	if err != nil {
		return 0, err
	}
	for _, m := range due {
		err := send(ctx, m.Mail)
		now := s.Now()
		m.Attempts++
		switch {
		case err == nil:
			m.Delivery, m.SentAt, m.LastError, m.NextAttemptAt = DeliverySent, now, "", time.Time{}
		case m.Attempts >= maxDeliveryAttempts:
			m.Delivery, m.LastError, m.NextAttemptAt = DeliveryFailed, deliveryError(err), time.Time{}
		default:
			m.LastError, m.NextAttemptAt = deliveryError(err), now.Add(deliveryBackoff<<(m.Attempts-1))
		}
		if err := s.inTx(ctx, func(tx Tx) error { return tx.RecordDelivery(ctx, m) }); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

func deliveryError(err error) string {
	msg := strings.ToValidUTF8(err.Error(), "?")
	if len(msg) > maxDeliveryError {
		msg = strings.ToValidUTF8(msg[:maxDeliveryError], "")
	}
	return msg
}

// welcomeMail greets a new user at the address it was created with.
func welcomeMail(u *User) Mail {
	return Mail{To: u.Email, UserID: u.ID, Subject: "Welcome to the help desk",
		Text: fmt.Sprintf("Hello %s,\n\nan account has been created for you at the help desk with this email address.\n", u.Name)}
}

// passwordChangedMail tells a user that its password changed and that it
// was signed out everywhere.
func passwordChangedMail(u *User) Mail {
	return Mail{To: u.Email, UserID: u.ID, Subject: "Your password has been changed",
		Text: fmt.Sprintf("Hello %s,\n\nthe password of your help desk account has just been changed, and every browser session of yours has been signed out.\nIf you did not change it, contact your administrator.\n", u.Name)}
}

// RequestAgent mails the account owner a reminder to update the
// subscription so that the named user can be created as an agent. Agents only.
func (s *Service) RequestAgent(ctx context.Context, name, email string) error {
	a, err := agent(ctx)
	if err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	var v invalid
	setName(&name, &name, &v)
	if email != "" && !validEmail(email) {
		v.malformed("email", email)
	}
	if err := v.err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		requester, err := tx.UserByID(ctx, a.ID)
		if err != nil {
			return err
		}
		owner, err := tx.AccountOwner(ctx)
		if err != nil {
			return err
		}
		who := name
		if email != "" {
			who += " <" + email + ">"
		}
		return s.sendMail(ctx, tx, Mail{To: owner.Email, UserID: owner.ID, Subject: "An agent asks for another agent seat",
			Text: fmt.Sprintf("Hello %s,\n\n%s would like to add %s as an agent.\nUpdate your subscription so that more agents can be created.\n", owner.Name, requester.Name, who)})
	})
}
