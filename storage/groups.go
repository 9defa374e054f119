package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/deskgate/deskgate/domain"
)

const groupColumns = "g.id, g.name, g.description, g.is_default, g.deleted, g.is_public, g.created_at, g.updated_at"

func scanGroup(sc scanner, g *domain.Group) error {
	var created, updated int64
	if err := sc.Scan(&g.ID, &g.Name, &g.Description, &g.Default, &g.Deleted, &g.IsPublic, &created, &updated); err != nil {
		return err
	}
	g.CreatedAt, g.UpdatedAt = unix(created), unix(updated)
	return nil
}

func (r reader) GroupByID(ctx context.Context, id int64) (*domain.Group, error) {
	var g domain.Group
	err := scanGroup(r.q.QueryRowContext(ctx, "SELECT "+groupColumns+" FROM groups g WHERE g.id = ?", id), &g)
	return &g, notFound(err)
}

func (r reader) Groups(ctx context.Context, w domain.Window) ([]*domain.Group, error) {
	q, args := windowed("SELECT "+groupColumns+" FROM groups g", "", nil, w, "g.id",
		sortColumns{"name": "g.name COLLATE NOCASE", "created_at": "g.created_at", "updated_at": "g.updated_at"})
	return queryWindow(ctx, r.q, w, q, args, func(sc scanner) (*domain.Group, error) {
		var g domain.Group
		return &g, scanGroup(sc, &g)
	})
}

func (r reader) CountGroups(ctx context.Context) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM groups").Scan(&n)
	return n, err
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		t, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

const membershipQuery = `SELECT m.id, m.user_id, m.group_id, m.is_default, m.created_at, m.updated_at, ` + groupColumns + `
	FROM group_memberships m JOIN groups g ON g.id = m.group_id`

func scanMembership(sc scanner) (domain.GroupMembership, error) {
	var m domain.GroupMembership
	var created, updated int64
	var gcreated, gupdated int64
	g := &m.Group
	err := sc.Scan(&m.ID, &m.UserID, &m.GroupID, &m.Default, &created, &updated,
		&g.ID, &g.Name, &g.Description, &g.Default, &g.Deleted, &g.IsPublic, &gcreated, &gupdated)
	m.CreatedAt, m.UpdatedAt = unix(created), unix(updated)
	g.CreatedAt, g.UpdatedAt = unix(gcreated), unix(gupdated)
	return m, err
}

// GroupMemberships reads a user's memberships. The user's reads compare
// user_id with +? rather than ?: SQLite propagates a bare "column = ?" of a
// query that also joins or sorts as a constant, marks the statement as
// depending on the parameter's value, and re-prepares it whenever the
// parameter is bound again, which is every run, though the driver's statement
// cache hits (measured with a uprobe on sqlite3Reprepare: one per run, none
// with +?). The unary plus is the same comparison, user_id's integer affinity
// applies to it, and the index still serves it.
func (r reader) GroupMemberships(ctx context.Context, userID int64) ([]domain.GroupMembership, error) {
	return queryAll(ctx, r.q, membershipQuery+" WHERE m.user_id = +? ORDER BY m.id", []any{userID}, scanMembership)
}

// loadGroups fills in the group memberships of users with one query.
func (r reader) loadGroups(ctx context.Context, us []*domain.User) error {
	switch len(us) {
	case 0:
		return nil
	case 1:
		ms, err := r.GroupMemberships(ctx, us[0].ID)
		us[0].Groups = ms
		return err
	}
	ids := make([]int64, len(us))
	byID := make(map[int64]*domain.User, len(us))
	for i, u := range us {
		ids[i], byID[u.ID] = u.ID, u
	}
	ms, err := queryAll(ctx, r.q, membershipQuery+" WHERE m.user_id IN (SELECT value FROM json_each(?)) ORDER BY m.id",
		[]any{idsJSON(ids)}, scanMembership)
	for _, m := range ms {
		u := byID[m.UserID]
		u.Groups = append(u.Groups, m)
	}
	return err
}

func (t *txStore) InsertGroup(ctx context.Context, g *domain.Group) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO groups (name, description, is_default, deleted, is_public, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, g.Name, g.Description, g.Default, g.Deleted, g.IsPublic, g.CreatedAt.Unix(), g.UpdatedAt.Unix())
	if err != nil {
		return constraint(err)
	}
	g.ID, err = res.LastInsertId()
	return err
}

func (t *txStore) UpdateGroup(ctx context.Context, g *domain.Group) error {
	_, err := t.q.ExecContext(ctx, `UPDATE groups SET name = ?, description = ?, is_default = ?, deleted = ?, is_public = ?,
		updated_at = ? WHERE id = ?`, g.Name, g.Description, g.Default, g.Deleted, g.IsPublic, g.UpdatedAt.Unix(), g.ID)
	return constraint(err)
}

func (t *txStore) SetDefaultGroup(ctx context.Context, id int64, now time.Time) error {
	// Two statements: the unique index on the flag is checked row by row.
	if _, err := t.q.ExecContext(ctx, "UPDATE groups SET is_default = 0, updated_at = ? WHERE is_default AND id <> ?", now.Unix(), id); err != nil {
		return err
	}
	_, err := t.q.ExecContext(ctx, "UPDATE groups SET is_default = 1, updated_at = ? WHERE id = ? AND NOT is_default", now.Unix(), id)
	return err
}

// replaceRows makes want the user's rows in a membership table: rows whose
// key is gone are deleted, rows that stay keep their id and are updated only
// if their default flag changed, new keys are inserted.
func replaceRows(ctx context.Context, q querier, table, keyCol string, userID int64, want map[int64]bool, order []int64, now time.Time) error {
	type row struct {
		key int64
		def bool
	}
	rows, err := queryAll(ctx, q, "SELECT "+keyCol+", is_default FROM "+table+" WHERE user_id = ?", []any{userID},
		func(sc scanner) (row, error) {
			var r row
			err := sc.Scan(&r.key, &r.def)
			return r, err
		})
	if err != nil {
		return err
	}
	have := make(map[int64]bool, len(rows))
	for _, r := range rows {
		have[r.key] = r.def
	}
	for k, def := range have {
		wantDef, keep := want[k]
		switch {
		case !keep:
			if _, err := q.ExecContext(ctx, "DELETE FROM "+table+" WHERE user_id = ? AND "+keyCol+" = ?", userID, k); err != nil {
				return err
			}
		case def != wantDef:
			if _, err := q.ExecContext(ctx, "UPDATE "+table+" SET is_default = ?, updated_at = ? WHERE user_id = ? AND "+keyCol+" = ?",
				wantDef, now.Unix(), userID, k); err != nil {
				return err
			}
		}
	}
	for _, k := range order {
		if _, ok := have[k]; ok {
			continue
		}
		if _, err := q.ExecContext(ctx, "INSERT INTO "+table+" (user_id, "+keyCol+", is_default, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			userID, k, want[k], now.Unix(), now.Unix()); err != nil {
			return constraint(err)
		}
	}
	return nil
}

func (t *txStore) ReplaceGroupMemberships(ctx context.Context, userID int64, ms []domain.GroupMembership, now time.Time) error {
	want := map[int64]bool{}
	order := make([]int64, len(ms))
	for i, m := range ms {
		want[m.GroupID], order[i] = m.Default, m.GroupID
	}
	return replaceRows(ctx, t.q, "group_memberships", "group_id", userID, want, order, now)
}

func (t *txStore) ReplaceOrganizationMemberships(ctx context.Context, userID int64, ms []domain.OrganizationMembership, now time.Time) error {
	want := map[int64]bool{}
	order := make([]int64, len(ms))
	for i, m := range ms {
		want[m.OrganizationID], order[i] = m.Default, m.OrganizationID
	}
	return replaceRows(ctx, t.q, "organization_memberships", "organization_id", userID, want, order, now)
}

const orgColumns = `o.id, o.name, o.details, o.notes, coalesce(o.external_id, ''), o.domain_names, coalesce(o.group_id, 0),
	o.shared_tickets, o.shared_comments, o.tags, o.fields, o.created_at, o.updated_at`

func scanOrganization(sc scanner) (*domain.Organization, error) {
	var o domain.Organization
	var domains, tags, fields string
	var created, updated int64
	err := sc.Scan(&o.ID, &o.Name, &o.Details, &o.Notes, &o.ExternalID, &domains, &o.GroupID,
		&o.SharedTickets, &o.SharedComments, &tags, &fields, &created, &updated)
	if err != nil {
		return nil, notFound(err)
	}
	for _, f := range []struct {
		text string
		dst  any
	}{{domains, &o.DomainNames}, {tags, &o.Tags}, {fields, &o.Fields}} {
		if err := json.Unmarshal([]byte(f.text), f.dst); err != nil {
			return nil, err
		}
	}
	o.CreatedAt, o.UpdatedAt = unix(created), unix(updated)
	return &o, nil
}

func (r reader) OrganizationByID(ctx context.Context, id int64) (*domain.Organization, error) {
	return scanOrganization(r.q.QueryRowContext(ctx, "SELECT "+orgColumns+" FROM organizations o WHERE o.id = ?", id))
}

func (r reader) Organizations(ctx context.Context, w domain.Window) ([]*domain.Organization, error) {
	q, args := windowed("SELECT "+orgColumns+" FROM organizations o", "", nil, w, "o.id",
		sortColumns{"name": "o.name COLLATE NOCASE", "created_at": "o.created_at", "updated_at": "o.updated_at"})
	return queryWindow(ctx, r.q, w, q, args, scanOrganization)
}

func (r reader) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM organizations").Scan(&n)
	return n, err
}

func (t *txStore) OrganizationIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := t.q.QueryRowContext(ctx, "SELECT id FROM organizations WHERE name = ? COLLATE NOCASE", name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

func orgValues(o *domain.Organization) []any {
	domains, _ := json.Marshal(o.DomainNames)
	tags, _ := json.Marshal(o.Tags)
	fields, _ := json.Marshal(o.Fields)
	return []any{o.Name, o.Details, o.Notes, nullText(o.ExternalID), string(domains), nullID(o.GroupID),
		o.SharedTickets, o.SharedComments, string(tags), string(fields), o.CreatedAt.Unix(), o.UpdatedAt.Unix()}
}

func (t *txStore) InsertOrganization(ctx context.Context, o *domain.Organization) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO organizations (name, details, notes, external_id, domain_names, group_id,
		shared_tickets, shared_comments, tags, fields, created_at, updated_at) VALUES (`+placeholders(12)+`)`, orgValues(o)...)
	if err != nil {
		return constraint(err)
	}
	o.ID, err = res.LastInsertId()
	return err
}

func (t *txStore) UpdateOrganization(ctx context.Context, o *domain.Organization) error {
	_, err := t.q.ExecContext(ctx, `UPDATE organizations SET name = ?, details = ?, notes = ?, external_id = ?, domain_names = ?,
		group_id = ?, shared_tickets = ?, shared_comments = ?, tags = ?, fields = ?, created_at = ?, updated_at = ? WHERE id = ?`,
		append(orgValues(o), o.ID)...)
	return constraint(err)
}

func (t *txStore) DeleteOrganization(ctx context.Context, id int64) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM organizations WHERE id = ?", id)
	return err
}

const orgMembershipQuery = `SELECT m.id, m.user_id, m.organization_id, o.name, m.is_default, m.view_tickets,
	m.created_at, m.updated_at FROM organization_memberships m JOIN organizations o ON o.id = m.organization_id`

func scanOrgMembership(sc scanner) (domain.OrganizationMembership, error) {
	var m domain.OrganizationMembership
	var created, updated int64
	err := sc.Scan(&m.ID, &m.UserID, &m.OrganizationID, &m.OrganizationName, &m.Default, &m.ViewTickets, &created, &updated)
	m.CreatedAt, m.UpdatedAt = unix(created), unix(updated)
	return m, err
}

// OrganizationMemberships lists a user's organizations, the default first,
// then by organization name, as the real service orders them (+?: see
// GroupMemberships).
func (r reader) OrganizationMemberships(ctx context.Context, userID int64) ([]domain.OrganizationMembership, error) {
	ms, err := queryAll(ctx, r.q, orgMembershipQuery+" WHERE m.user_id = +? ORDER BY m.is_default DESC, o.name COLLATE NOCASE, m.id",
		[]any{userID}, scanOrgMembership)
	return slices.Clip(ms), err
}

var membershipSortColumns = sortColumns{"created_at": "m.created_at", "updated_at": "m.updated_at"}

// membershipWhere narrows a membership table to f; targetCol is the group
// or organization column.
func membershipWhere(f domain.MembershipFilter, targetCol string) (string, []any) {
	var conds []string
	var args []any
	if f.UserID != 0 {
		conds, args = append(conds, "m.user_id = ?"), append(args, f.UserID)
	}
	if f.TargetID != 0 {
		conds, args = append(conds, "m."+targetCol+" = ?"), append(args, f.TargetID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (r reader) AccountGroupMemberships(ctx context.Context, f domain.MembershipFilter, w domain.Window) ([]domain.GroupMembership, error) {
	where, args := membershipWhere(f, "group_id")
	q, args := windowed(membershipQuery, where, args, w, "m.id", membershipSortColumns)
	return queryWindow(ctx, r.q, w, q, args, scanMembership)
}

func (r reader) AccountOrganizationMemberships(ctx context.Context, f domain.MembershipFilter, w domain.Window) ([]domain.OrganizationMembership, error) {
	where, args := membershipWhere(f, "organization_id")
	q, args := windowed(orgMembershipQuery, where, args, w, "m.id", membershipSortColumns)
	return queryWindow(ctx, r.q, w, q, args, scanOrgMembership)
}

func (r reader) CountMemberships(ctx context.Context, organizations bool, f domain.MembershipFilter) (int, error) {
	table, col := "group_memberships", "group_id"
	if organizations {
		table, col = "organization_memberships", "organization_id"
	}
	where, args := membershipWhere(f, col)
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" m"+where, args...).Scan(&n)
	return n, err
}
