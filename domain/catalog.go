package domain

import (
	"context"
	"slices"
)

// Groups lists groups, deleted ones included. Agents only.
func (s *Service) Groups(ctx context.Context, p PageRequest) ([]*Group, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	return paginate(s, "groups", p, groupSorting,
		func(w Window) ([]*Group, error) { return s.store.Groups(ctx, w) },
		func() (int, error) { return s.store.CountGroups(ctx) })
}

// Group returns one group. Agents only.
func (s *Service) Group(ctx context.Context, id int64) (*Group, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	return s.store.GroupByID(ctx, id)
}

// CreateGroup creates a group. Admins only.
func (s *Service) CreateGroup(ctx context.Context, c GroupChanges) (*Group, error) {
	return s.saveGroup(ctx, 0, c)
}

// UpdateGroup changes a group. Admins only.
func (s *Service) UpdateGroup(ctx context.Context, id int64, c GroupChanges) (*Group, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	return s.saveGroup(ctx, id, c)
}

// DeleteGroup marks a group deleted: its memberships stay, shown inactive
// by the legacy API, and no new member may join. The account's default
// group cannot be deleted. Admins only.
func (s *Service) DeleteGroup(ctx context.Context, id int64) error {
	if _, err := admin(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		g, err := tx.GroupByID(ctx, id)
		if err != nil {
			return err
		}
		if g.Default {
			var v invalid
			v.unacceptable("default", "cannot be deleted while it is the account's default group: make another group the default first")
			return v.err()
		}
		g.Deleted, g.UpdatedAt = true, s.Now()
		return tx.UpdateGroup(ctx, g)
	})
}

func (s *Service) saveGroup(ctx context.Context, id int64, c GroupChanges) (*Group, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	var g *Group
	err := s.inTx(ctx, func(tx Tx) (err error) {
		g, err = s.writeGroup(ctx, tx, id, c)
		return err
	})
	return g, err
}

// ensureDefaultGroup gives the account its default group when it has none:
// it creates the "Support" group a new account starts with, or, when groups
// exist but none is the default (a database from before defaults were
// kept), makes the oldest active group the default.
func (s *Service) ensureDefaultGroup(ctx context.Context) error {
	return s.inTx(ctx, func(tx Tx) error {
		gs, err := tx.Groups(ctx, Window{Limit: -1})
		if err != nil || slices.ContainsFunc(gs, func(g *Group) bool { return g.Default }) {
			return err
		}
		now := s.Now()
		if i := slices.IndexFunc(gs, func(g *Group) bool { return !g.Deleted }); i >= 0 {
			return tx.SetDefaultGroup(ctx, gs[i].ID, now)
		}
		return tx.InsertGroup(ctx, &Group{Name: DefaultGroupName, Default: true, IsPublic: true, CreatedAt: now, UpdatedAt: now})
	})
}

// writeGroup creates (id 0) or changes a group inside tx; a group given
// the default flag takes it from the old default.
func (s *Service) writeGroup(ctx context.Context, tx Tx, id int64, c GroupChanges) (*Group, error) {
	now := s.Now()
	g := &Group{CreatedAt: now, IsPublic: true}
	if id != 0 {
		var err error
		if g, err = tx.GroupByID(ctx, id); err != nil {
			return nil, err
		}
	}
	var v invalid
	c.apply(g, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	g.UpdatedAt = now
	var err error
	if id == 0 {
		err = tx.InsertGroup(ctx, g)
	} else {
		err = tx.UpdateGroup(ctx, g)
	}
	if err != nil || c.Default == nil || !*c.Default || g.Default {
		return g, err
	}
	g.Default = true
	return g, tx.SetDefaultGroup(ctx, g.ID, now)
}

// Organizations lists organizations. Agents only.
func (s *Service) Organizations(ctx context.Context, p PageRequest) ([]*Organization, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	return paginate(s, "organizations", p, organizationSorting,
		func(w Window) ([]*Organization, error) { return s.store.Organizations(ctx, w) },
		func() (int, error) { return s.store.CountOrganizations(ctx) })
}

// Organization returns one organization. Agents, and end users for their own.
func (s *Service) Organization(ctx context.Context, id int64) (*Organization, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.Role.IsAgent() {
		ms, err := s.store.OrganizationMemberships(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if _, err := findMembership(ms, id, func(m OrganizationMembership) int64 { return m.OrganizationID }); err != nil {
			return nil, errForbidden
		}
	}
	return s.store.OrganizationByID(ctx, id)
}

// CreateOrganization creates an organization; names are unique. Admins only.
func (s *Service) CreateOrganization(ctx context.Context, c OrganizationChanges) (*Organization, error) {
	return s.saveOrganization(ctx, 0, c)
}

// UpdateOrganization changes an organization. Admins only.
func (s *Service) UpdateOrganization(ctx context.Context, id int64, c OrganizationChanges) (*Organization, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	return s.saveOrganization(ctx, id, c)
}

// DeleteOrganization deletes an organization and its memberships. Admins only.
func (s *Service) DeleteOrganization(ctx context.Context, id int64) error {
	if _, err := admin(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		if _, err := tx.OrganizationByID(ctx, id); err != nil {
			return err
		}
		return tx.DeleteOrganization(ctx, id)
	})
}

func (s *Service) saveOrganization(ctx context.Context, id int64, c OrganizationChanges) (*Organization, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	var o *Organization
	err := s.inTx(ctx, func(tx Tx) (err error) {
		o, err = s.writeOrganization(ctx, tx, id, c)
		return err
	})
	return o, err
}

// writeOrganization creates (id 0) or changes an organization inside tx.
func (s *Service) writeOrganization(ctx context.Context, tx Tx, id int64, c OrganizationChanges) (*Organization, error) {
	now := s.Now()
	o := &Organization{CreatedAt: now, DomainNames: []string{}, Tags: []string{}, Fields: map[string]any{}}
	if id != 0 {
		var err error
		if o, err = tx.OrganizationByID(ctx, id); err != nil {
			return nil, err
		}
	}
	var v invalid
	c.apply(o, &v)
	if o.Name != "" {
		if holder, err := tx.OrganizationIDByName(ctx, o.Name); err == nil && holder != 0 && holder != o.ID {
			v.add("name", "DuplicateValue", "Name has already been taken", "Name: "+o.Name+" has already been taken")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	o.UpdatedAt = now
	if id == 0 {
		return o, tx.InsertOrganization(ctx, o)
	}
	return o, tx.UpdateOrganization(ctx, o)
}

// Related is what the account knows that points at a user. deskgate keeps
// no tickets, so the ticket counts are zero.
type Related struct {
	AssignedTickets           int
	RequestedTickets          int
	CCDTickets                int
	OrganizationSubscriptions int
}

// UserRelated returns the counts of records related to a user. Agents only.
func (s *Service) UserRelated(ctx context.Context, id int64) (*Related, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return nil, err
	}
	return &Related{}, nil
}
