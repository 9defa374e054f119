package storage

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// TestListsReadPerTableAsPerUser: a long list completed by completeUsers
// reads the same users as userColumns' subqueries do, with phones, an
// unverified email, a missing email, a second organization and groups.
func TestListsReadPerTableAsPerUser(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.SeedUsers(ctx, 200, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO identities (user_id, type, value, is_primary, created_at, updated_at) VALUES (5, 'phone_number', '+15550100', 1, 0, 0)",
		"UPDATE users SET phone = '+15550199', shared_phone_number = 1 WHERE id = 6",
		"UPDATE identities SET verified = 0 WHERE user_id = 7",
		"DELETE FROM identities WHERE user_id = 8",
		"INSERT INTO organization_memberships (user_id, organization_id, created_at, updated_at) VALUES (11, 50, 0, 0)",
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	read := func(l userList) []*domain.User {
		us, err := db.queryUsers(ctx, l, "SELECT "+l.columns+" FROM users u ORDER BY u.id")
		if err != nil {
			t.Fatal(err)
		}
		return us
	}
	perUser, perTable := read(listOf(1)), read(listOf(completePerTable))
	if perUser[0].Email == "" || perUser[4].Phone == "" || perUser[5].Phone == "" || perUser[6].Verified || perUser[7].Email != "" ||
		perUser[10].OrganizationID == 0 || len(perUser[20].Groups) == 0 {
		t.Fatalf("the fixture lacks a case: %+v", perUser[:21])
	}
	if !reflect.DeepEqual(perUser, perTable) {
		for i := range perUser {
			if !reflect.DeepEqual(perUser[i], perTable[i]) {
				t.Errorf("user %d:\nper user  %+v\nper table %+v", perUser[i].ID, perUser[i], perTable[i])
			}
		}
	}
}

// TestListsReadAtOneMoment: the statements of a per-table list read one
// state of the database, however many writes commit between them.
func TestListsReadAtOneMoment(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if err := db.SeedUsers(ctx, 60, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	count := func(r reader) (n int) {
		if err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM identities WHERE type = 'email'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := db.reader.atOneMoment(ctx, func(r reader) error {
		before := count(r)
		if _, err := db.write.ExecContext(ctx, "DELETE FROM identities WHERE user_id = 5"); err != nil {
			return err
		}
		if after := count(r); after != before {
			t.Errorf("%d email identities, then %d within one read", before, after)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l := listOf(completePerTable)
	us, err := db.queryUsers(ctx, l, "SELECT "+l.columns+" FROM users u WHERE u.id = 5")
	if err != nil || len(us) != 1 || us[0].Email != "" {
		t.Errorf("after the read: %v, %+v; want user 5 without its deleted address", err, us)
	}
}

// TestUserReadPlans: a single-user read and a list's completion read the
// primary identities from identities_user_values alone (migration 0017),
// never from the identities table: at a million users each table row read
// besides is one more page from disk for every user shown.
func TestUserReadPlans(t *testing.T) {
	db := seededDB(t, 10)
	for name, query := range map[string]string{
		"one user": "SELECT " + userColumns + " FROM users u WHERE u.id = ?",
		"a list's completion": `SELECT user_id, type, value, verified FROM identities
			WHERE user_id IN (SELECT value FROM json_each(?)) AND is_primary = 1 AND type IN ('email', 'phone_number')`,
	} {
		plan := explain(t, db, query, []any{"[2]"})
		covered := strings.Count(plan, "SEARCH identities USING COVERING INDEX identities_user_values ")
		if covered == 0 || covered != strings.Count(plan, "SEARCH identities ")+strings.Count(plan, "SCAN identities") {
			t.Errorf("%s: identities read otherwise than from identities_user_values alone:\n%s", name, plan)
		}
	}
}

// TestMembershipReadPlan pins migration 0019: a user's group memberships
// come in id order from group_memberships_user, without a sort.
func TestMembershipReadPlan(t *testing.T) {
	db := seededDB(t, 10)
	plan := explain(t, db, membershipQuery+" WHERE m.user_id = +? ORDER BY m.id", []any{2})
	if !strings.Contains(plan, "SEARCH m USING INDEX group_memberships_user ") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("one user's memberships:\n%s", plan)
	}
}
