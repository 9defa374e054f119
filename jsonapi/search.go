package jsonapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// searchUsers answers ?query= in the search syntax, or ?external_id= as
// an exact lookup.
func (h *Handler) searchUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	us, info, err := h.svc.SearchUsers(r.Context(), q.Get("query"), q.Get("external_id"), p)
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, h.listBody(r, "users", h.users(r, us), info), us)
}

func (h *Handler) autocompleteUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	us, info, err := h.svc.AutocompleteUsers(r.Context(), q.Get("name"), q.Get("phone"), p)
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, h.listBody(r, "users", h.users(r, us), info), us)
}

// exportParams reads the export's start_time (required unless cursor is
// given) and per_page.
func exportParams(r *http.Request, cursor bool) (start int64, perPage int, err error) {
	q := r.URL.Query()
	bad := func(msg string) error { return &domain.Error{Kind: domain.BadRequest, Code: "InvalidValue", Msg: msg} }
	if s := q.Get("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil || perPage < 1 {
			return 0, 0, bad("per_page must be a whole number from 1 up")
		}
	}
	s := q.Get("start_time")
	if s == "" && cursor {
		return 0, perPage, nil
	}
	if start, err = strconv.ParseInt(s, 10, 64); err != nil || start < 0 {
		return 0, 0, bad("start_time must be a Unix time in seconds, e.g. start_time=1332034771")
	}
	return start, perPage, nil
}

// exportUsers is the time-based incremental export.
func (h *Handler) exportUsers(w http.ResponseWriter, r *http.Request) error {
	start, perPage, err := exportParams(r, false)
	if err != nil {
		return err
	}
	page, err := h.svc.ExportUsersSince(r.Context(), start, perPage)
	if err != nil {
		return err
	}
	end := page.EndTime.Unix()
	next := h.pageLink(r, map[string]string{"start_time": strconv.FormatInt(end, 10)})
	return h.writeUsers(w, r, object{
		{"users", h.users(r, page.Users)}, {"count", len(page.Users)}, {"end_time", end},
		{"next_page", next}, {"end_of_stream", page.EndOfStream},
	}, page.Users)
}

// exportUsersCursor is the cursor-based incremental export.
func (h *Handler) exportUsersCursor(w http.ResponseWriter, r *http.Request) error {
	cursor := r.URL.Query().Get("cursor")
	start, perPage, err := exportParams(r, cursor != "")
	if err != nil {
		return err
	}
	page, err := h.svc.ExportUsersCursor(r.Context(), start, cursor, perPage)
	if err != nil {
		return err
	}
	link := func(c string) *string {
		if c == "" {
			return nil
		}
		s := h.pageLink(r, map[string]string{"cursor": c}, "start_time")
		return &s
	}
	return h.writeUsers(w, r, object{
		{"users", h.users(r, page.Users)}, {"end_of_stream", page.EndOfStream},
		{"after_cursor", text(page.After)}, {"after_url", link(page.After)},
		{"before_cursor", text(page.Before)}, {"before_url", link(page.Before)},
	}, page.Users)
}

// include reads ?include=a,b; unknown names are ignored, as the real
// service does.
func include(r *http.Request) domain.Include {
	var in domain.Include
	for name := range strings.SplitSeq(observe.Query(r).Get("include"), ",") {
		switch strings.TrimSpace(name) {
		case "identities":
			in.Identities = true
		case "groups":
			in.Groups = true
		case "organizations":
			in.Organizations = true
		case "abilities":
			in.Abilities = true
		case "roles":
			in.Roles = true
		}
	}
	return in
}

// writeUsers answers 200 with body, plus the sideloads ?include= asks for
// of us.
func (h *Handler) writeUsers(w http.ResponseWriter, r *http.Request, body object, us []*domain.User) error {
	in := include(r)
	if in != (domain.Include{}) {
		side, err := h.svc.Sideload(r.Context(), us, in)
		if err != nil {
			return err
		}
		body = h.addSideloads(r, body, in, side)
	}
	writeJSON(w, http.StatusOK, body.sorted())
	return nil
}

// addSideloads puts the sideloaded lists next to the main key.
func (h *Handler) addSideloads(r *http.Request, body object, in domain.Include, side domain.Sideloads) object {
	if in.Identities {
		body = append(body, member{"identities", h.identities(r, side.Identities)})
	}
	if in.Groups {
		body = append(body, member{"groups", eachHeld(r, side.Groups, h.group)})
	}
	if in.Organizations {
		body = append(body, member{"organizations", each(r, side.Organizations, h.organization)})
	}
	if in.Abilities {
		out := make([]map[string]any, len(side.Abilities))
		for i, a := range side.Abilities {
			out[i] = map[string]any{
				"user_id": a.UserID, "url": h.resourceURL(r, "users", a.UserID),
				"can_edit": a.CanEdit, "can_edit_password": a.CanEditPassword,
				"can_manage_identities_of": a.CanManageIdentitiesOf, "can_verify_identities": a.CanVerifyIdentities,
			}
		}
		body = append(body, member{"abilities", out})
	}
	if in.Roles {
		body = append(body, member{"roles", []any{}}) // no custom roles are kept
	}
	return body
}
