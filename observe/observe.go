// Package observe watches every request: it names the route, gives the
// request an id, logs it, counts API requests in Prometheus metrics and
// hands them to sinks (the journal; test mode's list). What it logs, counts
// and journals names route templates and credential kinds only, never
// bodies, raw paths, query values, passwords or tokens.
package observe

import (
	"bufio"
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/gorilla/mux"
)

// Request is what observe learns of one API request. The record is all a
// sink may keep for long or show to admins; Path and Query are the raw
// request target, user data among them, for test mode's in-memory list of
// the requests a test sent.
type Request struct {
	domain.RequestRecord
	Path  string
	Query string
}

// Sink takes every API request, once, on the request's goroutine, just
// before its answer goes out: a client that has its answer finds the request
// recorded. Record must not block.
type Sink interface {
	Record(Request)
}

// Journal keeps request records; Record must not block.
type Journal interface {
	Record(domain.RequestRecord)
}

// Journaled is the sink that hands j each request's record, never its raw
// path or query.
func Journaled(j Journal) Sink { return journaled{j} }

type journaled struct{ j Journal }

func (s journaled) Record(r Request) { s.j.Record(r.RequestRecord) }

// Config says where requests are reported; nil fields report nowhere.
type Config struct {
	Log     *slog.Logger
	Sinks   []Sink
	Metrics *Metrics
	Now     func() time.Time // the service clock records are stamped with
	// IDPrefix starts every request id made here; "" picks a random one.
	// A fixed prefix makes the ids of a scripted session repeatable.
	IDPrefix string
	// InFlight, when set, counts the requests being served.
	InFlight *InFlight
}

// capture is what Requests and the handlers below it share of one request:
// its id, the route Dispatch matched, the caller authentication found, and
// what the route's wrapper hands up (mux hands the matched route only to the
// handlers below it).
type capture struct {
	id       string
	idHeader [1]string      // X-Request-Id's value: the header set without a slice of its own
	route    *matched       // nil when no route matched
	match    mux.RouteMatch // what Dispatch matched; no Route when mux served the request
	actor    *domain.Actor
	inFlight *InFlight         // counting this request until release; nil when not
	caller   domain.CallerSlot // answered by the request's context (captureContext)
}

// release stops counting the request in flight, once: when it is answered,
// or sooner (Detach). Both happen on the request's goroutine.
func (cp *capture) release() {
	if cp.inFlight != nil {
		cp.inFlight.end()
		cp.inFlight = nil
	}
}

// matched is what Route works out once for all the requests of its route.
type matched struct {
	template  string
	method    string       // the route's one method; "" when it has several
	operation string       // the journal's operation for that method
	log       *slog.Logger // Config.Log with the route's own attributes formatted once
}

// template is the matched route's template, "" for none.
func (cp *capture) template() string {
	if cp.route == nil {
		return ""
	}
	return cp.route.template
}

type captureKey struct{}

// captureContext is the request's context with its capture: a context type
// of its own, so that it can live in the answerWriter's allocation.
type captureContext struct {
	context.Context
	cp *capture
}

func (c *captureContext) Value(key any) any {
	if key == (captureKey{}) {
		return c.cp
	}
	if v, ok := c.cp.caller.Value(key); ok {
		return v
	}
	return c.Context.Value(key)
}

// CallerSlot is where the request ctx belongs to keeps its domain.Caller,
// nil outside Requests.
func CallerSlot(ctx context.Context) *domain.CallerSlot {
	if cp, _ := ctx.Value(captureKey{}).(*capture); cp != nil {
		return &cp.caller
	}
	return nil
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	c, _ := ctx.Value(captureKey{}).(*capture)
	if c == nil {
		return ""
	}
	return c.id
}

// Requests wraps the router: every response carries X-Request-Id, and each
// API request is logged, counted and handed to the sinks as its answer goes
// out. A request answered by no status is recorded with status 0: its
// connection was taken over or dropped, or its client left first.
func Requests(router http.Handler, c Config) http.Handler {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	ids := newIDs(c.IDPrefix)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var arrived time.Time
		if len(c.Sinks) > 0 {
			arrived = c.Now()
		}
		aw := &answerWriter{ResponseWriter: w, cfg: &c, start: start, arrived: arrived}
		cp := &aw.cp
		cp.id, cp.inFlight = requestID(r.Header.Get("X-Request-Id"), ids), c.InFlight
		if cp.inFlight != nil {
			cp.inFlight.begin()
		}
		defer cp.release()
		cp.idHeader[0] = cp.id
		w.Header()["X-Request-Id"] = cp.idHeader[:]
		aw.ctx = captureContext{Context: r.Context(), cp: cp}
		r = r.WithContext(&aw.ctx)
		aw.r = r
		returned := false
		defer func() {
			switch {
			case !returned: // a panic: net/http drops the connection
				aw.answered(0)
			case r.Context().Err() != nil: // the client left before any answer
				aw.answered(0)
			default: // net/http's answer to a handler that wrote nothing
				aw.answered(http.StatusOK)
			}
		}()
		router.ServeHTTP(aw, r)
		returned = true
	})
}

// report logs, counts and records an API request answered with status.
func (c Config) report(r *http.Request, cp *capture, status int, answered time.Time, took time.Duration, arrived time.Time) {
	route := cp.template()
	protocol := protocolOf(route, r.URL.Path)
	if protocol == "" {
		return // health, readiness, metrics and test mode's control API are not API requests
	}
	own := cp.route != nil && r.Method == cp.route.method // the route's own method: its attributes are made
	rec := domain.RequestRecord{
		RequestID: cp.id,
		Protocol:  protocol,
		Method:    r.Method,
		Route:     route,
		Status:    status,
		Duration:  took,
	}
	switch {
	case own:
		rec.Operation = cp.route.operation
	case route == "":
		rec.Operation = r.Method + " (no route)"
	default:
		rec.Operation = r.Method + " " + route
	}
	if protocol == domain.ProtocolLegacy {
		if op, ok := domain.LegacyOperationOf(r.Method, route, Query(r)); ok {
			rec.Operation = op.Name()
		}
	}
	if cp.actor != nil {
		rec.UserID, rec.Credential = cp.actor.ID, cp.actor.Credential
	}
	c.Metrics.observe(rec)
	if c.Log.Enabled(r.Context(), slog.LevelInfo) { // else the attributes are built for nothing
		log, attrs := c.Log, requestAttrs(rec.Protocol, rec.Method, rec.Route)
		if own {
			log, attrs = cp.route.log, nil
		}
		// A record of its own rather than Logger.LogAttrs, which looks up
		// its caller's program counter for a source the line never shows.
		line := slog.NewRecord(answered, slog.LevelInfo, "request", 0)
		line.AddAttrs(attrs...)
		line.AddAttrs(slog.Int("status", rec.Status), slog.Duration("duration", rec.Duration),
			slog.Int64("user_id", rec.UserID), slog.String("credential", rec.Credential.String()))
		log.Handler().Handle(r.Context(), line) // a failed write is the log's to report, not the request's
	}
	if len(c.Sinks) == 0 {
		return
	}
	rec.At = arrived
	rec.UserAgent = truncate(r.UserAgent(), 256)
	rec.ClientAddr, _, _ = net.SplitHostPort(r.RemoteAddr)
	req := Request{RequestRecord: rec, Path: r.URL.Path, Query: r.URL.RawQuery}
	for _, s := range c.Sinks {
		s.Record(req)
	}
}

// Route wraps the handler of one route: it hands the route and the
// authenticated actor up to Requests. Mount it inside authentication, once
// per route when the routes are all mounted (mux.Router.Use would wrap the
// handler again on every request), so that what the route's requests share
// is worked out once: the template, the journal's operation, and the
// request line's route attributes, which the log handler formats once.
func (c Config) Route(route *mux.Route, next http.Handler) http.Handler {
	m := &matched{template: routeTemplate(route)}
	if methods, _ := route.GetMethods(); len(methods) == 1 {
		m.method = methods[0]
		m.operation = m.method + " " + m.template
		log := c.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		m.log = slog.New(log.Handler().WithAttrs(requestAttrs(protocolOf(m.template, ""), m.method, m.template)))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cp, _ := r.Context().Value(captureKey{}).(*capture); cp != nil {
			cp.route = m
			cp.actor = domain.ActorFrom(r.Context())
		}
		next.ServeHTTP(w, r)
	})
}

// requestAttrs are the request line's attributes that name the route.
func requestAttrs(protocol domain.Protocol, method, route string) []slog.Attr {
	return []slog.Attr{slog.String("protocol", string(protocol)), slog.String("method", method), slog.String("route", route)}
}

// Query is r's query, parsed only when it has one: most API requests do
// not, and parsing allocates a map even for none.
func Query(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return nil
	}
	return r.URL.Query()
}

// Template is the template of the route that matched r, as Route recorded
// it, or worked out from the route outside Requests.
func Template(r *http.Request) string {
	if cp, _ := r.Context().Value(captureKey{}).(*capture); cp != nil && cp.route != nil {
		return cp.route.template
	}
	return routeTemplate(CurrentRoute(r))
}

// routeTemplate is route's path template with the variables' patterns left
// out: "/users/{id:[0-9]+}.xml" is "/users/{id}.xml".
func routeTemplate(route *mux.Route) string {
	if route == nil {
		return ""
	}
	t, err := route.GetPathTemplate()
	if err != nil {
		return ""
	}
	var b strings.Builder
	depth, pattern := 0, false
	for i := 0; i < len(t); i++ {
		switch ch := t[i]; {
		case ch == '{':
			if depth++; depth == 1 {
				b.WriteByte(ch)
			}
		case ch == '}':
			if depth--; depth == 0 {
				b.WriteByte(ch)
				pattern = false
			}
		case ch == ':' && depth == 1:
			pattern = true // skipped up to the variable's closing brace
		case !pattern:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// protocolOf tells which API a request spoke, by its route or, when none
// matched, by its path; "" for neither.
func protocolOf(route, path string) domain.Protocol {
	if route != "" {
		path = route
	}
	return domain.ProtocolOfPath(path)
}

// ids makes request ids: a random per-process prefix and a counter, unique
// without a system call per request.
type ids struct {
	prefix string
	n      atomic.Uint64
}

func newIDs(prefix string) *ids {
	if prefix == "" {
		prefix = strconv.FormatUint(rand.Uint64()|1<<63, 36)[:10]
	}
	return &ids{prefix: prefix}
}

// requestID echoes a sane incoming id (up to 128 letters, digits, - _ . :)
// and makes one otherwise: an id goes into logs, so nothing else is trusted.
func requestID(incoming string, ids *ids) string {
	if len(incoming) > 0 && len(incoming) <= 128 && strings.IndexFunc(incoming, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.:", r))
	}) < 0 {
		return incoming
	}
	return string(strconv.AppendUint(append(append(make([]byte, 0, 32), ids.prefix...), '-'), ids.n.Add(1), 10))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// answerWriter reports the request once, with the status it is answered
// with, just before that status goes out. It holds the request's capture
// and the context carrying it too: one allocation a request for all three.
type answerWriter struct {
	http.ResponseWriter
	cp      capture
	ctx     captureContext
	cfg     *Config
	r       *http.Request
	start   time.Time // for the duration
	arrived time.Time // by Config.Now, for the sinks
	done    bool
}

func (w *answerWriter) WriteHeader(code int) {
	w.answered(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	w.answered(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Hijack hands the connection over: no HTTP answer will go out on it.
func (w *answerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.answered(0)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// answered reports the request with status, the first time only, and
// dates an answer that goes out.
func (w *answerWriter) answered(status int) {
	if !w.done {
		w.done = true
		now := time.Now() // the request line's and the Date header's time too: one clock read
		if h := w.Header(); status != 0 && h["Date"] == nil {
			h["Date"] = dates.at(now)
		}
		w.cfg.report(w.r, &w.cp, status, now, now.Sub(w.start), w.arrived)
	}
}

// dates spells the Date header once a second, where net/http spells it
// for every answer it is not given one: that was 1.5 % of a cached show's
// CPU.
var dates dateCache

type dateCache struct{ last atomic.Pointer[date] }

type date struct {
	second int64
	value  []string // shared by every answer of that second, as net/http's headers take it
}

func (c *dateCache) at(t time.Time) []string {
	if d := c.last.Load(); d != nil && d.second == t.Unix() {
		return d.value
	}
	d := &date{second: t.Unix(), value: []string{t.UTC().Format(http.TimeFormat)}}
	c.last.Store(d)
	return d.value
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LogHandler adds the request id to every record logged with a request's
// context, so an error logged deep in a front end names its request.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }

// heldWhole is how much of a body net/http holds before it starts sending
// (its bufferBeforeChunkingSize).
const heldWhole = 2048

// SetContentLength sets Content-Length for a body of n bytes written whole,
// unless net/http works it out itself: it does, without allocating, for a
// body it still holds whole when the handler returns. A longer body without
// the header would go out chunked.
func SetContentLength(h http.Header, n int) {
	if n > heldWhole {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
}
