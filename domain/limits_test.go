package domain

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testClock is a clock the test moves by hand.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func limitedService(perMinute int) (*Service, *testClock) {
	clk := &testClock{t: year2026}
	return &Service{now: clk.now, limits: newRequestLimits(perMinute, 0), failures: newFailures()}, clk
}

func TestAdmitCountsTheAccountAndRefills(t *testing.T) {
	s, clk := limitedService(3)
	ctx := WithActor(context.Background(), &Actor{ID: 1, Role: Admin})
	other := WithActor(context.Background(), &Actor{ID: 2, Role: Agent})
	for i, want := range []int{2, 1} {
		q, err := s.Admit(ctx, Requests)
		if err != nil || q != (Quota{Limit: 3, Remaining: want, Reset: 20 * (3 - want)}) {
			t.Fatalf("request %d: %+v, %v", i+1, q, err)
		}
	}
	// Every user of the account shares its budget, as on the real service.
	if q, err := s.Admit(other, Requests); err != nil || q.Remaining != 0 {
		t.Fatalf("third request: %+v, %v", q, err)
	}
	q, err := s.Admit(ctx, Requests)
	if e := AsError(err); e.Kind != TooManyRequests || e.RetryAfter != 20 || q != (Quota{Limit: 3, Reset: 60}) {
		t.Fatalf("fourth request: %+v, %v (retry after %d)", q, err, e.RetryAfter)
	}
	clk.advance(19 * time.Second)
	if _, err := s.Admit(ctx, Requests); AsError(err).RetryAfter != 1 {
		t.Fatalf("after 19 s: %v, want a retry in 1 s", err)
	}
	clk.advance(time.Second)
	if _, err := s.Admit(ctx, Requests); err != nil {
		t.Fatalf("after 20 s, one request a minute/3 has come back: %v", err)
	}
}

func TestAdmitCountsAnonymousRequestsPerAddress(t *testing.T) {
	s, _ := limitedService(1)
	a := fromClient("192.0.2.1")
	for _, addr := range []string{"192.0.2.1", "2001:db8::1"} {
		if _, err := s.Admit(fromClient(addr), Requests); err != nil {
			t.Fatalf("first from %s: %v", addr, err)
		}
	}
	for _, ctx := range []context.Context{a, fromClient("::ffff:192.0.2.1"), fromClient("2001:db8::2")} {
		if _, err := s.Admit(ctx, Requests); KindOf(err) != TooManyRequests {
			t.Errorf("second from the same address (or /64): %v", err)
		}
	}
	if _, err := s.Admit(WithActor(a, &Actor{ID: 1}), Requests); err != nil {
		t.Errorf("the account's budget is not the address's: %v", err)
	}
}

func TestAdmitExportClass(t *testing.T) {
	s, clk := limitedService(700)
	ctx := WithActor(context.Background(), &Actor{ID: 1, Role: Admin})
	for i := range defaultExportRateLimit {
		q, err := s.Admit(ctx, ExportRequests)
		if err != nil || q != (Quota{Limit: 10, Remaining: 9 - i, Reset: 6 * (i + 1)}) {
			t.Fatalf("export %d: %+v, %v", i+1, q, err)
		}
	}
	if _, err := s.Admit(ctx, ExportRequests); AsError(err).RetryAfter != 6 {
		t.Fatalf("11th export: %v, want a retry in 6 s", err)
	}
	// A refused export costs the account nothing; other requests go on.
	if q, err := s.Admit(ctx, Requests); err != nil || q.Remaining != 700-defaultExportRateLimit-1 {
		t.Fatalf("after the exports: %+v, %v", q, err)
	}
	clk.advance(6 * time.Second)
	// Anonymous requests cannot spend the account's exports.
	if _, err := s.Admit(fromClient("192.0.2.1"), ExportRequests); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admit(ctx, ExportRequests); err != nil {
		t.Fatal(err)
	}
}

func TestAdmitUnlimited(t *testing.T) {
	s := &Service{now: time.Now}
	if q, err := s.Admit(context.Background(), ExportRequests); err != nil || q.Limit != 0 {
		t.Fatalf("%+v, %v", q, err)
	}
}

func TestFailuresPerPairAddressAndAccount(t *testing.T) {
	f := newFailures()
	now := year2026
	const owner = "owner@example.com"
	f.succeeded(owner, "198.51.100.7", now) // the owner's usual address
	for range failuresPerPair {
		if w := f.wait(owner, "192.0.2.1", now); w != 0 {
			t.Fatalf("refused before the bound: %v", w)
		}
		f.failed(owner, "192.0.2.1", now)
	}
	if w := f.wait(owner, "192.0.2.1", now); w != failureWindow/failuresPerPair {
		t.Errorf("past the bound, wait %v, want one failure's refill time", w)
	}
	if w := f.wait(owner, "192.0.2.2", now); w != 0 {
		t.Errorf("one address's flood locks out another: %v", w)
	}
	if w := f.wait("other@example.com", "192.0.2.1", now); w != 0 {
		t.Errorf("the pair bound spills onto other accounts: %v", w)
	}

	// Many addresses drain the account's bucket: new addresses wait, the
	// owner's known one does not.
	for i := range failuresPerAccount / failuresPerPair {
		addr := "203.0.113." + strconv.Itoa(i)
		for range failuresPerPair {
			f.failed(owner, addr, now)
		}
	}
	if w := f.wait(owner, "192.0.2.99", now); w == 0 {
		t.Error("a new address is not held by the exhausted account bucket")
	}
	if w := f.wait(owner, "198.51.100.7", now); w != 0 {
		t.Errorf("the owner's known address is locked out: %v", w)
	}

	// One address trying many accounts.
	for i := range failuresPerAddress {
		f.failed("user"+strconv.Itoa(i)+"@example.com", "192.0.2.50", now)
	}
	if w := f.wait("fresh@example.com", "192.0.2.50", now); w == 0 {
		t.Error("the address bound does not hold")
	}
	if w := f.wait("fresh@example.com", "192.0.2.50", now.Add(failureWindow)); w != 0 {
		t.Errorf("a window later the address is still held: %v", w)
	}
}

// BenchmarkLimitsPerRequest measures what the limits add to an authenticated
// request: the failure check and the trust update of Authenticate, and Admit.
func BenchmarkLimitsPerRequest(b *testing.B) {
	s, _ := limitedService(1 << 40)
	ctx := WithActor(fromClient("192.0.2.1"), &Actor{ID: 1})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := s.now()
			if s.failures.wait("owner@example.com", "192.0.2.1", now) != 0 {
				b.Fatal("held")
			}
			s.failures.succeeded("owner@example.com", "192.0.2.1", now)
			if _, err := s.Admit(ctx, Requests); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBucketsStayBounded: a set full of counting keys sends new keys to one
// shared overflow bucket instead of forgetting the counts it holds; once
// the held buckets have refilled, they are dropped and new keys get their
// own again.
func TestBucketsStayBounded(t *testing.T) {
	b := newBuckets(1, time.Minute)
	now := year2026
	for i := range bucketsMax {
		b.take(strconv.Itoa(i), now)
	}
	if w := b.peek("0", now); w != time.Minute {
		t.Fatalf("a held key waits %v, want a minute", w)
	}
	if w := b.peek("new", now); w != 0 {
		t.Fatalf("a new key waits %v before the overflow bucket is spent", w)
	}
	b.take("new", now)
	if w := b.peek("other new", now); w != time.Minute {
		t.Errorf("new keys do not share the overflow bucket: %v", w)
	}
	if w := b.peek("0", now); w != time.Minute {
		t.Errorf("the held key was forgotten: waits %v", w)
	}
	later := now.Add(time.Minute)
	b.take("fresh", later)
	if len(b.m) != 1 || b.peek("fresh", later) != time.Minute || b.peek("other new", later) != 0 {
		t.Errorf("after the refill: %d keys held, want only the fresh one", len(b.m))
	}
}

// TestFailureKeysAreBounded: a failed sign-in with a huge name holds a key
// of a few bytes, and the account is the same whatever the name's case.
func TestFailureKeysAreBounded(t *testing.T) {
	f := newFailures()
	now := year2026
	huge := strings.Repeat("a", 1<<20) + "@example.com"
	f.failed(accountKey(huge), "192.0.2.1", now)
	for _, b := range []*buckets{f.pair, f.address, f.account} {
		for k := range b.m {
			if len(k) > 64 {
				t.Errorf("a key of %d bytes", len(k))
			}
		}
	}
	for range failuresPerPair {
		f.failed(accountKey("Owner@Example.com"), "192.0.2.1", now)
	}
	if w := f.wait(accountKey("owner@example.com"), "192.0.2.1", now); w == 0 {
		t.Error("the account's case changes which bucket counts")
	}
}

// TestTrustedAddressOutlivesAFullSet: failures of so many pairs that the
// pair set is full send new pairs to its overflow bucket, which the
// attacker drains; an address the account signed in from is not held by it.
func TestTrustedAddressOutlivesAFullSet(t *testing.T) {
	f := newFailures()
	now := year2026
	owner := accountKey("owner@example.com")
	f.succeeded(owner, "198.51.100.7", now)
	for i := range bucketsMax + failuresPerPair {
		f.pair.take(pairKey(accountKey("user"+strconv.Itoa(i)+"@example.com"), "2001:db8::/64"), now)
	}
	if w := f.wait(owner, "192.0.2.1", now); w == 0 {
		t.Error("a new address is not held by the drained overflow bucket")
	}
	if w := f.wait(owner, "198.51.100.7", now); w != 0 {
		t.Errorf("the owner's known address waits %v", w)
	}
}

// fromClient is a context of a request from addr, authenticated by nobody.
func fromClient(addr string) context.Context {
	ctx, _ := NewCaller(context.Background(), Origin{Client: addr})
	return ctx
}

// TestClientNetwork: every per-client limit counts an IPv4 address as itself
// and an IPv6 one by its /64, an IPv4-mapped one as the IPv4 address.
func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"":                     "unknown",
		"not an address":       "unknown",
		"fe80::1%eth0":         "fe80::/64",
	} {
		if got := ClientNetwork(in); got != want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
