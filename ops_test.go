package deskgate_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/testmode"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// logText is what the server has logged so far.
func (s *server) logText() string {
	s.t.Helper()
	b, err := os.ReadFile(s.logs)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// journalRow is a request_journal row as a test reads it.
type journalRow struct {
	Protocol, Method, Route, Operation string
	Status                             int
	UserID                             int64
	Credential, UserAgent, ClientAddr  string
	RequestIDSet                       bool
}

// journalRows writes what the journal holds and reads it back in order.
func (s *server) journalRows() []journalRow {
	s.t.Helper()
	if err := s.journal.Sync(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+s.path+"?mode=ro")
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT protocol, method, route, operation, status, coalesce(user_id, 0), credential,
		user_agent, client_addr, request_id != '' FROM request_journal ORDER BY id`)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []journalRow
	for rows.Next() {
		var r journalRow
		if err := rows.Scan(&r.Protocol, &r.Method, &r.Route, &r.Operation, &r.Status, &r.UserID, &r.Credential,
			&r.UserAgent, &r.ClientAddr, &r.RequestIDSet); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestJournalRecordsBothProtocolsWithoutSecrets journals requests of both
// APIs and checks each row, then that neither the password nor the token
// sent, nor a searched name or a body value, is anywhere in the database
// files or the log.
func TestJournalRecordsBothProtocolsWithoutSecrets(t *testing.T) {
	s := newServer(t, serverOptions{})
	const newPassword = "fresh-Secret-pass-77"
	password := creds{ownerEmail, ownerPassword}
	send := func(c creds, method, path, body, agent string) {
		s.doWith(c, method, path, "", body, http.Header{"User-Agent": {agent}})
	}
	send(password, "GET", "/users/1.xml", "", "OldSync/1.0")
	send(owner, "GET", "/users.xml?query=Zebediah", "", "OldSync/1.0")
	send(owner, "POST", "/users.xml", "<user><name>Quentin Quill</name><email>quentin@example.com</email><password>"+newPassword+"</password></user>", "Importer/2")
	send(creds{ownerEmail, "wrong-" + ownerPassword}, "GET", "/users/1.xml", "", "OldSync/1.0")
	send(owner, "GET", "/api/v2/users/1.json", "", "go-zendesk")
	send(creds{}, "GET", "/api/v2/users/me", "", "curl/8")
	send(owner, "GET", "/nowhere.xml", "", "probe")
	send(owner, "GET", "/healthz", "", "kube-probe") // not an API request

	want := []journalRow{
		{"legacy", "GET", "/users/{id}.xml", "GET /users/{id}.xml", 200, 1, "password", "OldSync/1.0", "127.0.0.1", true},
		{"legacy", "GET", "/users.xml", "GET /users.xml?query=", 200, 1, "token", "OldSync/1.0", "127.0.0.1", true},
		{"legacy", "POST", "/users.xml", "POST /users.xml", 201, 1, "token", "Importer/2", "127.0.0.1", true},
		{"legacy", "GET", "/users/{id}.xml", "GET /users/{id}.xml", 401, 0, "none", "OldSync/1.0", "127.0.0.1", true},
		{"v2", "GET", "/api/v2/users/{user_id}{json}", "GET /api/v2/users/{user_id}{json}", 200, 1, "token", "go-zendesk", "127.0.0.1", true},
		{"v2", "GET", "/api/v2/users/me{json}", "GET /api/v2/users/me{json}", 200, 0, "none", "curl/8", "127.0.0.1", true},
		{"legacy", "GET", "", "GET (no route)", 404, 0, "none", "probe", "127.0.0.1", true},
	}
	if diff := cmp.Diff(want, s.journalRows()); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}

	s.journal.Close()
	s.db.Close() // checkpoints the WAL into the file
	files, _ := filepath.Glob(s.path + "*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{ownerPassword, ownerToken, newPassword, "Zebediah"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds %q", filepath.Base(name), secret)
			}
		}
	}
	logs := s.logText()
	for _, secret := range []string{ownerPassword, ownerToken, newPassword, "Zebediah", "Quentin", "quentin@example.com"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	if n := strings.Count(logs, "msg=request "); n != 7 {
		t.Errorf("%d request lines logged, want 7:\n%s", n, logs)
	}
}

// TestLegacyUsageReport scripts a mix of clients over three days and reads
// the report as an admin; an agent may not.
func TestLegacyUsageReport(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.addUser("Ada Admin", "ada@example.com", domain.Admin, "ada-password")
	s.addUser("Agnes Agent", "agnes@example.com", domain.Agent, "agnes-password")
	ada := creds{"ada@example.com", "ada-password"}
	agnes := creds{"agnes@example.com", "agnes-password"}
	send := func(c creds, method, path, agent string, times int) {
		for range times {
			s.doWith(c, method, path, "application/xml", "<user><name>Scripted</name></user>", http.Header{"User-Agent": {agent}})
		}
	}
	// Day 1: the old sync job and the importer use the legacy API.
	send(owner, "GET", "/users/2.xml", "OldSync/1.0", 3)
	send(owner, "GET", "/users.xml?query=Ada", "OldSync/1.0", 1)
	send(agnes, "PUT", "/users/3.xml", "Importer/2", 2)
	send(creds{}, "GET", "/users.xml", "curl/8", 1)
	s.clock.Advance(24 * time.Hour)
	// Day 2: the importer moved to v2; the sync job lists once more.
	send(agnes, "GET", "/api/v2/users/3.json", "Importer/3", 4)
	send(owner, "GET", "/users.xml?page=2", "OldSync/1.0", 1)
	s.clock.Advance(24 * time.Hour)
	// Day 3: only v2.
	send(ada, "GET", "/api/v2/users.json", "Dashboard", 2)
	s.journalRows()

	golden(t, "ops/legacy_usage.golden", s.do(ada, "GET", "/api/v2/deskgate/legacy_usage", "", "").dump())
	golden(t, "ops/legacy_usage_since.golden", s.do(ada, "GET", "/api/v2/deskgate/legacy_usage?since=2026-05-16", "", "").dump())
	golden(t, "ops/legacy_usage_agent.golden", s.do(agnes, "GET", "/api/v2/deskgate/legacy_usage", "", "").dump())
	golden(t, "ops/legacy_usage_bad_since.golden", s.do(ada, "GET", "/api/v2/deskgate/legacy_usage?since=yesterday", "", "").dump())
}

// TestLegacyDeprecationHeaders checks Deprecation, Sunset and the successor
// Link on every legacy route, for answers and refusals alike.
func TestLegacyDeprecationHeaders(t *testing.T) {
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	s := newServer(t, serverOptions{legacy: domain.LegacyPolicy{Sunset: sunset}})
	body := "<user><name>Hedda Header</name></user>"
	for _, tc := range []struct {
		c            creds
		method, path string
		status       int
		link         string
	}{
		{owner, "GET", "/users.xml", 200, "/api/v2/users.json"},
		{owner, "GET", "/users.xml?page=1", 200, "/api/v2/users.json"},
		{owner, "GET", "/users.xml?query=Hedda+H%C3%A9&role=0", 200, "/api/v2/users/search.json?query=Hedda+H%C3%A9"},
		{owner, "POST", "/users.xml", 201, "/api/v2/users.json"},
		{owner, "GET", "/users/1.xml", 200, "/api/v2/users/1.json"},
		{owner, "PUT", "/users/2.xml", 200, "/api/v2/users/2.json"},
		{owner, "DELETE", "/users/2.xml", 200, "/api/v2/users/2.json"},
		{owner, "GET", "/users/99.xml", 404, "/api/v2/users/99.json"},
		{creds{}, "GET", "/users/1.xml", 401, "/api/v2/users/1.json"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.do(tc.c, tc.method, tc.path, "application/xml", body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			want := map[string]string{
				"Deprecation": "@" + strconv.FormatInt(testDeprecatedAt.Unix(), 10),
				"Sunset":      "Wed, 30 Jun 2027 00:00:00 GMT",
				"Link":        "<" + testBaseURL + tc.link + `>; rel="successor-version"`,
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	if r := s.do(owner, "GET", "/api/v2/users/1.json", "", ""); r.header.Get("Deprecation") != "" || r.header.Get("Link") != "" {
		t.Errorf("v2 response carries deprecation headers: %v", r.header)
	}
}

// TestLegacyDeprecatedAtDefault: without a configured date, Deprecation is
// the database's creation date.
func TestLegacyDeprecatedAtDefault(t *testing.T) {
	s := newServer(t, serverOptions{})
	created, err := s.db.CreatedAt(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := domain.NewService(context.Background(), s.db, domain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.LegacyPolicy().DeprecatedAt; !got.Equal(created) || time.Since(got) > time.Minute {
		t.Errorf("deprecated at %v, want the creation date %v", got, created)
	}
}

// TestLegacyGoneAfterSunset: with refuse, legacy calls answer 410 from the
// sunset on, naming the v2 endpoint; v2 keeps serving.
func TestLegacyGoneAfterSunset(t *testing.T) {
	s := newServer(t, serverOptions{})
	sunset := s.clock.Now().Add(time.Hour)
	s = newServer(t, serverOptions{legacy: domain.LegacyPolicy{Sunset: sunset, RefuseAfterSunset: true}})
	if r := s.do(owner, "GET", "/users/1.xml", "", ""); r.status != 200 {
		t.Fatalf("before the sunset: %d", r.status)
	}
	s.clock.Advance(time.Hour)
	golden(t, "legacy/error_410_after_sunset.golden", s.do(owner, "GET", "/users/1.xml", "", "").dump())
	golden(t, "legacy/error_410_after_sunset_create.golden", s.do(owner, "POST", "/users.xml", "application/xml", "<user><name>Late</name></user>").dump())
	if r := s.do(owner, "GET", "/users.xml", "", ""); r.status != 410 || r.header.Get("Link") == "" {
		t.Errorf("list after the sunset: %d, Link %q", r.status, r.header.Get("Link"))
	}
	if n := s.seatsTaken(); n != 1 {
		t.Errorf("a refused create wrote: %d seats", n)
	}
	if r := s.do(owner, "GET", "/api/v2/users/1.json", "", ""); r.status != 200 {
		t.Errorf("v2 after the legacy sunset: %d", r.status)
	}
}

// scrape reads /metrics with the Prometheus text parser.
func (s *server) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	r := s.do(creds{}, "GET", "/metrics", "", "")
	if r.status != 200 {
		s.t.Fatalf("/metrics: %d %s", r.status, r.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		s.t.Fatal(err)
	}
	return families
}

// sample finds the metric of a family with exactly the given labels.
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if cmp.Equal(got, labels) {
			return m
		}
	}
	t.Fatalf("%s has no series %v", name, labels)
	return nil
}

// TestMetrics counts requests by protocol, route template and status, and
// serves /metrics to loopback clients only.
func TestMetrics(t *testing.T) {
	s := newServer(t, serverOptions{})
	for range 3 {
		s.do(owner, "GET", "/users/1.xml", "", "")
	}
	s.do(owner, "GET", "/users/77.xml", "", "")
	s.do(owner, "GET", "/api/v2/users/1.json", "", "")
	s.do(owner, "GET", "/no/such/path.xml", "", "")
	families := s.scrape()
	for _, tc := range []struct {
		protocol, route, status string
		want                    float64
	}{
		{"legacy", "/users/{id}.xml", "200", 3},
		{"legacy", "/users/{id}.xml", "404", 1},
		{"v2", "/api/v2/users/{user_id}{json}", "200", 1},
		{"legacy", "(no route)", "404", 1},
	} {
		labels := map[string]string{"protocol": tc.protocol, "method": "GET", "route": tc.route, "status": tc.status}
		if got := sample(t, families, "deskgate_http_requests_total", labels).GetCounter().GetValue(); got != tc.want {
			t.Errorf("requests %v: %v, want %v", labels, got, tc.want)
		}
		if got := sample(t, families, "deskgate_http_request_duration_seconds", labels).GetHistogram().GetSampleCount(); got != uint64(tc.want) {
			t.Errorf("latency count %v: %v, want %v", labels, got, tc.want)
		}
	}
	if families["go_goroutines"] == nil || families["process_cpu_seconds_total"] == nil {
		t.Error("no Go runtime or process metrics")
	}

	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "203.0.113.9:40000"
	rec := httptest.NewRecorder()
	s.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("/metrics to a remote client: %d, want 404", rec.Code)
	}
}

// TestRequestID echoes a sane X-Request-Id, replaces any other, and logs the
// id with the request.
func TestRequestID(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct{ incoming, want string }{
		{"abc-123_X.y:z", "abc-123_X.y:z"},
		{"", ""},
		{"has space", ""},
		{strings.Repeat("a", 129), ""},
		{"<script>", ""},
	} {
		var extra http.Header
		if tc.incoming != "" {
			extra = http.Header{"X-Request-Id": {tc.incoming}}
		}
		got := s.doWith(owner, "GET", "/users/1.xml", "", "", extra).header.Get("X-Request-Id")
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("%q: id %q, want it echoed", tc.incoming, got)
		case tc.want == "" && (got == "" || got == tc.incoming):
			t.Errorf("%q: id %q, want a new one", tc.incoming, got)
		}
		if !strings.Contains(s.logText(), "request_id="+got+"\n") {
			t.Errorf("id %q not logged", got)
		}
	}
	if id := s.do(creds{}, "GET", "/healthz", "", "").header.Get("X-Request-Id"); id == "" {
		t.Error("the health check has no request id")
	}
}

// TestRequestLine: the request line names protocol, method, route and
// answer in that order, whether the route's own attributes were formatted
// ahead (a route's method) or not (another method's 405, no route at all).
func TestRequestLine(t *testing.T) {
	s := newServer(t, serverOptions{})
	const owner1, nobody = "user_id=1 credential=token", "user_id=0 credential=none"
	for _, tc := range []struct {
		c                      creds
		method, path, want, by string
	}{
		{owner, "GET", "/api/v2/users/1.json", `protocol=v2 method=GET route=/api/v2/users/{user_id}{json} status=200`, owner1},
		{owner, "GET", "/users/1.xml", `protocol=legacy method=GET route=/users/{id}.xml status=200`, owner1},
		{owner, "PATCH", "/users/1.xml", `protocol=legacy method=PATCH route="" status=405`, nobody},
		{creds{}, "GET", "/api/v2/nothing", `protocol=v2 method=GET route="" status=404`, nobody},
	} {
		id := s.do(tc.c, tc.method, tc.path, "", "").header.Get("X-Request-Id")
		var line string
		for _, l := range strings.Split(s.logText(), "\n") {
			if strings.HasSuffix(l, " request_id="+id) {
				line = l
			}
		}
		if !strings.Contains(line, " msg=request "+tc.want+" duration=") || !strings.Contains(line, " "+tc.by+" request_id=") {
			t.Errorf("%s %s: logged %q, want %q … %q", tc.method, tc.path, line, tc.want, tc.by)
		}
	}
}

// TestReadyz tells ready from alive.
func TestReadyz(t *testing.T) {
	notReady := errors.New("shutting down")
	var ready error
	s := newServer(t, serverOptions{ready: func(context.Context) error { return ready }})
	if r := s.do(creds{}, "GET", "/readyz", "", ""); r.status != 200 || string(r.body) != "ready\n" {
		t.Errorf("ready: %d %s", r.status, r.body)
	}
	ready = notReady
	if r := s.do(creds{}, "GET", "/readyz", "", ""); r.status != 503 {
		t.Errorf("not ready: %d %s", r.status, r.body)
	}
	if r := s.do(creds{}, "GET", "/healthz", "", ""); r.status != 200 {
		t.Errorf("alive while not ready: %d", r.status)
	}
	if err := s.db.Ready(context.Background()); err != nil {
		t.Errorf("a migrated database is not ready: %v", err)
	}
}

// TestBackupEndpoint: the owner gets a consistent copy; another admin may not.
func TestBackupEndpoint(t *testing.T) {
	s := newServer(t, serverOptions{})
	s.addUser("Ada Admin", "ada@example.com", domain.Admin, "ada-password")
	r := s.do(owner, "POST", "/api/v2/deskgate/backup", "", "")
	var made struct{ Backup struct{ Size int64 } }
	if err := json.Unmarshal(r.body, &made); err != nil {
		t.Fatal(err)
	}
	// The size moves with every migration; the golden holds the rest.
	golden(t, "ops/backup.golden", bytes.Replace(r.dump(), []byte(strconv.FormatInt(made.Backup.Size, 10)), []byte("SIZE"), 1))
	golden(t, "ops/backup_again_same_second.golden", s.do(owner, "POST", "/api/v2/deskgate/backup", "", "").dump())
	golden(t, "ops/backup_admin.golden", s.do(creds{"ada@example.com", "ada-password"}, "POST", "/api/v2/deskgate/backup", "", "").dump())
	copies, _ := filepath.Glob(filepath.Join(s.backupDir, "*.db"))
	if len(copies) != 1 {
		t.Fatalf("backups %v, want one", copies)
	}
	if fi, err := os.Stat(copies[0]); err != nil {
		t.Error(err)
	} else if fi.Size() != made.Backup.Size {
		t.Errorf("backup of %d bytes answered as %d", fi.Size(), made.Backup.Size)
	}
	db, err := sql.Open("sqlite3", "file:"+copies[0]+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	var users int
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q %v", check, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM users").Scan(&users); err != nil || users != 2 {
		t.Errorf("%d users in the backup (%v), want 2", users, err)
	}
}

// TestSignInIsObserved: the browser sign-in is a v2 request like any other:
// logged, journaled and listed in test mode, a failed one too, with nothing
// of its password; a wrong method answers in v2's format.
func TestSignInIsObserved(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	const tried = "not-the-password-1"
	v2Want(t, s.do(creds{}, "POST", "/access/login", "application/json", `{"email":"`+ownerEmail+`","password":"`+tried+`"}`), http.StatusUnauthorized)
	v2Want(t, s.login(ownerEmail, ownerPassword), http.StatusOK)
	want := []journalRow{
		{Protocol: "v2", Method: "POST", Route: "/access/login", Operation: "POST /access/login", Status: 401, Credential: "none", UserAgent: "Go-http-client/1.1", ClientAddr: "127.0.0.1", RequestIDSet: true},
		{Protocol: "v2", Method: "POST", Route: "/access/login", Operation: "POST /access/login", Status: 200, Credential: "none", UserAgent: "Go-http-client/1.1", ClientAddr: "127.0.0.1", RequestIDSet: true},
	}
	if diff := cmp.Diff(want, s.journalRows()); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if got := s.tm.Requests(testmode.RequestFilter{Path: "/access/login"}); len(got) != 2 {
		t.Errorf("test mode lists %d sign-ins, want 2", len(got))
	}
	log := s.logText()
	if n := strings.Count(log, "route=/access/login"); n != 2 {
		t.Errorf("%d request lines for the sign-ins, want 2:\n%s", n, log)
	}
	if strings.Contains(log, tried) || strings.Contains(log, ownerPassword) {
		t.Errorf("a password is in the log:\n%s", log)
	}
	r := s.do(creds{}, "GET", "/access/login", "", "")
	v2Want(t, r, http.StatusMethodNotAllowed)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("405 Content-Type %q, want v2's JSON", ct)
	}
}
