package domain

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Identity is one way of reaching or recognizing a user: an email address, a
// phone number, a social account. The user's email is its primary email
// identity and its phone its primary phone_number identity.
type Identity struct {
	ID                 int64
	UserID             int64
	Type               IdentityType
	Value              string
	Verified           bool
	Primary            bool // at most one per user and type
	UndeliverableCount int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// IdentityType names the kind of an identity as the v2 API spells it.
type IdentityType string

const (
	IdentityEmail           IdentityType = "email"
	IdentityTwitter         IdentityType = "twitter"
	IdentityFacebook        IdentityType = "facebook"
	IdentityGoogle          IdentityType = "google"
	IdentityAgentForwarding IdentityType = "agent_forwarding"
	IdentityPhone           IdentityType = "phone_number"
)

// creatableTypes are the types clients may create, each with the check its
// value must pass (the seed's table: an address, a screen name, a numeric
// Facebook id, a phone number).
var creatableTypes = map[IdentityType]func(string) bool{
	IdentityEmail:           validEmail,
	IdentityTwitter:         validScreenName,
	IdentityFacebook:        validFacebookID,
	IdentityGoogle:          validEmail,
	IdentityAgentForwarding: validPhone,
	IdentityPhone:           validPhone,
}

// listedTypes are the other types the real service shows and the list
// filter names; deskgate never makes them, so filtering by them finds nothing.
var listedTypes = []IdentityType{"any_channel", "foreign", "sdk", "messaging", "microsoft"}

// ParseIdentityType reads a type name of the list filter.
func ParseIdentityType(s string) (IdentityType, bool) {
	t := IdentityType(s)
	_, creatable := creatableTypes[t]
	return t, creatable || slices.Contains(listedTypes, t)
}

// seenByEndUsers reports whether end users see identities of type t: only
// their email addresses and phone numbers.
func (t IdentityType) seenByEndUsers() bool { return t == IdentityEmail || t == IdentityPhone }

// checkIdentityValue validates a value for an identity of type t and
// returns it trimmed, and whether it is acceptable. Errors name typeField
// and valueField ("type" and "value" on the identity endpoints).
func checkIdentityValue(t IdentityType, value, typeField, valueField string, v *invalid) (string, bool) {
	value = strings.TrimSpace(value)
	valid, ok := creatableTypes[t]
	switch {
	case !ok:
		v.unacceptable(typeField, "must be one of email, twitter, facebook, google, agent_forwarding or phone_number")
	case value == "":
		v.blank(valueField)
	case !valid(value):
		v.malformed(valueField, value)
	default:
		return value, true
	}
	return value, false
}

// validScreenName checks a Twitter screen name: 1 to 15 letters, digits or _.
func validScreenName(s string) bool {
	return len(s) <= 15 && strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'))
	}) < 0
}

// validFacebookID checks a numeric Facebook user id.
func validFacebookID(s string) bool {
	return len(s) <= 20 && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// validPhone checks a phone number as people write it: an optional leading
// +, then 7 to 15 digits (E.164's most) with spaces, dashes, dots or
// parentheses between them, as in the seed's "+1 555-123-4567".
func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// primaryOf returns the index of the primary identity of type t, or -1.
func primaryOf(ids []Identity, t IdentityType) int {
	for i, id := range ids {
		if id.Type == t && id.Primary {
			return i
		}
	}
	return -1
}

// valueOf returns the index of the identity of type t with the value
// (case-insensitive), or -1.
func valueOf(ids []Identity, t IdentityType, value string) int {
	for i, id := range ids {
		if id.Type == t && strings.EqualFold(id.Value, value) {
			return i
		}
	}
	return -1
}
