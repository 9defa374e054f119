package domain

import (
	"net/mail"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// User is a help-desk user, as both APIs see it. Empty strings stand for
// absent values (the v2 API shows them as null).
type User struct {
	ID                  int64
	Name                string
	Email               string // the primary email identity
	Role                Role
	Restriction         Restriction
	Active              bool // false once (soft-)deleted
	Verified            bool
	Suspended           bool
	Owner               bool // the account owner: never deleted, deactivated or demoted
	Erased              bool // permanently deleted: personal fields scrubbed, the id kept
	ExternalID          string
	Alias               string
	Phone               string
	SharedPhoneNumber   bool
	Notes               string
	Details             string
	Signature           string
	Locale              string
	TimeZone            Zone
	TimeFormat          int // legacy <time-format>; no v2 field
	OrganizationID      int64
	CustomRoleID        int64
	Moderator           bool
	OnlyPrivateComments bool
	Tags                []string
	UserFields          map[string]any
	Groups              []GroupMembership // agents' memberships, by group id
	CreatedAt           time.Time
	UpdatedAt           time.Time
	LastLoginAt         time.Time // zero until the first authenticated request
}

// RestrictedAgent is true for agents with any ticket restriction.
func (u *User) RestrictedAgent() bool {
	return u.Role == Agent && u.Restriction != RestrictAll
}

// DefaultGroupID is the group of the agent's default membership, or 0.
func (u *User) DefaultGroupID() int64 {
	for _, m := range u.Groups {
		if m.Default {
			return m.GroupID
		}
	}
	return 0
}

// holdsSeat reports whether the user occupies one of the account's agent seats.
func (u *User) holdsSeat() bool { return u.Active && u.Role.IsAgent() }

// UserChanges carries the fields a create or update sets; nil leaves a field
// as it is (or at its default on create).
type UserChanges struct {
	Name                *string
	Email               *string
	Password            *string
	Role                *Role
	Restriction         *Restriction
	Active              *bool
	Verified            *bool
	Suspended           *bool
	ExternalID          *string
	Alias               *string
	Phone               *string
	SharedPhoneNumber   *bool
	Notes               *string
	Details             *string
	Signature           *string
	Locale              *string
	TimeZone            *string // any form ResolveZone reads
	TimeFormat          *int
	OrganizationID      *int64 // 0 removes the user from every organization
	CustomRoleID        *int64
	Moderator           *bool
	OnlyPrivateComments *bool
	Tags                *[]string
	UserFields          map[string]any // merged into the existing fields
	GroupIDs            *[]int64       // replaces the memberships; nil leaves them
	Identities          []NewIdentity  // create only: identities made with the user beside its email and phone
	DefaultGroupID      *int64

	// SkipVerifyEmail suppresses the welcome mail of a create and the
	// verification mail of an update's new email (v2 skip_verify_email,
	// which create_or_update honours either way); a user created verified
	// gets none either.
	SkipVerifyEmail bool

	// ReplaceEmail makes Email the primary address on update (the legacy API
	// knows one address per user); without it a new email is added as a
	// secondary identity, as v2 does.
	ReplaceEmail bool

	// EndUserRestrictionFallback applies the v2 rule that an agent-only
	// restriction given to an end user silently becomes "requested"; without
	// it (the legacy API) such a value is a validation error.
	EndUserRestrictionFallback bool
}

// adminOnly reports whether the changes alter what user u may do, which only
// admins decide: its role, its being active, its groups and agent settings.
func (c *UserChanges) adminOnly(u *User) bool {
	return c.Role != nil && *c.Role != u.Role || c.Active != nil && *c.Active != u.Active ||
		c.GroupIDs != nil || c.DefaultGroupID != nil || c.CustomRoleID != nil ||
		c.Moderator != nil || c.OnlyPrivateComments != nil
}

// endUserOwn reports whether the changes touch only what end users may
// change of themselves: their name, locale, time zone and time format, and
// their password (by its own rule). The rest of a profile is the staff's:
// notes, tags, the external id and the organization are what agents know
// of a user, and the email and phone are identities, which end users do not
// manage. Whatever UserChanges gains is the staff's until it is named here.
func (c *UserChanges) endUserOwn() bool {
	own := UserChanges{Name: c.Name, Password: c.Password, Locale: c.Locale, TimeZone: c.TimeZone, TimeFormat: c.TimeFormat,
		SkipVerifyEmail: c.SkipVerifyEmail, ReplaceEmail: c.ReplaceEmail, EndUserRestrictionFallback: c.EndUserRestrictionFallback}
	return reflect.DeepEqual(own, *c)
}

// apply copies the changes onto u and checks the result, reporting every bad
// field at once. Email, password and memberships are the service's to apply.
func (c *UserChanges) apply(u *User, v *invalid) {
	setName(&u.Name, c.Name, v)
	if c.Role != nil {
		u.Role = *c.Role
	}
	switch {
	case c.Restriction != nil && c.Restriction.AppliesTo(u.Role):
		u.Restriction = *c.Restriction
	case c.Restriction != nil && u.Role == EndUser && c.EndUserRestrictionFallback:
		u.Restriction = RestrictRequested
	case c.Restriction != nil:
		v.unacceptable("ticket_restriction", "is not valid for the role "+u.Role.String())
	case !u.Restriction.AppliesTo(u.Role):
		u.Restriction = DefaultRestriction(u.Role)
	}
	if c.Active != nil {
		u.Active = *c.Active
	}
	setBool(&u.Verified, c.Verified)
	setBool(&u.Suspended, c.Suspended)
	setBool(&u.SharedPhoneNumber, c.SharedPhoneNumber)
	setBool(&u.Moderator, c.Moderator)
	setBool(&u.OnlyPrivateComments, c.OnlyPrivateComments)
	setText(&u.ExternalID, c.ExternalID, "external_id", lineText, v)
	setText(&u.Alias, c.Alias, "alias", nameText, v)
	setText(&u.Phone, c.Phone, "phone", lineText, v)
	setText(&u.Notes, c.Notes, "notes", proseText, v)
	setText(&u.Details, c.Details, "details", proseText, v)
	setText(&u.Signature, c.Signature, "signature", proseText, v)
	if c.Locale != nil {
		if l := strings.TrimSpace(*c.Locale); LocaleID(l) != 0 {
			u.Locale = l
		} else {
			v.unacceptable("locale", "is not an available locale")
		}
	}
	if c.TimeZone != nil {
		if z, ok := ResolveZone(*c.TimeZone, u.TimeZone); ok {
			u.TimeZone = z
		} else {
			v.unacceptable("time_zone", "is not a known time zone")
		}
	}
	if c.TimeFormat != nil {
		if *c.TimeFormat == 0 || *c.TimeFormat == 1 {
			u.TimeFormat = *c.TimeFormat
		} else {
			v.unacceptable("time_format", "must be 0 or 1")
		}
	}
	if c.CustomRoleID != nil {
		u.CustomRoleID = *c.CustomRoleID
	}
	setTags(&u.Tags, c.Tags, "tags", v)
	mergeFields(&u.UserFields, c.UserFields, "user_fields", v)
}

// validEmail checks the email address syntax; the address must be bare, with
// a dotted domain, as the real service requires.
func validEmail(s string) bool {
	// No white space of any kind: net/mail takes a Unicode space (U+2005)
	// as a local part, which FuzzValidEmail found.
	if len(s) > maxEmailLen || invisible(s) || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.ContainsAny(domain, "_ ") && !strings.HasSuffix(domain, ".")
}

// locales are the locales the account offers, with the v2 API's locale_id.
var locales = map[string]int{"en-US": 1}

// LocaleID returns the v2 locale_id of an available locale, or 0.
func LocaleID(locale string) int { return locales[locale] }

// LocaleByID returns the locale with the given v2 locale_id.
func LocaleByID(id int) (string, bool) {
	for l, i := range locales {
		if i == id {
			return l, true
		}
	}
	return "", false
}

func setBool(dst, src *bool) {
	if src != nil {
		*dst = *src
	}
}
