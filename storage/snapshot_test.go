package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSnapshot10000Users takes a snapshot of 10,000 users and restores
// it over a database that has diverged from it (the target for a
// restore: under 200 ms).
//
//	go test -run '^$' -bench Snapshot -benchtime 20x ./storage
func BenchmarkSnapshot10000Users(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "restore.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 5, 15, 18, 7, 57, 0, time.UTC)
	if err := db.SeedUsers(ctx, 10_000, now); err != nil {
		b.Fatal(err)
	}
	if err := db.Snapshot(ctx, "seeded"); err != nil {
		b.Fatal(err)
	}
	if err := db.SeedUsers(ctx, 1_000, now); err != nil {
		b.Fatal(err)
	}
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if err := db.Snapshot(ctx, "again"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			if ok, err := db.Restore(ctx, "seeded"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	n, err := db.CountUsersTotal(ctx)
	if err != nil || n != 10_000 {
		b.Fatalf("after restore: %d users, %v", n, err)
	}
}
