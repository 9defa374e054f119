// Package deskgatetest starts a deskgate in a test, in test mode: a real
// server on httptest with its own SQLite database in a temporary directory,
// a frozen clock and a fixed seed, so every response repeats byte for byte
// from run to run. It closes itself when the test ends.
//
//	srv := deskgatetest.New(t, deskgatetest.Options{Seats: 5})
//	client, _ := zendesk.NewClient(nil)
//	client.SetEndpointURL(srv.URL + "/api/v2")
//	client.SetCredential(zendesk.NewAPITokenCredential(srv.OwnerEmail, srv.OwnerToken))
package deskgatetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/storage"
	"github.com/deskgate/deskgate/testmode"
)

// DefaultClock is where the clock stands when Options.Clock is zero.
var DefaultClock = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure the server; the zero value is an account with unlimited
// seats and requests, no fixture, the clock frozen at DefaultClock and seed 0.
type Options struct {
	Seats    int       // agent seats; 0 = unlimited
	Fixtures string    // a JSON fixture file (see testdata/fixtures/example.json) loaded at start
	Clock    time.Time // the frozen start time
	Seed     uint64    // seeds ids, tokens, salts and cursors
	// RateLimit is the account's requests a minute; 0 = unlimited. Its
	// window follows the frozen clock: Advance refills it.
	RateLimit int
}

// The account owner's credentials on every server.
const (
	OwnerEmail    = "owner@example.com"
	OwnerPassword = "owner-secret"
	OwnerToken    = "owner-api-token-0123456789"
)

// Request and RequestFilter are what Requests lists and selects by; Fault
// is a fault rule (see the README's test mode section).
type (
	Request       = testmode.Request
	RequestFilter = testmode.RequestFilter
	Fault         = testmode.Rule
)

// Server is a running deskgate in test mode.
type Server struct {
	URL                                   string // e.g. http://127.0.0.1:38123; v2 lives under URL + "/api/v2"
	OwnerEmail, OwnerPassword, OwnerToken string

	t    testing.TB
	http *httptest.Server
	tm   *testmode.Controller
}

// New starts a server; t.Cleanup stops it and removes its database.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "deskgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	start := opts.Clock
	if start.IsZero() {
		start = DefaultClock
	}
	clock := testmode.NewClock(start)
	random, cursorKey := testmode.Seeded(opts.Seed)
	svc, err := domain.NewService(ctx, db, domain.Config{
		AgentSeats: opts.Seats, RateLimit: opts.RateLimit, Now: clock.Now, Random: random, CursorKey: cursorKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: OwnerEmail, Password: OwnerPassword, Token: OwnerToken}); err != nil {
		t.Fatal(err)
	}
	s := &Server{OwnerEmail: OwnerEmail, OwnerPassword: OwnerPassword, OwnerToken: OwnerToken, t: t, tm: testmode.New(svc, db, clock, nil)}
	if opts.Fixtures != "" {
		data, err := os.ReadFile(opts.Fixtures)
		if err != nil {
			t.Fatal(err)
		}
		s.LoadFixture(string(data))
	}
	s.http = httptest.NewServer(deskgate.NewHandler(svc, deskgate.Options{TestMode: s.tm}))
	jobs, stopJobs := context.WithCancel(ctx)
	var worker sync.WaitGroup
	worker.Go(func() { svc.RunJobs(jobs) }) // bulk jobs run as cmd/deskgate runs them
	t.Cleanup(func() {
		svc.CloseAgentStreams() // Close waits for every open request, an event stream's too
		s.http.Close()
		stopJobs()
		worker.Wait()
	})
	s.URL = s.http.URL
	return s
}

// Client is an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.http.Client() }

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.tm.Clock().Now() }

// Advance moves the server's clock forward.
func (s *Server) Advance(d time.Duration) { s.tm.Clock().Advance(d) }

// SetClock freezes the server's clock at t.
func (s *Server) SetClock(t time.Time) { s.tm.Clock().Set(t) }

// LoadFixture loads a JSON fixture; the test fails if deskgate refuses it.
func (s *Server) LoadFixture(fixture string) {
	s.t.Helper()
	ctx, err := s.tm.OwnerContext(context.Background())
	if err == nil {
		_, err = s.tm.LoadFixture(ctx, []byte(fixture))
	}
	s.check("loading the fixture", err)
}

// Reset empties the directory but for the owner; ids start again at 2.
func (s *Server) Reset() { s.t.Helper(); s.check("reset", s.tm.Reset(context.Background())) }

// Snapshot saves the directory under name.
func (s *Server) Snapshot(name string) {
	s.t.Helper()
	s.check("snapshot "+name, s.tm.Snapshot(context.Background(), name))
}

// Restore puts back the directory saved under name.
func (s *Server) Restore(name string) {
	s.t.Helper()
	s.check("restoring "+name, s.tm.Restore(context.Background(), name))
}

// AddFaults adds fault rules; the test fails if one is invalid.
func (s *Server) AddFaults(rules ...Fault) {
	s.t.Helper()
	_, err := s.tm.AddFaults(rules)
	s.check("adding faults", err)
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() { s.tm.ClearFaults() }

// Requests lists the API requests the server recorded that match f, oldest first.
func (s *Server) Requests(f RequestFilter) []Request { return s.tm.Requests(f) }

func (s *Server) check(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("deskgatetest: %s: %v", what, err)
	}
}
