-- Active users in id order: the v2 list (cursor and offset paging) and its
-- count read this index alone. users_active_role orders by role first, so
-- with it every page sorted all active users in a temporary b-tree.
CREATE INDEX users_active ON users (active);
