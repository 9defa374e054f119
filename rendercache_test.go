package deskgate_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
	"github.com/deskgate/deskgate/xmlapi"
	"github.com/gorilla/mux"
)

// uncached is a second deskgate over s's database and clock whose service
// keeps no renderings: every read it answers is a fresh render. (It keeps
// credentials, which StoreReplaced makes stale.)
func (s *server) uncached() *server {
	s.t.Helper()
	svc, err := domain.NewService(context.Background(), s.db, domain.Config{
		Now: s.clock.Now, Random: rand.NewChaCha8([32]byte{}), AdminSetPasswords: true, RenderCache: -1,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	f := *s
	f.svc = svc
	f.Server = httptest.NewServer(deskgate.NewHandler(svc, deskgate.Options{BaseURL: testBaseURL}))
	s.t.Cleanup(f.Close)
	return &f
}

// cacheWrite is one write through either API. Its path and body name the
// records of the fixture as {name}; save names the record it creates.
type cacheWrite struct {
	method, path, contentType, body string
	as                              string // "reader" acts as the end user, "anonymous" sends no credentials; default the owner
	save                            string
	readerPassword                  string // the reader's password from this write on
	login                           creds  // a credential that authenticates from this write on, until a later write ends it (probed until refused)
	job                             bool   // a bulk request: compare once its job has ended
	status                          int    // the refusal expected, for a write that cannot succeed here; 0: a 2xx
}

// cacheWrites holds a write for every write route of both APIs, in an order
// in which each one succeeds; TestRenderCacheWrites fails for a route with
// none, so every new write joins it.
var cacheWrites = []cacheWrite{
	{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Newcomer","email":"new@example.com"}}`, save: "new"},
	{method: "PUT", path: "/api/v2/users/{victim}", body: `{"user":{"name":"Victim Renamed","notes":"n"}}`},
	{method: "POST", path: "/api/v2/groups", body: `{"group":{"name":"Billing"}}`, save: "billing"},
	{method: "PUT", path: "/api/v2/groups/{sales}", body: `{"group":{"name":"Sales EMEA"}}`},
	{method: "POST", path: "/api/v2/users/{agent}/group_memberships", body: `{"group_membership":{"group_id":{billing}}}`, save: "gm"},
	{method: "PUT", path: "/api/v2/users/{agent}/group_memberships/{gm}/make_default"},
	{method: "DELETE", path: "/api/v2/users/{agent}/group_memberships/{gm}"},
	{method: "POST", path: "/api/v2/group_memberships", body: `{"group_membership":{"user_id":{agent},"group_id":{billing}}}`},
	{method: "DELETE", path: "/api/v2/groups/{billing}"},
	{method: "POST", path: "/api/v2/organizations", body: `{"organization":{"name":"Gamma"}}`, save: "gamma"},
	{method: "PUT", path: "/api/v2/organizations/{gamma}", body: `{"organization":{"name":"Gamma Ltd"}}`},
	{method: "POST", path: "/api/v2/users/{victim}/organization_memberships", body: `{"organization_membership":{"organization_id":{gamma}}}`, save: "om"},
	{method: "PUT", path: "/api/v2/users/{victim}/organization_memberships/{om}/make_default"},
	{method: "DELETE", path: "/api/v2/users/{victim}/organization_memberships/{om}"},
	{method: "POST", path: "/api/v2/organization_memberships", body: `{"organization_membership":{"user_id":{victim},"organization_id":{gamma}}}`},
	{method: "PUT", path: "/api/v2/users/{victim}/organizations/{gamma}/make_default"},
	{method: "DELETE", path: "/api/v2/users/{victim}/organizations/{gamma}"},
	{method: "DELETE", path: "/api/v2/organizations/{acme}"},
	{method: "POST", path: "/api/v2/users/{victim}/identities", body: `{"identity":{"type":"email","value":"victim.work@example.com"}}`, save: "work"},
	{method: "PUT", path: "/api/v2/users/{victim}/identities/{work}/request_verification"},
	{method: "PUT", path: "/api/v2/users/{victim}/identities/{work}/verify"},
	{method: "PUT", path: "/api/v2/users/{victim}/identities/{work}", body: `{"identity":{"verified":true}}`},
	{method: "PUT", path: "/api/v2/users/{victim}/identities/{work}/make_primary"},
	{method: "PUT", path: "/api/v2/end_users/{victim}/identities/{home}/make_primary"},
	{method: "DELETE", path: "/api/v2/users/{victim}/identities/{work}"},
	{method: "POST", path: "/access/login", body: `{"email":"reader@example.com","password":"reader-secret-1"}`, as: "anonymous", save: "session"},
	{method: "DELETE", path: "/api/v2/users/{reader}/sessions/{session}"},
	{method: "POST", path: "/access/login", body: `{"email":"reader@example.com","password":"reader-secret-1"}`, as: "anonymous", save: "session"},
	{method: "DELETE", path: "/api/v2/users/{reader}/sessions"},
	{method: "POST", path: "/access/login", body: `{"email":"reader@example.com","password":"reader-secret-1"}`, as: "anonymous", save: "session"},
	{method: "POST", path: "/api/v2/users/logout_many?ids={reader}"},
	{method: "DELETE", path: "/api/v2/users/me/logout"},
	{method: "POST", path: "/api/v2/users/request_create", body: `{"user":{"name":"Requested","email":"requested@example.com"}}`},
	{method: "POST", path: "/api/v2/deskgate/backup"},
	{method: "POST", path: "/api/v2/users/{victim}/password", body: `{"password":"victim-secret-2"}`, login: creds{"victim@example.com", "victim-secret-2"}},
	{method: "POST", path: "/api/v2/users/{victim}/password", body: `{"password":"victim-secret-3"}`, login: creds{"victim@example.com", "victim-secret-3"}},
	// Writes of one user that change who may authenticate as them, and as what.
	{method: "PUT", path: "/api/v2/users/{agent}", body: `{"user":{"role":"admin"}}`},
	{method: "PUT", path: "/api/v2/users/{agent}", body: `{"user":{"role":"agent","default_group_id":{sales}}}`},
	{method: "POST", path: "/access/login", body: `{"email":"victim@example.com","password":"victim-secret-3"}`, as: "anonymous", save: "session"},
	{method: "PUT", path: "/api/v2/users/{victim}", body: `{"user":{"suspended":true}}`},
	{method: "PUT", path: "/api/v2/users/{victim}", body: `{"user":{"suspended":false}}`, login: creds{"victim@example.com", "victim-secret-3"}},
	{method: "PUT", path: "/users/{victim}.xml", contentType: legacyXMLType, body: `<user><is-active>false</is-active></user>`},
	{method: "PUT", path: "/users/{victim}.xml", contentType: legacyXMLType, body: `<user><is-active>true</is-active></user>`, login: creds{"victim@example.com", "victim-secret-3"}},
	{method: "PUT", path: "/api/v2/users/{reader}/password", body: `{"previous_password":"reader-secret-1","password":"reader-secret-2"}`, as: "reader", readerPassword: "reader-secret-2"},
	{method: "DELETE", path: "/api/v2/users/{new}"},
	{method: "POST", path: "/api/v2/users/create_many", body: `{"users":[{"name":"Bulk","email":"bulk@example.com"}]}`, job: true},
	{method: "POST", path: "/api/v2/users/create_or_update_many", body: `{"users":[{"email":"victim@example.com","notes":"bulk"}]}`, job: true},
	{method: "PUT", path: "/api/v2/users/update_many?ids={victim},{reader}", body: `{"user":{"details":"updated in bulk"}}`, job: true},
	// Job items that change a user's identities, organization, groups and principal.
	{method: "PUT", path: "/api/v2/users/update_many", body: `{"users":[{"id":{victim},"email":"victim.bulk@example.com","organization_id":{gamma}},{"id":{agent},"default_group_id":{sales},"role":"admin"}]}`, job: true},
	{method: "PUT", path: "/api/v2/users/update_many?ids={agent}", body: `{"user":{"role":"agent","suspended":true}}`, job: true},
	{method: "PUT", path: "/api/v2/users/update_many?ids={agent}", body: `{"user":{"suspended":false}}`, job: true, login: creds{"agent@example.com", "agent-secret-1"}},
	{method: "POST", path: "/api/v2/users/create_or_update_many", body: `{"users":[{"email":"victim@example.com","organization_id":null,"phone":"+15551234567"},{"name":"Bulk Two","email":"bulk2@example.com","organization_id":{gamma}}]}`, job: true},
	{method: "POST", path: "/api/v2/users/create_or_update", body: `{"user":{"email":"victim@example.com","alias":"V"}}`},
	{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Doomed","email":"doomed@example.com"}}`, save: "doomed"},
	{method: "DELETE", path: "/api/v2/users/destroy_many?ids={doomed}", job: true},
	{method: "DELETE", path: "/api/v2/deleted_users/{doomed}"},
	{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Mergee","email":"mergee@example.com"}}`, save: "mergee"},
	{method: "PUT", path: "/api/v2/users/{mergee}/merge", body: `{"user":{"id":{victim}}}`},
	{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Twin","email":"twin@example.com"}}`, save: "twin"},
	{method: "POST", path: "/api/v2/users/{twin}/password", body: `{"password":"twin-secret-1"}`},
	{method: "PUT", path: "/api/v2/users/me/merge", body: `{"user":{"email":"twin@example.com","password":"twin-secret-1"}}`, as: "reader"},
	{method: "POST", path: "/api/v2/skips", body: `{"skip":{"ticket_id":35436,"reason":"busy"}}`},
	// No agent has an event stream open: nothing is delivered, nothing changes.
	{method: "POST", path: "/api/v2/channels/voice/agents/{owner}/users/{victim}/display", status: http.StatusNotFound},
	{method: "POST", path: "/users.xml", contentType: legacyXMLType, body: `<user><name>Legacy Newcomer</name><email>legacy@example.com</email></user>`, save: "legacy"},
	{method: "PUT", path: "/users/{agent}.xml", contentType: legacyXMLType, body: `<user><name>Agent Renamed</name><groups>1</groups></user>`},
	{method: "DELETE", path: "/users/{legacy}.xml", contentType: legacyXMLType},
}

// cacheFixture is a directory whose users show groups, organizations and
// identities in their bodies, and an end user to read as.
type cacheFixture struct {
	s, fresh *server
	ids      map[string]int64
	reader   creds
	logins   []creds  // every Basic credential that authenticated at some point
	cookies  []string // the session cookie of every sign-in
}

func newCacheFixture(t *testing.T) *cacheFixture {
	s := newServer(t, serverOptions{adminSetPasswords: true})
	f := &cacheFixture{s: s, fresh: s.uncached(), ids: map[string]int64{"owner": 1}, logins: []creds{owner}}
	for _, w := range []cacheWrite{
		{method: "POST", path: "/api/v2/groups", body: `{"group":{"name":"Sales"}}`, save: "sales"},
		{method: "POST", path: "/api/v2/organizations", body: `{"organization":{"name":"Acme"}}`, save: "acme"},
		{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Agent","email":"agent@example.com","role":"agent"}}`, save: "agent"},
		{method: "POST", path: "/api/v2/group_memberships", body: `{"group_membership":{"user_id":{agent},"group_id":{sales}}}`},
		{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Reader","email":"reader@example.com"}}`, save: "reader"},
		{method: "POST", path: "/api/v2/users/{reader}/password", body: `{"password":"reader-secret-1"}`, login: creds{"reader@example.com", "reader-secret-1"}},
		{method: "POST", path: "/api/v2/users/{agent}/password", body: `{"password":"agent-secret-1"}`, login: creds{"agent@example.com", "agent-secret-1"}},
		{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Victim","email":"victim@example.com","organization_id":{acme}}}`, save: "victim"},
		{method: "POST", path: "/api/v2/users/{victim}/identities", body: `{"identity":{"type":"email","value":"victim.home@example.com"}}`, save: "home"},
	} {
		f.write(t, w)
	}
	f.reader = creds{"reader@example.com", "reader-secret-1"}
	return f
}

// fill replaces the {name}s of a path or body with the fixture's ids.
func (f *cacheFixture) fill(s string) string {
	for name, id := range f.ids {
		s = strings.ReplaceAll(s, "{"+name+"}", strconv.FormatInt(id, 10))
	}
	return s
}

// write sends w through the cached server and fails unless it succeeds.
func (f *cacheFixture) write(t *testing.T, w cacheWrite) {
	t.Helper()
	as := map[string]creds{"": owner, "reader": f.reader, "anonymous": {}}[w.as]
	ct := w.contentType
	if ct == "" && w.body != "" {
		ct = crossJSONType
	}
	r := f.s.do(as, w.method, f.fill(w.path), ct, f.fill(w.body))
	switch {
	case w.status != 0 && r.status != w.status, w.status == 0 && r.status >= 300:
		t.Fatalf("%s %s: %d %s", w.method, w.path, r.status, r.body)
	case w.job:
		if done := f.s.waitJob(readJob(t, r).ID); strings.Contains(string(done.body), `"Failed"`) {
			t.Fatalf("%s %s: an item failed: %s", w.method, w.path, done.body)
		}
	}
	if w.save != "" {
		f.ids[w.save] = createdID(t, r)
	}
	if w.path == "/access/login" {
		for _, c := range (&http.Response{Header: r.header}).Cookies() {
			if c.Name == jsonapi.SessionCookie {
				f.cookies = append(f.cookies, c.Value)
			}
		}
	}
	if w.readerPassword != "" {
		f.reader.pass = w.readerPassword
		f.logins = append(f.logins, f.reader)
	}
	if w.login.user != "" {
		f.logins = append(f.logins, w.login)
	}
}

// createdID reads the id of the record a create answered with, in either format.
func createdID(t *testing.T, r response) int64 {
	t.Helper()
	type record struct {
		ID int64 `json:"id"`
	}
	var body map[string]json.RawMessage // {"user": {...}}, or a list: {"session": [{...}]}
	if json.Unmarshal(r.body, &body) == nil {
		for _, v := range body {
			var one record
			var list []record
			if json.Unmarshal(v, &one) == nil && one.ID != 0 {
				return one.ID
			}
			if json.Unmarshal(v, &list) == nil && len(list) > 0 {
				return list[0].ID
			}
		}
	}
	var u legacyUser
	if err := xml.Unmarshal(r.body, &u); err != nil || u.ID == 0 {
		t.Fatalf("no id in %d %s", r.status, r.body)
	}
	return u.ID
}

// compareReads reads every user of the fixture through both APIs as the
// owner and as the end user, from the cached server and the fresh one, and
// fails where the answers differ; then so for who every credential and
// session the fixture has seen authenticates as, which the credential
// cache answers. (Probes after renderings: a user's first authentication
// changes its last_login_at, which the next comparison reads.)
func (f *cacheFixture) compareReads(t *testing.T, when string) {
	t.Helper()
	// The fresh service's credential cache heard of no write: made stale
	// whole, it reads every principal and session from the store again.
	if err := f.fresh.svc.StoreReplaced(context.Background()); err != nil {
		t.Fatal(err)
	}
	var users []int64
	for _, id := range f.ids {
		users = append(users, id)
	}
	slices.Sort(users)
	users = slices.Compact(users)
	for _, id := range users {
		for _, path := range []string{
			fmt.Sprintf("/api/v2/users/%d", id), fmt.Sprintf("/api/v2/users/%d.json", id),
			fmt.Sprintf("/api/v2/users/%d?include=identities,groups,organizations", id), // sideloads bypass the cache
			fmt.Sprintf("/users/%d.xml", id),
		} {
			for _, as := range []creds{owner, f.reader} {
				got, want := f.s.do(as, "GET", path, "", ""), f.fresh.do(as, "GET", path, "", "")
				if got.status != want.status || string(got.body) != string(want.body) || got.header.Get("Content-Type") != want.header.Get("Content-Type") {
					t.Errorf("%s, %s as %s: cached %d %s\nfresh %d %s", when, path, as.user, got.status, got.body, want.status, want.body)
				}
			}
		}
	}
	// A credential refused by both is dropped: its refusal has been seen,
	// and refusals counted against the account would soon lock it. (The
	// v2 me answers a refused caller as the anonymous user, id null.)
	f.logins = slices.DeleteFunc(f.logins, func(as creds) bool {
		got, want := f.s.do(as, "GET", "/api/v2/users/me", "", ""), f.fresh.do(as, "GET", "/api/v2/users/me", "", "")
		if got.status != want.status || string(got.body) != string(want.body) {
			t.Errorf("%s, me as %s:%s: cached %d %s\nfresh %d %s", when, as.user, as.pass, got.status, got.body, want.status, want.body)
		}
		return strings.Contains(string(got.body), `"id":null`) && strings.Contains(string(want.body), `"id":null`)
	})
	for _, cookie := range f.cookies {
		b := browser{cookie: cookie}
		got, want := f.s.sessionDo(b, "", "GET", "/api/v2/users/me", ""), f.fresh.sessionDo(b, "", "GET", "/api/v2/users/me", "")
		if got.status != want.status || string(got.body) != string(want.body) {
			t.Errorf("%s, me with a session: cached %d %s\nfresh %d %s", when, got.status, got.body, want.status, want.body)
		}
	}
}

// apiRouter is a router with both APIs' routes, to match requests against.
// (Test mode's routes are not the APIs': a reset or a restore makes every
// rendering stale through Service.StoreReplaced.)
func apiRouter() *mux.Router {
	r := mux.NewRouter()
	v2 := jsonapi.New(nil, nil, nil, 0)
	v2.ShowUserRoute(r)
	xmlapi.New(nil, nil, nil).Routes(r)
	v2.Routes(r)
	return r
}

// writeRoutes lists the router's routes that write (every method but GET),
// as "METHOD template".
func writeRoutes(t *testing.T, r *mux.Router) []string {
	var routes []string
	err := r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, _ := rt.GetMethods()
		for _, m := range methods {
			if m != http.MethodGet {
				routes = append(routes, m+" "+tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// routeOf is the "METHOD template" of the route that serves a request.
func routeOf(r *mux.Router, method, path string) string {
	var m mux.RouteMatch
	req := httptest.NewRequest(method, path, nil)
	if !r.Match(req, &m) || m.Route == nil {
		return ""
	}
	tpl, _ := m.Route.GetPathTemplate()
	return method + " " + tpl
}

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// TestRenderCacheWrites checks that after every write of either API, each
// cached rendering of a user is byte for byte what a service without the
// cache renders.
func TestRenderCacheWrites(t *testing.T) {
	h := apiRouter()
	covered := map[string]bool{}
	for _, w := range cacheWrites {
		// Any digits select the route; the fixture's ids come later.
		route := routeOf(h, w.method, placeholder.ReplaceAllString(w.path, "7"))
		if route == "" {
			t.Fatalf("%s %s matches no route", w.method, w.path)
		}
		covered[route] = true
	}
	for _, route := range writeRoutes(t, h) {
		if !covered[route] {
			t.Errorf("no entry in cacheWrites for %s: add one", route)
		}
	}

	f := newCacheFixture(t)
	for _, w := range cacheWrites {
		f.compareReads(t, "before "+w.method+" "+w.path)
		f.write(t, w)
		f.compareReads(t, "after "+w.method+" "+w.path)
	}
}

// TestRenderCacheConcurrent changes a user over and over, each change
// numbered, through writes that stale only that user (a v2 and a legacy
// update, an update_many job) and one that stales everything (a rename of
// its group, which its legacy body shows), while a create_many import
// commits chunks, readers read the user through both APIs and an agent whose
// role toggles reads it too: a read sent after a change's response arrived
// never shows an older state, nor an older role's permission.
func TestRenderCacheConcurrent(t *testing.T) {
	s := newServer(t, serverOptions{adminSetPasswords: true})
	group := v2ID(t, s.do(owner, "POST", "/api/v2/groups", crossJSONType, `{"group":{"name":"Team 0"}}`), "group")
	id := v2ID(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Name 0","email":"racer@example.com","role":"agent"}}`), "user")
	v2Want(t, s.do(owner, "POST", "/api/v2/group_memberships", crossJSONType, fmt.Sprintf(`{"group_membership":{"user_id":%d,"group_id":%d}}`, id, group)), http.StatusCreated)
	toggler := v2ID(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Toggler","email":"toggler@example.com","role":"agent"}}`), "user")
	v2Want(t, s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/password", toggler), crossJSONType, `{"password":"toggler-secret-1"}`), http.StatusOK)
	togglerCreds := creds{"toggler@example.com", "toggler-secret-1"}

	var renamed, teamed atomic.Int64       // the last change of each kind whose response has arrived
	var rolesBegun, rolesDone atomic.Int64 // the toggler's role changes sent and answered: odd ones make it an end user
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // an import, committing job chunks all along
		for batch := 0; !stop.Load(); batch++ {
			r := s.do(owner, "POST", "/api/v2/users/create_many", crossJSONType,
				fmt.Sprintf(`{"users":[{"name":"Import %d a","email":"import-%d-a@example.com"},{"name":"Import %d b","email":"import-%d-b@example.com"}]}`, batch, batch, batch, batch))
			if r.status != http.StatusOK && r.status != http.StatusTooManyRequests { // the job limit: the worker is behind
				t.Errorf("create_many: %d %s", r.status, r.body)
				return
			}
		}
	})
	number := func(re *regexp.Regexp, body []byte) int64 {
		m := re.FindSubmatch(body)
		if m == nil {
			return -1
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return n
	}
	nameIn, teamIn := regexp.MustCompile(`Name (\d+)`), regexp.MustCompile(`Team (\d+)`)
	for reader := range 3 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				leastName, leastTeam := renamed.Load(), teamed.Load()
				legacy := (reader+i)%2 == 0
				path := fmt.Sprintf("/api/v2/users/%d", id)
				if legacy {
					path = fmt.Sprintf("/users/%d.xml", id)
				}
				r := s.do(owner, "GET", path, "", "")
				name, team := number(nameIn, r.body), number(teamIn, r.body)
				switch {
				case r.status != 200 || name < 0 || legacy && team < 0:
					t.Errorf("%s: %d %s", path, r.status, r.body)
					return
				case name < leastName:
					t.Errorf("%s showed Name %d after change %d was answered", path, name, leastName)
				case legacy && team < leastTeam:
					t.Errorf("%s showed Team %d after its rename %d was answered", path, team, leastTeam)
				}
			}
		})
	}
	wg.Go(func() { // the toggler reads as itself: an agent may, an end user may not
		for !stop.Load() {
			begun, done := rolesBegun.Load(), rolesDone.Load()
			r := s.do(togglerCreds, "GET", fmt.Sprintf("/api/v2/users/%d", id), "", "")
			if begun != done || rolesBegun.Load() != begun {
				continue // a role change overlapped the read: either answer is right
			}
			if want := map[bool]int{true: http.StatusForbidden, false: http.StatusOK}[done%2 == 1]; r.status != want {
				t.Errorf("toggler after role change %d: %d %s, want %d", done, r.status, r.body, want)
			}
		}
	})

	const changes = 48
	for n := int64(1); n <= changes && !t.Failed(); n++ {
		var r response
		switch n % 4 {
		case 0:
			r = s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), crossJSONType, fmt.Sprintf(`{"user":{"name":"Name %d"}}`, n))
		case 1:
			r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, fmt.Sprintf(`<user><name>Name %d</name></user>`, n))
		case 2:
			r = s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/update_many?ids=%d", id), crossJSONType, fmt.Sprintf(`{"user":{"name":"Name %d"}}`, n))
			if r.status == http.StatusOK {
				r = s.waitJob(readJob(t, r).ID)
			}
		case 3:
			r = s.do(owner, "PUT", fmt.Sprintf("/api/v2/groups/%d", group), crossJSONType, fmt.Sprintf(`{"group":{"name":"Team %d"}}`, n))
		}
		if r.status != http.StatusOK || strings.Contains(string(r.body), `"Failed"`) {
			t.Errorf("change %d: %d %s", n, r.status, r.body)
			break
		}
		if n%4 == 3 {
			teamed.Store(n)
		} else {
			renamed.Store(n)
		}
		role := map[bool]string{true: "end-user", false: "agent"}[n%2 == 1]
		rolesBegun.Add(1)
		if r := s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", toggler), crossJSONType, fmt.Sprintf(`{"user":{"role":%q}}`, role)); r.status != http.StatusOK {
			t.Errorf("toggler to %s: %d %s", role, r.status, r.body)
			break
		}
		rolesDone.Add(1)
	}
	stop.Store(true)
	wg.Wait()
}

// TestRenderCacheNarrow checks that a write stales the renderings of the
// users it changes and no others: a new user none, a job's chunk only the
// users its items change, a group or organization write everyone.
func TestRenderCacheNarrow(t *testing.T) {
	f := newCacheFixture(t)
	ctx := domain.WithActor(context.Background(), &domain.Actor{ID: 1, Role: domain.Admin, Owner: true})
	names := []string{"owner", "agent", "reader", "victim"}
	// rendered reads every user through the cache and names those it had
	// to render afresh.
	rendered := func() []string {
		var fresh []string
		for _, name := range names {
			_, err := f.s.svc.RenderedUser(ctx, f.ids[name], domain.RenderVariant{API: "narrow"}, func(u *domain.User) ([]byte, error) {
				fresh = append(fresh, name)
				return []byte(u.Name), nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return fresh
	}
	rendered()
	for _, tc := range []struct {
		w    cacheWrite
		want []string
	}{
		{cacheWrite{method: "PUT", path: "/api/v2/users/{victim}", body: `{"user":{"notes":"changed"}}`}, []string{"victim"}},
		{cacheWrite{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Newcomer","email":"new@example.com","identities":[{"type":"email","value":"new.2@example.com"}]}}`}, nil},
		{cacheWrite{method: "POST", path: "/api/v2/users/create_many", body: `{"users":[{"name":"Bulk","email":"bulk@example.com","phone":"+15550001111"}]}`, job: true}, nil},
		{cacheWrite{method: "PUT", path: "/api/v2/users/update_many?ids={reader}", body: `{"user":{"details":"bulk"}}`, job: true}, []string{"reader"}},
		{cacheWrite{method: "POST", path: "/api/v2/users/{victim}/identities", body: `{"identity":{"type":"email","value":"victim.work@example.com"}}`}, []string{"victim"}},
		{cacheWrite{method: "POST", path: "/api/v2/users/{reader}/organization_memberships", body: `{"organization_membership":{"organization_id":{acme}}}`}, []string{"reader"}},
		{cacheWrite{method: "POST", path: "/access/login", body: `{"email":"reader@example.com","password":"reader-secret-1"}`, as: "anonymous"}, []string{"reader"}},
		{cacheWrite{method: "POST", path: "/api/v2/users/{agent}/password", body: `{"password":"agent-secret-2"}`}, []string{"agent"}},
		{cacheWrite{method: "PUT", path: "/api/v2/groups/{sales}", body: `{"group":{"name":"Sales EMEA"}}`}, names},
		{cacheWrite{method: "PUT", path: "/api/v2/organizations/{acme}", body: `{"organization":{"name":"Acme Ltd"}}`}, names},
	} {
		f.write(t, tc.w)
		if got := rendered(); !slices.Equal(got, tc.want) {
			t.Errorf("after %s %s: rendered %v afresh, want %v", tc.w.method, tc.w.path, got, tc.want)
		}
		if tc.w.job {
			// The status says completed from the chunk's commit on, and the
			// worker records the write just after it: what a read in
			// between caches is stale once it has, so the next read may
			// render the job's users afresh once more.
			rendered()
		}
	}
}
