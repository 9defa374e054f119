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

// begin counts a request from its arrival; end, once, when it is answered
// or detached.
func (f *InFlight) begin() { f.n.Add(1) }

func (f *InFlight) end() {
	f.lastDone.Store(time.Now().UnixNano())
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
