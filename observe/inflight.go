package observe

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// InFlight counts the requests being served. The job worker rests between
// chunks while the server is Busy (domain.Config.Interactive), so that bulk
// jobs take the CPU interactive requests leave idle.
type InFlight struct {
	n        atomic.Int64
	lastDone atomic.Int64 // when a request last ended, in Unix nanoseconds
}

// quietAfter is how long after its last request the server counts as idle.
// Under load, a client's next request follows its answer within
// microseconds; a pause this long means nobody is waiting.
const quietAfter = 2 * time.Millisecond

// Count is how many requests are being served now.
func (f *InFlight) Count() int { return int(f.n.Load()) }

// Busy reports whether requests are being served or one ended within
// quietAfter: between the requests of a steady load none may be in flight.
func (f *InFlight) Busy() bool {
	return f.Count() > 0 || time.Now().UnixNano()-f.lastDone.Load() < int64(quietAfter)
}

type detachKey struct{}

// Track counts each request while next serves it.
func (f *InFlight) Track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		release := sync.OnceFunc(func() {
			f.lastDone.Store(time.Now().UnixNano())
			f.n.Add(-1)
		})
		defer release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), detachKey{}, release)))
	})
}

// Detach stops counting the request in ctx as being served: a stream that
// stays open for hours waits, it does not work, and must not hold the job
// worker back.
func Detach(ctx context.Context) {
	if release, ok := ctx.Value(detachKey{}).(func()); ok {
		release()
	}
}
