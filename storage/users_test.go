package storage

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
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
// come in id order from group_memberships_user, without a sort, and so do
// those a user is read with, each group by its key.
func TestMembershipReadPlan(t *testing.T) {
	db := seededDB(t, 10)
	plan := explain(t, db, membershipQuery+" WHERE m.user_id = +? ORDER BY m.id", []any{2})
	if !strings.Contains(plan, "SEARCH m USING INDEX group_memberships_user ") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("one user's memberships:\n%s", plan)
	}
	plan = explain(t, db, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", []any{2})
	if !strings.Contains(plan, "SEARCH m USING INDEX group_memberships_user ") ||
		!strings.Contains(plan, "SEARCH g USING INTEGER PRIMARY KEY ") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("the memberships of a user read whole:\n%s", plan)
	}
}

// TestUserMembershipsSpelledOut: the memberships a user is read with, from
// the text membershipsColumn spells them out in, are those the memberships'
// own query reads, in id order, whatever their groups' names hold.
func TestUserMembershipsSpelledOut(t *testing.T) {
	ctx := context.Background()
	db := seededDB(t, 30)
	const user = 3 // seeded in no group
	groups := []domain.Group{
		{Name: "a,b;c", Description: "12,34;"},
		{Name: "9", Description: ""},
		{Name: "Ünïcødé ✓ group", Description: "line one\nline two, \"quoted\"", IsPublic: true},
	}
	var ms []domain.GroupMembership
	err := db.InTx(ctx, func(tx domain.Tx) error {
		for i := range groups {
			groups[i].CreatedAt = time.Unix(1_700_000_000+int64(i), 0)
			groups[i].UpdatedAt = groups[i].CreatedAt
			if err := tx.InsertGroup(ctx, &groups[i]); err != nil {
				return err
			}
		}
		// Out of the groups' order, the last one's membership the default.
		for _, i := range []int{2, 0, 1} {
			ms = append(ms, domain.GroupMembership{GroupID: groups[i].ID, Default: i == 2})
		}
		return tx.ReplaceGroupMemberships(ctx, user, ms, time.Unix(1_700_000_100, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := db.GroupMemberships(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(groups) {
		t.Fatalf("%d memberships stored, want %d", len(want), len(groups))
	}
	u, err := db.UserByID(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, u.Groups); diff != "" {
		t.Errorf("memberships read with the user (-own query +spelled out):\n%s", diff)
	}
	if u, err := db.UserByID(ctx, 2); err != nil || u.Groups != nil {
		t.Errorf("a user in no group: %v, %v", u.Groups, err)
	}
}

// TestDecodeMembershipsRefusesMalformed: a text that is not what
// membershipsColumn makes is an error, never memberships made up.
func TestDecodeMembershipsRefusesMalformed(t *testing.T) {
	for _, s := range []string{"", "1,2", "1,2,1,3,4,0,0,1,5,6,3,ab", "1,2,1,3,4,0,0,1,5,6,99,ab0,", "1,2,1,3,4,0,0,1,5,6,1,a0,x", "x,2,1,3,4,0,0,1,5,6,1,a0,;"} {
		if ms, err := decodeMemberships(7, s); err == nil {
			t.Errorf("%q: %+v, want an error", s, ms)
		}
	}
	ms, err := decodeMemberships(7, "1,2,1,3,4,0,0,1,5,6,1,a0,")
	if err != nil || len(ms) != 1 || ms[0].Group.Name != "a" || ms[0].Group.Description != "" || ms[0].UserID != 7 || !ms[0].Default {
		t.Errorf("a well-formed membership: %+v, %v", ms, err)
	}
}
