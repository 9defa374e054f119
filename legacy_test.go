package deskgate_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

const legacyXMLType = "application/xml"

// legacyOwnerCtx acts as the account owner when a test sets up data through the
// service directly (groups, many users) rather than over HTTP.
func legacyOwnerCtx() context.Context {
	return domain.WithActor(context.Background(), &domain.Actor{ID: 1, Role: domain.Admin, Owner: true})
}

// addGroups creates groups through the service and returns their ids in order.
func (s *server) addGroups(names ...string) []int64 {
	s.t.Helper()
	var ids []int64
	for _, n := range names {
		g, err := s.svc.CreateGroup(legacyOwnerCtx(), domain.GroupChanges{Name: &n})
		if err != nil {
			s.t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	return ids
}

// addUser creates a user through the service: name, email (may be ""),
// role and password (may be "").
func (s *server) addUser(name, email string, role domain.Role, password string) int64 {
	s.t.Helper()
	c := domain.UserChanges{Name: &name, Role: &role}
	if email != "" {
		c.Email = &email
	}
	if password != "" {
		c.Password = &password
	}
	u, err := s.svc.CreateUser(legacyOwnerCtx(), c)
	if err != nil {
		s.t.Fatalf("create %s: %v", name, err)
	}
	return u.ID
}

// legacyCreate POSTs a legacy body as the owner and returns the new user's id.
func (s *server) legacyCreate(body string) int64 {
	s.t.Helper()
	r := s.do(owner, "POST", "/users.xml", legacyXMLType, body)
	if r.status != 201 {
		s.t.Fatalf("create: %s", r.dump())
	}
	return xmlID(s.t, r.body)
}

var legacyIDElem = regexp.MustCompile(`(?m)^  <id>(\d+)</id>$`)

// xmlID reads the <id> of a <user> document (the user's own, not a group's).
func xmlID(t testing.TB, body []byte) int64 {
	t.Helper()
	m := legacyIDElem.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no user <id> in\n%s", body)
	}
	id, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return id
}

// xmlField returns the text of the first <tag> in body.
func xmlField(t *testing.T, body []byte, tag string) string {
	t.Helper()
	m := regexp.MustCompile(`<` + tag + `>([^<]*)</` + tag + `>`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no <%s> in\n%s", tag, body)
	}
	return string(m[1])
}

// legacyState renders everything a legacy request could change: every user (inactive
// ones too) with its role, restriction, flags, zone, groups and password hash.
// A refused request must leave it exactly as it was.
func (s *server) legacyState() string {
	s.t.Helper()
	ctx := context.Background()
	us, err := s.db.UsersByPosition(ctx, 0, 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range us {
		hash := ""
		if u.Email != "" {
			p, err := s.db.PrincipalByEmail(ctx, u.Email)
			if err != nil {
				s.t.Fatal(err)
			}
			hash = p.PasswordHash
		}
		var gs []string
		for _, m := range u.Groups {
			gs = append(gs, fmt.Sprintf("%d(default=%t)", m.GroupID, m.Default))
		}
		fmt.Fprintf(&b, "%d %q %q role=%s restr=%d active=%t verified=%t zone=%s fmt=%d groups=%v updated=%s pw=%s\n",
			u.ID, u.Name, u.Email, u.Role, u.Restriction, u.Active, u.Verified, u.TimeZone.Name, u.TimeFormat,
			gs, u.UpdatedAt.Format("15:04:05"), hash)
	}
	return b.String()
}

// seatsTaken counts active agents and admins.
func (s *server) seatsTaken() int {
	s.t.Helper()
	n, err := s.db.CountUsers(context.Background(), domain.UserFilter{Roles: []domain.Role{domain.Agent, domain.Admin}})
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func legacyWant(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d\n%s", r.status, want, r.dump())
	}
}

const agentFixture = `<user>
  <email>aljohnson@yourcompany.dk</email>
  <name>Al Johnson</name>
  <roles>4</roles>
  <restriction-id>1</restriction-id>
  <time-zone>(GMT +01:00) Brussels, Copenhagen, Madrid, Paris</time-zone>
</user>
<groups>
  2,3
</groups>`

func TestLegacyShowCreateUpdateDelete(t *testing.T) {
	s := newServer(t, serverOptions{})
	// Group 1 is the account's default group, Support.
	if got := s.addGroups("Sales", "Billing"); !cmp.Equal(got, []int64{2, 3}) {
		t.Fatalf("group ids %v", got)
	}

	// Create: two sibling top-level elements, whitespace inside <groups>.
	r := s.do(owner, "POST", "/users.xml", legacyXMLType, agentFixture)
	golden(t, "legacy/create_agent.golden", r.dump())
	legacyWant(t, r, 201)
	id := xmlID(t, r.body)
	if want := fmt.Sprintf("https://help.example.com/users/%d.xml", id); r.header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.header.Get("Location"), want)
	}

	// Show: the seed's agent, in two groups, restriction 1, Copenhagen.
	s.clock.Advance(3600e9)
	r = s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", "")
	legacyWant(t, r, 200)
	golden(t, "legacy/show_agent.golden", r.dump())
	u, err := s.db.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	// The legacy form names four zones; a new user gets the first of them.
	if u.Role != domain.Agent || u.Restriction != domain.RestrictGroups || u.TimeZone.Name != "Brussels" ||
		len(u.Groups) != 2 || u.Groups[0].GroupID != 2 || u.Groups[1].GroupID != 3 || u.Email != "aljohnson@yourcompany.dk" {
		t.Errorf("stored user: %+v", u)
	}

	// <role> is read like <roles>.
	r = s.do(owner, "POST", "/users.xml", legacyXMLType, `<user><name>Rita Role</name><role>2</role></user>`)
	legacyWant(t, r, 201)
	golden(t, "legacy/create_with_role_element.golden", r.dump())
	if got := xmlField(t, r.body, "roles"); got != "2" {
		t.Errorf("<role>2</role> created roles %s", got)
	}

	// Update: only the given elements change; <groups> replaces memberships.
	s.clock.Advance(60e9)
	before, _ := s.db.UserByID(context.Background(), id)
	r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, "<user>\n  <name>Albert Johnson</name>\n</user>\n<groups>\n  2\n</groups>\n")
	legacyWant(t, r, 200)
	golden(t, "legacy/update_name_and_groups.golden", r.dump())
	after, _ := s.db.UserByID(context.Background(), id)
	if after.Name != "Albert Johnson" || len(after.Groups) != 1 || after.Groups[0].GroupID != 2 {
		t.Errorf("after update: name %q groups %+v", after.Name, after.Groups)
	}
	if after.Email != before.Email || after.Role != before.Role || after.Restriction != before.Restriction ||
		after.TimeZone != before.TimeZone || after.Active != before.Active || !after.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("update changed more than asked:\nbefore %+v\nafter  %+v", before, after)
	}

	// No <groups>: memberships stay.
	r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><time-format>1</time-format></user>`)
	legacyWant(t, r, 200)
	golden(t, "legacy/update_without_groups.golden", r.dump())
	again, _ := s.db.UserByID(context.Background(), id)
	if again.TimeFormat != 1 || len(again.Groups) != 1 || again.Groups[0].GroupID != 2 || again.Name != "Albert Johnson" {
		t.Errorf("after update without groups: %+v", again)
	}
	// An empty <groups/> removes every membership.
	r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user></user><groups></groups>`)
	legacyWant(t, r, 200)
	if u, _ := s.db.UserByID(context.Background(), id); len(u.Groups) != 0 {
		t.Errorf("empty <groups> kept %+v", u.Groups)
	}

	// Delete is soft: 200, is-active false; again is harmless; still listed.
	s.clock.Advance(60e9)
	r = s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", id), "", "")
	legacyWant(t, r, 200)
	golden(t, "legacy/delete.golden", r.dump())
	if got := xmlField(t, r.body, "is-active"); got != "false" {
		t.Errorf("deleted user is-active %s", got)
	}
	st := s.legacyState()
	s.clock.Advance(60e9)
	r2 := s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", id), "", "")
	legacyWant(t, r2, 200)
	if diff := cmp.Diff(string(r.body), string(r2.body)); diff != "" {
		t.Errorf("second delete answered differently (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(st, s.legacyState()); diff != "" {
		t.Errorf("second delete changed the store (-before +after):\n%s", diff)
	}
	r = s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", "")
	legacyWant(t, r, 200)
	if got := xmlField(t, r.body, "is-active"); got != "false" {
		t.Errorf("shown deleted user is-active %s", got)
	}
	r = s.do(owner, "GET", "/users.xml", "", "")
	legacyWant(t, r, 200)
	if !strings.Contains(string(r.body), "<name>Albert Johnson</name>") {
		t.Errorf("inactive user missing from the list:\n%s", r.body)
	}
}

func TestLegacyList(t *testing.T) {
	s := newServer(t, serverOptions{})
	// 19 users besides the owner: 20 in all, so page 2 holds 5.
	people := []struct {
		name string
		role domain.Role
	}{
		{"John Smith", domain.Admin},
		{"Alexander Johnson", domain.Agent},
		{"Johnny End", domain.EndUser},
		{"Big JOHN Admin", domain.Admin},
		{"Mary Jones", domain.Agent},
		{"Peter Parker", domain.EndUser},
		{"Jon Snow", domain.Admin}, // no "john" in it
		{"Ann Lee", domain.EndUser},
		{"Bob Brown", domain.Agent},
		{"Cleo Stone", domain.EndUser},
		{"Dan Green", domain.EndUser},
		{"Eve White", domain.EndUser},
		{"Finn Black", domain.EndUser},
		{"Gia Gray", domain.EndUser},
		{"Hal Reed", domain.EndUser},
		{"Ida Wood", domain.EndUser},
		{"Joe Field", domain.EndUser},
		{"Kim Hill", domain.EndUser},
		{"Lou Moss", domain.EndUser},
	}
	for i, p := range people {
		s.addUser(p.name, fmt.Sprintf("user%02d@example.com", i+2), p.role, "")
	}
	for _, tc := range []struct {
		name, query string
		wantIDs     []int64
	}{
		{"page1", "", idRange(1, 15)},
		{"page2", "?page=2", idRange(16, 20)},
		{"page_past_end", "?page=3", nil},
		{"page_past_any_directory", "?page=999999999999999999", nil}, // its offset would overflow to page 1
		{"search_page_past_any_directory", "?query=john&page=999999999999999999", nil},
		{"search_john_admins", "?query=John&role=2", []int64{2, 5}},
		{"search_john_any_role", "?query=john", []int64{2, 3, 4, 5}},
		{"search_no_match", "?query=Zed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(owner, "GET", "/users.xml"+tc.query, "", "")
			legacyWant(t, r, 200)
			golden(t, "legacy/list_"+tc.name+".golden", r.dump())
			var got []int64
			for _, m := range regexp.MustCompile(`(?m)^    <id>(\d+)</id>$`).FindAllSubmatch(r.body, -1) {
				id, _ := strconv.ParseInt(string(m[1]), 10, 64)
				got = append(got, id)
			}
			if diff := cmp.Diff(tc.wantIDs, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLegacyRoleElement: the legacy doc writes <roles> in its show and list
// examples and <role> in its search example; each response follows its own.
func TestLegacyRoleElement(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct{ path, want, not string }{
		{"/users/1.xml", "<roles>2</roles>", "<role>"},
		{"/users.xml", "<roles>2</roles>", "<role>"},
		{"/users.xml?query=owner", "<role>2</role>", "<roles>"},
		{"/users.xml?role=2", "<role>2</role>", "<roles>"},
	} {
		r := s.do(owner, "GET", tc.path, "", "")
		if body := string(r.body); r.status != 200 || !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("%s: want %s and no %s:\n%s", tc.path, tc.want, tc.not, body)
		}
	}
}

func idRange(from, to int64) []int64 {
	var ids []int64
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return ids
}

// legacyErrorFixture is a help desk with an agent, an end user and two groups.
type legacyErrorFixture struct {
	*server
	agent, endUser creds
	agentID, endID int64
}

func newLegacyErrorFixture(t *testing.T) legacyErrorFixture {
	// The owner sets passwords with <password>.
	s := newServer(t, serverOptions{adminSetPasswords: true})
	s.addGroups("Sales") // after the default group, Support
	f := legacyErrorFixture{server: s,
		agent:   creds{"agnes@example.com", "agent-pass"},
		endUser: creds{"eddie@example.com", "enduser-pass"},
	}
	f.agentID = s.addUser("Agnes Agent", f.agent.user, domain.Agent, f.agent.pass)
	f.endID = s.addUser("Eddie End", f.endUser.user, domain.EndUser, f.endUser.pass)
	return f
}

// TestLegacyErrors sends every refused request and checks the answer and
// that nothing at all was written.
func TestLegacyErrors(t *testing.T) {
	f := newLegacyErrorFixture(t)
	const ok = `<user><name>New Person</name><email>new@example.com</email></user>`
	big := "<user><name>" + strings.Repeat("a", 1<<20) + "</name></user>"
	wrongPass := creds{ownerEmail, "not-the-password"}
	for _, tc := range []struct {
		name         string
		c            creds
		method, path string
		body         string
		want         int
	}{
		// 422: validation, one <error> per problem.
		{"422_blank_name", owner, "POST", "/users.xml", `<user><name>  </name><email>b@example.com</email></user>`, 422},
		{"422_missing_name", owner, "POST", "/users.xml", `<user><email>b@example.com</email></user>`, 422},
		{"422_bad_email", owner, "POST", "/users.xml", `<user><name>Bad Mail</name><email>not-an-email</email></user>`, 422},
		{"422_email_zero_width", owner, "POST", "/users.xml", "<user><name>Zw</name><email>zero\u200bwidth@example.com</email></user>", 422},
		{"422_duplicate_email", owner, "POST", "/users.xml", `<user><name>Dup</name><email>AGNES@Example.COM</email></user>`, 422},
		{"422_duplicate_email_update", owner, "PUT", "/users/3.xml", `<user><email>Agnes@example.com</email></user>`, 422},
		{"422_unknown_time_zone", owner, "POST", "/users.xml", `<user><name>Tz</name><time-zone>(GMT +01:00) Atlantis</time-zone></user>`, 422},
		{"422_end_user_restriction_1", owner, "POST", "/users.xml", `<user><name>Eu</name><roles>0</roles><restriction-id>1</restriction-id></user>`, 422},
		{"422_admin_restriction_3", owner, "POST", "/users.xml", `<user><name>Ad</name><roles>2</roles><restriction-id>3</restriction-id></user>`, 422},
		{"422_agent_restriction_4", owner, "PUT", "/users/2.xml", `<user><restriction-id>4</restriction-id></user>`, 422},
		{"422_unknown_group", owner, "POST", "/users.xml", `<user><name>Ag</name><roles>4</roles></user><groups>1,99</groups>`, 422},
		{"422_groups_for_end_user", owner, "POST", "/users.xml", `<user><name>Eu</name><roles>0</roles></user><groups>1</groups>`, 422},
		{"422_groups_for_end_user_update", owner, "PUT", "/users/3.xml", `<user></user><groups>2</groups>`, 422},
		{"422_bad_group_list", owner, "POST", "/users.xml", `<user><name>Ag</name><roles>4</roles></user><groups>1,x</groups>`, 422},
		{"422_unknown_role", owner, "POST", "/users.xml", `<user><name>R</name><roles>3</roles></user>`, 422},
		{"422_restriction_out_of_range", owner, "POST", "/users.xml", `<user><name>R</name><restriction-id>9</restriction-id></user>`, 422},
		{"422_bad_flag", owner, "PUT", "/users/3.xml", `<user><is-verified>maybe</is-verified></user>`, 422},
		{"422_many_at_once", owner, "POST", "/users.xml", `<user><name></name><email>x@</email><roles>0</roles><restriction-id>1</restriction-id></user><groups>7</groups>`, 422},
		{"422_short_password", owner, "PUT", "/users/3.xml", `<user><password>abc</password></user>`, 422},

		// 404
		{"404_show_unknown", owner, "GET", "/users/999.xml", "", 404},
		{"404_update_unknown", owner, "PUT", "/users/999.xml", ok, 404},
		{"404_delete_unknown", owner, "DELETE", "/users/999.xml", "", 404},
		{"404_id_overflows_int64", owner, "GET", "/users/99999999999999999999.xml", "", 404},
		{"404_id_overflows_int64_update", owner, "PUT", "/users/9223372036854775808.xml", ok, 404},

		// 401: the body of an anonymous request is never read.
		{"401_no_credentials", creds{}, "GET", "/users.xml", "", 401},
		{"401_no_credentials_create", creds{}, "POST", "/users.xml", ok, 401},
		{"401_no_credentials_malformed", creds{}, "POST", "/users.xml", `<user>`, 401},
		{"401_wrong_password", wrongPass, "POST", "/users.xml", ok, 401},
		{"401_wrong_token", creds{ownerEmail + "/token", "nope"}, "DELETE", "/users/3.xml", "", 401},
		{"401_token_of_another_user", creds{"agnes@example.com/token", ownerToken}, "GET", "/users/1.xml", "", 401},
		{"401_unknown_email", creds{"nobody@example.com", "whatever"}, "GET", "/users.xml", "", 401},

		// 403
		{"403_end_user_lists", f.endUser, "GET", "/users.xml", "", 403},
		{"403_end_user_searches", f.endUser, "GET", "/users.xml?query=a", "", 403},
		{"403_end_user_shows_other", f.endUser, "GET", "/users/2.xml", "", 403},
		{"403_end_user_promotes_self", f.endUser, "PUT", "/users/3.xml", `<user><roles>2</roles></user>`, 403},
		{"403_agent_creates_admin", f.agent, "POST", "/users.xml", `<user><name>Boss</name><roles>2</roles></user>`, 403},
		{"403_agent_creates_agent", f.agent, "POST", "/users.xml", `<user><name>Peer</name><roles>4</roles></user>`, 403},
		{"403_agent_creates_with_password", f.agent, "POST", "/users.xml", `<user><name>Alt</name><email>alt@example.com</email><password>agent-chosen-1</password></user>`, 403},
		{"403_agent_edits_admin", f.agent, "PUT", "/users/1.xml", `<user><name>Hacked</name></user>`, 403},
		{"403_agent_deletes", f.agent, "DELETE", "/users/3.xml", "", 403},
		{"403_delete_owner", owner, "DELETE", "/users/1.xml", "", 403},
		{"403_demote_owner", owner, "PUT", "/users/1.xml", `<user><roles>4</roles></user>`, 403},
		{"403_deactivate_owner", owner, "PUT", "/users/1.xml", `<user><is-active>false</is-active></user>`, 403},

		// 400: pages, XML and shapes.
		{"400_page_zero", owner, "GET", "/users.xml?page=0", "", 400},
		{"400_page_negative", owner, "GET", "/users.xml?page=-1", "", 400},
		{"400_page_not_a_number", owner, "GET", "/users.xml?page=abc", "", 400},
		{"400_role_filter", owner, "GET", "/users.xml?query=a&role=3", "", 400},
		{"400_malformed_xml", owner, "POST", "/users.xml", `<user><name>X</user>`, 400},
		{"400_unclosed", owner, "PUT", "/users/3.xml", `<user><name>X</name>`, 400},
		{"400_billion_laughs", owner, "POST", "/users.xml", `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<user><name>&lol3;</name></user>`, 400},
		{"400_external_entity", owner, "POST", "/users.xml", `<?xml version="1.0"?>
<!DOCTYPE user [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<user><name>&xxe;</name></user>`, 400},
		{"400_doctype_alone", owner, "POST", "/users.xml", `<!DOCTYPE user><user><name>Doc Type</name></user>`, 400},
		{"400_doctype_inside_user", owner, "POST", "/users.xml", `<user><!DOCTYPE x [<!ENTITY e "b">]><name>Nested</name></user>`, 400},
		{"400_doctype_inside_groups", owner, "POST", "/users.xml", `<user><name>Ag</name><roles>4</roles></user><groups><!DOCTYPE g>1</groups>`, 400},
		{"400_html_entity", owner, "POST", "/users.xml", `<user><name>A&nbsp;B</name></user>`, 400},
		{"400_two_users", owner, "POST", "/users.xml", `<user><name>One</name></user><user><name>Two</name></user>`, 400},
		{"400_groups_before_user", owner, "POST", "/users.xml", `<groups>1</groups><user><name>Ag</name><roles>4</roles></user>`, 400},
		{"400_two_groups", owner, "POST", "/users.xml", `<user><name>Ag</name><roles>4</roles></user><groups>1</groups><groups>2</groups>`, 400},
		{"400_groups_only", owner, "PUT", "/users/2.xml", `<groups>1</groups>`, 400},
		{"400_other_root", owner, "POST", "/users.xml", `<person><name>P</name></person>`, 400},
		{"400_stray_text", owner, "POST", "/users.xml", `<user><name>Stray</name></user> trailing words`, 400},
		{"400_json_body", owner, "POST", "/users.xml", `{"user":{"name":"Jason"}}`, 400},
		{"400_empty_body", owner, "POST", "/users.xml", "", 400},
		{"400_empty_body_update", owner, "PUT", "/users/3.xml", "", 400},
		{"400_too_deep", owner, "POST", "/users.xml", "<user><name>D</name>" + strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20) + "</user>", 400},
		{"400_invalid_utf8", owner, "POST", "/users.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><user><name>Bad \xff\xfe byte</name></user>", 400},
		{"400_invalid_utf8_undeclared", owner, "PUT", "/users/3.xml", "<user><name>Bad \xc3\x28 byte</name></user>", 400},
		{"400_invalid_shift_jis", owner, "POST", "/users.xml", "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><user><name>Bad \x81\x7f byte</name></user>", 400},
		{"400_unknown_charset", owner, "POST", "/users.xml", `<?xml version="1.0" encoding="x-klingon"?><user><name>Qapla</name></user>`, 400},

		// 413
		{"413_body_over_1MiB", owner, "POST", "/users.xml", big, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.legacyState()
			ct := legacyXMLType
			if tc.body == "" {
				ct = ""
			}
			r := f.do(tc.c, tc.method, tc.path, ct, tc.body)
			golden(t, "legacy/error_"+tc.name+".golden", r.dump())
			legacyWant(t, r, tc.want)
			if got := r.header.Get("Content-Type"); got != "application/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if !strings.Contains(string(r.body), "<errors>\n  <error>") {
				t.Errorf("body is not <errors><error>…:\n%s", r.body)
			}
			wantAuth := ""
			if tc.want == 401 {
				wantAuth = `Basic realm="deskgate"`
			}
			if got := r.header.Get("WWW-Authenticate"); got != wantAuth {
				t.Errorf("WWW-Authenticate %q, want %q", got, wantAuth)
			}
			if diff := cmp.Diff(before, f.legacyState()); diff != "" {
				t.Errorf("a refused request changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLegacyCharsets(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct {
		name, body, wantName string
	}{
		{"latin1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<user><name>S\xf8ren \xc6r\xf8</name><email>soren@example.dk</email></user>", "Søren Ærø"},
		{"windows1252", "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<user><name>\x93Euro\x94 \x80 Fund</name></user>", "\u201cEuro\u201d \u20ac Fund"},
		{"utf8_bom", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<user><name>Zo\xc3\xab Bom</name></user>", "Zoë Bom"},
		{"utf8_bom_no_declaration", "\xef\xbb\xbf<user><name>Bj\xc3\xb6rk</name></user>", "Björk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(owner, "POST", "/users.xml", "application/xml", tc.body)
			legacyWant(t, r, 201)
			id := xmlID(t, r.body)
			u, err := s.db.UserByID(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Name != tc.wantName {
				t.Errorf("stored name %q, want %q", u.Name, tc.wantName)
			}
			r = s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", id), "", "")
			legacyWant(t, r, 200)
			golden(t, "legacy/charset_"+tc.name+".golden", r.dump())
			if got := xmlField(t, r.body, "name"); got != tc.wantName {
				t.Errorf("shown name %q, want %q", got, tc.wantName)
			}
		})
	}
}

// postAsync sends a request from any goroutine: it reports errors instead of
// failing the test.
func (s *server) postAsync(c creds, path, body string) (int, error) {
	req, err := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", legacyXMLType)
	resp, err := s.Client().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestLegacySeats(t *testing.T) {
	const seats = 5 // the owner, an admin, holds one: 4 are free
	s := newServer(t, serverOptions{seats: seats})
	endID := s.addUser("Eve End", "eve@example.com", domain.EndUser, "")

	const racers = 8
	var wg sync.WaitGroup
	codes := make([]int, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			codes[i], errs[i] = s.postAsync(owner, "/users.xml", fmt.Sprintf("<user><name>Racer %d</name><roles>4</roles></user>", i))
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i, c := range codes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		count[c]++
	}
	if diff := cmp.Diff(map[int]int{201: seats - 1, 507: racers - seats + 1}, count); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	if n := s.seatsTaken(); n != seats {
		t.Fatalf("%d active agents and admins, want %d", n, seats)
	}
	var agents []int64
	us, _ := s.db.Users(context.Background(), domain.UserFilter{Roles: []domain.Role{domain.Agent}}, domain.Window{Limit: 100})
	for _, u := range us {
		agents = append(agents, u.ID)
	}
	if len(agents) != seats-1 {
		t.Fatalf("agents %v", agents)
	}

	full := func(name string, c creds, method, path, body string) {
		t.Helper()
		before := s.legacyState()
		r := s.do(c, method, path, legacyXMLType, body)
		golden(t, "legacy/seat_limit_"+name+".golden", r.dump())
		legacyWant(t, r, 507)
		if diff := cmp.Diff(before, s.legacyState()); diff != "" {
			t.Errorf("a refused request changed the store (-before +after):\n%s", diff)
		}
	}
	full("create_agent", owner, "POST", "/users.xml", `<user><name>One Too Many</name><roles>4</roles></user><groups></groups>`)
	full("create_admin", owner, "POST", "/users.xml", `<user><name>Admin Too Many</name><roles>2</roles></user>`)
	full("promote_end_user", owner, "PUT", fmt.Sprintf("/users/%d.xml", endID), `<user><roles>4</roles></user>`)

	// An agent's own seat is not counted twice: editing a seated agent works when full.
	r := s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", agents[0]), legacyXMLType, `<user><name>Still Seated</name><roles>2</roles></user>`)
	legacyWant(t, r, 200)

	// Deleting an agent frees a seat, which a promotion then takes.
	legacyWant(t, s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", agents[1]), "", ""), 200)
	if n := s.seatsTaken(); n != seats-1 {
		t.Fatalf("after delete: %d seats taken", n)
	}
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", endID), legacyXMLType, `<user><roles>4</roles></user>`), 200)
	if n := s.seatsTaken(); n != seats {
		t.Fatalf("after promotion: %d seats taken", n)
	}
	// Re-activating the deleted agent would exceed the cap.
	full("reactivate", owner, "PUT", fmt.Sprintf("/users/%d.xml", agents[1]), `<user><is-active>true</is-active></user>`)

	// Demoting an agent frees a seat; the re-activation then fits.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", agents[2]), legacyXMLType, `<user><roles>0</roles></user>`), 200)
	if n := s.seatsTaken(); n != seats-1 {
		t.Fatalf("after demotion: %d seats taken", n)
	}
	r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", agents[1]), legacyXMLType, `<user><is-active>true</is-active></user>`)
	legacyWant(t, r, 200)
	if got := xmlField(t, r.body, "is-active"); got != "true" {
		t.Errorf("re-activated user is-active %s", got)
	}
	if n := s.seatsTaken(); n != seats {
		t.Fatalf("after re-activation: %d seats taken", n)
	}
	// An inactive agent can be deleted again, and end users are created freely when full.
	legacyWant(t, s.do(owner, "POST", "/users.xml", legacyXMLType, `<user><name>Plain End User</name></user>`), 201)
}

func TestLegacyAuth(t *testing.T) {
	s := newServer(t, serverOptions{adminSetPasswords: true}) // the owner sets passwords with <password>
	agnes := creds{"agnes@example.com", "agnes-pass-1"}
	paula := creds{"paula@example.com", "paula-pass-1"}
	agnesID := s.addUser("Agnes Agent", agnes.user, domain.Agent, agnes.pass)
	paulaID := s.addUser("Paula Agent", paula.user, domain.Agent, paula.pass)

	get := func(c creds) int { t.Helper(); return s.do(c, "GET", "/users.xml?page=99", "", "").status }
	for _, tc := range []struct {
		name string
		c    creds
		want int
	}{
		{"owner token", owner, 200},
		{"owner password", creds{ownerEmail, ownerPassword}, 200},
		{"agent password", agnes, 200},
		{"agent password again (cached)", agnes, 200},
		{"wrong password", creds{agnes.user, "agnes-pass-2"}, 401},
		{"password as token", creds{agnes.user + "/token", agnes.pass}, 401},
		{"token as password", creds{ownerEmail, ownerToken}, 401},
		{"empty password", creds{agnes.user, ""}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.c); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}

	// A changed password: the old one stops working at once, though it was cached.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", agnesID), legacyXMLType, `<user><password>agnes-pass-2</password></user>`), 200)
	if got := get(agnes); got != 401 {
		t.Errorf("old password after an admin changed it: %d, want 401", got)
	}
	if got := get(creds{agnes.user, "agnes-pass-2"}); got != 200 {
		t.Errorf("new password: %d, want 200", got)
	}
	// An agent changing its own password.
	if got := get(paula); got != 200 {
		t.Fatalf("paula: %d", got)
	}
	legacyWant(t, s.do(paula, "PUT", fmt.Sprintf("/users/%d.xml", paulaID), legacyXMLType, `<user><password>paula-pass-2</password></user>`), 200)
	if got := get(paula); got != 401 {
		t.Errorf("old password after changing it oneself: %d, want 401", got)
	}
	newPaula := creds{paula.user, "paula-pass-2"}
	if got := get(newPaula); got != 200 {
		t.Errorf("new password: %d, want 200", got)
	}

	// A deactivated user cannot authenticate, cached or not.
	legacyWant(t, s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", paulaID), "", ""), 200)
	r := s.do(newPaula, "GET", "/users.xml", "", "")
	legacyWant(t, r, 401)
	golden(t, "legacy/auth_deactivated_user.golden", r.dump())
	// Re-activated, the same password works again.
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", paulaID), legacyXMLType, `<user><is-active>true</is-active></user>`), 200)
	if got := get(newPaula); got != 200 {
		t.Errorf("re-activated user: %d, want 200", got)
	}
}

// TestLegacyInternalError: a fault the client did not cause is a 500 with a
// generic message, never a dropped connection or the cause's text.
func TestLegacyInternalError(t *testing.T) {
	s := newServer(t, serverOptions{})
	// Break the schema behind the server's back: every user query now fails.
	raw, err := sql.Open("sqlite3", s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("ALTER TABLE users RENAME TO users_gone"); err != nil {
		t.Fatal(err)
	}
	r := s.do(owner, "GET", "/users/1.xml", "", "")
	golden(t, "legacy/error_500_store_unavailable.golden", r.dump())
	legacyWant(t, r, 500)
	if strings.Contains(strings.ToLower(string(r.body)), "sql") {
		t.Errorf("the cause leaked:\n%s", r.body)
	}
}
