// Command deskgate serves the legacy XML and the v2 JSON Users APIs over one
// SQLite database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/mailer"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
	"github.com/deskgate/deskgate/testmode"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deskgate:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, db, baseURL                      string
	agentSeats, rateLimit, exportRateLimit int
	renderCacheMiB, erasureLimit           int
	adminSetPasswords                      bool
	bulkImports                            bool
	jobDuty                                float64
	ownerEmail, ownerPassword, ownerToken  string
	ownerGiven                             []string // the owner settings given, by flag name
	server                                 deskgate.ServerOptions
	sessionIdle, sessionMax                time.Duration
	smtpURL                                string

	testMode bool
	fixtures string    // a fixture file loaded at start (test mode)
	clock    time.Time // the frozen start time; zero follows the wall clock (test mode)
	seed     *uint64   // the seed of ids, tokens and cursors; nil: random (test mode)

	legacy           domain.LegacyPolicy
	journalRetention time.Duration
	journalMaxRows   int
	metricsAddr      string
	logFormat        string
	backupDir        string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string { return envOr(getenv, name, def) }
	var c config
	fs := flag.NewFlagSet("deskgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", env("DESKGATE_ADDR", "127.0.0.1:8080"), "listen address (DESKGATE_ADDR)")
	fs.StringVar(&c.db, "db", env("DESKGATE_DB", "deskgate.db"), "SQLite database file, created on first start (DESKGATE_DB)")
	fs.StringVar(&c.baseURL, "base-url", env("DESKGATE_BASE_URL", ""), "origin for Location, url and pagination links, e.g. https://help.example.com; default: from the request's Host (DESKGATE_BASE_URL)")
	seats := fs.String("agent-seats", env("DESKGATE_AGENT_SEATS", "0"), "active agents plus admins allowed; 0 = unlimited (DESKGATE_AGENT_SEATS)")
	imports := fs.String("bulk-imports", env("DESKGATE_BULK_IMPORTS", "true"), "allow create_many and create_or_update_many; false answers them 403 as the real service does until enabled (DESKGATE_BULK_IMPORTS)")
	duty := fs.String("job-duty", env("DESKGATE_JOB_DUTY", strconv.FormatFloat(domain.DefaultJobDuty, 'f', -1, 64)), "least share of one core the bulk job worker keeps while requests are being served, above 0 up to 1: it rests between chunks while any is, so requests keep their speed during imports, and runs at full speed when the server is idle; 1 = never rests (DESKGATE_JOB_DUTY)")
	fs.StringVar(&c.ownerEmail, "owner-email", env("DESKGATE_OWNER_EMAIL", "owner@example.com"), "account owner's email, used on an empty database (DESKGATE_OWNER_EMAIL)")
	// Secrets are no flag's default: the usage text, printed on any flag
	// error, shows defaults. Their variables apply after parsing instead.
	secrets := map[string]*string{"owner-password": &c.ownerPassword, "owner-token": &c.ownerToken, "smtp-url": &c.smtpURL}
	fs.StringVar(&c.ownerPassword, "owner-password", "", "account owner's password; generated and printed once when empty (DESKGATE_OWNER_PASSWORD)")
	fs.StringVar(&c.ownerToken, "owner-token", "", "account owner's API token (DESKGATE_OWNER_TOKEN)")
	deprecatedAt := fs.String("legacy-deprecated-at", env("DESKGATE_LEGACY_DEPRECATED_AT", ""), "date the legacy API was deprecated, e.g. 2026-01-31; default: the database's creation date (DESKGATE_LEGACY_DEPRECATED_AT)")
	sunset := fs.String("legacy-sunset", env("DESKGATE_LEGACY_SUNSET", ""), "date the legacy API ends, announced in Sunset headers; default: none (DESKGATE_LEGACY_SUNSET)")
	afterSunset := fs.String("legacy-after-sunset", env("DESKGATE_LEGACY_AFTER_SUNSET", "serve"), "serve or refuse (410 Gone) legacy requests after the sunset (DESKGATE_LEGACY_AFTER_SUNSET)")
	retention := fs.String("journal-retention", env("DESKGATE_JOURNAL_RETENTION", "30d"), "how long journaled requests are kept, e.g. 30d or 12h (DESKGATE_JOURNAL_RETENTION)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("DESKGATE_METRICS_ADDR", ""), "listen address of /metrics; default: on -addr, to loopback clients only (DESKGATE_METRICS_ADDR)")
	fs.StringVar(&c.logFormat, "log-format", env("DESKGATE_LOG_FORMAT", "text"), "text or json (DESKGATE_LOG_FORMAT)")
	fs.StringVar(&c.backupDir, "backup-dir", env("DESKGATE_BACKUP_DIR", ""), "directory of the backups POST /api/v2/deskgate/backup makes; default: the database's (DESKGATE_BACKUP_DIR)")
	rateLimit := fs.String("rate-limit", env("DESKGATE_RATE_LIMIT", "700"), "requests a minute the account may make through both APIs, as the real service's default plan; 0 = unlimited (DESKGATE_RATE_LIMIT)")
	d := deskgate.DefaultServerOptions()
	durations := []struct {
		name string
		to   *time.Duration
		flag *string
	}{
		{"header timeout", &c.server.HeaderTimeout, fs.String("header-timeout", env("DESKGATE_HEADER_TIMEOUT", d.HeaderTimeout.String()), "time a client has to send a request's headers (DESKGATE_HEADER_TIMEOUT)")},
		{"read timeout", &c.server.ReadTimeout, fs.String("read-timeout", env("DESKGATE_READ_TIMEOUT", d.ReadTimeout.String()), "time a client has to send a whole request, body included (DESKGATE_READ_TIMEOUT)")},
		{"write timeout", &c.server.WriteTimeout, fs.String("write-timeout", env("DESKGATE_WRITE_TIMEOUT", d.WriteTimeout.String()), "time from a request's headers to the end of its response (DESKGATE_WRITE_TIMEOUT)")},
		{"session idle", &c.sessionIdle, fs.String("session-idle", env("DESKGATE_SESSION_IDLE", domain.DefaultSessionIdle.String()), "a browser session ends after this long unused (DESKGATE_SESSION_IDLE)")},
		{"session max", &c.sessionMax, fs.String("session-max", env("DESKGATE_SESSION_MAX", domain.DefaultSessionMax.String()), "a browser session ends this long after sign-in or its last renewal (DESKGATE_SESSION_MAX)")},
		{"idle timeout", &c.server.IdleTimeout, fs.String("idle-timeout", env("DESKGATE_IDLE_TIMEOUT", d.IdleTimeout.String()), "time a keep-alive connection may wait for its next request (DESKGATE_IDLE_TIMEOUT)")},
	}
	counts := []struct {
		name string
		to   *int
		min  int
		flag *string
	}{
		{"agent seats", &c.agentSeats, 0, seats},
		{"rate limit", &c.rateLimit, 0, rateLimit},
		{"export rate limit", &c.exportRateLimit, 1, fs.String("export-rate-limit", env("DESKGATE_EXPORT_RATE_LIMIT", "10"), "incremental export requests a minute, within -rate-limit, as the real service (DESKGATE_EXPORT_RATE_LIMIT)")},
		{"permanent deletion limit", &c.erasureLimit, 1, fs.String("permanent-deletion-limit", env("DESKGATE_PERMANENT_DELETION_LIMIT", strconv.Itoa(domain.DefaultErasureLimit)), "users that may be permanently deleted in 10 minutes, as the real service (DESKGATE_PERMANENT_DELETION_LIMIT)")},
		{"render cache", &c.renderCacheMiB, 0, fs.String("render-cache", env("DESKGATE_RENDER_CACHE", strconv.Itoa(domain.DefaultRenderCache>>20)), "MiB of rendered user bodies kept for repeated reads until the next write; 0 = none (DESKGATE_RENDER_CACHE)")},
		{"max conns", &c.server.MaxConns, 1, fs.String("max-conns", env("DESKGATE_MAX_CONNS", strconv.Itoa(d.MaxConns)), "open connections in all; more wait to be accepted (DESKGATE_MAX_CONNS)")},
		{"conns per client", &c.server.ConnsPerClient, 1, fs.String("conns-per-client", env("DESKGATE_CONNS_PER_CLIENT", strconv.Itoa(d.ConnsPerClient)), "open connections from one client address (an IPv6 one: its /64); more are closed at once (DESKGATE_CONNS_PER_CLIENT)")},
		{"journal max rows", &c.journalMaxRows, 1, fs.String("journal-max-rows", env("DESKGATE_JOURNAL_MAX_ROWS", "1000000"), "journaled requests kept at most (DESKGATE_JOURNAL_MAX_ROWS)")},
	}
	// Switches are bool flags, so that a bare -test-mode turns one on; their
	// variables apply after parsing, where the flag, when given, wins over
	// a variable even when that cannot be read.
	switches := map[string]*bool{"admin-set-passwords": &c.adminSetPasswords, "test-mode": &c.testMode}
	fs.BoolVar(&c.adminSetPasswords, "admin-set-passwords", false, "let admins set other users' passwords, off by default as on the real service (DESKGATE_ADMIN_SET_PASSWORDS)")
	fs.BoolVar(&c.testMode, "test-mode", false, "serve the control API under /__deskgate/ for tests: fixtures, reset, snapshots, clock, faults, recorded requests; never in production (DESKGATE_TEST_MODE)")
	fs.StringVar(&c.fixtures, "fixtures", env("DESKGATE_FIXTURES", ""), "JSON fixture file loaded at start; test mode only (DESKGATE_FIXTURES)")
	clock := fs.String("clock", env("DESKGATE_CLOCK", ""), "freeze the clock at this RFC 3339 time, e.g. 2024-01-01T00:00:00Z; test mode only (DESKGATE_CLOCK)")
	seed := fs.String("seed", env("DESKGATE_SEED", ""), "seed ids, tokens, generated passwords and cursors from this number; test mode only (DESKGATE_SEED)")
	fs.StringVar(&c.smtpURL, "smtp-url", "", "also deliver outbox mail through smtp://user:password@host:port[?from=address]; default: outbox only (DESKGATE_SMTP_URL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, to := range secrets {
		if !given[name] {
			*to = getenv(envName(name))
		}
	}
	for name, to := range switches {
		if v := getenv(envName(name)); v != "" && !given[name] {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return c, fmt.Errorf("%s must be true or false, not %q", strings.ReplaceAll(name, "-", " "), v)
			}
			*to = on
		}
	}
	for _, name := range []string{"owner-email", "owner-password", "owner-token"} {
		if given[name] || getenv(envName(name)) != "" {
			c.ownerGiven = append(c.ownerGiven, "-"+name)
		}
	}
	for _, f := range durations {
		v, err := time.ParseDuration(*f.flag)
		if err != nil || v <= 0 {
			return c, fmt.Errorf("%s must be a positive duration such as 15s, not %q", f.name, *f.flag)
		}
		*f.to = v
	}
	for _, f := range counts {
		n, err := strconv.Atoi(*f.flag)
		if err != nil || n < f.min {
			return c, fmt.Errorf("%s must be a whole number from %d up, not %q", f.name, f.min, *f.flag)
		}
		*f.to = n
	}
	var err error
	if c.legacy.DeprecatedAt, err = parseTime("legacy deprecation date", *deprecatedAt); err != nil {
		return c, err
	}
	if c.legacy.Sunset, err = parseTime("legacy sunset", *sunset); err != nil {
		return c, err
	}
	switch *afterSunset {
	case "serve":
	case "refuse":
		if c.legacy.Sunset.IsZero() {
			return c, errors.New("-legacy-after-sunset=refuse needs -legacy-sunset")
		}
		c.legacy.RefuseAfterSunset = true
	default:
		return c, fmt.Errorf("legacy after sunset must be serve or refuse, not %q", *afterSunset)
	}
	if c.journalRetention, err = parseDays(*retention); err != nil || c.journalRetention <= 0 {
		return c, fmt.Errorf("journal retention must be a positive duration such as 30d or 12h, not %q", *retention)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fmt.Errorf("log format must be text or json, not %q", c.logFormat)
	}
	if c.backupDir == "" {
		c.backupDir = filepath.Dir(c.db)
	}
	if c.server.ReadTimeout < c.server.HeaderTimeout {
		return c, fmt.Errorf("read timeout %s is shorter than the header timeout %s, which it includes", c.server.ReadTimeout, c.server.HeaderTimeout)
	}
	if !c.testMode && (c.fixtures != "" || *clock != "" || *seed != "") {
		return c, errors.New("fixtures, clock and seed need test mode (-test-mode or DESKGATE_TEST_MODE=true)")
	}
	if *clock != "" {
		if c.clock, err = time.Parse(time.RFC3339, *clock); err != nil {
			return c, fmt.Errorf("clock must be an RFC 3339 time such as 2024-01-01T00:00:00Z, not %q", *clock)
		}
	}
	if *seed != "" {
		n, err := strconv.ParseUint(*seed, 10, 64)
		if err != nil {
			return c, fmt.Errorf("seed must be a whole number from 0 up, not %q", *seed)
		}
		c.seed = &n
	}
	if c.bulkImports, err = strconv.ParseBool(*imports); err != nil {
		return c, fmt.Errorf("bulk imports must be true or false, not %q", *imports)
	}
	if c.jobDuty, err = strconv.ParseFloat(*duty, 64); err != nil || !(c.jobDuty > 0 && c.jobDuty <= 1) {
		return c, fmt.Errorf("job duty must be a number above 0 and at most 1, not %q", *duty)
	}
	c.baseURL = strings.TrimSuffix(c.baseURL, "/")
	if c.baseURL != "" && !strings.HasPrefix(c.baseURL, "http://") && !strings.HasPrefix(c.baseURL, "https://") {
		return c, fmt.Errorf("base URL must start with http:// or https://, not %q", c.baseURL)
	}
	return c, nil
}

// envName is the variable that stands for a flag: owner-token is DESKGATE_OWNER_TOKEN.
func envName(flag string) string {
	return "DESKGATE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))

}

// renderCache is the service's render cache setting: 0 MiB switches it off.
func (c config) renderCache() int {
	if c.renderCacheMiB == 0 {
		return -1
	}
	return c.renderCacheMiB << 20
}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets
// one. The garbage collector otherwise lets the heap grow to twice what is
// live: at 1,000,000 users, the render cache full and a full export's
// 1,000-user pages going through, that peaked at 180 MB of RSS; with this
// limit, at 127 MB. Near the limit the collector runs more
// often instead; it is soft, so a larger live heap slows the server rather
// than stopping it.
const memoryLimit = 80 << 20

// gcPercent is GOGC under that limit unless GOGC sets one. With the limit
// bounding the heap, the default of 100 only makes a small live heap (a
// directory of thousands, its renderings cached) collect twice as often as
// it needs to: every cached show leaves some 5 KiB behind, so at 30,000
// shows a second the collector would run several times a second.
const gcPercent = 400

// run serves until ctx ends or SIGINT/SIGTERM arrives, then lets in-flight
// requests finish and closes the database; "report" and "backup" run the
// subcommands of those names instead.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return report(ctx, args[1:], getenv, stdout, stderr)
		case "backup":
			return backup(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" { // the runtime's own settings win
		debug.SetMemoryLimit(memoryLimit)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(gcPercent)
		}
	}
	// Lines wait up to 100 ms to be written together: under load one write
	// call a request line was the dearest part of logging it.
	logOut := observe.BufferLog(stderr, 100*time.Millisecond)
	defer logOut.Close()
	log := newLogger(cfg.logFormat, logOut)

	db, err := storage.Open(ctx, cfg.db, log)
	if err != nil {
		return err
	}
	defer db.Close()
	var smtp *mailer.SMTP
	if cfg.smtpURL != "" {
		if smtp, err = mailer.New(cfg.smtpURL); err != nil {
			return err
		}
	}
	svcCfg := domain.Config{AgentSeats: cfg.agentSeats, RateLimit: cfg.rateLimit, ExportRateLimit: cfg.exportRateLimit, ErasureLimit: cfg.erasureLimit, AdminSetPasswords: cfg.adminSetPasswords,
		SessionIdle: cfg.sessionIdle, SessionMax: cfg.sessionMax, MailDelivery: smtp != nil,
		Legacy: cfg.legacy, BackupDir: cfg.backupDir, NoBulkImports: !cfg.bulkImports, JobDuty: cfg.jobDuty, RenderCache: cfg.renderCache(), Log: log}
	inFlight := new(observe.InFlight) // the job worker yields to the requests it counts
	svcCfg.Interactive = inFlight.Busy
	var clock *testmode.Clock
	if cfg.testMode {
		clock = testmode.NewClock(cfg.clock)
		svcCfg.Now = clock.Now
		if cfg.seed != nil {
			svcCfg.Random, svcCfg.CursorKey = testmode.Seeded(*cfg.seed)
		}
	}
	svc, err := domain.NewService(ctx, db, svcCfg)
	if err != nil {
		return err
	}
	generated, created, err := svc.Bootstrap(ctx, domain.Owner{Email: cfg.ownerEmail, Password: cfg.ownerPassword, Token: cfg.ownerToken})
	if err != nil {
		return fmt.Errorf("creating the account owner: %w", err)
	}
	if created {
		fmt.Fprintf(stdout, "deskgate: created the account owner %s\n", cfg.ownerEmail)
	} else if len(cfg.ownerGiven) > 0 {
		// Names only: the values may be secrets.
		log.Warn("the database already has users, so the owner settings were ignored: they apply to an empty database only",
			"ignored", strings.Join(cfg.ownerGiven, " "), "db", cfg.db)
	}
	if generated != "" {
		fmt.Fprintf(stdout, "deskgate: owner password (shown once): %s\n", generated)
	}

	journal := db.OpenJournal(storage.JournalOptions{Retention: cfg.journalRetention, MaxRows: int64(cfg.journalMaxRows), Now: svc.Now})
	defer journal.Close() // before the database closes: it writes what is queued
	metrics := newMetrics(svc, db, journal)
	var shuttingDown atomic.Bool
	opts := deskgate.Options{
		BaseURL:      cfg.baseURL,
		Log:          log,
		Journal:      journal,
		Metrics:      metrics,
		ServeMetrics: cfg.metricsAddr == "",
		InFlight:     inFlight,
		Ready: func(ctx context.Context) error {
			if shuttingDown.Load() {
				return errors.New("shutting down")
			}
			return db.Ready(ctx)
		},
	}
	if cfg.testMode {
		if opts.TestMode, err = startTestMode(ctx, svc, db, clock, cfg.fixtures, log); err != nil {
			return err
		}
	}

	type listener struct {
		addr    string
		handler http.Handler
	}
	listeners := []listener{{cfg.addr, deskgate.NewHandler(svc, opts)}}
	if cfg.metricsAddr != "" {
		listeners = append(listeners, listener{cfg.metricsAddr, metrics.Handler()})
	}
	var send func(context.Context, domain.Mail) error
	if smtp != nil {
		log.Info("delivering mail", "smtp", smtp.Addr())
		send = smtp.Send
	}
	background, stopBackground := context.WithCancel(context.Background())
	var jobs sync.WaitGroup
	defer jobs.Wait() // before the database closes
	defer stopBackground()
	jobs.Go(func() { deskgate.Background(background, svc, send, log) })
	// Every address is taken before any is served: a server left serving
	// after a later one failed would answer from a closed database.
	lns := make([]net.Listener, 0, len(listeners))
	for _, l := range listeners {
		ln, err := deskgate.Listen(l.addr, cfg.server)
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return err
		}
		lns = append(lns, ln)
	}
	var servers []*http.Server
	serveErr := make(chan error, len(listeners))
	for i, l := range listeners {
		ln := lns[i]
		srv := deskgate.NewServer(l.handler, cfg.server, log)
		// Shutdown waits for idle connections; an agent event stream never
		// is one, so the streams are ended when shutdown begins.
		srv.RegisterOnShutdown(svc.CloseAgentStreams)
		servers = append(servers, srv)
		log.Info("serving", "addr", ln.Addr().String(), "db", cfg.db, "metrics_only", i > 0)
		logOut.Flush() // what start-up logged is out before the first request is answered
		go func() { serveErr <- srv.Serve(ln) }()
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		svc.RunJobs(jobsCtx)
	}()
	// The worker stops after the requests: it finishes the item it is
	// applying and leaves the rest queued for the next start.
	defer func() {
		stopJobs()
		<-jobsDone
	}()
	var failed error
	pending := len(servers)
	select {
	case failed = <-serveErr: // one server failed: the others stop too
		pending--
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shuttingDown.Store(true)
	return errors.Join(failed, stopServing(servers, serveErr, pending))
}

// stopServing shuts every server down, closing one whose requests outlast
// the grace period, and waits for the pending Serve calls to return, so that
// nothing is served once run returns and closes the database.
func stopServing(servers []*http.Server, served <-chan error, pending int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	for range pending {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newLogger logs in the given format.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// parseTime reads a date (2026-01-31, UTC) or an RFC 3339 time; "" is zero.
func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := domain.ParseTime(s); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s must be a date such as 2026-01-31 or an RFC 3339 time, not %q", what, s)
}

// parseDays reads a Go duration, or a number of days such as 30d.
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(s)
}

// startTestMode builds test mode's controller and loads the start-up
// fixture, if any, acting for the owner.
func startTestMode(ctx context.Context, svc *domain.Service, db *storage.DB, clock *testmode.Clock, fixtures string, log *slog.Logger) (*testmode.Controller, error) {
	tm := testmode.New(svc, db, clock, log)
	if fixtures == "" {
		return tm, nil
	}
	data, err := os.ReadFile(fixtures)
	if err != nil {
		return nil, err
	}
	ownerCtx, err := svc.AsOwner(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tm.LoadFixture(ownerCtx, data); err != nil {
		return nil, fmt.Errorf("%s: %w", fixtures, err)
	}
	return tm, nil
}
