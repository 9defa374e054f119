package deskgate_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
)

// A password in a user update (the legacy <password>) sets it without the
// old one, so it meets the rule of POST /api/v2/users/{id}/password: an
// admin's, on an account that allows it, never on the owner's but by the
// owner; one's own only under credentials that prove the old one.
func TestPasswordThroughUserUpdate(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprintf("admin_set_passwords=%t", allowed), func(t *testing.T) {
			s := newServer(t, serverOptions{adminSetPasswords: allowed})
			adam := creds{"adam@example.com", "admin-pass-1"}
			s.addUser("Adam Admin", adam.user, domain.Admin, adam.pass)
			agnes := creds{"agnes@example.com", "agent-pass-1"}
			agnesID := s.addUser("Agnes Agent", agnes.user, domain.Agent, agnes.pass)
			eddie := creds{"eddie@example.com", "enduser-pass-1"}
			eddieID := s.addUser("Eddie End", eddie.user, domain.EndUser, eddie.pass)
			put := func(c creds, id int64) response {
				return s.do(c, "PUT", fmt.Sprintf("/users/%d.xml", id), legacyXMLType, `<user><password>taken-over-1</password></user>`)
			}

			r := put(adam, 1) // the owner
			legacyWant(t, r, http.StatusForbidden)
			if allowed {
				golden(t, "legacy/error_403_admin_sets_owner_password.golden", r.dump())
			}
			legacyWant(t, put(agnes, eddieID), http.StatusForbidden)
			adminSets := http.StatusForbidden
			if allowed {
				adminSets = http.StatusOK
			}
			legacyWant(t, put(adam, agnesID), adminSets)

			legacyWant(t, s.do(creds{ownerEmail, ownerPassword}, "GET", "/users/1.xml", "", ""), http.StatusOK)
			legacyWant(t, s.do(creds{ownerEmail, "taken-over-1"}, "GET", "/users/1.xml", "", ""), http.StatusUnauthorized)
			legacyWant(t, s.do(eddie, "GET", fmt.Sprintf("/users/%d.xml", eddieID), "", ""), http.StatusOK)
		})
	}

	s := newServer(t, serverOptions{})
	eddieID := v2EndUser(t, s, "Eddie End", "eddie@example.com", "enduser-pass-1").ID
	eb := s.signIn("eddie@example.com", "enduser-pass-1")
	// A stolen session cookie cannot change the password without the old one.
	r := s.send("PUT", fmt.Sprintf("/users/%d.xml", eddieID), `<user><password>taken-over-1</password></user>`, func(h http.Header) {
		h.Set("Cookie", jsonapi.SessionCookie+"="+eb.cookie)
		h.Set("X-CSRF-Token", eb.token)
		h.Set("Content-Type", legacyXMLType)
	})
	legacyWant(t, r, http.StatusForbidden)
	golden(t, "legacy/error_403_session_sets_own_password.golden", r.dump())
	// Nor can a leaked API token, the owner's included.
	r = s.do(owner, "PUT", "/users/1.xml", legacyXMLType, `<user><password>taken-over-1</password></user>`)
	legacyWant(t, r, http.StatusForbidden)
	golden(t, "legacy/error_403_token_sets_own_password.golden", r.dump())
	legacyWant(t, s.do(creds{ownerEmail, ownerPassword}, "GET", "/users/1.xml", "", ""), http.StatusOK)
	// Basic email:password proves the old password: one's own change goes ahead.
	legacyWant(t, s.do(creds{"eddie@example.com", "enduser-pass-1"}, "PUT", fmt.Sprintf("/users/%d.xml", eddieID), legacyXMLType,
		`<user><password>enduser-pass-2</password></user>`), http.StatusOK)
}

// The browser sign-in refuses without a Basic challenge, which would make a
// browser pop up its own password dialog; the APIs keep theirs.
func TestLoginRefusalHasNoBasicChallenge(t *testing.T) {
	s := newServer(t, serverOptions{})
	r := s.login(ownerEmail, "wrong-password")
	v2Want(t, r, http.StatusUnauthorized)
	if got := r.header.Values("WWW-Authenticate"); len(got) != 0 {
		t.Errorf("POST /access/login 401 carries WWW-Authenticate %q", got)
	}
	r = s.do(creds{ownerEmail, "wrong-password"}, "GET", "/api/v2/users/me/session", "", "")
	if got := r.header.Get("WWW-Authenticate"); r.status != http.StatusUnauthorized || got != `Basic realm="Web Password"` {
		t.Errorf("v2 401: status %d, WWW-Authenticate %q", r.status, got)
	}
}

// A sign-in posted by another site's page is refused (login CSRF: it would
// sign the victim's browser in to the attacker's account); one from the
// server's own pages, or from a client that is not a browser, goes ahead.
func TestLoginFromAnotherSite(t *testing.T) {
	s := newServer(t, serverOptions{})
	form := "email=owner%40example.com&password=owner-secret"
	for _, tc := range []struct {
		name, header, value string
		want                int
	}{
		{"other site by fetch metadata", "Sec-Fetch-Site", "cross-site", http.StatusForbidden},
		{"sibling site by fetch metadata", "Sec-Fetch-Site", "same-site", http.StatusForbidden},
		{"other origin", "Origin", "https://evil.example", http.StatusForbidden},
		{"opaque origin", "Origin", "null", http.StatusForbidden},
		{"own page by fetch metadata", "Sec-Fetch-Site", "same-origin", http.StatusOK},
		{"own origin", "Origin", testBaseURL, http.StatusOK},
		{"not a browser", "", "", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.send("POST", "/access/login", form, func(h http.Header) {
				h.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.header != "" {
					h.Set(tc.header, tc.value)
				}
			})
			v2Want(t, r, tc.want)
			if set := r.header.Get("Set-Cookie"); (set != "") != (tc.want == http.StatusOK) {
				t.Errorf("Set-Cookie %q with status %d", set, r.status)
			}
			if tc.name == "other origin" {
				golden(t, "sessions/error_403_login_from_another_site.golden", sessionDump(r))
			}
		})
	}
}

// Every refused password costs one argon2id computation, whether the address
// has an account, one without a password, or a suspended one: a quicker
// refusal would tell an attacker timing the answers which addresses are
// worth guessing at.
func TestRefusedPasswordsCostTheSame(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.addUser("Nopass Agent", "nopass@example.com", domain.Agent, "")
	suspended := v2EndUser(t, s, "Sue Suspended", "sue@example.com", "sue-secret-1")
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d", suspended.ID), "application/json", `{"user":{"suspended":true}}`), http.StatusOK)
	for _, c := range []creds{
		{ownerEmail, "wrong-password"},
		{"nobody@example.com", "wrong-password"},
		{"nopass@example.com", "wrong-password"},
		{"sue@example.com", "wrong-password"},
		{"sue@example.com", "sue-secret-1"},
	} {
		before := s.svc.PasswordHashes()
		if r := s.do(c, "GET", "/api/v2/users/me/session", "", ""); r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", c.user, r.status)
		}
		if n := s.svc.PasswordHashes() - before; n != 1 {
			t.Errorf("%s: %d argon2id computations, want 1 as for a wrong password", c.user, n)
		}
	}
}

// The control API answers the failed-authentication limit with a 429, as
// both APIs do, not with a 500.
func TestControlAPIFailedAuthenticationLimit(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	guess := creds{ownerEmail, "guess"}
	for range 10 { // the bound on one account from one address
		if r := s.do(guess, "GET", "/__deskgate/requests", "", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", r.status)
		}
	}
	r := s.do(guess, "GET", "/__deskgate/requests", "", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("past the bound: %s", r.dump())
	}
	golden(t, "testmode/error_429_failed_authentication.golden", r.dump())
}

// The session renewal is a GET, which carries no authenticity token: one
// that another site's page asks for is refused, and the session's token
// stays as it was.
func TestRenewalFromAnotherSite(t *testing.T) {
	s := newServer(t, serverOptions{})
	b := s.signIn(ownerEmail, ownerPassword)
	renew := func(site string) response {
		return s.send("GET", "/api/v2/users/me/session/renew", "", func(h http.Header) {
			h.Set("Cookie", jsonapi.SessionCookie+"="+b.cookie)
			h.Set("Sec-Fetch-Site", site)
		})
	}
	r := renew("cross-site")
	v2Want(t, r, http.StatusForbidden)
	golden(t, "sessions/error_403_renew_from_another_site.golden", v2dump(r))
	if got := s.meToken(b); got != b.token {
		t.Errorf("the refused renewal changed the token")
	}
	v2Want(t, renew("same-origin"), http.StatusOK)
	if got := s.meToken(b); got == b.token {
		t.Errorf("a renewal from the server's own page kept the old token")
	}
}

// A flood of failed token guesses at the owner's account from many
// addresses holds the account back everywhere but where the owner has
// authenticated, including an address first seen by a cached credential:
// the trust it gets names the same account as the failures do.
func TestOwnerAddressesOutlastAFlood(t *testing.T) {
	s := newServer(t, serverOptions{})
	from := func(addr string) context.Context {
		ctx, _ := domain.NewCaller(context.Background(), domain.Origin{Client: addr})
		return ctx
	}
	owner := ownerEmail + "/token"
	// The first sign-in writes the last login, which stales the credential
	// it cached; from the second on the credential is a cache hit.
	for _, addr := range []string{"198.51.100.7", "198.51.100.7", "198.51.100.8"} {
		if _, err := s.svc.Authenticate(from(addr), owner, ownerToken); err != nil {
			t.Fatalf("the owner from %s: %v", addr, err)
		}
	}
	for i := range 120 { // past the per-account bound of 100, at most 10 from each address
		addr := fmt.Sprintf("192.0.2.%d", i/10+1)
		if _, err := s.svc.Authenticate(from(addr), "OWNER@example.com/token", "guess"); domain.KindOf(err) != domain.Unauthenticated && domain.KindOf(err) != domain.TooManyRequests {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := s.svc.Authenticate(from("203.0.113.1"), owner, ownerToken); domain.KindOf(err) != domain.TooManyRequests {
		t.Errorf("the owner from a new address: %v, want the account held back", err)
	}
	for _, addr := range []string{"198.51.100.7", "198.51.100.8"} {
		if _, err := s.svc.Authenticate(from(addr), owner, ownerToken); err != nil {
			t.Errorf("the owner from %s, where they authenticated before: %v", addr, err)
		}
	}
}
