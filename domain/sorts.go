package domain

import (
	"maps"
	"time"
)

// The sort fields of each v2 list (sort_by, or sort=field|-field), besides
// id. Neither the seeds nor the published spec list them for these
// endpoints; these are the record's name and timestamps, kept here so they
// are easy to change.
var (
	userSorting = sorting[*User]{id: func(u *User) int64 { return u.ID },
		fields: withName(timestamps(func(u *User) time.Time { return u.CreatedAt }, func(u *User) time.Time { return u.UpdatedAt }),
			func(u *User) string { return u.Name })}
	groupSorting = sorting[*Group]{id: func(g *Group) int64 { return g.ID },
		fields: withName(timestamps(func(g *Group) time.Time { return g.CreatedAt }, func(g *Group) time.Time { return g.UpdatedAt }),
			func(g *Group) string { return g.Name })}
	organizationSorting = sorting[*Organization]{id: func(o *Organization) int64 { return o.ID },
		fields: withName(timestamps(func(o *Organization) time.Time { return o.CreatedAt }, func(o *Organization) time.Time { return o.UpdatedAt }),
			func(o *Organization) string { return o.Name })}
	groupMembershipSorting = sorting[GroupMembership]{id: func(m GroupMembership) int64 { return m.ID },
		fields: timestamps(func(m GroupMembership) time.Time { return m.CreatedAt }, func(m GroupMembership) time.Time { return m.UpdatedAt })}
	organizationMembershipSorting = sorting[OrganizationMembership]{id: func(m OrganizationMembership) int64 { return m.ID },
		fields: timestamps(func(m OrganizationMembership) time.Time { return m.CreatedAt }, func(m OrganizationMembership) time.Time { return m.UpdatedAt })}
	identitySorting = sorting[Identity]{id: func(i Identity) int64 { return i.ID },
		fields: timestamps(func(i Identity) time.Time { return i.CreatedAt }, func(i Identity) time.Time { return i.UpdatedAt })}
	// Compliance deletion statuses and skips sort by id (the order taken) only.
	complianceSorting = byID(func(st ComplianceDeletionStatus) int64 { return st.ID })
	skipSorting       = byID(func(sk Skip) int64 { return sk.ID })
	jobSorting        = byID(func(j *JobStatus) int64 { return j.Seq })
	// Sessions and outbox mails list in id order only.
	sessionSorting = byID(func(ses *Session) int64 { return ses.ID })
	mailSorting    = byID(func(m *OutboxMail) int64 { return m.ID })
)

// byID is the sorting of a list that sorts by id only (ascending or
// descending); any other sort field is refused.
func byID[T any](id func(T) int64) sorting[T] {
	return sorting[T]{id: id}
}

// withName adds the name to a list's sort fields.
func withName[T any](fields map[string]func(T) any, name func(T) string) map[string]func(T) any {
	fields = maps.Clone(fields)
	fields["name"] = func(t T) any { return name(t) }
	return fields
}

// timestamps are the sort fields every record offers besides its id.
func timestamps[T any](created, updated func(T) time.Time) map[string]func(T) any {
	return map[string]func(T) any{
		"created_at": func(t T) any { return created(t).Unix() },
		"updated_at": func(t T) any { return updated(t).Unix() },
	}
}
