-- Browser sessions. Only the SHA-256 of the cookie's secret is kept; the
-- authenticity token is derived from the session id and its renewals, so it
-- needs no column either. A session is live while now < expires_at (the
-- absolute lifetime, pushed out by a renewal) and now < last_seen_at plus
-- the idle lifetime; last_seen_at is refreshed at most once a minute.
CREATE TABLE sessions (
	id               INTEGER PRIMARY KEY,
	user_id          INTEGER NOT NULL REFERENCES users (id),
	secret_hash      BLOB    NOT NULL UNIQUE,
	renewals         INTEGER NOT NULL DEFAULT 0,
	authenticated_at INTEGER NOT NULL,
	last_seen_at     INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every mail the product sends. delivery is NULL when no SMTP server is
-- configured, else 'pending' until the sender reports 'sent' or gives up
-- ('failed'); next_attempt_at schedules the next try with backoff.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	recipient       TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	user_id         INTEGER REFERENCES users (id),
	created_at      INTEGER NOT NULL,
	delivery        TEXT,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	next_attempt_at INTEGER,
	sent_at         INTEGER
);
CREATE INDEX outbox_recipient ON outbox (recipient COLLATE NOCASE, id);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivery = 'pending';
