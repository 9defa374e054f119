package deskgate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// The v2 JSON API, driven through go-zendesk (the client the STYLE guide
// names), with goldens for every response shape and hostile input per endpoint.

// v2AdminCtx acts as the account owner when a test calls the service directly.
func v2AdminCtx() context.Context {
	return domain.WithActor(context.Background(), &domain.Actor{ID: 1, Role: domain.Admin, Owner: true})
}

// v2Client is a go-zendesk client pointed at s; secret is an API token.
func v2Client(t *testing.T, s *server, email, token string) *zendesk.Client {
	t.Helper()
	c, err := zendesk.NewClient(s.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetEndpointURL(s.URL + "/api/v2"); err != nil {
		t.Fatal(err)
	}
	c.SetCredential(zendesk.NewAPITokenCredential(email, token))
	return c
}

// v2Status is the status of a go-zendesk typed error, or 0.
func v2Status(err error) int {
	var ze zendesk.Error
	if errors.As(err, &ze) {
		return ze.Status()
	}
	return 0
}

// v2EndUser makes an end user with a password through the service: the
// v2 API cannot set passwords.
func v2EndUser(t *testing.T, s *server, name, email, password string) *domain.User {
	t.Helper()
	verified := true
	u, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name, Email: &email, Password: &password, Verified: &verified})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	v2CursorParam = regexp.MustCompile(`(page%5B(?:after|before)%5D|cursor)=[A-Za-z0-9_-]+`)
	v2CursorValue = regexp.MustCompile(`"(after_cursor|before_cursor|authenticity_token)": "[^"]+"`)
)

// v2dump renders a response for a golden: the body pretty-printed so diffs
// read well, and the values derived from the database's random secret
// (cursors, authenticity tokens) replaced by placeholders.
func v2dump(r response) []byte {
	var b bytes.Buffer
	if json.Indent(&b, r.body, "", "  ") == nil {
		b.WriteByte('\n')
		body := v2CursorParam.ReplaceAll(b.Bytes(), []byte("$1=CURSOR"))
		r.body = v2CursorValue.ReplaceAll(body, []byte(`"$1": "<$1>"`))
	}
	return r.dump()
}

func v2Decode(t testing.TB, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v in %d %s", err, r.status, r.body)
	}
}

// v2Want fails unless r has the status.
func v2Want(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
}

// v2ID reads the id of the record under key in r's body.
func v2ID(t testing.TB, r response, key string) int64 {
	t.Helper()
	var body map[string]struct {
		ID int64 `json:"id"`
	}
	v2Decode(t, r, &body)
	if body[key].ID == 0 {
		t.Fatalf("no %s id in %d %s", key, r.status, r.body)
	}
	return body[key].ID
}

func TestV2GoZendesk(t *testing.T) {
	s := newServer(t, serverOptions{})
	ctx := context.Background()
	z := v2Client(t, s, ownerEmail, ownerToken)

	// Create, show and update through the client.
	agent, err := z.CreateUser(ctx, zendesk.User{Name: "Alice Agent", Email: "alice@example.com", Role: "agent", ExternalID: "EXT-alice"})
	if err != nil {
		t.Fatal(err)
	}
	if agent.ID == 0 || agent.Role != "agent" || !agent.Active || agent.ExternalID != "EXT-alice" || agent.URL != testBaseURL+"/api/v2/users/"+strconv.FormatInt(agent.ID, 10)+".json" {
		t.Fatalf("created %+v", agent)
	}
	admin, err := z.CreateUser(ctx, zendesk.User{Name: "Adam Admin", Email: "adam@example.com", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := z.GetUser(ctx, agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(agent, got); diff != "" {
		t.Errorf("GetUser differs from CreateUser (-create +get):\n%s", diff)
	}
	upd, err := z.UpdateUser(ctx, agent.ID, zendesk.User{Name: "Alice A. Agent", Notes: "prefers chat"})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Name != "Alice A. Agent" || upd.Notes != "prefers chat" || upd.Email != "alice@example.com" || upd.Role != "agent" {
		t.Fatalf("updated %+v", upd)
	}

	// 250 end users, some with external ids.
	const n = 250
	var endUsers []int64
	for i := range n {
		u := zendesk.User{Name: fmt.Sprintf("End User %03d", i), Email: fmt.Sprintf("end%03d@example.com", i)}
		if i%50 == 0 {
			u.ExternalID = fmt.Sprintf("ext-%03d", i)
		}
		created, err := z.CreateUser(ctx, u)
		if err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
		if created.Role != "end-user" {
			t.Fatalf("default role %q", created.Role)
		}
		endUsers = append(endUsers, created.ID)
	}
	all := append([]int64{1, agent.ID, admin.ID}, endUsers...)

	t.Run("filters", func(t *testing.T) {
		us, page, err := z.GetUsers(ctx, &zendesk.UserListOptions{Role: "agent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 1 || us[0].ID != agent.ID || page.Count != 1 || page.HasNext() {
			t.Errorf("role=agent: %d users, page %+v", len(us), page)
		}
		us, _, err = z.GetUsers(ctx, &zendesk.UserListOptions{Roles: []string{"agent", "admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if ids := v2UserIDs(us); !slices.Equal(ids, []int64{1, agent.ID, admin.ID}) {
			t.Errorf("role[]=agent&role[]=admin: %v", ids)
		}
		// external_id is not in UserListOptions: a raw GET through the client.
		body, err := z.Get(ctx, "/users.json?external_id=ext-alice") // case-insensitive
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Users []zendesk.User }
		if err := json.Unmarshal(body, &list); err != nil || len(list.Users) != 1 || list.Users[0].ID != agent.ID {
			t.Errorf("external_id filter: %s", body)
		}
	})

	t.Run("offset walk", func(t *testing.T) {
		var seen []int64
		for p := 1; ; p++ {
			us, page, err := z.GetUsers(ctx, &zendesk.UserListOptions{PageOptions: zendesk.PageOptions{PerPage: 100, Page: p}})
			if err != nil {
				t.Fatal(err)
			}
			if page.Count != int64(len(all)) {
				t.Errorf("page %d: count %d, want %d", p, page.Count, len(all))
			}
			seen = append(seen, v2UserIDs(us)...)
			if page.NextPage == nil {
				break
			}
			if p > 10 {
				t.Fatal("next_page never ends")
			}
		}
		if !slices.Equal(seen, all) {
			t.Errorf("offset walk saw %d users, want %d in id order", len(seen), len(all))
		}
	})

	t.Run("cursor walk", func(t *testing.T) {
		it := z.GetUsersIterator(ctx, &zendesk.PaginationOptions{PageSize: 30, IsCBP: true})
		var seen []int64
		for pages := 0; it.HasMore(); pages++ {
			us, err := it.GetNext()
			if err != nil {
				t.Fatal(err)
			}
			if len(us) > 30 || pages > 20 {
				t.Fatalf("page %d has %d users", pages, len(us))
			}
			seen = append(seen, v2UserIDs(us)...)
		}
		if !slices.Equal(seen, all) {
			t.Errorf("cursor walk saw %d users, want %d in id order", len(seen), len(all))
		}
		// GetUsersCBP with a filter: the cursor carries it.
		var agents []int64
		opts := &zendesk.CBPOptions{CursorPagination: zendesk.CursorPagination{PageSize: 1}, CommonOptions: zendesk.CommonOptions{Roles: []string{"agent", "admin"}}}
		for {
			us, meta, err := z.GetUsersCBP(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			agents = append(agents, v2UserIDs(us)...)
			if !meta.HasMore {
				break
			}
			opts.PageAfter = meta.AfterCursor
		}
		if !slices.Equal(agents, []int64{1, agent.ID, admin.ID}) {
			t.Errorf("CBP with role[]: %v", agents)
		}
	})

	t.Run("show_many", func(t *testing.T) {
		ids := fmt.Sprintf("%d,%d,999999,%d,1", endUsers[7], agent.ID, endUsers[3])
		us, _, err := z.GetManyUsers(ctx, &zendesk.GetManyUsersOptions{IDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := v2UserIDs(us), []int64{endUsers[7], agent.ID, endUsers[3], 1}; !slices.Equal(got, want) {
			t.Errorf("ids=%s: %v, want %v", ids, got, want)
		}
		us, _, err = z.GetManyUsers(ctx, &zendesk.GetManyUsersOptions{ExternalIDs: "ext-100,nope,EXT-000,ext-alice"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := v2UserIDs(us), []int64{endUsers[100], endUsers[0], agent.ID}; !slices.Equal(got, want) {
			t.Errorf("external_ids: %v, want %v", got, want)
		}
	})

	t.Run("count and related", func(t *testing.T) {
		body, err := z.Get(ctx, "/users/count.json?role=end-user")
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Count struct {
				Value       int    `json:"value"`
				RefreshedAt string `json:"refreshed_at"`
			} `json:"count"`
		}
		if err := json.Unmarshal(body, &c); err != nil || c.Count.Value != n || c.Count.RefreshedAt == "" {
			t.Errorf("count: %s", body)
		}
		rel, err := z.GetUserRelated(ctx, agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rel != (zendesk.UserRelated{}) {
			t.Errorf("related %+v", rel)
		}
	})

	t.Run("groups and organizations", func(t *testing.T) {
		g, err := z.CreateGroup(ctx, zendesk.Group{Name: "Tier 1", Description: "first line"})
		if err != nil {
			t.Fatal(err)
		}
		if g, err = z.UpdateGroup(ctx, g.ID, zendesk.Group{Name: "Tier One"}); err != nil || g.Name != "Tier One" || g.Description != "first line" {
			t.Fatalf("UpdateGroup: %+v %v", g, err)
		}
		if got, err := z.GetGroup(ctx, g.ID); err != nil || got.Name != "Tier One" {
			t.Fatalf("GetGroup: %+v %v", got, err)
		}
		// The default group of a new account, then the new one.
		if gs, page, err := z.GetGroups(ctx, &zendesk.GroupListOptions{}); err != nil || len(gs) != 2 || page.Count != 2 ||
			gs[0].Name != domain.DefaultGroupName || !gs[0].Default || gs[1].ID != g.ID || gs[1].Default {
			t.Fatalf("GetGroups: %v %+v %v", gs, page, err)
		}
		// Making the new group the default moves the flag: still exactly one.
		if g, err = z.UpdateGroup(ctx, g.ID, zendesk.Group{Name: "Tier One", Default: true}); err != nil || !g.Default {
			t.Fatalf("UpdateGroup default: %+v %v", g, err)
		}
		if gs, _, err := z.GetGroups(ctx, &zendesk.GroupListOptions{}); err != nil || gs[0].Default || !gs[1].Default {
			t.Fatalf("GetGroups after the move: %+v %v", gs, err)
		}
		if err := z.DeleteGroup(ctx, g.ID); v2Status(err) != http.StatusUnprocessableEntity {
			t.Errorf("DeleteGroup of the default: %v, want 422", err)
		}
		o, err := z.CreateOrganization(ctx, zendesk.Organization{Name: "Acme", DomainNames: []string{"acme.test"}, Tags: []string{"big"}})
		if err != nil {
			t.Fatal(err)
		}
		if o, err = z.UpdateOrganization(ctx, o.ID, zendesk.Organization{Name: "Acme Inc", Notes: "key account"}); err != nil || o.Name != "Acme Inc" || o.Notes != "key account" {
			t.Fatalf("UpdateOrganization: %+v %v", o, err)
		}
		if got, err := z.GetOrganization(ctx, o.ID); err != nil || got.Name != "Acme Inc" {
			t.Fatalf("GetOrganization: %+v %v", got, err)
		}
		if os, _, err := z.GetOrganizations(ctx, &zendesk.OrganizationListOptions{}); err != nil || len(os) != 1 {
			t.Fatalf("GetOrganizations: %v %v", os, err)
		}
		o2, err := z.CreateOrganization(ctx, zendesk.Organization{Name: "Bolt"})
		if err != nil {
			t.Fatal(err)
		}

		// go-zendesk's membership methods use the account-wide
		// /group_memberships and /organization_memberships endpoints, which
		// deskgate does not serve; the per-user endpoints go through the
		// client's raw methods.
		u := endUsers[0]
		post := func(path, body string) []byte {
			t.Helper()
			b, err := z.Post(ctx, path, json.RawMessage(body))
			if err != nil {
				t.Fatalf("POST %s: %v", path, err)
			}
			return b
		}
		var gm struct {
			GroupMembership zendesk.GroupMembership `json:"group_membership"`
		}
		json.Unmarshal(post(fmt.Sprintf("/users/%d/group_memberships.json", agent.ID), fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g.ID)), &gm)
		if gm.GroupMembership.UserID != agent.ID || gm.GroupMembership.GroupID != g.ID || !gm.GroupMembership.Default {
			t.Errorf("group membership %+v", gm.GroupMembership)
		}
		if got, err := z.GetUser(ctx, agent.ID); err != nil || got.DefaultGroupID != g.ID {
			t.Errorf("default_group_id %d, want %d (%v)", got.DefaultGroupID, g.ID, err)
		}
		var om struct {
			OrganizationMembership zendesk.OrganizationMembership `json:"organization_membership"`
		}
		json.Unmarshal(post(fmt.Sprintf("/users/%d/organization_memberships.json", u), fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, o.ID)), &om)
		if om.OrganizationMembership.OrganizationID != o.ID || !om.OrganizationMembership.Default || om.OrganizationMembership.Name != "Acme Inc" {
			t.Errorf("organization membership %+v", om.OrganizationMembership)
		}
		post(fmt.Sprintf("/users/%d/organization_memberships.json", u), fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, o2.ID))
		def, err := z.SetDefaultOrganization(ctx, zendesk.OrganizationMembershipOptions{UserID: u, OrganizationID: o2.ID})
		if err != nil || def.OrganizationID != o2.ID || !def.Default {
			t.Fatalf("SetDefaultOrganization: %+v %v", def, err)
		}
		if got, err := z.GetUser(ctx, u); err != nil || got.OrganizationID != o2.ID {
			t.Errorf("organization_id %d, want %d (%v)", got.OrganizationID, o2.ID, err)
		}
	})

	t.Run("typed errors", func(t *testing.T) {
		if _, err := z.GetUser(ctx, 999999); v2Status(err) != http.StatusNotFound {
			t.Errorf("GetUser(999999): %v", err)
		}
		if _, err := z.CreateUser(ctx, zendesk.User{Name: " "}); v2Status(err) != http.StatusUnprocessableEntity {
			t.Errorf("blank name: %v", err)
		}
		if _, err := z.CreateUser(ctx, zendesk.User{Name: "Dup", Email: "ALICE@example.com"}); v2Status(err) != http.StatusUnprocessableEntity {
			t.Errorf("duplicate email: %v", err)
		}
		if _, err := z.UpdateUser(ctx, agent.ID, zendesk.User{Name: "x", Role: "superuser"}); v2Status(err) != http.StatusUnprocessableEntity {
			t.Errorf("unknown role: %v", err)
		}
		v2EndUser(t, s, "Eve End", "eve@example.com", "eve-secret-1")
		ze, err := zendesk.NewClient(s.Client())
		if err != nil {
			t.Fatal(err)
		}
		ze.SetEndpointURL(s.URL + "/api/v2")
		ze.SetCredential(zendesk.NewBasicAuthCredential("eve@example.com", "eve-secret-1"))
		if _, _, err := ze.GetUsers(ctx, nil); v2Status(err) != http.StatusForbidden {
			t.Errorf("end user lists users: %v", err)
		}
		if _, err := ze.GetUser(ctx, agent.ID); v2Status(err) != http.StatusForbidden {
			t.Errorf("end user shows an agent: %v", err)
		}
		ze.SetCredential(zendesk.NewBasicAuthCredential("eve@example.com", "wrong"))
		if _, err := ze.GetUser(ctx, 1); v2Status(err) != http.StatusUnauthorized {
			t.Errorf("wrong password: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		victim := endUsers[n-1]
		_, before, err := z.GetUsers(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d.json", victim), "", "")
		v2Want(t, r, http.StatusOK)
		var body struct{ User zendesk.User }
		v2Decode(t, r, &body)
		if body.User.ID != victim || body.User.Active {
			t.Errorf("DELETE answered %s", r.body)
		}
		us, page, err := z.GetUsers(ctx, &zendesk.UserListOptions{PageOptions: zendesk.PageOptions{PerPage: 100, Page: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(v2UserIDs(us), victim) || page.Count != before.Count-1 {
			t.Errorf("deleted user still listed (count %d)", page.Count)
		}
		// Shown to admins, inactive.
		if got, err := z.GetUser(ctx, victim); err != nil || got.Active {
			t.Errorf("GetUser after delete: %+v %v", got, err)
		}
		// v0.18.0 has no DeleteUser, and its Delete accepts only 204; the API
		// answers 200 with the user (API-NOTES §4), so the client reports an
		// error with status 200 after a successful delete.
		if err := z.Delete(ctx, fmt.Sprintf("/users/%d.json", endUsers[n-2])); v2Status(err) != http.StatusOK {
			t.Errorf("Delete: %v", err)
		}
		if got, err := z.GetUser(ctx, endUsers[n-2]); err != nil || got.Active {
			t.Errorf("GetUser after Delete: %+v %v", got, err)
		}
	})
}

func v2UserIDs(us []zendesk.User) []int64 {
	ids := make([]int64, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// v2Step is one request of the v2 golden scenario and what it answered.
type v2Step struct {
	name string
	view string // "admin", "end-user" or "" (no user objects to check)
	r    response
}

// v2Scenario runs one request per v2 response shape and per error body on
// fresh servers and returns the answers in order. Both the goldens and the
// schema checks read it.
func v2Scenario(t *testing.T) []v2Step {
	t.Helper()
	s := newServer(t, serverOptions{})
	rec := &v2Recorder{s: s}
	add, admin := rec.add, rec.admin

	// Group 1 is the account's default group, Support.
	g1 := v2ID(t, admin("group_create", "POST", "/api/v2/groups", `{"group":{"name":"Sales","description":"First line"}}`), "group")
	admin("group_update", "PUT", fmt.Sprintf("/api/v2/groups/%d", g1), `{"group":{"name":"Sales EU","is_public":false}}`)
	admin("group_show", "GET", fmt.Sprintf("/api/v2/groups/%d.json", g1), "")
	g2 := v2ID(t, admin("group_create_private", "POST", "/api/v2/groups", `{"group":{"name":"Escalations","is_public":false}}`), "group")
	admin("group_make_default", "PUT", fmt.Sprintf("/api/v2/groups/%d", g2), `{"group":{"default":true}}`)
	admin("group_list", "GET", "/api/v2/groups", "")

	o1 := v2ID(t, admin("organization_create", "POST", "/api/v2/organizations",
		`{"organization":{"name":"Acme","domain_names":["acme.test"],"tags":["Big"],"external_id":"ORG-1"}}`), "organization")
	admin("organization_update", "PUT", fmt.Sprintf("/api/v2/organizations/%d", o1), `{"organization":{"notes":"Key account","organization_fields":{"tier":"gold"}}}`)
	admin("organization_show", "GET", fmt.Sprintf("/api/v2/organizations/%d", o1), "")
	o2 := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", "application/json", `{"organization":{"name":"Bolt"}}`), "organization")
	admin("organization_list", "GET", "/api/v2/organizations", "")

	agent := v2ID(t, admin("user_create", "POST", "/api/v2/users",
		`{"user":{"name":"Agent Smith","email":"smith@example.com","role":"agent","external_id":"ext-smith","alias":"Smithy","tags":["VIP","vip team"],"user_fields":{"tier":"gold"},"time_zone":"Copenhagen"}}`), "user")
	admin("user_update", "PUT", fmt.Sprintf("/api/v2/users/%d", agent), `{"user":{"notes":"Prefers email","phone":"+4512345678","ticket_restriction":"groups","signature":"Regards"}}`)
	admin("user_show_admin", "GET", fmt.Sprintf("/api/v2/users/%d.json", agent), "")

	emma := v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	ec := creds{"emma@example.com", "emma-secret-1"}
	add("user_show_end_user", "end-user", ec, "GET", fmt.Sprintf("/api/v2/users/%d", emma.ID), "")
	add("me_end_user", "end-user", ec, "GET", "/api/v2/users/me", "")

	admin("user_list_offset", "GET", "/api/v2/users?per_page=2", "")
	admin("user_list_offset_page2", "GET", "/api/v2/users?per_page=2&page=2", "")
	r := admin("user_list_cursor", "GET", "/api/v2/users?page[size]=2", "")
	var page struct {
		Meta struct {
			AfterCursor string `json:"after_cursor"`
		}
	}
	v2Decode(t, r, &page)
	admin("user_list_cursor_page2", "GET", "/api/v2/users?page[size]=2&page[after]="+url.QueryEscape(page.Meta.AfterCursor), "")
	admin("user_list_sorted", "GET", "/api/v2/users?page[size]=2&sort=-name", "")
	admin("user_show_many", "GET", fmt.Sprintf("/api/v2/users/show_many?ids=%d,1,999", emma.ID), "")
	admin("user_count", "GET", "/api/v2/users/count", "")
	admin("me", "GET", "/api/v2/users/me", "")
	add("me_anonymous", "", creds{}, "GET", "/api/v2/users/me", "")
	admin("user_related", "GET", fmt.Sprintf("/api/v2/users/%d/related", agent), "")
	admin("compliance_deletion_statuses", "GET", fmt.Sprintf("/api/v2/users/%d/compliance_deletion_statuses", emma.ID), "")

	gm := fmt.Sprintf("/api/v2/users/%d/group_memberships", agent)
	admin("group_membership_create", "POST", gm, fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g1))
	m2 := v2ID(t, s.do(owner, "POST", gm, "application/json", fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g2)), "group_membership")
	admin("group_membership_list", "GET", gm, "")
	admin("group_membership_show", "GET", fmt.Sprintf("%s/%d", gm, m2), "")
	admin("group_membership_make_default", "PUT", fmt.Sprintf("%s/%d/make_default", gm, m2), "")

	om := fmt.Sprintf("/api/v2/users/%d/organization_memberships", emma.ID)
	admin("organization_membership_create", "POST", om, fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, o1))
	n2 := v2ID(t, s.do(owner, "POST", om, "application/json", fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, o2)), "organization_membership")
	admin("organization_membership_list", "GET", om, "")
	admin("organization_membership_show", "GET", fmt.Sprintf("%s/%d", om, n2), "")
	admin("organization_membership_make_default", "PUT", fmt.Sprintf("%s/%d/make_default", om, n2), "")
	admin("organization_make_default", "PUT", fmt.Sprintf("/api/v2/users/%d/organizations/%d/make_default", emma.ID, o1), "")

	gone := v2ID(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Short Lived","email":"short@example.com"}}`), "user")
	admin("user_delete", "DELETE", fmt.Sprintf("/api/v2/users/%d", gone), "")

	// Error bodies.
	add("error_401_no_credentials", "", creds{}, "GET", "/api/v2/users", "")
	add("error_401_wrong_token", "", creds{ownerEmail + "/token", "wrong"}, "GET", "/api/v2/users", "")
	add("error_403_end_user_lists_users", "", ec, "GET", "/api/v2/users", "")
	admin("error_404_unknown_user", "GET", "/api/v2/users/999999", "")
	admin("error_422_blank_name", "POST", "/api/v2/users", `{"user":{"name":"  ","email":"blank@example.com"}}`)
	admin("error_422_bad_email", "POST", "/api/v2/users", `{"user":{"name":"Bad","email":"bad@@example"}}`)
	admin("error_422_duplicate_email", "POST", "/api/v2/users", `{"user":{"name":"Twin","email":"SMITH@example.com"}}`)
	admin("error_422_unknown_role", "POST", "/api/v2/users", `{"user":{"name":"Root","role":"superuser"}}`)
	admin("error_422_private_group_made_public", "PUT", fmt.Sprintf("/api/v2/groups/%d", g2), `{"group":{"is_public":true}}`)
	admin("error_422_default_group_unset", "PUT", fmt.Sprintf("/api/v2/groups/%d", g2), `{"group":{"default":false}}`)
	admin("error_422_default_group_deleted", "DELETE", fmt.Sprintf("/api/v2/groups/%d", g2), "")
	admin("error_422_duplicate_group_membership", "POST", gm, fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g1))
	admin("error_422_duplicate_organization_membership", "POST", om, fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, o1))
	admin("error_400_malformed_json", "POST", "/api/v2/users", `{"user":{"name":"x",}}`)
	admin("error_400_wrong_type", "POST", "/api/v2/users", `{"user":{"name":"x","role":7}}`)
	admin("error_413_body_too_large", "POST", "/api/v2/users", `{"user":{"name":"`+strings.Repeat("a", 1<<20)+`"}}`)
	admin("error_400_per_page_too_large", "GET", "/api/v2/users?per_page=100000", "")
	admin("error_400_offset_too_deep", "GET", "/api/v2/users?page=101&per_page=100", "")
	admin("error_400_unsupported_sort", "GET", "/api/v2/users?sort_by=email", "")
	admin("error_400_forged_cursor", "GET", "/api/v2/users?page[size]=2&page[after]=bm90LWEtY3Vyc29y", "")

	// Search, autocomplete, sideloads and the incremental export.
	admin("user_search", "GET", "/api/v2/users/search?query="+url.QueryEscape(`smith -role:end-user`)+"&per_page=1", "")
	admin("user_search_external_id", "GET", "/api/v2/users/search?external_id=EXT-SMITH", "")
	admin("user_autocomplete", "GET", "/api/v2/users/autocomplete?name=ag", "")
	admin("user_show_include", "GET", fmt.Sprintf("/api/v2/users/%d?include=identities,groups,organizations,abilities,roles,unknown", agent), "")
	admin("user_show_many_include", "GET", fmt.Sprintf("/api/v2/users/show_many?ids=%d,%d&include=organizations,identities", agent, emma.ID), "")
	admin("user_list_include", "GET", "/api/v2/users?per_page=2&include=abilities,groups", "")
	add("user_show_include_end_user", "end-user", ec, "GET", fmt.Sprintf("/api/v2/users/%d?include=abilities,organizations", emma.ID), "")
	s.clock.Advance(2 * time.Minute) // past the export's one-minute lag
	admin("export_time", "GET", "/api/v2/incremental/users?start_time=0&per_page=3", "")
	r = admin("export_cursor", "GET", "/api/v2/incremental/users/cursor?start_time=0&per_page=3&include=identities", "")
	var export struct {
		AfterCursor string `json:"after_cursor"`
	}
	v2Decode(t, r, &export)
	admin("export_cursor_page2", "GET", "/api/v2/incremental/users/cursor?per_page=3&cursor="+url.QueryEscape(export.AfterCursor), "")
	admin("error_400_search_nothing_to_find", "GET", "/api/v2/users/search?query=%25", "")
	admin("error_400_search_offset_only", "GET", "/api/v2/users/search?query=smith&page[size]=2", "")
	admin("error_400_autocomplete_without_name", "GET", "/api/v2/users/autocomplete", "")
	admin("error_400_export_too_recent", "GET", fmt.Sprintf("/api/v2/incremental/users?start_time=%d", s.svc.Now().Unix()), "")
	admin("error_400_export_forged_cursor", "GET", "/api/v2/incremental/users/cursor?cursor=bm90LWEtY3Vyc29y", "")
	add("error_403_export_end_user", "", ec, "GET", "/api/v2/incremental/users?start_time=0", "")

	limited := newServer(t, serverOptions{rateLimit: 700, exportRateLimit: 1})
	v2Want(t, limited.do(owner, "GET", "/api/v2/incremental/users?start_time=0", "", ""), http.StatusOK)
	rec.steps = append(rec.steps, v2Step{"error_429_export_rate_limit", "",
		limited.do(owner, "GET", "/api/v2/incremental/users?start_time=0", "", "")})

	seats := newServer(t, serverOptions{seats: 2}) // the owner holds one
	v2Want(t, seats.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"First Agent","role":"agent"}}`), http.StatusCreated)
	rec.steps = append(rec.steps, v2Step{"error_422_seat_limit", "",
		seats.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Second Agent","role":"agent"}}`)})
	return rec.steps
}

// v2Recorder sends the requests of a golden scenario and keeps the answers.
type v2Recorder struct {
	s     *server
	steps []v2Step
}

// add sends a request as c and records its answer under name; view is how
// user objects in it are shown ("admin", "end-user" or "" for none).
func (rec *v2Recorder) add(name, view string, c creds, method, path, body string) response {
	rec.s.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	if method == "PUT" || method == "DELETE" {
		rec.s.clock.Advance(time.Minute) // so that updated_at shows the change
	}
	r := rec.s.do(c, method, path, ct, body)
	rec.steps = append(rec.steps, v2Step{name, view, r})
	return r
}

// admin sends a request as the account owner.
func (rec *v2Recorder) admin(name, method, path, body string) response {
	rec.s.t.Helper()
	return rec.add(name, "admin", owner, method, path, body)
}

func TestV2Goldens(t *testing.T) {
	for _, st := range v2Scenario(t) {
		golden(t, "v2/"+st.name+".golden", v2dump(st.r))
	}
}

// TestV2ResponseContracts checks, beyond the goldens, the facts clients
// branch on.
func TestV2ResponseContracts(t *testing.T) {
	steps := map[string]response{}
	for _, st := range v2Scenario(t) {
		steps[st.name] = st.r
		if ct := st.r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", st.name, ct)
		}
		var body map[string]any
		if err := json.Unmarshal(st.r.body, &body); err != nil {
			t.Errorf("%s: body is not a JSON object: %v", st.name, err)
		}
		if st.r.status >= 400 && body["error"] == nil {
			t.Errorf("%s: error body without error: %s", st.name, st.r.body)
		}
	}
	for name, r := range steps { // every 201 points at what it created
		if r.status != http.StatusCreated {
			continue
		}
		var created map[string]struct{ URL string }
		v2Decode(t, r, &created)
		for _, record := range created {
			if loc := r.header.Get("Location"); loc == "" || loc != record.URL {
				t.Errorf("%s: Location %q, url %q", name, loc, record.URL)
			}
		}
	}
	var group struct {
		Group struct {
			IsPublic bool `json:"is_public"`
		}
	}
	if v2Decode(t, steps["group_create"], &group); !group.Group.IsPublic {
		t.Errorf("a new group is private: %s", steps["group_create"].body)
	}
	if v2Decode(t, steps["group_create_private"], &group); group.Group.IsPublic {
		t.Errorf("a group created private is public: %s", steps["group_create_private"].body)
	}
	var groups struct {
		Groups []struct {
			ID      int64
			Default bool
		}
	}
	v2Decode(t, steps["group_list"], &groups)
	var defaults []int64
	for _, g := range groups.Groups {
		if g.Default {
			defaults = append(defaults, g.ID)
		}
	}
	if !cmp.Equal(defaults, []int64{3}) { // moved from Support (1) to Escalations (3)
		t.Errorf("default groups %v, want [3]", defaults)
	}
	for _, name := range []string{"error_422_private_group_made_public", "error_422_default_group_unset", "error_422_default_group_deleted"} {
		if steps[name].status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", name, steps[name].status)
		}
	}
	for _, name := range []string{"error_401_no_credentials", "error_401_wrong_token"} {
		r := steps[name]
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="Web Password"` || string(r.body) != `{"error":"Couldn't authenticate you"}` {
			t.Errorf("%s: %d %q %s", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}
	if r := steps["error_404_unknown_user"]; string(r.body) != `{"error":"RecordNotFound","description":"Not found"}` {
		t.Errorf("404 body %s", r.body)
	}
	var seat struct {
		Error   string
		Details map[string][]struct{ Error string }
	}
	v2Decode(t, steps["error_422_seat_limit"], &seat)
	if steps["error_422_seat_limit"].status != 422 || seat.Error != "RecordInvalid" || len(seat.Details["role"]) == 0 || seat.Details["role"][0].Error != "MaxAgentExceeded" {
		t.Errorf("seat limit: %s", steps["error_422_seat_limit"].body)
	}
	var typed struct{ Error struct{ Title string } }
	v2Decode(t, steps["error_400_wrong_type"], &typed)
	if typed.Error.Title != "Invalid attribute" {
		t.Errorf("wrong type: %s", steps["error_400_wrong_type"].body)
	}
	var me struct{ User map[string]any }
	v2Decode(t, steps["me_end_user"], &me)
	if tok, _ := me.User["authenticity_token"].(string); tok == "" {
		t.Errorf("/users/me for an end user has no authenticity_token: %s", steps["me_end_user"].body)
	}
	endUserKeys := slices.Sorted(maps.Keys(me.User))
	var anon struct{ User map[string]any }
	v2Decode(t, steps["me_anonymous"], &anon)
	if steps["me_anonymous"].status != 200 || anon.User["id"] != nil || anon.User["name"] != "Anonymous user" {
		t.Errorf("anonymous me: %s", steps["me_anonymous"].body)
	}
	if tok, _ := anon.User["authenticity_token"].(string); tok == "" || tok == me.User["authenticity_token"] {
		t.Errorf("anonymous authenticity_token %q", tok)
	}
	if diff := cmp.Diff(endUserKeys, slices.Sorted(maps.Keys(anon.User))); diff != "" {
		t.Errorf("anonymous me keys differ from the end-user view (-end user +anonymous):\n%s", diff)
	}
	var blank struct {
		Details map[string][]struct{ Description string }
	}
	if v2Decode(t, steps["error_422_blank_name"], &blank); blank.Details["name"][0].Description != "Name: is too short (minimum is 1 characters)" {
		t.Errorf("blank name: %s", steps["error_422_blank_name"].body)
	}
}

// v2Snapshot is everything the store holds that a request could change.
func (s *server) v2Snapshot() string {
	s.t.Helper()
	ctx := context.Background()
	us, err := s.db.UsersByPosition(ctx, 0, 1<<20)
	if err != nil {
		s.t.Fatal(err)
	}
	gs, err := s.db.Groups(ctx, domain.Window{Limit: 1 << 20})
	if err != nil {
		s.t.Fatal(err)
	}
	os, err := s.db.Organizations(ctx, domain.Window{Limit: 1 << 20})
	if err != nil {
		s.t.Fatal(err)
	}
	var oms []domain.OrganizationMembership
	var skips []domain.Skip
	for _, u := range us {
		ms, err := s.db.OrganizationMemberships(ctx, u.ID)
		if err != nil {
			s.t.Fatal(err)
		}
		oms = append(oms, ms...)
		sks, err := s.db.Skips(ctx, domain.SkipFilter{UserID: u.ID}, domain.Window{Limit: 1 << 20})
		if err != nil {
			s.t.Fatal(err)
		}
		skips = append(skips, sks...)
	}
	b, err := json.MarshalIndent(map[string]any{"users": us, "groups": gs, "organizations": os, "organization_memberships": oms, "skips": skips}, "", " ")
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// isV2Error reports whether body is a v2 error: an object whose error is a
// non-empty string or an object with a title.
func isV2Error(body []byte) bool {
	var e struct{ Error json.RawMessage }
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return false
	}
	var str string
	if json.Unmarshal(e.Error, &str) == nil {
		return str != ""
	}
	var obj struct{ Title, Message string }
	return json.Unmarshal(e.Error, &obj) == nil && obj.Title != "" && obj.Message != ""
}

func TestV2HostileInput(t *testing.T) {
	s := newServer(t, serverOptions{})
	post := func(path, body string) int64 {
		t.Helper()
		r := s.do(owner, "POST", path, "application/json", body)
		v2Want(t, r, http.StatusCreated)
		var m map[string]struct{ ID int64 }
		v2Decode(t, r, &m)
		for _, v := range m {
			return v.ID
		}
		return 0
	}
	agent := post("/api/v2/users", `{"user":{"name":"Agent","email":"agent@example.com","role":"agent"}}`)
	endUser := post("/api/v2/users", `{"user":{"name":"End","email":"end@example.com"}}`)
	group := post("/api/v2/groups", `{"group":{"name":"G"}}`)
	org := post("/api/v2/organizations", `{"organization":{"name":"O"}}`)

	type endpoint struct {
		method, path, key string
		wrongType, huge   string // inner objects
	}
	endpoints := []endpoint{
		{"POST", "/api/v2/users", "user", `{"name":"x","role":7}`, `{"name":"x","organization_id":1e30}`},
		{"PUT", fmt.Sprintf("/api/v2/users/%d", agent), "user", `{"name":["x"]}`, `{"default_group_id":99999999999999999999}`},
		{"POST", "/api/v2/groups", "group", `{"name":7}`, `{"name":"x","is_public":1e30}`},
		{"PUT", fmt.Sprintf("/api/v2/groups/%d", group), "group", `{"description":{}}`, `{"default":1e30}`},
		{"POST", "/api/v2/organizations", "organization", `{"name":"x","tags":"a,b"}`, `{"name":"x","group_id":1e30}`},
		{"PUT", fmt.Sprintf("/api/v2/organizations/%d", org), "organization", `{"shared_tickets":"yes"}`, `{"group_id":-1e30}`},
		{"POST", fmt.Sprintf("/api/v2/users/%d/group_memberships", agent), "group_membership", `{"group_id":"abc"}`, `{"group_id":1e30}`},
		{"POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", agent), "organization_membership", `{"organization_id":true}`, `{"organization_id":1e30}`},
		{"PUT", fmt.Sprintf("/api/v2/users/%d/merge", endUser), "user", `{"id":"abc"}`, `{"id":1e30}`},
		{"PUT", "/api/v2/users/me/merge", "user", `{"email":7}`, `{"email":"end@example.com","password":1e30}`},
		{"POST", "/api/v2/skips", "skip", `{"ticket_id":"abc"}`, `{"ticket_id":1e30}`},
	}
	for _, ep := range endpoints {
		bodies := []struct{ name, body string }{
			{"empty body", ``},
			{"malformed JSON", `{"` + ep.key + `":{`},
			{"not an object", `[1,2,3]`},
			{"wrong types", `{"` + ep.key + `":` + ep.wrongType + `}`},
			{"huge number", `{"` + ep.key + `":` + ep.huge + `}`},
			{"null wrapper", `{"` + ep.key + `":null}`},
			{"missing wrapper", `{"name":"x","group_id":1,"organization_id":1}`},
			{"wrapper not an object", `{"` + ep.key + `":"x"}`},
			{"trailing garbage", `{"` + ep.key + `":{"name":"x","group_id":1,"organization_id":1}} garbage`},
			{"two documents", `{"` + ep.key + `":{"name":"x"}}{"` + ep.key + `":{"name":"y"}}`},
			{"invalid UTF-8 and NUL", "{\"" + ep.key + "\":{\"name\":\"\xff\x00\"}}"},
		}
		for _, b := range bodies {
			t.Run(ep.method+" "+ep.path+"/"+b.name, func(t *testing.T) {
				before := s.v2Snapshot()
				r := s.do(owner, ep.method, ep.path, "application/json", b.body)
				if r.status < 400 || r.status >= 500 || !isV2Error(r.body) {
					t.Errorf("%d %s", r.status, r.body)
				}
				if after := s.v2Snapshot(); after != before {
					t.Errorf("the request wrote (-before +after):\n%s", cmp.Diff(before, after))
				}
			})
		}
	}

	t.Run("attribute errors name the attribute and the expected type", func(t *testing.T) {
		for _, tc := range []struct{ path, body, want string }{
			{"/api/v2/users", `{"user":"x"}`, "Invalid parameter: user must be an object"},
			{"/api/v2/users", `{"user":{"name":"x","tags":"a b"}}`, "Invalid parameter: user.tags must be an array"},
			{"/api/v2/users", `{"user":{"name":"x","user_fields":[1]}}`, "Invalid parameter: user.user_fields must be an object"},
			{"/api/v2/users", `{"user":{"name":"x","verified":"yes"}}`, "Invalid parameter: user.verified must be true or false"},
			{"/api/v2/organizations", `{"organization":{"name":"x","domain_names":"a.test"}}`, "Invalid parameter: organization.domain_names must be an array"},
		} {
			before := s.v2Snapshot()
			r := s.do(owner, "POST", tc.path, "application/json", tc.body)
			var e struct {
				Error struct{ Title, Message string }
			}
			json.Unmarshal(r.body, &e)
			if r.status != http.StatusBadRequest || e.Error.Title != "Invalid attribute" || !strings.HasSuffix(e.Error.Message, tc.want) {
				t.Errorf("%s: %d %s, want message ending %q", tc.body, r.status, r.body, tc.want)
			}
			if s.v2Snapshot() != before {
				t.Errorf("%s wrote", tc.body)
			}
		}
	})

	t.Run("read-only fields are not mass-assigned", func(t *testing.T) {
		r := s.do(owner, "POST", "/api/v2/users", "application/json",
			`{"user":{"id":999,"name":"Mass","active":false,"created_at":"2001-01-01T00:00:00Z","url":"http://evil","role_type":4,"last_login_at":"2001-01-01T00:00:00Z","shared":true}}`)
		v2Want(t, r, http.StatusCreated)
		var body struct{ User map[string]any }
		v2Decode(t, r, &body)
		u := body.User
		if u["id"] == float64(999) || u["active"] != true || u["created_at"] != "2026-05-15T18:07:57Z" || u["last_login_at"] != nil ||
			u["role_type"] != nil || u["shared"] != false || !strings.HasPrefix(u["url"].(string), testBaseURL) {
			t.Errorf("read-only fields assigned: %s", r.body)
		}
		id := int64(u["id"].(float64))
		// "id": "abc" is as read-only as a number: ignored, whatever its type.
		r = s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), "application/json", `{"user":{"id":"abc","name":"Mass 2","active":false}}`)
		v2Want(t, r, http.StatusOK)
		v2Decode(t, r, &body)
		if body.User["id"] != float64(id) || body.User["active"] != true || body.User["name"] != "Mass 2" {
			t.Errorf("update assigned read-only fields: %s", r.body)
		}
		// A membership's user comes from the path, never from the body.
		r = s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", id), "application/json",
			fmt.Sprintf(`{"organization_membership":{"organization_id":%d,"user_id":1,"id":5,"default":false}}`, org))
		v2Want(t, r, http.StatusCreated)
		var m struct {
			OrganizationMembership map[string]any `json:"organization_membership"`
		}
		v2Decode(t, r, &m)
		if m.OrganizationMembership["user_id"] != float64(id) {
			t.Errorf("membership for user %v, want %d", m.OrganizationMembership["user_id"], id)
		}
	})

	t.Run("paths and queries", func(t *testing.T) {
		var cur struct {
			Meta struct {
				AfterCursor string `json:"after_cursor"`
			}
		}
		v2Decode(t, s.do(owner, "GET", "/api/v2/users?page[size]=1", "", ""), &cur)
		userCursor := cur.Meta.AfterCursor
		v2Decode(t, s.do(owner, "GET", "/api/v2/groups?page[size]=1", "", ""), &cur)
		groupCursor := cur.Meta.AfterCursor
		v2Decode(t, s.do(owner, "GET", "/api/v2/users?role=agent&page[size]=1", "", ""), &cur)
		agentCursor := cur.Meta.AfterCursor
		raw, err := base64.RawURLEncoding.DecodeString(userCursor)
		if err != nil || userCursor == "" || groupCursor == "" || agentCursor == "" {
			t.Fatalf("cursors %q %q %q: %v", userCursor, groupCursor, agentCursor, err)
		}
		flipped := bytes.Clone(raw)
		flipped[len(flipped)-20] ^= 1 // in the id
		random := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef0"))
		q := url.QueryEscape
		for _, tc := range []struct{ name, path string }{
			{"per_page=100000", "/api/v2/users?per_page=100000"},
			{"per_page=0", "/api/v2/users?per_page=0"},
			{"page=-1", "/api/v2/users?page=-1"},
			{"page=abc", "/api/v2/users?page=abc"},
			{"page=1e3", "/api/v2/users?page=1e3"},
			{"page overflows int", "/api/v2/users?page=99999999999999999999"},
			{"page x per_page > 10000", "/api/v2/users?page=101&per_page=100"},
			{"page x per_page > 10000 by default size", "/api/v2/users?page=101"},
			{"page x per_page > 10000 huge page", "/api/v2/users?page=4611686018427387904&per_page=100"},
			{"page[size]=101", "/api/v2/users?page[size]=101"},
			{"page[size]=-1", "/api/v2/users?page[size]=-1"},
			{"random base64 cursor", "/api/v2/users?page[size]=10&page[after]=" + random},
			{"not base64", "/api/v2/users?page[size]=10&page[after]=%25%25%25"},
			{"one byte flipped", "/api/v2/users?page[size]=10&page[after]=" + base64.RawURLEncoding.EncodeToString(flipped)},
			{"after cursor used as before", "/api/v2/users?page[size]=10&page[before]=" + q(userCursor)},
			{"after and before", "/api/v2/users?page[size]=10&page[after]=" + q(userCursor) + "&page[before]=" + q(userCursor)},
			{"groups cursor on users", "/api/v2/users?page[size]=10&page[after]=" + q(groupCursor)},
			{"users cursor on groups", "/api/v2/groups?page[size]=10&page[after]=" + q(userCursor)},
			{"role=agent cursor with role=admin", "/api/v2/users?role=admin&page[size]=1&page[after]=" + q(agentCursor)},
			{"role=agent cursor without filter", "/api/v2/users?page[size]=1&page[after]=" + q(agentCursor)},
			{"unknown role filter", "/api/v2/users?role=superuser"},
			{"user id overflows int64", "/api/v2/users/99999999999999999999"},
			{"user id overflows int64 .json", "/api/v2/users/99999999999999999999.json"},
			{"user id 0", "/api/v2/users/0"},
			{"group id overflows", "/api/v2/groups/99999999999999999999"},
			{"membership id overflows", fmt.Sprintf("/api/v2/users/%d/group_memberships/99999999999999999999", agent)},
			{"show_many bad ids", "/api/v2/users/show_many?ids=1,abc"},
			{"show_many negative id", "/api/v2/users/show_many?ids=-1"},
			{"show_many overflowing id", "/api/v2/users/show_many?ids=99999999999999999999"},
			{"show_many no ids", "/api/v2/users/show_many"},
			{"show_many 101 ids", "/api/v2/users/show_many?ids=" + strings.Repeat("1,", 100) + "1"},
			{"count unknown role", "/api/v2/users/count?role=7"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do(owner, "GET", tc.path, "", "")
				if r.status < 400 || r.status >= 500 || !isV2Error(r.body) {
					t.Errorf("%s: %d %s", tc.path, r.status, r.body)
				}
			})
		}
		// The deepest offset page allowed: page x per_page = 10,000.
		v2Want(t, s.do(owner, "GET", "/api/v2/users?page=100&per_page=100", "", ""), http.StatusOK)
		// Writes through overflowing ids write nothing.
		before := s.v2Snapshot()
		for _, method := range []string{"PUT", "DELETE"} {
			r := s.do(owner, method, "/api/v2/users/99999999999999999999", "application/json", `{"user":{"name":"x"}}`)
			if r.status != http.StatusBadRequest || !isV2Error(r.body) {
				t.Errorf("%s overflowing id: %d %s", method, r.status, r.body)
			}
		}
		if s.v2Snapshot() != before {
			t.Error("a request with an overflowing id wrote")
		}
	})
}

// v2RawDo is a request for goroutines other than the test's: it reports
// failures instead of calling t.Fatal.
func v2RawDo(s *server, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(owner.user, owner.pass)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestV2CursorWalkUnderChange walks the user list by cursor while another
// goroutine creates users and deletes users outside the stable set: every
// stable user is seen exactly once and nothing repeats.
func TestV2CursorWalkUnderChange(t *testing.T) {
	s := newServer(t, serverOptions{})
	if err := s.db.SeedUsers(context.Background(), 300, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	stable := map[int64]bool{1: true}
	var doomed []int64
	for id := int64(2); id <= 301; id++ {
		if id%6 == 0 {
			doomed = append(doomed, id)
		} else {
			stable[id] = true
		}
	}

	pages := make(chan struct{}) // the walker signals each page, so changes interleave with it
	var wg sync.WaitGroup
	var mutErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		created := 0
		mutate := func() error {
			// Per page: two creates and two deletes, one of them of a user
			// created during the walk.
			for range 2 {
				code, body, err := v2RawDo(s, "POST", "/api/v2/users", fmt.Sprintf(`{"user":{"name":"New %d"}}`, created))
				if err != nil || code != http.StatusCreated {
					return fmt.Errorf("create: %d %s %v", code, body, err)
				}
				created++
				if created%2 == 0 {
					var b struct{ User struct{ ID int64 } }
					json.Unmarshal(body, &b)
					if code, body, err := v2RawDo(s, "DELETE", fmt.Sprintf("/api/v2/users/%d", b.User.ID), ""); err != nil || code != http.StatusOK {
						return fmt.Errorf("delete new: %d %s %v", code, body, err)
					}
				}
			}
			if len(doomed) > 0 {
				id := doomed[len(doomed)/2] // from the middle, ahead of and behind the walker
				doomed = slices.Delete(doomed, len(doomed)/2, len(doomed)/2+1)
				if code, body, err := v2RawDo(s, "DELETE", fmt.Sprintf("/api/v2/users/%d", id), ""); err != nil || code != http.StatusOK {
					return fmt.Errorf("delete %d: %d %s %v", id, code, body, err)
				}
			}
			return nil
		}
		for range pages { // after an error, keep draining so the walker never blocks
			if mutErr == nil {
				mutErr = mutate()
			}
		}
	}()

	stop := sync.OnceFunc(func() { close(pages); wg.Wait() })
	defer stop() // also when the walk fails
	seen := map[int64]int{}
	var order []int64
	path := "/api/v2/users?page[size]=25"
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatal("the walk never ends")
		}
		r := s.do(owner, "GET", path, "", "")
		v2Want(t, r, http.StatusOK)
		var page struct {
			Users []struct{ ID int64 }
			Meta  struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			}
			Links struct{ Next *string }
		}
		v2Decode(t, r, &page)
		for _, u := range page.Users {
			seen[u.ID]++
			order = append(order, u.ID)
		}
		if !page.Meta.HasMore {
			break
		}
		if page.Links.Next == nil || !strings.Contains(*page.Links.Next, "page%5Bsize%5D=25") {
			t.Fatalf("links.next %v", page.Links.Next)
		}
		pages <- struct{}{}
		path = "/api/v2/users?page[size]=25&page[after]=" + url.QueryEscape(page.Meta.AfterCursor)
	}
	stop()
	if mutErr != nil {
		t.Fatal(mutErr)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("user %d seen %d times", id, n)
		}
	}
	for id := range stable {
		if seen[id] != 1 {
			t.Errorf("stable user %d seen %d times", id, seen[id])
		}
	}
	if !slices.IsSorted(order) {
		t.Error("the walk is not in id order")
	}
}
