-- User lifecycle beyond the soft delete: permanent deletion (erasure), its
-- GDPR steps, and agents' ticket skips.

-- Set when the user was permanently deleted: the row stays (the id is kept
-- and listed among deleted users) with its personal fields scrubbed.
ALTER TABLE users ADD COLUMN erased_at INTEGER;

CREATE TABLE compliance_deletion_statuses (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES users (id),
	action      TEXT    NOT NULL, -- request_deletion, started, complete
	application TEXT    NOT NULL, -- all, support
	executer_id INTEGER,          -- NULL for the system's own steps
	created_at  INTEGER NOT NULL
);
CREATE INDEX compliance_deletion_statuses_user ON compliance_deletion_statuses (user_id, id);

-- Tickets are not modelled: ticket_id is an opaque number.
CREATE TABLE skips (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	ticket_id  INTEGER NOT NULL,
	reason     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX skips_user ON skips (user_id, ticket_id, id);
