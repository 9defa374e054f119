package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSeededIndexesMatchTriggers: SeedUsers writes the search indexes in
// bulk, around migration 0012's triggers; the same users copied into a
// second database, where the triggers index them row by row, must give the
// same index rows and the same search answers, and the triggers must be
// back as they were. Seeding twice covers a batch added to full indexes.
func TestSeededIndexesMatchTriggers(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	bulk := openTestDB(t)
	for _, n := range []int{300, 200} {
		if err := bulk.SeedUsers(ctx, n, now); err != nil {
			t.Fatal(err)
		}
	}
	triggered := openTestDB(t)
	if _, err := triggered.write.ExecContext(ctx, "ATTACH ? AS seeded", bulk.path); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"groups", "organizations", "users", "identities", "group_memberships", "organization_memberships"} {
		if _, err := triggered.write.ExecContext(ctx, "INSERT INTO main."+table+" SELECT * FROM seeded."+table+" WHERE id NOT IN (SELECT id FROM main."+table+")"); err != nil {
			t.Fatal(table, err)
		}
	}
	sameIndexes(t, bulk, triggered, "bulk", "triggered", []string{
		"SELECT count(*) FROM users",
		"SELECT docid, name, email, notes, phone, external_id FROM user_words ORDER BY docid",
		"SELECT docid, details, tags FROM user_more_words ORDER BY docid",
		"SELECT trigram, user_id FROM user_name_trigrams ORDER BY trigram, user_id",
		"SELECT docid FROM user_words WHERE user_words MATCH 'kalomi' ORDER BY docid",
		"SELECT docid FROM user_words WHERE user_words MATCH 'email:user42*' ORDER BY docid",
		"SELECT docid FROM user_words WHERE user_words MATCH 'external_id:x499' ORDER BY docid",
		"SELECT docid FROM user_more_words WHERE user_more_words MATCH 'tags:vip' ORDER BY docid",
		"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
	})
}

// firstDifference is the first row where a and b differ, -1 if none.
func firstDifference(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) || i >= len(a) || i >= len(b) {
			return i
		}
	}
	return -1
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return ""
}

// dump reads every row of q as one line of its columns.
func dump(t *testing.T, db *DB, q string) []string {
	t.Helper()
	rows, err := db.write.Query(q)
	if err != nil {
		t.Fatal(q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			line[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(line, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
