package storage

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// BenchmarkUserByID reads one user by id: an end user, who has no group
// membership, and an agent, who has one (the seed makes every 20th user an
// agent in a group). Compare the two: a membership should cost little more.
//
//	go test ./storage -run '^$' -bench UserByID -benchtime 2s
func BenchmarkUserByID(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	if err := db.SeedUsers(ctx, 1000, time.Unix(1_700_000_000, 0)); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		id       int64 // position 20 is an agent, 21 an end user; ids start at 1
		inGroups bool
	}{{"no-groups", 22, false}, {"in-groups", 21, true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				u, err := db.UserByID(ctx, tc.id)
				if err != nil || (len(u.Groups) > 0) != tc.inGroups {
					b.Fatal(u, err)
				}
			}
		})
	}
}

// BenchmarkUserByIDAtRandom reads users by ids drawn at random, as a show
// under load at a million users reads them: most of their pages are not in
// the connection's page cache. To measure at scale, point
// DESKGATE_BENCH_DB at a copy of a database seeded by deskgate-load
// -seed-users (see BenchmarkSearch):
//
//	DESKGATE_BENCH_DB=/tmp/m1.db go test ./storage -run '^$' -bench UserByIDAtRandom -benchtime 100000x
func BenchmarkUserByIDAtRandom(b *testing.B) {
	ctx := context.Background()
	db, users := searchBenchDB(b)
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := db.UserByID(ctx, int64(2+r.IntN(users))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJob reads the status of a 100-item job as a client polling for
// its end reads it: half done, and completed.
//
//	go test ./storage -run '^$' -bench 'Job$' -benchtime 2s
func BenchmarkJob(b *testing.B) {
	ctx := context.Background()
	db := openJobsDB(b)
	for _, tc := range []struct {
		state       domain.JobState
		done, shown int // results recorded, and read with the status
	}{
		{domain.JobWorking, 50, 0},
		{domain.JobCompleted, 100, 100},
	} {
		j := insertJob(b, db, tc.state, 100, tc.done)
		b.Run(string(tc.state), func(b *testing.B) {
			for b.Loop() {
				got, err := db.Job(ctx, j.ID, jobsAt.Add(-time.Hour))
				if err != nil || len(got.Results) != tc.shown {
					b.Fatal(got, err)
				}
			}
		})
	}
}
