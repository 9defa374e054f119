// Package deskgate serves two generations of a help-desk Users API, the
// legacy XML API and the v2 JSON API, over one shared domain.
package deskgate

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/testmode"
	"github.com/deskgate/deskgate/xmlapi"
	"github.com/gorilla/mux"
)

// Options configure the handler; the zero value serves with defaults.
type Options struct {
	// BaseURL is the origin of absolute URLs in responses
	// ("https://help.example.com"); empty derives it from each request's Host.
	BaseURL string
	Log     *slog.Logger // nil discards; lines logged while serving a request carry its id

	Journal observe.Journal  // nil: requests are not journaled
	Metrics *observe.Metrics // nil: requests are not counted
	// ServeMetrics mounts Metrics at /metrics for loopback clients only;
	// off when the metrics have a listener of their own.
	ServeMetrics bool
	// Ready says whether the server can take traffic (/readyz); nil: always.
	Ready func(context.Context) error
	// TestMode, when set, mounts the control API under /__deskgate/, wraps
	// every request in test mode (faults, the restore gate) and lists the
	// API requests. Without it every /__deskgate/ path is a 404.
	TestMode *testmode.Controller
	// InFlight, when set, counts the requests being served, for the job
	// worker to yield to (domain.Config.Interactive); agent event streams
	// count only until they are open.
	InFlight *observe.InFlight
	// EventKeepAlive is how often an idle agent event stream
	// (/api/v2/deskgate/agent_events) gets a keep-alive comment; 0 = 15 s.
	EventKeepAlive time.Duration
}

// NewHandler mounts both APIs, the health and readiness checks and the
// metrics on one router, behind the request observer.
func NewHandler(svc *domain.Service, opts Options) http.Handler {
	log := slog.New(slog.DiscardHandler)
	if opts.Log != nil {
		log = slog.New(observe.LogHandler(opts.Log.Handler())) // every line logged while serving names its request
	}
	var origins hostOrigins
	base := func(r *http.Request) string {
		if opts.BaseURL != "" {
			return opts.BaseURL
		}
		return origins.of(r)
	}
	r := mux.NewRouter()
	legacy, v2 := xmlapi.New(svc, base, log), jsonapi.New(svc, base, log, opts.EventKeepAlive)
	v2.ShowUserRoute(r) // routes are tried in order: the shows first, the legacy API's first of its own
	legacy.Routes(r)
	v2.Routes(r)
	// After the APIs, whose requests are the many: routes are tried in order.
	// Probes may ask with HEAD; net/http sends a HEAD answer without its body.
	probe := []string{http.MethodGet, http.MethodHead}
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	}).Methods(probe...)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(r.Context()); err != nil {
				log.WarnContext(r.Context(), "not ready", "err", err)
				text(w, http.StatusServiceUnavailable, "not ready")
				return
			}
		}
		text(w, http.StatusOK, "ready")
	}).Methods(probe...)
	if opts.Metrics != nil && opts.ServeMetrics {
		r.Handle("/metrics", loopbackOnly(opts.Metrics.Handler())).Methods(http.MethodGet)
	}
	plain405 := func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
	}
	r.NotFoundHandler = byProtocol(v2.NotFound, legacy.NotFound, http.NotFound)
	r.MethodNotAllowedHandler = withAllow(r, byProtocol(v2.MethodNotAllowed, legacy.MethodNotAllowed, plain405))
	var h http.Handler = observe.Dispatch(r)
	observed := observe.Config{Log: log, Metrics: opts.Metrics, Now: svc.Now}
	if opts.Journal != nil {
		observed.Sinks = append(observed.Sinks, observe.Journaled(opts.Journal))
	}
	if opts.TestMode != nil {
		log.Warn("TEST MODE IS ON: the account owner can reset, restore, re-clock and break this server through " +
			testmode.Prefix + "; never run it this way in production")
		opts.TestMode.Routes(r)
		h = opts.TestMode.Wrap(h)
		observed.Sinks = append(observed.Sinks, opts.TestMode)
		observed.IDPrefix = "test" // every byte of a scripted session repeats, request ids too
	}
	wrapRoutes(r, func(route *mux.Route, next http.Handler) http.Handler {
		return authenticate(svc, base, observed.Route(route, next))
	})
	observed.InFlight = opts.InFlight
	return observe.Requests(h, observed)
}

// hostOrigins works out the origin a request names by its Host header,
// remembering the last one: clients send the same Host request after
// request, and joining the origin anew cost an allocation each.
type hostOrigins struct{ last atomic.Pointer[hostOrigin] }

type hostOrigin struct {
	host   string
	tls    bool
	origin string
}

func (o *hostOrigins) of(r *http.Request) string {
	tls := r.TLS != nil
	if last := o.last.Load(); last != nil && last.host == r.Host && last.tls == tls {
		return last.origin
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	next := &hostOrigin{host: r.Host, tls: tls, origin: scheme + "://" + r.Host}
	o.last.Store(next)
	return next.origin
}

// wrapRoutes wraps the handler of every route of r once, at start-up, where
// mux.Router.Use would wrap it again on every request; call it when every
// route is mounted. Requests that match no route get no wrapping either way.
func wrapRoutes(r *mux.Router, wrap func(*mux.Route, http.Handler) http.Handler) {
	r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if next := route.GetHandler(); next != nil {
			route.Handler(wrap(route, next))
		}
		return nil
	})
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, body+"\n")
}

// loopbackOnly answers 404 to every client not on this machine: the
// metrics name routes and seat counts, which are nobody else's business.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// byProtocol picks, by path prefix, the API whose format answers what the
// router answers itself (404, 405): the one place that decides it.
func byProtocol(v2, legacy, other http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/api/v2" || domain.ProtocolOfPath(p) == domain.ProtocolV2:
			v2(w, r)
		case p == "/users" || strings.HasPrefix(p, "/users.") || strings.HasPrefix(p, "/users/"):
			legacy(w, r)
		default:
			other(w, r)
		}
	})
}

// withAllow sets the Allow header a 405 must carry: the methods some route
// of router takes for the request's path.
func withAllow(router *mux.Router, next http.Handler) http.Handler {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			var match mux.RouteMatch
			if router.Match(probe, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		next.ServeHTTP(w, r)
	})
}

// MaxBody is the largest request body either API accepts; a user document
// is under 4 KiB.
const MaxBody = 1 << 20

// authenticate limits the body and records in the request's context the
// client's address, whether another site's page sent the request, and who
// the Basic credentials or, without them, the session cookie name, or why
// they failed. Without credentials no actor is
// recorded; the service then refuses every call that needs one, and each
// front end answers in its own format. Whether a cookie request may change
// anything without its authenticity token is the domain's to decide; this
// only reports the token and whether the method changes state.
//
// The address is the connection's peer: X-Forwarded-For is not trusted, so
// behind a reverse proxy every client counts as the proxy's address.
func authenticate(svc *domain.Service, base func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != http.NoBody { // what net/http gives a request without one, most of them
			r.Body = body{http.MaxBytesReader(w, r.Body, MaxBody)}
		}
		var origin domain.Origin
		origin.Client, _, _ = net.SplitHostPort(r.RemoteAddr)
		origin.CrossSite = fromOtherSite(r, base)
		var caller *domain.Caller
		if slot := observe.CallerSlot(r.Context()); slot != nil {
			caller = slot.Fill(origin) // the request's own context then answers for it
		} else {
			var ctx context.Context
			ctx, caller = domain.NewCaller(r.Context(), origin)
			r = r.WithContext(ctx)
		}
		ctx := r.Context()
		if user, pass, ok := r.BasicAuth(); ok {
			caller.SetAuthentication(svc.Authenticate(ctx, user, pass))
		} else if c, err := r.Cookie(jsonapi.SessionCookie); err == nil {
			caller.SetAuthentication(svc.AuthenticateSession(ctx, domain.SessionCredentials{
				Secret:        c.Value,
				CSRFToken:     r.Header.Get("X-CSRF-Token"),
				StateChanging: !safeMethod(r.Method),
			}))
		}
		next.ServeHTTP(w, r)
	})
}

// body makes a body that cannot be read to its end, because the client
// stopped sending or ran out of read timeout, the client's error: a 400 in
// each API's format rather than a 500.
type body struct{ io.ReadCloser }

func (b body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &tooBig) {
		err = &domain.Error{Kind: domain.BadRequest, Msg: "The request body could not be read: it ended early or took too long to arrive.", Err: err}
	}
	return n, err
}

// fromOtherSite reports whether the browser says a page of another origin
// than the server's (base's) sent the request: by Sec-Fetch-Site or, from
// browsers without it, by Origin. Clients that are not browsers send neither.
func fromOtherSite(r *http.Request, base func(*http.Request) string) bool {
	// Read by the canonical keys net/http files them under: Header.Get would
	// canonicalize the names again on every request.
	if site := r.Header["Sec-Fetch-Site"]; len(site) > 0 && site[0] != "" {
		return site[0] != "same-origin" && site[0] != "none" // "none": the user typed the address
	}
	o := r.Header["Origin"]
	return len(o) > 0 && o[0] != "" && !strings.EqualFold(o[0], base(r))
}

// safeMethod reports whether an HTTP method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// How often the background jobs run: purging sessions that are over, and a
// round of mail delivery (also as soon as a commit queues mail).
const (
	sessionPurge = time.Minute
	mailRound    = 5 * time.Second
)

// Background runs the service's jobs until ctx ends: the session purge and,
// when send is not nil, the delivery of outbox mail through it.
func Background(ctx context.Context, svc *domain.Service, send func(context.Context, domain.Mail) error, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		every(ctx, sessionPurge, nil, log, "session purge", func(ctx context.Context) error {
			_, err := svc.PurgeSessions(ctx)
			return err
		})
	}()
	if send != nil {
		every(ctx, mailRound, svc.MailQueued(), log, "mail delivery", func(ctx context.Context) error {
			_, err := svc.DeliverMail(ctx, send)
			return err
		})
	}
	<-done
}

// every runs job now and then every period, or sooner when wake fires,
// until ctx ends. A failed run is logged and retried at the next one.
func every(ctx context.Context, period time.Duration, wake <-chan struct{}, log *slog.Logger, name string, job func(context.Context) error) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			log.Warn(name+" failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}
