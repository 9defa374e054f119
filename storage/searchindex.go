package storage

import "context"

// DeferSearchIndex switches migration 0016's deferral on for the rest of
// the transaction: the index triggers note the users changed, and
// indexDeferred indexes them before the commit. A plain row, not a pragma
// nor a dropped trigger, so that no prepared statement of this or any
// other connection expires.
func (t *txStore) DeferSearchIndex(ctx context.Context) error {
	if t.searchDeferred {
		return nil
	}
	if _, err := t.q.ExecContext(ctx, "INSERT INTO search_index_deferred (on_until_commit) VALUES (1)"); err != nil {
		return err
	}
	t.searchDeferred = true
	return nil
}

// deferredIndexStatements index the users search_index_pending notes as
// the row-by-row triggers would have, each statement for all of them:
// their old full-text rows go, the rows of those active now come from
// wordStatements, and the trigrams change where the name did (SQL's
// lower() and substr(), as the triggers, so that any name gives the same
// trigrams). Then the deferral ends, leaving both tables empty.
// TestJobIndexesMatchTriggers holds them to the triggers.
var deferredIndexStatements = append(append([]string{
	`DELETE FROM user_words WHERE docid IN (SELECT user_id FROM search_index_pending WHERE name IS NOT NULL)`,
	`DELETE FROM user_more_words WHERE docid IN (SELECT user_id FROM search_index_pending WHERE name IS NOT NULL)`,
}, wordStatements("id IN (SELECT user_id FROM search_index_pending)")...),
	`DELETE FROM user_name_trigrams WHERE (trigram, user_id) IN
		(SELECT lower(substr(p.name, s.n, 3)), p.user_id FROM search_index_pending p CROSS JOIN users u ON u.id = p.user_id
			CROSS JOIN name_trigram_starts s ON s.n <= length(p.name) - 2 WHERE p.name IS NOT u.name)`,
	`INSERT OR IGNORE INTO user_name_trigrams (trigram, user_id)
		SELECT lower(substr(u.name, s.n, 3)), u.id FROM search_index_pending p CROSS JOIN users u ON u.id = p.user_id
			CROSS JOIN name_trigram_starts s ON s.n <= length(u.name) - 2 WHERE p.name IS NOT u.name ORDER BY 1, 2`,
	`DELETE FROM search_index_pending`,
	`DELETE FROM search_index_deferred`,
)

// indexDeferred applies what DeferSearchIndex deferred; InTx runs it
// before the commit.
func (t *txStore) indexDeferred(ctx context.Context) error {
	if !t.searchDeferred {
		return nil
	}
	t.searchDeferred = false
	return execAll(ctx, t.q, deferredIndexStatements)
}

// wordStatements write the full-text rows of the active users among those
// users matches (a condition on users' columns), as users_words_insert
// would have: the words from migration 0014's user_word_rows, the
// trigger's view, in docid order, so that each statement appends to the
// index.
func wordStatements(users string) []string {
	return []string{
		`INSERT INTO user_words (docid, name, email, notes, phone, external_id)
			SELECT * FROM user_word_rows WHERE docid IN (SELECT id FROM users WHERE ` + users + ` AND active) ORDER BY docid`,
		`INSERT INTO user_more_words (docid, details, tags)
			SELECT id, details, tags FROM users WHERE ` + users + ` AND active AND (details <> '' OR tags <> '[]') ORDER BY id`,
	}
}
