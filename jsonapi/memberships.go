package jsonapi

import (
	"context"
	"net/http"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
)

// Group and organization memberships and identities, the records listed
// under a user, share their handlers' shape; these builders take the
// service method and the encoder of each.

// userAndRecord reads the {user_id} of a route and the id of the user's
// record named idVar ({membership_id}, {identity_id}).
func userAndRecord(r *http.Request, idVar string) (userID, id int64, err error) {
	if userID, err = pathID(r, "user_id"); err == nil {
		id, err = pathID(r, idVar)
	}
	return userID, id, err
}

// listOfUser serves a paged list of one user's records under key.
func listOfUser[T, J any](h *Handler, key string,
	list func(context.Context, int64, domain.PageRequest) ([]T, domain.PageInfo, error),
	encode func(*http.Request, []T) []J) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		userID, err := pathID(r, "user_id")
		if err != nil {
			return err
		}
		p, err := pageRequest(r)
		if err != nil {
			return err
		}
		items, info, err := list(r.Context(), userID, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, h.listBody(r, key, encode(r, items), info))
		return nil
	}
}

// oneOfUser answers with one record of a user under key, as a show or a
// change (verify) returns it.
func oneOfUser[T, J any](key, idVar string, show func(context.Context, int64, int64) (*T, error),
	encode func(*http.Request, *T) J) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		userID, id, err := userAndRecord(r, idVar)
		if err != nil {
			return err
		}
		m, err := show(r.Context(), userID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{key: encode(r, m)})
		return nil
	}
}

// deleteOfUser removes one record of a user: 204.
func deleteOfUser(idVar string, del func(context.Context, int64, int64) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		userID, id, err := userAndRecord(r, idVar)
		if err != nil {
			return err
		}
		if err := del(r.Context(), userID, id); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
}

// makeDefaultOfUser makes a record of a user the default (or primary) one
// and answers with all of the user's records under key.
func makeDefaultOfUser[T, J any](key, idVar string, makeDefault func(context.Context, int64, int64) ([]T, error),
	encode func(*http.Request, []T) []J) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		userID, id, err := userAndRecord(r, idVar)
		if err != nil {
			return err
		}
		ms, err := makeDefault(r.Context(), userID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{key: encode(r, ms)})
		return nil
	}
}

// listOfAccount serves an account-wide membership list, narrowed by the
// user_id and target (group_id or organization_id) query parameters.
func listOfAccount[T, J any](h *Handler, key, target string,
	list func(context.Context, domain.MembershipFilter, domain.PageRequest) ([]T, domain.PageInfo, error),
	encode func(*http.Request, []T) []J) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var f domain.MembershipFilter
		for param, dst := range map[string]*int64{"user_id": &f.UserID, target: &f.TargetID} {
			if s := r.URL.Query().Get(param); s != "" {
				ids, err := idList(s, param)
				if err != nil || len(ids) != 1 {
					return &domain.Error{Kind: domain.BadRequest, Code: "InvalidParameter", Msg: param + " must be one id"}
				}
				*dst = ids[0]
			}
		}
		p, err := pageRequest(r)
		if err != nil {
			return err
		}
		items, info, err := list(r.Context(), f, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, h.listBody(r, key, encode(r, items), info))
		return nil
	}
}

// membershipInput is the body of a membership create.
type membershipInput struct {
	UserID         opt[int64] `json:"user_id"`
	GroupID        opt[int64] `json:"group_id"`
	OrganizationID opt[int64] `json:"organization_id"`
}

// readMembership decodes a membership create. Under /users/{user_id} the
// user comes from the path and a user_id in the body is not trusted; on the
// account-wide path the body names the user.
func readMembership(r *http.Request, key string) (userID int64, in membershipInput, err error) {
	if err := decode(r, key, &in); err != nil {
		return 0, in, err
	}
	if _, ok := observe.Vars(r)["user_id"]; ok {
		userID, err = pathID(r, "user_id")
		return userID, in, err
	}
	if in.UserID.v < 1 {
		return 0, in, &domain.Error{Kind: domain.Invalid, Msg: "Record validation errors",
			Fields: []domain.FieldError{domain.FieldInvalid("user_id", "must name the user to add")}}
	}
	return in.UserID.v, in, nil
}

func (h *Handler) createGroupMembership(w http.ResponseWriter, r *http.Request) error {
	userID, in, err := readMembership(r, "group_membership")
	if err != nil {
		return err
	}
	m, err := h.svc.CreateGroupMembership(r.Context(), userID, in.GroupID.v)
	if err != nil {
		return err
	}
	h.created(w, r, "group_membership", "group_memberships", m.ID, h.groupMembership(r, m))
	return nil
}

func (h *Handler) createOrganizationMembership(w http.ResponseWriter, r *http.Request) error {
	userID, in, err := readMembership(r, "organization_membership")
	if err != nil {
		return err
	}
	m, err := h.svc.CreateOrganizationMembership(r.Context(), userID, in.OrganizationID.v)
	if err != nil {
		return err
	}
	h.created(w, r, "organization_membership", "organization_memberships", m.ID, h.organizationMembership(r, m))
	return nil
}

// userAndOrganization reads the {user_id} and {organization_id} of a route.
func userAndOrganization(r *http.Request) (userID, orgID int64, err error) {
	if userID, err = pathID(r, "user_id"); err == nil {
		orgID, err = pathID(r, "organization_id")
	}
	return userID, orgID, err
}

func (h *Handler) makeDefaultOrganization(w http.ResponseWriter, r *http.Request) error {
	userID, orgID, err := userAndOrganization(r)
	if err != nil {
		return err
	}
	m, err := h.svc.MakeDefaultOrganization(r.Context(), userID, orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization_membership": h.organizationMembership(r, m)})
	return nil
}

func (h *Handler) unassignOrganization(w http.ResponseWriter, r *http.Request) error {
	userID, orgID, err := userAndOrganization(r)
	if err != nil {
		return err
	}
	if err := h.svc.UnassignOrganization(r.Context(), userID, orgID); err != nil {
		return err
	}
	noContent(w)
	return nil
}
