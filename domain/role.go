package domain

// Role is a user's role. The legacy API shows it as a number (0, 2, 4), the v2
// API as a string ("end-user", "admin", "agent").
type Role uint8

const (
	EndUser Role = iota
	Agent
	Admin
)

var roleNames = [...]string{EndUser: "end-user", Agent: "agent", Admin: "admin"}
var roleCodes = [...]int{EndUser: 0, Agent: 4, Admin: 2}

// String returns the v2 name of the role.
func (r Role) String() string { return roleNames[r] }

// LegacyCode returns the legacy <roles> number.
func (r Role) LegacyCode() int { return roleCodes[r] }

// IsAgent reports whether the role has agent privileges; admins always do.
func (r Role) IsAgent() bool { return r == Agent || r == Admin }

// ParseRole reads a v2 role name.
func ParseRole(s string) (Role, bool) {
	for r, name := range roleNames {
		if name == s {
			return Role(r), true
		}
	}
	return 0, false
}

// RoleFromLegacy reads a legacy <roles> number.
func RoleFromLegacy(code int) (Role, bool) {
	for r, c := range roleCodes {
		if c == code {
			return Role(r), true
		}
	}
	return 0, false
}

// Restriction is the set of tickets a user may see. Its value is the legacy
// restriction id; the v2 API names it (RestrictAll is null there).
type Restriction uint8

const (
	RestrictAll          Restriction = iota // all tickets
	RestrictGroups                          // tickets in member groups
	RestrictOrganization                    // tickets in the member organization
	RestrictAssigned                        // assigned tickets
	RestrictRequested                       // tickets requested by the user
)

var restrictionNames = [...]string{
	RestrictAll:          "",
	RestrictGroups:       "groups",
	RestrictOrganization: "organization",
	RestrictAssigned:     "assigned",
	RestrictRequested:    "requested",
}

// String returns the v2 name; "" stands for null (all tickets).
func (r Restriction) String() string { return restrictionNames[r] }

// ParseRestriction reads a v2 ticket_restriction; "" is null (all tickets).
func ParseRestriction(s string) (Restriction, bool) {
	for r, name := range restrictionNames {
		if name == s {
			return Restriction(r), true
		}
	}
	return 0, false
}

// RestrictionFromLegacy reads a legacy <restriction-id>.
func RestrictionFromLegacy(id int) (Restriction, bool) {
	if id < 0 || id > int(RestrictRequested) {
		return 0, false
	}
	return Restriction(id), true
}

// AppliesTo reports whether a user of role r may carry the restriction, per the
// legacy applicability table: end users 2 and 4, agents 0 to 3, admins only 0.
func (x Restriction) AppliesTo(r Role) bool {
	switch r {
	case EndUser:
		return x == RestrictOrganization || x == RestrictRequested
	case Agent:
		return x != RestrictRequested
	default:
		return x == RestrictAll
	}
}

// DefaultRestriction is what a user of role r gets when none applies.
func DefaultRestriction(r Role) Restriction {
	if r == EndUser {
		return RestrictRequested
	}
	return RestrictAll
}
