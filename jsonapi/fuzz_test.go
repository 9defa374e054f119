package jsonapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/deskgate/deskgate/domain"
)

// Seeds: the v2 bodies the tests send and the hostile ones they refuse
// (v2_test.go, hardening_test.go).
var userSeeds = []string{
	`{"user": {"name": "Roger Wilco", "email": "roger@example.com", "role": "agent"}}`,
	`{"user":{"name":"x","role":7}}`, `{"user":{"name":["x"]}}`, `{"user":{"default_group_id":99999999999999999999}}`,
	`{"user":{"name":"x","organization_id":1e30}}`, `{"user":`, `[1,2,3]`, `{"user":null}`, `{"user":"x"}`,
	`{"user":{"name":"x"}} garbage`, `{"user":{"name":"x"}}{"user":{"name":"y"}}`, "{\"user\":{\"name\":\"\xff\x00\"}}",
	`{"user":{"name":"a","name":"b"}}`, `{"user":{"name":"a","NAME":"b"}}`, `{"user":{"suspended":false,"\u017fuspended":true}}`, `{"user":{"name":"a","user_fields":{"k":[[[[[[[1]]]]]]]}}}`,
	`{"user":{"ticket_restriction":null,"locale_id":1,"tags":["a b"],"user_fields":{"f":"v"},"suspended":true}}`,
	`{"user":{"id":"abc","name":"Mass 2","active":false}}`, `{"user":{"name":"a\u0000b","email":"a\ud800@x.com"}}`, ``,
}

// FuzzDecodeUser: any body either fails as a client error (so nothing is
// written) or decodes to input that decodes the same once written out again.
func FuzzDecodeUser(f *testing.F) {
	for _, s := range userSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := decodeUser(body)
		if err != nil {
			if !clientError(err) {
				t.Fatalf("%q: %v is not a client error", body, err)
			}
			return
		}
		in.changes() // must not panic; its errors are Invalid fields
		// Written out again (numbers kept as written), it reads the same.
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q decoded, but not as a value: %v", body, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeUser(string(out))
		if err != nil || !reflect.DeepEqual(in, again) {
			t.Fatalf("%q decoded as %+v, written as %s, decoded again as %+v (%v)", body, in, out, again, err)
		}
	})
}

func decodeUser(body string) (userInput, error) {
	r := httptest.NewRequest("POST", "/api/v2/users", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r = r.WithContext(domain.WithActor(r.Context(), &domain.Actor{ID: 1, Role: domain.Admin}))
	var in userInput
	err := decode(r, "user", &in)
	return in, err
}

// clientError reports whether err answers 4xx in the v2 shape.
func clientError(err error) bool {
	var attr *attributeError
	var media *mediaTypeError
	var tooBig *http.MaxBytesError
	_, known := status[domain.KindOf(err)]
	return known || errors.As(err, &attr) || errors.As(err, &media) || errors.As(err, &tooBig)
}

// FuzzPageRequest: any query either fails as a client error or reads as a
// page request that reads the same once written back into a query.
func FuzzPageRequest(f *testing.F) {
	for _, q := range []string{
		"per_page=100000", "per_page=0", "page=-1", "page=abc", "page=1e3", "page=99999999999999999999",
		"page=101&per_page=100", "page[size]=101", "page[size]=-1", "page[size]=10&page[after]=%25%25%25",
		"page[size]=1&page[after]=a&page[before]=b", "page=2&per_page=100", "page%5Bsize%5D=5", "page=+1", "page=%00", "",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		p, err := pageOf(query)
		if err != nil {
			if domain.KindOf(err) != domain.BadRequest {
				t.Fatalf("%q: %v is not a client error", query, err)
			}
			return
		}
		if p.Size < 0 || p.Number < 0 {
			t.Fatalf("%q read as %+v", query, p)
		}
		again, err := pageOf(pageQuery(p))
		if err != nil || again != p {
			t.Fatalf("%q read as %+v, written as %q, read again as %+v (%v)", query, p, pageQuery(p), again, err)
		}
	})
}

func pageOf(query string) (domain.PageRequest, error) {
	r := httptest.NewRequest("GET", "/api/v2/users", nil)
	r.URL.RawQuery = query
	return pageRequest(r)
}

// pageQuery writes p back as the query a client would send.
func pageQuery(p domain.PageRequest) string {
	q := url.Values{}
	if p.Cursor {
		q.Set("page[size]", "")
		if p.Size != 0 {
			q.Set("page[size]", strconv.Itoa(p.Size))
		}
		q.Set("page[after]", p.After)
		q.Set("page[before]", p.Before)
		return q.Encode()
	}
	if p.Number != 0 {
		q.Set("page", strconv.Itoa(p.Number))
	}
	if p.Size != 0 {
		q.Set("per_page", strconv.Itoa(p.Size))
	}
	return q.Encode()
}
