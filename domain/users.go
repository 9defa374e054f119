package domain

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// User returns the user with the given id. End users see only themselves.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.canSee(id) {
		return nil, errForbidden
	}
	return s.store.UserByID(ctx, id)
}

// Me returns the authenticated user and its authenticity token, which
// browser clients echo in X-CSRF-Token. Under a session cookie it is the
// session's token (it changes with each session and renewal); Basic
// requests need none and get one derived from the user, which no session
// accepts. The real service answers anyone here: a caller without valid
// credentials gets no user and the anonymous token.
func (s *Service) Me(ctx context.Context) (*User, string, error) {
	a, err := actor(ctx)
	if KindOf(err) == Unauthenticated {
		return nil, s.authenticityToken(0), nil
	}
	if err != nil {
		return nil, "", err
	}
	u, err := s.store.UserByID(ctx, a.ID)
	if err != nil {
		return nil, "", err
	}
	token := a.sessionToken
	if token == "" {
		token = s.authenticityToken(u.ID)
	}
	return u, token, nil
}

// authenticityToken is the CSRF token of a caller without a session, by
// user id; 0 is the anonymous caller.
func (s *Service) authenticityToken(userID int64) string {
	return s.mac(fmt.Sprintf("authenticity-token:%d", userID))
}

// legacyPageSize is the legacy API's fixed page length.
const legacyPageSize = 15

// LegacySearch tells a legacy list narrowed by a query text or a role: a
// search, which the old server answered in a shape of its own.
func LegacySearch(query string, role *Role) bool {
	return strings.TrimSpace(query) != "" || role != nil
}

// LegacyUsers lists users the legacy way: every user, inactive ones too, in
// id order, 15 a page (page is 1-based). A query keeps users whose name
// contains it (its outer spaces aside); role keeps one role. A search reads
// within the search budget, as v2's do. Agents only.
func (s *Service) LegacyUsers(ctx context.Context, query string, role *Role, page int) ([]*User, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if page < 1 {
		return nil, Errorf(BadRequest, "page must be a whole number from 1 up")
	}
	if page-1 > math.MaxInt/legacyPageSize {
		return []*User{}, nil // past any directory; its offset would overflow to another page
	}
	first := (page - 1) * legacyPageSize
	if !LegacySearch(query, role) {
		return s.store.UsersByPosition(ctx, first, legacyPageSize)
	}
	query = strings.TrimSpace(query)
	f := UserFilter{NameContains: query, IncludeInactive: true}
	if role != nil {
		f.Roles = []Role{*role}
	}
	// A text whose every trigram many names share, but which no name
	// holds, reads every name: 0.8 s at 1,000,000 users.
	var us []*User
	err := s.withinSearchBudget(ctx, func(budget context.Context) (err error) {
		us, err = s.store.Users(budget, f, Window{Offset: first, Limit: legacyPageSize})
		return err
	})
	return us, err
}

// Users lists active users matching f. Agents only.
func (s *Service) Users(ctx context.Context, f UserFilter, p PageRequest) ([]*User, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	f.IncludeInactive = false
	return paginate(s, "users?"+f.key(), p, userSorting,
		func(w Window) ([]*User, error) { return s.store.Users(ctx, f, w) },
		func() (int, error) { return s.store.CountUsers(ctx, f) })
}

// CountUsers counts active users matching f. Agents only.
func (s *Service) CountUsers(ctx context.Context, f UserFilter) (int, error) {
	if _, err := agent(ctx); err != nil {
		return 0, err
	}
	f.IncludeInactive = false
	return s.store.CountUsers(ctx, f)
}

// MaxIDs is how many ids or items one request may carry.
const MaxIDs = 100

// UsersByIDs returns the users with the given ids, in the order asked,
// skipping unknown ones. Agents only.
func (s *Service) UsersByIDs(ctx context.Context, ids []int64) ([]*User, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if len(ids) > MaxIDs {
		return nil, tooMany()
	}
	us, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*User, len(us))
	for _, u := range us {
		byID[u.ID] = u
	}
	out := make([]*User, 0, len(ids))
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
			delete(byID, id) // a repeated id is listed once
		}
	}
	return out, nil
}

// UsersByExternalIDs returns the users with the given external ids
// (case-insensitive), in the order asked. Agents only.
func (s *Service) UsersByExternalIDs(ctx context.Context, externalIDs []string) ([]*User, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if len(externalIDs) > MaxIDs {
		return nil, tooMany()
	}
	us, err := s.store.UsersByExternalIDs(ctx, externalIDs)
	if err != nil {
		return nil, err
	}
	out := make([]*User, 0, len(us))
	for _, ext := range externalIDs {
		i := slices.IndexFunc(us, func(u *User) bool { return strings.EqualFold(u.ExternalID, ext) })
		if i >= 0 {
			out = append(out, us[i])
			us = slices.Delete(us, i, i+1)
		}
	}
	return out, nil
}

func tooMany() error {
	return &Error{Kind: TooMany, Code: "TooManyValues", Msg: "You may pass at most 100 ids or items in one request"}
}

// CreateUser creates a user. Agents create end users; only admins create
// agents and admins. Returns Invalid for bad fields and SeatLimit when an
// agent or admin would take a seat the account does not have.
func (s *Service) CreateUser(ctx context.Context, c UserChanges) (*User, error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.inTx(ctx, func(tx Tx) error {
		if u, err = s.createUser(ctx, tx, a, &c); err != nil {
			return err
		}
		u, err = tx.UserByID(ctx, u.ID)
		return err
	})
	return u, err
}

// createUser is CreateUser's rule and write inside a transaction, welcome
// mail included; bulk jobs apply it to each item. The user returned is
// insertUser's, as written.
func (s *Service) createUser(ctx context.Context, tx Tx, a *Actor, c *UserChanges) (*User, error) {
	if !a.Role.IsAgent() || a.Role != Admin && c.adminOnly(&User{Role: EndUser, Active: true}) {
		return nil, errForbidden
	}
	// An agent sets no password (maySetPassword), a new user's included: an
	// end user it made with a password it chose, and then merged a real end
	// user into, would sign in as that user.
	if c.Password != nil && a.Role != Admin {
		return nil, errForbidden
	}
	u, err := s.insertUser(ctx, tx, c, false)
	if err != nil || c.SkipVerifyEmail || u.Verified {
		return u, err
	}
	return u, s.sendMail(ctx, tx, welcomeMail(u))
}

// insertUser writes a new user with its identities, password and
// memberships, and returns it as written, its id and primary email right:
// what else storage derives (identity rows, memberships, the default
// organization) is not read back. Callers that answer with the user read
// it again; a bulk item needs only its id and email, and reading each back
// was a tenth of an import's CPU.
func (s *Service) insertUser(ctx context.Context, tx Tx, c *UserChanges, owner bool) (*User, error) {
	now := s.Now()
	u := &User{
		Role:        EndUser,
		Restriction: DefaultRestriction(EndUser),
		Active:      true,
		Owner:       owner,
		Locale:      "en-US",
		TimeZone:    DefaultZone,
		Tags:        []string{},
		UserFields:  map[string]any{},
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	var v invalid
	c.apply(u, &v)
	email := ""
	if c.Email != nil {
		email = strings.TrimSpace(*c.Email)
		s.checkEmail(ctx, tx, 0, email, &v)
	}
	s.checkExternalID(ctx, tx, u, c, &v)
	s.checkPhone(ctx, tx, u, c, &v)
	extra := s.checkExtraIdentities(ctx, tx, u, email, c.Identities, &v)
	if c.Password != nil {
		checkPasswordPolicy(*c.Password, email, &v)
	}
	groups := s.checkGroups(ctx, tx, u, c, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.checkSeat(ctx, tx, nil, u); err != nil {
		return nil, err
	}
	// The user has its identities from the moment it exists, whichever API
	// made it; a new user's address is its primary one.
	var primary *Identity
	if email != "" {
		primary = &Identity{Type: IdentityEmail, Value: email, Primary: true, Verified: u.Verified, CreatedAt: now, UpdatedAt: now}
	}
	if err := tx.InsertUser(ctx, u, primary); err != nil {
		return nil, err
	}
	if u.Phone != "" {
		if err := setUserPhone(ctx, tx, u, now); err != nil {
			return nil, err
		}
	}
	if err := addExtraIdentities(ctx, tx, u.ID, extra, now); err != nil {
		return nil, err
	}
	if c.Password != nil {
		if err := s.storePassword(ctx, tx, u.ID, *c.Password); err != nil {
			return nil, err
		}
	}
	if err := s.applyMemberships(ctx, tx, u, c, groups, now); err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		// Its primary address and verified flag may be an identity's
		// from the list (without email, the first email one): storage
		// derives them, so they are read back.
		return tx.UserByID(ctx, u.ID)
	}
	u.Email = email
	return u, nil
}

// UpdateUser changes the fields set in c. End users edit only themselves
// and never their privileges; agents edit end users; admins edit everyone,
// within the account owner's protection (owner.go).
func (s *Service) UpdateUser(ctx context.Context, id int64, c UserChanges) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.inTx(ctx, func(tx Tx) error {
		u, err = s.editUser(ctx, tx, a, id, &c)
		return err
	})
	return u, err
}

// editUser is UpdateUser inside a transaction; bulk jobs apply it to each item.
func (s *Service) editUser(ctx context.Context, tx Tx, a *Actor, id int64, c *UserChanges) (*User, error) {
	old, err := tx.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := a.mayEdit(old, c); err != nil {
		return nil, err
	}
	if c.Password != nil {
		if err := s.mayUpdatePassword(a, old); err != nil {
			return nil, err
		}
	}
	return s.updateUser(ctx, tx, old, c)
}

var errEndUserOwnFields = &Error{Kind: Forbidden, Msg: "End users may change only their own name, locale, time zone and password"}

// mayEdit decides whether a may apply c to u.
func (a *Actor) mayEdit(u *User, c *UserChanges) error {
	switch {
	case a.Role == Admin:
	case c.adminOnly(u):
		return errForbidden
	case a.Role == Agent && u.Role == EndUser:
	case a.ID == u.ID && u.Role == EndUser && !c.endUserOwn():
		return errEndUserOwnFields
	case a.ID == u.ID && c.Restriction == nil && c.Suspended == nil && c.Verified == nil:
	default:
		return errForbidden
	}
	return a.ownerRules(u, c)
}

func (s *Service) updateUser(ctx context.Context, tx Tx, old *User, c *UserChanges) (*User, error) {
	now := s.Now()
	u := *old
	u.Groups = slices.Clone(old.Groups)
	var v invalid
	c.apply(&u, &v)
	email := ""
	if c.Email != nil {
		if email = strings.TrimSpace(*c.Email); strings.EqualFold(email, old.Email) {
			email = ""
		} else {
			s.checkEmail(ctx, tx, u.ID, email, &v)
		}
	}
	s.checkExternalID(ctx, tx, &u, c, &v)
	s.checkPhone(ctx, tx, &u, c, &v)
	if c.Password != nil {
		checkPasswordPolicy(*c.Password, u.Email, &v)
	}
	groups := s.checkGroups(ctx, tx, &u, c, &v)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.checkSeat(ctx, tx, old, &u); err != nil {
		return nil, err
	}
	// The phone identity changes first: the store keeps a phone on the user
	// only while no primary phone identity holds it.
	if c.Phone != nil || c.SharedPhoneNumber != nil {
		if err := setUserPhone(ctx, tx, &u, now); err != nil {
			return nil, err
		}
	}
	u.UpdatedAt = now
	if err := tx.UpdateUser(ctx, &u); err != nil {
		return nil, err
	}
	s.endStreamsOfDemoted(old, &u)
	if old.Active && !u.Active || !old.Suspended && u.Suspended {
		if err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	if email != "" {
		if err := setUserEmail(ctx, tx, &u, email, c.ReplaceEmail, now); err != nil {
			return nil, err
		}
	}
	if c.Verified != nil {
		if err := setEmailVerified(ctx, tx, u.ID, *c.Verified, now); err != nil {
			return nil, err
		}
	}
	if email != "" && !c.SkipVerifyEmail {
		if err := s.askToVerify(ctx, tx, &u, email); err != nil {
			return nil, err
		}
	}
	if c.Password != nil {
		if err := s.changePassword(ctx, tx, u.ID, *c.Password); err != nil {
			return nil, err
		}
	}
	if err := s.applyMemberships(ctx, tx, &u, c, groups, now); err != nil {
		return nil, err
	}
	return tx.UserByID(ctx, u.ID)
}

// DeleteUser soft-deletes a user: it becomes inactive and frees its seat.
// Admins only; the account owner cannot be deleted. Deleting twice is harmless.
func (s *Service) DeleteUser(ctx context.Context, id int64) (*User, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.inTx(ctx, func(tx Tx) error {
		u, err = s.softDelete(ctx, tx, a, id)
		return err
	})
	return u, err
}

// softDelete is DeleteUser inside a transaction; bulk jobs apply it to each item.
func (s *Service) softDelete(ctx context.Context, tx Tx, a *Actor, id int64) (*User, error) {
	if a.Role != Admin {
		return nil, errForbidden
	}
	old, err := tx.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := refuseOwner(old, ownerDeleted); err != nil {
		return nil, err
	}
	if err := s.deactivate(ctx, tx, old); err != nil {
		return nil, err
	}
	return tx.UserByID(ctx, id)
}

// deactivate soft-deletes u unless it already is: it becomes inactive,
// frees its seat and is signed out of its browser sessions, keeping
// everything else.
func (s *Service) deactivate(ctx context.Context, tx Tx, u *User) error {
	if !u.Active {
		return nil
	}
	d := *u
	d.Active = false
	d.UpdatedAt = s.Now()
	if err := tx.UpdateUser(ctx, &d); err != nil {
		return err
	}
	s.endStreamsOfDemoted(u, &d)
	return tx.DeleteUserSessions(ctx, u.ID)
}

// checkSeat refuses a change that makes u take an agent seat (a new agent
// or admin, a promotion, a re-activation) when none is left. It runs in the
// write transaction, so concurrent requests cannot both take the last seat.
func (s *Service) checkSeat(ctx context.Context, tx Tx, old, u *User) error {
	if s.seats == 0 || !u.holdsSeat() || old != nil && old.holdsSeat() {
		return nil
	}
	n, err := tx.CountSeats(ctx)
	if err != nil {
		return err
	}
	if n >= s.seats {
		return &Error{
			Kind: SeatLimit,
			Code: "MaxAgentExceeded",
			Msg:  "The account has no agent seat left",
			Fields: []FieldError{{
				Field:       "role",
				Code:        "MaxAgentExceeded",
				Message:     "Role cannot be " + u.Role.String() + ": all agent seats are taken",
				Description: "Role: cannot be " + u.Role.String() + " because the account has reached its maximum number of agents",
			}},
		}
	}
	return nil
}

func (s *Service) checkEmail(ctx context.Context, tx Tx, userID int64, email string, v *invalid) {
	if email == "" {
		return
	}
	if problem := textProblem(email, lineText); problem != "" {
		v.unacceptable("email", problem) // never echo invisible characters back
		return
	}
	if !validEmail(email) {
		v.malformed("email", email)
		return
	}
	s.checkHolder(ctx, tx, userID, IdentityEmail, email, "email", v)
}

func (s *Service) checkExternalID(ctx context.Context, tx Tx, u *User, c *UserChanges, v *invalid) {
	if c.ExternalID == nil || u.ExternalID == "" {
		return
	}
	holder, err := tx.UserIDByExternalID(ctx, u.ExternalID)
	if err == nil && holder != 0 && holder != u.ID {
		v.taken("external_id", u.ExternalID)
	}
}

// CreateOrUpdateUser updates the user matching c by external id or, failing
// that, by email, and creates one when none matches. It reports whether it
// created. The permissions and rules are those of CreateUser and UpdateUser.
func (s *Service) CreateOrUpdateUser(ctx context.Context, c UserChanges) (u *User, created bool, err error) {
	a, err := agent(ctx)
	if err != nil {
		return nil, false, err
	}
	err = s.inTx(ctx, func(tx Tx) error {
		if u, created, err = s.createOrUpdate(ctx, tx, a, &c); err != nil || !created {
			return err
		}
		u, err = tx.UserByID(ctx, u.ID)
		return err
	})
	return u, created, err
}

// createOrUpdate matches by external id first, as the real service prefers
// it when both keys point at different users (unconfirmed). An external id
// match is case-insensitive and stores the case sent.
func (s *Service) createOrUpdate(ctx context.Context, tx Tx, a *Actor, c *UserChanges) (*User, bool, error) {
	var id int64
	var err error
	if c.ExternalID != nil && strings.TrimSpace(*c.ExternalID) != "" {
		id, err = tx.UserIDByExternalID(ctx, strings.TrimSpace(*c.ExternalID))
	}
	if err == nil && id == 0 && c.Email != nil && strings.TrimSpace(*c.Email) != "" {
		id, err = tx.UserIDByIdentity(ctx, IdentityEmail, strings.TrimSpace(*c.Email))
	}
	switch {
	case err != nil:
		return nil, false, err
	case id == 0:
		u, err := s.createUser(ctx, tx, a, c)
		return u, true, err
	}
	u, err := s.editUser(ctx, tx, a, id, c)
	return u, false, err
}
