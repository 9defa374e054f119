package domain

import (
	"context"
	"time"
)

// Store is what the service needs from persistence. Reads run outside any
// transaction; every change runs inside InTx so that a rule's check and its
// writes are atomic (the seat count and the insert, for one).
type Store interface {
	Reader
	// InTx runs fn in one write transaction, committed if fn returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// BackupTo writes a consistent copy of the database to a new file at
	// path without holding up writers, and returns its size in bytes.
	BackupTo(ctx context.Context, path string) (int64, error)
}

// Window selects part of a sorted list: Offset/Limit, or keyset paging on
// the sort key (the sort field's value, then the id). Before a cursor it
// means the Limit items nearest before Before; the result is in sort order
// either way. The zero Sort is ascending id order.
type Window struct {
	Offset int
	Limit  int
	Sort   Sort
	After  *SortKey
	Before *SortKey
}

// UserFilter narrows a user list. The zero value lists active users.
type UserFilter struct {
	Roles        []Role
	CustomRoleID int64
	ExternalID   string
	NameContains string // case-insensitive substring
	NamePrefix   string // case-insensitive
	Search       []SearchTerm
	// UpdatedBefore, when set, keeps users last changed before it.
	UpdatedBefore   time.Time
	IncludeInactive bool
	Deleted         bool // inactive users only, permanently deleted ones too
}

// MembershipFilter narrows an account-wide membership list to a user, a
// group or organization (TargetID), or both; zero matches all.
type MembershipFilter struct {
	UserID   int64
	TargetID int64
}

// Principal is what authentication needs to know of a user.
type Principal struct {
	ID           int64
	Role         Role
	Owner        bool
	Active       bool
	Suspended    bool
	PasswordHash string // "" when the user has no password
	LastLoginAt  time.Time
}

// Reader holds the store's queries. Each returns ErrNotFound (kind NotFound)
// for a missing record. A permanently deleted user is missing to every
// query but UserRecord and the Deleted filter.
type Reader interface {
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserRecord returns the user whatever its state, a permanently deleted
	// (scrubbed) one too.
	UserRecord(ctx context.Context, id int64) (*User, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]*User, error)
	UsersByExternalIDs(ctx context.Context, externalIDs []string) ([]*User, error)
	Users(ctx context.Context, f UserFilter, w Window) ([]*User, error)
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	// CountUsersUpTo counts the users matching f, but stops at limit: a
	// search needs no more than the results it can page to.
	CountUsersUpTo(ctx context.Context, f UserFilter, limit int) (int, error)
	// UsersByPosition lists every user, inactive ones too, in id order from
	// the 0-based position first; it costs the same at any depth.
	UsersByPosition(ctx context.Context, first, limit int) ([]*User, error)
	PrincipalByEmail(ctx context.Context, email string) (*Principal, error)
	// PrincipalByToken finds the user holding the API token, which must also
	// hold the email identity the client named.
	PrincipalByToken(ctx context.Context, tokenHash []byte, email string) (*Principal, error)
	CountUsersTotal(ctx context.Context) (int, error)
	AccountOwner(ctx context.Context) (*User, error)

	// SessionByHash finds a session by the hash of its secret, with what
	// authentication needs of its user.
	SessionByHash(ctx context.Context, secretHash []byte) (*Session, *Principal, error)
	SessionByID(ctx context.Context, id int64) (*Session, error)
	// Sessions lists the sessions matching f in id order; CountSessions counts them.
	Sessions(ctx context.Context, f SessionFilter, w Window) ([]*Session, error)
	CountSessions(ctx context.Context, f SessionFilter) (int, error)

	// Outbox lists the outbox mails matching f in id order; CountOutbox counts them.
	Outbox(ctx context.Context, f OutboxFilter, w Window) ([]*OutboxMail, error)
	CountOutbox(ctx context.Context, f OutboxFilter) (int, error)
	// DueMails lists up to limit pending mails whose next attempt is due at now.
	DueMails(ctx context.Context, now time.Time, limit int) ([]*OutboxMail, error)

	GroupByID(ctx context.Context, id int64) (*Group, error)
	Groups(ctx context.Context, w Window) ([]*Group, error)
	CountGroups(ctx context.Context) (int, error)
	OrganizationByID(ctx context.Context, id int64) (*Organization, error)
	Organizations(ctx context.Context, w Window) ([]*Organization, error)
	CountOrganizations(ctx context.Context) (int, error)

	// Identities lists a user's identities in id order.
	Identities(ctx context.Context, userID int64) ([]Identity, error)
	GroupMemberships(ctx context.Context, userID int64) ([]GroupMembership, error)
	OrganizationMemberships(ctx context.Context, userID int64) ([]OrganizationMembership, error)

	// AccountGroupMemberships and AccountOrganizationMemberships list the
	// account's memberships matching f, in id order; CountMemberships counts
	// them (organization memberships when organizations is set).
	AccountGroupMemberships(ctx context.Context, f MembershipFilter, w Window) ([]GroupMembership, error)
	AccountOrganizationMemberships(ctx context.Context, f MembershipFilter, w Window) ([]OrganizationMembership, error)
	CountMemberships(ctx context.Context, organizations bool, f MembershipFilter) (int, error)

	// IdentitiesOfUsers and OrganizationsOfUsers list the identities and the
	// organizations (through memberships) of the users, in id order.
	IdentitiesOfUsers(ctx context.Context, userIDs []int64) ([]Identity, error)
	OrganizationsOfUsers(ctx context.Context, userIDs []int64) ([]*Organization, error)
	// Job returns the job created after since, with its results if it has
	// ended.
	Job(ctx context.Context, id string, since time.Time) (*JobStatus, error)
	// Jobs lists the window of jobs created after since, with the results
	// of those that have ended, in the window's order of Seq.
	Jobs(ctx context.Context, since time.Time, w Window) ([]*JobStatus, error)
	// NextJob returns the oldest job queued or working, without its
	// results, or ErrNotFound.
	NextJob(ctx context.Context) (*JobStatus, error)
	// PendingJobItems lists the job's items that have no result yet, in order.
	PendingJobItems(ctx context.Context, seq int64) ([]PendingItem, error)

	// ComplianceDeletionStatuses lists the user's GDPR deletion steps in order.
	ComplianceDeletionStatuses(ctx context.Context, userID int64) ([]ComplianceDeletionStatus, error)
	// Skips lists the skips matching f, in f's order (by id).
	Skips(ctx context.Context, f SkipFilter, w Window) ([]Skip, error)
	CountSkips(ctx context.Context, f SkipFilter) (int, error)

	// Secret returns a random key the store made once for the named purpose.
	Secret(ctx context.Context, purpose string) ([]byte, error)
	// CreatedAt is when the database was created.
	CreatedAt(ctx context.Context) (time.Time, error)

	// LegacyCalls counts the journaled legacy requests since the given time
	// by user, credential kind, user agent and operation.
	LegacyCalls(ctx context.Context, since time.Time) ([]LegacyCalls, error)
	// DailyRequests counts the journaled requests of each UTC day since the
	// given time by protocol, oldest day first.
	DailyRequests(ctx context.Context, since time.Time) ([]DayRequests, error)
}

// Tx is a write transaction.
type Tx interface {
	Reader
	// CountSeats counts active agents and admins.
	CountSeats(ctx context.Context) (int, error)
	// UserIDByIdentity finds the user holding the identity of type t with the
	// value (case-insensitive), or 0.
	UserIDByIdentity(ctx context.Context, t IdentityType, value string) (int64, error)
	// UserIDByExternalID finds the user with the external id (case-insensitive), or 0.
	UserIDByExternalID(ctx context.Context, externalID string) (int64, error)
	// InsertUser writes a new user and sets u.ID; its primary email, when
	// given, is written with it (and gets its ID and UserID).
	InsertUser(ctx context.Context, u *User, email *Identity) error
	// DeferSearchIndex leaves the search indexes' share of the rest of the
	// transaction's changes to its commit, which writes it for all of them
	// at once: the indexes are in step with the users at every commit, but
	// a search within the transaction does not see its own changes.
	DeferSearchIndex(ctx context.Context) error
	UpdateUser(ctx context.Context, u *User) error
	// TouchUser sets the user's updated_at, for changes kept in other records.
	TouchUser(ctx context.Context, userID int64, at time.Time) error
	InsertIdentity(ctx context.Context, i *Identity) error // sets i.ID
	UpdateIdentity(ctx context.Context, i *Identity) error // value, verified, primary, updated_at
	// DeleteIdentity deletes the user's identity id. Writes of a user's
	// records name the user, so that the caches learn whom they changed
	// (scopedTx); the store changes nothing of another user's.
	DeleteIdentity(ctx context.Context, userID, id int64) error
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
	AddToken(ctx context.Context, userID int64, tokenHash []byte, now time.Time) error
	TouchLogin(ctx context.Context, userID int64, at time.Time) error

	InsertSession(ctx context.Context, s *Session, secretHash []byte) error // sets s.ID
	// UpdateSession writes the session's renewals, last_seen_at and expires_at.
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, userID, id int64) error
	DeleteUserSessions(ctx context.Context, userIDs ...int64) error
	// PurgeSessions deletes the sessions not live by f (every user's) and counts them.
	PurgeSessions(ctx context.Context, f SessionFilter) (int, error)

	InsertMail(ctx context.Context, m *OutboxMail) error // sets m.ID
	// RecordDelivery writes a delivery attempt's outcome onto the mail's row.
	RecordDelivery(ctx context.Context, m *OutboxMail) error

	InsertGroup(ctx context.Context, g *Group) error
	UpdateGroup(ctx context.Context, g *Group) error
	// SetDefaultGroup makes the group the account's one default group.
	SetDefaultGroup(ctx context.Context, id int64, now time.Time) error
	InsertOrganization(ctx context.Context, o *Organization) error
	UpdateOrganization(ctx context.Context, o *Organization) error
	DeleteOrganization(ctx context.Context, id int64) error
	OrganizationIDByName(ctx context.Context, name string) (int64, error)

	// ReplaceGroupMemberships makes ms (user, group, default set) the user's
	// whole membership list, keeping the ids and timestamps of those that stay.
	ReplaceGroupMemberships(ctx context.Context, userID int64, ms []GroupMembership, now time.Time) error
	ReplaceOrganizationMemberships(ctx context.Context, userID int64, ms []OrganizationMembership, now time.Time) error

	// Savepoint runs fn in a nested transaction: if fn fails, what it wrote
	// is undone and the enclosing transaction goes on.
	Savepoint(ctx context.Context, fn func() error) error
	// InsertJob stores a queued job and its items; it sets j.Seq.
	InsertJob(ctx context.Context, j *JobStatus, items []JobItem) error
	// UpdateJob saves the job's state, progress and message.
	UpdateJob(ctx context.Context, j *JobStatus) error
	// RecordJobResult stores an item's result; the item is then done.
	RecordJobResult(ctx context.Context, seq int64, r JobResult) error
	CountUnfinishedJobs(ctx context.Context) (int, error)
	// DeleteEndedJobs removes completed and failed jobs created before t.
	DeleteEndedJobs(ctx context.Context, before time.Time) error

	// MoveIdentities gives the identities of user from to user to. The
	// target keeps its primary identities; a moved one stays primary only
	// where the target has no primary identity of its type.
	MoveIdentities(ctx context.Context, from, to int64, now time.Time) error
	// MoveOrganizationMemberships gives from's organization memberships to
	// to, except those of organizations to already belongs to (dropped).
	// The target keeps its default; the moved default stays default only
	// when the target had none.
	MoveOrganizationMemberships(ctx context.Context, from, to int64, now time.Time) error
	// RevokeCredentials removes the user's API tokens and password.
	RevokeCredentials(ctx context.Context, userID int64) error
	DeleteIdentities(ctx context.Context, userID int64) error
	// DeleteUserMail removes the outbox mail sent to the user.
	DeleteUserMail(ctx context.Context, userID int64) error
	// ScrubJobItems forgets what the job items whose results name the user
	// hold of it: the changes asked for and the email of the result.
	ScrubJobItems(ctx context.Context, userID int64) error
	// MarkErased records the permanent deletion; the user is then missing
	// to every query but UserRecord and the Deleted filter.
	MarkErased(ctx context.Context, userID int64, at time.Time) error
	InsertComplianceStatus(ctx context.Context, st *ComplianceDeletionStatus) error // sets st.ID
	InsertSkip(ctx context.Context, sk *Skip) error                                 // sets sk.ID
}
