-- What a client's requests have in common is stored once. A journal row
-- spelled out its protocol, method, route, operation and credential kind,
-- and its client's user agent and address: twelve values to bind, eight of
-- them texts, and about 150 bytes a row, although from one request of a
-- client to its next only the time, status, duration and request id differ.
-- A row now names its kind and its client by id: seven values, one text.
-- The journal's writer remembers the ids it has looked up, and its pruning
-- deletes the kinds and clients no row names once there are many of them.
CREATE TABLE request_kinds (
	id         INTEGER PRIMARY KEY,
	protocol   TEXT NOT NULL, -- legacy, v2
	method     TEXT NOT NULL,
	route      TEXT NOT NULL, -- the router's template, "/users/{id}.xml"
	operation  TEXT NOT NULL, -- "GET /users.xml?query=": the template plus what tells search from list
	credential TEXT NOT NULL, -- none, password, token, session
	UNIQUE (protocol, method, route, operation, credential)
);
CREATE TABLE request_clients (
	id          INTEGER PRIMARY KEY,
	user_agent  TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	UNIQUE (user_agent, client_addr)
);
INSERT INTO request_kinds (protocol, method, route, operation, credential)
	SELECT DISTINCT protocol, method, route, operation, credential FROM request_journal;
INSERT INTO request_clients (user_agent, client_addr)
	SELECT DISTINCT user_agent, client_addr FROM request_journal;
-- No foreign keys: each would be checked on every insert, and a row
-- outlives nothing it names (pruning deletes rows before what they name).
CREATE TABLE request_log (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL, -- unix seconds
	kind_id     INTEGER NOT NULL, -- request_kinds
	client_id   INTEGER NOT NULL, -- request_clients
	status      INTEGER NOT NULL,
	duration_us INTEGER NOT NULL,
	user_id     INTEGER,
	request_id  TEXT    NOT NULL
);
INSERT INTO request_log (id, at, kind_id, client_id, status, duration_us, user_id, request_id)
	SELECT j.id, j.at, k.id, c.id, j.status, j.duration_us, j.user_id, j.request_id
	FROM request_journal j
	JOIN request_kinds k USING (protocol, method, route, operation, credential)
	JOIN request_clients c USING (user_agent, client_addr);
DROP TABLE request_journal;
-- Still one index on the rows: the report's queries and the retention prune
-- all select a time range.
CREATE INDEX request_log_at ON request_log (at);
-- The journal as its readers know it.
CREATE VIEW request_journal AS
	SELECT l.id, l.at, k.protocol, k.method, k.route, k.operation, l.status, l.duration_us, l.user_id,
		k.credential, c.user_agent, c.client_addr, l.request_id
	FROM request_log l
	JOIN request_kinds k ON k.id = l.kind_id
	JOIN request_clients c ON c.id = l.client_id;
