package deskgate_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// go-zendesk's membership methods use the account-wide endpoints; the rows
// they see are the same ones the legacy <groups> and the per-user paths show.
func TestV2AccountWideMembershipsThroughClient(t *testing.T) {
	s := newServer(t, serverOptions{})
	ctx := v2AdminCtx()
	c := v2Client(t, s, ownerEmail, ownerToken)

	r := s.do(owner, "POST", "/users.xml", "", `<user><name>Al Agent</name><roles>4</roles></user>`)
	agentID := v2ID(t, s.do(owner, "GET", "/api/v2/users/2.json", "", ""), "user")
	if r.status != 201 || agentID != 2 {
		t.Fatalf("legacy create: %d, v2 id %d", r.status, agentID)
	}
	support, err := c.GetGroup(ctx, 1) // the account's default group
	if err != nil || support.Name != "Support" || !support.Default {
		t.Fatalf("default group %+v, %v", support, err)
	}
	acme, err := c.CreateOrganization(ctx, zendesk.Organization{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}

	r = s.do(owner, "POST", "/api/v2/group_memberships.json", "application/json",
		`{"group_membership": {"user_id": 2, "group_id": 1}}`)
	v2Want(t, r, 201)
	gms, page, err := c.GetGroupMemberships(ctx, &zendesk.GroupMembershipListOptions{UserID: agentID})
	if err != nil {
		t.Fatal(err)
	}
	if len(gms) != 1 || gms[0].GroupID != support.ID || !gms[0].Default || page.Count != 1 || page.HasNext() {
		t.Fatalf("group memberships %+v, page %+v", gms, page)
	}
	if legacy := s.do(owner, "GET", "/users/2.xml", "", ""); !containsAll(string(legacy.body), "<id>1</id>", "<name>Support</name>") {
		t.Errorf("legacy view lacks the membership:\n%s", legacy.body)
	}

	om, err := c.CreateOrganizationMembership(ctx, zendesk.OrganizationMembershipOptions{UserID: agentID, OrganizationID: acme.ID})
	if err != nil {
		t.Fatal(err)
	}
	if om.UserID != agentID || om.OrganizationID != acme.ID || !om.Default || om.Name != "Acme" {
		t.Fatalf("organization membership %+v", om)
	}
	oms, _, err := c.GetOrganizationMemberships(ctx, &zendesk.OrganizationMembershipListOptions{OrganizationID: acme.ID})
	if err != nil || len(oms) != 1 || oms[0].ID != om.ID {
		t.Fatalf("organization memberships %+v, %v", oms, err)
	}
	u, err := c.GetUser(ctx, agentID)
	if err != nil || u.OrganizationID != acme.ID || u.DefaultGroupID != support.ID {
		t.Fatalf("user %+v, %v", u, err)
	}
	if _, err := c.CreateOrganizationMembership(ctx, zendesk.OrganizationMembershipOptions{UserID: agentID, OrganizationID: acme.ID}); v2Status(err) != 422 {
		t.Errorf("duplicate membership: %v, want 422", err)
	}
	r = s.do(owner, "POST", "/api/v2/organization_memberships.json", "application/json", `{"organization_membership": {"organization_id": 1}}`)
	if r.status != 422 || !strings.Contains(string(r.body), `"user_id":[{"description":"User: must name the user to add"`) {
		t.Errorf("create without user_id: %d %s", r.status, r.body)
	}
	if r := s.do(owner, "GET", "/api/v2/group_memberships?user_id=abc", "", ""); r.status != 400 {
		t.Errorf("user_id=abc: %d, want 400", r.status)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestV2MembershipsOfStaff: agents change the memberships of end users and
// their own, as they edit users; an admin's, the owner's included, and
// another agent's are for admins. A refusal writes nothing.
func TestV2MembershipsOfStaff(t *testing.T) {
	s := newServer(t, serverOptions{})
	gids := s.addGroups("Tier 2", "Tier 3")
	agnes := creds{"agnes@example.com", "agent-pass-1"}
	agnesID := s.addUser("Agnes Agent", agnes.user, domain.Agent, agnes.pass)
	peterID := s.addUser("Peter Peer", "peter@example.com", domain.Agent, "")
	emmaID := s.addUser("Emma End", "emma@example.com", domain.EndUser, "")
	org := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", "application/json", `{"organization":{"name":"Acme"}}`), "organization")
	member := func(userID int64) (groupMembership int64) {
		r := s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/group_memberships", userID), "application/json",
			fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, gids[1]))
		v2Want(t, r, http.StatusCreated)
		return v2ID(t, r, "group_membership")
	}
	inOrg := func(userID int64) string {
		return fmt.Sprintf(`{"organization_membership":{"user_id":%d,"organization_id":%d}}`, userID, org)
	}
	ownerGM, peterGM, agnesGM := member(1), member(peterID), member(agnesID)
	v2Want(t, s.do(owner, "POST", "/api/v2/users/1/organization_memberships", "application/json", inOrg(1)), http.StatusCreated)
	s.do(agnes, "GET", "/api/v2/users/me", "", "") // the first sign-in, recorded before any snapshot

	for _, tc := range []struct{ name, method, path, body string }{
		{"the owner's default group", "PUT", fmt.Sprintf("/api/v2/users/1/group_memberships/%d/make_default", ownerGM), ""},
		{"another agent's default group", "PUT", fmt.Sprintf("/api/v2/users/%d/group_memberships/%d/make_default", peterID, peterGM), ""},
		{"the owner's default organization", "PUT", fmt.Sprintf("/api/v2/users/1/organizations/%d/make_default", org), ""},
		{"the owner out of an organization", "DELETE", fmt.Sprintf("/api/v2/users/1/organizations/%d", org), ""},
		{"another agent into an organization", "POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", peterID), inOrg(peterID)},
	} {
		t.Run(tc.name, func(t *testing.T) { s.refusedUnwritten(t, agnes, tc.method, tc.path, tc.body, "") })
	}
	v2Want(t, s.do(agnes, "PUT", fmt.Sprintf("/api/v2/users/%d/group_memberships/%d/make_default", agnesID, agnesGM), "", ""), http.StatusOK)
	v2Want(t, s.do(agnes, "POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", emmaID), "application/json", inOrg(emmaID)), http.StatusCreated)
	v2Want(t, s.do(agnes, "POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", agnesID), "application/json", inOrg(agnesID)), http.StatusCreated)
}
