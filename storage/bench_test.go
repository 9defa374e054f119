package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkUserByID reads one user by id: an end user, who has no group
// membership, and an agent, who has one (the seed makes every 20th user an
// agent in a group). Compare the two: a membership should cost little more.
//
//	go test ./storage -run '^$' -bench UserByID -benchtime 2s
func BenchmarkUserByID(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
