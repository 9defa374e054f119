package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// BenchmarkSearch times, through the service but without HTTP, each search
// the load scenarios of cmd/deskgate-load send: choosing the users, loading
// the page and counting. Each iteration asks for another seeded user or
// surname. It seeds 20,000 users; to measure at scale, point
// DESKGATE_BENCH_DB at a copy of a database seeded by deskgate-load
// -seed-users (it is migrated, then only read):
//
//	DESKGATE_BENCH_DB=/tmp/m1.db go test ./storage -run '^$' -bench Search -benchtime 300x
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db, users := searchBenchDB(b)
	svc, err := domain.NewService(ctx, db, domain.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx = domain.WithActor(ctx, &domain.Actor{ID: 1, Role: domain.Admin, Owner: true})
	surname := func(pos int) string { return strings.ToLower(SeedSurname(int64(pos))) }
	v2 := func(query, externalID string, size int) func(int) (int, error) {
		return func(pos int) (int, error) {
			us, _, err := svc.SearchUsers(ctx, strings.ReplaceAll(query, "{pos}", fmt.Sprint(pos)), strings.ReplaceAll(externalID, "{pos}", fmt.Sprint(pos)),
				domain.PageRequest{Size: size})
			return len(us), err
		}
	}
	for _, tc := range []struct {
		name   string
		search func(pos int) (int, error)
	}{
		{"email", v2("user{pos}@example.com", "", 0)},
		{"email-field", v2("email:user{pos}@example.com", "", 0)},
		{"external-id", v2("", "X{pos}", 0)},
		{"name", func(pos int) (int, error) { return v2(surname(pos), "", 100)(pos) }},
		{"autocomplete", func(pos int) (int, error) {
			us, _, err := svc.AutocompleteUsers(ctx, fmt.Sprint("User ", pos), "", domain.PageRequest{Size: 10})
			return len(us), err
		}},
		{"legacy-word", func(pos int) (int, error) {
			us, err := svc.LegacyUsers(ctx, surname(pos), nil, 1)
			return len(us), err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if n, err := tc.search(1 + r.IntN(users-1)); err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// searchBenchDB opens DESKGATE_BENCH_DB, or seeds a fresh database, and
// returns it with its number of seeded users.
func searchBenchDB(b *testing.B) (*DB, int) {
	ctx := context.Background()
	path := os.Getenv("DESKGATE_BENCH_DB")
	fresh := path == ""
	if fresh {
		path = filepath.Join(b.TempDir(), "search.db")
	}
	db, err := Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if fresh {
		if err := db.SeedUsers(ctx, 20000, time.Unix(1_700_000_000, 0)); err != nil {
			b.Fatal(err)
		}
	}
	var users int
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE position > 0").Scan(&users); err != nil {
		b.Fatal(err)
	}
	return db, users
}
