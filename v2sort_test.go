package deskgate_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// sortFixture: users whose names, creation and update times each order them
// differently from their ids, with a tie and mixed case for the name.
func sortFixture(t *testing.T) *server {
	t.Helper()
	s := newServer(t, serverOptions{}) // the owner, "Account Owner", is user 1
	for _, name := range []string{"carol", "Bob", "alice", "Dave", "bob", "Erin"} {
		s.clock.Advance(time.Minute)
		s.addUser(name, "", domain.EndUser, "")
	}
	s.clock.Advance(time.Minute) // a later update puts carol (2) last by updated_at
	if _, err := s.svc.UpdateUser(v2AdminCtx(), 2, domain.UserChanges{Notes: ptr("updated")}); err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// names reads the user names of a v2 list body.
func names(t *testing.T, r response) []string {
	t.Helper()
	v2Want(t, r, http.StatusOK)
	var body struct{ Users []struct{ Name string } }
	v2Decode(t, r, &body)
	var out []string
	for _, u := range body.Users {
		out = append(out, u.Name)
	}
	return out
}

var (
	byName     = []string{"Account Owner", "alice", "Bob", "bob", "carol", "Dave", "Erin"} // case-insensitive, ties by id
	byCreated  = []string{"Account Owner", "carol", "Bob", "alice", "Dave", "bob", "Erin"}
	byUpdated  = []string{"Account Owner", "Bob", "alice", "Dave", "bob", "Erin", "carol"}
	reversedOf = func(s []string) []string { r := slices.Clone(s); slices.Reverse(r); return r }
)

func TestV2SortOffset(t *testing.T) {
	s := sortFixture(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"sort_by=name", byName},
		{"sort_by=name&sort_order=desc", reversedOf(byName)},
		{"sort_by=created_at&sort_order=desc", reversedOf(byCreated)},
		{"sort_by=updated_at&sort_order=ASC", byUpdated},
		{"sort_by=id&sort_order=desc", reversedOf(byCreated)},
		{"sort_order=desc", reversedOf(byCreated)}, // by id
		{"sort=-name", reversedOf(byName)},         // the cursor style works for offset pages too
	} {
		if got := names(t, s.do(owner, "GET", "/api/v2/users?"+tc.query, "", "")); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	// Pages of two in name order, as offset paging walks them.
	var walked []string
	for page := 1; page <= 4; page++ {
		walked = append(walked, names(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users?sort_by=name&per_page=2&page=%d", page), "", ""))...)
	}
	if !cmp.Equal(walked, byName) {
		t.Errorf("offset walk %v, want %v", walked, byName)
	}
}

// TestV2SortCursor walks a sorted list forward and back through the links,
// then with go-zendesk's iterator.
func TestV2SortCursor(t *testing.T) {
	s := sortFixture(t)
	for _, tc := range []struct {
		sort string
		want []string
	}{
		{"-name", reversedOf(byName)},
		{"name", byName},
		{"updated_at", byUpdated},
		{"-created_at", reversedOf(byCreated)},
	} {
		var forward []string
		var pages []response
		next := "/api/v2/users?page[size]=2&sort=" + tc.sort
		for next != "" && len(pages) < 10 {
			r := s.do(owner, "GET", next, "", "")
			forward = append(forward, names(t, r)...)
			pages = append(pages, r)
			next = linkPath(t, r, "next")
		}
		if !cmp.Equal(forward, tc.want) {
			t.Errorf("sort=%s forward: %v, want %v", tc.sort, forward, tc.want)
		}
		// Back from the last page through the prev links.
		var back []string
		prev := linkPath(t, pages[len(pages)-1], "prev")
		for prev != "" && len(back) < 20 {
			r := s.do(owner, "GET", prev, "", "")
			back = append(names(t, r), back...)
			prev = linkPath(t, r, "prev")
		}
		if last := names(t, pages[len(pages)-1]); !cmp.Equal(append(back, last...), tc.want) {
			t.Errorf("sort=%s back: %v + %v, want %v", tc.sort, back, last, tc.want)
		}
	}

	// A cursor made under one sort does not open under another.
	first := s.do(owner, "GET", "/api/v2/users?page[size]=2&sort=name", "", "")
	var meta struct {
		Meta struct {
			AfterCursor string `json:"after_cursor"`
		}
	}
	v2Decode(t, first, &meta)
	r := s.do(owner, "GET", "/api/v2/users?page[size]=2&sort=-name&page[after]="+url.QueryEscape(meta.Meta.AfterCursor), "", "")
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "another list, sort or direction") {
		t.Errorf("cursor under another sort: %d %s", r.status, r.body)
	}

	z := v2Client(t, s, ownerEmail, ownerToken)
	it := z.GetUsersIterator(v2AdminCtx(), &zendesk.PaginationOptions{PageSize: 3, IsCBP: true,
		CommonOptions: zendesk.CommonOptions{Sort: "-name"}})
	var got []string
	for it.HasMore() {
		us, err := it.GetNext()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			got = append(got, u.Name)
		}
	}
	if !cmp.Equal(got, reversedOf(byName)) {
		t.Errorf("go-zendesk iterator sort=-name: %v", got)
	}
	us, _, err := z.GetUsersOBP(v2AdminCtx(), &zendesk.OBPOptions{CommonOptions: zendesk.CommonOptions{SortBy: "updated_at", SortOrder: "desc"}})
	if err != nil || len(us) != 7 || us[0].Name != "carol" {
		t.Errorf("go-zendesk OBP sort_by=updated_at desc: %v %v", us, err)
	}
}

func linkPath(t *testing.T, r response, rel string) string {
	t.Helper()
	var body struct{ Links map[string]*string }
	v2Decode(t, r, &body)
	if body.Links[rel] == nil {
		return ""
	}
	return strings.TrimPrefix(*body.Links[rel], testBaseURL)
}

// TestV2SortOtherLists sorts groups, organizations and memberships, and
// refuses what a list cannot sort by, in both styles.
func TestV2SortOtherLists(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, name := range []string{"Sales", "billing", "Escalations"} {
		s.clock.Advance(time.Minute)
		v2Want(t, s.do(owner, "POST", "/api/v2/groups", "application/json", `{"group":{"name":"`+name+`"}}`), http.StatusCreated)
		v2Want(t, s.do(owner, "POST", "/api/v2/organizations", "application/json", `{"organization":{"name":"`+name+` Inc"}}`), http.StatusCreated)
	}
	agent := s.addUser("Agent", "agent@example.com", domain.Agent, "")
	for _, g := range []int{3, 1, 2} {
		s.clock.Advance(time.Minute)
		v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/group_memberships", agent), "application/json",
			fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g)), http.StatusCreated)
	}
	field := func(r response, key, field string) []any {
		t.Helper()
		v2Want(t, r, http.StatusOK)
		var body map[string]any
		v2Decode(t, r, &body)
		var out []any
		for _, item := range body[key].([]any) {
			out = append(out, item.(map[string]any)[field])
		}
		return out
	}
	for _, tc := range []struct {
		path, key, field string
		want             []any
	}{
		{"/api/v2/groups?sort_by=name", "groups", "name", []any{"billing", "Escalations", "Sales", "Support"}},
		{"/api/v2/groups?page[size]=10&sort=-created_at", "groups", "name", []any{"Escalations", "billing", "Sales", "Support"}},
		{"/api/v2/organizations?page[size]=2&sort=-name", "organizations", "name", []any{"Sales Inc", "Escalations Inc"}},
		{"/api/v2/group_memberships?sort_by=created_at&sort_order=desc", "group_memberships", "group_id", []any{2.0, 1.0, 3.0}},
		{fmt.Sprintf("/api/v2/users/%d/group_memberships?sort=-created_at", agent), "group_memberships", "group_id", []any{2.0, 1.0, 3.0}},
		{fmt.Sprintf("/api/v2/users/%d/group_memberships?page[size]=1&sort=created_at", agent), "group_memberships", "group_id", []any{3.0}},
	} {
		if got := field(s.do(owner, "GET", tc.path, "", ""), tc.key, tc.field); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, got, tc.want)
		}
	}
	const userFields, membershipFields = "sort by id, created_at, name, updated_at", "sort by id, created_at, updated_at"
	for _, tc := range []struct{ path, want string }{
		{"/api/v2/users?sort_by=email", `"email" is not a sort field of this list; ` + userFields},
		{"/api/v2/users?page[size]=2&sort=-email", `"email" is not a sort field of this list; ` + userFields},
		{"/api/v2/group_memberships?sort_by=name", `"name" is not a sort field of this list; ` + membershipFields},
		{fmt.Sprintf("/api/v2/users/%d/organization_memberships?sort=name", agent), `"name" is not a sort field of this list; ` + membershipFields},
		{fmt.Sprintf("/api/v2/users/%d/compliance_deletion_statuses?sort_by=created_at", agent), `"created_at" is not a sort field of this list; sort by id`},
		{"/api/v2/users?sort_by=name&sort_order=sideways", `sort_order must be "asc" or "desc"`},
		{"/api/v2/users?sort=name&sort_by=name", "Pass sort=field (or sort=-field), or sort_by and sort_order, not both"},
		{"/api/v2/users?sort=-", "sort must name a field, e.g. sort=name or sort=-name"},
	} {
		r := s.do(owner, "GET", tc.path, "", "")
		var e struct{ Error, Description string }
		if r.status != http.StatusBadRequest || json.Unmarshal(r.body, &e) != nil || e.Error != "InvalidParameter" || e.Description != tc.want {
			t.Errorf("%s: %d %s, want 400 InvalidParameter %q", tc.path, r.status, r.body, tc.want)
		}
	}
}
