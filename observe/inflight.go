package observe

import (
	"context"
	"sync/atomic"
	"time"
)

// InFlight counts the requests being served (Config.InFlight: Requests
// counts them, in the capture it makes anyway). The job worker rests between
// chunks while the server is Busy (domain.Config.Interactive), so that bulk
// jobs take the CPU interactive requests leave idle.
type InFlight struct {
	n        atomic.Int64
	lastDone atomic.Int64     // when a request last ended, in Unix nanoseconds
	now      func() time.Time // nil: time.Now; a test's clock
}

// quietAfter is how long after its last request the server counts as idle.
// Under load, a client's next request follows its answer within
// microseconds; a pause this long means nobody is waiting. At 2 ms, a
// 100-item job whose client polled its status every millisecond took five
// times as long as with the worker never resting: each poll held it back.
const quietAfter = 500 * time.Microsecond

// Count is how many requests are being served now.
func (f *InFlight) Count() int { return int(f.n.Load()) }

// Busy reports whether requests are being served or one ended within
// quietAfter: between the requests of a steady load none may be in flight.
func (f *InFlight) Busy() bool {
	return f.Count() > 0 || f.clock()-f.lastDone.Load() < int64(quietAfter)
}

func (f *InFlight) clock() int64 {
	if f.now == nil {
		return time.Now().UnixNano()
	}
	return f.now().UnixNano()
}

// begin counts a request from its arrival; end, once, when it is answered
// or detached.
func (f *InFlight) begin() { f.n.Add(1) }

func (f *InFlight) end() {
	f.lastDone.Store(f.clock())
	f.n.Add(-1)
}

// Detach stops counting the request in ctx as being served: a stream that
// stays open for hours waits, it does not work, and must not hold the job
// worker back.
func Detach(ctx context.Context) {
	if cp, _ := ctx.Value(captureKey{}).(*capture); cp != nil {
		cp.release()
	}
}
