package deskgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/storage"
	"github.com/google/go-cmp/cmp"
	"github.com/nukosuke/go-zendesk/zendesk"
)

// Bulk jobs, job statuses and create_or_update on v2.

// jobStatus is the part of a job status the tests branch on.
type jobStatus struct {
	ID       string           `json:"id"`
	Status   string           `json:"status"`
	Total    *int             `json:"total"`
	Progress *int             `json:"progress"`
	Results  []map[string]any `json:"results"`
}

func readJob(t testing.TB, r response) jobStatus {
	t.Helper()
	v2Want(t, r, http.StatusOK)
	var body struct {
		JobStatus jobStatus `json:"job_status"`
	}
	v2Decode(t, r, &body)
	if len(body.JobStatus.ID) != 32 {
		t.Fatalf("job status id %q in %s", body.JobStatus.ID, r.body)
	}
	return body.JobStatus
}

// waitJob polls the job until it has ended and returns its last response.
// The worker runs in the background, so this is the one place tests wait.
func (s *server) waitJob(id string) response {
	s.t.Helper()
	for range 2000 {
		r := s.do(owner, "GET", "/api/v2/job_statuses/"+id, "", "")
		if st := readJob(s.t, r).Status; st == "completed" || st == "failed" {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.t.Fatalf("job %s did not end", id)
	return response{}
}

// runJob sends a bulk request, checks the 200 with a job status, and
// returns the ended job's response.
func (s *server) runJob(method, path, body string) response {
	s.t.Helper()
	return s.waitJob(readJob(s.t, s.do(owner, method, path, "application/json", body)).ID)
}

// v2JobsScenario runs one request per bulk and job-status response shape and
// per error body; its goldens live in testdata/v2/jobs.
func v2JobsScenario(t *testing.T) []v2Step {
	t.Helper()
	s := newServer(t, serverOptions{seats: 3}) // the owner holds one
	var steps []v2Step
	add := func(name string, r response) response {
		steps = append(steps, v2Step{"jobs/" + name, "admin", r})
		return r
	}
	do := func(method, path, body string) response {
		t.Helper()
		return s.do(owner, method, path, "application/json", body)
	}
	do("POST", "/api/v2/users", `{"user":{"name":"Taken","email":"taken@example.com"}}`)

	queued := add("create_many_queued", do("POST", "/api/v2/users/create_many", `{"users":[
		{"name":"Ann Agent","email":"ann@example.com","role":"agent"},
		{"name":"Bob End","email":"bob@example.com","external_id":"ext-bob"},
		{"name":"Dup","email":"TAKEN@example.com"},
		{"name":"Bad Role","role":"boss"},
		{"name":"Cat End","email":"cat@example.com","external_id":"ext-cat"}]}`))
	add("create_many_completed", s.waitJob(readJob(t, queued).ID))

	add("create_or_update_many_completed", s.runJob("POST", "/api/v2/users/create_or_update_many", `{"users":[
		{"name":"Bob Updated","email":"bob@example.com"},
		{"name":"Dan New","email":"dan@example.com"},
		{"name":"Bad","email":"x@y_"}]}`))
	add("update_many_ids_completed", s.runJob("PUT", "/api/v2/users/update_many?ids=3,4,999", `{"user":{"notes":"Bulk note"}}`))
	add("update_many_users_completed", s.runJob("PUT", "/api/v2/users/update_many", `{"users":[
		{"id":3,"alias":"Bobby"},{"external_id":"EXT-CAT","alias":"Kitty"}]}`))
	add("destroy_many_completed", s.runJob("DELETE", "/api/v2/users/destroy_many?ids=4,1", ""))
	add("job_statuses_list", do("GET", "/api/v2/job_statuses?page[size]=2", ""))
	list := readV2[struct {
		JobStatuses []jobStatus `json:"job_statuses"`
	}](t, steps[len(steps)-1].r)
	add("job_statuses_show_many", do("GET", "/api/v2/job_statuses/show_many?ids="+list.JobStatuses[1].ID+",ffffffffffffffffffffffffffffffff,"+list.JobStatuses[0].ID, ""))

	add("create_or_update_created", do("POST", "/api/v2/users/create_or_update", `{"user":{"name":"Eve","email":"eve@example.com"}}`))
	add("create_or_update_updated", do("POST", "/api/v2/users/create_or_update", `{"user":{"name":"Eve Updated","email":"EVE@example.com"}}`))

	add("error_400_too_many_items", do("POST", "/api/v2/users/create_many", `{"users":[`+strings.TrimSuffix(strings.Repeat(`{"name":"x"},`, 101), ",")+`]}`))
	add("error_400_destroy_many_without_ids", do("DELETE", "/api/v2/users/destroy_many", ""))
	add("error_404_unknown_job", do("GET", "/api/v2/job_statuses/0123456789abcdef0123456789abcdef", ""))

	off := newServer(t, serverOptions{noBulkImports: true})
	steps = append(steps, v2Step{"jobs/error_403_bulk_imports_off", "", off.do(owner, "POST", "/api/v2/users/create_many", "application/json", `{"users":[{"name":"x"}]}`)})

	idle := newServer(t, serverOptions{noJobWorker: true})
	for range 30 {
		v2Want(t, idle.do(owner, "DELETE", "/api/v2/users/destroy_many?ids=2", "", ""), http.StatusOK)
	}
	steps = append(steps, v2Step{"jobs/error_429_job_limit", "", idle.do(owner, "DELETE", "/api/v2/users/destroy_many?ids=2", "", "")})
	return steps
}

func TestV2JobGoldens(t *testing.T) {
	for _, st := range v2JobsScenario(t) {
		golden(t, "v2/"+st.name+".golden", v2dump(st.r))
	}
}

// TestV2JobResults checks the per-item results clients branch on, in
// request order: one bad item fails alone.
func TestV2JobResults(t *testing.T) {
	s := newServer(t, serverOptions{seats: 2}) // the owner holds one
	s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Taken","email":"taken@example.com"}}`)
	for _, tc := range []struct {
		name, method, path, body string
		want                     []map[string]any
	}{
		{"create_many", "POST", "/api/v2/users/create_many", `{"users":[
			{"name":"A","email":"taken@example.com"},
			{"name":"B","role":"boss"},
			{"name":"C","role":"agent"},
			{"name":"D","role":"agent"},
			{"name":"E","email":"e@example.com"}]}`, []map[string]any{
			{"index": 0.0, "error": "DuplicateValue", "details": "Email: taken@example.com is already being used by another user"},
			{"index": 1.0, "error": "InvalidValue", "details": `Role: must be "end-user", "agent" or "admin"`},
			{"index": 2.0, "id": 3.0},
			{"index": 3.0, "error": "MaxAgentExceeded", "details": "Role: cannot be agent because the account has reached its maximum number of agents"},
			{"index": 4.0, "id": 4.0},
		}},
		{"update_many missing ids", "PUT", "/api/v2/users/update_many", `{"users":[{"id":999,"name":"X"},{"name":"No Target"},{"external_id":"nobody","name":"Y"},{"id":4,"name":"E2"}]}`, []map[string]any{
			{"id": 999.0, "action": "update", "status": "Failed", "success": false, "error": "RecordNotFound", "details": "Not found"},
			{"id": nil, "action": "update", "status": "Failed", "success": false, "error": "InvalidValue", "details": "Id: or external_id is needed to find the user"},
			{"id": nil, "external_id": "nobody", "action": "update", "status": "Failed", "success": false, "error": "RecordNotFound", "details": "Not found"},
			{"id": 4.0, "action": "update", "status": "Updated", "success": true},
		}},
		{"destroy_many owner", "DELETE", "/api/v2/users/destroy_many?ids=1,4", "", []map[string]any{
			{"id": 1.0, "action": "delete", "status": "Failed", "success": false, "error": "PermissionDenied", "details": "The account owner cannot be deleted"},
			{"id": 4.0, "action": "delete", "status": "Deleted", "success": true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := readJob(t, s.runJob(tc.method, tc.path, tc.body))
			if j.Status != "completed" || *j.Total != len(tc.want) || *j.Progress != len(tc.want) {
				t.Errorf("status %s, %d of %d", j.Status, *j.Progress, *j.Total)
			}
			if diff := cmp.Diff(tc.want, j.Results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

// TestV2JobPermissions: each item obeys the job creator's permissions.
func TestV2JobPermissions(t *testing.T) {
	s := newServer(t, serverOptions{})
	name, email, password, role := "Al", "al@example.com", "al-secret-1", domain.Agent
	if _, err := s.svc.CreateUser(v2AdminCtx(), domain.UserChanges{Name: &name, Email: &email, Password: &password, Role: &role}); err != nil {
		t.Fatal(err)
	}
	al := creds{email, password}
	r := s.do(al, "POST", "/api/v2/users/create_many", "application/json", `{"users":[{"name":"End"},{"name":"Agent","role":"agent"}]}`)
	j := readJob(t, s.waitJob(readJob(t, r).ID))
	want := []map[string]any{
		{"index": 0.0, "id": 3.0},
		{"index": 1.0, "error": "PermissionDenied", "details": "You do not have access to this page. Please contact the account owner of this help desk for further help."},
	}
	if diff := cmp.Diff(want, j.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	r = s.do(al, "DELETE", "/api/v2/users/destroy_many?ids=3", "", "")
	var e struct{ Error string }
	if r.status != http.StatusForbidden || json.Unmarshal(r.body, &e) != nil || e.Error != "Forbidden" {
		t.Errorf("agent destroy_many: %d %s", r.status, r.body)
	}
	v2Want(t, s.do(owner, "GET", "/api/v2/users/3", "", ""), http.StatusOK) // still there
}

// TestV2JobStatusesExpire: a status is gone a day after its creation, by the
// service clock.
func TestV2JobStatusesExpire(t *testing.T) {
	s := newServer(t, serverOptions{})
	j := readJob(t, s.runJob("POST", "/api/v2/users/create_many", `{"users":[{"name":"A"}]}`))
	listed := func() []string {
		t.Helper()
		var list struct {
			JobStatuses []jobStatus `json:"job_statuses"`
		}
		v2Decode(t, s.do(owner, "GET", "/api/v2/job_statuses", "", ""), &list)
		var ids []string
		for _, l := range list.JobStatuses {
			ids = append(ids, l.ID)
		}
		return ids
	}
	s.clock.Advance(24*time.Hour - time.Second)
	if got := readJob(t, s.do(owner, "GET", "/api/v2/job_statuses/"+j.ID, "", "")); got.ID != j.ID || got.Status != "completed" {
		t.Errorf("a second before expiry: %+v", got)
	}
	if ids := listed(); !slices.Equal(ids, []string{j.ID}) {
		t.Errorf("a second before expiry, jobs listed %v, want %s", ids, j.ID)
	}
	s.clock.Advance(time.Second)
	v2Want(t, s.do(owner, "GET", "/api/v2/job_statuses/"+j.ID, "", ""), http.StatusNotFound)
	if ids := listed(); len(ids) != 0 {
		t.Errorf("expired jobs listed: %v", ids)
	}
}

// TestV2CreateOrUpdateGoZendesk drives create_or_update with go-zendesk:
// created, then matched by email, then by external id (case-insensitive,
// storing the case sent).
func TestV2CreateOrUpdateGoZendesk(t *testing.T) {
	s := newServer(t, serverOptions{})
	c := v2Client(t, s, ownerEmail, ownerToken)
	ctx := context.Background()
	u, err := c.CreateOrUpdateUser(ctx, zendesk.User{Name: "Zed", Email: "zed@example.com", ExternalID: "Z-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateOrUpdateUser(ctx, zendesk.User{Name: "Zed Two", Email: "ZED@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	third, err := c.CreateOrUpdateUser(ctx, zendesk.User{Name: "Zed Three", ExternalID: "z-1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != u.ID || third.ID != u.ID || third.Name != "Zed Three" || third.ExternalID != "z-1" {
		t.Errorf("created %d, then %d %q, then %d %q %q", u.ID, again.ID, again.Name, third.ID, third.Name, third.ExternalID)
	}
	created := s.do(owner, "POST", "/api/v2/users/create_or_update", "application/json", `{"user":{"name":"Yan","email":"yan@example.com"}}`)
	updated := s.do(owner, "POST", "/api/v2/users/create_or_update", "application/json", `{"user":{"name":"Yan 2","email":"yan@example.com"}}`)
	id := v2ID(t, created, "user")
	loc := fmt.Sprintf("%s/api/v2/users/%d.json", testBaseURL, id)
	if created.status != 201 || updated.status != 200 || created.header.Get("Location") != loc || updated.header.Get("Location") != loc || v2ID(t, updated, "user") != id {
		t.Errorf("create_or_update: %d %q then %d %q", created.status, created.header.Get("Location"), updated.status, updated.header.Get("Location"))
	}
}

// TestCrossProtocolJobUsers: users a job creates are legacy users, with the
// groups they join; users a job deletes are inactive in legacy XML. (A v2
// user body names no groups, so the agent joins one by membership.)
func TestCrossProtocolJobUsers(t *testing.T) {
	s := newServer(t, serverOptions{})
	g := v2ID(t, s.do(owner, "POST", "/api/v2/groups", "application/json", `{"group":{"name":"Support"}}`), "group")
	j := readJob(t, s.runJob("POST", "/api/v2/users/create_many",
		`{"users":[{"name":"Ann Agent","email":"ann@example.com","role":"agent"},{"name":"Bob","email":"bob@example.com"}]}`))
	ann, bob := int64(j.Results[0]["id"].(float64)), int64(j.Results[1]["id"].(float64))
	v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/group_memberships", ann), "application/json",
		fmt.Sprintf(`{"group_membership":{"group_id":%d}}`, g)), http.StatusCreated)
	lu := readLegacy(t, s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", ann), "", ""))
	if lu.Name != "Ann Agent" || lu.Email != "ann@example.com" || lu.Roles != 4 || len(lu.Groups) != 1 || lu.Groups[0].ID != g || lu.Groups[0].Name != "Support" {
		t.Errorf("legacy view of a job-created agent: %+v", lu)
	}
	s.runJob("DELETE", fmt.Sprintf("/api/v2/users/destroy_many?ids=%d", bob), "")
	if lb := readLegacy(t, s.do(owner, "GET", fmt.Sprintf("/users/%d.xml", bob), "", "")); lb.Active {
		t.Errorf("legacy shows a bulk-deleted user active: %+v", lb)
	}
}

// TestJobUsersWelcomed: a job writes each new user without reading it back,
// so its result (create_or_update_many's carries the email) and welcome
// mail are made from the user as written; both must say what reading the
// user gives, padded input included, and for a user whose address comes
// from its identities alone.
func TestJobUsersWelcomed(t *testing.T) {
	s := newServer(t, serverOptions{})
	j := readJob(t, s.runJob("POST", "/api/v2/users/create_or_update_many", `{"users":[
		{"name":"  Wendy   Bulk ","email":"  Wendy.Bulk@Example.com "},
		{"name":"Ida Identities","identities":[{"type":"phone_number","value":"+15550100"},{"type":"email","value":"ida@example.com"},{"type":"email","value":"ida.other@example.com"}]},
		{"name":"Sam","email":"sam@example.com","skip_verify_email":true}]}`))
	mails := s.outbox("")
	if len(mails) != 2 {
		t.Fatalf("welcome mails %+v, want Wendy's and Ida's", mails)
	}
	for i, m := range mails {
		var shown struct{ User struct{ Name, Email string } }
		v2Decode(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%v", j.Results[i]["id"]), "", ""), &shown)
		if j.Results[i]["email"] != shown.User.Email {
			t.Errorf("job result %d email %q, the user shows %q", i, j.Results[i]["email"], shown.User.Email)
		}
		if m.To != shown.User.Email || !strings.HasPrefix(m.Text, "Hello "+shown.User.Name+",\n") {
			t.Errorf("welcome mail %+v, want one to %q greeting %q", m, shown.User.Email, shown.User.Name)
		}
	}
}

// TestV2JobOfSuspendedCreator: a job acts with its creator's permissions when
// it runs, so a job queued by an admin suspended before the worker takes it
// up changes nothing.
func TestV2JobOfSuspendedCreator(t *testing.T) {
	s := newServer(t, serverOptions{noJobWorker: true})
	admin := creds{"ada@example.com", "ada-secret-1"}
	ada := s.addUser("Ada Admin", admin.user, domain.Admin, admin.pass)
	bob := s.addUser("Bob End", "bob@example.com", domain.EndUser, "")
	id := readJob(t, s.do(admin, "DELETE", fmt.Sprintf("/api/v2/users/destroy_many?ids=%d", bob), "", "")).ID
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", ada), "application/json", `{"user":{"suspended":true}}`), http.StatusOK)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.svc.RunJobs(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	golden(t, "v2/jobs/suspended_creator.golden", v2dump(s.waitJob(id)))
	if u, err := s.svc.User(legacyOwnerCtx(), bob); err != nil || !u.Active {
		t.Errorf("the suspended admin's job deleted the user: %+v, %v", u, err)
	}
}

// TestV2JobStatusesShowManyRepeated: a job id asked for twice is listed
// once, as show_many of users lists a repeated user once; ids that are no
// job's are skipped.
func TestV2JobStatusesShowManyRepeated(t *testing.T) {
	s := newServer(t, serverOptions{})
	id := readJob(t, s.runJob("DELETE", "/api/v2/users/destroy_many?ids=1", "")).ID
	r := s.do(owner, "GET", "/api/v2/job_statuses/show_many?ids="+id+",0,-1,"+id+","+strings.ToUpper(id), "", "")
	golden(t, "v2/jobs/job_statuses_show_many_repeated.golden", v2dump(r))
}

// TestJobsProgressWhileRequestsAreServed: on the wall clock, with requests
// always being served, the worker rests after every chunk but keeps its
// least share: a job of two chunks still completes.
func TestJobsProgressWhileRequestsAreServed(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "busy.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := domain.NewService(ctx, db, domain.Config{JobDuty: 0.5, Interactive: func() bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword}); err != nil {
		t.Fatal(err)
	}
	items := make([]domain.JobItem, 100)
	for i := range items {
		name, email := fmt.Sprintf("Busy %d", i), fmt.Sprintf("busy%d@example.com", i)
		items[i].Changes = domain.UserChanges{Name: &name, Email: &email}
	}
	admin := v2AdminCtx()
	j, err := svc.EnqueueJob(admin, domain.JobCreateMany, items)
	if err != nil {
		t.Fatal(err)
	}
	worker := make(chan struct{})
	go func() { defer close(worker); svc.RunJobs(ctx) }()
	defer func() { stop(); <-worker }()
	for !j.State.Ended() {
		time.Sleep(10 * time.Millisecond)
		if j, err = svc.Job(admin, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if j.State != domain.JobCompleted || j.Progress != 100 {
		t.Errorf("job %s, progress %d", j.State, j.Progress)
	}
}

// TestJobUsersSearchable: a user a job creates has its email written
// before it (storage.InsertUser); search finds it by its name and by its
// address, exactly as one created alone, and its result is the job's.
func TestJobUsersSearchable(t *testing.T) {
	s := newServer(t, serverOptions{})
	j := readJob(t, s.runJob("POST", "/api/v2/users/create_many",
		`{"users":[{"name":"Quinn Importee","email":"quinn.imported@example.com"},{"name":"Rae Importee","email":"rae@example.com","phone":"+15551234567"}]}`))
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Sol Single","email":"sol.imported@example.com"}}`), http.StatusCreated)
	for query, want := range map[string][]string{
		"importee":              {"Quinn Importee", "Rae Importee"},
		"imported":              {"Quinn Importee", "Sol Single"},
		"email:rae@example.com": {"Rae Importee"},
		"15551234567":           {"Rae Importee"},
	} {
		got, _ := searchNames(t, s, "/api/v2/users/search?query="+url.QueryEscape(query))
		if !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", query, got, want)
		}
	}
	if id := int64(j.Results[0]["id"].(float64)); id != 2 {
		t.Errorf("the first imported user has id %d, want 2 (the one after the owner)", id)
	}
}

// TestV2UpdateManyByIDSetsExternalID: an update_many item with an id names
// its user by the id; an external_id beside it is a change, never the
// user to change.
func TestV2UpdateManyByIDSetsExternalID(t *testing.T) {
	s := newServer(t, serverOptions{})
	a := s.addUser("Ann A", "a@example.com", domain.EndUser, "")
	b := s.addUser("Bob B", "b@example.com", domain.EndUser, "")
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", b), "application/json", `{"user":{"external_id":"ext-b"}}`), http.StatusOK)
	j := readJob(t, s.runJob("PUT", "/api/v2/users/update_many", fmt.Sprintf(
		`{"users":[{"id":%d,"external_id":"ext-a","notes":"for A"},{"id":%d,"external_id":"ext-b"},{"external_id":"ext-b","notes":"for B"}]}`, a, a)))
	want := []map[string]any{
		{"id": float64(a), "action": "update", "status": "Updated", "success": true},
		{"id": float64(a), "action": "update", "status": "Failed", "success": false},
		{"id": float64(b), "action": "update", "status": "Updated", "success": true, "external_id": "ext-b"},
	}
	for i := range want { // the failure's error and details are the per-item failure table's
		delete(j.Results[i], "error")
		delete(j.Results[i], "details")
	}
	if diff := cmp.Diff(want, j.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for id, wantExt := range map[int64]string{a: "ext-a", b: "ext-b"} {
		u, err := s.svc.User(legacyOwnerCtx(), id)
		if err != nil {
			t.Fatal(err)
		}
		if u.ExternalID != wantExt {
			t.Errorf("user %d: external id %q, want %q", id, u.ExternalID, wantExt)
		}
	}
	if u, _ := s.svc.User(legacyOwnerCtx(), b); u.Notes != "for B" {
		t.Errorf("user %d notes %q: an item naming another id changed it", b, u.Notes)
	}
}
