package domain

import (
	"context"
	"fmt"
	"time"
)

// Skip records that an agent passed over a ticket. deskgate keeps no
// tickets: TicketID is an opaque number the client names.
type Skip struct {
	ID        int64
	UserID    int64 // the agent who skipped
	TicketID  int64
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SkipFilter selects an agent's skips, of one ticket when TicketID is set.
type SkipFilter struct {
	UserID   int64
	TicketID int64
}

// RecordSkip records that the calling agent skipped the ticket. Agents only.
func (s *Service) RecordSkip(ctx context.Context, ticketID int64, reason *string) (*Skip, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, err
	}
	var v invalid
	if ticketID < 1 {
		v.unacceptable("ticket_id", "is required: the id of the skipped ticket")
	}
	sk := &Skip{UserID: a.ID, TicketID: ticketID}
	setText(&sk.Reason, reason, "reason", proseText, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	sk.CreatedAt = s.Now()
	sk.UpdatedAt = sk.CreatedAt
	err = s.inTx(ctx, func(tx Tx) error { return tx.InsertSkip(ctx, sk) })
	return sk, err
}

// Skips lists an agent's skips in id order, oldest first unless the page
// asks for descending order. An agent sees their own; admins (the
// reporting agents here) anyone's.
func (s *Service) Skips(ctx context.Context, f SkipFilter, p PageRequest) ([]Skip, PageInfo, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if a.ID != f.UserID && a.Role != Admin {
		return nil, PageInfo{}, errForbidden
	}
	if _, err := s.store.UserByID(ctx, f.UserID); err != nil {
		return nil, PageInfo{}, err
	}
	list := fmt.Sprintf("skips?%d|%d", f.UserID, f.TicketID)
	return paginate(s, list, p, skipSorting,
		func(w Window) ([]Skip, error) { return s.store.Skips(ctx, f, w) },
		func() (int, error) { return s.store.CountSkips(ctx, f) })
}
