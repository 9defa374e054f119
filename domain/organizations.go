package domain

import (
	"context"
	"slices"
	"strconv"
)

// OrganizationMemberships lists a user's organization memberships, the
// default first, then by organization name.
func (s *Service) OrganizationMemberships(ctx context.Context, userID int64, p PageRequest) ([]OrganizationMembership, PageInfo, error) {
	if _, err := s.visibleUser(ctx, s.store, userID); err != nil {
		return nil, PageInfo{}, err
	}
	ms, err := s.store.OrganizationMemberships(ctx, userID)
	if err != nil {
		return nil, PageInfo{}, err
	}
	return pageSlice(s, "organization_memberships?user="+strconv.FormatInt(userID, 10), p, ms, organizationMembershipSorting)
}

// OrganizationMembership returns one of a user's organization memberships.
func (s *Service) OrganizationMembership(ctx context.Context, userID, id int64) (*OrganizationMembership, error) {
	if _, err := s.visibleUser(ctx, s.store, userID); err != nil {
		return nil, err
	}
	ms, err := s.store.OrganizationMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	return findMembership(ms, id, orgMembershipID)
}

// changeOrganizations runs fn on the user's organization memberships in a
// transaction and writes the list it returns. Agents, as
// mayChangeMembershipsOf allows; the default is kept unique.
func (s *Service) changeOrganizations(ctx context.Context, userID int64, fn func(ms []OrganizationMembership) ([]OrganizationMembership, error)) ([]OrganizationMembership, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, err
	}
	var out []OrganizationMembership
	err = s.inTx(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := a.mayChangeMembershipsOf(u); err != nil {
			return err
		}
		old, err := tx.OrganizationMemberships(ctx, userID)
		if err != nil {
			return err
		}
		ms, err := fn(slices.Clone(old))
		if err != nil {
			return err
		}
		if err := tx.ReplaceOrganizationMemberships(ctx, userID, withOneDefault(ms, isDefaultOrg, setDefaultOrg), s.Now()); err != nil {
			return err
		}
		out, err = tx.OrganizationMemberships(ctx, userID)
		return err
	})
	return out, err
}

func byOrganization(orgID int64) func(OrganizationMembership) bool {
	return func(m OrganizationMembership) bool { return m.OrganizationID == orgID }
}

func byMembershipID(id int64) func(OrganizationMembership) bool {
	return func(m OrganizationMembership) bool { return m.ID == id }
}

// CreateOrganizationMembership adds a user to an organization; a user's
// first organization becomes its default. A repeated membership is Invalid.
func (s *Service) CreateOrganizationMembership(ctx context.Context, userID, orgID int64) (*OrganizationMembership, error) {
	ms, err := s.changeOrganizations(ctx, userID, func(ms []OrganizationMembership) ([]OrganizationMembership, error) {
		var v invalid
		if _, err := s.store.OrganizationByID(ctx, orgID); err != nil {
			v.unacceptable("organization_id", "has no organization with id "+strconv.FormatInt(orgID, 10))
		}
		if slices.ContainsFunc(ms, byOrganization(orgID)) {
			v.add("organization_id", "DuplicateValue", "Organization has already been taken", "Organization: the user is already a member of this organization")
		}
		return append(ms, OrganizationMembership{UserID: userID, OrganizationID: orgID}), v.err()
	})
	if err != nil {
		return nil, err
	}
	return findMembership(ms, orgID, func(m OrganizationMembership) int64 { return m.OrganizationID })
}

// DeleteOrganizationMembership removes one membership; if it was the
// default, the next one becomes the default.
func (s *Service) DeleteOrganizationMembership(ctx context.Context, userID, id int64) error {
	_, err := s.changeOrganizations(ctx, userID, func(ms []OrganizationMembership) ([]OrganizationMembership, error) {
		i := slices.IndexFunc(ms, byMembershipID(id))
		if i < 0 {
			return nil, ErrNotFound
		}
		return slices.Delete(ms, i, i+1), nil
	})
	return err
}

// UnassignOrganization removes the user from the organization.
func (s *Service) UnassignOrganization(ctx context.Context, userID, orgID int64) error {
	_, err := s.changeOrganizations(ctx, userID, func(ms []OrganizationMembership) ([]OrganizationMembership, error) {
		i := slices.IndexFunc(ms, byOrganization(orgID))
		if i < 0 {
			return nil, ErrNotFound
		}
		return slices.Delete(ms, i, i+1), nil
	})
	return err
}

// MakeDefaultOrganizationMembership makes a membership the user's default
// and returns them all.
func (s *Service) MakeDefaultOrganizationMembership(ctx context.Context, userID, id int64) ([]OrganizationMembership, error) {
	return s.changeOrganizations(ctx, userID, func(ms []OrganizationMembership) ([]OrganizationMembership, error) {
		i := slices.IndexFunc(ms, byMembershipID(id))
		if i < 0 {
			return nil, ErrNotFound
		}
		return makeDefaultOrg(ms, ms[i].OrganizationID), nil
	})
}

// MakeDefaultOrganization makes the user's membership of the organization
// its default and returns that membership.
func (s *Service) MakeDefaultOrganization(ctx context.Context, userID, orgID int64) (*OrganizationMembership, error) {
	ms, err := s.changeOrganizations(ctx, userID, func(ms []OrganizationMembership) ([]OrganizationMembership, error) {
		if !slices.ContainsFunc(ms, byOrganization(orgID)) {
			return nil, ErrNotFound
		}
		return makeDefaultOrg(ms, orgID), nil
	})
	if err != nil {
		return nil, err
	}
	return findMembership(ms, orgID, func(m OrganizationMembership) int64 { return m.OrganizationID })
}
