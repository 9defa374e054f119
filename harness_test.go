package deskgate_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
	"github.com/deskgate/deskgate/testmode"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Fixed credentials of the account owner every test server starts with.
const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "owner-secret"
	ownerToken    = "owner-api-token-0123456789"
	testBaseURL   = "https://help.example.com"
)

// server is a real deskgate: a SQLite file in a temp dir, the real service
// and router behind httptest.
type server struct {
	*httptest.Server
	t     testing.TB
	svc   *domain.Service
	db    *storage.DB
	clock *testmode.Clock
	tm    *testmode.Controller // nil unless testMode
	// inFlight counts the requests being served, for the job worker, as
	// cmd/deskgate wires it (the test clock stands still: it never rests).
	inFlight *observe.InFlight
	path     string
	from     *http.Client // nil: the default client, from 127.0.0.1
	logs     string       // the file the server logs to

	journal   *storage.Journal
	backupDir string // where POST /api/v2/deskgate/backup writes
}

type serverOptions struct {
	seats             int
	rateLimit         int // requests a minute; 0 = unlimited
	exportRateLimit   int // export requests a minute, within rateLimit; 0 = 10
	erasureLimit      int // permanent deletions per 10 minutes; 0 = 700
	adminSetPasswords bool
	testMode          bool                // mount the control API
	seed              uint64              // test mode: seeds random bytes and the cursor key
	mailDelivery      bool                // mark outbox mail for an SMTP sender (the test drives DeliverMail)
	legacy            domain.LegacyPolicy // DeprecatedAt defaults to testDeprecatedAt
	ready             func(context.Context) error
	noBulkImports     bool
	noJobWorker       bool          // jobs stay queued
	keepAlive         time.Duration // agent event streams' keep-alive comments; 0 = the default
	timeouts          time.Duration // the server's ReadTimeout and WriteTimeout; 0 = none
	searchBudget      time.Duration // how long a search may read; 0 = the default
}

// testDeprecatedAt is the legacy API's deprecation date on test servers.
var testDeprecatedAt = time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)

func newServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deskgate.db")
	db, err := storage.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := testmode.NewClock(time.Date(2026, 5, 15, 18, 7, 57, 0, time.UTC))
	cfg := domain.Config{
		AgentSeats:        opts.seats,
		RateLimit:         opts.rateLimit,
		ExportRateLimit:   opts.exportRateLimit,
		ErasureLimit:      opts.erasureLimit,
		AdminSetPasswords: opts.adminSetPasswords,
		Now:               clk.Now,
		Random:            rand.NewChaCha8([32]byte{}), // deterministic salts, tokens and job ids
		MailDelivery:      opts.mailDelivery,
		Legacy:            opts.legacy,
		NoBulkImports:     opts.noBulkImports,
		SearchBudget:      opts.searchBudget,
		BackupDir:         t.TempDir(),
	}
	inFlight := new(observe.InFlight)
	cfg.Interactive = inFlight.Busy
	if cfg.Legacy.DeprecatedAt.IsZero() {
		cfg.Legacy.DeprecatedAt = testDeprecatedAt
	}
	if opts.testMode {
		cfg.Random, cfg.CursorKey = testmode.Seeded(opts.seed)
	}
	svc, err := domain.NewService(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword, Token: ownerToken}); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, svc: svc, db: db, clock: clk, inFlight: inFlight, path: path, logs: filepath.Join(t.TempDir(), "deskgate.log"),
		journal: db.OpenJournal(storage.JournalOptions{Now: svc.Now}), backupDir: cfg.BackupDir}
	logFile, err := os.Create(s.logs)
	if err != nil {
		t.Fatal(err)
	}
	hopts := deskgate.Options{
		BaseURL:        testBaseURL,
		Log:            slog.New(slog.NewTextHandler(logFile, nil)),
		Journal:        s.journal,
		Metrics:        observe.NewMetrics(),
		ServeMetrics:   true,
		Ready:          opts.ready,
		EventKeepAlive: opts.keepAlive,
		InFlight:       inFlight,
	}
	if opts.testMode {
		s.tm = testmode.New(svc, db, clk, nil)
		hopts.TestMode = s.tm
	}
	s.Server = httptest.NewUnstartedServer(deskgate.NewHandler(svc, hopts))
	s.Config.ReadTimeout, s.Config.WriteTimeout = opts.timeouts, opts.timeouts
	s.Start()
	jobsCtx, stopJobs := context.WithCancel(ctx)
	var worker sync.WaitGroup
	if !opts.noJobWorker {
		worker.Go(func() { svc.RunJobs(jobsCtx) })
	}
	t.Cleanup(func() {
		svc.CloseAgentStreams() // as cmd/deskgate does on shutdown: Close waits for open streams
		s.Close()
		s.journal.Close()
		stopJobs()
		worker.Wait()
		db.Close()
		logFile.Close()
	})
	return s
}

// creds are Basic auth credentials; the zero value sends none.
type creds struct{ user, pass string }

var owner = creds{ownerEmail + "/token", ownerToken}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads the whole response.
func (s *server) do(c creds, method, path, contentType, body string) response {
	s.t.Helper()
	return s.doWith(c, method, path, contentType, body, nil)
}

// doWith is do with more request headers.
func (s *server) doWith(c creds, method, path, contentType, body string, extra http.Header) response {
	s.t.Helper()
	return s.send(method, path, body, func(h http.Header) {
		if c.user != "" {
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.pass)))
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		for k, v := range extra {
			h[k] = v
		}
	})
}

// send sends a request whose headers set fills in and reads the whole response.
func (s *server) send(method, path, body string, set func(http.Header)) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	set(req.Header)
	client := s.Client()
	if s.from != nil {
		client = s.from
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// fromAddress returns s with a client whose connections come from ip, a
// loopback address other than 127.0.0.1: the server sees another client.
func (s *server) fromAddress(ip string) *server {
	s.t.Helper()
	needAddress(s.t, ip)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := *s
	tr := &http.Transport{DialContext: dialer.DialContext}
	s.t.Cleanup(tr.CloseIdleConnections)
	c.from = &http.Client{Transport: tr}
	return &c
}

// needAddress skips the test unless this machine has the loopback address
// ip to connect from (Linux has all of 127/8; other systems only 127.0.0.1).
func needAddress(t testing.TB, ip string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("no loopback address %s: %v", ip, err)
	}
	ln.Close()
}

// dump renders a response for a golden file: the status line, the headers
// clients rely on, and the body.
func (r response) dump() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d %s\n", r.status, http.StatusText(r.status))
	var keys []string
	for k := range r.header {
		switch k {
		case "Allow", "Content-Type", "Location", "Www-Authenticate", "Retry-After", "X-Rate-Limit", "X-Rate-Limit-Remaining":
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + ": " + r.header.Get(k) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.body)
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (a new case: run once with -update, then read the file before committing it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}
