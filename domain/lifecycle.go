package domain

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// A user's life after the soft delete: merging an end user into another,
// listing deleted users, permanent deletion and its GDPR steps.

// MergeUser merges the end user sourceID into the end user targetID: the
// source's identities and organization memberships move to the target and
// the source ends soft-deleted. Agents only (they edit end users).
func (s *Service) MergeUser(ctx context.Context, sourceID, targetID int64) (*User, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if targetID == 0 {
		var v invalid
		v.unacceptable("id", "is required: the id of the end user to merge into")
		return nil, v.err()
	}
	return s.mergeInTx(ctx, sourceID, targetID)
}

// MergeIntoMe merges the user whose email and password the caller knows
// into the caller: knowing them proves the other account is the caller's too.
func (s *Service) MergeIntoMe(ctx context.Context, email, password string) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.principal(ctx, strings.TrimSpace(email), password, false)
	switch {
	case KindOf(err) == Unauthenticated:
		return nil, Errorf(Conflict, "You cannot merge that user: the email or password is not correct.")
	case err != nil:
		return nil, err
	}
	return s.mergeInTx(ctx, p.ID, a.ID)
}

func (s *Service) mergeInTx(ctx context.Context, sourceID, targetID int64) (*User, error) {
	var u *User
	err := s.inTx(ctx, func(tx Tx) error {
		var err error
		u, err = s.merge(ctx, tx, sourceID, targetID)
		return err
	})
	return u, err
}

// merge checks the rules of API-NOTES §6.5 and moves the source into the
// target. Its refusals are Conflict: the v2 API answers them 422 with a bare
// sentence, as the real service does. The source comes from the path (an
// unknown one is NotFound), the target from the body (an unknown one is refused).
func (s *Service) merge(ctx context.Context, tx Tx, sourceID, targetID int64) (*User, error) {
	src, err := tx.UserByID(ctx, sourceID)
	if err != nil {
		return nil, err
	}
	if err := refuseOwner(src, ownerMerged); err != nil {
		return nil, err
	}
	if err := mergeable(src, "You cannot merge "+src.Name); err != nil {
		return nil, err
	}
	if src.ExternalID != "" {
		// The real service's words [observed, zendesk_api_client_rb PR 503].
		return nil, Errorf(Conflict, "You cannot merge %s while they have an external ID.", src.Name)
	}
	if sourceID == targetID {
		return nil, Errorf(Conflict, "You cannot merge %s into themselves.", src.Name)
	}
	tgt, err := tx.UserByID(ctx, targetID)
	if KindOf(err) == NotFound {
		return nil, Errorf(Conflict, "You cannot merge %s into user %d: there is no such user.", src.Name, targetID)
	}
	if err != nil {
		return nil, err
	}
	if err := mergeable(tgt, fmt.Sprintf("You cannot merge %s into %s", src.Name, tgt.Name)); err != nil {
		return nil, err
	}
	now := s.Now()
	if err := tx.MoveIdentities(ctx, src.ID, tgt.ID, now); err != nil {
		return nil, err
	}
	if err := tx.MoveOrganizationMemberships(ctx, src.ID, tgt.ID, now); err != nil {
		return nil, err
	}
	if err := s.deactivate(ctx, tx, src); err != nil {
		return nil, err
	}
	if err := s.retireUser(ctx, tx, src.ID); err != nil {
		return nil, err
	}
	tgt.UpdatedAt = now
	if err := tx.UpdateUser(ctx, tgt); err != nil {
		return nil, err
	}
	return tx.UserByID(ctx, tgt.ID)
}

// mergeable refuses a side of a merge that is not an active end user;
// refusal starts the sentence.
func mergeable(u *User, refusal string) error {
	switch {
	case !u.Active:
		return Errorf(Conflict, "%s: %s has been deleted.", refusal, u.Name)
	case u.Role != EndUser:
		return Errorf(Conflict, "%s: %s is an %s, and only end users can be merged.", refusal, u.Name, u.Role)
	}
	return nil
}

// retireUser is the one place where a user's ways in end: its API tokens,
// password and browser sessions go. A merged-away user and a permanently
// deleted one both pass through here.
func (s *Service) retireUser(ctx context.Context, tx Tx, id int64) error {
	if err := tx.RevokeCredentials(ctx, id); err != nil {
		return err
	}
	return tx.DeleteUserSessions(ctx, id)
}

// DeletedUsers lists soft-deleted users, permanently deleted ones too (with
// their personal fields scrubbed), in id order. Agents only.
func (s *Service) DeletedUsers(ctx context.Context, p PageRequest) ([]*User, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	f := UserFilter{Deleted: true}
	return paginate(s, "deleted_users", p, userSorting,
		func(w Window) ([]*User, error) { return s.store.Users(ctx, f, w) },
		func() (int, error) { return s.store.CountUsers(ctx, f) })
}

// CountDeletedUsers counts the users DeletedUsers lists. Agents only.
func (s *Service) CountDeletedUsers(ctx context.Context) (int, error) {
	if _, err := agent(ctx); err != nil {
		return 0, err
	}
	return s.store.CountUsers(ctx, UserFilter{Deleted: true})
}

// DeletedUser returns a soft-deleted user not yet permanently deleted;
// any other id is NotFound. Agents only.
func (s *Service) DeletedUser(ctx context.Context, id int64) (*User, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	return deletedUser(ctx, s.store, id)
}

func deletedUser(ctx context.Context, r Reader, id int64) (*User, error) {
	u, err := r.UserRecord(ctx, id)
	if err == nil && (u.Active || u.Erased) {
		err = ErrNotFound
	}
	return u, err
}

// ErasedName is what a permanently deleted user is called from then on.
const ErasedName = "Permanently Deleted User"

// EraseUser permanently deletes a soft-deleted user (GDPR): its name,
// contact details, notes, identities, memberships, credentials, sessions and
// the outbox mail sent to it go; its
// id and row stay, so the deleted-users list still shows it. Admins only;
// a user not soft-deleted first is NotFound, as it is no deleted user.
// Past the erasure limit (Config.ErasureLimit) it is TooManyRequests, and
// only erasures done count against it.
func (s *Service) EraseUser(ctx context.Context, id int64) (*User, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	quota, err := s.erasures.reserve(now)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.inTx(ctx, func(tx Tx) error {
		u, err = s.eraseUser(ctx, tx, a, id)
		return err
	})
	if err != nil {
		quota.CancelAt(now)
	}
	return u, err
}

// eraseUser does the erasure inside a transaction and records its steps as
// compliance deletion statuses: the request by the admin for every
// application, then the system's start and completion in support (the only
// application deskgate has). They share one timestamp, as it all commits at once.
func (s *Service) eraseUser(ctx context.Context, tx Tx, a *Actor, id int64) (*User, error) {
	old, err := deletedUser(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := refuseOwner(old, ownerDeleted); err != nil {
		return nil, err
	}
	now := s.Now()
	step := func(action, application string, executer int64) error {
		return tx.InsertComplianceStatus(ctx, &ComplianceDeletionStatus{
			Action: action, Application: application, ExecuterID: executer, UserID: id, CreatedAt: now})
	}
	if err := step("request_deletion", "all", a.ID); err != nil {
		return nil, err
	}
	if err := step("started", "support", 0); err != nil {
		return nil, err
	}
	if err := tx.DeleteIdentities(ctx, id); err != nil {
		return nil, err
	}
	if err := tx.DeleteUserMail(ctx, id); err != nil { // addresses and names in the outbox are personal data too
		return nil, err
	}
	if err := tx.ScrubJobItems(ctx, id); err != nil { // and in the job statuses that name the user
		return nil, err
	}
	if err := tx.ReplaceGroupMemberships(ctx, id, nil, now); err != nil {
		return nil, err
	}
	if err := tx.ReplaceOrganizationMemberships(ctx, id, nil, now); err != nil {
		return nil, err
	}
	if err := s.retireUser(ctx, tx, id); err != nil {
		return nil, err
	}
	d := *old
	d.Name, d.ExternalID, d.Alias, d.Phone, d.Notes, d.Details, d.Signature = ErasedName, "", "", "", "", "", ""
	d.Tags, d.UserFields, d.UpdatedAt = []string{}, map[string]any{}, now
	if err := tx.UpdateUser(ctx, &d); err != nil {
		return nil, err
	}
	if err := tx.MarkErased(ctx, id, now); err != nil {
		return nil, err
	}
	if err := step("complete", "support", 0); err != nil {
		return nil, err
	}
	return tx.UserRecord(ctx, id)
}

// ComplianceDeletionStatus is one step of a user's GDPR deletion in one area.
type ComplianceDeletionStatus struct {
	ID          int64
	Action      string // request_deletion, started, complete
	Application string // all, support
	ExecuterID  int64  // 0 for system steps
	UserID      int64
	CreatedAt   time.Time
}

// ComplianceDeletionStatuses lists a user's GDPR deletion steps in the order
// taken, filtered by application when one is given. A permanently deleted
// user still has them; a user never in the account is NotFound. Agents only.
func (s *Service) ComplianceDeletionStatuses(ctx context.Context, userID int64, application string, p PageRequest) ([]ComplianceDeletionStatus, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	if _, err := s.store.UserRecord(ctx, userID); err != nil {
		return nil, PageInfo{}, err
	}
	all, err := s.store.ComplianceDeletionStatuses(ctx, userID)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if application = strings.TrimSpace(application); application != "" {
		kept := all[:0]
		for _, st := range all {
			if st.Application == application {
				kept = append(kept, st)
			}
		}
		all = kept
	}
	return pageSlice(s, fmt.Sprintf("compliance_deletion_statuses?%d|%s", userID, application), p, all, complianceSorting)
}
