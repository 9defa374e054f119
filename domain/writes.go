package domain

import (
	"context"
	"slices"
	"sync/atomic"
	"time"
)

// writeLog tells the caches (renderings, credentials, sessions) which
// writes may have changed what they remember. A write transaction marks
// what it may change before each write it issues, so before it commits:
// each user whose own rows it writes (the user, its identities,
// memberships, password, tokens, sessions), or everything when it writes a
// record that many users' renderings read (a group's name shows in every
// member's legacy body). Once it has ended, before its caller answers, it
// takes the next number of a sequence, records it where it marked, and
// lifts its marks.
//
// A cache entry remembers the number current before its data was read
// from the store, and is served only while nothing marked it and no number
// recorded against its user or against everything is greater. So an entry
// is never served once the write it lacks is visible to anyone (a job
// status polled reads its chunk's commit before the worker records it):
// from before the commit the mark holds it back, and past the mark the
// recorded number, which is greater than any number read before the commit.
//
// Users are recorded in userSlots slots by id: users sharing a slot stale
// each other, which costs a render, never a stale byte, and keeps the log's
// memory fixed.
type writeLog struct {
	seq   atomic.Uint64
	all   logSlot
	users [userSlots]logSlot
}

// logSlot is what the log knows of the writes to some records.
type logSlot struct {
	writing atomic.Int64  // writes under way that marked it
	last    atomic.Uint64 // the greatest number recorded against it
}

// userSlots is how many users the log tells apart (1 MiB of slots):
// directories up to that size never share one.
const userSlots = 1 << 16

func (l *writeLog) slot(userID int64) *logSlot { return &l.users[uint64(userID)%userSlots] }

// now is the number to stamp an entry with, read before its data.
func (l *writeLog) now() uint64 { return l.seq.Load() }

// fresh reports whether an entry of user id whose data began to be read at
// readAt may be served.
func (l *writeLog) fresh(id int64, readAt uint64) bool {
	return l.all.fresh(readAt) && l.slot(id).fresh(readAt)
}

func (s *logSlot) fresh(readAt uint64) bool {
	// The mark first: a write that lifted it had recorded its number before.
	return s.writing.Load() == 0 && s.last.Load() <= readAt
}

// record ends a write: it takes the next number, records it where the
// write marked, and lifts the marks.
func (l *writeLog) record(w *writeScope) {
	n := l.seq.Add(1)
	if w.all {
		l.all.record(n)
	}
	for _, id := range w.users {
		l.slot(id).record(n)
	}
}

func (s *logSlot) record(n uint64) {
	// Two writes ending at once may record in either order: a slot going
	// back to an older number would make entries it had staled fresh again.
	for {
		old := s.last.Load()
		if old >= n || s.last.CompareAndSwap(old, n) {
			break
		}
	}
	s.writing.Add(-1)
}

// everything records a change to anything: the store replaced under the
// service.
func (l *writeLog) everything() {
	w := writeScope{log: l}
	w.everything()
	l.record(&w)
}

// writeScope is what one transaction marked, through its scopedTx.
type writeScope struct {
	log     *writeLog
	all     bool
	users   []int64
	created []int64 // users the transaction made: no cache holds anything of them
}

// user marks the users as about to change.
func (w *writeScope) user(ids ...int64) {
	for _, id := range ids {
		if !slices.Contains(w.users, id) && !slices.Contains(w.created, id) {
			w.log.slot(id).writing.Add(1)
			w.users = append(w.users, id)
		}
	}
}

// everything marks everything as about to change.
func (w *writeScope) everything() {
	if !w.all {
		w.log.all.writing.Add(1)
		w.all = true
	}
}

// scopedTx is the Tx every write of the service runs on (inTx): it passes
// each call to the store's transaction and marks in scope what the call
// may change of a user's rendering, principal or sessions. It embeds only
// the Reader: each method Tx adds must be written out here, so a write the
// store gains does not compile until someone decides its scope, and one
// that names no users must record everything.
//
// A user's rendering reads its users row, identities, organization and
// group memberships, and the groups it belongs to; its principal and
// sessions read the users row, identities, tokens and sessions. Only the
// groups are shared between users, so their writes record everything;
// organizations (whose memberships are deleted with them) do too, being
// rare. Jobs, mail, skips and compliance statuses are read by neither
// cache and record nothing.
type scopedTx struct {
	Reader
	tx    Tx
	scope *writeScope
}

var _ Tx = (*scopedTx)(nil)

// Reads Tx adds to the Reader.

func (t *scopedTx) CountSeats(ctx context.Context) (int, error) { return t.tx.CountSeats(ctx) }
func (t *scopedTx) UserIDByIdentity(ctx context.Context, typ IdentityType, value string) (int64, error) {
	return t.tx.UserIDByIdentity(ctx, typ, value)
}
func (t *scopedTx) UserIDByExternalID(ctx context.Context, externalID string) (int64, error) {
	return t.tx.UserIDByExternalID(ctx, externalID)
}
func (t *scopedTx) OrganizationIDByName(ctx context.Context, name string) (int64, error) {
	return t.tx.OrganizationIDByName(ctx, name)
}
func (t *scopedTx) CountUnfinishedJobs(ctx context.Context) (int, error) {
	return t.tx.CountUnfinishedJobs(ctx)
}
func (t *scopedTx) DeferSearchIndex(ctx context.Context) error {
	return t.tx.DeferSearchIndex(ctx) // the search indexes: no cache reads them
}
func (t *scopedTx) Savepoint(ctx context.Context, fn func() error) error {
	return t.tx.Savepoint(ctx, fn) // fn writes through t; a rolled-back part stays recorded, which is harmless
}

// Writes of one user's rows: they record that user.

func (t *scopedTx) InsertUser(ctx context.Context, u *User, email *Identity) error {
	err := t.tx.InsertUser(ctx, u, email)
	if err == nil {
		// Users are never removed, so a new id was nobody's before: no
		// cache can hold an entry of it from before this commit.
		t.scope.created = append(t.scope.created, u.ID)
	}
	return err
}
func (t *scopedTx) UpdateUser(ctx context.Context, u *User) error {
	t.scope.user(u.ID)
	return t.tx.UpdateUser(ctx, u)
}
func (t *scopedTx) TouchUser(ctx context.Context, userID int64, at time.Time) error {
	t.scope.user(userID)
	return t.tx.TouchUser(ctx, userID, at)
}
func (t *scopedTx) InsertIdentity(ctx context.Context, i *Identity) error {
	t.scope.user(i.UserID)
	return t.tx.InsertIdentity(ctx, i)
}
func (t *scopedTx) UpdateIdentity(ctx context.Context, i *Identity) error {
	t.scope.user(i.UserID)
	return t.tx.UpdateIdentity(ctx, i)
}
func (t *scopedTx) DeleteIdentity(ctx context.Context, userID, id int64) error {
	t.scope.user(userID)
	return t.tx.DeleteIdentity(ctx, userID, id)
}
func (t *scopedTx) DeleteIdentities(ctx context.Context, userID int64) error {
	t.scope.user(userID)
	return t.tx.DeleteIdentities(ctx, userID)
}
func (t *scopedTx) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	t.scope.user(userID)
	return t.tx.SetPasswordHash(ctx, userID, hash)
}
func (t *scopedTx) AddToken(ctx context.Context, userID int64, tokenHash []byte, now time.Time) error {
	t.scope.user(userID)
	return t.tx.AddToken(ctx, userID, tokenHash, now)
}
func (t *scopedTx) RevokeCredentials(ctx context.Context, userID int64) error {
	t.scope.user(userID)
	return t.tx.RevokeCredentials(ctx, userID)
}
func (t *scopedTx) TouchLogin(ctx context.Context, userID int64, at time.Time) error {
	t.scope.user(userID)
	return t.tx.TouchLogin(ctx, userID, at)
}
func (t *scopedTx) MarkErased(ctx context.Context, userID int64, at time.Time) error {
	t.scope.user(userID)
	return t.tx.MarkErased(ctx, userID, at)
}
func (t *scopedTx) ReplaceGroupMemberships(ctx context.Context, userID int64, ms []GroupMembership, now time.Time) error {
	t.scope.user(userID)
	return t.tx.ReplaceGroupMemberships(ctx, userID, ms, now)
}
func (t *scopedTx) ReplaceOrganizationMemberships(ctx context.Context, userID int64, ms []OrganizationMembership, now time.Time) error {
	t.scope.user(userID)
	return t.tx.ReplaceOrganizationMemberships(ctx, userID, ms, now)
}
func (t *scopedTx) MoveIdentities(ctx context.Context, from, to int64, now time.Time) error {
	t.scope.user(from, to)
	return t.tx.MoveIdentities(ctx, from, to, now)
}
func (t *scopedTx) MoveOrganizationMemberships(ctx context.Context, from, to int64, now time.Time) error {
	t.scope.user(from, to)
	return t.tx.MoveOrganizationMemberships(ctx, from, to, now)
}
func (t *scopedTx) InsertSession(ctx context.Context, s *Session, secretHash []byte) error {
	t.scope.user(s.UserID)
	return t.tx.InsertSession(ctx, s, secretHash)
}
func (t *scopedTx) UpdateSession(ctx context.Context, s *Session) error {
	t.scope.user(s.UserID)
	return t.tx.UpdateSession(ctx, s)
}
func (t *scopedTx) DeleteSession(ctx context.Context, userID, id int64) error {
	t.scope.user(userID)
	return t.tx.DeleteSession(ctx, userID, id)
}
func (t *scopedTx) DeleteUserSessions(ctx context.Context, userIDs ...int64) error {
	t.scope.user(userIDs...)
	return t.tx.DeleteUserSessions(ctx, userIDs...)
}

// Writes that may change many users: they record everything.

func (t *scopedTx) PurgeSessions(ctx context.Context, f SessionFilter) (int, error) {
	n, err := t.tx.PurgeSessions(ctx, f)
	if n > 0 || err != nil { // the usual purge deletes nothing; its commit is still to come
		t.scope.everything()
	}
	return n, err
}
func (t *scopedTx) InsertGroup(ctx context.Context, g *Group) error {
	t.scope.everything()
	return t.tx.InsertGroup(ctx, g)
}
func (t *scopedTx) UpdateGroup(ctx context.Context, g *Group) error {
	t.scope.everything()
	return t.tx.UpdateGroup(ctx, g)
}
func (t *scopedTx) SetDefaultGroup(ctx context.Context, id int64, now time.Time) error {
	t.scope.everything()
	return t.tx.SetDefaultGroup(ctx, id, now)
}
func (t *scopedTx) InsertOrganization(ctx context.Context, o *Organization) error {
	t.scope.everything()
	return t.tx.InsertOrganization(ctx, o)
}
func (t *scopedTx) UpdateOrganization(ctx context.Context, o *Organization) error {
	t.scope.everything()
	return t.tx.UpdateOrganization(ctx, o)
}
func (t *scopedTx) DeleteOrganization(ctx context.Context, id int64) error {
	t.scope.everything()
	return t.tx.DeleteOrganization(ctx, id)
}

// Writes neither cache reads: they record nothing.

func (t *scopedTx) InsertMail(ctx context.Context, m *OutboxMail) error {
	return t.tx.InsertMail(ctx, m)
}
func (t *scopedTx) RecordDelivery(ctx context.Context, m *OutboxMail) error {
	return t.tx.RecordDelivery(ctx, m)
}
func (t *scopedTx) DeleteUserMail(ctx context.Context, userID int64) error {
	return t.tx.DeleteUserMail(ctx, userID)
}
func (t *scopedTx) ScrubJobItems(ctx context.Context, userID int64) error {
	return t.tx.ScrubJobItems(ctx, userID)
}
func (t *scopedTx) InsertJob(ctx context.Context, j *JobStatus, items []JobItem) error {
	return t.tx.InsertJob(ctx, j, items)
}
func (t *scopedTx) UpdateJob(ctx context.Context, j *JobStatus) error { return t.tx.UpdateJob(ctx, j) }
func (t *scopedTx) RecordJobResult(ctx context.Context, seq int64, r JobResult) error {
	return t.tx.RecordJobResult(ctx, seq, r)
}
func (t *scopedTx) DeleteEndedJobs(ctx context.Context, before time.Time) error {
	return t.tx.DeleteEndedJobs(ctx, before)
}
func (t *scopedTx) InsertComplianceStatus(ctx context.Context, st *ComplianceDeletionStatus) error {
	return t.tx.InsertComplianceStatus(ctx, st)
}
func (t *scopedTx) InsertSkip(ctx context.Context, sk *Skip) error { return t.tx.InsertSkip(ctx, sk) }
