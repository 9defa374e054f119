-- Secrets the server makes once and keeps (the cursor MAC key).
CREATE TABLE secrets (
	purpose TEXT PRIMARY KEY,
	value   BLOB NOT NULL
);
INSERT INTO secrets (purpose, value) VALUES ('cursor', randomblob(32));

CREATE TABLE users (
	id                    INTEGER PRIMARY KEY,
	-- 0-based rank in id order. Users are never removed, so a new user's
	-- position is one past the last; the legacy list pages by it at the same
	-- cost at any depth, where OFFSET would walk every row before the page.
	position              INTEGER NOT NULL UNIQUE,
	name                  TEXT    NOT NULL,
	role                  INTEGER NOT NULL,
	restriction           INTEGER NOT NULL,
	active                INTEGER NOT NULL DEFAULT 1,
	verified              INTEGER NOT NULL DEFAULT 0,
	suspended             INTEGER NOT NULL DEFAULT 0,
	owner                 INTEGER NOT NULL DEFAULT 0,
	external_id           TEXT,
	alias                 TEXT    NOT NULL DEFAULT '',
	phone                 TEXT    NOT NULL DEFAULT '',
	shared_phone_number   INTEGER NOT NULL DEFAULT 0,
	notes                 TEXT    NOT NULL DEFAULT '',
	details               TEXT    NOT NULL DEFAULT '',
	signature             TEXT    NOT NULL DEFAULT '',
	locale                TEXT    NOT NULL,
	time_zone             TEXT    NOT NULL,
	time_format           INTEGER NOT NULL DEFAULT 0,
	custom_role_id        INTEGER,
	moderator             INTEGER NOT NULL DEFAULT 0,
	only_private_comments INTEGER NOT NULL DEFAULT 0,
	tags                  TEXT    NOT NULL DEFAULT '[]',
	user_fields           TEXT    NOT NULL DEFAULT '{}',
	password_hash         TEXT    NOT NULL DEFAULT '',
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	last_login_at         INTEGER
);
CREATE INDEX users_active_role ON users (active, role);
CREATE UNIQUE INDEX users_external_id ON users (external_id COLLATE NOCASE) WHERE external_id IS NOT NULL;

CREATE TABLE identities (
	id                  INTEGER PRIMARY KEY,
	user_id             INTEGER NOT NULL REFERENCES users (id),
	type                TEXT    NOT NULL,
	value               TEXT    NOT NULL,
	verified            INTEGER NOT NULL DEFAULT 0,
	is_primary          INTEGER NOT NULL DEFAULT 0,
	undeliverable_count INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX identities_value ON identities (type, value COLLATE NOCASE);
CREATE INDEX identities_user ON identities (user_id, type, is_primary);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	token_hash BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE groups (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL DEFAULT '',
	is_default  INTEGER NOT NULL DEFAULT 0,
	deleted     INTEGER NOT NULL DEFAULT 0,
	is_public   INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE group_memberships (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	group_id   INTEGER NOT NULL REFERENCES groups (id),
	is_default INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (user_id, group_id)
);

CREATE TABLE organizations (
	id              INTEGER PRIMARY KEY,
	name            TEXT    NOT NULL UNIQUE COLLATE NOCASE,
	details         TEXT    NOT NULL DEFAULT '',
	notes           TEXT    NOT NULL DEFAULT '',
	external_id     TEXT,
	domain_names    TEXT    NOT NULL DEFAULT '[]',
	group_id        INTEGER,
	shared_tickets  INTEGER NOT NULL DEFAULT 0,
	shared_comments INTEGER NOT NULL DEFAULT 0,
	tags            TEXT    NOT NULL DEFAULT '[]',
	fields          TEXT    NOT NULL DEFAULT '{}',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);

CREATE TABLE organization_memberships (
	id              INTEGER PRIMARY KEY,
	user_id         INTEGER NOT NULL REFERENCES users (id),
	organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	is_default      INTEGER NOT NULL DEFAULT 0,
	view_tickets    INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (user_id, organization_id)
);
CREATE INDEX organization_memberships_org ON organization_memberships (organization_id);
