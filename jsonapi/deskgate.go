package jsonapi

import (
	"net/http"
	"path/filepath"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// deskgate's own extensions of the v2 API live under /api/v2/deskgate/;
// the real service has no such endpoints, so no client expects their shape.

type legacyUsageJSON struct {
	Since   string              `json:"since"`
	Clients []legacyClientJSON  `json:"clients"`
	Daily   []dailyRequestsJSON `json:"daily"`
}

type legacyClientJSON struct {
	UserID     *int64                `json:"user_id"`
	Email      *string               `json:"email"`
	Credential string                `json:"credential"`
	UserAgent  string                `json:"user_agent"`
	Requests   int                   `json:"requests"`
	LastSeenAt string                `json:"last_seen_at"`
	Operations []legacyOperationJSON `json:"operations"`
}

type legacyOperationJSON struct {
	Operation   string  `json:"operation"`
	V2Operation *string `json:"v2_operation"`
	Requests    int     `json:"requests"`
	LastSeenAt  string  `json:"last_seen_at"`
}

type dailyRequestsJSON struct {
	Date   string `json:"date"`
	Legacy int    `json:"legacy"`
	V2     int    `json:"v2"`
}

// legacyUsage answers GET /api/v2/deskgate/legacy_usage?since=2026-05-01.
func (h *Handler) legacyUsage(w http.ResponseWriter, r *http.Request) error {
	since, err := h.svc.ParseSince(r.URL.Query().Get("since"))
	if err != nil {
		return err
	}
	u, err := h.svc.LegacyUsage(r.Context(), since)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, LegacyUsage(u))
	return nil
}

// LegacyUsage is the report's JSON body, {"legacy_usage": …}; the command
// line's report -json prints the same.
func LegacyUsage(u *domain.LegacyUsage) any {
	out := legacyUsageJSON{Since: v2Time(u.Since), Clients: []legacyClientJSON{}, Daily: []dailyRequestsJSON{}}
	for _, c := range u.Clients {
		cj := legacyClientJSON{Credential: c.Credential.String(), UserAgent: c.UserAgent, Requests: c.Requests, LastSeenAt: v2Time(c.LastSeen)}
		if c.UserID != 0 {
			cj.UserID, cj.Email = &c.UserID, &c.Email
		}
		for _, op := range c.Operations {
			oj := legacyOperationJSON{Operation: op.Operation, Requests: op.Requests, LastSeenAt: v2Time(op.LastSeen)}
			if op.V2 != "" {
				oj.V2Operation = &op.V2
			}
			cj.Operations = append(cj.Operations, oj)
		}
		out.Clients = append(out.Clients, cj)
	}
	for _, d := range u.Days {
		out.Daily = append(out.Daily, dailyRequestsJSON{Date: d.Day.Format(time.DateOnly), Legacy: d.Legacy, V2: d.V2})
	}
	return map[string]any{"legacy_usage": out}
}

// backup answers POST /api/v2/deskgate/backup with the copy it made; the
// name only, as the server's directories are not the client's business.
func (h *Handler) backup(w http.ResponseWriter, r *http.Request) error {
	b, err := h.svc.Backup(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"backup": map[string]any{
		"file_name": filepath.Base(b.Path), "size": b.Size, "created_at": v2Time(b.CreatedAt),
	}})
	return nil
}
