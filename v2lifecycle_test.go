package deskgate_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

// Merge, deleted users and permanent deletion, ticket skips and the agent
// display on v2. go-zendesk has none of these endpoints: plain HTTP.

// v2Agent makes an agent with a password through the service and returns
// its id and credentials.
func v2Agent(t *testing.T, s *server, name, email string) (int64, creds) {
	t.Helper()
	password, role := email+"-secret", domain.Agent
	u, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name, Email: &email, Password: &password, Role: &role})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID, creds{email, password}
}

// v2LifecycleScenario runs one request per lifecycle response shape and per
// refusal; its goldens live in testdata/v2/lifecycle.
func v2LifecycleScenario(t *testing.T) []v2Step {
	t.Helper()
	s := newServer(t, serverOptions{})
	var steps []v2Step
	add := func(name, view string, c creds, method, path, body string) response {
		t.Helper()
		ct := ""
		if body != "" {
			ct = "application/json"
		}
		r := s.do(c, method, path, ct, body)
		steps = append(steps, v2Step{"lifecycle/" + name, view, r})
		return r
	}
	admin := func(name, method, path, body string) response {
		t.Helper()
		return add(name, "admin", owner, method, path, body)
	}
	create := func(body string) int64 {
		t.Helper()
		return v2ID(t, s.do(owner, "POST", "/api/v2/users", "application/json", body), "user")
	}
	org := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", "application/json", `{"organization":{"name":"Acme"}}`), "organization")
	sam := create(fmt.Sprintf(`{"user":{"name":"Sam Source","email":"sam@example.com","phone":"+4512345678","organization_id":%d}}`, org))
	tia := create(`{"user":{"name":"Tia Target","email":"tia@example.com"}}`)
	agentID, agent := v2Agent(t, s, "Al Agent", "al@example.com")
	ext := create(`{"user":{"name":"Xavier External","external_id":"crm-7"}}`)
	merge := func(source int64) string { return fmt.Sprintf("/api/v2/users/%d/merge", source) }

	s.clock.Advance(time.Minute)
	admin("merge", "PUT", merge(sam), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("merged_source", "GET", fmt.Sprintf("/api/v2/users/%d", sam), "")
	admin("error_422_merge_deleted_source", "PUT", merge(sam), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("error_422_merge_agent", "PUT", merge(agentID), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("error_422_merge_into_agent", "PUT", merge(tia), fmt.Sprintf(`{"user":{"id":%d}}`, agentID))
	admin("error_422_merge_external_id", "PUT", merge(ext), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("error_422_merge_into_self", "PUT", merge(tia), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("error_422_merge_unknown_target", "PUT", merge(tia), `{"user":{"id":999}}`)
	admin("error_422_merge_without_target", "PUT", merge(tia), `{"user":{}}`)
	admin("error_403_merge_owner", "PUT", merge(1), fmt.Sprintf(`{"user":{"id":%d}}`, tia))
	admin("error_404_merge_unknown_source", "PUT", merge(999), fmt.Sprintf(`{"user":{"id":%d}}`, tia))

	v2EndUser(t, s, "Mia Me", "mia@example.com", "mia-secret-1")
	v2EndUser(t, s, "Mia Old", "mia.old@example.com", "mia-old-secret")
	mia := creds{"mia@example.com", "mia-secret-1"}
	add("merge_me", "end-user", mia, "PUT", "/api/v2/users/me/merge", `{"user":{"email":"mia.old@example.com","password":"mia-old-secret"}}`)
	add("error_422_merge_me_wrong_password", "", mia, "PUT", "/api/v2/users/me/merge", `{"user":{"email":"tia@example.com","password":"guess"}}`)

	gone := create(`{"user":{"name":"Gus Gone","email":"gus@example.com","phone":"+4587654321","notes":"Asked to be forgotten"}}`)
	s.clock.Advance(time.Minute)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", gone), "", ""), http.StatusOK)
	admin("deleted_users_list", "GET", "/api/v2/deleted_users", "")
	admin("deleted_users_list_cursor", "GET", "/api/v2/deleted_users?page[size]=1", "")
	admin("deleted_user_show", "GET", fmt.Sprintf("/api/v2/deleted_users/%d", gone), "")
	admin("deleted_users_count", "GET", "/api/v2/deleted_users/count", "")
	add("error_403_agent_erases", "", agent, "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", gone), "")
	admin("error_404_erase_active_user", "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", tia), "")
	admin("error_404_deleted_user_active", "GET", fmt.Sprintf("/api/v2/deleted_users/%d", tia), "")
	s.clock.Advance(time.Minute)
	admin("erase", "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", gone), "")
	admin("compliance_deletion_statuses_erased", "GET", fmt.Sprintf("/api/v2/users/%d/compliance_deletion_statuses", gone), "")
	admin("compliance_deletion_statuses_support", "GET", fmt.Sprintf("/api/v2/users/%d/compliance_deletion_statuses?application=support&page[size]=1", gone), "")
	admin("deleted_users_list_erased", "GET", "/api/v2/deleted_users?per_page=1&page=3", "")
	admin("error_404_deleted_user_erased", "GET", fmt.Sprintf("/api/v2/deleted_users/%d", gone), "")
	admin("error_404_user_erased", "GET", fmt.Sprintf("/api/v2/users/%d", gone), "")

	add("skip_create", "", agent, "POST", "/api/v2/skips", `{"skip":{"ticket_id":123,"reason":"I have no idea."}}`)
	s.clock.Advance(time.Minute)
	add("skip_create_second", "", agent, "POST", "/api/v2/skips", `{"skip":{"ticket_id":456,"reason":"Not my area"}}`)
	skips := fmt.Sprintf("/api/v2/users/%d/skips", agentID)
	add("skips_list", "", agent, "GET", skips, "")
	admin("skips_list_desc_cursor", "GET", skips+"?sort_order=desc&page[size]=1", "")
	admin("skips_list_ticket", "GET", skips+"?ticket_id=456", "")
	add("error_403_skips_of_another_agent", "", agent, "GET", "/api/v2/users/1/skips", "")
	add("error_422_skip_without_ticket", "", agent, "POST", "/api/v2/skips", `{"skip":{"reason":"?"}}`)
	add("error_400_skips_sort_order", "", agent, "GET", skips+"?sort_order=sideways", "")

	admin("error_404_display_without_stream", "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/%d/display", agentID, tia), "")
	admin("error_404_display_end_user_as_agent", "POST", fmt.Sprintf("/api/v2/channels/voice/agents/%d/users/%d/display", tia, tia), "")
	return steps
}

func TestV2LifecycleGoldens(t *testing.T) {
	for _, st := range v2LifecycleScenario(t) {
		golden(t, "v2/"+st.name+".golden", v2dump(st.r))
	}
}

// TestV2MergeMoves checks what a merge moves: identities (the target keeps
// its primary email, the source's addresses sign in to the target), the
// organization memberships (the target keeps its default, a shared one is
// not doubled), and the source ends inactive with no way in.
func TestV2MergeMoves(t *testing.T) {
	s := newServer(t, serverOptions{})
	orgA := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", crossJSONType, `{"organization":{"name":"A"}}`), "organization")
	orgB := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", crossJSONType, `{"organization":{"name":"B"}}`), "organization")
	tia := v2EndUser(t, s, "Tia", "tia@example.com", "tia-secret-1")
	sam := v2EndUser(t, s, "Sam", "sam@example.com", "sam-secret-1")
	joins := func(u, org int64) {
		t.Helper()
		v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/organization_memberships", u), crossJSONType,
			fmt.Sprintf(`{"organization_membership":{"organization_id":%d}}`, org)), http.StatusCreated)
	}
	joins(tia.ID, orgB)
	joins(sam.ID, orgA) // sam's default
	joins(sam.ID, orgB)
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", sam.ID), crossJSONType, `{"user":{"email":"sam.second@example.com"}}`), http.StatusOK)
	samBrowser := s.signIn("sam@example.com", "sam-secret-1")

	_, agent := v2Agent(t, s, "Al", "al@example.com")
	merged := readV2[struct{ User v2User }](t, s.do(agent, "PUT", fmt.Sprintf("/api/v2/users/%d/merge", sam.ID), crossJSONType,
		fmt.Sprintf(`{"user":{"id":%d}}`, tia.ID))).User
	if merged.ID != tia.ID || *merged.Email != "tia@example.com" {
		t.Errorf("merge answered %+v, want the target with its own email", merged)
	}
	for _, email := range []string{"tia@example.com", "sam@example.com", "sam.second@example.com"} {
		me := readV2[struct{ User v2User }](t, s.do(creds{email, "tia-secret-1"}, "GET", "/api/v2/users/me", "", "")).User
		if me.ID != tia.ID {
			t.Errorf("%s with the target's password signs in as %d, want %d", email, me.ID, tia.ID)
		}
	}
	if r := s.do(creds{"sam@example.com", "sam-secret-1"}, "GET", "/api/v2/users/me", "", ""); readV2[struct{ User v2User }](t, r).User.Name != "Anonymous user" {
		t.Errorf("the source's own password still works: %s", r.body)
	}
	if r := s.sessionDo(samBrowser, "", "GET", "/api/v2/users/me", ""); readV2[struct{ User v2User }](t, r).User.ID == sam.ID {
		t.Errorf("the source's browser session still works: %s", r.body)
	}
	type memberships struct {
		OrganizationMemberships []struct {
			OrganizationID int64 `json:"organization_id"`
			Default        *bool `json:"default"`
		} `json:"organization_memberships"`
	}
	got := readV2[memberships](t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/organization_memberships", tia.ID), "", ""))
	var orgs []string
	for _, m := range got.OrganizationMemberships {
		orgs = append(orgs, fmt.Sprintf("%d default=%t", m.OrganizationID, m.Default != nil))
	}
	if want := []string{fmt.Sprintf("%d default=true", orgB), fmt.Sprintf("%d default=false", orgA)}; !cmp.Equal(orgs, want) {
		t.Errorf("target's organizations %v, want %v", orgs, want)
	}
	left := readV2[memberships](t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/organization_memberships", sam.ID), "", ""))
	source := readV2[struct{ User v2User }](t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d", sam.ID), "", "")).User
	if len(left.OrganizationMemberships) != 0 || source.Active || source.Email != nil {
		t.Errorf("source after the merge: %+v, memberships %+v", source, left)
	}

	// A target without an email takes the source's as its primary.
	bare := v2ID(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"No Mail"}}`), "user")
	donor := v2ID(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Donor","email":"donor@example.com"}}`), "user")
	u := readV2[struct{ User v2User }](t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d/merge", donor), crossJSONType, fmt.Sprintf(`{"user":{"id":%d}}`, bare))).User
	if u.Email == nil || *u.Email != "donor@example.com" {
		t.Errorf("a target without an email shows %v after the merge", u.Email)
	}

	ec := creds{"tia@example.com", "tia-secret-1"}
	if r := s.do(ec, "PUT", fmt.Sprintf("/api/v2/users/%d/merge", donor), crossJSONType, fmt.Sprintf(`{"user":{"id":%d}}`, tia.ID)); r.status != http.StatusForbidden {
		t.Errorf("an end user merging by id: %d %s", r.status, r.body)
	}
}

// TestV2PermanentDeletion: an erased user is gone everywhere but the
// deleted-users list, its email is free again, its credentials are dead,
// and the compliance steps are recorded.
func TestV2PermanentDeletion(t *testing.T) {
	s := newServer(t, serverOptions{})
	org := v2ID(t, s.do(owner, "POST", "/api/v2/organizations", crossJSONType, `{"organization":{"name":"Acme"}}`), "organization")
	name, email, password := "Gus", "gus@example.com", "gus-secret-1"
	gus, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name, Email: &email, Password: &password}) // unverified: welcomed by mail
	if err != nil {
		t.Fatal(err)
	}
	gusBrowser := s.signIn("gus@example.com", "gus-secret-1")
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", gus.ID), crossJSONType,
		fmt.Sprintf(`{"user":{"phone":"+4511111111","notes":"Private","organization_id":%d}}`, org)), http.StatusOK)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", gus.ID), "", ""), http.StatusOK)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", gus.ID), "", ""), http.StatusOK)

	for _, path := range []string{
		fmt.Sprintf("/api/v2/users/%d", gus.ID),
		fmt.Sprintf("/api/v2/deleted_users/%d", gus.ID),
		fmt.Sprintf("/api/v2/users/%d/organization_memberships", gus.ID),
	} {
		if r := s.do(owner, "GET", path, "", ""); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	for _, req := range [][3]string{
		{"PUT", fmt.Sprintf("/api/v2/users/%d", gus.ID), `{"user":{"name":"Back"}}`},
		{"DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", gus.ID), ""},
		{"PUT", fmt.Sprintf("/api/v2/users/%d/merge", gus.ID), `{"user":{"id":1}}`},
	} {
		if r := s.do(owner, req[0], req[1], crossJSONType, req[2]); r.status != http.StatusNotFound {
			t.Errorf("%s %s: %d %s", req[0], req[1], r.status, r.body)
		}
	}
	many := readV2[struct{ Users []v2User }](t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/show_many?ids=%d,1", gus.ID), "", ""))
	if len(many.Users) != 1 || many.Users[0].ID != 1 {
		t.Errorf("show_many lists the erased user: %+v", many.Users)
	}
	if r := s.do(creds{"gus@example.com", "gus-secret-1"}, "GET", "/api/v2/users", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("the erased user's password: %d", r.status)
	}
	if r := s.sessionDo(gusBrowser, "", "GET", "/api/v2/users/me", ""); readV2[struct{ User v2User }](t, r).User.ID == gus.ID {
		t.Errorf("the erased user's browser session still works: %s", r.body)
	}
	mail := readV2[struct{ Count int }](t, s.do(owner, "GET", "/api/v2/deskgate/outbox?recipient=gus@example.com", "", ""))
	if mail.Count != 0 {
		t.Errorf("%d mails to the erased user left in the outbox", mail.Count)
	}
	v2Want(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"New Gus","email":"gus@example.com"}}`), http.StatusCreated)

	type deletedUser struct {
		ID             int64   `json:"id"`
		Name           string  `json:"name"`
		Email          *string `json:"email"`
		Phone          *string `json:"phone"`
		OrganizationID *int64  `json:"organization_id"`
	}
	list := readV2[struct {
		DeletedUsers []deletedUser `json:"deleted_users"`
	}](t, s.do(owner, "GET", "/api/v2/deleted_users", "", ""))
	if want := []deletedUser{{ID: gus.ID, Name: "Permanently Deleted User"}}; !cmp.Equal(list.DeletedUsers, want) {
		t.Errorf("deleted users %+v, want %+v", list.DeletedUsers, want)
	}
	steps := readV2[struct {
		Statuses []struct {
			Action     string `json:"action"`
			ExecuterID *int64 `json:"executer_id"`
		} `json:"compliance_deletion_statuses"`
	}](t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/compliance_deletion_statuses", gus.ID), "", ""))
	var actions []string
	for _, st := range steps.Statuses {
		actions = append(actions, st.Action)
	}
	if want := []string{"request_deletion", "started", "complete"}; !cmp.Equal(actions, want) || *steps.Statuses[0].ExecuterID != 1 {
		t.Errorf("compliance steps %v (executer %v), want %v by the owner", actions, steps.Statuses[0].ExecuterID, want)
	}
}

// TestCrossProtocolMergedAndErased: a user merged away in v2 is inactive in
// legacy XML; a permanently deleted one is a legacy 404.
func TestCrossProtocolMergedAndErased(t *testing.T) {
	s := newServer(t, serverOptions{})
	tia := v2EndUser(t, s, "Tia", "tia@example.com", "tia-secret-1")
	sam := v2EndUser(t, s, "Sam", "sam@example.com", "sam-secret-1")
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d/merge", sam.ID), crossJSONType, fmt.Sprintf(`{"user":{"id":%d}}`, tia.ID)), http.StatusOK)
	if lu := readLegacy(t, s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", sam.ID), "", "")); lu.Active || lu.Email != "" {
		t.Errorf("legacy view of a merged-away user: %+v", lu)
	}
	if lu := readLegacy(t, s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", tia.ID), "", "")); !lu.Active || lu.Email != "tia@example.com" {
		t.Errorf("legacy view of the merge target: %+v", lu)
	}
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", sam.ID), "", ""), http.StatusOK)
	r := s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", sam.ID), "", "")
	golden(t, "cross/erased_user_legacy_404.golden", r.dump())
	if r := s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", sam.ID), "application/xml", "<user><name>Back</name></user>"); r.status != http.StatusNotFound {
		t.Errorf("legacy update of an erased user: %d %s", r.status, r.body)
	}
}

// TestPermanentDeletionLimit: past the erasure limit (here 2 per 10
// minutes) a permanent deletion is a 429 with Retry-After that scrubs
// nothing; a refused deletion (a user not soft-deleted) spends nothing, and
// the bucket refills over the window.
func TestPermanentDeletionLimit(t *testing.T) {
	s := newServer(t, serverOptions{erasureLimit: 2})
	var gone []int64
	for i := range 4 {
		u := v2EndUser(t, s, fmt.Sprintf("Gone %d", i), fmt.Sprintf("gone%d@example.com", i), "gone-secret-1")
		v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", u.ID), "", ""), http.StatusOK)
		gone = append(gone, u.ID)
	}
	erase := func(id int64) response {
		return s.do(owner, "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", id), "", "")
	}
	v2Want(t, erase(1), http.StatusNotFound) // the owner is no deleted user: not counted
	v2Want(t, erase(gone[0]), http.StatusOK)
	v2Want(t, erase(gone[1]), http.StatusOK)
	r := erase(gone[2])
	golden(t, "v2/lifecycle/error_429_permanent_deletion_limit.golden", r.dump())
	if r.header.Get("Retry-After") != "300" {
		t.Errorf("Retry-After %q, want 300 (one of 2 tokens refills in 5 minutes)", r.header.Get("Retry-After"))
	}
	v2Want(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/deleted_users/%d", gone[2]), "", ""), http.StatusOK) // not scrubbed
	s.clock.Advance(5 * time.Minute)
	v2Want(t, erase(gone[2]), http.StatusOK)
	v2Want(t, erase(gone[3]), http.StatusTooManyRequests)
}

// TestPermanentDeletionScrubsJobStatuses: the job statuses that name a user
// permanently deleted no longer hold its email, in the answer or in their
// rows; the other items' results keep theirs.
func TestPermanentDeletionScrubsJobStatuses(t *testing.T) {
	s := newServer(t, serverOptions{})
	done := readJob(t, s.runJob("POST", "/api/v2/users/create_or_update_many",
		`{"users":[{"name":"Gone Person","email":"gone.person@example.com"},{"name":"Kept Person","email":"kept.person@example.com"}]}`))
	gone := int64(done.Results[0]["id"].(float64))
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", gone), "", ""), http.StatusOK)
	v2Want(t, s.do(owner, "DELETE", fmt.Sprintf("/api/v2/deleted_users/%d", gone), "", ""), http.StatusOK)
	after := readJob(t, s.do(owner, "GET", "/api/v2/job_statuses/"+done.ID, "", ""))
	if got := []any{after.Results[0]["email"], after.Results[1]["email"]}; !cmp.Equal(got, []any{nil, "kept.person@example.com"}) {
		t.Errorf("emails in the results after the erasure: %v", got)
	}
	db, err := sql.Open("sqlite3", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM job_items WHERE item LIKE '%gone.person%' OR result LIKE '%gone.person%'`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d job items still hold the erased user's email", left)
	}
}
