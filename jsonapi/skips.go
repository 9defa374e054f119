package jsonapi

import (
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

// skipJSON is the spec's TicketSkipObject. deskgate keeps no tickets, so
// ticket is the one thing known of it, its id: an object rather than null,
// because the published schema does not allow null there and clients that
// read ticket.id keep working; nothing about the ticket is invented.
type skipJSON struct {
	ID        int64            `json:"id"`
	TicketID  int64            `json:"ticket_id"`
	UserID    int64            `json:"user_id"`
	Reason    string           `json:"reason"`
	CreatedAt string           `json:"created_at"`
	UpdatedAt string           `json:"updated_at"`
	Ticket    map[string]int64 `json:"ticket"`
}

func skip(sk *domain.Skip) skipJSON {
	return skipJSON{ID: sk.ID, TicketID: sk.TicketID, UserID: sk.UserID, Reason: sk.Reason,
		CreatedAt: v2Time(sk.CreatedAt), UpdatedAt: v2Time(sk.UpdatedAt), Ticket: map[string]int64{"id": sk.TicketID}}
}

// createSkip records a skip for the caller: {"skip": {"ticket_id", "reason"}} → 201.
func (h *Handler) createSkip(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TicketID int64       `json:"ticket_id"`
		Reason   opt[string] `json:"reason"`
	}
	if err := decode(r, "skip", &in); err != nil {
		return err
	}
	sk, err := h.svc.RecordSkip(r.Context(), in.TicketID, in.Reason.ptr())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"skip": skip(sk)})
	return nil
}

// listSkips answers /users/{id}/skips with ?ticket_id= and the sort order
// (?sort_order=asc|desc, ascending by default).
func (h *Handler) listSkips(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	f := domain.SkipFilter{UserID: id}
	if s := r.URL.Query().Get("ticket_id"); s != "" {
		if f.TicketID, err = strconv.ParseInt(s, 10, 64); err != nil || f.TicketID < 1 {
			return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "ticket_id must be a ticket id (a whole number from 1 up)"}
		}
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	sks, info, err := h.svc.Skips(r.Context(), f, p)
	if err != nil {
		return err
	}
	out := make([]skipJSON, len(sks))
	for i := range sks {
		out[i] = skip(&sks[i])
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "skips", out, info))
	return nil
}
