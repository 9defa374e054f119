package testmode

import (
	"path"
	"strings"
	"sync"
	"time"
)

// Request is what the server recorded of one API request, for a test to
// assert what its integration sent. Control API requests are not recorded.
type Request struct {
	Time   time.Time `json:"time"` // by the service's clock
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	Status int       `json:"status"` // 0 when no answer went out: a fault rule dropped the connection
}

// RequestFilter selects recorded requests; zero fields match all.
type RequestFilter struct {
	Method string
	Path   string    // a path.Match pattern, or an exact path
	Since  time.Time // at or after
}

func (f RequestFilter) matches(r Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path != "" {
		if ok, _ := path.Match(f.Path, r.Path); !ok {
			return false
		}
	}
	return f.Since.IsZero() || !r.Time.Before(f.Since)
}

// ringSize is how many requests test mode remembers; older ones drop out.
const ringSize = 10000

// ring is the in-memory record of the latest requests.
type ring struct {
	mu   sync.Mutex
	buf  []Request
	next int // where the next record goes once buf is full
}

func (r *ring) add(req Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < ringSize {
		r.buf = append(r.buf, req)
		return
	}
	r.buf[r.next] = req
	r.next = (r.next + 1) % ringSize
}

// find returns the matching requests, oldest first.
func (r *ring) find(f RequestFilter) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Request{}
	for i := range r.buf {
		if req := r.buf[(r.next+i)%len(r.buf)]; f.matches(req) {
			out = append(out, req)
		}
	}
	return out
}
