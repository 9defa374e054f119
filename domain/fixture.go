package domain

import (
	"context"
	"fmt"
	"strings"
)

// Fixture is a directory to load in one go, for test mode: organizations and
// groups first, so that users can name them.
type Fixture struct {
	Organizations []OrganizationChanges
	Groups        []GroupChanges
	Users         []FixtureUser
}

// FixtureUser is a user with what hangs off it; its further identities are
// UserChanges.Identities, as a v2 create takes them. Groups and organizations
// are named, not numbered, so a fixture reads the same whatever ids it gets.
type FixtureUser struct {
	UserChanges
	Role         *string  // the v2 role name; nil for an end user
	Groups       []string // names of groups, the fixture's or the account's; the first is the default
	Organization string   // name of an organization, the fixture's or the account's
	Identities   []string // email addresses besides the primary one
	Tokens       []string // API tokens, stored hashed like any other
}

// Loaded lists the ids a fixture created, in fixture order.
type Loaded struct {
	OrganizationIDs []int64
	GroupIDs        []int64
	UserIDs         []int64
}

// CheckOwner returns nil when the actor is the account owner: test mode's
// control operations (fixtures, reset, snapshots, clock, faults) are its alone.
func (s *Service) CheckOwner(ctx context.Context) error {
	a, err := actor(ctx)
	if err == nil && !a.Owner {
		err = errForbidden
	}
	return err
}

// AsOwner returns ctx acting for the account owner, for work the server does
// on the owner's behalf at start-up (test mode's -fixtures). Bootstrap makes
// the owner the first user.
func (s *Service) AsOwner(ctx context.Context) (context.Context, error) {
	us, err := s.store.UsersByPosition(ctx, 0, 1)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 || !us[0].Owner {
		return nil, Errorf(NotFound, "the account has no owner yet")
	}
	return WithActor(ctx, &Actor{ID: us[0].ID, Role: us[0].Role, Owner: true}), nil
}

// StoreReplaced tells the service that the store's contents changed under
// it (a snapshot restored, a reset): like any committed write, it makes every
// remembered credential and rendering stale; and an emptied directory gets back the
// default group every account has.
func (s *Service) StoreReplaced(ctx context.Context) error {
	s.writes.everything()
	return s.ensureDefaultGroup(ctx)
}

// LoadFixture creates everything in f through the same rules as the APIs
// (validation, uniqueness, seats), in one transaction: a fixture with one bad
// item is refused whole, and the error names the item. Owner only.
func (s *Service) LoadFixture(ctx context.Context, f Fixture) (*Loaded, error) {
	if err := s.CheckOwner(ctx); err != nil {
		return nil, err
	}
	var l *Loaded
	err := s.inTx(ctx, func(tx Tx) error {
		l = &Loaded{}
		orgs, groups, err := s.namedRecords(ctx, tx)
		if err != nil {
			return err
		}
		err = createAll("organizations", f.Organizations, orgs, &l.OrganizationIDs, func(c OrganizationChanges) (int64, string, error) {
			o, err := s.writeOrganization(ctx, tx, 0, c)
			if err != nil {
				return 0, deref(c.Name), err
			}
			return o.ID, o.Name, nil
		})
		if err != nil {
			return err
		}
		err = createAll("groups", f.Groups, groups, &l.GroupIDs, func(c GroupChanges) (int64, string, error) {
			g, err := s.writeGroup(ctx, tx, 0, c)
			if err != nil {
				return 0, deref(c.Name), err
			}
			return g.ID, g.Name, nil
		})
		if err != nil {
			return err
		}
		for i, fu := range f.Users {
			id, err := s.insertFixtureUser(ctx, tx, fu, groups, orgs)
			if err != nil {
				return inItem(err, "users", i, deref(fu.Email))
			}
			l.UserIDs = append(l.UserIDs, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// namedRecords maps the names of the account's organizations and active
// groups (lower-cased) to their ids, for fixture users to name.
func (s *Service) namedRecords(ctx context.Context, tx Tx) (orgs, groups map[string]int64, err error) {
	ol, err := tx.Organizations(ctx, Window{Limit: -1})
	if err != nil {
		return nil, nil, err
	}
	gs, err := tx.Groups(ctx, Window{Limit: -1})
	if err != nil {
		return nil, nil, err
	}
	orgs, groups = map[string]int64{}, map[string]int64{}
	for _, o := range ol {
		orgs[strings.ToLower(o.Name)] = o.ID
	}
	for _, g := range gs {
		if _, taken := groups[strings.ToLower(g.Name)]; !taken && !g.Deleted {
			groups[strings.ToLower(g.Name)] = g.ID // the oldest of equally named groups
		}
	}
	return orgs, groups, nil
}

// createAll creates each item of a fixture list, naming the item in an
// error; it appends the new ids to ids and records them in byName under
// their lower-cased names, where a fixture's group wins over an older one of
// the same name. create returns the item's id and name, or its name and why
// it failed.
func createAll[C any](list string, items []C, byName map[string]int64, ids *[]int64, create func(C) (int64, string, error)) error {
	for i, c := range items {
		id, name, err := create(c)
		if err != nil {
			return inItem(err, list, i, name)
		}
		byName[strings.ToLower(name)] = id
		*ids = append(*ids, id)
	}
	return nil
}

func (s *Service) insertFixtureUser(ctx context.Context, tx Tx, fu FixtureUser, groups, orgs map[string]int64) (int64, error) {
	c := fu.UserChanges
	var v invalid
	if fu.Role != nil {
		r, ok := ParseRole(*fu.Role)
		if !ok {
			v.unacceptable("role", "must be end-user, agent or admin")
		}
		c.Role = &r
	}
	if len(fu.Groups) > 0 {
		ids := make([]int64, 0, len(fu.Groups))
		for _, name := range fu.Groups {
			id, ok := groups[strings.ToLower(name)]
			if !ok {
				v.unacceptable("groups", "has no group named "+name+" in the fixture or the account")
			}
			ids = append(ids, id)
		}
		c.GroupIDs, c.DefaultGroupID = &ids, &ids[0]
	}
	if fu.Organization != "" {
		id, ok := orgs[strings.ToLower(fu.Organization)]
		if !ok {
			v.unacceptable("organization", "has no organization named "+fu.Organization+" in the fixture or the account")
		}
		c.OrganizationID = &id
	}
	if err := v.err(); err != nil {
		return 0, err
	}
	u, err := s.insertUser(ctx, tx, &c, false)
	if err != nil {
		return 0, err
	}
	for _, token := range fu.Tokens {
		if token == "" {
			return 0, invalid{FieldInvalid("tokens", "cannot hold an empty token")}.err()
		}
		if err := tx.AddToken(ctx, u.ID, HashToken(token), s.Now()); err != nil {
			return 0, err
		}
	}
	return u.ID, nil
}

// inItem prefixes err's message with the fixture item it is about, e.g.
// "users[2] (bo@example.com): Record validation errors".
func inItem(err error, list string, i int, label string) error {
	e := *AsError(err)
	item := fmt.Sprintf("%s[%d]", list, i)
	if label = strings.TrimSpace(label); label != "" {
		item += " (" + label + ")"
	}
	e.Msg = item + ": " + e.Msg
	return &e
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
