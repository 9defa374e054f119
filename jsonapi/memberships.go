package jsonapi

import (
	"net/http"
)

// userAndMembership reads the {user_id} and {membership_id} of a route.
func userAndMembership(r *http.Request) (userID, membershipID int64, err error) {
	if userID, err = pathID(r, "user_id"); err == nil {
		membershipID, err = pathID(r, "membership_id")
	}
	return userID, membershipID, err
}

func (h *Handler) listGroupMemberships(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ms, info, err := h.svc.GroupMemberships(r.Context(), userID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "group_memberships", h.groupMemberships(r, ms), info))
	return nil
}

func (h *Handler) showGroupMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	m, err := h.svc.GroupMembership(r.Context(), userID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_membership": h.groupMembership(r, m)})
	return nil
}

// membershipInput is the body of a membership create. The user comes from
// the path; a user_id in the body is not trusted.
type membershipInput struct {
	GroupID        opt[int64] `json:"group_id"`
	OrganizationID opt[int64] `json:"organization_id"`
}

func (h *Handler) readMembership(r *http.Request, key string) (*membershipInput, error) {
	var in membershipInput
	return &in, decode(r, key, &in)
}

func (h *Handler) createGroupMembership(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	in, err := h.readMembership(r, "group_membership")
	if err != nil {
		return err
	}
	m, err := h.svc.CreateGroupMembership(r.Context(), userID, in.GroupID.v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"group_membership": h.groupMembership(r, m)})
	return nil
}

func (h *Handler) deleteGroupMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteGroupMembership(r.Context(), userID, id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *Handler) makeDefaultGroupMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	ms, err := h.svc.MakeDefaultGroupMembership(r.Context(), userID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"group_memberships": h.groupMemberships(r, ms)})
	return nil
}

func (h *Handler) listOrganizationMemberships(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	ms, info, err := h.svc.OrganizationMemberships(r.Context(), userID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "organization_memberships", h.organizationMemberships(r, ms), info))
	return nil
}

func (h *Handler) showOrganizationMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	m, err := h.svc.OrganizationMembership(r.Context(), userID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization_membership": h.organizationMembership(r, m)})
	return nil
}

func (h *Handler) createOrganizationMembership(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	in, err := h.readMembership(r, "organization_membership")
	if err != nil {
		return err
	}
	m, err := h.svc.CreateOrganizationMembership(r.Context(), userID, in.OrganizationID.v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"organization_membership": h.organizationMembership(r, m)})
	return nil
}

func (h *Handler) deleteOrganizationMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteOrganizationMembership(r.Context(), userID, id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *Handler) makeDefaultOrganizationMembership(w http.ResponseWriter, r *http.Request) error {
	userID, id, err := userAndMembership(r)
	if err != nil {
		return err
	}
	ms, err := h.svc.MakeDefaultOrganizationMembership(r.Context(), userID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization_memberships": h.organizationMemberships(r, ms)})
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
