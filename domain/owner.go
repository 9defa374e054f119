package domain

import "strings"

// The account owner holds the subscription: losing the owner's sign-in is
// losing the account. The real service lets only the owner hand ownership
// over and keeps the owner an active admin; so here nobody changes the
// owner's credentials but the owner, and nobody — the owner included —
// removes the owner's access. Every operation that could do either calls
// one of the two functions below, whichever protocol it came from.

// Things nobody may do to the account owner, as refuseOwner says them.
const (
	ownerDeleted     = "deleted"
	ownerDeactivated = "deactivated"
	ownerSuspended   = "suspended"
	ownerRoleChanged = "given another role"
	ownerMerged      = "merged into another user"
)

// refuseOwner refuses the action when u is the account owner: a delete, a
// permanent deletion, a merge, a deactivation, a suspension, a new role.
func refuseOwner(u *User, action string) error {
	if !u.Owner {
		return nil
	}
	return &Error{Kind: Forbidden, Msg: "The account owner cannot be " + action}
}

// mayChangeCredentials decides whether a may change u's password, email or
// identities: for the account owner, only the owner may.
func (a *Actor) mayChangeCredentials(u *User) error {
	if u.Owner && a.ID != u.ID {
		return &Error{Kind: Forbidden, Msg: "Only the account owner can change the password, email or identities of the account owner."}
	}
	return nil
}

// ownerRules checks an update of u against both rules; the email and the
// phone a user update sets are identities, and its verified verifies the
// email, which for the owner's the identities' own rule forbids (mayVerify).
func (a *Actor) ownerRules(u *User, c *UserChanges) error {
	newEmail := c.Email != nil && !strings.EqualFold(strings.TrimSpace(*c.Email), u.Email)
	if c.Password != nil || newEmail || c.Phone != nil && strings.TrimSpace(*c.Phone) != u.Phone {
		if err := a.mayChangeCredentials(u); err != nil {
			return err
		}
	}
	if c.Verified != nil && (newEmail || !u.Verified) { // verified as it was: nothing to verify
		if err := mayVerify(u, IdentityEmail, *c.Verified); err != nil {
			return err
		}
	}
	switch {
	case c.Active != nil && !*c.Active:
		return refuseOwner(u, ownerDeactivated)
	case c.Suspended != nil && *c.Suspended:
		return refuseOwner(u, ownerSuspended)
	case c.Role != nil && *c.Role != u.Role, c.CustomRoleID != nil && *c.CustomRoleID != u.CustomRoleID:
		return refuseOwner(u, ownerRoleChanged)
	}
	return nil
}
