package deskgate_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzBasicAuth: whatever the Authorization header holds, the server answers
// 200 only to the owner's exact credentials, refuses everything else with a
// v2 401, never fails itself, and a refused request writes nothing.
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
		// One failure-limiter window per input: each starts with full
		// buckets, so every input reaches the credential check.
		s.clock.Advance(15 * time.Minute)
		req := httptest.NewRequest("GET", "/api/v2/users/1.json", nil)
		req.Header.Set("Authorization", header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		user, pass, _ := req.BasicAuth()
		owner := strings.EqualFold(user, ownerEmail) && pass == ownerPassword || strings.EqualFold(user, ownerEmail+"/token") && pass == ownerToken
		switch {
		case owner && w.Code == http.StatusOK:
			before = s.v2Snapshot() // a sign-in may refresh last_login_at
		case owner || w.Code != http.StatusUnauthorized || !isV2Error(w.Body.Bytes()):
			t.Fatalf("%q (user %q): %d %s", header, user, w.Code, w.Body)
		case s.v2Snapshot() != before:
			t.Fatalf("%q was refused but wrote", header)
		}
	})
}
