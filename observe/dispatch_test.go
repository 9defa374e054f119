package observe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/mux"
)

// TestDispatch answers every request as mux.Router.ServeHTTP does, matched
// routes, redirects to a cleaned path, 404 and 405 alike, and hands the
// matched route's variables to Vars and CurrentRoute without mux's copies
// of the request.
func TestDispatch(t *testing.T) {
	type answer struct {
		Code           int
		Location, Body string
		CopiedByMux    bool
	}
	serve := func(h http.Handler, method, path string) answer {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return answer{Code: w.Code, Location: w.Header().Get("Location"), Body: w.Body.String()}
	}
	router := mux.NewRouter()
	var copied bool
	show := func(w http.ResponseWriter, r *http.Request) {
		copied = mux.Vars(r) != nil
		template, _ := CurrentRoute(r).GetPathTemplate()
		fmt.Fprintf(w, "%s %v", template, Vars(r))
	}
	router.HandleFunc("/users/{id:[0-9]+}{xml:(?:\\.xml)?}", show).Methods(http.MethodGet)
	router.HandleFunc("/users/{id:[0-9]+}", show).Methods(http.MethodDelete)
	router.HandleFunc("/files/{name}", show).Methods(http.MethodGet)
	router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("none %v %v", Vars(r), CurrentRoute(r) == nil), http.StatusNotFound)
	})
	router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not this method", http.StatusMethodNotAllowed)
	})
	dispatched := Requests(Dispatch(router), Config{})
	for _, tc := range []struct {
		method, path string
		byDispatch   bool // served from the capture, not by mux
	}{
		{"GET", "/users/7.xml", true},
		{"GET", "/users/7", true},
		{"DELETE", "/users/7", true},
		{"PUT", "/users/7", false},
		{"GET", "/users//7", false},
		{"GET", "/users/./7", false},
		{"GET", "/users/x/../7", false},
		{"GET", "/users/7/", false},
		{"GET", "/files/x", true},
		{"GET", "/files/.profile", false},
		{"GET", "/files/..", false}, // a route matches: only the path tells
		{"GET", "/files/.", false},
		{"GET", "/nothing", false},
	} {
		copied = false
		want := serve(router, tc.method, tc.path)
		want.CopiedByMux = copied
		copied = false
		got := serve(dispatched, tc.method, tc.path)
		got.CopiedByMux = copied
		if want.Code == http.StatusOK {
			if !want.CopiedByMux || got.CopiedByMux == tc.byDispatch {
				t.Errorf("%s %s: mux's copy of the vars %v through mux, %v through Dispatch", tc.method, tc.path, want.CopiedByMux, got.CopiedByMux)
			}
		}
		want.CopiedByMux, got.CopiedByMux = false, false
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s: Dispatch answers otherwise than mux (-mux +Dispatch):\n%s", tc.method, tc.path, diff)
		}
	}
}

type otherKey struct{}

// TestCallerSlot: the caller filled into a request's slot is the one its
// context and every context made from it carry; outside Requests there is
// no slot.
func TestCallerSlot(t *testing.T) {
	if slot := CallerSlot(context.Background()); slot != nil {
		t.Fatal("a slot outside Requests")
	}
	actor := &domain.Actor{ID: 7, Role: domain.Agent}
	var before, after, derived *domain.Actor
	h := Requests(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		before = domain.ActorFrom(r.Context())
		CallerSlot(r.Context()).Fill(domain.Origin{Client: "192.0.2.1"}).SetAuthentication(actor, nil)
		after = domain.ActorFrom(r.Context())
		derived = domain.ActorFrom(context.WithValue(r.Context(), otherKey{}, 1))
	}), Config{})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/users/7.xml", nil))
	if before != nil || after != actor || derived != actor {
		t.Errorf("actor before the slot is filled %v, after %v, in a derived context %v; want nil, %v, %v", before, after, derived, actor, actor)
	}
}
