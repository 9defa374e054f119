package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// TestSearchPlans: every search the load scenarios time is answered from
// an index, never by scanning the users or sorting its matches, for the
// page and for its count. SQLite plans these without statistics (deskgate
// runs no ANALYZE), so a small database plans them as a million users do.
func TestSearchPlans(t *testing.T) {
	ctx := context.Background()
	db := seededDB(t, 100)
	search := func(query string) domain.UserFilter {
		terms, err := domain.ParseSearch(query)
		if err != nil {
			t.Fatal(err)
		}
		return domain.UserFilter{Search: terms}
	}
	page := domain.Window{Limit: 101}
	for _, tc := range []struct {
		name string
		f    domain.UserFilter
		w    domain.Window
	}{
		{"email", search("user42@example.com"), page},
		{"email-field", search("email:user42@example.com"), page},
		{"external_id=", domain.UserFilter{ExternalID: "X42"}, page},
		{"external_id:", search("external_id:X42"), page},
		{"name word", search("kalomi"), page},
		{"name word, page 3", search("kalomi"), domain.Window{Offset: 200, Limit: 101}},
		{"name word and a role", search("kalomi -role:agent"), page},
		{"name word and an email", search("kalomi user42@example.com"), page},
		{"tags", search("tags:vip -kalomi"), page},
		{"autocomplete", domain.UserFilter{NamePrefix: "User 42"}, domain.Window{Limit: 11, Sort: domain.Sort{Field: "name"}}},
		{"legacy contains", domain.UserFilter{NameContains: "Kalomi", IncludeInactive: true}, domain.Window{Limit: 15}},
		{"legacy contains, page 3", domain.UserFilter{NameContains: "Kalomi", IncludeInactive: true}, domain.Window{Offset: 30, Limit: 15}},
	} {
		q, err := db.userQuery(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		query, args := q.page(tc.w)
		countQuery, countArgs := q.count(domain.MaxOffsetRecords)
		for _, sql := range []struct {
			query string
			args  []any
		}{{query, args}, {countQuery, countArgs}} {
			plan := explain(t, db, sql.query, sql.args)
			t.Logf("%s:\n%s", tc.name, plan)
			for _, bad := range []string{"SCAN u\n", "SCAN u USING", "USE TEMP B-TREE"} {
				if strings.Contains(plan+"\n", bad) {
					t.Errorf("%s: %q in the plan of %s:\n%s", tc.name, strings.TrimSpace(bad), sql.query, plan)
				}
			}
		}
	}
}

// seededDB is a fresh database with users seeded users, closed when the
// test ends.
func seededDB(t *testing.T, users int) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "search.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SeedUsers(context.Background(), users, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	return db
}

// explain is the query plan of query, one step a line.
func explain(t *testing.T, db *DB, query string, args []any) string {
	t.Helper()
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "\n")
}

// TestSearchWordsFollowActive: the full-text tables hold active users only
// (migration 0014), so a deleted user's words go and a restored user's come
// back with its current name, emails and tags, and a search's count, read
// from the index alone, stays the number of users it finds.
func TestSearchWordsFollowActive(t *testing.T) {
	ctx := context.Background()
	db := seededDB(t, 30)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.write.ExecContext(ctx, query, args...); err != nil {
			t.Fatal(err)
		}
	}
	found := func(query string) (int, int) {
		t.Helper()
		terms, err := domain.ParseSearch(query)
		if err != nil {
			t.Fatal(err)
		}
		f := domain.UserFilter{Search: terms}
		us, err := db.Users(ctx, f, domain.Window{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.CountUsersUpTo(ctx, f, domain.MaxOffsetRecords)
		if err != nil {
			t.Fatal(err)
		}
		return len(us), n
	}
	const tenth = 11 // position 10, tagged vip
	exec("UPDATE users SET active = 0 WHERE id = ?", tenth)
	exec("UPDATE users SET tags = '[\"gold\"]', name = 'Gone Away' WHERE id = ?", tenth)
	for query, want := range map[string]int{"gone": 0, "tags:gold": 0, "tags:vip": 2, "user10": 0} {
		if page, count := found(query); page != want || count != want {
			t.Errorf("deleted: %s found %d, counted %d, want %d", query, page, count, want)
		}
	}
	exec("UPDATE users SET active = 1 WHERE id = ?", tenth)
	for query, want := range map[string]int{"gone": 1, "tags:gold": 1, "tags:vip": 2, "user10": 1} {
		if page, count := found(query); page != want || count != want {
			t.Errorf("restored: %s found %d, counted %d, want %d", query, page, count, want)
		}
	}
}
