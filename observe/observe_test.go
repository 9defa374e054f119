package observe

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

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

// sinkFunc makes a Sink of a function.
type sinkFunc func(Request)

func (f sinkFunc) Record(r Request) { f(r) }

// TestRequestsRecordOnce: a sink hears of each API request once, before
// its answer's body goes out, with the status 0 of a request no answer
// went out for.
func TestRequestsRecordOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"answered", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("body"))
		}, http.StatusCreated},
		{"silent", func(http.ResponseWriter, *http.Request) {}, http.StatusOK},
		{"aborted", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			var got []Request
			h := Requests(tc.handler, Config{Now: time.Now, Sinks: []Sink{sinkFunc(func(r Request) {
				if w.Body.Len() != 0 {
					t.Errorf("recorded after %q went out", w.Body)
				}
				got = append(got, r)
			})}})
			func() {
				defer func() { recover() }()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/users/7.xml?query=x", nil))
			}()
			if len(got) != 1 || got[0].Status != tc.want || got[0].Path != "/users/7.xml" || got[0].Query != "query=x" || got[0].Protocol != "legacy" {
				t.Errorf("recorded %+v, want one legacy request with status %d", got, tc.want)
			}
		})
	}
}

// Every body written whole goes out with its length, whether net/http or
// SetContentLength spells it, and none goes out chunked.
func TestSetContentLength(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		SetContentLength(w.Header(), n)
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte("x"), n))
	}))
	defer srv.Close()
	for _, n := range []int{0, 10, heldWhole, heldWhole + 1, 100_000} {
		res, err := srv.Client().Get(srv.URL + "?n=" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.ContentLength != int64(n) || len(res.TransferEncoding) != 0 || len(body) != n {
			t.Errorf("%d bytes: Content-Length %d, Transfer-Encoding %v, %d bytes read", n, res.ContentLength, res.TransferEncoding, len(body))
		}
	}
}

// TestDateHeader: an answer is dated when it goes out, unless its handler
// dated it itself (test mode's clock does).
func TestDateHeader(t *testing.T) {
	const own = "Mon, 02 Jan 2006 15:04:05 GMT"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"written", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("body")) }},
		{"status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{"silent", func(http.ResponseWriter, *http.Request) {}},
		{"own", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Date", own) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			w := httptest.NewRecorder()
			Requests(tc.handler, Config{}).ServeHTTP(w, httptest.NewRequest("GET", "/users.xml", nil))
			after := time.Now()
			got := w.Header().Values("Date")
			if tc.name == "own" {
				if len(got) != 1 || got[0] != own {
					t.Fatalf("Date %q, want the handler's %q", got, own)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Date %q, want one", got)
			}
			at, err := http.ParseTime(got[0])
			if err != nil || at.Before(before) || at.After(after) {
				t.Errorf("Date %q (%v), want a time from %v to %v", got[0], err, before, after)
			}
		})
	}
}
