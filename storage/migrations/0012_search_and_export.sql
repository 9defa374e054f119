-- Full-text indexes for the v2 user search, kept in step with users and
-- identities by triggers, so every write transaction that changes a user
-- changes its words too. FTS4 because go-sqlite3 builds it in by default
-- (FTS5 needs a build tag). unicode61 folds case and diacritics; operators
-- never reach MATCH from a client: domain/search.go passes only words.
--
-- user_words holds what free words search (name, email, notes, phone,
-- external_id); user_more_words the fields only field:value terms reach, so
-- that a free word never matches details or tags.
CREATE VIRTUAL TABLE user_words USING fts4(name, email, notes, phone, external_id,
	tokenize=unicode61 "remove_diacritics=2");
CREATE VIRTUAL TABLE user_more_words USING fts4(details, tags, tokenize=unicode61 "remove_diacritics=2");

-- email: every email identity of the user; phone: the user's phone and
-- every phone_number identity (migration 0003 keeps numbers there), each
-- space-separated.
INSERT INTO user_words (docid, name, email, notes, phone, external_id)
	SELECT u.id, u.name, coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = u.id AND type = 'email'), ''),
		u.notes, trim(u.phone || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = u.id AND type = 'phone_number'), '')), coalesce(u.external_id, '')
	FROM users u;
-- Most users have neither details nor tags: they have no user_more_words row.
INSERT INTO user_more_words (docid, details, tags) SELECT id, details, tags FROM users WHERE details <> '' OR tags <> '[]';

-- The identities usually come after the user, and their triggers fill the
-- email and phone in; a bulk load (storage.SeedUsers) writes them first, so
-- that each user costs one full-text insert.
CREATE TRIGGER users_words_insert AFTER INSERT ON users BEGIN
	INSERT INTO user_words (docid, name, email, notes, phone, external_id)
		VALUES (NEW.id, NEW.name, coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = NEW.id AND type = 'email'), ''),
			NEW.notes, trim(NEW.phone || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = NEW.id AND type = 'phone_number'), '')), coalesce(NEW.external_id, ''));
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

CREATE TRIGGER users_words_update AFTER UPDATE OF name, notes, phone, external_id ON users
	WHEN OLD.name IS NOT NEW.name OR OLD.notes IS NOT NEW.notes OR OLD.phone IS NOT NEW.phone
		OR OLD.external_id IS NOT NEW.external_id
BEGIN
	UPDATE user_words SET name = NEW.name, notes = NEW.notes, phone = trim(NEW.phone || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = NEW.id AND type = 'phone_number'), '')),
		external_id = coalesce(NEW.external_id, '') WHERE docid = NEW.id;
END;

CREATE TRIGGER users_more_words_update AFTER UPDATE OF details, tags ON users
	WHEN OLD.details IS NOT NEW.details OR OLD.tags IS NOT NEW.tags
BEGIN
	DELETE FROM user_more_words WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

-- Any change to a user's email or phone identities rewrites both columns.
CREATE TRIGGER identities_words_insert AFTER INSERT ON identities WHEN NEW.type IN ('email', 'phone_number') BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid = NEW.user_id;
END;

CREATE TRIGGER identities_words_update AFTER UPDATE OF value, user_id, type ON identities
	WHEN OLD.type IN ('email', 'phone_number') OR NEW.type IN ('email', 'phone_number')
BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid IN (OLD.user_id, NEW.user_id);
END;

CREATE TRIGGER identities_words_delete AFTER DELETE ON identities WHEN OLD.type IN ('email', 'phone_number') BEGIN
	UPDATE user_words SET email = coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'email'), ''),
		phone = trim((SELECT phone FROM users WHERE id = docid) || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = docid AND type = 'phone_number'), ''))
		WHERE docid = OLD.user_id;
END;

-- The incremental export reads users in (updated_at, id) order, deleted
-- ones too; the rowid completes the key.
CREATE INDEX users_updated ON users (updated_at);
-- Search terms on creation time.
CREATE INDEX users_created ON users (created_at);

-- The legacy search's "name contains" answers from name trigrams: every
-- three-character run of the lowercased name (SQLite's lower(), ASCII, as the
-- instr() check that confirms each match). The rarest trigram of the text
-- gives the candidates (storage/search.go). Triggers cannot use WITH, so the
-- start of each run comes from a table of positions; names hold at most
-- 255 characters.
CREATE TABLE name_trigram_starts (n INTEGER PRIMARY KEY);
WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 253)
INSERT INTO name_trigram_starts SELECT n FROM p;
CREATE TABLE user_name_trigrams (
	trigram TEXT    NOT NULL,
	user_id INTEGER NOT NULL,
	PRIMARY KEY (trigram, user_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO user_name_trigrams
	SELECT lower(substr(u.name, s.n, 3)), u.id FROM users u JOIN name_trigram_starts s ON s.n <= length(u.name) - 2;

CREATE TRIGGER users_trigrams_insert AFTER INSERT ON users BEGIN
	INSERT OR IGNORE INTO user_name_trigrams
		SELECT lower(substr(NEW.name, n, 3)), NEW.id FROM name_trigram_starts WHERE n <= length(NEW.name) - 2;
END;

CREATE TRIGGER users_trigrams_update AFTER UPDATE OF name ON users WHEN OLD.name IS NOT NEW.name BEGIN
	DELETE FROM user_name_trigrams WHERE user_id = OLD.id AND trigram IN
		(SELECT lower(substr(OLD.name, n, 3)) FROM name_trigram_starts WHERE n <= length(OLD.name) - 2);
	INSERT OR IGNORE INTO user_name_trigrams
		SELECT lower(substr(NEW.name, n, 3)), NEW.id FROM name_trigram_starts WHERE n <= length(NEW.name) - 2;
END;
