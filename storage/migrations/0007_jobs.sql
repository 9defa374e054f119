-- Bulk jobs and their items. A job and every item are written in the
-- transaction that queues it; an item's result is written in the
-- transaction that applies it, so after a crash the items without a result
-- are exactly those still to do.
CREATE TABLE jobs (
	seq        INTEGER PRIMARY KEY, -- creation order: the list's cursor
	id         TEXT    NOT NULL UNIQUE,
	type       TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	creator_id INTEGER NOT NULL REFERENCES users (id),
	total      INTEGER NOT NULL,
	progress   INTEGER NOT NULL DEFAULT 0,
	message    TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN ('queued', 'working');
CREATE INDEX jobs_created ON jobs (created_at);

CREATE TABLE job_items (
	job_seq  INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	item     TEXT    NOT NULL, -- the requested change (JSON)
	result   TEXT,             -- its outcome (JSON); NULL while pending
	PRIMARY KEY (job_seq, position)
) WITHOUT ROWID;
