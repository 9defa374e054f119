package deskgate_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzBasicAuth: whatever the Authorization header holds, the server answers
// 200 only to the owner's exact credentials, refuses everything else as a
// v2 error (401, or 429 once failed attempts are limited), never fails
// itself, and writes nothing.
func FuzzBasicAuth(f *testing.F) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, h := range []string{
		basic(ownerEmail + "/token:" + ownerToken), basic(ownerEmail + ":" + ownerPassword), basic(ownerEmail + ":wrong"),
		basic(ownerEmail + "/token:" + ownerPassword), basic(ownerEmail + ":" + ownerToken), basic(ownerEmail + ":"),
		basic(":" + ownerPassword), basic("/token:x"), basic(ownerEmail), basic("\x00:\x00"), basic("OWNER@EXAMPLE.COM/token:" + ownerToken),
		"Basic", "Basic ", "Basic !!!", "Bearer " + ownerToken, "basic " + base64.StdEncoding.EncodeToString([]byte(ownerEmail+":x")), "",
	} {
		f.Add(h)
	}
	s := newServer(f, serverOptions{})
	h := s.Server.Config.Handler
	s.do(owner, "GET", "/users/1.xml", "", "") // the owner's sign-in, recorded before the snapshot
	before := s.v2Snapshot()
	f.Fuzz(func(t *testing.T, header string) {
		s.t = t // the server's helpers report to the input being run (inputs run one at a time)
		req := httptest.NewRequest("GET", "/api/v2/users/1.json", nil)
		req.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		user, pass, _ := req.BasicAuth()
		owner := strings.EqualFold(user, ownerEmail) && pass == ownerPassword || strings.EqualFold(user, ownerEmail+"/token") && pass == ownerToken
		switch code := w.Code; {
		case owner && code == http.StatusOK:
		case !owner && (code == http.StatusUnauthorized || code == http.StatusTooManyRequests) && isV2Error(w.Body.Bytes()):
		default:
			t.Fatalf("%q (user %q): %d %s", header, user, code, w.Body)
		}
		if s.v2Snapshot() != before {
			t.Fatalf("%q wrote", header)
		}
	})
}
