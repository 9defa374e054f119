package deskgate_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
)

// Browser sessions: POST /access/login, the session cookie with its CSRF
// rule, and the session endpoints of the v2 API.

// browser is a signed-in browser: its session cookie and the authenticity
// token the page echoes.
type browser struct {
	cookie, token string
	sessionID     int64
}

// sessionDo sends a request with the session cookie; csrf, when not empty,
// goes in X-CSRF-Token.
func (s *server) sessionDo(b browser, csrf, method, path, body string) response {
	s.t.Helper()
	return s.send(method, path, body, func(h http.Header) {
		h.Set("Cookie", jsonapi.SessionCookie+"="+b.cookie)
		if csrf != "" {
			h.Set("X-CSRF-Token", csrf)
		}
		if body != "" {
			h.Set("Content-Type", "application/json")
		}
	})
}

// login posts a JSON sign-in and returns the response.
func (s *server) login(email, password string) response {
	s.t.Helper()
	return s.do(creds{}, "POST", "/access/login", "application/json", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
}

// signIn signs in and returns the browser, failing the test otherwise.
func (s *server) signIn(email, password string) browser {
	s.t.Helper()
	r := s.login(email, password)
	v2Want(s.t, r, http.StatusOK)
	var body struct {
		Session           []struct{ ID int64 }
		AuthenticityToken string `json:"authenticity_token"`
	}
	v2Decode(s.t, r, &body)
	b := browser{token: body.AuthenticityToken, sessionID: body.Session[0].ID}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == jsonapi.SessionCookie {
			b.cookie = c.Value
		}
	}
	if b.cookie == "" || b.token == "" {
		s.t.Fatalf("sign-in without cookie or token: %s", r.dump())
	}
	return b
}

var setCookieValue = regexp.MustCompile(jsonapi.SessionCookie + `=[^;]+`)

// sessionDump is v2dump plus the Set-Cookie header, its secret replaced.
func sessionDump(r response) []byte {
	out := v2dump(r)
	if c := r.header.Get("Set-Cookie"); c != "" {
		c = setCookieValue.ReplaceAllString(c, jsonapi.SessionCookie+"=<secret>")
		out = []byte(strings.Replace(string(out), "\n\n", "\nSet-Cookie: "+c+"\n\n", 1))
	}
	return out
}

// meToken reads the authenticity token GET /users/me shows the browser.
func (s *server) meToken(b browser) string {
	s.t.Helper()
	r := s.sessionDo(b, "", "GET", "/api/v2/users/me", "")
	v2Want(s.t, r, http.StatusOK)
	var me struct {
		User struct {
			AuthenticityToken string `json:"authenticity_token"`
		}
	}
	v2Decode(s.t, r, &me)
	return me.User.AuthenticityToken
}

func TestSessionWalk(t *testing.T) {
	s := newServer(t, serverOptions{})
	emma := v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	userPath := fmt.Sprintf("/api/v2/users/%d", emma.ID)

	login := s.login("EMMA@example.com", "emma-secret-1")
	golden(t, "sessions/login.golden", sessionDump(login))
	set := login.header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Secure", "Path=/"} {
		if !strings.Contains(set, attr) {
			t.Errorf("Set-Cookie %q lacks %s", set, attr)
		}
	}
	// Over plain http without an https base URL the cookie cannot be Secure.
	plain := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "http://help.internal/access/login", strings.NewReader("email=emma%40example.com&password=emma-secret-1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	deskgate.NewHandler(s.svc, deskgate.Options{}).ServeHTTP(plain, req)
	if c := plain.Header().Get("Set-Cookie"); plain.Code != http.StatusOK || strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("plain http sign-in: %d, Set-Cookie %q", plain.Code, c)
	}

	b := s.signIn("emma@example.com", "emma-secret-1")
	if got := s.meToken(b); got != b.token {
		t.Errorf("/users/me token %q, sign-in gave %q", got, b.token)
	}

	// A state change without the token is refused, and nothing changes.
	refused := s.sessionDo(b, "", "PUT", userPath, `{"user":{"name":"Emma Changed"}}`)
	golden(t, "sessions/error_403_no_csrf_token.golden", v2dump(refused))
	if u, _ := s.svc.User(v2AdminCtx(), emma.ID); u.Name != "Emma End" {
		t.Errorf("refused update changed the name to %q", u.Name)
	}
	v2Want(t, s.sessionDo(b, "wrong-token", "PUT", userPath, `{"user":{"name":"Emma Changed"}}`), http.StatusForbidden)
	v2Want(t, s.sessionDo(b, b.token, "PUT", userPath, `{"user":{"name":"Emma Changed"}}`), http.StatusOK)
	// Reads need no token; Basic requests never do.
	v2Want(t, s.sessionDo(b, "", "GET", userPath, ""), http.StatusOK)
	v2Want(t, s.do(owner, "PUT", userPath, "application/json", `{"user":{"notes":"basic"}}`), http.StatusOK)
	// The legacy API honours the session and the same rule.
	legacyRefused := s.sessionDo(b, "", "PUT", fmt.Sprintf("/users/%d.xml", emma.ID), "")
	golden(t, "legacy/error_403_session_without_csrf_token.golden", legacyRefused.dump())

	s.clock.Advance(10 * time.Minute)
	v2Want(t, s.sessionDo(b, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	renew := s.sessionDo(b, "", "GET", "/api/v2/users/me/session/renew", "")
	var renewed struct {
		AuthenticityToken string `json:"authenticity_token"`
	}
	v2Decode(t, renew, &renewed)
	if renewed.AuthenticityToken == "" || renewed.AuthenticityToken == b.token {
		t.Fatalf("renew gave token %q, had %q", renewed.AuthenticityToken, b.token)
	}
	if got := s.meToken(b); got != renewed.AuthenticityToken {
		t.Errorf("/users/me after renew shows %q, want the new token", got)
	}
	v2Want(t, s.sessionDo(b, b.token, "PUT", userPath, `{"user":{"name":"Emma Old Token"}}`), http.StatusForbidden)
	b.token = renewed.AuthenticityToken
	v2Want(t, s.sessionDo(b, b.token, "PUT", userPath, `{"user":{"name":"Emma New Token"}}`), http.StatusOK)

	v2Want(t, s.sessionDo(b, "", "DELETE", "/api/v2/users/me/logout", ""), http.StatusForbidden)
	out := s.sessionDo(b, b.token, "DELETE", "/api/v2/users/me/logout", "")
	golden(t, "sessions/logout.golden", sessionDump(out))
	if out.status != http.StatusNoContent || !strings.Contains(out.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout: %d, Set-Cookie %q", out.status, out.header.Get("Set-Cookie"))
	}
	after := s.sessionDo(b, "", "GET", userPath, "")
	golden(t, "sessions/error_401_after_logout.golden", v2dump(after))
	v2Want(t, s.sessionDo(b, b.token, "PUT", userPath, `{"user":{"name":"Emma Gone"}}`), http.StatusUnauthorized)

	logs, err := os.ReadFile(s.logs)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{b.cookie, b.token, "emma-secret-1"} {
		if strings.Contains(string(logs), secret) {
			t.Errorf("the server logged a secret")
		}
	}
}

// TestSessionEndsWithTheUser: deactivating (either API), suspending, and a
// password change end every session of the user.
func TestSessionEndsWithTheUser(t *testing.T) {
	s := newServer(t, serverOptions{adminSetPasswords: true})
	for _, tc := range []struct {
		name   string
		change func(id int64) response
	}{
		{"legacy delete", func(id int64) response {
			return s.do(owner, "DELETE", fmt.Sprintf("/users/%d.xml", id), "", "")
		}},
		{"legacy deactivation", func(id int64) response {
			return s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><is-active>false</is-active></user>`)
		}},
		{"v2 delete", func(id int64) response {
			return s.do(owner, "DELETE", fmt.Sprintf("/api/v2/users/%d", id), "", "")
		}},
		{"v2 suspension", func(id int64) response {
			return s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", id), "application/json", `{"user":{"suspended":true}}`)
		}},
		{"legacy password change", func(id int64) response {
			return s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><password>brand-new-pass</password></user>`)
		}},
		{"v2 own password change", func(id int64) response {
			self := creds{"v2-own-password-change@example.com", "agent-pass-1"}
			return s.do(self, "PUT", fmt.Sprintf("/api/v2/users/%d/password", id), "application/json",
				`{"previous_password":"agent-pass-1","password":"brand-new-pass"}`)
		}},
		{"v2 admin sets password", func(id int64) response {
			return s.do(owner, "POST", fmt.Sprintf("/api/v2/users/%d/password", id), "application/json", `{"password":"brand-new-pass"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			email := strings.ReplaceAll(tc.name, " ", "-") + "@example.com"
			id := s.addUser("Agent "+tc.name, email, domain.Agent, "agent-pass-1")
			b := s.signIn(email, "agent-pass-1")
			s.signIn(email, "agent-pass-1") // a second browser
			live := func() int {
				t.Helper()
				var list struct{ Sessions []any }
				v2Decode(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/sessions", id), "", ""), &list)
				return len(list.Sessions)
			}
			if n := live(); n != 2 {
				t.Fatalf("%d live sessions before the change, want both browsers'", n)
			}
			if r := tc.change(id); r.status != http.StatusOK {
				t.Fatalf("change: %s", r.dump())
			}
			if n := live(); n != 0 {
				t.Errorf("%d live sessions after the change", n)
			}
			v2Want(t, s.sessionDo(b, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)
			legacyWant(t, s.sessionDo(b, "", "GET", fmt.Sprintf("/users/%d.xml", id), ""), http.StatusUnauthorized)
			if strings.Contains(tc.name, "password") {
				mails := s.outbox("?recipient=" + email)
				if last := mails[len(mails)-1]; last.Subject != "Your password has been changed" || last.UserID == nil || *last.UserID != id {
					t.Errorf("last mail to %s: %+v", email, last)
				}
			}
		})
	}
	// A suspended user cannot sign in again either.
	v2Want(t, s.login("v2-suspension@example.com", "agent-pass-1"), http.StatusUnauthorized)
}

func TestSessionHostile(t *testing.T) {
	s := newServer(t, serverOptions{})
	emma := v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	otto := v2EndUser(t, s, "Otto Other", "otto@example.com", "otto-secret-1")
	eb := s.signIn("emma@example.com", "emma-secret-1")
	ob := s.signIn("otto@example.com", "otto-secret-1")
	emmaPath := fmt.Sprintf("/api/v2/users/%d", emma.ID)

	for _, tc := range []struct{ name, email, password string }{
		{"wrong_password", "emma@example.com", "emma-secret-2"},
		{"unknown_email", "nobody@example.com", "emma-secret-1"},
		{"empty", "", ""},
	} {
		r := s.login(tc.email, tc.password)
		golden(t, "sessions/error_401_login_"+tc.name+".golden", sessionDump(r))
	}
	golden(t, "sessions/error_400_login_text_body.golden", v2dump(s.do(creds{}, "POST", "/access/login", "text/plain", "emma")))
	golden(t, "sessions/error_400_login_malformed_json.golden", v2dump(s.do(creds{}, "POST", "/access/login", "application/json", `{"email":1}`)))
	form := url.Values{"email": {"emma@example.com"}, "password": {"emma-secret-1"}}.Encode()
	v2Want(t, s.do(creds{}, "POST", "/access/login", "application/x-www-form-urlencoded", form), http.StatusOK)

	forged := browser{cookie: strings.Repeat("A", 40), token: eb.token}
	golden(t, "sessions/error_401_forged_cookie.golden", v2dump(s.sessionDo(forged, "", "GET", emmaPath, "")))
	v2Want(t, s.sessionDo(browser{cookie: eb.cookie + "x"}, "", "GET", emmaPath, ""), http.StatusUnauthorized)

	// Otto's token does not let Emma's session change anything.
	v2Want(t, s.sessionDo(eb, ob.token, "PUT", emmaPath, `{"user":{"name":"Forged"}}`), http.StatusForbidden)

	// Another user's session in the path is not found, for its owner too
	// when named under the wrong user; another user's list is forbidden.
	foreign := s.sessionDo(eb, "", "GET", fmt.Sprintf("%s/sessions/%d", emmaPath, ob.sessionID), "")
	golden(t, "sessions/error_404_foreign_session.golden", v2dump(foreign))
	v2Want(t, s.do(owner, "GET", fmt.Sprintf("%s/sessions/%d", emmaPath, ob.sessionID), "", ""), http.StatusNotFound)
	v2Want(t, s.sessionDo(eb, eb.token, "DELETE", fmt.Sprintf("%s/sessions/%d", emmaPath, ob.sessionID), ""), http.StatusNotFound)
	golden(t, "sessions/error_403_other_users_sessions.golden",
		v2dump(s.sessionDo(eb, "", "GET", fmt.Sprintf("/api/v2/users/%d/sessions", otto.ID), "")))
	v2Want(t, s.sessionDo(eb, eb.token, "DELETE", fmt.Sprintf("/api/v2/users/%d/sessions", otto.ID), ""), http.StatusForbidden)
	v2Want(t, s.sessionDo(ob, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK) // Otto's session survived all that
	golden(t, "sessions/error_403_logout_many_end_user.golden",
		v2dump(s.sessionDo(eb, eb.token, "POST", fmt.Sprintf("/api/v2/users/logout_many?ids=%d", otto.ID), "")))
	many := strings.TrimSuffix(strings.Repeat("7,", domain.MaxIDs+1), ",")
	golden(t, "sessions/error_400_logout_many_too_many.golden", v2dump(s.do(owner, "POST", "/api/v2/users/logout_many?ids="+many, "", "")))
	golden(t, "sessions/error_400_logout_many_no_ids.golden", v2dump(s.do(owner, "POST", "/api/v2/users/logout_many", "", "")))
	v2Want(t, s.do(owner, "GET", "/api/v2/users/999999/sessions", "", ""), http.StatusNotFound)

	// Basic requests have no session: nothing to show or renew, and logout does nothing.
	golden(t, "sessions/error_404_basic_me_session.golden", v2dump(s.do(owner, "GET", "/api/v2/users/me/session", "", "")))
	v2Want(t, s.do(owner, "GET", "/api/v2/users/me/session/renew", "", ""), http.StatusNotFound)
	v2Want(t, s.do(owner, "DELETE", "/api/v2/users/me/logout", "", ""), http.StatusNoContent)
	// Basic credentials win over a cookie sent alongside.
	r := s.send("PUT", emmaPath, `{"user":{"notes":"both"}}`, func(h http.Header) {
		h.Set("Cookie", jsonapi.SessionCookie+"="+eb.cookie)
		h.Set("Authorization", "Basic b3duZXJAZXhhbXBsZS5jb20vdG9rZW46b3duZXItYXBpLXRva2VuLTAxMjM0NTY3ODk=")
		h.Set("Content-Type", "application/json")
	})
	v2Want(t, r, http.StatusOK)
}

// TestSessionLifetimes drives the clock: the idle and absolute lifetimes,
// last_seen_at refreshed at most once a minute, and the purge.
func TestSessionLifetimes(t *testing.T) {
	s := newServer(t, serverOptions{})
	v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	b := s.signIn("emma@example.com", "emma-secret-1")
	lastSeen := func() string {
		var body struct {
			Session []struct {
				LastSeenAt string `json:"last_seen_at"`
			}
		}
		v2Decode(t, s.sessionDo(b, "", "GET", "/api/v2/users/me/session", ""), &body)
		return body.Session[0].LastSeenAt
	}
	signedIn := lastSeen()
	s.clock.Advance(30 * time.Second)
	if got := lastSeen(); got != signedIn {
		t.Errorf("last_seen_at moved to %s after 30 s; it is refreshed at most once a minute", got)
	}
	s.clock.Advance(31 * time.Second)
	if got := lastSeen(); got == signedIn {
		t.Errorf("last_seen_at still %s after a minute", got)
	}

	// Kept busy, the session still ends 8 hours after sign-in.
	for range 7 {
		s.clock.Advance(time.Hour)
		v2Want(t, s.sessionDo(b, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	}
	s.clock.Advance(time.Hour)
	golden(t, "sessions/error_401_expired_cookie.golden", v2dump(s.sessionDo(b, "", "GET", "/api/v2/users/me/session", "")))

	// Left alone, a session ends after 2 hours; a renewal restarts the 8.
	idle := s.signIn("emma@example.com", "emma-secret-1")
	busy := s.signIn("emma@example.com", "emma-secret-1")
	s.clock.Advance(time.Hour + 59*time.Minute)
	v2Want(t, s.sessionDo(idle, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	s.clock.Advance(2 * time.Hour)
	v2Want(t, s.sessionDo(idle, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)
	v2Want(t, s.sessionDo(busy, "", "GET", "/api/v2/users/me/session/renew", ""), http.StatusUnauthorized) // idle too
	busy = s.signIn("emma@example.com", "emma-secret-1")
	for range 7 {
		s.clock.Advance(time.Hour)
		v2Want(t, s.sessionDo(busy, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	}
	v2Want(t, s.sessionDo(busy, "", "GET", "/api/v2/users/me/session/renew", ""), http.StatusOK)
	for range 3 {
		s.clock.Advance(time.Hour)
		v2Want(t, s.sessionDo(busy, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	}
	// Remembered in memory, a session still ends on time when nothing was written since.
	quiet := s.signIn("emma@example.com", "emma-secret-1")
	v2Want(t, s.sessionDo(quiet, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	s.clock.Advance(2 * time.Hour)
	v2Want(t, s.sessionDo(quiet, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)

	n, err := s.svc.PurgeSessions(context.Background())
	if err != nil || n != 5 {
		t.Errorf("purge removed %d sessions (%v), want all 5: every one is over by now", n, err)
	}
}

// sessionScenario is every session response shape, for the goldens and the
// schema check; all bodies are JSON.
func sessionScenario(t *testing.T) []v2Step {
	t.Helper()
	s := newServer(t, serverOptions{})
	emma := v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	eb := s.signIn("emma@example.com", "emma-secret-1")
	s.clock.Advance(10 * time.Minute)
	second := s.signIn("emma@example.com", "emma-secret-1")
	s.clock.Advance(10 * time.Minute)
	ob := s.signIn(ownerEmail, ownerPassword)
	var steps []v2Step
	add := func(name, view string, r response) {
		steps = append(steps, v2Step{name, view, r})
	}
	user := fmt.Sprintf("/api/v2/users/%d/sessions", emma.ID)
	add("me_session", "", s.sessionDo(eb, "", "GET", "/api/v2/users/me/session", ""))
	add("session_show", "", s.sessionDo(eb, "", "GET", fmt.Sprintf("%s/%d", user, second.sessionID), ""))
	add("sessions_of_user_offset", "", s.do(owner, "GET", user, "", ""))
	add("sessions_of_user_cursor", "", s.do(owner, "GET", user+"?page[size]=1", "", ""))
	add("sessions_account_admin", "", s.sessionDo(ob, "", "GET", "/api/v2/sessions", ""))
	add("sessions_account_end_user", "", s.sessionDo(eb, "", "GET", "/api/v2/sessions?page[size]=10", ""))
	add("session_renew", "", s.sessionDo(eb, "", "GET", "/api/v2/users/me/session/renew", ""))
	return steps
}

func TestSessionGoldens(t *testing.T) {
	s := newServer(t, serverOptions{})
	emma := v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	for _, st := range sessionScenario(t) {
		golden(t, "sessions/"+st.name+".golden", v2dump(st.r))
	}

	// The answers without a body.
	eb := s.signIn("emma@example.com", "emma-secret-1")
	second := s.signIn("emma@example.com", "emma-secret-1")
	user := fmt.Sprintf("/api/v2/users/%d/sessions", emma.ID)
	golden(t, "sessions/session_delete.golden", v2dump(s.sessionDo(eb, eb.token, "DELETE", fmt.Sprintf("%s/%d", user, second.sessionID), "")))
	v2Want(t, s.sessionDo(second, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)
	v2Want(t, s.sessionDo(eb, "", "GET", "/api/v2/users/me/session", ""), http.StatusOK)
	golden(t, "sessions/sessions_delete_all.golden", v2dump(s.do(owner, "DELETE", user, "", "")))
	v2Want(t, s.sessionDo(eb, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)

	eb = s.signIn("emma@example.com", "emma-secret-1")
	many := s.do(owner, "POST", fmt.Sprintf("/api/v2/users/logout_many?ids=%d,999", emma.ID), "", "")
	golden(t, "sessions/logout_many.golden", v2dump(many))
	v2Want(t, s.sessionDo(eb, "", "GET", "/api/v2/users/me/session", ""), http.StatusUnauthorized)
}

// TestSessionAccountList: admins list every session, others their own.
func TestSessionAccountList(t *testing.T) {
	s := newServer(t, serverOptions{})
	v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	eb := s.signIn("emma@example.com", "emma-secret-1")
	ob := s.signIn(ownerEmail, ownerPassword)
	count := func(b browser) int {
		var body struct{ Count int }
		v2Decode(t, s.sessionDo(b, "", "GET", "/api/v2/sessions", ""), &body)
		return body.Count
	}
	if got := count(ob); got != 2 {
		t.Errorf("admin sees %d sessions, want 2", got)
	}
	if got := count(eb); got != 1 {
		t.Errorf("end user sees %d sessions, want its own 1", got)
	}
}

// TestSessionSignInLimited: sign-in checks the password where Basic auth
// does, so the limit on failed authentication holds it back too, even for
// the right password.
func TestSessionSignInLimited(t *testing.T) {
	s := newServer(t, serverOptions{})
	v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	for i := range 10 {
		if r := s.login("emma@example.com", fmt.Sprintf("wrong-%d", i)); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %s", i, r.dump())
		}
	}
	r := s.login("emma@example.com", "emma-secret-1")
	golden(t, "sessions/error_429_login_after_failures.golden", v2dump(r))
	if r.status != http.StatusTooManyRequests || r.header.Get("Set-Cookie") != "" {
		t.Errorf("sign-in past the failure limit: %d, Set-Cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
}

// TestSessionRefusalWithoutChallenge: a 401 to a request that came with a
// session cookie has no Basic challenge, which would make the browser pop
// up its password dialog over the page; API clients without one still get it.
func TestSessionRefusalWithoutChallenge(t *testing.T) {
	s := newServer(t, serverOptions{})
	v2EndUser(t, s, "Emma End", "emma@example.com", "emma-secret-1")
	b := s.signIn("emma@example.com", "emma-secret-1")
	s.clock.Advance(9 * time.Hour) // past the absolute lifetime
	for _, tc := range []struct {
		name      string
		r         response
		challenge string
	}{
		{"expired cookie", s.sessionDo(b, "", "GET", "/api/v2/users/me/session", ""), ""},
		{"forged cookie", s.sessionDo(browser{cookie: strings.Repeat("A", 40)}, "", "GET", "/api/v2/users/me/session", ""), ""},
		{"no credentials", s.do(creds{}, "GET", "/api/v2/users/me/session", "", ""), `Basic realm="Web Password"`},
	} {
		if tc.r.status != http.StatusUnauthorized || tc.r.header.Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: %d, WWW-Authenticate %q, want 401 with %q", tc.name, tc.r.status, tc.r.header.Get("WWW-Authenticate"), tc.challenge)
		}
	}
}
