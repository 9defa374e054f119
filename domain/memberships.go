package domain

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// membershipPlan is what a user create or update does to memberships,
// worked out (and validated) before anything is written.
type membershipPlan struct {
	groups *[]int64 // the new group list; nil leaves it
	org    *int64   // the new default organization; 0 leaves every organization
}

// checkGroups validates the group and organization changes in c for u (with
// its new role) and plans them. A user who is no longer an agent loses its
// groups: only agents and admins have group memberships.
func (s *Service) checkGroups(ctx context.Context, tx Tx, u *User, c *UserChanges, v *invalid) membershipPlan {
	var plan membershipPlan
	switch {
	case c.GroupIDs != nil:
		ids := uniqueIDs(*c.GroupIDs)
		plan.groups = &ids
	case u.Role == EndUser && len(u.Groups) > 0:
		plan.groups = &[]int64{}
	}
	if plan.groups != nil && len(*plan.groups) > 0 && !u.Role.IsAgent() {
		v.unacceptable("groups", "can only be set for agents and admins")
	}
	if plan.groups != nil {
		for _, id := range *plan.groups {
			g, err := tx.GroupByID(ctx, id)
			if err != nil || g.Deleted {
				v.unacceptable("groups", "has no active group with id "+strconv.FormatInt(id, 10))
			}
		}
	}
	if c.DefaultGroupID != nil {
		ids := memberGroupIDs(u.Groups)
		if plan.groups != nil {
			ids = *plan.groups
		}
		if !slices.Contains(ids, *c.DefaultGroupID) {
			v.unacceptable("default_group_id", "must be one of the user's groups")
		}
	}
	if c.OrganizationID != nil {
		plan.org = c.OrganizationID
		if *plan.org != 0 {
			if _, err := tx.OrganizationByID(ctx, *plan.org); err != nil {
				v.unacceptable("organization_id", "has no organization with id "+strconv.FormatInt(*plan.org, 10))
			}
		}
	}
	return plan
}

// applyMemberships writes a plan made by checkGroups.
func (s *Service) applyMemberships(ctx context.Context, tx Tx, u *User, c *UserChanges, plan membershipPlan, now time.Time) error {
	if plan.groups != nil || c.DefaultGroupID != nil {
		ids := memberGroupIDs(u.Groups)
		if plan.groups != nil {
			ids = *plan.groups
		}
		def := u.DefaultGroupID()
		if c.DefaultGroupID != nil {
			def = *c.DefaultGroupID
		}
		ms := make([]GroupMembership, len(ids))
		for i, id := range ids {
			ms[i] = GroupMembership{UserID: u.ID, GroupID: id, Default: id == def}
		}
		if err := tx.ReplaceGroupMemberships(ctx, u.ID, withOneDefault(ms, isDefaultGroup, setDefaultGroup), now); err != nil {
			return err
		}
	}
	if plan.org == nil {
		return nil
	}
	var ms []OrganizationMembership
	if *plan.org != 0 {
		old, err := tx.OrganizationMemberships(ctx, u.ID)
		if err != nil {
			return err
		}
		ms = makeDefaultOrg(old, *plan.org)
		if !slices.ContainsFunc(ms, func(m OrganizationMembership) bool { return m.OrganizationID == *plan.org }) {
			ms = append(ms, OrganizationMembership{UserID: u.ID, OrganizationID: *plan.org, Default: true})
		}
	}
	// organization_id null leaves every organization, as clearing it in the agent interface does.
	return tx.ReplaceOrganizationMemberships(ctx, u.ID, ms, now)
}

func isDefaultGroup(m GroupMembership) bool           { return m.Default }
func setDefaultGroup(m *GroupMembership, on bool)     { m.Default = on }
func isDefaultOrg(m OrganizationMembership) bool      { return m.Default }
func setDefaultOrg(m *OrganizationMembership, b bool) { m.Default = b }

// withOneDefault keeps exactly one default in a non-empty list: the first
// one marked, else the first.
func withOneDefault[T any](ms []T, isDefault func(T) bool, set func(*T, bool)) []T {
	def := max(0, slices.IndexFunc(ms, isDefault))
	for i := range ms {
		set(&ms[i], i == def)
	}
	return ms
}

func makeDefaultOrg(ms []OrganizationMembership, orgID int64) []OrganizationMembership {
	ms = slices.Clone(ms)
	for i := range ms {
		ms[i].Default = ms[i].OrganizationID == orgID
	}
	return ms
}

func memberGroupIDs(ms []GroupMembership) []int64 {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.GroupID
	}
	return ids
}

func uniqueIDs(ids []int64) []int64 {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// visibleUser loads a user whose memberships the actor reads: agents read
// anyone's, end users their own.
func (s *Service) visibleUser(ctx context.Context, r Reader, userID int64) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.canSee(userID) {
		return nil, errForbidden
	}
	return r.UserByID(ctx, userID)
}

func membershipID(m GroupMembership) int64           { return m.ID }
func orgMembershipID(m OrganizationMembership) int64 { return m.ID }

// GroupMemberships lists a user's group memberships.
func (s *Service) GroupMemberships(ctx context.Context, userID int64, p PageRequest) ([]GroupMembership, PageInfo, error) {
	u, err := s.visibleUser(ctx, s.store, userID)
	if err != nil {
		return nil, PageInfo{}, err
	}
	return pageSlice(s, "group_memberships?user="+strconv.FormatInt(userID, 10), p, u.Groups, groupMembershipSorting)
}

// GroupMembership returns one of a user's group memberships.
func (s *Service) GroupMembership(ctx context.Context, userID, id int64) (*GroupMembership, error) {
	u, err := s.visibleUser(ctx, s.store, userID)
	if err != nil {
		return nil, err
	}
	return findMembership(u.Groups, id, membershipID)
}

func findMembership[T any](ms []T, id int64, idOf func(T) int64) (*T, error) {
	i := slices.IndexFunc(ms, func(m T) bool { return idOf(m) == id })
	if i < 0 {
		return nil, ErrNotFound
	}
	return &ms[i], nil
}

// mayChangeMembershipsOf decides whether a may change u's group or
// organization memberships: admins anyone's, agents their own and end
// users', as they edit users (mayEdit); an agent's memberships are its
// admins' to arrange.
func (a *Actor) mayChangeMembershipsOf(u *User) error {
	if a.Role == Admin || a.Role == Agent && (u.Role == EndUser || a.ID == u.ID) {
		return nil
	}
	return errForbidden
}

// changeGroups runs fn on the user's group memberships in a transaction and
// writes the list it returns; the caller has checked the actor's rights.
func (s *Service) changeGroups(ctx context.Context, userID int64, fn func(u *User, ms []GroupMembership) ([]GroupMembership, error)) ([]GroupMembership, error) {
	var out []GroupMembership
	err := s.inTx(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		ms, err := fn(u, slices.Clone(u.Groups))
		if err != nil {
			return err
		}
		if err := tx.ReplaceGroupMemberships(ctx, userID, withOneDefault(ms, isDefaultGroup, setDefaultGroup), s.Now()); err != nil {
			return err
		}
		out, err = tx.GroupMemberships(ctx, userID)
		return err
	})
	return out, err
}

// CreateGroupMembership adds an agent to a group. Admins only.
func (s *Service) CreateGroupMembership(ctx context.Context, userID, groupID int64) (*GroupMembership, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	ms, err := s.changeGroups(ctx, userID, func(u *User, ms []GroupMembership) ([]GroupMembership, error) {
		var v invalid
		if !u.Role.IsAgent() {
			v.unacceptable("user_id", "must be an agent or admin to join a group")
		}
		if g, err := s.store.GroupByID(ctx, groupID); err != nil || g.Deleted {
			v.unacceptable("group_id", "has no active group with id "+strconv.FormatInt(groupID, 10))
		}
		if slices.ContainsFunc(ms, func(m GroupMembership) bool { return m.GroupID == groupID }) {
			v.add("group_id", "DuplicateValue", "Group has already been taken", "Group: the user is already a member of this group")
		}
		return append(ms, GroupMembership{UserID: userID, GroupID: groupID}), v.err()
	})
	if err != nil {
		return nil, err
	}
	return findMembership(ms, groupID, func(m GroupMembership) int64 { return m.GroupID })
}

// DeleteGroupMembership removes an agent from a group; if it was the
// default, the next membership becomes the default. Admins only.
func (s *Service) DeleteGroupMembership(ctx context.Context, userID, id int64) error {
	if _, err := admin(ctx); err != nil {
		return err
	}
	_, err := s.changeGroups(ctx, userID, func(_ *User, ms []GroupMembership) ([]GroupMembership, error) {
		i := slices.IndexFunc(ms, func(m GroupMembership) bool { return m.ID == id })
		if i < 0 {
			return nil, ErrNotFound
		}
		return slices.Delete(ms, i, i+1), nil
	})
	return err
}

// MakeDefaultGroupMembership makes one membership the agent's default and
// returns them all. Agents, as the spec's "Allowed For" says: their own,
// and admins anyone's (mayChangeMembershipsOf).
func (s *Service) MakeDefaultGroupMembership(ctx context.Context, userID, id int64) ([]GroupMembership, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, err
	}
	return s.changeGroups(ctx, userID, func(u *User, ms []GroupMembership) ([]GroupMembership, error) {
		if err := a.mayChangeMembershipsOf(u); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ms, func(m GroupMembership) bool { return m.ID == id }) {
			return nil, ErrNotFound
		}
		for i := range ms {
			ms[i].Default = ms[i].ID == id
		}
		return ms, nil
	})
}

// AccountGroupMemberships lists the account's group memberships, narrowed by
// f. Agents only.
func (s *Service) AccountGroupMemberships(ctx context.Context, f MembershipFilter, p PageRequest) ([]GroupMembership, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	return paginate(s, fmt.Sprintf("group_memberships?%d,%d", f.UserID, f.TargetID), p, groupMembershipSorting,
		func(w Window) ([]GroupMembership, error) { return s.store.AccountGroupMemberships(ctx, f, w) },
		func() (int, error) { return s.store.CountMemberships(ctx, false, f) })
}

// AccountOrganizationMemberships lists the account's organization
// memberships, narrowed by f. Agents only.
func (s *Service) AccountOrganizationMemberships(ctx context.Context, f MembershipFilter, p PageRequest) ([]OrganizationMembership, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	return paginate(s, fmt.Sprintf("organization_memberships?%d,%d", f.UserID, f.TargetID), p, organizationMembershipSorting,
		func(w Window) ([]OrganizationMembership, error) {
			return s.store.AccountOrganizationMemberships(ctx, f, w)
		},
		func() (int, error) { return s.store.CountMemberships(ctx, true, f) })
}
