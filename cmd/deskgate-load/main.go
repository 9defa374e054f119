// Command deskgate-load measures a running deskgate from a closed loop of
// keep-alive connections, seeds databases for such runs, and serves a bare
// net/http handler to compare against.
//
// Point it at a server on the loopback interface only: it sends as many
// requests as the server answers, for a bounded time.
//
// Seed a database with an owner and 100,000 users, then serve it:
//
//	deskgate-load -seed-users 100000 -db /tmp/load.db -user owner@example.com -password owner-secret -token owner-api-token
//	deskgate -db /tmp/load.db -addr 127.0.0.1:8080
//
// Load it for 10 s from 16 connections, then a bare handler (started as a
// child process) answering a body of the same size, and print both and the ratio:
//
//	deskgate-load -url http://127.0.0.1:8080 -user owner@example.com -token owner-api-token \
//		-scenario v2-show -c 16 -d 10s -bare
//
// Scenarios: legacy-show, legacy-list, legacy-last, legacy-search,
// v2-show, v2-list (cursor page 1), v2-deep (cursor page at depth 90,000),
// v2-offset (page 1), v2-offset-max (the deepest allowed offset page),
// v2-create, v2-search-email, v2-search-email-field, v2-search-external-id,
// v2-search-name (a seeded surname), v2-autocomplete, legacy-search-word (a
// seeded surname); or -path with {id} for a random user id (1 to the user
// count). -scenario export times one full cursor export instead.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/storage"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deskgate-load:", err)
		os.Exit(1)
	}
}

// maxDuration bounds a run, so a forgotten load stops by itself.
const maxDuration = 10 * time.Minute

type config struct {
	url, scenario, path   string
	user, password, token string
	conns                 int
	duration              time.Duration
	users                 int
	depth                 int
	bare                  bool
	seedUsers             int
	db                    string
	serveBare             string
	bareSize              int
	bareBody              string
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("deskgate-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "server to load; loopback only")
	fs.StringVar(&c.scenario, "scenario", "v2-show", "named request: legacy-show, legacy-list, legacy-last, legacy-search, legacy-search-word, v2-show, v2-list, v2-deep, v2-offset, v2-offset-max, v2-create, v2-search-email, v2-search-email-field, v2-search-external-id, v2-search-name, v2-autocomplete; or export (one full cursor export, timed)")
	fs.StringVar(&c.path, "path", "", "request path instead of a scenario; {id} becomes a random user id")
	fs.StringVar(&c.user, "user", "owner@example.com", "Basic auth email (the owner's when seeding)")
	fs.StringVar(&c.password, "password", "", "Basic auth password (the owner's when seeding)")
	fs.StringVar(&c.token, "token", "", "API token, sent as email/token (the owner's when seeding)")
	fs.IntVar(&c.conns, "c", 8, "keep-alive connections, each with one request in flight")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "how long to load, at most "+maxDuration.String())
	fs.IntVar(&c.users, "users", 0, "users in the database, for {id} and the last page; 0 = ask /api/v2/users/count")
	fs.IntVar(&c.depth, "depth", 90_000, "users v2-deep pages past before it loads its page, 100 a page")
	fs.BoolVar(&c.bare, "bare", false, "then load a bare net/http handler answering a body of the same size, in a child process, and print the ratio")
	fs.IntVar(&c.seedUsers, "seed-users", 0, "create the owner (-user, -password, -token) on the -db file, add this many generated users, and exit")
	fs.StringVar(&c.db, "db", "", "database file for -seed-users")
	fs.StringVar(&c.serveBare, "serve-bare", "", "serve the bare handler on this address (e.g. 127.0.0.1:0) until killed")
	fs.IntVar(&c.bareSize, "bare-size", 1024, "body size of the bare handler, in bytes")
	fs.StringVar(&c.bareBody, "bare-body", "", "file whose bytes the bare handler answers instead, e.g. a saved deskgate response")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.conns < 1 || c.conns > 1024:
		return c, fmt.Errorf("-c must be from 1 to 1024, not %d", c.conns)
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-d must be above 0 and at most %s, not %s", maxDuration, c.duration)
	case c.seedUsers < 0:
		return c, fmt.Errorf("-seed-users must be from 0 up, not %d", c.seedUsers)
	case c.seedUsers > 0 && c.db == "":
		return c, errors.New("-seed-users needs -db")
	case c.depth < 0:
		return c, fmt.Errorf("-depth must be from 0 up, not %d", c.depth)
	case c.bareSize < 0:
		return c, fmt.Errorf("-bare-size must be from 0 up, not %d", c.bareSize)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	switch {
	case cfg.seedUsers > 0:
		return seed(ctx, cfg, stdout)
	case cfg.serveBare != "":
		body := []byte(strings.Repeat("x", cfg.bareSize))
		if cfg.bareBody != "" {
			if body, err = os.ReadFile(cfg.bareBody); err != nil {
				return err
			}
		}
		return serveBare(ctx, cfg.serveBare, body, stdout)
	case cfg.scenario == "export":
		return exportAll(ctx, newClient(1), cfg, stdout)
	}
	c := newClient(cfg.conns)
	target, err := newTarget(ctx, c, cfg)
	if err != nil {
		return err
	}
	res := load(ctx, c, cfg.conns, cfg.duration, target.next)
	fmt.Fprintf(stdout, "%-14s %s\n", target.name, res)
	if !cfg.bare || ctx.Err() != nil {
		return nil
	}
	size := res.bodySize()
	addr, wait, err := startBare(ctx, size)
	if err != nil {
		return err
	}
	defer wait()
	bare := load(ctx, newClient(cfg.conns), cfg.conns, cfg.duration, func(int) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		return req
	})
	fmt.Fprintf(stdout, "%-14s %s\n", fmt.Sprintf("bare %dB", size), bare)
	if bare.rate() > 0 {
		fmt.Fprintf(stdout, "ratio          %.1f%% of bare req/s\n", 100*res.rate()/bare.rate())
	}
	return nil
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// seed creates the owner when the database is new and appends the users.
func seed(ctx context.Context, cfg config, stdout io.Writer) error {
	db, err := storage.Open(ctx, cfg.db, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := domain.NewService(ctx, db, domain.Config{})
	if err != nil {
		return err
	}
	generated, _, err := svc.Bootstrap(ctx, domain.Owner{Email: cfg.user, Password: cfg.password, Token: cfg.token})
	if err != nil {
		return fmt.Errorf("creating the account owner: %w", err)
	}
	if generated != "" {
		fmt.Fprintf(stdout, "owner password (shown once): %s\n", generated)
	}
	start := time.Now()
	if err := db.SeedUsers(ctx, cfg.seedUsers, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users into %s in %s\n", cfg.seedUsers, cfg.db, time.Since(start).Round(time.Millisecond))
	return nil
}

// bareHandler answers every request with the same body.
func bareHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
}

// serveBare serves the bare handler and prints its address on the first line.
func serveBare(ctx context.Context, addr string, body []byte, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bareHandler(body), ReadHeaderTimeout: 2 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintln(stdout, ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startBare runs this command with -serve-bare in a child process, so the
// bare server, like the real one, does not share a runtime with the client.
func startBare(ctx context.Context, size int) (addr string, wait func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve-bare", "127.0.0.1:0", "-bare-size", strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	wait = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	line := make([]byte, 64)
	n, err := out.Read(line)
	if err != nil {
		wait()
		return "", nil, fmt.Errorf("starting the bare server: %w", err)
	}
	return strings.TrimSpace(string(line[:n])), wait, nil
}

// target makes the requests of one scenario.
type target struct {
	name string
	next func(worker int) *http.Request
}

func newTarget(ctx context.Context, c *http.Client, cfg config) (*target, error) {
	base, err := url.Parse(cfg.url)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("-url must be like http://127.0.0.1:8080, not %q", cfg.url)
	}
	user, secret := cfg.user, cfg.password
	if cfg.token != "" {
		user, secret = cfg.user+"/token", cfg.token
	}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(cfg.url, "/")+path, nil)
		req.SetBasicAuth(user, secret)
		return req
	}
	users := cfg.users
	if users == 0 {
		var body struct{ Count struct{ Value int } }
		if err := fetchJSON(ctx, c, get("/api/v2/users/count"), &body); err != nil {
			return nil, fmt.Errorf("counting users (or pass -users): %w", err)
		}
		users = body.Count.Value
	}
	if users < 1 {
		return nil, errors.New("the server has no users")
	}
	randomID := func(path string) func(int) *http.Request {
		return func(int) *http.Request {
			return get(strings.ReplaceAll(path, "{id}", strconv.Itoa(1+rand.IntN(users))))
		}
	}
	fixed := func(path string) func(int) *http.Request { return func(int) *http.Request { return get(path) } }
	t := &target{name: cfg.scenario}
	if cfg.path != "" {
		t.name, t.next = "path", randomID(cfg.path)
		return t, nil
	}
	switch cfg.scenario {
	case "legacy-show":
		t.next = randomID("/users/{id}.xml")
	case "legacy-list":
		t.next = fixed("/users.xml")
	case "legacy-last":
		t.next = fixed("/users.xml?page=" + strconv.Itoa((users+14)/15))
	case "legacy-search":
		t.next = fixed("/users.xml?query=" + url.QueryEscape("User 4") + "&role=0")
	case "v2-show":
		t.next = randomID("/api/v2/users/{id}")
	case "v2-list":
		t.next = fixed("/api/v2/users?page[size]=100")
	case "v2-deep":
		cursor, err := walkCursor(ctx, c, get, min(cfg.depth, users-1)/100)
		if err != nil {
			return nil, err
		}
		t.next = fixed("/api/v2/users?page[size]=100&page[after]=" + url.QueryEscape(cursor))
	case "v2-offset":
		t.next = fixed("/api/v2/users?page=1&per_page=100")
	case "v2-offset-max":
		t.next = fixed("/api/v2/users?page=" + strconv.Itoa(domain.MaxOffsetRecords/100) + "&per_page=100")
	case "v2-search-email":
		t.next = randomID("/api/v2/users/search?query=user{id}%40example.com")
	case "v2-search-email-field":
		t.next = randomID("/api/v2/users/search?query=email%3Auser{id}%40example.com")
	case "v2-search-external-id":
		t.next = randomID("/api/v2/users/search?external_id=X{id}")
	case "v2-search-name":
		t.next = randomSurname(get, "/api/v2/users/search?query=", users)
	case "v2-autocomplete":
		t.next = randomID("/api/v2/users/autocomplete?name=User+{id}&per_page=10")
	case "legacy-search-word":
		t.next = randomSurname(get, "/users.xml?query=", users)
	case "v2-create":
		var n atomic.Int64
		nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
		t.next = func(int) *http.Request {
			i := n.Add(1)
			body := fmt.Sprintf(`{"user":{"name":"Load %d","email":"load-%s-%d@example.com"}}`, i, nonce, i)
			req := get("/api/v2/users")
			req.Method = http.MethodPost
			req.Body = io.NopCloser(strings.NewReader(body))
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/json")
			return req
		}
	default:
		return nil, fmt.Errorf("unknown scenario %q", cfg.scenario)
	}
	return t, nil
}

// randomSurname asks prefix followed by the surname of a random seeded user
// (storage.SeedSurname), lowercased: a word about one user in 1,000 holds.
func randomSurname(get func(string) *http.Request, prefix string, users int) func(int) *http.Request {
	return func(int) *http.Request {
		return get(prefix + strings.ToLower(storage.SeedSurname(int64(1+rand.IntN(users)))))
	}
}

// exportAll follows the cursor export's after_url from the start of time
// to the end of the stream and reports how long it took.
func exportAll(ctx context.Context, c *http.Client, cfg config, stdout io.Writer) error {
	user, secret := cfg.user, cfg.password
	if cfg.token != "" {
		user, secret = cfg.user+"/token", cfg.token
	}
	start := time.Now()
	link := strings.TrimSuffix(cfg.url, "/") + "/api/v2/incremental/users/cursor?start_time=0"
	users, pages := 0, 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, secret)
		body, err := fetch(ctx, c, req)
		if err != nil {
			return fmt.Errorf("export page %d: %w", pages+1, err)
		}
		page, err := readExportPage(body)
		if err != nil {
			return fmt.Errorf("export page %d: %w", pages+1, err)
		}
		users, pages = users+page.users, pages+1
		if page.EndOfStream {
			break
		}
		link = page.AfterURL
	}
	fmt.Fprintf(stdout, "exported %d users in %d pages in %s\n", users, pages, time.Since(start).Round(time.Millisecond))
	return nil
}

// walkCursor pages through the v2 user list pages times and returns the
// after cursor of the last page read.
func walkCursor(ctx context.Context, c *http.Client, get func(string) *http.Request, pages int) (string, error) {
	cursor := ""
	for range pages {
		path := "/api/v2/users?page[size]=100"
		if cursor != "" {
			path += "&page[after]=" + url.QueryEscape(cursor)
		}
		var body struct {
			Meta struct {
				AfterCursor string `json:"after_cursor"`
			}
		}
		if err := fetchJSON(ctx, c, get(path), &body); err != nil {
			return "", fmt.Errorf("walking the cursor: %w", err)
		}
		cursor = body.Meta.AfterCursor
	}
	return cursor, nil
}

func fetchJSON(ctx context.Context, c *http.Client, req *http.Request, v any) error {
	b, err := fetch(ctx, c, req)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// fetch returns the body of a 200 answer to req.
func fetch(ctx context.Context, c *http.Client, req *http.Request) ([]byte, error) {
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %.200s", req.URL.Path, resp.Status, b)
	}
	return b, nil
}

// exportPage is what the export loop reads of a page.
type exportPage struct {
	AfterURL    string `json:"after_url"`
	EndOfStream bool   `json:"end_of_stream"`
	users       int
}

// readExportPage counts a page's users and decodes the rest of it.
// Decoding 1,000 users (800 KB) cost about half of what the server spent
// making the page, so the client, not the server, set the export's pace;
// counting them is a scan of the bytes.
func readExportPage(body []byte) (exportPage, error) {
	var page exportPage
	start, end, n, err := countUsers(body)
	if err != nil {
		return page, err
	}
	rest := append(append(body[:start:start], "null"...), body[end:]...)
	page.users = n
	return page, json.Unmarshal(rest, &page)
}

// countUsers finds the value of the top-level "users" key of a JSON
// object, an array, and counts its elements, which are objects.
func countUsers(b []byte) (start, end, n int, err error) {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case inString:
			inString = c != '"'
		case c == '"' && depth == 1 && bytes.HasPrefix(b[i:], []byte(`"users":[`)):
			start = i + len(`"users":`)
			i = start
			depth = 2
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth == 3 && start > 0 && end == 0 {
				n++
			}
		case c == '}' || c == ']':
			depth--
			if depth == 1 && start > 0 && end == 0 {
				end = i + 1
			}
		}
	}
	if start == 0 || end == 0 || depth != 0 {
		return 0, 0, 0, fmt.Errorf("no users array in %.200s", b)
	}
	return start, end, n, nil
}

// result is what one load run measured.
type result struct {
	elapsed   time.Duration
	latencies []time.Duration // of successful requests, sorted
	errors    int             // transport errors and non-2xx answers
	bytes     int64           // body bytes of successful requests
	firstErr  string
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

func (r result) bodySize() int {
	if len(r.latencies) == 0 {
		return 0
	}
	return int(r.bytes / int64(len(r.latencies)))
}

func (r result) String() string {
	s := fmt.Sprintf("%9.0f req/s  p50 %-9s p99 %-9s errors %d  (%d requests, %d B/body)",
		r.rate(), r.quantile(0.50).Round(time.Microsecond), r.quantile(0.99).Round(time.Microsecond),
		r.errors, len(r.latencies)+r.errors, r.bodySize())
	if r.firstErr != "" {
		s += "  first error: " + r.firstErr
	}
	return s
}

// load keeps conns requests in flight for d and measures the answers.
func load(ctx context.Context, c *http.Client, conns int, d time.Duration, next func(worker int) *http.Request) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			var lat []time.Duration
			var errs int
			var bytes int64
			var first string
			for ctx.Err() == nil {
				req := next(w).WithContext(ctx)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs++
						first = orElse(first, err.Error())
					}
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case err != nil && ctx.Err() != nil: // cut off at the end of the run
				case err != nil:
					errs++
					first = orElse(first, err.Error())
				case resp.StatusCode/100 != 2:
					errs++
					first = orElse(first, resp.Status+" "+req.URL.RequestURI())
				default:
					lat = append(lat, time.Since(t0))
					bytes += n
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			res.bytes += bytes
			res.firstErr = orElse(res.firstErr, first)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res
}

// orElse returns a unless it is empty, then b.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
