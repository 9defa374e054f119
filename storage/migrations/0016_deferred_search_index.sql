-- A bulk job applies each item of a chunk in a savepoint of one
-- transaction (domain/jobs.go). Indexed row by row, every item flushed
-- FTS4's pending terms into a segment of its own (FTS4 flushes at each
-- savepoint) and copied every index page it touched into the savepoint's
-- journal. While search_index_deferred holds its row, the search index
-- triggers instead note the user in search_index_pending, and the
-- transaction indexes the noted users in bulk before it commits
-- (storage/searchindex.go), so a commit always leaves the indexes in step
-- with the users. Both tables are empty outside such a transaction.
CREATE TABLE search_index_deferred (on_until_commit INTEGER PRIMARY KEY CHECK (on_until_commit = 1));
CREATE TABLE search_index_pending (
	user_id INTEGER PRIMARY KEY,
	-- The user's name when the transaction first changed what the indexes
	-- hold of it, whose trigrams then go; NULL for a user the transaction
	-- created, which has nothing indexed yet.
	name    TEXT
);

-- The triggers of migrations 0012 and 0014, unchanged but for the WHEN
-- that leaves them idle while indexing is deferred.
DROP TRIGGER users_words_insert;
CREATE TRIGGER users_words_insert AFTER INSERT ON users
	WHEN NEW.active AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT INTO user_words (docid, name, email, notes, phone, external_id) SELECT * FROM user_word_rows WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

DROP TRIGGER users_words_restore;
CREATE TRIGGER users_words_restore AFTER UPDATE OF active ON users
	WHEN NEW.active AND NOT OLD.active AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT INTO user_words (docid, name, email, notes, phone, external_id) SELECT * FROM user_word_rows WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

DROP TRIGGER users_words_deactivate;
CREATE TRIGGER users_words_deactivate AFTER UPDATE OF active ON users
	WHEN OLD.active AND NOT NEW.active AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	DELETE FROM user_words WHERE docid = NEW.id;
	DELETE FROM user_more_words WHERE docid = NEW.id;
END;

DROP TRIGGER users_words_update;
CREATE TRIGGER users_words_update AFTER UPDATE OF name, notes, phone, external_id ON users
	WHEN (OLD.name IS NOT NEW.name OR OLD.notes IS NOT NEW.notes OR OLD.phone IS NOT NEW.phone
		OR OLD.external_id IS NOT NEW.external_id) AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	UPDATE user_words SET name = NEW.name, notes = NEW.notes, phone = trim(NEW.phone || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = NEW.id AND type = 'phone_number'), '')),
		external_id = coalesce(NEW.external_id, '') WHERE docid = NEW.id;
END;

DROP TRIGGER users_more_words_update;
CREATE TRIGGER users_more_words_update AFTER UPDATE OF details, tags ON users
	WHEN (OLD.details IS NOT NEW.details OR OLD.tags IS NOT NEW.tags) AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	DELETE FROM user_more_words WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags
		WHERE NEW.active AND (NEW.details <> '' OR NEW.tags <> '[]');
END;

DROP TRIGGER identities_words_insert;
CREATE TRIGGER identities_words_insert AFTER INSERT ON identities
	WHEN NEW.type IN ('email', 'phone_number') AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid = NEW.user_id;
END;

DROP TRIGGER identities_words_update;
CREATE TRIGGER identities_words_update AFTER UPDATE OF value, user_id, type ON identities
	WHEN (OLD.type IN ('email', 'phone_number') OR NEW.type IN ('email', 'phone_number')) AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid IN (OLD.user_id, NEW.user_id);
END;

DROP TRIGGER identities_words_delete;
CREATE TRIGGER identities_words_delete AFTER DELETE ON identities
	WHEN OLD.type IN ('email', 'phone_number') AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid = OLD.user_id;
END;

DROP TRIGGER users_trigrams_insert;
CREATE TRIGGER users_trigrams_insert AFTER INSERT ON users
	WHEN NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO user_name_trigrams
		SELECT lower(substr(NEW.name, n, 3)), NEW.id FROM name_trigram_starts WHERE n <= length(NEW.name) - 2;
END;

DROP TRIGGER users_trigrams_update;
CREATE TRIGGER users_trigrams_update AFTER UPDATE OF name ON users
	WHEN OLD.name IS NOT NEW.name AND NOT EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	DELETE FROM user_name_trigrams WHERE user_id = OLD.id AND trigram IN
		(SELECT lower(substr(OLD.name, n, 3)) FROM name_trigram_starts WHERE n <= length(OLD.name) - 2);
	INSERT OR IGNORE INTO user_name_trigrams
		SELECT lower(substr(NEW.name, n, 3)), NEW.id FROM name_trigram_starts WHERE n <= length(NEW.name) - 2;
END;

-- While deferred: every change the triggers above would index notes its
-- user once, with the name it had before (OR IGNORE keeps the first note).
-- An email written before its user (storage.InsertUser) notes the user
-- with no name, as one the transaction creates.
CREATE TRIGGER users_index_deferred_insert AFTER INSERT ON users
	WHEN EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (NEW.id, NULL);
END;

CREATE TRIGGER users_index_deferred_update AFTER UPDATE OF name, notes, phone, external_id, details, tags, active ON users
	WHEN (OLD.name IS NOT NEW.name OR OLD.notes IS NOT NEW.notes OR OLD.phone IS NOT NEW.phone
		OR OLD.external_id IS NOT NEW.external_id OR OLD.details IS NOT NEW.details OR OLD.tags IS NOT NEW.tags
		OR OLD.active IS NOT NEW.active) AND EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (OLD.id, OLD.name);
END;

CREATE TRIGGER identities_index_deferred_insert AFTER INSERT ON identities
	WHEN NEW.type IN ('email', 'phone_number') AND EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (NEW.user_id, (SELECT name FROM users WHERE id = NEW.user_id));
END;

CREATE TRIGGER identities_index_deferred_update AFTER UPDATE OF value, user_id, type ON identities
	WHEN (OLD.type IN ('email', 'phone_number') OR NEW.type IN ('email', 'phone_number')) AND EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (OLD.user_id, (SELECT name FROM users WHERE id = OLD.user_id));
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (NEW.user_id, (SELECT name FROM users WHERE id = NEW.user_id));
END;

CREATE TRIGGER identities_index_deferred_delete AFTER DELETE ON identities
	WHEN OLD.type IN ('email', 'phone_number') AND EXISTS (SELECT 1 FROM search_index_deferred)
BEGIN
	INSERT OR IGNORE INTO search_index_pending (user_id, name) VALUES (OLD.user_id, (SELECT name FROM users WHERE id = OLD.user_id));
END;
