-- A user's primary email, its verified flag and the primary phone are read
-- with every single-user read (storage/users.go, userColumns). Keyed by
-- user, type and is_primary, and holding the value and verified flag, this
-- index answers those subqueries alone: identities_primary, the unique one,
-- leads each of them to the table row as well, one more page to read for
-- every user shown (at a million users, one pread of two). It has the
-- prefix of identities_user, which it replaces.
CREATE INDEX identities_user_values ON identities (user_id, type, is_primary, value, verified);
DROP INDEX identities_user;
