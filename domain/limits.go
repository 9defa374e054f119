package domain

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// RequestClass groups routes that have a rate limit of their own on top of
// the account's.
type RequestClass uint8

const (
	Requests       RequestClass = iota // every API request: the account's limit only
	ExportRequests                     // the incremental exports, which the real service limits separately
)

// spends reports whether a's requests of the class spend its own limit:
// the exports' only for admins, who alone may export, so that others'
// refused requests cannot use up the admins' exports.
func (class RequestClass) spends(a *Actor) bool {
	return class != ExportRequests || a.Role == Admin
}

// defaultExportRateLimit is the real service's limit on incremental exports.
const defaultExportRateLimit = 10

// DefaultErasureLimit is the real service's limit on permanent deletions:
// 700 per erasureWindow (API notes, "Legacy ↔ v2 mapping").
const (
	DefaultErasureLimit = 700
	erasureWindow       = 10 * time.Minute
)

// erasureLimit counts permanent deletions in a token bucket of limit
// refilled over erasureWindow.
type erasureLimit struct {
	limit  int
	bucket *rate.Limiter
}

func newErasureLimit(limit int) *erasureLimit {
	if limit <= 0 {
		limit = DefaultErasureLimit
	}
	return &erasureLimit{limit: limit, bucket: newBucket(limit, erasureWindow)}
}

// reserve takes one erasure's token at now, or refuses with the wait; the
// caller cancels the reservation when the erasure does not happen, so that
// only erasures done count.
func (l *erasureLimit) reserve(now time.Time) (*rate.Reservation, error) {
	r := l.bucket.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return nil, tooManyRequests(wait, "Permanent deletion limit of "+strconv.Itoa(l.limit)+" users per 10 minutes exceeded")
	}
	return r, nil
}

// Quota is what is left of the limit a request was counted against, for the
// rate-limit headers; Limit 0 means no limit applies.
type Quota struct {
	Limit     int // requests a minute
	Remaining int
	Reset     int // whole seconds until the full limit is available again
}

// quota describes lim at now.
func quota(lim *rate.Limiter, now time.Time) Quota {
	tokens := max(lim.TokensAt(now), 0)
	missing := float64(lim.Burst()) - tokens
	return Quota{Limit: lim.Burst(), Remaining: int(tokens), Reset: int(math.Ceil(missing / float64(lim.Limit())))}
}

// requestLimits holds the per-minute token buckets requests are counted
// against. The real service limits each account, and deskgate serves one
// account: every authenticated request of either API shares one bucket.
// Requests without valid credentials are counted per client address instead,
// so an anonymous flood cannot spend the account's budget.
type requestLimits struct {
	account   *rate.Limiter
	anonymous *buckets
	classes   map[RequestClass]*rate.Limiter
}

func newRequestLimits(perMinute, exportPerMinute int) *requestLimits {
	if perMinute <= 0 {
		return nil
	}
	if exportPerMinute <= 0 {
		exportPerMinute = defaultExportRateLimit
	}
	return &requestLimits{
		account:   newBucket(perMinute, time.Minute),
		anonymous: newBuckets(perMinute, time.Minute),
		classes:   map[RequestClass]*rate.Limiter{ExportRequests: newBucket(exportPerMinute, time.Minute)},
	}
}

// Admit counts the request in ctx against its rate limits: the account's for
// an authenticated actor, the client address's otherwise, and the class's own
// limit where it has one. Past a limit it returns TooManyRequests, with the
// seconds to wait, and nothing is counted; so it does when authentication was
// refused for too many failures, so that front ends answer before doing any
// work. The Quota describes the tightest limit the request met.
func (s *Service) Admit(ctx context.Context, class RequestClass) (Quota, error) {
	if wait, ok := ctx.Value(rateLimitedKey{}).(time.Duration); ok {
		return Quota{}, tooManyRequests(wait, "Rate limit exceeded")
	}
	q, err := s.admit(ctx, class)
	if auth := callerOf(ctx).auth; err == nil && KindOf(auth.err) == TooManyRequests {
		err = auth.err
	}
	return q, err
}

func (s *Service) admit(ctx context.Context, class RequestClass) (Quota, error) {
	l := s.limits
	if l == nil {
		return Quota{}, nil
	}
	now := s.now()
	lims := []*rate.Limiter{l.account}
	if a := ActorFrom(ctx); a == nil {
		// Neither the account's budget nor a class's: those are the account's.
		lims[0] = l.anonymous.get(clientKey(ctx), now, true)
	} else if c := l.classes[class]; c != nil && class.spends(a) {
		lims = append(lims, c)
	}
	var q Quota
	var granted []*rate.Reservation
	for _, lim := range lims {
		r := lim.ReserveN(now, 1)
		if wait := r.DelayFrom(now); wait > 0 {
			r.CancelAt(now)
			for _, g := range granted {
				g.CancelAt(now)
			}
			return quota(lim, now), tooManyRequests(wait, "Rate limit exceeded")
		}
		granted = append(granted, r)
		if got := quota(lim, now); len(granted) == 1 || got.Remaining < q.Remaining {
			q = got
		}
	}
	return q, nil
}

type rateLimitedKey struct{}

// WithRateLimited returns ctx whose request Admit refuses as over the rate
// limit, to retry after wait: test mode's fault rules inject 429s this way,
// so that each API answers exactly as its real limiter does.
func WithRateLimited(ctx context.Context, wait time.Duration) context.Context {
	return context.WithValue(ctx, rateLimitedKey{}, wait)
}

// tooManyRequests is the one refusal for a client over a limit, saying when
// to come back in whole seconds, as Retry-After does.
func tooManyRequests(wait time.Duration, why string) *Error {
	secs := int(math.Ceil(wait.Seconds()))
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	return &Error{Kind: TooManyRequests, RetryAfter: secs, Msg: why + ": retry after " + strconv.Itoa(secs) + unit}
}

// newBucket returns a token bucket holding n tokens, refilled at n per window.
func newBucket(n int, window time.Duration) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(n)/window.Seconds()), n)
}

// bucketsMax bounds how many keys a bucket set remembers.
const bucketsMax = 100_000

// buckets is one token bucket per key. A key without a bucket has a full
// one, so buckets are made only when a token is taken, and full ones are
// dropped when the set reaches bucketsMax (at most once a second, so that a
// flood of new keys does not rescan the set each time). If it is still full,
// new keys share one overflow bucket rather than wiping the counts of the
// keys already held.
type buckets struct {
	n        int
	window   time.Duration
	mu       sync.Mutex
	m        map[string]*rate.Limiter
	overflow *rate.Limiter
	pruned   time.Time
	// taken is when take last spent a token (unix nanoseconds): a window
	// later every bucket take spent from is full again, so a check need not
	// look, as on nearly every request of a server nobody is guessing at.
	taken atomic.Int64
}

// full reports whether every bucket is full at now, for buckets spent
// through take only.
func (b *buckets) full(now time.Time) bool {
	return now.UnixNano()-b.taken.Load() > int64(b.window)
}

func newBuckets(n int, window time.Duration) *buckets {
	return &buckets{n: n, window: window, m: map[string]*rate.Limiter{}, overflow: newBucket(n, window)}
}

// get returns key's bucket, making one if create is set; without create it
// returns nil for a key whose bucket would be a new one.
func (b *buckets) get(key string, now time.Time, create bool) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if lim, ok := b.m[key]; ok {
		return lim
	}
	if len(b.m) >= bucketsMax && now.Sub(b.pruned) >= time.Second {
		b.pruned = now
		for k, lim := range b.m {
			if lim.TokensAt(now) >= float64(b.n) {
				delete(b.m, k)
			}
		}
	}
	switch {
	case len(b.m) >= bucketsMax:
		return b.overflow
	case !create:
		return nil
	}
	lim := newBucket(b.n, b.window)
	b.m[key] = lim
	return lim
}

// peek returns how long key must wait for one token, without taking it.
func (b *buckets) peek(key string, now time.Time) time.Duration {
	return waitFor(b.get(key, now, false), now)
}

// peekOwn is peek counting only key's own bucket: a full set's overflow
// bucket, which every new key spends, does not hold it back.
func (b *buckets) peekOwn(key string, now time.Time) time.Duration {
	b.mu.Lock()
	lim := b.m[key]
	b.mu.Unlock()
	return waitFor(lim, now)
}

// waitFor is how long lim (nil: a full bucket) must wait for one token.
func waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	if lim == nil {
		return 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// take spends one of key's tokens, if it has one.
func (b *buckets) take(key string, now time.Time) {
	b.taken.Store(now.UnixNano())
	b.get(key, now, true).AllowN(now, 1)
}

// clientKey is the request's client as the limits count it (ClientNetwork).
func clientKey(ctx context.Context) string { return ClientNetwork(callerOf(ctx).Client) }

// ClientNetwork is a client address as every per-client limit counts it: an
// IPv4 address, or the /64 network of an IPv6 one, since one IPv6 host
// commonly holds a whole /64. Whatever is not an address is "unknown", one
// client for all.
func ClientNetwork(s string) string {
	addr, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return "unknown"
	case addr.Is4():
		return s // ParseAddr takes only the form String gives back
	case addr.Is4In6():
		return addr.Unmap().String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}
