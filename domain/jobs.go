package domain

import (
	"context"
	"encoding/hex"
	"io"
	"time"
)

// JobType is what a bulk job does to each of its items.
type JobType string

const (
	JobCreateMany         JobType = "bulk_create_users"
	JobCreateOrUpdateMany JobType = "bulk_create_or_update_users"
	JobUpdateMany         JobType = "bulk_update_users"
	JobDestroyMany        JobType = "bulk_delete_users"
)

// imports reports whether the job type is a bulk user import, which the
// account must allow.
func (t JobType) imports() bool { return t == JobCreateMany || t == JobCreateOrUpdateMany }

// JobState is where a job is in its life: queued, then working, then
// completed or failed.
type JobState string

const (
	JobQueued    JobState = "queued"
	JobWorking   JobState = "working"
	JobCompleted JobState = "completed"
	JobFailed    JobState = "failed" // the job itself broke; a bad item only fails that item
)

// Ended reports whether the job will change no more.
func (s JobState) Ended() bool { return s == JobCompleted || s == JobFailed }

// JobStatus is a bulk job as clients poll it.
type JobStatus struct {
	Seq       int64  // the store's order of creation; list cursors mark it
	ID        string // 32 hex characters, as the real service's
	Type      JobType
	State     JobState
	CreatorID int64 // the job acts for this user, with their permissions at the time it runs
	Total     int
	Progress  int // items done, applied or failed
	Message   string
	Results   []JobResult // in request order, once the job has ended (clients see none before)
	CreatedAt time.Time
	UpdatedAt time.Time
}

// JobItem is one requested change of a bulk job, kept by the store until it
// is applied.
type JobItem struct {
	UserID     int64  `json:",omitempty"` // update and delete: the target user by id,
	ExternalID string `json:",omitempty"` // or, without an id, by external id (beside an id, Changes set it)
	Changes    UserChanges
	// Invalid holds what the front end could not read of this item (an
	// unknown role name): the item fails with it, the job goes on.
	Invalid []FieldError `json:",omitempty"`
}

// PendingItem is a job item not yet applied, with its position in the request.
type PendingItem struct {
	Index int
	Item  JobItem
}

// ResultStatus is what happened to one item.
type ResultStatus string

const (
	ResultCreated ResultStatus = "Created"
	ResultUpdated ResultStatus = "Updated"
	ResultDeleted ResultStatus = "Deleted"
	ResultFailed  ResultStatus = "Failed"
)

// JobResult is the outcome of one item.
type JobResult struct {
	Index      int
	UserID     int64  // the user created, updated or deleted; for a failed item the target asked for, if any
	ExternalID string // the target asked for by external id
	Email      string
	Status     ResultStatus
	Failure    *Error // why the item failed: kind, code, message and fields, never a cause
}

const (
	// MaxUnfinishedJobs is the real service's job limit: at most 30 jobs
	// queued or running per account (developer.zendesk.com, rate limits, "Job limit").
	MaxUnfinishedJobs = 30
	// JobTTL is how long a job status can be read after its creation.
	JobTTL = 24 * time.Hour
	// jobChunk is how many items one write transaction applies: few enough
	// that progress shows and other writers wait little (a chunk of imports
	// takes about 20 ms), many enough that an import is not bound by
	// commits: 50 cost 12 % less CPU an item than 25, 100 another 7 %.
	jobChunk = 50
)

var (
	errJobLimit = &Error{Kind: TooManyRequests, Code: "TooManyJobs", Msg: "The account has 30 jobs queued or running; wait for one to finish", RetryAfter: 10}
	errNoItems  = &Error{Kind: BadRequest, Code: "InvalidParameter", Msg: "Pass at least one user"}
)

// EnqueueJob stores a bulk job and its items, then wakes the worker; the job
// is durable once this returns. Agents may queue jobs (each item then
// obeys the creator's permissions); only admins delete in bulk. Returns
// Forbidden for a bulk import the account does not allow, TooMany for more
// than 100 items, TooManyRequests beyond the job limit.
func (s *Service) EnqueueJob(ctx context.Context, t JobType, items []JobItem) (*JobStatus, error) {
	a, err := agent(ctx)
	switch {
	case err != nil:
		return nil, err
	case t == JobDestroyMany && a.Role != Admin:
		return nil, errForbidden
	case t.imports() && !s.bulkImports:
		return nil, errForbidden // the real service's one 403 text, also for imports not enabled
	case len(items) > MaxIDs:
		return nil, tooMany()
	case len(items) == 0:
		return nil, errNoItems
	}
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.random, id); err != nil {
		return nil, err
	}
	now := s.Now()
	j := &JobStatus{ID: hex.EncodeToString(id), Type: t, State: JobQueued, CreatorID: a.ID,
		Total: len(items), CreatedAt: now, UpdatedAt: now}
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.DeleteEndedJobs(ctx, now.Add(-JobTTL)); err != nil {
			return err
		}
		n, err := tx.CountUnfinishedJobs(ctx)
		if err != nil {
			return err
		}
		if n >= MaxUnfinishedJobs {
			return errJobLimit
		}
		return tx.InsertJob(ctx, j, items)
	})
	if err != nil {
		return nil, err
	}
	select {
	case s.jobsReady <- struct{}{}:
	default: // the worker is already awake
	}
	return j, nil
}

// Job returns a job status not yet expired. Agents only.
func (s *Service) Job(ctx context.Context, id string) (*JobStatus, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	return s.store.Job(ctx, id, s.Now().Add(-JobTTL))
}

// Jobs lists the account's job statuses, newest first, by cursor only (as
// the real API). Agents only.
func (s *Service) Jobs(ctx context.Context, p PageRequest) ([]*JobStatus, PageInfo, error) {
	if _, err := agent(ctx); err != nil {
		return nil, PageInfo{}, err
	}
	p.Cursor = true
	p.Sort = Sort{Desc: true} // always newest first
	since := s.Now().Add(-JobTTL)
	return paginate(s, "job_statuses", p, jobSorting,
		func(w Window) ([]*JobStatus, error) { return s.store.Jobs(ctx, since, w) }, nil)
}

// JobsByIDs returns the job statuses with the given ids, in the order asked,
// skipping unknown and expired ones; a repeated id is listed once, as
// UsersByIDs lists a repeated user. Agents only.
func (s *Service) JobsByIDs(ctx context.Context, ids []string) ([]*JobStatus, error) {
	if _, err := agent(ctx); err != nil {
		return nil, err
	}
	if len(ids) > MaxIDs {
		return nil, tooMany()
	}
	var out []*JobStatus
	asked := make(map[string]bool, len(ids))
	for _, id := range ids {
		if asked[id] {
			continue
		}
		asked[id] = true
		j, err := s.store.Job(ctx, id, s.Now().Add(-JobTTL))
		switch {
		case err == nil:
			out = append(out, j)
		case KindOf(err) != NotFound:
			return nil, err
		}
	}
	return out, nil
}

// RunJobs is the job worker: it applies queued jobs one at a time, oldest
// first, until ctx ends. A job left working by a stopped server is taken up
// where it stopped: an item's change and its result commit together, so
// none is applied twice. When ctx ends, the item being applied finishes and
// the rest stay queued for the next start.
func (s *Service) RunJobs(ctx context.Context) {
	for {
		j, err := s.store.NextJob(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			s.runJob(ctx, j)
			continue
		case KindOf(err) != NotFound:
			s.log.ErrorContext(ctx, "reading the job queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.jobsReady:
		case <-time.After(time.Second): // a store error may pass
		}
	}
}

// runJob applies a job's pending items in chunks, each chunk one write
// transaction, checking ctx between items.
func (s *Service) runJob(ctx context.Context, j *JobStatus) {
	work := context.WithoutCancel(ctx) // a started item always finishes
	fail := func(err error) {
		s.log.ErrorContext(work, "job failed", "job", j.ID, "type", string(j.Type), "err", err)
		j.State, j.Message, j.UpdatedAt = JobFailed, "Failed at "+jobTime(s.Now())+": internal error", s.Now()
		if err := s.inTx(work, func(tx Tx) error { return tx.UpdateJob(work, j) }); err != nil {
			s.log.ErrorContext(work, "marking a job failed", "job", j.ID, "err", err)
		}
	}
	items, err := s.store.PendingJobItems(work, j.Seq)
	if err != nil {
		fail(err)
		return
	}
	a := s.jobActor(work, j.CreatorID)
	if j.State == JobQueued {
		j.State, j.UpdatedAt = JobWorking, s.Now()
		if err := s.inTx(work, func(tx Tx) error { return tx.UpdateJob(work, j) }); err != nil {
			fail(err)
			return
		}
	}
	for len(items) > 0 && ctx.Err() == nil {
		var done int
		next := *j
		started := s.now()
		err := s.inTx(work, func(tx Tx) error {
			done = 0
			// No item reads the search indexes (email and external id
			// checks read their unique indexes), and indexed once a
			// chunk, its users cost a fraction of indexing them item by
			// item, each in its savepoint.
			if err := tx.DeferSearchIndex(work); err != nil {
				return err
			}
			for _, it := range items[:min(len(items), jobChunk)] {
				r, err := s.applyJobItem(work, tx, a, j.Type, it)
				if err != nil {
					return err
				}
				if err := tx.RecordJobResult(work, j.Seq, r); err != nil {
					return err
				}
				if done++; ctx.Err() != nil {
					break
				}
			}
			next.Progress = j.Progress + done
			if next.Progress >= next.Total {
				next.State, next.Message = JobCompleted, "Completed at "+jobTime(s.Now())
			}
			next.UpdatedAt = s.Now()
			return tx.UpdateJob(work, &next)
		})
		if err != nil {
			fail(err)
			return
		}
		*j = next
		items = items[done:]
		s.yield(ctx, s.now().Sub(started))
	}
}

// DefaultJobDuty is the job worker's least share of a core while requests
// are being served. An import costs the server more than its worker's
// share, as its client's create_many and job status requests are requests
// too: in BenchmarkJobs a duty of 0.1 cost a v2 list about a fifth of its
// speed while an import ran; at 0.03 it lost about a tenth (README, "Bulk
// jobs"), and the import still went on at over a hundred users a second.
const DefaultJobDuty = 0.03

// yieldPoll is how often a resting worker looks whether requests are still
// being served.
const yieldPoll = time.Millisecond

// yield rests the worker after a chunk that took busy for as long as
// requests are being served (Config.Interactive), but at most
// busy * (1 - duty) / duty, so that
// the worker keeps its duty share of a core under any load. Once resting,
// it goes on only when two looks in a row find no request: under a load of
// long requests from a few clients a moment between requests is common,
// and going on at the first one let the worker import at two to four times
// its duty while v2 lists were served, which lost about a tenth of their
// speed (BenchmarkJobs). It measures on the service clock, so a fixed test
// clock never waits.
func (s *Service) yield(ctx context.Context, busy time.Duration) {
	if s.interactive == nil || s.jobDuty >= 1 || busy <= 0 || !s.interactive() {
		return
	}
	until := s.now().Add(time.Duration(float64(busy) * (1 - s.jobDuty) / s.jobDuty))
	t := time.NewTicker(yieldPoll)
	defer t.Stop()
	for quiet := 0; quiet < 2 && s.now().Before(until); {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if quiet++; s.interactive() {
			quiet = 0
		}
	}
}

// jobTime is the time form of job messages ("Completed at 2018-03-08 10:07:04 +0000").
func jobTime(t time.Time) string { return t.Format("2006-01-02 15:04:05 -0700") }

// jobActor is the job's creator as an actor, as they are now; nil when they
// are gone or may no longer authenticate (inactive, suspended), so that
// every item is refused.
func (s *Service) jobActor(ctx context.Context, id int64) *Actor {
	u, err := s.store.UserByID(ctx, id)
	if err != nil || !u.mayStillAct() {
		return nil
	}
	return &Actor{ID: u.ID, Role: u.Role, Owner: u.Owner}
}

// applyJobItem applies one item in a savepoint of tx, through the same rules
// as the single-user operation. A client-side failure (a taken email, a seat
// limit, a missing user) is the item's result and leaves nothing written;
// only an internal error is returned.
func (s *Service) applyJobItem(ctx context.Context, tx Tx, a *Actor, t JobType, it PendingItem) (JobResult, error) {
	r := JobResult{Index: it.Index, UserID: it.Item.UserID}
	if it.Item.UserID == 0 {
		r.ExternalID = it.Item.ExternalID
	}
	err := tx.Savepoint(ctx, func() error {
		c := it.Item.Changes
		var u *User
		var err error
		switch {
		case len(it.Item.Invalid) > 0:
			return invalid(it.Item.Invalid).err()
		case a == nil:
			return errForbidden
		case t == JobCreateMany:
			u, err = s.createUser(ctx, tx, a, &c)
			r.Status = ResultCreated
		case t == JobCreateOrUpdateMany:
			var created bool
			u, created, err = s.createOrUpdate(ctx, tx, a, &c)
			r.Status = ResultUpdated
			if created {
				r.Status = ResultCreated
			}
		default:
			var id int64
			if id, err = s.jobTarget(ctx, tx, it.Item); err != nil {
				return err
			}
			if t == JobDestroyMany {
				u, err = s.softDelete(ctx, tx, a, id)
				r.Status = ResultDeleted
			} else {
				u, err = s.editUser(ctx, tx, a, id, &c)
				r.Status = ResultUpdated
			}
		}
		if err != nil {
			return err
		}
		r.UserID, r.Email = u.ID, u.Email
		return nil
	})
	if err == nil || KindOf(err) == Internal {
		return r, err
	}
	e := *AsError(err)
	e.Err = nil // the cause is for logs; results are shown to clients
	r.Status, r.Failure = ResultFailed, &e
	return r, nil
}

// jobTarget resolves an update or delete item's user: by its id, or by its
// external id when it names no id (API-NOTES §6.2's two item forms); beside
// an id, an external id is a change to make, never the user to change.
func (s *Service) jobTarget(ctx context.Context, tx Tx, it JobItem) (int64, error) {
	if it.UserID != 0 || it.ExternalID == "" {
		return it.UserID, nil
	}
	id, err := tx.UserIDByExternalID(ctx, it.ExternalID)
	if err == nil && id == 0 {
		err = ErrNotFound
	}
	return id, err
}
