package deskgate_test

import (
	"strconv"
	"testing"
	"time"
)

// TestFailedPasswordsAreRefusedBeforeHashing is issue 7's defect 7: 300
// wrong passwords for one account within 15 s. Past the bound they answer
// 429 with Retry-After and cost no argon2id; the owner, signing in from
// another address meanwhile, is let in.
func TestFailedPasswordsAreRefusedBeforeHashing(t *testing.T) {
	s := newServer(t, serverOptions{})
	attacker := creds{ownerEmail, "guess"}
	const bound = 10 // failures per account and address in 15 minutes
	hashes := s.svc.PasswordHashes()
	for i := range 300 {
		s.clock.Advance(50 * time.Millisecond)
		path := "/api/v2/users/1"
		if i%2 == 1 {
			path = "/users/1.xml"
		}
		r := s.do(attacker, "GET", path, "", "")
		want := 401
		if i >= bound {
			want = 429
		}
		if r.status != want {
			t.Fatalf("attempt %d: %d, want %d: %s", i+1, r.status, want, r.body)
		}
		if want == 429 {
			if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 90 {
				t.Fatalf("attempt %d: Retry-After %q, want whole seconds up to one failure's refill (90)", i+1, r.header.Get("Retry-After"))
			}
		}
		if i == bound {
			golden(t, "v2/error_429_failed_authentication.golden", v2dump(r))
		}
		if i == bound+1 {
			golden(t, "legacy/error_429_failed_authentication.golden", r.dump())
		}
		if i == bound-1 && s.svc.PasswordHashes()-hashes != bound {
			t.Fatalf("%d argon2id computations for %d wrong passwords", s.svc.PasswordHashes()-hashes, bound)
		}
	}
	if n := s.svc.PasswordHashes() - hashes; n != bound {
		t.Errorf("%d argon2id computations for 300 attempts, want %d: the refused ones cost none", n, bound)
	}

	ownerPw := creds{ownerEmail, ownerPassword}
	if r := s.fromAddress("127.0.0.2").do(ownerPw, "GET", "/api/v2/users/me", "", ""); r.status != 200 {
		t.Errorf("the owner from another address: %d %s", r.status, r.body)
	}
	// From the flooded address even the right password waits: an answer
	// would tell the attacker which guess was right. The refusal comes
	// before the body is read, so a malformed one does not change it.
	if r := s.do(ownerPw, "GET", "/users/1.xml", "", ""); r.status != 429 {
		t.Errorf("the right password from the flooded address: %d, want 429", r.status)
	}
	if r := s.do(ownerPw, "POST", "/api/v2/users", "application/json", "{"); r.status != 429 {
		t.Errorf("a malformed body from the flooded address: %d, want 429", r.status)
	}
	s.clock.Advance(90 * time.Second)
	if r := s.do(ownerPw, "GET", "/users/1.xml", "", ""); r.status != 200 {
		t.Errorf("one refill later the right password: %d %s", r.status, r.body)
	}
}

// TestFailuresFromManyAddressesSpareTheOwnersAddress: an attacker with many
// addresses exhausts the account's bound; new addresses then wait, but the
// owner's known address does not. Wrong tokens count as wrong passwords do
// (and cost no argon2id, which keeps the test fast).
func TestFailuresFromManyAddressesSpareTheOwnersAddress(t *testing.T) {
	s := newServer(t, serverOptions{})
	ownerPw := creds{ownerEmail, ownerPassword}
	if r := s.do(ownerPw, "GET", "/api/v2/users/me", "", ""); r.status != 200 {
		t.Fatalf("owner: %d", r.status)
	}
	for i := range 11 {
		attacker := s.fromAddress("127.0.1." + strconv.Itoa(i+1))
		for range 10 {
			attacker.do(creds{ownerEmail + "/token", "guess"}, "GET", "/api/v2/users/1", "", "")
		}
	}
	if r := s.fromAddress("127.0.2.1").do(ownerPw, "GET", "/api/v2/users/me", "", ""); r.status != 429 {
		t.Errorf("a new address for the attacked account: %d, want 429", r.status)
	}
	if r := s.do(ownerPw, "GET", "/api/v2/users/me", "", ""); r.status != 200 {
		t.Errorf("the owner's known address: %d %s", r.status, r.body)
	}
	if r := s.fromAddress("127.0.2.1").do(owner, "GET", "/api/v2/users/me", "", ""); r.status != 429 {
		t.Errorf("a token for the attacked account from a new address: %d, want 429", r.status)
	}
}

// TestRequestRateLimit: every v2 response shows the account's limit and what
// is left of it; both APIs share the budget; past it both answer 429 with
// Retry-After in their own format, and a clock step later requests pass.
func TestRequestRateLimit(t *testing.T) {
	s := newServer(t, serverOptions{rateLimit: 6})
	for i, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/v2/users/me", "", 200},
		{"GET", "/api/v2/users/999", "", 404},
		{"POST", "/api/v2/users", `{"user":{"name":"Roger","email":"roger@example.com"}}`, 201},
		{"POST", "/api/v2/users", `{"user":{"name":""}}`, 422},
		{"GET", "/users/1.xml", "", 200}, // the legacy API spends the same budget
		{"GET", "/api/v2/users", "", 200},
	} {
		r := s.do(owner, tc.method, tc.path, "application/json", tc.body)
		if r.status != tc.status {
			t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.body)
		}
		limit, remaining := r.header.Get("X-Rate-Limit"), r.header.Get("X-Rate-Limit-Remaining")
		if tc.path == "/users/1.xml" {
			if limit != "" {
				t.Errorf("legacy response with X-Rate-Limit %q", limit)
			}
			continue
		}
		if limit != "6" || remaining != strconv.Itoa(5-i) {
			t.Errorf("%s %s: X-Rate-Limit %q, X-Rate-Limit-Remaining %q, want 6 and %d", tc.method, tc.path, limit, remaining, 5-i)
		}
		got := [3]string{r.header.Get("Ratelimit-Limit"), r.header.Get("Ratelimit-Remaining"), r.header.Get("Ratelimit-Reset")}
		if want := [3]string{"6", strconv.Itoa(5 - i), strconv.Itoa(10 * (i + 1))}; got != want {
			t.Errorf("%s %s: ratelimit-limit, -remaining, -reset %q, want %q", tc.method, tc.path, got, want)
		}
	}
	golden(t, "v2/error_429_rate_limit.golden", v2dump(s.do(owner, "GET", "/api/v2/users/1", "", "")))
	golden(t, "legacy/error_429_rate_limit.golden", s.do(owner, "GET", "/users/1.xml", "", "").dump())

	// Without credentials a client spends its address's budget, not the account's.
	if r := s.do(creds{}, "GET", "/api/v2/users/me", "", ""); r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != "5" {
		t.Errorf("anonymous: %d, X-Rate-Limit-Remaining %q", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
	s.clock.Advance(10 * time.Second) // 6 a minute: one request back
	if r := s.do(owner, "GET", "/api/v2/users/1", "", ""); r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Errorf("after 10 s: %d, X-Rate-Limit-Remaining %q", r.status, r.header.Get("X-Rate-Limit-Remaining"))
	}
}
