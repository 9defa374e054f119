package domain

import "time"

// Group is a set of agents that tickets are routed to.
type Group struct {
	ID          int64
	Name        string
	Description string
	Default     bool // the account's default group: exactly one group has it
	Deleted     bool // a deleted group keeps its memberships' history; legacy shows is-active false
	IsPublic    bool // true unless created private; a private group stays private
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupMembership ties an agent to a group; exactly one of an agent's
// memberships is the default.
type GroupMembership struct {
	ID        int64
	UserID    int64
	GroupID   int64
	Group     Group // the group it points at, loaded with the membership
	Default   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Organization is a company that end users and agents belong to.
type Organization struct {
	ID             int64
	Name           string
	Details        string
	Notes          string
	ExternalID     string
	DomainNames    []string
	GroupID        int64
	SharedTickets  bool
	SharedComments bool
	Tags           []string
	Fields         map[string]any
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// OrganizationMembership ties a user to an organization; the user's
// organization_id is the organization of its default membership.
type OrganizationMembership struct {
	ID               int64
	UserID           int64
	OrganizationID   int64
	OrganizationName string
	Default          bool
	ViewTickets      bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// DefaultGroupName is the name of the group a new account starts with, as
// on the real service.
const DefaultGroupName = "Support"

// GroupChanges carries the fields a group create or update sets.
type GroupChanges struct {
	Name        *string
	Description *string
	Default     *bool // true moves the account's default to the group; false on the default is refused
	IsPublic    *bool
}

func (c *GroupChanges) apply(g *Group, v *invalid) {
	setName(&g.Name, c.Name, v)
	setText(&g.Description, c.Description, "description", proseText, v)
	if c.Default != nil && !*c.Default && g.Default {
		v.unacceptable("default", "cannot be unset: make another group the default instead")
	}
	if c.Default != nil && *c.Default && g.Deleted {
		v.unacceptable("default", "cannot be set on a deleted group")
	}
	// GroupObject: "You can't change a private group to a public group".
	if c.IsPublic != nil && *c.IsPublic && !g.IsPublic && g.ID != 0 {
		v.unacceptable("is_public", "you can't change a private group to a public group")
	}
	setBool(&g.IsPublic, c.IsPublic)
}

// OrganizationChanges carries the fields an organization create or update sets.
type OrganizationChanges struct {
	Name           *string
	Details        *string
	Notes          *string
	ExternalID     *string
	DomainNames    *[]string
	GroupID        *int64
	SharedTickets  *bool
	SharedComments *bool
	Tags           *[]string
	Fields         map[string]any
}

func (c *OrganizationChanges) apply(o *Organization, v *invalid) {
	setName(&o.Name, c.Name, v)
	setText(&o.Details, c.Details, "details", proseText, v)
	setText(&o.Notes, c.Notes, "notes", proseText, v)
	setText(&o.ExternalID, c.ExternalID, "external_id", lineText, v)
	setTags(&o.DomainNames, c.DomainNames, "domain_names", v)
	if c.GroupID != nil {
		o.GroupID = *c.GroupID
	}
	setBool(&o.SharedTickets, c.SharedTickets)
	setBool(&o.SharedComments, c.SharedComments)
	setTags(&o.Tags, c.Tags, "tags", v)
	mergeFields(&o.Fields, c.Fields, "organization_fields", v)
}
