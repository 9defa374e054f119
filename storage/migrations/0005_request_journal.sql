-- The request journal: one row per API request, for the legacy-traffic
-- report. Route templates and credential kinds only: never bodies, query
-- values, passwords or tokens. Pruned by age and row count.
CREATE TABLE request_journal (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL, -- unix seconds
	protocol    TEXT    NOT NULL, -- legacy, v2
	method      TEXT    NOT NULL,
	route       TEXT    NOT NULL, -- the router's template, "/users/{id}.xml"
	operation   TEXT    NOT NULL, -- "GET /users.xml?query=": the template plus what tells search from list
	status      INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	user_id     INTEGER,          -- no foreign key: a journal row outlives nothing it names
	credential  TEXT    NOT NULL, -- none, password, token, session
	user_agent  TEXT    NOT NULL,
	client_addr TEXT    NOT NULL,
	request_id  TEXT    NOT NULL
);
-- One index: every row pays for each index it is written to, and the
-- report's queries and the retention prune all select a time range.
CREATE INDEX request_journal_at ON request_journal (at);
