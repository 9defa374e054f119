package deskgate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/storage"
	"github.com/google/go-cmp/cmp"
	_ "github.com/mattn/go-sqlite3"
)

// TestDefaultGroupOnOlderDatabases: a database from before the one-default
// rule, with several flagged groups or none, ends up with exactly one
// default after migration 0008 and start-up.
func TestDefaultGroupOnOlderDatabases(t *testing.T) {
	for _, tc := range []struct {
		name        string
		setup       string
		wantDefault string
	}{
		{"two flagged: the oldest keeps it", `UPDATE groups SET is_default = 1`, "Sales"},
		{"none flagged: the oldest active group", `UPDATE groups SET is_default = 0; UPDATE groups SET deleted = 1 WHERE name = 'Sales'`, "Billing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := storage.Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			// Roll the file back to before 0008 (undoing 0008 and 0012), with
			// groups of its time.
			raw, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = raw.Exec(`DROP INDEX groups_one_default; DROP INDEX users_active_name; DELETE FROM schema_version WHERE version IN (8, 12);
				DROP TABLE user_words; DROP TABLE user_more_words; DROP INDEX users_updated; DROP INDEX users_created;
				DROP TRIGGER users_words_insert; DROP TRIGGER users_words_update; DROP TRIGGER users_more_words_update;
				DROP TRIGGER identities_words_insert; DROP TRIGGER identities_words_update; DROP TRIGGER identities_words_delete;
				DROP TABLE name_trigram_starts; DROP TABLE user_name_trigrams; DROP TRIGGER users_trigrams_insert; DROP TRIGGER users_trigrams_update;
				INSERT INTO groups (name, created_at, updated_at) VALUES ('Sales', 1, 1), ('Billing', 2, 2); ` + tc.setup)
			raw.Close()
			if err != nil {
				t.Fatal(err)
			}

			db, err = storage.Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			svc, err := domain.NewService(ctx, db, domain.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword}); err != nil {
				t.Fatal(err)
			}
			gs, err := db.Groups(ctx, domain.Window{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var defaults []string
			for _, g := range gs {
				if g.Default {
					defaults = append(defaults, g.Name)
				}
			}
			if !cmp.Equal(defaults, []string{tc.wantDefault}) || len(gs) != 2 {
				t.Errorf("defaults %v among %d groups, want [%s] among 2", defaults, len(gs), tc.wantDefault)
			}
		})
	}
}
