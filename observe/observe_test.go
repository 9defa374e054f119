package observe

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
)

// TestTemplate leaves the variables' patterns out of route templates, also
// patterns with braces of their own.
func TestTemplate(t *testing.T) {
	for _, tc := range []struct{ route, path, want string }{
		{"/users/{id:[0-9]+}.xml", "/users/7.xml", "/users/{id}.xml"},
		{"/api/v2/users/{user_id:[0-9]+}{json:(?:\\.json)?}", "/api/v2/users/7.json", "/api/v2/users/{user_id}{json}"},
		{"/codes/{code:[a-z]{2,3}}/{n}", "/codes/abc/9", "/codes/{code}/{n}"},
		{"/healthz", "/healthz", "/healthz"},
	} {
		var got string
		r := mux.NewRouter()
		r.HandleFunc(tc.route, func(_ http.ResponseWriter, r *http.Request) { got = Template(r) })
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != 200 || got != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.route, rec.Code, got, tc.want)
		}
	}
}
