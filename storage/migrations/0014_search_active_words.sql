-- Search finds active users only, so the full-text tables hold only
-- theirs: a search that nothing but its words narrows is then counted from
-- the index alone, without looking up each match's user (storage/users.go).
-- A deleted user's words go when it is deactivated and come back when it is
-- restored; the other triggers of migration 0012 only update rows, which an
-- inactive user does not have.
DELETE FROM user_words WHERE docid IN (SELECT id FROM users WHERE NOT active);
DELETE FROM user_more_words WHERE docid IN (SELECT id FROM users WHERE NOT active);

-- A user's words, as the full-text tables hold them (the email and phone
-- columns as migration 0012 writes them), for the two triggers that add them.
CREATE VIEW user_word_rows AS
	SELECT u.id AS docid, u.name, coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = u.id AND type = 'email'), '') AS email,
		u.notes, trim(u.phone || ' ' || coalesce((SELECT group_concat(value, ' ') FROM identities WHERE user_id = u.id AND type = 'phone_number'), '')) AS phone,
		coalesce(u.external_id, '') AS external_id
	FROM users u;

DROP TRIGGER users_words_insert;
CREATE TRIGGER users_words_insert AFTER INSERT ON users WHEN NEW.active BEGIN
	INSERT INTO user_words (docid, name, email, notes, phone, external_id) SELECT * FROM user_word_rows WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

CREATE TRIGGER users_words_restore AFTER UPDATE OF active ON users WHEN NEW.active AND NOT OLD.active BEGIN
	INSERT INTO user_words (docid, name, email, notes, phone, external_id) SELECT * FROM user_word_rows WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags WHERE NEW.details <> '' OR NEW.tags <> '[]';
END;

CREATE TRIGGER users_words_deactivate AFTER UPDATE OF active ON users WHEN OLD.active AND NOT NEW.active BEGIN
	DELETE FROM user_words WHERE docid = NEW.id;
	DELETE FROM user_more_words WHERE docid = NEW.id;
END;

-- This one inserts: it must not give an inactive user a row, whichever
-- order it fires in with the two above.
DROP TRIGGER users_more_words_update;
CREATE TRIGGER users_more_words_update AFTER UPDATE OF details, tags ON users
	WHEN OLD.details IS NOT NEW.details OR OLD.tags IS NOT NEW.tags
BEGIN
	DELETE FROM user_more_words WHERE docid = NEW.id;
	INSERT INTO user_more_words (docid, details, tags) SELECT NEW.id, NEW.details, NEW.tags
		WHERE NEW.active AND (NEW.details <> '' OR NEW.tags <> '[]');
END;
