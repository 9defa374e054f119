package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// userRowColumns are the columns of the users row itself; scanUserRow
// reads them. A user's primary email, phone, verified and default
// organization are derived from other tables: the email is the primary
// email identity, and verified follows it (users without an email keep
// their own flag); the phone is the primary phone_number identity, else a
// number kept on the user (a shared one), which migration 0003's triggers
// clear whenever a primary phone identity exists.
const userRowColumns = `u.id, u.name, u.role, u.restriction, u.active, u.verified,
	u.suspended, u.owner, coalesce(u.external_id, ''), u.alias, u.phone,
	u.shared_phone_number, u.notes, u.details, u.signature, u.locale, u.time_zone,
	u.time_format, coalesce(u.custom_role_id, 0), u.moderator, u.only_private_comments, u.tags, u.user_fields,
	u.created_at, u.updated_at, coalesce(u.last_login_at, 0), u.erased_at IS NOT NULL`

// userColumns reads one user whole: the row, then the derived fields and
// the group memberships by subqueries. scanUser reads it.
// A long list of users is read with userRowColumns instead and completed
// by completeUsers (listOf).
//
// The identity subqueries say is_primary = 1 (is_primary holds 0 or 1), a
// seek on the third column of identities_user_values, which holds the
// value and verified flag: each is answered from that index alone
// (migration 0017). With is_primary alone SQLite picks the unique partial
// index identities_primary and reads the table row besides. Scalar
// subqueries rather than LEFT JOINs on identities: measured at a million
// users, the joined statement was parsed and planned again at every call
// (its partial indexes weighed against the bound id, it seems) and cost
// four times the CPU.
const userColumns = userRowColumns + `,
	coalesce((SELECT value FROM identities WHERE user_id = u.id AND type = 'email' AND is_primary = 1), ''),
	coalesce((SELECT verified FROM identities WHERE user_id = u.id AND type = 'email' AND is_primary = 1), u.verified),
	coalesce((SELECT value FROM identities WHERE user_id = u.id AND type = 'phone_number' AND is_primary = 1), u.phone),
	coalesce((SELECT organization_id FROM organization_memberships WHERE user_id = u.id AND is_default), 0),
	` + membershipsColumn

// membershipsColumn spells out a user's group memberships, groups included,
// as one text (decodeMemberships reads it), NULL for none: read by a
// statement of their own, through database/sql, they made a user in a group
// cost 1.5 to 1.9 times what a user in none costs to read (README, "The read
// path"). Each membership is its and its group's integers, then
// the group's name and description, each after its length in bytes; a
// semicolon ends all but the last. They come in no set order (an ORDER BY
// in group_concat sorts even what the index gives in order): the decoder
// orders them by id.
const membershipsColumn = `(SELECT group_concat(format('%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%s%d,%s',
		m.id, m.group_id, m.is_default, m.created_at, m.updated_at, g.is_default, g.deleted, g.is_public, g.created_at,
		g.updated_at, length(CAST(g.name AS BLOB)), g.name, length(CAST(g.description AS BLOB)), g.description), ';')
	FROM group_memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id)`

type scanner interface{ Scan(dest ...any) error }

// userRow is a user being scanned: the columns that need converting.
type userRow struct {
	u                       *domain.User
	zone, tags, fields      string
	created, updated, login int64
}

// dest lists where userRowColumns go, then more.
func (row *userRow) dest(more ...any) []any {
	u := row.u
	return append([]any{&u.ID, &u.Name, &u.Role, &u.Restriction, &u.Active, &u.Verified, &u.Suspended,
		&u.Owner, &u.ExternalID, &u.Alias, &u.Phone, &u.SharedPhoneNumber, &u.Notes, &u.Details, &u.Signature,
		&u.Locale, &row.zone, &u.TimeFormat, &u.CustomRoleID, &u.Moderator,
		&u.OnlyPrivateComments, &row.tags, &row.fields, &row.created, &row.updated, &row.login, &u.Erased}, more...)
}

// finish converts the scanned columns into the user's fields.
func (row *userRow) finish() (*domain.User, error) {
	u := row.u
	u.TimeZone, _ = domain.ZoneByName(row.zone)
	// Most users have neither tags nor fields: their empty values are made
	// without the JSON decoder, as it makes them (empty, not nil).
	if row.tags == "[]" {
		u.Tags = []string{}
	} else if err := json.Unmarshal([]byte(row.tags), &u.Tags); err != nil {
		return nil, err
	}
	if row.fields == "{}" {
		u.UserFields = map[string]any{}
	} else if err := json.Unmarshal([]byte(row.fields), &u.UserFields); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = unix(row.created), unix(row.updated), unix(row.login)
	return u, nil
}

func scanUserRow(sc scanner) (*domain.User, error) {
	row := userRow{u: new(domain.User)}
	if err := sc.Scan(row.dest()...); err != nil {
		return nil, err
	}
	return row.finish()
}

func scanUser(sc scanner) (*domain.User, error) {
	row := userRow{u: new(domain.User)}
	u := row.u
	var memberships sql.NullString
	if err := sc.Scan(row.dest(&u.Email, &u.Verified, &u.Phone, &u.OrganizationID, &memberships)...); err != nil {
		return nil, err
	}
	if memberships.Valid {
		var err error
		if u.Groups, err = decodeMemberships(u.ID, memberships.String); err != nil {
			return nil, err
		}
	}
	return row.finish()
}

// decodeMemberships reads the memberships of user membershipsColumn spelled out.
func decodeMemberships(user int64, s string) ([]domain.GroupMembership, error) {
	d := spelled{s: s}
	ms := make([]domain.GroupMembership, 0, 1+strings.Count(s, ";")) // a name's semicolons add room, never too little
	for {
		m := domain.GroupMembership{ID: d.int(), UserID: user, GroupID: d.int(), Default: d.bool()}
		m.CreatedAt, m.UpdatedAt = unix(d.int()), unix(d.int())
		g := &m.Group
		g.ID, g.Default, g.Deleted, g.IsPublic = m.GroupID, d.bool(), d.bool(), d.bool()
		g.CreatedAt, g.UpdatedAt = unix(d.int()), unix(d.int())
		g.Name, g.Description = d.text(), d.text()
		ms = append(ms, m)
		if d.err != nil {
			return nil, d.err
		}
		if d.s == "" {
			slices.SortFunc(ms, func(a, b domain.GroupMembership) int { return cmp.Compare(a.ID, b.ID) })
			return ms, nil
		}
		if d.s[0] != ';' {
			return nil, fmt.Errorf("memberships of user %d: %q follows a membership", user, d.s[:1])
		}
		d.s = d.s[1:]
	}
}

// spelled reads the values of a text membershipsColumn made, in order; the
// first malformed one sets err, and every value after it is zero.
type spelled struct {
	s   string
	err error
}

// field returns the text up to the next comma and consumes the comma.
func (d *spelled) field() string {
	i := strings.IndexByte(d.s, ',')
	if d.err != nil || i < 0 {
		d.fail("a field")
		return ""
	}
	f := d.s[:i]
	d.s = d.s[i+1:]
	return f
}

func (d *spelled) int() int64 {
	n, err := strconv.ParseInt(d.field(), 10, 64)
	if err != nil {
		d.fail("an integer")
	}
	return n
}

func (d *spelled) bool() bool {
	return d.int() != 0
}

// text reads a length in bytes and as many bytes after it.
func (d *spelled) text() string {
	n := d.int()
	if d.err != nil || n < 0 || n > int64(len(d.s)) {
		d.fail("a text")
		return ""
	}
	t := d.s[:n]
	d.s = d.s[n:]
	return t
}

func (d *spelled) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("memberships: %s expected at %q", what, d.s[:min(len(d.s), 20)])
	}
	d.s = ""
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// queryUser runs a query of userColumns: for one user or a few.
func (r reader) queryUser(ctx context.Context, query string, args ...any) ([]*domain.User, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []*domain.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// userList is how a list of users is read: its columns, and whether the
// derived fields come from completeUsers (a query for each table over the
// list's ids) or from userColumns' subqueries (five for each user).
type userList struct {
	columns  string
	perTable bool
}

// completePerTable is the list size from which completeUsers is the
// cheaper: its three statements cost a first legacy page of 15 users about
// 20 % more server CPU than the subqueries; they save about 15 % of a v2
// page of 100, and more of an export page of 1,000.
const completePerTable = 50

// listOf is how a list of at most n users is read.
func listOf(n int) userList {
	if n < completePerTable {
		return userList{columns: userColumns}
	}
	return userList{columns: userRowColumns, perTable: true}
}

// queryUsers runs a query of l's columns.
func (r reader) queryUsers(ctx context.Context, l userList, query string, args ...any) ([]*domain.User, error) {
	if !l.perTable {
		return r.queryUser(ctx, query, args...)
	}
	var us []*domain.User
	err := r.atOneMoment(ctx, func(r reader) error {
		var err error
		if us, err = queryAll(ctx, r.q, query, args, scanUserRow); err == nil {
			err = r.completeUsers(ctx, us)
		}
		return err
	})
	return us, err
}

// atOneMoment runs read in one read transaction when r reads from the pool,
// so that statements reading one answer see one state of the database: a
// write committed between a list's rows and their identities would
// otherwise give a user its new address beside its old updated_at. Inside
// a write transaction r already is one.
func (r reader) atOneMoment(ctx context.Context, read func(reader) error) error {
	pool, ok := r.q.(*sql.DB)
	if !ok {
		return read(r)
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // it only read
	return read(reader{tx})
}

// completeUsers reads the derived fields of users (userColumns says which)
// and their group memberships, one query for each table.
func (r reader) completeUsers(ctx context.Context, us []*domain.User) error {
	if len(us) == 0 {
		return nil
	}
	ids := make([]int64, len(us))
	byID := make(map[int64]*domain.User, len(us))
	for i, u := range us {
		ids[i], byID[u.ID] = u.ID, u
	}
	list := idsJSON(ids)
	// is_primary = 1, as in userColumns: from identities_user_values alone.
	_, err := queryAll(ctx, r.q, `SELECT user_id, type, value, verified FROM identities
		WHERE user_id IN (SELECT value FROM json_each(?)) AND is_primary = 1 AND type IN ('email', 'phone_number')`, []any{list},
		func(sc scanner) (struct{}, error) {
			var id int64
			var typ, value string
			var verified bool
			if err := sc.Scan(&id, &typ, &value, &verified); err != nil {
				return struct{}{}, err
			}
			u := byID[id]
			if typ == "email" {
				u.Email, u.Verified = value, verified
			} else {
				u.Phone = value
			}
			return struct{}{}, nil
		})
	if err != nil {
		return err
	}
	// The first default organization by id, as the subquery of userColumns
	// reads it along the (user_id, organization_id) index.
	_, err = queryAll(ctx, r.q, `SELECT user_id, min(organization_id) FROM organization_memberships
		WHERE user_id IN (SELECT value FROM json_each(?)) AND is_default GROUP BY user_id`, []any{list},
		func(sc scanner) (struct{}, error) {
			var id, org int64
			err := sc.Scan(&id, &org)
			if err == nil {
				byID[id].OrganizationID = org
			}
			return struct{}{}, err
		})
	if err != nil {
		return err
	}
	return r.loadGroups(ctx, us)
}

func (r reader) UserByID(ctx context.Context, id int64) (*domain.User, error) {
	return r.oneUser(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ? AND u.erased_at IS NULL", id)
}

func (r reader) UserRecord(ctx context.Context, id int64) (*domain.User, error) {
	return r.oneUser(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", id)
}

// oneUser reads a user by its key. Its context's cancellation is dropped:
// the read takes microseconds, and database/sql would start a goroutine to
// watch a cancellable context for each query.
func (r reader) oneUser(ctx context.Context, query string, id int64) (*domain.User, error) {
	us, err := r.queryUser(context.WithoutCancel(ctx), query, id)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, domain.ErrNotFound
	}
	return us[0], nil
}

// idsJSON passes a list of ids as one JSON parameter, so one prepared
// statement serves any number of ids.
func idsJSON[T any](ids []T) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

func (r reader) UsersByIDs(ctx context.Context, ids []int64) ([]*domain.User, error) {
	l := listOf(len(ids))
	return r.queryUsers(ctx, l, "SELECT "+l.columns+" FROM users u WHERE u.id IN (SELECT value FROM json_each(?)) AND u.erased_at IS NULL", idsJSON(ids))
}

func (r reader) UsersByExternalIDs(ctx context.Context, externalIDs []string) ([]*domain.User, error) {
	l := listOf(len(externalIDs))
	return r.queryUsers(ctx, l, `SELECT `+l.columns+` FROM users u
		WHERE u.external_id COLLATE NOCASE IN (SELECT value FROM json_each(?))`, idsJSON(externalIDs))
}

// userQuery is a filtered user list before its window: the tables users u
// is read from, the WHERE clause ("" or " WHERE …") with its arguments, and
// the column the list's order follows for the user id (the outer loop's, so
// that SQLite reads in that order rather than sorting).
type userQuery struct {
	from, where, id string
	args            []any
	// index, when set, counts the same users from a full-text index alone.
	index *userQuery
}

// userQuery builds the query of f. A legacy name search reads its
// candidates from the name trigrams that narrow it most (rarestTrigrams), a
// search from a full-text index (drivingMatch), and any other list from
// users, by whichever index SQLite picks.
func (r reader) userQuery(ctx context.Context, f domain.UserFilter) (userQuery, error) {
	trigrams, err := r.rarestTrigrams(ctx, f.NameContains)
	if err != nil {
		return userQuery{}, err
	}
	q := userQuery{from: "users u", id: "u.id"}
	var conds []string
	var driver *textMatch
	matches := textMatches(f.Search)
	if len(trigrams) > 0 {
		q.from, q.id, conds, q.args = trigramJoin(trigrams)
	} else if i := drivingMatch(f.Search, matches); i >= 0 {
		m := matches[i]
		driver = &m
		q.from, q.id, conds, q.args = matchJoin(m)
		matches = slices.Delete(matches, i, i+1)
	}
	joined := len(conds)
	conds, q.args = userConds(f, conds, q.args)
	conds, q.args = matchConds(matches, conds, q.args)
	if driver != nil && slices.Equal(conds[joined:], []string{activeOnly}) {
		// Only its words narrow the search, and the full-text tables hold
		// active users only (migration 0014).
		q.index = &userQuery{from: driver.table + " w", where: " WHERE w." + driver.table + " MATCH ?", args: []any{driver.query}}
	}
	if len(conds) > 0 {
		q.where = " WHERE " + strings.Join(conds, " AND ")
	}
	return q, nil
}

// page is the query of one window of the list, of the columns listOf
// gives for its size.
func (q userQuery) page(w domain.Window) (string, []any) {
	columns := listOf(w.Limit).columns
	if w.Offset > 0 && w.After == nil && w.Before == nil {
		// Skip the offset over the index alone: SQLite would otherwise build
		// every skipped row before discarding it.
		ids, args := windowed("SELECT "+q.id+" FROM "+q.from, q.where, q.args, w, q.id, userSortColumns)
		return "SELECT " + columns + " FROM users u WHERE u.id IN (" + ids + ") ORDER BY " + orderBy(w, "u.id", userSortColumns, !w.Sort.Desc), args
	}
	return windowed("SELECT "+columns+" FROM "+q.from, q.where, q.args, w, q.id, userSortColumns)
}

// count is the query counting the list's users, at most limit of them
// unless limit is 0.
func (q userQuery) count(limit int) (string, []any) {
	if q.index != nil {
		return q.index.count(limit)
	}
	if limit == 0 {
		return "SELECT count(*) FROM " + q.from + q.where, q.args
	}
	return "SELECT count(*) FROM (SELECT 1 FROM " + q.from + q.where + " LIMIT ?)", append(q.args[:len(q.args):len(q.args)], limit)
}

// activeOnly is the condition of a list of active users.
const activeOnly = "u.active = 1"

// userConds adds the conditions of f to conds.
func userConds(f domain.UserFilter, conds []string, args []any) ([]string, []any) {
	switch {
	case f.Deleted:
		conds = append(conds, "u.active = 0")
	case !f.IncludeInactive:
		conds = append(conds, activeOnly)
	}
	if len(f.Roles) > 0 {
		conds = append(conds, "u.role IN ("+placeholders(len(f.Roles))+")")
		for _, r := range f.Roles {
			args = append(args, r)
		}
	}
	if f.CustomRoleID != 0 {
		conds = append(conds, "u.custom_role_id = ?")
		args = append(args, f.CustomRoleID)
	}
	if f.ExternalID != "" {
		conds = append(conds, "u.external_id = ? COLLATE NOCASE")
		args = append(args, f.ExternalID)
	}
	if f.NameContains != "" {
		// instr, not LIKE: nothing in the text is a wildcard.
		conds = append(conds, "instr(lower(u.name), lower(?)) > 0")
		args = append(args, f.NameContains)
	}
	if f.NamePrefix != "" {
		// A range on the name, so that the users_active_name index answers it.
		conds = append(conds, "u.name >= ? COLLATE NOCASE AND u.name < ? COLLATE NOCASE")
		args = append(args, f.NamePrefix, f.NamePrefix+"\U0010FFFF")
	}
	if !f.UpdatedBefore.IsZero() {
		conds = append(conds, "u.updated_at < ?")
		args = append(args, f.UpdatedBefore.Unix())
	}
	return fieldConds(f.Search, conds, args)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// sortColumns maps a list's sort fields to their SQL expressions.
type sortColumns map[string]string

var userSortColumns = sortColumns{"name": "u.name COLLATE NOCASE", "created_at": "u.created_at", "updated_at": "u.updated_at"}

// orderBy is the ORDER BY list of a window: the sort column, then the id,
// both ascending when forward.
func orderBy(w domain.Window, idCol string, cols sortColumns, forward bool) string {
	dir := " ASC"
	if !forward {
		dir = " DESC"
	}
	if w.Sort.Field == "" {
		return idCol + dir
	}
	return cols[w.Sort.Field] + dir + ", " + idCol + dir
}

// windowed adds a window's keyset condition, order and limit to a query
// whose WHERE clause is where; cols names the list's sort columns (nil for
// a list sorted by id only), each of which, and idCol, must be a column of
// selectFrom's result. Before a cursor it reads backwards, nearest first:
// read the rows with queryWindow (or inOrder), which turns them back into
// sort order.
func windowed(selectFrom, where string, args []any, w domain.Window, idCol string, cols sortColumns) (string, []any) {
	forward := w.Sort.Desc == (w.Before != nil)
	order := " ORDER BY " + orderBy(w, idCol, cols, forward) + " LIMIT ? OFFSET ?"
	k := cmp.Or(w.After, w.Before)
	if k == nil {
		return selectFrom + where + order, append(args, w.Limit, w.Offset)
	}
	op := ">"
	if !forward {
		op = "<"
	}
	col := cols[w.Sort.Field]
	if col == "" {
		return selectFrom + and(where, idCol+" "+op+" ?") + order, append(args, k.ID, w.Limit, w.Offset)
	}
	// The rows that tie with the key on the column, past its id, then the
	// rows past its value: each half seeks along an index on (column, id),
	// and SQLite merges the two in order. A row value, (column, id) > (?, ?),
	// would read every tied row before the key's (all of a million seeded
	// users share one updated_at: 60 ms a page at the end of the export).
	ties := selectFrom + and(where, col+" = ? AND "+idCol+" "+op+" ?")
	past := selectFrom + and(where, col+" "+op+" ?")
	out := append(slices.Clone(args), k.Value, k.ID)
	out = append(append(out, args...), k.Value)
	return ties + " UNION ALL " + past + order, append(out, w.Limit, w.Offset)
}

// and adds cond to a WHERE clause, which may be empty.
func and(where, cond string) string {
	if where == "" {
		return " WHERE " + cond
	}
	return where + " AND " + cond
}

// inOrder puts the rows of a window read backwards back into sort order.
func inOrder[T any](w domain.Window, items []T) []T {
	if w.Before != nil {
		slices.Reverse(items)
	}
	return items
}

// queryWindow runs a windowed query and scans its rows in sort order.
func queryWindow[T any](ctx context.Context, q querier, w domain.Window, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	items, err := queryAll(ctx, q, query, args, scan)
	return inOrder(w, items), err
}

func (r reader) Users(ctx context.Context, f domain.UserFilter, w domain.Window) ([]*domain.User, error) {
	q, err := r.userQuery(ctx, f)
	if err != nil {
		return nil, err
	}
	l := listOf(w.Limit)
	query, args := q.page(w)
	us, err := r.queryUsers(ctx, l, query, args...)
	return inOrder(w, us), err
}

func (r reader) CountUsers(ctx context.Context, f domain.UserFilter) (int, error) {
	return r.CountUsersUpTo(ctx, f, 0)
}

func (r reader) CountUsersUpTo(ctx context.Context, f domain.UserFilter, limit int) (int, error) {
	q, err := r.userQuery(ctx, f)
	if err != nil {
		return 0, err
	}
	query, args := q.count(limit)
	var n int
	err = r.q.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

func (r reader) CountUsersTotal(ctx context.Context) (int, error) {
	var n int
	err := r.q.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
	return n, err
}

func (r reader) AccountOwner(ctx context.Context) (*domain.User, error) {
	us, err := r.queryUser(ctx, "SELECT "+userColumns+" FROM users u WHERE u.owner ORDER BY u.id LIMIT 1")
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, domain.ErrNotFound
	}
	return us[0], nil
}

func (r reader) UsersByPosition(ctx context.Context, first, limit int) ([]*domain.User, error) {
	l := listOf(limit)
	return r.queryUsers(ctx, l, "SELECT "+l.columns+" FROM users u WHERE u.position >= ? AND u.position < ? ORDER BY u.position",
		first, first+limit)
}

const principalColumns = "u.id, u.role, u.owner, u.active, u.suspended, u.password_hash, coalesce(u.last_login_at, 0)"

// scanPrincipal reads principalColumns, then any further columns into more.
func scanPrincipal(row *sql.Row, more ...any) (*domain.Principal, error) {
	var p domain.Principal
	var login int64
	dest := append([]any{&p.ID, &p.Role, &p.Owner, &p.Active, &p.Suspended, &p.PasswordHash, &login}, more...)
	if err := row.Scan(dest...); err != nil {
		return nil, notFound(err)
	}
	p.LastLoginAt = unix(login)
	return &p, nil
}

func (r reader) PrincipalByEmail(ctx context.Context, email string) (*domain.Principal, error) {
	return scanPrincipal(r.q.QueryRowContext(ctx, `SELECT `+principalColumns+`
		FROM identities i JOIN users u ON u.id = i.user_id
		WHERE i.type = 'email' AND i.value = ? COLLATE NOCASE`, email))
}

func (r reader) PrincipalByToken(ctx context.Context, tokenHash []byte, email string) (*domain.Principal, error) {
	return scanPrincipal(r.q.QueryRowContext(ctx, `SELECT `+principalColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		JOIN identities i ON i.user_id = u.id AND i.type = 'email' AND i.value = ? COLLATE NOCASE
		WHERE t.token_hash = ?`, email, tokenHash))
}

func (r reader) Secret(ctx context.Context, purpose string) ([]byte, error) {
	var b []byte
	err := r.q.QueryRowContext(ctx, "SELECT value FROM secrets WHERE purpose = ?", purpose).Scan(&b)
	return b, notFound(err)
}

func (t *txStore) CountSeats(ctx context.Context) (int, error) {
	return t.CountUsers(ctx, domain.UserFilter{Roles: []domain.Role{domain.Agent, domain.Admin}})
}

func (t *txStore) UserIDByExternalID(ctx context.Context, externalID string) (int64, error) {
	var id int64
	err := t.q.QueryRowContext(ctx, "SELECT id FROM users WHERE external_id = ? COLLATE NOCASE", externalID).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// userValues lists the writable columns of u in the order of userSets.
func userValues(u *domain.User) []any {
	tags, _ := json.Marshal(u.Tags)
	fields, _ := json.Marshal(u.UserFields)
	return []any{u.Name, u.Role, u.Restriction, u.Active, u.Verified, u.Suspended, u.Owner, nullText(u.ExternalID),
		u.Alias, u.Phone, u.SharedPhoneNumber, u.Notes, u.Details, u.Signature, u.Locale, u.TimeZone.Name,
		u.TimeFormat, nullID(u.CustomRoleID), u.Moderator, u.OnlyPrivateComments, string(tags), string(fields),
		u.CreatedAt.Unix(), u.UpdatedAt.Unix()}
}

const userSets = `name, role, restriction, active, verified, suspended, owner, external_id, alias, phone,
	shared_phone_number, notes, details, signature, locale, time_zone, time_format, custom_role_id, moderator,
	only_private_comments, tags, user_fields, created_at, updated_at`

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (t *txStore) InsertUser(ctx context.Context, u *domain.User, email *domain.Identity) error {
	res, err := t.q.ExecContext(ctx, `INSERT INTO users (position, `+userSets+`)
		VALUES ((SELECT coalesce(max(position) + 1, 0) FROM users), `+placeholders(24)+`)`, userValues(u)...)
	if err != nil {
		return constraint(err)
	}
	if u.ID, err = res.LastInsertId(); err != nil || email == nil {
		return err
	}
	email.UserID = u.ID
	return t.InsertIdentity(ctx, email)
}

func (t *txStore) UpdateUser(ctx context.Context, u *domain.User) error {
	sets := strings.ReplaceAll(strings.Join(strings.Fields(userSets), " "), ",", " = ?,") + " = ?"
	_, err := t.q.ExecContext(ctx, "UPDATE users SET "+sets+" WHERE id = ?", append(userValues(u), u.ID)...)
	return constraint(err)
}

func (t *txStore) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	_, err := t.q.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, userID)
	return err
}

func (t *txStore) AddToken(ctx context.Context, userID int64, tokenHash []byte, now time.Time) error {
	_, err := t.q.ExecContext(ctx, "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (?, ?, ?)", userID, tokenHash, now.Unix())
	return constraint(err)
}

func (t *txStore) TouchLogin(ctx context.Context, userID int64, at time.Time) error {
	_, err := t.q.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", at.Unix(), userID)
	return err
}
