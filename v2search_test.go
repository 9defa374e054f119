package deskgate_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/storage"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// searchFixture makes a directory every search construct has something to
// find in, through the v2 API: two organizations, a group, four users with
// distinct names, emails, notes, phones, external ids, tags and details,
// one created two days later, and one deleted.
func searchFixture(t *testing.T) *server {
	t.Helper()
	s := newServer(t, serverOptions{})
	post := func(path, body string) int64 {
		t.Helper()
		key := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v2/"), "s")
		return v2ID(t, s.do(owner, "POST", path, "application/json", body), key)
	}
	acme := post("/api/v2/organizations", `{"organization":{"name":"Acme"}}`)
	bolt := post("/api/v2/organizations", `{"organization":{"name":"Bolt"}}`)
	sales := post("/api/v2/groups", `{"group":{"name":"Sales"}}`)
	alice := post("/api/v2/users", fmt.Sprintf(`{"user":{"name":"Alice Smith","email":"alice@example.com","role":"agent",
		"notes":"Prefers phone","phone":"+45 1111 2222","external_id":"EXT-alice","tags":["vip"],
		"details":"Copenhagen office","organization_id":%d}}`, acme))
	v2Want(t, s.do(owner, "POST", "/api/v2/group_memberships", "application/json",
		fmt.Sprintf(`{"group_membership":{"user_id":%d,"group_id":%d}}`, alice, sales)), 201)
	post("/api/v2/users", fmt.Sprintf(`{"user":{"name":"Bob Smithson","email":"bob@example.org",
		"notes":"Alice's manager","tags":["trial"],"details":"Aarhus","organization_id":%d}}`, bolt))
	post("/api/v2/users", `{"user":{"name":"Carol O'Brien","email":"carol@example.com","external_id":"ext-carol","phone":"555-0100"}}`)
	erin := post("/api/v2/users", `{"user":{"name":"Erin Gone","email":"erin@example.com"}}`)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", erin), "", ""), 200)
	s.clock.Advance(48 * time.Hour) // 2026-05-17
	post("/api/v2/users", `{"user":{"name":"Dave Müller","email":"dave@example.net"}}`)
	return s
}

// searchNames runs a v2 search and returns the names found, or the status
// when it is not 200; a refusal must be a v2 error body.
func searchNames(t *testing.T, s *server, path string) ([]string, int) {
	t.Helper()
	r := s.do(owner, "GET", path, "", "")
	if r.status != 200 {
		if !isV2Error(r.body) {
			t.Errorf("%s: %d %s, not a v2 error", path, r.status, r.body)
		}
		return nil, r.status
	}
	var body struct {
		Users []struct{ Name string }
		Count int
	}
	v2Decode(t, r, &body)
	names := []string{}
	for _, u := range body.Users {
		names = append(names, u.Name)
	}
	if body.Count != len(names) && !strings.Contains(path, "per_page") {
		t.Errorf("%s: count %d for %d users on one page", path, body.Count, len(names))
	}
	return names, 200
}

func TestV2SearchSyntax(t *testing.T) {
	s := searchFixture(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"alice", []string{"Alice Smith", "Bob Smithson"}}, // free words reach notes, as prefixes
		{"ALICE", []string{"Alice Smith", "Bob Smithson"}},
		{"smith", []string{"Alice Smith", "Bob Smithson"}},
		{"smith alice", []string{"Alice Smith", "Bob Smithson"}},
		{"copenhagen", nil}, // details only answer details:
		{"name:smith", []string{"Alice Smith"}},
		{"name:smith*", []string{"Alice Smith", "Bob Smithson"}},
		{`name:"alice smith"`, []string{"Alice Smith"}},
		{"alice@example.com", []string{"Alice Smith"}},
		{"email:alice@example.com", []string{"Alice Smith"}},
		{"email:ALICE@EXAMPLE.COM", []string{"Alice Smith"}},
		{"email:example.org", []string{"Bob Smithson"}},
		{"email:car*", []string{"Carol O'Brien"}},
		{"phone:1111", []string{"Alice Smith"}},
		{"phone:555*", []string{"Carol O'Brien"}},
		{"external_id:ext-alice", []string{"Alice Smith"}},
		{"external_id:ext*", []string{"Alice Smith", "Carol O'Brien"}},
		{"role:agent", []string{"Alice Smith"}},
		{"role:admin", []string{"Account Owner"}},
		{"organization:acme", []string{"Alice Smith"}},
		{"organization:bo*", []string{"Bob Smithson"}},
		{"group:Sales", []string{"Alice Smith"}},
		{"tags:vip", []string{"Alice Smith"}},
		{"tags:trial", []string{"Bob Smithson"}},
		{"notes:manager", []string{"Bob Smithson"}},
		{"details:copenhagen", []string{"Alice Smith"}},
		{`"alice smith"`, []string{"Alice Smith"}},
		{`"smith alice"`, nil},
		{"smith -bob", []string{"Alice Smith"}},
		{"smith -role:agent", []string{"Bob Smithson"}},
		{"smith -organization:acme", []string{"Bob Smithson"}},
		{"created>2026-05-16", []string{"Dave Müller"}},
		{"created:2026-05-17", []string{"Dave Müller"}},
		{"created<2026-05-16 role:end-user", []string{"Bob Smithson", "Carol O'Brien"}},
		{"updated>2026-05-16T00:00:00Z", []string{"Dave Müller"}},
		{"o'brien", []string{"Carol O'Brien"}},
		{"müller", []string{"Dave Müller"}},
		{"muller", []string{"Dave Müller"}},
		{"smi* role:end-user", []string{"Bob Smithson"}},
		{"erin", nil}, // deleted users are not found
	} {
		got, status := searchNames(t, s, "/api/v2/users/search?query="+url.QueryEscape(tc.query))
		if status != 200 || !slices.Equal(got, append([]string{}, tc.want...)) {
			t.Errorf("query %q: %d %q, want %q", tc.query, status, got, tc.want)
		}
	}
	got, _ := searchNames(t, s, "/api/v2/users/search?external_id=ext-carol")
	if !slices.Equal(got, []string{"Carol O'Brien"}) {
		t.Errorf("external_id=ext-carol: %q", got)
	}
	got, _ = searchNames(t, s, "/api/v2/users/search?external_id=ext*")
	if len(got) != 0 {
		t.Errorf("external_id=ext* is exact, found %q", got)
	}
}

// TestV2SearchHostile: whatever the query holds, the answer is a result or
// a 400, never a 500 and never everyone.
func TestV2SearchHostile(t *testing.T) {
	s := searchFixture(t)
	smiths := []string{"Alice Smith", "Bob Smithson"}
	for _, tc := range []struct {
		query string
		want  []string // nil with status 400
		bad   bool
	}{
		{query: "%", bad: true},
		{query: "%%", bad: true},
		{query: "_", bad: true},
		{query: `\`, bad: true},
		{query: "'", bad: true},
		{query: `"`, bad: true},
		{query: `""`, bad: true},
		{query: "\x00", bad: true},
		{query: "*", bad: true},
		{query: "^", bad: true},
		{query: "-smith", bad: true},
		{query: "name:", bad: true},
		{query: "role:boss", bad: true},
		{query: "created>yesterday", bad: true},
		{query: "name<smith", bad: true},
		{query: "sm*th", bad: true},
		{query: "\xff\xfe", bad: true},
		{query: strings.Repeat("smith ", 2000), bad: true}, // 12 KB
		{query: strings.Repeat("a ", 30), bad: true},       // too many terms
		{query: "smith%", want: smiths},
		{query: "smith_", want: smiths},
		{query: "smith\x00", want: smiths},
		{query: `smith\`, want: smiths},
		{query: "^smith", want: smiths},
		{query: "(smith", want: smiths},
		{query: "smith)", want: smiths},
		{query: "smith OR carol", want: []string{}},
		{query: "OR", want: []string{"Bob Smithson"}}, // the word or*: bob@example.org
		{query: "NEAR(", want: []string{}},
		{query: "smith NEAR carol", want: []string{}},
		{query: `"unbalanced smith`, want: []string{}},
		{query: "external_id:%", want: []string{}},
		{query: "external_id:\x00", want: []string{}},
		{query: "organization:%", want: []string{}},
		{query: "group:_", want: []string{}},
		{query: "email:%@example.com", want: []string{}}, // a well-formed address, looked up as it is
	} {
		got, status := searchNames(t, s, "/api/v2/users/search?query="+url.QueryEscape(tc.query))
		switch {
		case tc.bad && status != 400:
			t.Errorf("query %.40q: %d %q, want 400", tc.query, status, got)
		case !tc.bad && (status != 200 || !slices.Equal(got, tc.want)):
			t.Errorf("query %.40q: %d %q, want %q", tc.query, status, got, tc.want)
		}
	}
	// The legacy search takes the same texts as a name fragment.
	for _, q := range []string{"%", "_", `\`, "\x00", `"`, "*", "(", "NEAR("} {
		r := s.do(owner, "GET", "/users.xml?query="+url.QueryEscape(q), "", "")
		if r.status != 200 || strings.Contains(string(r.body), "<user>") {
			t.Errorf("legacy query %q: %d %s", q, r.status, r.body)
		}
	}
}

// TestV2SearchBudget: a search or autocomplete that reads past its time
// budget is stopped and refused as too broad, in the v2 error format; other
// reads are not. (The budget here is a nanosecond, so every search runs out
// of it; at a million users a free word of a letter or two that every
// address shares does.)
func TestV2SearchBudget(t *testing.T) {
	s := newServer(t, serverOptions{searchBudget: time.Nanosecond})
	r := s.do(owner, "GET", "/api/v2/users/search?query=o", "", "")
	if r.status != 400 {
		t.Fatalf("%d %s, want 400", r.status, r.body)
	}
	golden(t, "v2/error_400_search_too_broad.golden", r.dump())
	for _, path := range []string{"/api/v2/users/autocomplete?name=o", "/api/v2/users/autocomplete?phone=5"} {
		if got := s.do(owner, "GET", path, "", ""); got.status != 400 || !bytes.Equal(got.body, r.body) {
			t.Errorf("%s: %d %s, want the search's 400", path, got.status, got.body)
		}
	}
	if r := s.do(owner, "GET", "/api/v2/users?per_page=2", "", ""); r.status != 200 {
		t.Errorf("a list, which has no budget: %d %s", r.status, r.body)
	}
	// The legacy search reads within the same budget and says so in XML;
	// its plain list has no budget either.
	legacy := s.do(owner, "GET", "/users.xml?query=own", "", "")
	if legacy.status != 400 {
		t.Fatalf("legacy search: %d %s, want 400", legacy.status, legacy.body)
	}
	golden(t, "legacy/error_400_search_too_broad.golden", legacy.dump())
	if r := s.do(owner, "GET", "/users.xml", "", ""); r.status != 200 {
		t.Errorf("a legacy list, which has no budget: %d %s", r.status, r.body)
	}
}

func TestV2SearchGoZendesk(t *testing.T) {
	s := searchFixture(t)
	c := v2Client(t, s, ownerEmail, ownerToken)
	ctx := context.Background()
	us, page, err := c.SearchUsers(ctx, &zendesk.SearchUsersOptions{Query: "name:smith*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 || us[0].Name != "Alice Smith" || us[1].Name != "Bob Smithson" || page.Count != 2 || page.HasNext() {
		t.Errorf("search name:smith*: %d users, page %+v", len(us), page)
	}
	us, _, err = c.SearchUsers(ctx, &zendesk.SearchUsersOptions{ExternalIDs: "EXT-CAROL"})
	if err != nil || len(us) != 1 || us[0].Email != "carol@example.com" {
		t.Errorf("search external_id: %v %v", us, err)
	}
	us, page, err = c.SearchUsers(ctx, &zendesk.SearchUsersOptions{Query: "smith", PageOptions: zendesk.PageOptions{PerPage: 1, Page: 2}})
	if err != nil || len(us) != 1 || us[0].Name != "Bob Smithson" || !page.HasPrev() || page.HasNext() {
		t.Errorf("search page 2: %v %+v %v", us, page, err)
	}
	_, _, err = c.SearchUsers(ctx, &zendesk.SearchUsersOptions{Query: "%"})
	if v2Status(err) != 400 {
		t.Errorf("search %%: %v", err)
	}
}

func TestV2SearchPaging(t *testing.T) {
	s := searchFixture(t)
	for path, want := range map[string]int{
		"/api/v2/users/search?query=smith&page=101&per_page=100": 400, // past 10,000 results
		"/api/v2/users/search?query=smith&page=100&per_page=100": 200,
		"/api/v2/users/search?query=smith&per_page=101":          400,
		"/api/v2/users/search?query=smith&page[size]=10":         400, // offset paging only
		"/api/v2/users/search":                                   400,
	} {
		if r := s.do(owner, "GET", path, "", ""); r.status != want {
			t.Errorf("%s: %d, want %d: %s", path, r.status, want, r.body)
		}
	}
	// An end user may not search.
	v2EndUser(t, s, "Eve End", "eve@example.com", "eve-secret")
	if r := s.do(creds{"eve@example.com", "eve-secret"}, "GET", "/api/v2/users/search?query=smith", "", ""); r.status != 403 {
		t.Errorf("end user search: %d", r.status)
	}
}

func TestV2Autocomplete(t *testing.T) {
	s := searchFixture(t)
	for _, tc := range []struct {
		params string
		want   []string
		status int
	}{
		{"name=al", []string{"Alice Smith"}, 200},
		{"name=AL", []string{"Alice Smith"}, 200},
		{"name=smi", []string{}, 200}, // the start of the name, not of a word
		{"name=Bob+S", []string{"Bob Smithson"}, 200},
		{"name=a&per_page=1", []string{"Account Owner"}, 200},
		{"name=a&per_page=1&page=2", []string{"Alice Smith"}, 200},
		{"name=erin", []string{}, 200},
		{"name=%25", []string{}, 200},
		{"name=_", []string{}, 200},
		{"name=%00", []string{}, 200},
		{"phone=555", []string{"Carol O'Brien"}, 200},
		{"phone=%2B45", []string{"Alice Smith"}, 200},
		{"", nil, 400},
		{"name=", nil, 400},
		{"phone=%2B", nil, 400},
		{"name=a&page[size]=2", nil, 400},
	} {
		got, status := searchNames(t, s, "/api/v2/users/autocomplete?"+tc.params)
		if status != tc.status || !slices.Equal(got, tc.want) {
			t.Errorf("autocomplete?%s: %d %q, want %d %q", tc.params, status, got, tc.status, tc.want)
		}
	}
}

// TestV2SearchSeeded: users from the bulk seeder (identities written
// before their users) are in the full-text index like any other.
func TestV2SearchSeeded(t *testing.T) {
	s := newServer(t, serverOptions{})
	if err := s.db.SeedUsers(context.Background(), 200, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	seven := "User 7 " + storage.SeedSurname(7)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"user7@example.com", 1}, {"email:user199*", 1}, {"external_id:X7", 1}, {strings.ToLower(storage.SeedSurname(7)), 1},
		{"tags:vip", 20}, {`organization:"Seeded Org 3"`, 1}, {"role:agent", 8}, {"user&per_page=100", 100},
	} {
		query, paging, _ := strings.Cut(tc.query, "&")
		names, status := searchNames(t, s, "/api/v2/users/search?query="+url.QueryEscape(query)+"&"+paging)
		if status != 200 || len(names) != tc.want || query == "user7@example.com" && names[0] != seven {
			t.Errorf("%s: %d %d users, want %d", tc.query, status, len(names), tc.want)
		}
	}
}

// TestV2SearchFieldPhrase: a quoted phrase after a field is that field's:
// a name holding the words in another order is no match, though the notes
// hold the phrase; negated, it excludes that field's phrase alone.
func TestV2SearchFieldPhrase(t *testing.T) {
	s := newServer(t, serverOptions{})
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Smith John","email":"sj@example.com","notes":"john smith"}}`), 201)
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"John Smith","email":"js@example.com"}}`), 201)
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"John Smithson","email":"jss@example.com"}}`), 201)
	for query, want := range map[string][]string{
		`name:"john smith"`:       {"John Smith"},
		`name:"john smi*"`:        {"John Smith", "John Smithson"},
		`notes:"john smith"`:      {"Smith John"},
		`"john smith"`:            {"Smith John", "John Smith"},
		`john -name:"john smith"`: {"Smith John", "John Smithson"},
		`name:john name:"smith"`:  {"Smith John", "John Smith"},
	} {
		names, status := searchNames(t, s, "/api/v2/users/search?query="+url.QueryEscape(query))
		if status != http.StatusOK || !slices.Equal(names, want) {
			t.Errorf("%s: %d %v, want %v", query, status, names, want)
		}
	}
}
