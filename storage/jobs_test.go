package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

// jobsAt is when the jobs of these tests are created.
var jobsAt = time.Unix(1_700_000_000, 0)

// openJobsDB is a test database with user 1, the jobs' creator.
func openJobsDB(tb testing.TB) *DB {
	tb.Helper()
	db := openTestDB(tb)
	if err := db.SeedUsers(context.Background(), 1, jobsAt); err != nil {
		tb.Fatal(err)
	}
	return db
}

// insertJob writes a create_many job of total items in state, created at
// jobsAt, whose first done items have their results.
func insertJob(tb testing.TB, db *DB, state domain.JobState, total, done int) *domain.JobStatus {
	tb.Helper()
	ctx := context.Background()
	j := &domain.JobStatus{ID: fmt.Sprintf("%016x%016x", total, done), Type: domain.JobCreateMany, State: state,
		CreatorID: 1, Total: total, Progress: done, CreatedAt: jobsAt, UpdatedAt: jobsAt}
	err := db.InTx(ctx, func(tx domain.Tx) error {
		if err := tx.InsertJob(ctx, j, make([]domain.JobItem, total)); err != nil {
			return err
		}
		for i := range done {
			r := domain.JobResult{Index: i, UserID: int64(1000 + i), Email: fmt.Sprintf("user%d@example.com", i), Status: domain.ResultCreated}
			if err := tx.RecordJobResult(ctx, j.Seq, r); err != nil {
				return err
			}
			j.Results = append(j.Results, r)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// TestJobResultsOnceEnded: a job's results are read with its status once it
// has ended, in request order, and not while it works (clients are shown
// none before, and a working job is what they poll).
func TestJobResultsOnceEnded(t *testing.T) {
	ctx := context.Background()
	db := openJobsDB(t)
	working := insertJob(t, db, domain.JobWorking, 3, 2)
	completed := insertJob(t, db, domain.JobCompleted, 3, 3)
	failed := insertJob(t, db, domain.JobFailed, 4, 1) // stopped by an internal error
	for _, tc := range []struct {
		job  *domain.JobStatus
		want []domain.JobResult
	}{
		{working, nil},
		{completed, completed.Results},
		{failed, failed.Results},
	} {
		got, err := db.Job(ctx, tc.job.ID, jobsAt.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got.Results); diff != "" {
			t.Errorf("%s job's results (-want +got):\n%s", tc.job.State, diff)
		}
	}
	listed, err := db.Jobs(ctx, jobsAt.Add(-time.Hour), domain.Window{Limit: -1})
	if err != nil || len(listed) != 3 || listed[0].Results != nil || len(listed[1].Results) != 3 || len(listed[2].Results) != 1 {
		t.Fatalf("listed jobs: %+v, %v", listed, err)
	}
}
