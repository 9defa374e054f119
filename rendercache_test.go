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
// keeps no renderings: every read it answers is a fresh render.
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
	{method: "POST", path: "/api/v2/users/{victim}/password", body: `{"password":"victim-secret-2"}`},
	{method: "PUT", path: "/api/v2/users/{reader}/password", body: `{"previous_password":"reader-secret-1","password":"reader-secret-2"}`, as: "reader", readerPassword: "reader-secret-2"},
	{method: "DELETE", path: "/api/v2/users/{new}"},
	{method: "POST", path: "/api/v2/users/create_many", body: `{"users":[{"name":"Bulk","email":"bulk@example.com"}]}`, job: true},
	{method: "POST", path: "/api/v2/users/create_or_update_many", body: `{"users":[{"email":"victim@example.com","notes":"bulk"}]}`, job: true},
	{method: "PUT", path: "/api/v2/users/update_many?ids={victim},{reader}", body: `{"user":{"details":"updated in bulk"}}`, job: true},
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
}

func newCacheFixture(t *testing.T) *cacheFixture {
	s := newServer(t, serverOptions{adminSetPasswords: true})
	f := &cacheFixture{s: s, fresh: s.uncached(), ids: map[string]int64{"owner": 1}}
	for _, w := range []cacheWrite{
		{method: "POST", path: "/api/v2/groups", body: `{"group":{"name":"Sales"}}`, save: "sales"},
		{method: "POST", path: "/api/v2/organizations", body: `{"organization":{"name":"Acme"}}`, save: "acme"},
		{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Agent","email":"agent@example.com","role":"agent"}}`, save: "agent"},
		{method: "POST", path: "/api/v2/group_memberships", body: `{"group_membership":{"user_id":{agent},"group_id":{sales}}}`},
		{method: "POST", path: "/api/v2/users", body: `{"user":{"name":"Reader","email":"reader@example.com"}}`, save: "reader"},
		{method: "POST", path: "/api/v2/users/{reader}/password", body: `{"password":"reader-secret-1"}`},
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
		f.s.waitJob(readJob(t, r).ID)
	}
	if w.save != "" {
		f.ids[w.save] = createdID(t, r)
	}
	if w.readerPassword != "" {
		f.reader.pass = w.readerPassword
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
// fails where the answers differ.
func (f *cacheFixture) compareReads(t *testing.T, when string) {
	t.Helper()
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
}

// apiRouter is a router with both APIs' routes, to match requests against.
// (Test mode's routes are not the APIs': a reset or a restore makes every
// rendering stale through Service.StoreReplaced.)
func apiRouter() *mux.Router {
	r := mux.NewRouter()
	xmlapi.New(nil, nil, nil).Routes(r)
	jsonapi.New(nil, nil, nil, 0).Routes(r)
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

// TestRenderCacheConcurrent renames a user over and over through both APIs
// while readers read it through both: a read sent after a rename's response
// arrived never shows an older name.
func TestRenderCacheConcurrent(t *testing.T) {
	s := newServer(t, serverOptions{})
	id := v2ID(t, s.do(owner, "POST", "/api/v2/users", crossJSONType, `{"user":{"name":"Name 0","email":"racer@example.com"}}`), "user")
	var renamed atomic.Int64 // the last rename whose response has arrived
	var wg sync.WaitGroup
	const renames = 40
	wg.Go(func() {
		for n := int64(1); n <= renames; n++ {
			var r response
			if n%2 == 0 {
				r = s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), crossJSONType, fmt.Sprintf(`{"user":{"name":"Name %d"}}`, n))
			} else {
				r = s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, fmt.Sprintf(`<user><name>Name %d</name></user>`, n))
			}
			if r.status != 200 {
				t.Errorf("rename %d: %d %s", n, r.status, r.body)
			}
			renamed.Store(n)
		}
	})
	nameIn := regexp.MustCompile(`Name (\d+)`)
	for reader := range 4 {
		wg.Go(func() {
			for i := 0; renamed.Load() < renames; i++ {
				least := renamed.Load()
				path := fmt.Sprintf("/api/v2/users/%d", id)
				if (reader+i)%2 == 0 {
					path = fmt.Sprintf("/users/%d.xml", id)
				}
				r := s.do(owner, "GET", path, "", "")
				m := nameIn.FindSubmatch(r.body)
				if r.status != 200 || m == nil {
					t.Errorf("%s: %d %s", path, r.status, r.body)
					return
				}
				if n, _ := strconv.ParseInt(string(m[1]), 10, 64); n < least {
					t.Errorf("%s showed Name %d after rename %d was answered", path, n, least)
				}
			}
		})
	}
	wg.Wait()
}
