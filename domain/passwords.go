package domain

import (
	"context"
	"strings"
	"unicode/utf8"
)

// passwordRule is one rule of the password policy: the sentence the
// requirements endpoint lists and the test every set or change applies, in
// one table so that the two cannot drift apart.
type passwordRule struct {
	requirement string                            // "must be at least 5 characters"
	code        string                            // the error code of a broken rule
	broken      func(password, email string) bool // email is the user's primary address, "" if none
}

var passwordPolicy = []passwordRule{
	{"must be at least 5 characters", "TooShort", func(p, _ string) bool { return utf8.RuneCountInString(p) < 5 }},
	{"must be at most 128 characters", "TooLong", func(p, _ string) bool { return utf8.RuneCountInString(p) > 128 }},
	{"must be different from email address", "SameAsEmail", func(p, email string) bool { return email != "" && strings.EqualFold(p, email) }},
}

// checkPasswordPolicy reports every rule the password breaks.
func checkPasswordPolicy(password, email string, v *invalid) {
	for _, r := range passwordPolicy {
		if r.broken(password, email) {
			v.add("password", r.code, "Password "+r.requirement, "Password: "+r.requirement)
		}
	}
}

// PasswordRequirements describes the password policy to a user, as the
// requirements endpoint lists it. Agents ask about anyone, end users about
// themselves.
func (s *Service) PasswordRequirements(ctx context.Context, userID int64) ([]string, error) {
	if _, err := s.visibleUser(ctx, s.store, userID); err != nil {
		return nil, err
	}
	out := make([]string, len(passwordPolicy))
	for i, r := range passwordPolicy {
		out[i] = r.requirement
	}
	return out, nil
}

var (
	errAdminPasswords      = &Error{Kind: Forbidden, Msg: "Admins cannot set passwords on this account; the owner enables it with -admin-set-passwords (DESKGATE_ADMIN_SET_PASSWORDS=true)"}
	errOwnPasswordUnproved = &Error{Kind: Forbidden, Msg: "Only a request signed in with the current password sets a new one without it; change it with PUT /api/v2/users/{id}/password and the previous_password"}
)

// maySetPassword is the rule on setting another user's password without the
// old one, however it comes (SetPassword, a legacy <password> in a user
// update): admins only, when the account allows it (off by default, as on
// the real service), and nobody but the owner sets the owner's.
func (s *Service) maySetPassword(a *Actor, u *User) error {
	switch {
	case a.Role != Admin:
		return errForbidden
	case !s.adminSetsPasswords:
		return errAdminPasswords
	}
	return a.mayChangeCredentials(u)
}

// mayUpdatePassword is the rule on a password in a user update, which also
// sets it without the old one: one's own under Basic email:password, which
// proves the old one already, but not under an API token or a session
// cookie, which do not (a leaked token must not become the account);
// another user's as SetPassword allows it.
func (s *Service) mayUpdatePassword(a *Actor, u *User) error {
	switch {
	case a.ID != u.ID:
		return s.maySetPassword(a, u)
	case a.Credential != CredentialPassword:
		return errOwnPasswordUnproved
	}
	return nil
}

// SetPassword sets a user's password without the old one, as maySetPassword
// allows.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	if !s.adminSetsPasswords {
		return errAdminPasswords
	}
	return s.inTx(ctx, func(tx Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := s.maySetPassword(a, u); err != nil {
			return err
		}
		return s.replacePassword(ctx, tx, u, password)
	})
}

// ChangePassword changes the actor's own password, proved by the previous
// one. The previous password is checked the way Basic authentication checks
// it, so that whatever guards sign-in guards this too.
func (s *Service) ChangePassword(ctx context.Context, userID int64, previous, password string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if a.ID != userID {
		return &Error{Kind: Forbidden, Msg: "You can only change your own password"}
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.Authenticate(ctx, u.Email, previous); KindOf(err) == Unauthenticated {
		var v invalid
		v.add("previous_password", "InvalidValue", "Previous password is incorrect", "Previous password: is incorrect")
		return v.err()
	} else if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error { return s.replacePassword(ctx, tx, u, password) })
}

// replacePassword checks the policy and stores the new password.
func (s *Service) replacePassword(ctx context.Context, tx Tx, u *User, password string) error {
	var v invalid
	checkPasswordPolicy(password, u.Email, &v)
	if err := v.err(); err != nil {
		return err
	}
	return s.changePassword(ctx, tx, u.ID, password)
}

// changePassword is where every password change ends up: a user update of
// either API, SetPassword and ChangePassword. Besides storing it, a change
// ends every session of the user and tells the user by mail. Cached
// credentials need nothing: the write log records this transaction against
// the user, which makes their cached checks stale, and the old password no
// longer matches the new hash.
func (s *Service) changePassword(ctx context.Context, tx Tx, userID int64, password string) error {
	if err := s.storePassword(ctx, tx, userID, password); err != nil {
		return err
	}
	if err := tx.DeleteUserSessions(ctx, userID); err != nil {
		return err
	}
	s.agentEvents.endAgent(userID)     // whoever held the old password reconnects with the new one, or not at all
	u, err := tx.UserByID(ctx, userID) // as changed: the mail goes to its primary address now
	if err != nil {
		return err
	}
	return s.sendMail(ctx, tx, passwordChangedMail(u))
}

// storePassword is the one place a password is written: a new user's
// through here only, a changed one through changePassword.
func (s *Service) storePassword(ctx context.Context, tx Tx, userID int64, password string) error {
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return tx.SetPasswordHash(ctx, userID, hash)
}
