package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestMigrateIdentities opens a database that an earlier deskgate (schema
// version 2) wrote and checks that migration 0003 keeps what both APIs
// showed: the email, verified and phone of every user.
// databaseBefore makes a database file as a deskgate that knew the
// migrations below version would have, and opens it without migrating.
func databaseBefore(t *testing.T, version int) (path string, old *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	steps, err := migrationSteps()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, m := range steps {
		if m.version >= version {
			break
		}
		text, err := migrations.ReadFile(m.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec(string(text)); err != nil {
			t.Fatal(m.name, err)
		}
		if _, err := old.Exec("INSERT INTO schema_version VALUES (?, 0)", m.version); err != nil {
			t.Fatal(err)
		}
	}
	return path, old
}

func TestMigrateIdentities(t *testing.T) {
	ctx := context.Background()
	path, old := databaseBefore(t, 3)
	_, err := old.Exec(`
		INSERT INTO users (id, position, name, role, restriction, verified, phone, shared_phone_number, locale, time_zone, created_at, updated_at) VALUES
			(1, 0, 'Verified With Phone', 2, 0, 1, '+45 12 34 56 78', 0, 'en-US', 'UTC', 100, 100),
			(2, 1, 'Unverified', 0, 4, 0, '', 0, 'en-US', 'UTC', 100, 100),
			(3, 2, 'Twin One', 0, 4, 1, '+1 555 0100 200', 0, 'en-US', 'UTC', 100, 100),
			(4, 3, 'Twin Two', 0, 4, 0, '+1 555 0100 200', 0, 'en-US', 'UTC', 100, 100),
			(5, 4, 'Free Text Phone', 0, 4, 0, 'ask reception', 0, 'en-US', 'UTC', 100, 100),
			(6, 5, 'No Primary', 0, 4, 1, '', 0, 'en-US', 'UTC', 100, 100);
		INSERT INTO identities (user_id, type, value, verified, is_primary, created_at, updated_at) VALUES
			(1, 'email', 'one@example.com', 0, 1, 100, 100),
			(2, 'email', 'two@example.com', 1, 1, 100, 100),
			(2, 'email', 'two.old@example.com', 0, 0, 100, 100),
			(6, 'email', 'six@example.com', 0, 0, 100, 100),
			(6, 'email', 'six.later@example.com', 0, 0, 100, 100);`)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type shown struct {
		Email, Phone     string
		Verified, Shared bool
	}
	want := map[int64]shown{
		1: {"one@example.com", "+45 12 34 56 78", true, false},
		2: {"two@example.com", "", false, false},
		3: {"", "+1 555 0100 200", true, true}, // several users' number: a shared one
		4: {"", "+1 555 0100 200", false, true},
		5: {"", "ask reception", false, false}, // no phone number: kept on the user
		6: {"six@example.com", "", true, false},
	}
	for id, w := range want {
		u, err := db.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := (shown{u.Email, u.Phone, u.Verified, u.SharedPhoneNumber}); got != w {
			t.Errorf("user %d shows %+v, want %+v", id, got, w)
		}
	}
	ids, err := db.Identities(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []domain.Identity{
		{UserID: 1, Type: domain.IdentityEmail, Value: "one@example.com", Verified: true, Primary: true},
		{UserID: 1, Type: domain.IdentityPhone, Value: "+45 12 34 56 78", Primary: true},
	}
	if diff := cmp.Diff(wantIDs, ids, cmpopts.IgnoreFields(domain.Identity{}, "ID", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("user 1's identities (-want +got):\n%s", diff)
	}
	var phones int
	if err := db.read.QueryRow("SELECT count(*) FROM users WHERE id = 1 AND phone <> ''").Scan(&phones); err != nil || phones != 0 {
		t.Errorf("user 1 keeps a copy of its phone identity (%d, %v)", phones, err)
	}
	// A second primary of one type is refused from now on.
	err = db.InTx(ctx, func(tx domain.Tx) error {
		return tx.InsertIdentity(ctx, &domain.Identity{UserID: 2, Type: domain.IdentityEmail, Value: "two.new@example.com", Primary: true})
	})
	if domain.KindOf(err) != domain.Conflict {
		t.Errorf("a second primary email: %v", err)
	}
}

// TestMigrateFillsGaps: a database that already has a later version (8)
// but not an earlier one merged afterwards (7, the jobs) gets the missing
// one on its next start; versions are a set, not a high-water mark.
func TestMigrateFillsGaps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gap.db")
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec(`DROP TABLE job_items; DROP TABLE jobs; DELETE FROM schema_version WHERE version = 7`)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM jobs").Scan(&n); err != nil {
		t.Errorf("migration 7 not applied after 8: %v", err)
	}
}

// TestMigrateJournalDictionary: migration 0018 keeps every journal row the
// table held before, as the journal's readers read it.
func TestMigrateJournalDictionary(t *testing.T) {
	ctx := context.Background()
	path, old := databaseBefore(t, 18)
	const before = `(at, protocol, method, route, operation, status, duration_us, user_id, credential, user_agent, client_addr, request_id)`
	if _, err := old.Exec(`INSERT INTO request_journal ` + before + ` VALUES
		(100, 'legacy', 'GET', '/users/{id}.xml', 'GET /users/{id}.xml', 200, 1500, 7, 'token', 'OldSync/1.0', '192.0.2.1', 'a-1'),
		(101, 'v2', 'PUT', '/api/v2/users/{user_id}{json}', 'PUT /api/v2/users/{user_id}{json}', 422, 900, NULL, 'password', 'OldSync/1.0', '192.0.2.1', 'a-2'),
		(102, 'legacy', 'GET', '/users/{id}.xml', 'GET /users/{id}.xml', 404, 300, 7, 'token', 'curl/8', '192.0.2.9', 'a-3')`); err != nil {
		t.Fatal(err)
	}
	read := func(q querier) [][]any {
		t.Helper()
		rs, err := q.QueryContext(ctx, "SELECT id, "+strings.Trim(before, "()")+" FROM request_journal ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out [][]any
		for rs.Next() {
			vals := make([]any, 13)
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, vals)
		}
		return out
	}
	want := read(old)
	old.Close()
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if diff := cmp.Diff(want, read(db.read)); diff != "" || len(want) != 3 {
		t.Errorf("journal rows after migration 0018 (-before +after):\n%s", diff)
	}
}
