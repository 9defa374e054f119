package jsonapi

import (
	"net/http"

	"github.com/deskgate/deskgate/domain"
)

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	gs, info, err := h.svc.Groups(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "groups", each(r, gs, h.group), info))
	return nil
}

func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "group_id")
	if err != nil {
		return err
	}
	g, err := h.svc.Group(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": h.group(r, g)})
	return nil
}

type groupInput struct {
	Name        opt[string] `json:"name"`
	Description opt[string] `json:"description"`
	Default     opt[bool]   `json:"default"`
	IsPublic    opt[bool]   `json:"is_public"`
}

// readGroup reads a group create or update body.
func readGroup(r *http.Request) (domain.GroupChanges, error) {
	var in groupInput
	if err := decode(r, "group", &in); err != nil {
		return domain.GroupChanges{}, err
	}
	return domain.GroupChanges{Name: in.Name.clearable(), Description: in.Description.clearable(),
		Default: in.Default.ptr(), IsPublic: in.IsPublic.ptr()}, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	c, err := readGroup(r)
	if err != nil {
		return err
	}
	g, err := h.svc.CreateGroup(r.Context(), c)
	if err != nil {
		return err
	}
	h.created(w, r, "group", "groups", g.ID, h.group(r, g))
	return nil
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "group_id")
	if err != nil {
		return err
	}
	c, err := readGroup(r)
	if err != nil {
		return err
	}
	g, err := h.svc.UpdateGroup(r.Context(), id, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": h.group(r, g)})
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "group_id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *Handler) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	os, info, err := h.svc.Organizations(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.listBody(r, "organizations", each(r, os, h.organization), info))
	return nil
}

func (h *Handler) showOrganization(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "organization_id")
	if err != nil {
		return err
	}
	o, err := h.svc.Organization(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization": h.organization(r, o)})
	return nil
}

type organizationInput struct {
	Name               opt[string]         `json:"name"`
	Details            opt[string]         `json:"details"`
	Notes              opt[string]         `json:"notes"`
	ExternalID         opt[string]         `json:"external_id"`
	DomainNames        opt[[]string]       `json:"domain_names"`
	GroupID            opt[int64]          `json:"group_id"`
	SharedTickets      opt[bool]           `json:"shared_tickets"`
	SharedComments     opt[bool]           `json:"shared_comments"`
	Tags               opt[[]string]       `json:"tags"`
	OrganizationFields opt[map[string]any] `json:"organization_fields"`
}

// readOrganization reads an organization create or update body.
func readOrganization(r *http.Request) (domain.OrganizationChanges, error) {
	var in organizationInput
	if err := decode(r, "organization", &in); err != nil {
		return domain.OrganizationChanges{}, err
	}
	return domain.OrganizationChanges{Name: in.Name.clearable(), Details: in.Details.clearable(), Notes: in.Notes.clearable(),
		ExternalID: in.ExternalID.clearable(), DomainNames: in.DomainNames.clearable(), GroupID: in.GroupID.clearable(),
		SharedTickets: in.SharedTickets.ptr(), SharedComments: in.SharedComments.ptr(), Tags: in.Tags.clearable(),
		Fields: in.OrganizationFields.v}, nil
}

func (h *Handler) createOrganization(w http.ResponseWriter, r *http.Request) error {
	c, err := readOrganization(r)
	if err != nil {
		return err
	}
	o, err := h.svc.CreateOrganization(r.Context(), c)
	if err != nil {
		return err
	}
	h.created(w, r, "organization", "organizations", o.ID, h.organization(r, o))
	return nil
}

func (h *Handler) updateOrganization(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "organization_id")
	if err != nil {
		return err
	}
	c, err := readOrganization(r)
	if err != nil {
		return err
	}
	o, err := h.svc.UpdateOrganization(r.Context(), id, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization": h.organization(r, o)})
	return nil
}

func (h *Handler) deleteOrganization(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "organization_id")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteOrganization(r.Context(), id); err != nil {
		return err
	}
	noContent(w)
	return nil
}
