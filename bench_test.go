package deskgate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/jsonapi"
	"github.com/deskgate/deskgate/observe"
	"github.com/deskgate/deskgate/storage"
)

// benchUsers is how many generated users the benchmarks run against, on
// top of the owner.
const benchUsers = 100_000

// benchParallelism × GOMAXPROCS requests are in flight at once: a closed
// loop of keep-alive connections, as cmd/deskgate-load drives a real server.
const benchParallelism = 4

// benchFixture is one seeded server shared by every sub-benchmark: seeding
// 100,000 users takes a second or two, walking to a deep cursor longer.
type benchFixture struct {
	srv    *httptest.Server
	client *http.Client
	db     *storage.DB
	svc    *domain.Service
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 5, 15, 18, 7, 57, 0, time.UTC)
	// The rate limit is on, as by default, but too high to be reached under
	// a frozen clock: what it costs is measured, not what it refuses.
	svc, err := domain.NewService(ctx, db, domain.Config{Now: func() time.Time { return now }, RateLimit: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.Bootstrap(ctx, domain.Owner{Email: ownerEmail, Password: ownerPassword, Token: ownerToken}); err != nil {
		b.Fatal(err)
	}
	if err := db.SeedUsers(ctx, benchUsers, now); err != nil {
		b.Fatal(err)
	}
	f := &benchFixture{srv: httptest.NewServer(deskgate.NewHandler(svc, deskgate.Options{BaseURL: testBaseURL})), db: db, svc: svc}
	f.client = keepAliveClient()
	b.Cleanup(func() {
		f.srv.Close()
		db.Close()
	})
	return f
}

func keepAliveClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}}
}

// get sends one request and returns its status and body.
func (f *benchFixture) get(b *testing.B, c creds, path string) (int, []byte) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	req.SetBasicAuth(c.user, c.pass)
	resp, err := f.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode, body
}

// signIn signs the owner in and returns the session cookie's value.
func (f *benchFixture) signIn(b *testing.B) string {
	b.Helper()
	resp, err := f.client.Post(f.srv.URL+"/access/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, ownerEmail, ownerPassword)))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == jsonapi.SessionCookie && resp.StatusCode == http.StatusOK {
			return c.Value
		}
	}
	b.Fatalf("sign-in: %d, no session cookie", resp.StatusCode)
	return ""
}

// walkCursor pages through the v2 list pages times, 100 users a page, in
// the order query asks for ("" or "&sort=name"), and returns the after
// cursor of the last page read.
func (f *benchFixture) walkCursor(b *testing.B, pages int, query string) string {
	cursor := ""
	for range pages {
		path := "/api/v2/users?page[size]=100" + query
		if cursor != "" {
			path += "&page[after]=" + url.QueryEscape(cursor)
		}
		status, body := f.get(b, owner, path)
		var page struct {
			Meta struct {
				AfterCursor string `json:"after_cursor"`
			}
		}
		if err := json.Unmarshal(body, &page); status != 200 || err != nil {
			b.Fatalf("walking the cursor: %d %v %.200s", status, err, body)
		}
		cursor = page.Meta.AfterCursor
	}
	return cursor
}

// request makes the i-th request of a benchmark.
type request func(i int64) *http.Request

// measure runs req from parallel keep-alive clients, checks every answer
// has status want, and reports req/s and the mean body size. It returns the
// nanoseconds per request of the final run.
func measure(b *testing.B, c *http.Client, want int, req request) float64 {
	var n atomic.Int64
	var bytes atomic.Int64
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := req(n.Add(1))
			resp, err := c.Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			k, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != want {
				b.Errorf("%s %s: %d, want %d (%v)", r.Method, r.URL.RequestURI(), resp.StatusCode, want, err)
				return
			}
			bytes.Add(k)
		}
	})
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(1e9/ns, "req/s")
	b.ReportMetric(float64(bytes.Load())/float64(b.N), "B/body")
	return ns
}

// BenchmarkUsers measures the Users APIs through the real router and a real
// SQLite file holding 100,000 users, next to a bare net/http handler
// answering bodies of the same sizes (bare-*), and logs the ratios the
// performance targets are stated in. Run it alone:
//
//	go test -run '^$' -bench Users -benchtime 2s .
func BenchmarkUsers(b *testing.B) {
	f := newBenchFixture(b)
	base := f.srv.URL
	get := func(c creds, path func(i int64) string) request {
		return func(i int64) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, base+path(i), nil)
			r.SetBasicAuth(c.user, c.pass)
			return r
		}
	}
	fixed := func(path string) func(int64) string { return func(int64) string { return path } }
	// Show requests spread over the whole table, as real traffic would.
	id := func(i int64) int64 { return 2 + (i*7919)%benchUsers }
	password := creds{ownerEmail, ownerPassword}

	lastLegacy := (benchUsers + 1 + 14) / 15
	if status, body := f.get(b, owner, fmt.Sprintf("/users.xml?page=%d", lastLegacy)); status != 200 || !strings.Contains(string(body), "<user>") {
		b.Fatalf("legacy page %d: %d %.300s", lastLegacy, status, body)
	}
	deepestOffset := domain.MaxOffsetRecords / 100
	if status, _ := f.get(b, owner, "/api/v2/users?page=1000&per_page=100"); status != 400 {
		b.Errorf("offset page 1000 × 100: %d, want 400", status)
	} else {
		b.Logf("offset page 1000 with per_page=100 answers 400 (page × per_page ≤ %d); the deepest offset page measured is %d", domain.MaxOffsetRecords, deepestOffset)
	}
	_, legacyShow := f.get(b, owner, fmt.Sprintf("/users/%d.xml", benchUsers/2))
	_, v2Show := f.get(b, owner, fmt.Sprintf("/api/v2/users/%d", benchUsers/2))
	deepCursor, deepNameCursor, cookie := "", "", ""

	var created atomic.Int64
	nonce := rand.Int64()
	cases := []struct {
		name  string
		want  int
		req   request
		setup func()
	}{
		{name: "legacy-show", want: 200, req: get(owner, func(i int64) string { return fmt.Sprintf("/users/%d.xml", id(i)) })},
		{name: "legacy-list-first", want: 200, req: get(owner, fixed("/users.xml"))},
		{name: "legacy-list-last", want: 200, req: get(owner, fixed(fmt.Sprintf("/users.xml?page=%d", lastLegacy)))},
		{name: "legacy-search", want: 200, req: get(owner, fixed("/users.xml?query="+url.QueryEscape("User 4242")+"&role=0"))},
		{name: "v2-show", want: 200, req: get(owner, func(i int64) string { return fmt.Sprintf("/api/v2/users/%d", id(i)) })},
		{name: "v2-cursor-first", want: 200, req: get(owner, fixed("/api/v2/users?page[size]=100"))},
		{name: "v2-cursor-deep", want: 200,
			setup: func() {
				if deepCursor == "" {
					deepCursor = f.walkCursor(b, 900, "")
				}
			},
			req: get(owner, func(int64) string { return "/api/v2/users?page[size]=100&page[after]=" + url.QueryEscape(deepCursor) })},
		{name: "v2-cursor-by-name-first", want: 200, req: get(owner, fixed("/api/v2/users?page[size]=100&sort=name"))},
		{name: "v2-cursor-by-name-deep", want: 200,
			setup: func() {
				if deepNameCursor == "" {
					deepNameCursor = f.walkCursor(b, 900, "&sort=name")
				}
			},
			req: get(owner, func(int64) string {
				return "/api/v2/users?page[size]=100&sort=name&page[after]=" + url.QueryEscape(deepNameCursor)
			})},
		{name: "v2-offset-first", want: 200, req: get(owner, fixed("/api/v2/users?page=1&per_page=100"))},
		{name: "v2-offset-deepest", want: 200, req: get(owner, fixed(fmt.Sprintf("/api/v2/users?page=%d&per_page=100", deepestOffset)))},
		{name: "auth-password", want: 200, req: get(password, func(i int64) string { return fmt.Sprintf("/api/v2/users/%d", id(i)) })},
		{name: "auth-token", want: 200, req: get(owner, func(i int64) string { return fmt.Sprintf("/api/v2/users/%d", id(i)) })},
		{name: "auth-session", want: 200,
			setup: func() {
				if cookie == "" {
					cookie = f.signIn(b)
				}
			},
			req: func(i int64) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, base+fmt.Sprintf("/api/v2/users/%d", id(i)), nil)
				r.Header.Set("Cookie", jsonapi.SessionCookie+"="+cookie)
				return r
			}},
		// Last: its writes would leave WAL pages for the reads after it.
		{name: "legacy-create", want: 201, req: func(int64) *http.Request {
			n := created.Add(1)
			body := fmt.Sprintf("<user><name>Bench %d</name><email>bench-%x-%d@example.com</email></user>", n, nonce, n)
			r, _ := http.NewRequest(http.MethodPost, base+"/users.xml", strings.NewReader(body))
			r.SetBasicAuth(owner.user, owner.pass)
			r.Header.Set("Content-Type", "application/xml")
			return r
		}},
		{name: "bare-legacy-show", want: 200, req: bareRequest(b, len(legacyShow))},
		{name: "bare-v2-show", want: 200, req: bareRequest(b, len(v2Show))},
	}
	ns := map[string]float64{}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if tc.setup != nil {
				tc.setup()
			}
			client := f.client
			if strings.HasPrefix(tc.name, "bare-") {
				client = keepAliveClient()
			}
			ns[tc.name] = measure(b, client, tc.want, tc.req)
		})
	}
	ratio := func(what, a, bare string) {
		if ns[a] > 0 && ns[bare] > 0 {
			b.Logf("%-40s %6.2f", what, ns[bare]/ns[a])
		}
	}
	cost := func(what, a, first string) {
		if ns[a] > 0 && ns[first] > 0 {
			b.Logf("%-40s %6.2f", what, ns[a]/ns[first])
		}
	}
	ratio("legacy show req/s / bare (target ≥ 0.40)", "legacy-show", "bare-legacy-show")
	ratio("v2 show req/s / bare (target ≥ 0.50)", "v2-show", "bare-v2-show")
	cost("legacy last page / page 1 (target ≤ 5)", "legacy-list-last", "legacy-list-first")
	cost("cursor at 90,000 / first (target ≤ 1.5)", "v2-cursor-deep", "v2-cursor-first")
	cost("by name: cursor at 90,000 / first", "v2-cursor-by-name-deep", "v2-cursor-by-name-first")
	cost("by name / by id, first page", "v2-cursor-by-name-first", "v2-cursor-first")
	cost("offset page 100 / page 1", "v2-offset-deepest", "v2-offset-first")
	cost("password auth / token auth", "auth-password", "auth-token")
	cost("session cookie auth / token auth", "auth-session", "auth-token")
}

// bareRequest starts a bare net/http server answering size bytes and
// returns requests for it: the ceiling any handler on this machine can reach.
func bareRequest(b *testing.B, size int) request {
	body := []byte(strings.Repeat("x", size))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return func(int64) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		return r
	}
}

// BenchmarkObserve compares v2 and legacy show with the request journal and
// the metrics on (as cmd/deskgate serves) against the same handler without
// them, over the same database, with the bare handler alongside. This
// machine's load drifts by tens of percent within seconds, so the servers
// take turns: rounds of a short closed-loop burst each, the order rotating,
// summed, the journal's background writer running all along. Besides req/s it reports
// the process's CPU time per request (client and server, both in this
// process), which other processes' load barely moves: on a saturated
// machine throughput is the inverse of it. Run it alone:
//
//	go test -run '^$' -bench Observe -benchtime 1x -v .
func BenchmarkObserve(b *testing.B) {
	f := newBenchFixture(b)
	journal := f.db.OpenJournal(storage.JournalOptions{Now: f.svc.Now})
	observed := httptest.NewServer(deskgate.NewHandler(f.svc, deskgate.Options{
		BaseURL: testBaseURL, Journal: journal, Metrics: observe.NewMetrics(), ServeMetrics: true,
	}))
	b.Cleanup(func() {
		observed.Close()
		journal.Close()
	})
	id := func(i int64) int64 { return 2 + (i*7919)%benchUsers }
	show := func(srv *httptest.Server, format string) request {
		return func(i int64) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+fmt.Sprintf(format, id(i)), nil)
			r.SetBasicAuth(owner.user, owner.pass)
			return r
		}
	}
	for _, api := range []struct{ name, path string }{{"legacy-show", "/users/%d.xml"}, {"v2-show", "/api/v2/users/%d"}} {
		b.Run(api.name, func(b *testing.B) {
			_, body := f.get(b, owner, fmt.Sprintf(api.path, 2))
			turns := []struct {
				client *http.Client
				req    request
			}{{f.client, show(f.srv, api.path)}, {f.client, show(observed, api.path)}, {keepAliveClient(), bareRequest(b, len(body))}}
			var done [3]int64
			var wall, cpu [3]time.Duration
			for range b.N {
				for round := range 12 {
					// Each server goes first as often as the others: what one
					// burst leaves behind (garbage to collect, journal rows to
					// write) falls on the next.
					for k := range turns {
						i := (round + k) % len(turns)
						turn := turns[i]
						n, w, c := burst(b, turn.client, turn.req, 250*time.Millisecond)
						done[i] += n
						wall[i] += w
						cpu[i] += c
					}
				}
			}
			rate := func(i int) float64 { return float64(done[i]) / wall[i].Seconds() }
			cpuPer := func(i int) float64 { return float64(cpu[i].Microseconds()) / float64(done[i]) }
			b.ReportMetric(rate(1)/rate(0), "observed/plain-req/s")
			b.ReportMetric(cpuPer(0)/cpuPer(1), "plain/observed-cpu")
			b.Logf("%s: plain %.0f req/s, %.1f µs CPU/req; observed %.0f req/s, %.1f µs CPU/req; bare %.0f req/s, %.1f µs CPU/req",
				api.name, rate(0), cpuPer(0), rate(1), cpuPer(1), rate(2), cpuPer(2))
			b.Logf("%s: observed / plain: req/s %.3f, CPU/req inverse %.3f (target ≥ 0.90); plain / bare req/s %.2f",
				api.name, rate(1)/rate(0), cpuPer(0)/cpuPer(1), rate(0)/rate(2))
		})
	}
	b.Logf("journal: %d records written, %d dropped", journal.Written(), journal.Dropped())
}

// burst runs a closed loop of benchParallelism × GOMAXPROCS keep-alive
// clients for d and returns how many requests were answered, in what time
// and at what CPU time of this process.
func burst(b *testing.B, c *http.Client, req request, d time.Duration) (n int64, wall, cpu time.Duration) {
	var count atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU(b)
	start := time.Now()
	deadline := start.Add(d)
	for range benchParallelism * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				r := req(count.Add(1))
				resp, err := c.Do(r)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("%s: %d", r.URL.Path, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return count.Load(), time.Since(start), processCPU(b) - cpu0
}

// processCPU is the user and system time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
