-- Every reference to a user found by its user. With references checked at
-- the commit (storage.InsertUser within a bulk job's chunk), inserting a
-- user looks up the rows of each table referencing users; without these
-- indexes the outbox and the jobs would be read whole for every new user.
-- Permanent deletion finds the user's mail by it too.
CREATE INDEX outbox_user ON outbox (user_id);
CREATE INDEX jobs_creator ON jobs (creator_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
