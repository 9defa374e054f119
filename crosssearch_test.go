package deskgate_test

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCrossProtocolSearch: a user created or renamed through the legacy
// API is found by the v2 search and autocomplete; a user deleted through
// either API is gone from the v2 search but in the export, inactive; the
// legacy search keeps its own rule and still lists deleted users.
func TestCrossProtocolSearch(t *testing.T) {
	s := newServer(t, serverOptions{})
	legacy := s.legacyCreate(`<user><name>Quentin Legacy</name><email>quentin@example.com</email><roles>4</roles></user>`)
	found := func(path string) []string {
		t.Helper()
		names, status := searchNames(t, s, path)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		return names
	}
	for _, path := range []string{"/api/v2/users/search?query=quentin", "/api/v2/users/search?query=quentin@example.com",
		"/api/v2/users/search?query=role:agent", "/api/v2/users/autocomplete?name=quen"} {
		if got := found(path); !slices.Equal(got, []string{"Quentin Legacy"}) {
			t.Errorf("%s after a legacy create: %q", path, got)
		}
	}
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", legacy), legacyXMLType, `<user><name>Rupert Renamed</name></user>`), 200)
	if got := found("/api/v2/users/search?query=name:quentin"); len(got) != 0 { // the email still says quentin
		t.Errorf("old name still found: %q", got)
	}
	for _, path := range []string{"/api/v2/users/search?query=rupert", "/api/v2/users/search?query=name:renamed", "/api/v2/users/autocomplete?name=RUP"} {
		if got := found(path); !slices.Equal(got, []string{"Rupert Renamed"}) {
			t.Errorf("%s after a legacy rename: %q", path, got)
		}
	}

	v2 := v2ID(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Rupert Modern","email":"modern@example.com"}}`), "user")
	legacyWant(t, s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", legacy), "", ""), 200)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", v2), "", ""), 200)
	for _, path := range []string{"/api/v2/users/search?query=rupert", "/api/v2/users/search?query=modern@example.com", "/api/v2/users/autocomplete?name=rup"} {
		if got := found(path); len(got) != 0 {
			t.Errorf("%s after deletes: %q", path, got)
		}
	}
	r := s.do(owner, "GET", "/users.xml?query=RUPERT", "", "")
	if r.status != 200 || strings.Count(string(r.body), "<user>") != 2 {
		t.Errorf("legacy search lists deleted users too: %s", r.body)
	}

	s.clock.Advance(2 * time.Minute)
	page := exportPage(t, s, s.URL+"/api/v2/incremental/users/cursor?start_time=0")
	inactive := map[int64]bool{}
	for _, u := range page.Users {
		inactive[u.ID] = !u.Active
	}
	if !inactive[legacy] || !inactive[v2] || len(page.Users) != 3 {
		t.Errorf("export: %+v", page.Users)
	}
}

var legacyUserName = regexp.MustCompile(`(?m)^    <name>(.*)</name>$`)

// TestLegacySearchContains: the legacy ?query= is "name contains",
// case-insensitive, inactive users included, answered from name trigrams
// that follow renames.
func TestLegacySearchContains(t *testing.T) {
	s := searchFixture(t)
	names := func(query string) []string {
		t.Helper()
		r := s.do(owner, "GET", "/users.xml?query="+url.QueryEscape(query), "", "")
		legacyWant(t, r, 200)
		out := []string{}
		for _, m := range legacyUserName.FindAllStringSubmatch(string(r.body), -1) {
			out = append(out, html.UnescapeString(m[1]))
		}
		return out
	}
	for query, want := range map[string][]string{
		"mit":    {"Alice Smith", "Bob Smithson"},
		"SMITHS": {"Bob Smithson"},
		"e S":    {"Alice Smith"}, // across words
		"o'b":    {"Carol O'Brien"},
		"ülle":   {"Dave Müller"},
		"gone":   {"Erin Gone"}, // deleted, still listed
		"mi":     {"Alice Smith", "Bob Smithson"},
		"zzz":    {},
	} {
		if got := names(query); !slices.Equal(got, want) {
			t.Errorf("query %q: %q, want %q", query, got, want)
		}
	}
	legacyWant(t, s.do(owner, "PUT", "/users/3.xml", legacyXMLType, `<user><name>Robert Jones</name></user>`), 200)
	if got := names("smithson"); len(got) != 0 {
		t.Errorf("renamed away, still found: %q", got)
	}
	if got := names("ERT JO"); !slices.Equal(got, []string{"Robert Jones"}) {
		t.Errorf("renamed: %q", got)
	}
}
