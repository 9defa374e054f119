package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Failed authentication is limited before any password hash is computed, so
// guessing costs the attacker time and the server no CPU. Three token
// buckets, refilled over failureWindow, count failures:
//
//   - per account and address (failuresPerPair): the strict bound on guessing
//     one account's password from one place;
//   - per address (failuresPerAddress): one address trying many accounts;
//   - per account (failuresPerAccount): many addresses trying one account.
//
// The per-account bound would let an attacker with enough addresses lock the
// owner out. So it does not apply from an address the account has
// authenticated from within trustedFor: from there only the strict pair bound
// counts, which an attacker elsewhere cannot spend. A flood from one address
// spends at most failuresPerPair of the account's bucket, so it locks no
// one out anywhere else, known address or not.
const (
	failureWindow      = 15 * time.Minute
	failuresPerPair    = 10
	failuresPerAddress = 100
	failuresPerAccount = 100
	trustedFor         = 30 * 24 * time.Hour
	trustedMax         = 100_000
)

type failures struct {
	pair, address, account *buckets

	mu      sync.Mutex
	trusted map[string]time.Time // account and address → until when
}

func newFailures() *failures {
	return &failures{
		pair:    newBuckets(failuresPerPair, failureWindow),
		address: newBuckets(failuresPerAddress, failureWindow),
		account: newBuckets(failuresPerAccount, failureWindow),
		trusted: map[string]time.Time{},
	}
}

// accountKey names an account in the buckets: a digest of the address the
// client typed, case-folded, so that a key costs the same 43 bytes however
// long a name the client sends (a sign-in body may be a megabyte).
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	var buf [43]byte // EncodeToString would allocate a buffer besides the string
	return string(base64.RawStdEncoding.AppendEncode(buf[:0], sum[:]))
}

// pairKey joins an account key and an address; NUL appears in neither.
// (succeeded spells it out in bytes.)
func pairKey(account, addr string) string { return account + "\x00" + addr }

// wait returns how long authentication for the account from addr must wait,
// or 0 when it may go ahead.
func (f *failures) wait(account, addr string, now time.Time) time.Duration {
	if f.none(now) {
		return 0
	}
	pair := pairKey(account, addr)
	if f.isTrusted(pair, now) {
		// Only the pair's own count: an attacker whose failures fill the
		// set drains the overflow bucket that new pairs share, which must
		// not lock the account out where it signs in.
		return f.pair.peekOwn(pair, now)
	}
	return max(f.pair.peek(pair, now), f.address.peek(addr, now), f.account.peek(account, now))
}

// none reports whether no failure counts at now: every bucket is full.
func (f *failures) none(now time.Time) bool {
	return f.pair.full(now) && f.address.full(now) && f.account.full(now)
}

// failed counts a failed authentication.
func (f *failures) failed(account, addr string, now time.Time) {
	f.pair.take(pairKey(account, addr), now)
	f.address.take(addr, now)
	f.account.take(account, now)
}

// succeeded trusts addr for the account. Renewing trust that has most of
// its time left is skipped: this runs on every authenticated request.
func (f *failures) succeeded(account, addr string, now time.Time) {
	var buf [128]byte
	pair := append(append(append(buf[:0], account...), 0), addr...) // pairKey's bytes, on the stack
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.trusted[string(pair)].Sub(now) > trustedFor/2 { // a lookup by bytes copies nothing
		return
	}
	if len(f.trusted) >= trustedMax {
		clear(f.trusted) // rare; the cost is the per-account bound applying again
	}
	f.trusted[string(pair)] = now.Add(trustedFor)
}

func (f *failures) isTrusted(pair string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.trusted[pair])
}
