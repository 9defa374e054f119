package jsonapi

import (
	"net/http"

	"github.com/deskgate/deskgate/domain"
)

// mailJSON is an outbox row (a deskgate extension; the real API has none).
type mailJSON struct {
	ID            int64   `json:"id"`
	To            string  `json:"to"`
	Subject       string  `json:"subject"`
	Text          string  `json:"text"`
	UserID        *int64  `json:"user_id"`
	CreatedAt     string  `json:"created_at"`
	Delivery      *string `json:"delivery"` // null: no SMTP server configured
	Attempts      int     `json:"attempts"`
	LastError     *string `json:"last_error"`
	NextAttemptAt *string `json:"next_attempt_at"`
	SentAt        *string `json:"sent_at"`
}

func mails(ms []*domain.OutboxMail) []mailJSON {
	out := make([]mailJSON, len(ms))
	for i, m := range ms {
		out[i] = mailJSON{
			ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, UserID: nullID(m.UserID),
			CreatedAt: v2Time(m.CreatedAt), Delivery: text(string(m.Delivery)), Attempts: m.Attempts,
			LastError: text(m.LastError), NextAttemptAt: timestamp(m.NextAttemptAt), SentAt: timestamp(m.SentAt),
		}
	}
	return out
}

// outbox lists the mails sent, oldest first; ?recipient= keeps one address.
func (h *Handler) outbox(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ms, info, err := h.svc.Outbox(r.Context(), domain.OutboxFilter{Recipient: r.URL.Query().Get("recipient")}, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "mails", mails(ms), info))
	return nil
}

// requestCreate mails the owner to buy agent seats for {"user": {"name",
// "email"}}: 200, empty.
func (h *Handler) requestCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := decode(r, "user", &in); err != nil {
		return err
	}
	if err := h.svc.RequestAgent(r.Context(), in.Name, in.Email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
