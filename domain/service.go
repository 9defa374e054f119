package domain

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// Config holds the service's settings and its sources of time and randomness.
type Config struct {
	AgentSeats int              // active agents plus admins the account may have; 0 = unlimited
	Now        func() time.Time // defaults to time.Now
	Random     io.Reader        // tokens and salts; defaults to crypto/rand
	LoginCache time.Duration    // how long a checked password is remembered; 0 = 5 minutes
	Legacy     LegacyPolicy     // the legacy API's deprecation and sunset
	BackupDir  string           // where Backup writes its copies; "" = the working directory

	// RateLimit is how many requests a minute the account may make through
	// both APIs together; 0 = unlimited. ExportRateLimit is the incremental
	// exports' own limit within it; 0 = 10, as the real service.
	RateLimit, ExportRateLimit int
	// ErasureLimit is how many users may be permanently deleted in 10
	// minutes, whatever RateLimit says; 0 = DefaultErasureLimit (700, the
	// real service's).
	ErasureLimit int
	// AdminSetPasswords lets admins set other users' passwords (the real
	// service's account setting, off by default).
	AdminSetPasswords bool
	// CursorKey signs cursors and authenticity tokens; nil uses the store's
	// own secret. Test mode derives it from its seed, so cursors repeat.
	CursorKey []byte

	// SessionIdle and SessionMax are a browser session's idle and absolute
	// lifetimes; 0 = DefaultSessionIdle, DefaultSessionMax.
	SessionIdle, SessionMax time.Duration
	// MailDelivery marks new outbox mail for an SMTP sender (DeliverMail);
	// without it the outbox is all there is.
	MailDelivery bool
	// NoBulkImports refuses create_many and create_or_update_many, as the
	// real service does until the account owner has them enabled.
	NoBulkImports bool
	Log           *slog.Logger // the job worker's failures; nil discards
	// Interactive reports whether requests are being served, or were a
	// moment ago (the HTTP layer counts them: observe.InFlight). While so,
	// the job worker rests between chunks, so that requests keep their
	// speed during an import; idle, it runs at full speed. nil: it never
	// rests.
	Interactive func() bool
	// JobDuty is the least share of one core the job worker keeps while
	// requests are being served: it rests after a chunk at most as long
	// as the chunk took times (1 - JobDuty) / JobDuty, so jobs never
	// starve. 0 = DefaultJobDuty; 1: the worker never rests.
	JobDuty float64
	// RenderCache is the byte budget of the rendered-response cache;
	// 0 = DefaultRenderCache, negative = no cache.
	RenderCache int
	// SearchBudget is how long one search of either API may read; 0 =
	// DefaultSearchBudget.
	SearchBudget time.Duration
}

// Service holds every rule of the Users API. Both front ends call it; it
// decides permissions from the actor in the context.
type Service struct {
	store     Store
	seats     int
	searchFor time.Duration // SearchBudget
	now       func() time.Time
	random    io.Reader
	cursorKey []byte
	legacy    LegacyPolicy
	backupDir string

	adminSetsPasswords bool

	credentials *credentialCache
	writes      writeLog // what each committed write may have changed, for cached credentials and renderings
	renders     *renders // nil: every read renders afresh

	limits    *requestLimits // nil: unlimited
	erasures  *erasureLimit
	failures  *failures
	hashSlots chan struct{} // one token per argon2id computation allowed at once
	hashes    atomic.Uint64 // argon2id computations run

	sessionIdle, sessionMax time.Duration

	delivers   bool
	mailQueued atomic.Bool   // a transaction under way queued mail for delivery
	mailWake   chan struct{} // signalled once that transaction committed

	bulkImports bool
	jobDuty     float64
	interactive func() bool
	agentEvents agentHub
	jobsReady   chan struct{} // wakes the job worker
	log         *slog.Logger
}

// inTx runs fn in one write transaction of the store. Every write of the
// service goes through here, on a scopedTx, so the write log learns what
// each may change before it commits, and records it once it has ended,
// before its caller answers. A transaction that failed changed nothing, but
// is recorded all the same: an error of the commit itself leaves unknown
// whether it took effect.
func (s *Service) inTx(ctx context.Context, fn func(Tx) error) error {
	scope := writeScope{log: &s.writes}
	defer s.writes.record(&scope)
	err := s.store.InTx(ctx, func(tx Tx) error { return fn(&scopedTx{Reader: tx, tx: tx, scope: &scope}) })
	if s.mailQueued.Swap(false) && err == nil {
		select {
		case s.mailWake <- struct{}{}:
		default: // the sender is already due to wake
		}
	}
	return err
}

// NewService builds the service over store.
func NewService(ctx context.Context, store Store, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.JobDuty <= 0 || cfg.JobDuty > 1 {
		cfg.JobDuty = DefaultJobDuty
	}
	if cfg.SearchBudget <= 0 {
		cfg.SearchBudget = DefaultSearchBudget
	}
	if cfg.LoginCache == 0 {
		cfg.LoginCache = 5 * time.Minute
	}
	if cfg.SessionIdle == 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMax == 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	key := cfg.CursorKey
	if key == nil {
		var err error
		if key, err = store.Secret(ctx, "cursor"); err != nil {
			return nil, err
		}
	}
	if cfg.Legacy.DeprecatedAt.IsZero() {
		created, err := store.CreatedAt(ctx)
		if err != nil {
			return nil, err
		}
		cfg.Legacy.DeprecatedAt = created
	}
	cacheKey := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, cacheKey); err != nil {
		return nil, err
	}
	return &Service{
		store:              store,
		seats:              cfg.AgentSeats,
		searchFor:          cfg.SearchBudget,
		now:                cfg.Now,
		random:             cfg.Random,
		cursorKey:          key,
		adminSetsPasswords: cfg.AdminSetPasswords,
		legacy:             cfg.Legacy,
		backupDir:          cfg.BackupDir,
		credentials:        newCredentialCache(cacheKey, cfg.LoginCache),
		renders:            newRenders(cfg.RenderCache),
		limits:             newRequestLimits(cfg.RateLimit, cfg.ExportRateLimit),
		erasures:           newErasureLimit(cfg.ErasureLimit),
		failures:           newFailures(),
		// Half the cores at most hash passwords; the rest serve requests
		// that are already authenticated.
		hashSlots:   make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		sessionIdle: cfg.SessionIdle,
		sessionMax:  cfg.SessionMax,
		delivers:    cfg.MailDelivery,
		mailWake:    make(chan struct{}, 1),
		bulkImports: !cfg.NoBulkImports,
		jobDuty:     cfg.JobDuty,
		interactive: cfg.Interactive,
		jobsReady:   make(chan struct{}, 1),
		log:         cfg.Log,
	}, nil
}

// Now is the service's clock, truncated to the second the APIs show.
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Second) }

// Actor is the authenticated user a request acts for.
type Actor struct {
	ID         int64
	Role       Role
	Owner      bool
	Credential Credential // what the request authenticated with
	SessionID  int64      // the session of a cookie-authenticated request, else 0

	sessionToken string // the session's authenticity token
}

// Credential is the kind of secret a request authenticated with.
type Credential uint8

const (
	CredentialNone     Credential = iota // no credentials, or wrong ones
	CredentialPassword                   // Basic email:password
	CredentialToken                      // Basic email/token:API_TOKEN
	CredentialSession                    // a browser session cookie
)

var credentialNames = [...]string{"none", "password", "token", "session"}

// String names the credential kind as logs and reports show it.
func (c Credential) String() string { return credentialNames[c] }

// ParseCredential reads a name String returned; unknown names are CredentialNone.
func ParseCredential(name string) Credential {
	return Credential(max(0, slices.Index(credentialNames[:], name)))
}

// callerKey carries the request's *Caller: one context value for what the
// front end learns of a request before the service sees it, where a value
// for each part cost two allocations a request.
type callerKey struct{}

// Origin is where a request came from.
type Origin struct {
	Client    string // the peer's IP address, without port: limits count by it
	CrossSite bool   // the browser said a page of another site sent the request
}

// Caller is what the service knows of the request a context belongs to:
// where it came from and what authenticating it found. The front end fills
// it in before any other service call reads it.
type Caller struct {
	Origin
	auth authentication
}

// authentication is what authenticating a request found: an actor, or why not.
type authentication struct {
	actor *Actor
	err   error
}

// NewCaller returns ctx carrying a caller of origin, and the caller, for
// SetAuthentication once the credentials have been checked with that ctx.
func NewCaller(ctx context.Context, origin Origin) (context.Context, *Caller) {
	c := &Caller{Origin: origin}
	return context.WithValue(ctx, callerKey{}, c), c
}

// CallerSlot holds a request's Caller in a context value the front end
// makes for the request anyway, so that the request is not copied again
// for the context NewCaller makes. A context holding the slot answers
// Value by it first.
type CallerSlot struct {
	caller Caller
	filled bool
}

// Fill makes the slot's caller one of origin and returns it, for
// SetAuthentication. From then on the slot answers for the caller.
func (s *CallerSlot) Fill(origin Origin) *Caller {
	s.caller, s.filled = Caller{Origin: origin}, true
	return &s.caller
}

// Value is what the slot answers a context's Value for key: the caller,
// once filled; ok is false when the context should ask its parent.
func (s *CallerSlot) Value(key any) (v any, ok bool) {
	if s.filled && key == (callerKey{}) {
		return &s.caller, true
	}
	return nil, false
}

// SetAuthentication records the outcome of Authenticate or
// AuthenticateSession. Call it before the context is shared: its readers
// take no lock.
func (c *Caller) SetAuthentication(a *Actor, err error) { c.auth = authentication{actor: a, err: err} }

// callerOf returns the caller ctx carries, or the zero one (no origin, not
// authenticated) when it carries none.
func callerOf(ctx context.Context) Caller {
	if c, _ := ctx.Value(callerKey{}).(*Caller); c != nil {
		return *c
	}
	return Caller{}
}

// WithActor returns ctx carrying the authenticated actor, from the origin
// ctx carries.
func WithActor(ctx context.Context, a *Actor) context.Context {
	ctx, c := NewCaller(ctx, callerOf(ctx).Origin)
	c.SetAuthentication(a, nil)
	return ctx
}

// ActorFrom returns the actor in ctx, or nil.
func ActorFrom(ctx context.Context) *Actor {
	return callerOf(ctx).auth.actor
}

// Authenticated returns nil when ctx carries an actor, else why not: the
// error authentication met, or Unauthenticated when no credentials came.
func Authenticated(ctx context.Context) error {
	_, err := actor(ctx)
	return err
}

var errUnauthenticated = &Error{Kind: Unauthenticated, Msg: "Couldn't authenticate you"}

// errForbidden is the one refusal text; the real service says the same for every denial.
var errForbidden = &Error{Kind: Forbidden, Msg: "You do not have access to this page. Please contact the account owner of this help desk for further help."}

// actor returns the request's actor; every service method starts here, so no
// call can skip authentication.
func actor(ctx context.Context) (*Actor, error) {
	switch auth := callerOf(ctx).auth; {
	case auth.actor != nil:
		return auth.actor, nil
	case auth.err != nil:
		return nil, auth.err
	}
	return nil, errUnauthenticated
}

// agent returns the actor if it has agent privileges.
func agent(ctx context.Context) (*Actor, error) {
	a, err := actor(ctx)
	if err == nil && !a.Role.IsAgent() {
		err = errForbidden
	}
	return a, err
}

// admin returns the actor if it is an admin.
func admin(ctx context.Context) (*Actor, error) {
	a, err := actor(ctx)
	if err == nil && a.Role != Admin {
		err = errForbidden
	}
	return a, err
}

// SeesAgentFields reports whether users are shown to a in full; end users
// see the reduced view the real service gives them.
func (a *Actor) SeesAgentFields() bool { return a != nil && a.Role.IsAgent() }

// canSee reports whether a may read the user with the given id: agents see
// everyone, end users only themselves.
func (a *Actor) canSee(userID int64) bool { return a.Role.IsAgent() || a.ID == userID }
