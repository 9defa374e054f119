package jsonapi

import (
	"net/http"
	"strconv"

	"github.com/deskgate/deskgate/domain"
)

func (h *Handler) showUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if include(r) != (domain.Include{}) { // sideloads: rendered afresh, never cached
		u, err := h.svc.User(r.Context(), id)
		if err != nil {
			return err
		}
		return h.writeUsers(w, r, object{{"user", h.user(r, u)}}, []*domain.User{u})
	}
	view := "end-user"
	if domain.ActorFrom(r.Context()).SeesAgentFields() {
		view = "agent"
	}
	body, err := h.svc.RenderedUser(r.Context(), id, domain.RenderVariant{API: "v2", View: view, Base: h.base(r)}, func(u *domain.User) ([]byte, error) {
		return renderJSON(userBody{h.user(r, u)})
	})
	if err != nil {
		return err
	}
	sendJSON(w, http.StatusOK, body)
	return nil
}

// userBody is the body of a single user: {"user": ...}.
type userBody struct {
	User any `json:"user"`
}

// userFilter reads the list filters: role, role[] (several),
// permission_set and external_id. Unknown and empty parameters are ignored,
// as go-zendesk sends an empty query= with every list.
func userFilter(r *http.Request) (domain.UserFilter, error) {
	q := r.URL.Query()
	var f domain.UserFilter
	for _, name := range append(q["role[]"], q.Get("role")) {
		if name == "" {
			continue
		}
		role, ok := domain.ParseRole(name)
		if !ok {
			return f, &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: `role must be "end-user", "agent" or "admin"`}
		}
		f.Roles = append(f.Roles, role)
	}
	if s := q.Get("permission_set"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "permission_set must be a custom role id"}
		}
		f.CustomRoleID = id
	}
	f.ExternalID = q.Get("external_id")
	return f, nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	f, err := userFilter(r)
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	us, info, err := h.svc.Users(r.Context(), f, p)
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, h.listBody(r, "users", h.users(r, us), info), us)
}

func (h *Handler) countUsers(w http.ResponseWriter, r *http.Request) error {
	f, err := userFilter(r)
	if err != nil {
		return err
	}
	n, err := h.svc.CountUsers(r.Context(), f)
	if err != nil {
		return err
	}
	h.writeCount(w, n)
	return nil
}

// writeCount answers a count, as fresh as the request: deskgate counts exactly.
func (h *Handler) writeCount(w http.ResponseWriter, n int) {
	writeJSON(w, http.StatusOK, map[string]any{"count": map[string]any{
		"value": n, "refreshed_at": v2Time(h.svc.Now()),
	}})
}

// showManyUsers answers ?ids=1,2 or ?external_ids=a,b in the order asked.
func (h *Handler) showManyUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var us []*domain.User
	var err error
	switch {
	case q.Has("ids"):
		var ids []int64
		if ids, err = idList(q.Get("ids"), "ids"); err == nil {
			us, err = h.svc.UsersByIDs(r.Context(), ids)
		}
	case q.Has("external_ids"):
		us, err = h.svc.UsersByExternalIDs(r.Context(), stringList(q.Get("external_ids")))
	default:
		err = &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: "Pass ids=1,2,3 or external_ids=a,b,c"}
	}
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, h.listBody(r, "users", h.users(r, us), domain.PageInfo{Number: 1, Count: len(us)}), us)
}

// anonymousUser is what /users/me shows a caller without valid credentials:
// the real service answers 200 with a placeholder rather than 401. It has
// the end-user view's keys (endUserJSON), null where no user stands behind
// them, plus the authenticity token.
func anonymousUser(token string) map[string]any {
	return map[string]any{
		"id": nil, "url": nil, "name": "Anonymous user", "email": "invalid@example.com",
		"created_at": nil, "updated_at": nil, "time_zone": domain.DefaultZone.Name,
		"iana_time_zone": domain.DefaultZone.IANA, "phone": nil, "shared_phone_number": false, "photo": nil,
		"locale": "en-US", "locale_id": 1, "organization_id": nil, "role": "end-user", "verified": false,
		"authenticity_token": token,
	}
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	u, token, err := h.svc.Me(r.Context())
	if err != nil {
		return err
	}
	if u == nil {
		writeJSON(w, http.StatusOK, map[string]any{"user": anonymousUser(token)})
		return nil
	}
	body := h.user(r, u)
	switch v := body.(type) {
	case *userJSON:
		v.AuthenticityToken = token
	case *endUserJSON: // end users get the token too: help center pages send it as X-CSRF-Token
		body = endUserWithToken{v, token}
	}
	writeJSON(w, http.StatusOK, userBody{body})
	return nil
}

func (h *Handler) readUser(r *http.Request) (domain.UserChanges, error) {
	var in userInput
	if err := decode(r, "user", &in); err != nil {
		return domain.UserChanges{}, err
	}
	return in.changes()
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	c, err := h.readUser(r)
	if err != nil {
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), c)
	if err != nil {
		return err
	}
	h.created(w, r, "user", "users", u.ID, h.user(r, u))
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	c, err := h.readUser(r)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(r.Context(), id, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBody{h.user(r, u)})
	return nil
}

// deleteUser soft-deletes: 200 with the user, now inactive.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	u, err := h.svc.DeleteUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userBody{h.user(r, u)})
	return nil
}

func (h *Handler) related(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	rel, err := h.svc.UserRelated(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_related": map[string]int{
		"assigned_tickets":           rel.AssignedTickets,
		"requested_tickets":          rel.RequestedTickets,
		"ccd_tickets":                rel.CCDTickets,
		"organization_subscriptions": rel.OrganizationSubscriptions,
	}})
	return nil
}
