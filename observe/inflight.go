package observe

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
)

// InFlight counts the requests being served. The job worker rests between
// chunks while there are some (domain.Config.Interactive), so that bulk
// jobs take the CPU interactive requests leave idle.
type InFlight struct{ n atomic.Int64 }

// Count is how many requests are being served now.
func (f *InFlight) Count() int { return int(f.n.Load()) }

type detachKey struct{}

// Track counts each request while next serves it.
func (f *InFlight) Track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.n.Add(1)
		release := sync.OnceFunc(func() { f.n.Add(-1) })
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
