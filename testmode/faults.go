package testmode

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// Rule is one fault to inject: which requests it matches, what it does to
// them, and how often. A request meets the first rule that fires for it.
type Rule struct {
	ID       int    `json:"id"`
	Method   string `json:"method,omitempty"`   // empty matches any
	Path     string `json:"path,omitempty"`     // a path.Match pattern ("/users/*.xml"); empty matches any API request
	Protocol string `json:"protocol,omitempty"` // "legacy" (.xml paths), "v2" (/api/v2/ and the sign-in) or empty for both

	// What it does: exactly one of these.
	Status          int    `json:"status,omitempty"`           // answer with this status and an error body in the request's protocol
	Latency         string `json:"latency,omitempty"`          // delay the request by this Go duration, then serve it
	ResetConnection bool   `json:"reset_connection,omitempty"` // drop the TCP connection (RST) without answering

	// How often: every Nth matching request, or with a probability drawn
	// from a generator seeded with Seed (the same sequence each time). Neither
	// fires on every match.
	Every       int     `json:"every,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	Seed        uint64  `json:"seed,omitempty"`
	Count       int     `json:"count,omitempty"` // fire at most this often; 0 = without end

	// RetryAfter is the seconds a 429 or 503 says to wait (Retry-After);
	// default 1. A 429 on an API path is that API's own rate-limit answer.
	RetryAfter int `json:"retry_after,omitempty"`

	Matched int `json:"matched"` // matching requests seen while it could still fire
	Fired   int `json:"fired"`   // times it fired so far

	latency time.Duration
	draw    *rand.Rand
}

// check validates a rule sent by a client and readies its state; it
// reports what is wrong by field, as any other 422 does.
func (r *Rule) check() []domain.FieldError {
	var fields []domain.FieldError
	bad := func(field, why string) { fields = append(fields, domain.FieldInvalid(field, why)) }
	actions := 0
	if r.Status != 0 {
		actions++
		if r.Status < 400 || r.Status > 599 {
			bad("status", "must be an error status from 400 to 599")
		}
	}
	if r.Latency != "" {
		actions++
		d, err := time.ParseDuration(r.Latency)
		if err != nil || d <= 0 || d > time.Minute {
			bad("latency", "must be a duration such as 250ms, up to 1m")
		}
		r.latency = d
	}
	if r.ResetConnection {
		actions++
	}
	if actions != 1 {
		bad("status", "exactly one of status, latency and reset_connection must be given")
	}
	if _, err := path.Match(r.Path, ""); err != nil {
		bad("path", "is not a valid pattern")
	}
	switch r.Protocol {
	case "", "legacy", "v2":
	default:
		bad("protocol", "must be legacy, v2 or empty")
	}
	switch {
	case r.Every < 0:
		bad("every", "must be a whole number from 1 up")
	case r.Every > 0 && r.Probability != 0:
		bad("probability", "cannot be given with every")
	case r.Probability < 0 || r.Probability > 1:
		bad("probability", "must be between 0 and 1")
	}
	if r.Count < 0 {
		bad("count", "must be a whole number from 0 up")
	}
	if r.RetryAfter < 0 {
		bad("retry_after", "must be a whole number of seconds")
	}
	if len(fields) > 0 {
		return fields
	}
	r.Method = strings.ToUpper(r.Method)
	r.Matched, r.Fired = 0, 0
	r.draw = rand.New(rand.NewPCG(r.Seed, 0))
	return nil
}

func (r *Rule) matches(req *http.Request) bool {
	if r.Method != "" && r.Method != req.Method {
		return false
	}
	if r.Protocol != "" && protocol(req.URL.Path) != r.Protocol {
		return false
	}
	if r.Path == "" { // the APIs' requests, not the probes' or the metrics scraper's
		return protocol(req.URL.Path) != ""
	}
	ok, _ := path.Match(r.Path, req.URL.Path)
	return ok
}

// fires counts a matching request and decides whether the rule acts on it.
func (r *Rule) fires() bool {
	if r.Count > 0 && r.Fired >= r.Count {
		return false
	}
	r.Matched++
	var fire bool
	switch {
	case r.Every > 0:
		fire = r.Matched%r.Every == 0
	case r.Probability > 0:
		fire = r.draw.Float64() < r.Probability
	default:
		fire = true
	}
	if fire {
		r.Fired++
	}
	return fire
}

// protocol names the API a path belongs to.
func protocol(p string) string { return string(domain.ProtocolOfPath(p)) }

// faults is the rule list; one mutex keeps the counting, and so a seeded
// sequence, in request order.
type faults struct {
	mu     sync.Mutex
	rules  []*Rule
	nextID int
}

// add appends rules after checking them all: a list with one bad rule adds none.
func (f *faults) add(rules []Rule) ([]Rule, error) {
	for i := range rules {
		if fields := rules[i].check(); fields != nil {
			return nil, &domain.Error{Kind: domain.Invalid, Msg: fmt.Sprintf("faults[%d]: Invalid fault rule", i), Fields: fields}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range rules {
		f.nextID++
		r.ID = f.nextID
		f.rules = append(f.rules, &r)
	}
	return f.listLocked(), nil
}

func (f *faults) list() []Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listLocked()
}

func (f *faults) listLocked() []Rule {
	out := make([]Rule, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
	}
	return out
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// pick returns a copy of the first rule that fires for req, or nil.
func (f *faults) pick(req *http.Request) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.matches(req) && r.fires() {
			fired := *r
			return &fired
		}
	}
	return nil
}

// inject applies rule to the request. It reports whether the request is
// finished (answered or dropped) or goes on to the handler, as the returned
// request: after a delay, or carrying a rate-limit refusal.
func inject(w http.ResponseWriter, req *http.Request, rule *Rule) (*http.Request, bool) {
	switch {
	case rule.latency > 0:
		select {
		case <-time.After(rule.latency):
			return req, false
		case <-req.Context().Done(): // the client left: nothing is answered
			return req, true
		}
	case rule.ResetConnection:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil { // HTTP/2 cannot be hijacked: abort the stream instead
			panic(http.ErrAbortHandler)
		}
		if tcp, ok := conn.(interface{ SetLinger(int) error }); ok { // a *net.TCPConn, or deskgate.Listen's
			tcp.SetLinger(0) // close with RST, as a crashed server or a proxy would
		}
		conn.Close()
		return req, true
	}
	retry := time.Duration(max(rule.RetryAfter, 1)) * time.Second
	p := protocol(req.URL.Path)
	if rule.Status == http.StatusTooManyRequests && p != "" {
		// The API answers as its limiter does: its own body and headers.
		return req.WithContext(domain.WithRateLimited(req.Context(), retry)), false
	}
	if rule.Status == http.StatusTooManyRequests || rule.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
	}
	msg := fmt.Sprintf("%d %s (injected by a deskgate fault rule)", rule.Status, http.StatusText(rule.Status))
	if p == "legacy" {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(rule.Status)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors>\n  <error>%s</error>\n</errors>\n", msg)
		return req, true
	}
	writeJSON(w, rule.Status, errorBody{Error: "InjectedFault", Description: msg})
	return req, true
}
