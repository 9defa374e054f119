-- A user's group memberships are read in id order with every read of one
-- user (storage/groups.go). The unique (user_id, group_id) index finds them
-- in group order, so every such read sorted them in a temporary b-tree, most
-- of what a membership added to reading its user. An index on user_id alone
-- holds each user's entries in rowid order, which is id order: no sort.
CREATE INDEX group_memberships_user ON group_memberships (user_id);
