package domain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// identityNeed is what an actor wants to do with a user's identities.
type identityNeed uint8

const (
	viewIdentities   identityNeed = iota // list and show
	choosePrimary                        // make_primary
	manageIdentities                     // create, update, delete, verify, request verification
)

var errOwnerEmailVerify = &Error{Kind: Forbidden, Msg: "For security reasons the account owner's email cannot be verified through the API; send a verification email instead"}

// mayUseIdentities decides whether a may do need with u's identities.
// Agents read everyone's and change those of the users they may edit (an
// agent: end users and itself; an admin: everyone); only the owner changes
// the owner's. Verified end users read their own and choose their primary
// ones, as the seed's "Allowed For" lines say.
func (a *Actor) mayUseIdentities(u *User, need identityNeed) error {
	if need != viewIdentities {
		if err := a.mayChangeCredentials(u); err != nil {
			return err
		}
	}
	switch {
	case a.Role == Admin, a.Role == Agent && (need == viewIdentities || u.Role == EndUser || a.ID == u.ID):
		return nil
	case a.ID == u.ID && need != manageIdentities && u.Verified:
		return nil
	}
	return errForbidden
}

// identityScope is a user's identities as the actor may see them: all of
// them for agents, the email addresses and phone numbers for end users.
type identityScope struct {
	actor *Actor
	user  *User
	ids   []Identity // in id order
}

// identityScope checks that the actor may do need with the user's identities
// and loads them.
func (s *Service) identityScope(ctx context.Context, r Reader, userID int64, need identityNeed) (*identityScope, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.canSee(userID) {
		return nil, errForbidden
	}
	u, err := r.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := a.mayUseIdentities(u, need); err != nil {
		return nil, err
	}
	ids, err := r.Identities(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !a.Role.IsAgent() {
		ids = slices.DeleteFunc(ids, func(i Identity) bool { return !i.Type.seenByEndUsers() })
	}
	return &identityScope{actor: a, user: u, ids: ids}, nil
}

// find returns the index of the identity with the given id. Another user's
// identity, or one the actor may not see, is NotFound: ids do not leak
// across users.
func (sc *identityScope) find(id int64) (int, error) {
	i := slices.IndexFunc(sc.ids, func(x Identity) bool { return x.ID == id })
	if i < 0 {
		return 0, ErrNotFound
	}
	return i, nil
}

// changeIdentities runs fn on a user's identities in one write transaction,
// after checking that the actor may do need; id, when not 0, must name one
// of them, and fn gets its index. The user's updated_at follows the change:
// its email, phone or verified may have changed with it.
func (s *Service) changeIdentities(ctx context.Context, userID, id int64, need identityNeed, fn func(tx Tx, sc *identityScope, i int, now time.Time) error) error {
	return s.inTx(ctx, func(tx Tx) error {
		sc, err := s.identityScope(ctx, tx, userID, need)
		if err != nil {
			return err
		}
		i := -1
		if id != 0 {
			if i, err = sc.find(id); err != nil {
				return err
			}
		}
		now := s.Now()
		if err := fn(tx, sc, i, now); err != nil {
			return err
		}
		return tx.TouchUser(ctx, userID, now)
	})
}

// Identities lists a user's identities of the given types (all when none),
// in id order.
func (s *Service) Identities(ctx context.Context, userID int64, types []IdentityType, p PageRequest) ([]Identity, PageInfo, error) {
	sc, err := s.identityScope(ctx, s.store, userID, viewIdentities)
	if err != nil {
		return nil, PageInfo{}, err
	}
	ids := sc.ids
	if len(types) > 0 {
		ids = slices.DeleteFunc(ids, func(i Identity) bool { return !slices.Contains(types, i.Type) })
	}
	key := slices.Compact(slices.Sorted(slices.Values(types)))
	return pageSlice(s, fmt.Sprintf("identities?user=%d&types=%v", userID, key), p, ids, identitySorting)
}

// Identity returns one of a user's identities.
func (s *Service) Identity(ctx context.Context, userID, id int64) (*Identity, error) {
	sc, err := s.identityScope(ctx, s.store, userID, viewIdentities)
	if err != nil {
		return nil, err
	}
	i, err := sc.find(id)
	if err != nil {
		return nil, err
	}
	return &sc.ids[i], nil
}

// NewIdentity is an identity to add to a user.
type NewIdentity struct {
	Type     IdentityType
	Value    string
	Primary  bool // make it the primary one of its type; the first of a type always is
	Verified bool
	// SkipVerifyEmail sends no verification mail for an email identity,
	// except on one's own agent profile, as the real service does.
	SkipVerifyEmail bool
}

// CreateIdentity adds an identity to a user. Returns Invalid for a bad type
// or value and for a value the user or another user already has.
func (s *Service) CreateIdentity(ctx context.Context, userID int64, in NewIdentity) (*Identity, error) {
	var out *Identity
	err := s.changeIdentities(ctx, userID, 0, manageIdentities, func(tx Tx, sc *identityScope, _ int, now time.Time) error {
		var v invalid
		if value, ok := checkIdentityValue(in.Type, in.Value, "type", "value", &v); ok {
			s.checkNewValue(ctx, tx, sc, in.Type, value, &v)
			in.Value = value
		}
		if err := v.err(); err != nil {
			return err
		}
		if err := mayVerify(sc.user, in.Type, in.Verified); err != nil {
			return err
		}
		n := Identity{UserID: userID, Type: in.Type, Value: in.Value, Verified: in.Verified,
			Primary: in.Primary || primaryOf(sc.ids, in.Type) < 0, CreatedAt: now, UpdatedAt: now}
		var err error
		if out, err = addIdentity(ctx, tx, sc.ids, n); err != nil {
			return err
		}
		ownAgentProfile := sc.actor.ID == userID && sc.actor.Role.IsAgent()
		if n.Type == IdentityEmail && !n.Verified && (!in.SkipVerifyEmail || ownAgentProfile) {
			return s.sendMail(ctx, tx, verificationMail(sc.user, out))
		}
		return nil
	})
	return out, err
}

// IdentityChanges are what an identity update may change; nil leaves a
// part as it is. Primary is not among them: MakePrimaryIdentity changes it.
type IdentityChanges struct {
	Value    *string
	Verified *bool
}

// UpdateIdentity changes an identity's value or verified state. A new value
// is unverified unless Verified says otherwise.
func (s *Service) UpdateIdentity(ctx context.Context, userID, id int64, c IdentityChanges) (*Identity, error) {
	var out *Identity
	err := s.changeIdentities(ctx, userID, id, manageIdentities, func(tx Tx, sc *identityScope, i int, now time.Time) error {
		n := sc.ids[i]
		var v invalid
		if c.Value != nil {
			value, ok := checkIdentityValue(n.Type, *c.Value, "type", "value", &v)
			if ok && !strings.EqualFold(value, n.Value) {
				s.checkNewValue(ctx, tx, sc, n.Type, value, &v)
				n.Verified = false
			}
			n.Value = value
		}
		if err := v.err(); err != nil {
			return err
		}
		if c.Verified != nil {
			if err := mayVerify(sc.user, n.Type, *c.Verified); err != nil {
				return err
			}
			n.Verified = *c.Verified
		}
		n.UpdatedAt = now
		out = &n
		return tx.UpdateIdentity(ctx, &n)
	})
	return out, err
}

// VerifyIdentity marks an identity verified. Refused for the account
// owner's email: whoever holds the owner's credentials must not be able to
// confirm an address of their own.
func (s *Service) VerifyIdentity(ctx context.Context, userID, id int64) (*Identity, error) {
	verified := true
	return s.UpdateIdentity(ctx, userID, id, IdentityChanges{Verified: &verified})
}

// mayVerify refuses marking an email of the account owner verified.
func mayVerify(u *User, t IdentityType, verified bool) error {
	if verified && u.Owner && t == IdentityEmail {
		return errOwnerEmailVerify
	}
	return nil
}

// DeleteIdentity removes an identity. A user keeps at least one, and its
// primary email stays while it has others (make another primary first). A
// deleted primary of another type hands over to the oldest one left.
func (s *Service) DeleteIdentity(ctx context.Context, userID, id int64) error {
	return s.changeIdentities(ctx, userID, id, manageIdentities, func(tx Tx, sc *identityScope, i int, now time.Time) error {
		gone := sc.ids[i]
		switch {
		case len(sc.ids) == 1:
			return Errorf(Conflict, "The user's only identity cannot be deleted")
		case gone.Primary && gone.Type == IdentityEmail:
			return Errorf(Conflict, "The primary email cannot be deleted while the user has other identities; make another email primary first")
		}
		if err := tx.DeleteIdentity(ctx, gone.UserID, gone.ID); err != nil {
			return err
		}
		rest := slices.Delete(slices.Clone(sc.ids), i, i+1)
		if j := slices.IndexFunc(rest, func(x Identity) bool { return x.Type == gone.Type }); gone.Primary && j >= 0 {
			return promote(ctx, tx, rest, j, now)
		}
		return nil
	})
}

// MakePrimaryIdentity makes an identity the primary one of its type and
// returns all the user's identities the actor sees. End users may only make
// a verified email primary.
func (s *Service) MakePrimaryIdentity(ctx context.Context, userID, id int64) ([]Identity, error) {
	var out []Identity
	err := s.changeIdentities(ctx, userID, id, choosePrimary, func(tx Tx, sc *identityScope, i int, now time.Time) error {
		if !sc.actor.Role.IsAgent() && sc.ids[i].Type == IdentityEmail && !sc.ids[i].Verified {
			return Errorf(Conflict, "Only a verified email can be made primary; verify it first")
		}
		if err := promote(ctx, tx, sc.ids, i, now); err != nil {
			return err
		}
		after, err := s.identityScope(ctx, tx, userID, viewIdentities)
		if err == nil {
			out = after.ids
		}
		return err
	})
	return out, err
}

// RequestVerification mails the user a request to verify an email identity.
func (s *Service) RequestVerification(ctx context.Context, userID, id int64) error {
	return s.inTx(ctx, func(tx Tx) error {
		sc, err := s.identityScope(ctx, tx, userID, manageIdentities)
		if err != nil {
			return err
		}
		i, err := sc.find(id)
		if err != nil {
			return err
		}
		if sc.ids[i].Type != IdentityEmail {
			return Errorf(Conflict, "Only email identities are verified by mail")
		}
		return s.sendMail(ctx, tx, verificationMail(sc.user, &sc.ids[i]))
	})
}

func verificationMail(u *User, id *Identity) Mail {
	return Mail{To: id.Value, UserID: u.ID, Subject: "Please verify your email address",
		Text: "Hello " + u.Name + ",\n\nplease confirm that " + id.Value + " is your email address by answering this message.\n"}
}

// checkNewValue refuses a value the user already has or another user holds:
// an address belongs to one user only (case-insensitive).
func (s *Service) checkNewValue(ctx context.Context, tx Tx, sc *identityScope, t IdentityType, value string, v *invalid) {
	if valueOf(sc.ids, t, value) >= 0 {
		v.add("value", "DuplicateValue", "Value is already one of the user's identities", "Value: "+value+" is already one of the user's identities")
		return
	}
	s.checkHolder(ctx, tx, sc.user.ID, t, value, "value", v)
}

// checkHolder refuses a value held by an identity of another user.
func (s *Service) checkHolder(ctx context.Context, tx Tx, userID int64, t IdentityType, value, field string, v *invalid) {
	holder, err := tx.UserIDByIdentity(ctx, t, value)
	if err == nil && holder != 0 && holder != userID {
		v.taken(field, value)
	}
}

// addIdentity inserts n; a primary one first demotes the current primary of
// its type, so that a user has one primary identity per type.
func addIdentity(ctx context.Context, tx Tx, ids []Identity, n Identity) (*Identity, error) {
	if n.Primary {
		if err := demote(ctx, tx, ids, n.Type, n.UpdatedAt); err != nil {
			return nil, err
		}
	}
	if err := tx.InsertIdentity(ctx, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// demote makes the primary identity of type t, if any, a secondary one.
func demote(ctx context.Context, tx Tx, ids []Identity, t IdentityType, now time.Time) error {
	i := primaryOf(ids, t)
	if i < 0 {
		return nil
	}
	n := ids[i]
	n.Primary, n.UpdatedAt = false, now
	return tx.UpdateIdentity(ctx, &n)
}

// promote makes ids[i] the primary identity of its type.
func promote(ctx context.Context, tx Tx, ids []Identity, i int, now time.Time) error {
	if ids[i].Primary {
		return nil
	}
	if err := demote(ctx, tx, ids, ids[i].Type, now); err != nil {
		return err
	}
	n := ids[i]
	n.Primary, n.UpdatedAt = true, now
	return tx.UpdateIdentity(ctx, &n)
}

// setUserEmail gives the user the address. The legacy API knows one address
// per user, so there (replace) the primary identity takes the new value; on
// v2 a new address is added as a secondary identity, primary only if the
// user had none, as the real service does.
func setUserEmail(ctx context.Context, tx Tx, u *User, email string, replace bool, now time.Time) error {
	ids, err := tx.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	own, prim := valueOf(ids, IdentityEmail, email), primaryOf(ids, IdentityEmail)
	switch {
	case own >= 0 && replace:
		return promote(ctx, tx, ids, own, now)
	case own >= 0:
		return nil
	case replace && prim >= 0:
		n := ids[prim]
		n.Value, n.Verified, n.UpdatedAt = email, false, now
		return tx.UpdateIdentity(ctx, &n)
	}
	_, err = addIdentity(ctx, tx, ids, Identity{UserID: u.ID, Type: IdentityEmail, Value: email,
		Primary: prim < 0, Verified: prim < 0 && u.Verified, CreatedAt: now, UpdatedAt: now})
	return err
}

// askToVerify mails the user a verification request for email, an address
// a user update just gave it, unless the address is verified.
func (s *Service) askToVerify(ctx context.Context, tx Tx, u *User, email string) error {
	ids, err := tx.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	if i := valueOf(ids, IdentityEmail, email); i >= 0 && !ids[i].Verified {
		return s.sendMail(ctx, tx, verificationMail(u, &ids[i]))
	}
	return nil
}

// setEmailVerified records verified on the user's primary email, which the
// user's verified (and legacy <is-verified>) shows.
func setEmailVerified(ctx context.Context, tx Tx, userID int64, verified bool, now time.Time) error {
	ids, err := tx.Identities(ctx, userID)
	if err != nil {
		return err
	}
	i := primaryOf(ids, IdentityEmail)
	if i < 0 || ids[i].Verified == verified {
		return nil
	}
	n := ids[i]
	n.Verified, n.UpdatedAt = verified, now
	return tx.UpdateIdentity(ctx, &n)
}

// setUserPhone makes u.Phone the user's phone. A direct line is the user's
// primary phone_number identity. A shared number (shared_phone_number) is
// nobody's identity, as on the real service: the store keeps it on the user,
// as it keeps an empty phone; a phone identity then stays, as a secondary one.
func setUserPhone(ctx context.Context, tx Tx, u *User, now time.Time) error {
	ids, err := tx.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	prim := primaryOf(ids, IdentityPhone)
	if u.Phone == "" || u.SharedPhoneNumber {
		return demote(ctx, tx, ids, IdentityPhone, now)
	}
	if own := valueOf(ids, IdentityPhone, u.Phone); own >= 0 {
		return promote(ctx, tx, ids, own, now)
	}
	if prim >= 0 {
		n := ids[prim]
		n.Value, n.Verified, n.UpdatedAt = u.Phone, false, now
		return tx.UpdateIdentity(ctx, &n)
	}
	_, err = addIdentity(ctx, tx, ids, Identity{UserID: u.ID, Type: IdentityPhone, Value: u.Phone,
		Primary: true, CreatedAt: now, UpdatedAt: now})
	return err
}

// checkPhone validates a phone given on a user: a direct line must be a
// phone number no other user has.
func (s *Service) checkPhone(ctx context.Context, tx Tx, u *User, c *UserChanges, v *invalid) {
	if c.Phone == nil && c.SharedPhoneNumber == nil || u.Phone == "" || u.SharedPhoneNumber {
		return
	}
	if !validPhone(u.Phone) {
		v.malformed("phone", u.Phone)
		return
	}
	s.checkHolder(ctx, tx, u.ID, IdentityPhone, u.Phone, "phone", v)
}

// checkExtraIdentities validates the identities a user is created with (the
// v2 create's identities list) beside its email and phone: each acceptable,
// given once, and held by no other user. It returns them as they will be
// added.
func (s *Service) checkExtraIdentities(ctx context.Context, tx Tx, u *User, email string, extra []NewIdentity, v *invalid) []Identity {
	planned := []Identity{{Type: IdentityEmail, Value: email}, {Type: IdentityPhone, Value: u.Phone}}
	var out []Identity
	for _, n := range extra {
		value, ok := checkIdentityValue(n.Type, n.Value, "identities", "identities", v)
		switch {
		case !ok:
		case valueOf(planned, n.Type, value) >= 0:
			v.add("identities", "DuplicateValue", "Identities lists "+value+" twice", "Identities: "+value+" is given twice")
		default:
			s.checkHolder(ctx, tx, 0, n.Type, value, "identities", v)
			planned = append(planned, Identity{Type: n.Type, Value: value})
			out = append(out, Identity{Type: n.Type, Value: value, Verified: n.Verified})
		}
	}
	return out
}

// addExtraIdentities adds identities checked by checkExtraIdentities; the
// first of a type is primary.
func addExtraIdentities(ctx context.Context, tx Tx, userID int64, extra []Identity, now time.Time) error {
	if len(extra) == 0 {
		return nil
	}
	ids, err := tx.Identities(ctx, userID)
	if err != nil {
		return err
	}
	for _, n := range extra {
		n.UserID, n.Primary, n.CreatedAt, n.UpdatedAt = userID, primaryOf(ids, n.Type) < 0, now, now
		added, err := addIdentity(ctx, tx, ids, n)
		if err != nil {
			return err
		}
		ids = append(ids, *added)
	}
	return nil
}
