-- The account has exactly one default group. Databases from before the rule
-- may hold several flags: the oldest flagged group keeps it. The service
-- makes a default group at start-up when there is none.
UPDATE groups SET is_default = 0
	WHERE is_default AND id <> (SELECT min(id) FROM groups WHERE is_default);
CREATE UNIQUE INDEX groups_one_default ON groups (is_default) WHERE is_default;

-- Active users by name (case-insensitive, then id): the v2 list sorted by
-- name pages along this index instead of sorting every active user.
CREATE INDEX users_active_name ON users (active, name COLLATE NOCASE);
