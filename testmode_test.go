package deskgate_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/testmode"
	"github.com/getkin/kin-openapi/openapi3"
)

const jsonType = "application/json"

// controlPaths are the control API's operations, plus a path it does not know.
var controlPaths = []struct{ method, path string }{
	{"POST", "/__deskgate/fixtures"},
	{"POST", "/__deskgate/reset"},
	{"GET", "/__deskgate/snapshots"},
	{"POST", "/__deskgate/snapshots/before"},
	{"POST", "/__deskgate/snapshots/before/restore"},
	{"GET", "/__deskgate/clock"},
	{"POST", "/__deskgate/clock"},
	{"GET", "/__deskgate/faults"},
	{"POST", "/__deskgate/faults"},
	{"DELETE", "/__deskgate/faults"},
	{"GET", "/__deskgate/requests"},
	{"GET", "/__deskgate/"},
	{"GET", "/__deskgate/no/such/operation"},
}

func TestControlAPIAbsentWithoutTestMode(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, p := range controlPaths {
		for _, c := range []creds{{}, owner} {
			if r := s.do(c, p.method, p.path, jsonType, `{}`); r.status != 404 {
				t.Errorf("%s %s as %q: %d, want 404", p.method, p.path, c.user, r.status)
			}
		}
	}
	if got := s.do(owner, "GET", "/users/1.xml", "", ""); got.header.Get("Date") == "Fri, 15 May 2026 18:07:57 GMT" {
		t.Error("without test mode the Date header must not follow the service clock")
	}
}

// testFixture is the documented example fixture.
func testFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures/example.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestControlNeedsTheOwner(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	if r := s.do(owner, "POST", "/__deskgate/fixtures", jsonType, testFixture(t)); r.status != 201 {
		t.Fatalf("fixture: %s", r.dump())
	}
	admin := creds{"ada@example.com", "ada-secret"}
	agent := creds{"al@example.com/token", "al-api-token-0123456789"}
	for _, p := range controlPaths {
		if r := s.do(creds{}, p.method, p.path, jsonType, `{}`); r.status != 401 {
			t.Errorf("%s %s without credentials: %d, want 401", p.method, p.path, r.status)
		}
		for _, c := range []creds{admin, agent} {
			if r := s.do(c, p.method, p.path, jsonType, `{}`); r.status != 403 {
				t.Errorf("%s %s as %s: %d, want 403", p.method, p.path, c.user, r.status)
			}
		}
	}
	golden(t, "testmode/error_401.golden", s.do(creds{}, "POST", "/__deskgate/reset", "", "").dump())
	golden(t, "testmode/error_403_admin.golden", s.do(admin, "POST", "/__deskgate/reset", "", "").dump())
	golden(t, "testmode/error_404_operation.golden", s.do(owner, "GET", "/__deskgate/no/such/operation", "", "").dump())
}

// count is the v2 count of active users.
func (s *server) count() int {
	s.t.Helper()
	r := s.do(owner, "GET", "/api/v2/users/count", "", "")
	var body struct{ Count struct{ Value int } }
	if err := json.Unmarshal(r.body, &body); err != nil {
		s.t.Fatalf("count: %v: %s", err, r.body)
	}
	return body.Count.Value
}

func TestFixtures(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	r := s.do(owner, "POST", "/__deskgate/fixtures", jsonType, testFixture(t))
	golden(t, "testmode/fixtures_loaded.golden", r.dump())

	// What the fixture made, as both APIs show it: groups with their
	// default, the organization, the extra identity, the token.
	golden(t, "testmode/fixture_agent_legacy.golden", s.do(owner, "GET", "/users/2.xml", "", "").dump())
	golden(t, "testmode/fixture_end_user_v2.golden", s.do(owner, "GET", "/api/v2/users/3", "", "").dump())
	golden(t, "testmode/fixture_end_user_identities.golden", s.do(owner, "GET", "/api/v2/users/3/identities", "", "").dump())
	if r := s.do(creds{"al@example.com/token", "al-api-token-0123456789"}, "GET", "/api/v2/users/me", "", ""); r.status != 200 {
		t.Errorf("the fixture's token does not authenticate: %d", r.status)
	}
	if r := s.do(creds{"al@example.com", "al-secret"}, "GET", "/users/2.xml", "", ""); r.status != 200 {
		t.Errorf("the fixture's password does not authenticate: %d", r.status)
	}
	if r := s.do(owner, "GET", "/api/v2/users?external_id=crm-42", "", ""); !strings.Contains(string(r.body), `"email":"eve@acme.example"`) {
		t.Errorf("external id: %s", r.body)
	}
	if r := s.do(owner, "POST", "/api/v2/users", jsonType, `{"user": {"name": "X", "email": "eve.private@example.com"}}`); r.status != 422 {
		t.Errorf("the fixture's secondary identity is not taken: %d", r.status)
	}

	// A bad item refuses the whole fixture, naming the item; nothing is written.
	users := s.count()
	for _, tc := range []struct{ name, fixture string }{
		{"duplicate_email", `{"groups": [{"name": "Ops"}], "users": [{"name": "New", "email": "new@example.com"}, {"name": "Dup", "email": "al@example.com"}]}`},
		{"unknown_group", `{"users": [{"name": "Bo", "email": "bo@example.com", "role": "agent", "groups": ["Nope"]}]}`},
		{"end_user_in_group", `{"groups": [{"name": "Ops"}], "users": [{"name": "Bo", "email": "bo@example.com", "groups": ["Ops"]}]}`},
		{"bad_role", `{"users": [{"name": "Bo", "email": "bo@example.com", "role": "boss"}]}`},
		{"blank_group_name", `{"groups": [{"name": " "}]}`},
		{"duplicate_organization", `{"organizations": [{"name": "acme"}]}`},
		{"unknown_field", `{"users": [{"name": "Bo", "emial": "bo@example.com"}]}`},
		{"not_json", `{"users": [`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(owner, "POST", "/__deskgate/fixtures", jsonType, tc.fixture)
			golden(t, "testmode/fixture_refused_"+tc.name+".golden", r.dump())
			if got := s.count(); got != users {
				t.Errorf("a refused fixture wrote users: %d, want %d", got, users)
			}
			if r := s.do(owner, "GET", "/api/v2/groups/count", "", ""); r.status == 200 && !strings.Contains(string(r.body), `"value":3`) {
				t.Errorf("a refused fixture wrote groups: %s", r.body)
			}
		})
	}
}

func TestFixtureSeatLimit(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true, seats: 2}) // the owner holds one
	r := s.do(owner, "POST", "/__deskgate/fixtures", jsonType,
		`{"users": [{"name": "A1", "email": "a1@example.com", "role": "agent"}, {"name": "A2", "email": "a2@example.com", "role": "admin"}]}`)
	golden(t, "testmode/fixture_refused_seat_limit.golden", r.dump())
	if got := s.count(); got != 1 {
		t.Errorf("users after a refused fixture: %d, want 1", got)
	}
}

func TestResetAndSnapshots(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true, adminSetPasswords: true})
	s.do(owner, "POST", "/__deskgate/fixtures", jsonType, testFixture(t))
	golden(t, "testmode/snapshot_taken.golden", s.do(owner, "POST", "/__deskgate/snapshots/loaded", "", "").dump())

	// Changes after the snapshot: a new user, and a new password the
	// credential cache has already seen.
	if r := s.do(owner, "POST", "/api/v2/users", jsonType, `{"user": {"name": "Later", "email": "later@example.com"}}`); r.status != 201 {
		t.Fatalf("create: %s", r.dump())
	}
	s.do(owner, "PUT", "/users/2.xml", "application/xml", `<user><password>al-new-secret</password></user>`)
	al := creds{"al@example.com", "al-new-secret"}
	if r := s.do(al, "GET", "/users/2.xml", "", ""); r.status != 200 {
		t.Fatalf("new password: %d", r.status)
	}

	r := s.do(owner, "POST", "/__deskgate/snapshots/loaded/restore", "", "")
	if r.status != 204 {
		t.Fatalf("restore: %s", r.dump())
	}
	if got := s.count(); got != 4 {
		t.Errorf("users after restore: %d, want the fixture's 3 and the owner", got)
	}
	if r := s.do(owner, "GET", "/api/v2/users/5", "", ""); r.status != 404 {
		t.Errorf("the user made after the snapshot survived the restore: %d", r.status)
	}
	if r := s.do(al, "GET", "/users/2.xml", "", ""); r.status != 401 {
		t.Errorf("a password set after the snapshot still authenticates after the restore: %d", r.status)
	}
	if r := s.do(creds{"al@example.com", "al-secret"}, "GET", "/users/2.xml", "", ""); r.status != 200 {
		t.Errorf("the snapshot's password: %d", r.status)
	}
	golden(t, "testmode/snapshot_restore_unknown.golden", s.do(owner, "POST", "/__deskgate/snapshots/nope/restore", "", "").dump())

	// Reset: a new account's directory, the owner with its credentials and
	// the default group; ids start again.
	if r := s.do(owner, "POST", "/__deskgate/reset", "", ""); r.status != 204 {
		t.Fatalf("reset: %s", r.dump())
	}
	if got := s.count(); got != 1 {
		t.Errorf("users after reset: %d, want the owner alone", got)
	}
	if r := s.do(creds{ownerEmail, ownerPassword}, "GET", "/users/1.xml", "", ""); r.status != 200 {
		t.Errorf("the owner's password after reset: %d", r.status)
	}
	if r := s.do(creds{"al@example.com/token", "al-api-token-0123456789"}, "GET", "/api/v2/users/1", "", ""); r.status != 401 {
		t.Errorf("a fixture token after reset: %d", r.status)
	}
	golden(t, "testmode/reset_groups.golden", s.do(owner, "GET", "/api/v2/groups", "", "").dump()) // a new account's default group
	s.do(owner, "POST", "/__deskgate/fixtures", jsonType, testFixture(t))
	golden(t, "testmode/fixture_agent_legacy.golden", s.do(owner, "GET", "/users/2.xml", "", "").dump()) // the same ids, groups included
	if r := s.do(owner, "GET", "/api/v2/group_memberships", "", ""); !strings.Contains(string(r.body), `group_memberships/1.json","user_id":2,"group_id":1`) {
		t.Errorf("membership ids did not restart: %s", r.body)
	}
	golden(t, "testmode/snapshots_list.golden", s.do(owner, "GET", "/__deskgate/snapshots", "", "").dump())
}

func TestClock(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	golden(t, "testmode/clock_set.golden", s.do(owner, "POST", "/__deskgate/clock", jsonType, `{"now": "2027-01-01T00:00:00Z"}`).dump())
	golden(t, "testmode/clock_advanced.golden", s.do(owner, "POST", "/__deskgate/clock", jsonType, `{"advance": "36h"}`).dump())

	// Timestamps, the Date header and last_login_at (refreshed after an
	// hour) follow the clock.
	r := s.do(owner, "POST", "/users.xml", "application/xml", `<user><name>Tick</name><email>tick@example.com</email></user>`)
	if !strings.Contains(string(r.body), "<created-at>2027-01-02T12:00:00Z</created-at>") || r.header.Get("Date") != "Sat, 02 Jan 2027 12:00:00 GMT" {
		t.Errorf("create at the set clock: %s\n%s", r.header.Get("Date"), r.body)
	}
	me := func() string {
		var body struct {
			User struct {
				LastLoginAt string `json:"last_login_at"`
			}
		}
		json.Unmarshal(s.do(owner, "GET", "/api/v2/users/me", "", "").body, &body)
		return body.User.LastLoginAt
	}
	first := me()
	s.do(owner, "POST", "/__deskgate/clock", jsonType, `{"advance": "2h"}`)
	if got := me(); got != "2027-01-02T14:00:00Z" || first != "2027-01-02T12:00:00Z" {
		t.Errorf("last_login_at: %s then %s, want 2027-01-02T12:00:00Z then 2027-01-02T14:00:00Z", first, got)
	}
	golden(t, "testmode/clock_get.golden", s.do(owner, "GET", "/__deskgate/clock", "", "").dump())
	for _, tc := range []struct{ name, body string }{
		{"neither", `{}`},
		{"both", `{"now": "2024-01-01T00:00:00Z", "advance": "1h"}`},
		{"bad_time", `{"now": "tomorrow"}`},
		{"backwards", `{"advance": "-1h"}`},
		{"unknown_field", `{"freeze": true}`},
	} {
		golden(t, "testmode/clock_refused_"+tc.name+".golden", s.do(owner, "POST", "/__deskgate/clock", jsonType, tc.body).dump())
	}
}

func TestRequests(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	s.do(owner, "GET", "/users.xml", "", "")
	s.do(owner, "PUT", "/users/1.xml", "application/xml", `<user><name>Owner</name></user>`)
	s.clock.Advance(60e9)
	s.do(owner, "PUT", "/api/v2/users/1", jsonType, `{"user": {"notes": "x"}}`)
	s.do(owner, "GET", "/users/7.xml?x=1", "", "")
	golden(t, "testmode/requests_put_legacy.golden", s.do(owner, "GET", "/__deskgate/requests?method=PUT&path=/users/*.xml", "", "").dump())
	golden(t, "testmode/requests_since.golden", s.do(owner, "GET", "/__deskgate/requests?since=2026-05-15T18:08:57Z", "", "").dump())
	golden(t, "testmode/requests_bad_since.golden", s.do(owner, "GET", "/__deskgate/requests?since=yesterday", "", "").dump())
	if got := len(s.tm.Requests(testmode.RequestFilter{})); got != 4 {
		t.Errorf("recorded %d requests, want 4: control requests are not recorded", got)
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	r := s.do(owner, "POST", "/__deskgate/faults", jsonType, `{"faults": [
		{"method": "GET", "path": "/users/*.xml", "status": 503, "every": 2, "count": 2},
		{"protocol": "v2", "path": "/api/v2/users/count", "status": 429, "retry_after": 30},
		{"protocol": "legacy", "path": "/users.xml", "status": 429, "count": 1},
		{"path": "/api/v2/groups", "latency": "1ms"},
		{"method": "DELETE", "reset_connection": true}
	]}`)
	golden(t, "testmode/faults_added.golden", r.dump())

	var got []int
	for range 6 {
		r := s.do(owner, "GET", "/users/1.xml", "", "")
		got = append(got, r.status)
		if r.status == 503 {
			golden(t, "testmode/fault_503_legacy.golden", r.dump())
		}
	}
	if want := []int{200, 503, 200, 503, 200, 200}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("every 2nd, twice: %v, want %v", got, want)
	}
	r = s.do(owner, "GET", "/api/v2/users/count", "", "")
	if r.header.Get("Retry-After") != "30" {
		t.Errorf("429 Retry-After: %q", r.header.Get("Retry-After"))
	}
	golden(t, "testmode/fault_429_v2.golden", r.dump()) // the v2 limiter's own answer
	golden(t, "testmode/fault_429_legacy.golden", s.do(owner, "GET", "/users.xml", "", "").dump())
	if r := s.do(owner, "GET", "/users.xml", "", ""); r.status != 200 {
		t.Errorf("a rule with count 1 fired twice: %d", r.status)
	}
	if r := s.do(owner, "GET", "/api/v2/groups", "", ""); r.status != 200 {
		t.Errorf("a latency fault serves the request after the delay: %d", r.status)
	}
	req, _ := http.NewRequest("DELETE", s.URL+"/api/v2/users/2", nil)
	req.SetBasicAuth(owner.user, owner.pass)
	if resp, err := s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reset connection: got %d, want a transport error", resp.StatusCode)
	}
	if got := s.tm.Requests(testmode.RequestFilter{Method: "DELETE"}); len(got) != 1 || got[0].Status != 0 {
		t.Errorf("a dropped request is recorded with status 0: %+v", got)
	}
	golden(t, "testmode/faults_listed.golden", s.do(owner, "GET", "/__deskgate/faults", "", "").dump())
	if r := s.do(owner, "DELETE", "/__deskgate/faults", "", ""); r.status != 204 {
		t.Errorf("clear: %d", r.status)
	}
	if r := s.do(owner, "GET", "/api/v2/users/count", "", ""); r.status != 200 {
		t.Errorf("after clearing: %d", r.status)
	}
	golden(t, "testmode/faults_refused.golden", s.do(owner, "POST", "/__deskgate/faults", jsonType,
		`{"faults": [{"path": "/ok", "status": 500}, {"status": 200, "latency": "soon", "protocol": "soap", "every": 2, "probability": 0.5, "path": "["}]}`).dump())
	if r := s.do(owner, "GET", "/__deskgate/faults", "", ""); !strings.Contains(string(r.body), `"faults":[]`) {
		t.Errorf("a refused list added rules: %s", r.body)
	}
}

// TestFaultsWithoutAPath: a rule without a path fires on the APIs' requests
// only; the health and readiness probes and the metrics fail only by a rule
// that names them.
func TestFaultsWithoutAPath(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	v2Want(t, s.do(owner, "POST", "/__deskgate/faults", jsonType, `{"faults": [{"status": 503}]}`), http.StatusCreated)
	for path, want := range map[string]int{"/api/v2/users/me": 503, "/users/1.xml": 503, "/healthz": 200, "/readyz": 200, "/metrics": 200} {
		if r := s.do(owner, "GET", path, "", ""); r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
	}
	v2Want(t, s.do(owner, "POST", "/__deskgate/faults", jsonType, `{"faults": [{"path": "/healthz", "status": 503}]}`), http.StatusCreated)
	if r := s.do(owner, "GET", "/healthz", "", ""); r.status != 503 {
		t.Errorf("GET /healthz under a rule naming it: %d", r.status)
	}
}

// TestSeededFaultsRepeat: a probability rule with a seed gives the same
// sequence on a fresh server.
func TestSeededFaultsRepeat(t *testing.T) {
	run := func() string {
		s := newServer(t, serverOptions{testMode: true})
		s.do(owner, "POST", "/__deskgate/faults", jsonType, `{"faults": [{"path": "/api/v2/users/*", "status": 500, "probability": 0.5, "seed": 42}]}`)
		var b strings.Builder
		for range 40 {
			fmt.Fprintf(&b, "%d ", s.do(owner, "GET", "/api/v2/users/count", "", "").status)
		}
		return b.String()
	}
	first, second := run(), run()
	if first != second {
		t.Errorf("seeded faults differ:\n%s\n%s", first, second)
	}
	if !strings.Contains(first, "200") || !strings.Contains(first, "500") {
		t.Errorf("probability 0.5 should give both outcomes in 40 requests: %s", first)
	}
}

// TestTestModeV2GoldensMatchSchemas validates the v2 API bodies among test
// mode's goldens against the published schemas, as TestV2Schemas does for
// the v2 scenario; the control API's own bodies have no published schema.
func TestTestModeV2GoldensMatchSchemas(t *testing.T) {
	schemas := v2Schemas(t)
	for file, keys := range map[string]map[string]string{
		"fixture_end_user_v2.golden":         {"user": "UserForAdmin"},
		"reset_groups.golden":                {"groups": "GroupObject"},
		"fixture_end_user_identities.golden": {"identities": "UserIdentityObject"},
	} {
		b, err := os.ReadFile("testdata/testmode/" + file)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(string(b), "\n\n")
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for key, schema := range keys {
			for _, item := range items(doc[key]) {
				if err := schemas[schema].Value.VisitJSON(item, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
					t.Errorf("%s %s: %v", file, schema, err)
				}
			}
		}
	}
}

// TestClockDrivesRateLimits: the rate limit's window follows the service
// clock, so a test moves past a 429 without waiting.
func TestClockDrivesRateLimits(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true, rateLimit: 2})
	var got []int
	for range 3 {
		got = append(got, s.do(owner, "GET", "/api/v2/users/1", "", "").status)
	}
	s.do(owner, "POST", "/__deskgate/clock", jsonType, `{"advance": "1m"}`)
	got = append(got, s.do(owner, "GET", "/users/1.xml", "", "").status)
	if want := "[200 200 429 200]"; fmt.Sprint(got) != want {
		t.Errorf("statuses %v, want %s", got, want)
	}
}

// TestRequestsListedAsJournaled: test mode's list and the journal are fed
// by one record of each request, so they agree request for request, a
// dropped connection's status 0 included.
func TestRequestsListedAsJournaled(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	s.do(owner, "POST", "/__deskgate/faults", jsonType, `{"faults": [{"method": "DELETE", "reset_connection": true}]}`)
	s.do(owner, "GET", "/users/1.xml", "", "")
	s.do(creds{}, "GET", "/api/v2/users/1", "", "")
	s.do(owner, "GET", "/healthz", "", "")
	req, _ := http.NewRequest("DELETE", s.URL+"/api/v2/users/2", nil)
	req.SetBasicAuth(owner.user, owner.pass)
	if resp, err := s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset connection: got %d, want a transport error", resp.StatusCode)
	}
	var listed, journaled []string
	for _, r := range s.tm.Requests(testmode.RequestFilter{}) {
		listed = append(listed, fmt.Sprint(r.Method, " ", r.Status))
	}
	for _, r := range s.journalRows() {
		journaled = append(journaled, fmt.Sprint(r.Method, " ", r.Status))
	}
	want := []string{"GET 200", "GET 401", "DELETE 0"}
	if fmt.Sprint(listed) != fmt.Sprint(want) || fmt.Sprint(journaled) != fmt.Sprint(want) {
		t.Errorf("listed %v, journaled %v, want both %v", listed, journaled, want)
	}
}

// TestTestModeKeepsTheRequestPath: test mode wraps deskgate's request path,
// it does not replace it. Its wrapper adds the allocations of its own Date
// header and nothing more; a wrapper put around the bare router would bring
// back the request copies observe.Dispatch saves.
func TestTestModeKeepsTheRequestPath(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's instrumentation allocates")
	}
	allocs := func(testMode bool) float64 {
		s := newServer(t, serverOptions{testMode: testMode})
		id := s.addUser("Alloc Counted", "alloc@example.com", domain.EndUser, "")
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/v2/users/%d", id), nil)
		req.SetBasicAuth(owner.user, owner.pass)
		w := &discardWriter{header: http.Header{}}
		show := func() {
			clear(w.header)
			s.Config.Handler.ServeHTTP(w, req)
			if w.status != 0 && w.status != http.StatusOK {
				t.Fatalf("show: %d", w.status)
			}
		}
		show() // fills the render cache
		return testing.AllocsPerRun(50, show)
	}
	plain, tested := allocs(false), allocs(true)
	t.Logf("a cached show allocates %v times, %v in test mode", plain, tested)
	if tested > plain+3 {
		t.Errorf("a cached show allocates %v times in test mode against %v without: test mode's wrapper bypasses the request path", tested, plain)
	}
}
