package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// call sends one request to the server and returns its status.
func (p *process) call(t *testing.T, user, pass, method, path, agent string) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, nil)
	req.SetBasicAuth(user, pass)
	req.Header.Set("User-Agent", agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// stop ends the server as an operator does, with SIGTERM.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("deskgate after SIGTERM: %v\n%s", err, p.output)
	}
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// TestOperationsThroughTheBinary serves from the real binary with metrics on
// a listener of their own and JSON logs, then reads the legacy report with
// the report subcommand.
func TestOperationsThroughTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "deskgate.db")
	metricsAddr := freeAddr(t)
	p := start(t, bin, db, "-metrics-addr", metricsAddr, "-log-format", "json", "-legacy-sunset", "2027-06-30")

	for range 3 {
		p.call(t, testOwner, testPassword, "GET", "/users/1.xml", "OldSync/1.0")
	}
	p.call(t, testOwner+"/token", testToken, "GET", "/users.xml?query=owner", "Nightly/4")
	p.call(t, testOwner+"/token", testToken, "GET", "/api/v2/users/1.json", "go-zendesk")
	if status := p.call(t, "", "", "GET", "/metrics", "curl"); status != 404 {
		t.Errorf("/metrics on the API listener with -metrics-addr: %d, want 404", status)
	}

	families := scrape(t, "http://"+metricsAddr+"/metrics")
	value := func(name string) float64 {
		f := families[name]
		if f == nil || len(f.Metric) == 0 {
			t.Fatalf("no metric %s", name)
		}
		m := f.Metric[0]
		return m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if got := value("deskgate_agent_seats_used"); got != 1 {
		t.Errorf("seats used %v, want 1 (the owner)", got)
	}
	if got := value("deskgate_db_size_bytes"); got <= 0 {
		t.Errorf("database size %v", got)
	}
	if got := value("deskgate_journal_dropped_total"); got != 0 {
		t.Errorf("journal drops %v", got)
	}
	for _, name := range []string{"deskgate_agent_seats_allowed", "deskgate_db_wal_size_bytes", "deskgate_db_checkpoints_total", "go_goroutines"} {
		value(name)
	}
	var legacyShows float64
	for _, m := range families["deskgate_http_requests_total"].Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["protocol"] == "legacy" && labels["route"] == "/users/{id}.xml" && labels["status"] == "200" {
			legacyShows += m.GetCounter().GetValue()
		}
	}
	if legacyShows != 3 {
		t.Errorf("legacy shows counted %v, want 3", legacyShows)
	}
	p.stop(t) // the journal writes what is queued before the database closes

	logs := p.output.String()
	requests := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			continue // the owner lines on stdout
		}
		if line["msg"] == "request" {
			requests++
			if id, _ := line["request_id"].(string); id == "" {
				t.Errorf("request logged without an id: %s", sc.Text())
			}
		}
	}
	if requests != 5 {
		t.Errorf("%d requests logged, want 5:\n%s", requests, logs)
	}
	for _, secret := range []string{testPassword, testToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}

	out, err := exec.Command(bin, "report", "legacy", "-db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	for _, want := range []string{
		`owner@example.com, password, "OldSync/1.0": 3 requests, last `,
		"  GET /users/{id}.xml  3  ",
		"  → GET /api/v2/users/{id}.json\n",
		`owner@example.com, token, "Nightly/4": 1 requests, last `,
		"  GET /users.xml?query=  1  ",
		"  → GET /api/v2/users/search.json?query=\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(bin, "report", "legacy", "-json", "-since", "1d", "-db", db).Output()
	var report struct {
		LegacyUsage struct {
			Clients []struct{ Requests int }
			Daily   []struct{ Legacy, V2 int }
		} `json:"legacy_usage"`
	}
	if err != nil || json.Unmarshal(out, &report) != nil {
		t.Fatalf("report -json: %v\n%s", err, out)
	}
	if u := report.LegacyUsage; len(u.Clients) != 2 || len(u.Daily) != 1 || u.Daily[0].Legacy != 4 || u.Daily[0].V2 != 1 {
		t.Errorf("report -json: %s", out)
	}
	if out, err := exec.Command(bin, "report", "legacy", "-db", filepath.Join(t.TempDir(), "none.db")).CombinedOutput(); err == nil {
		t.Errorf("a report on a missing database succeeded:\n%s", out)
	}
}

// TestBackupUnderLoadThenRestore backs up with the backup subcommand while
// writers create users, restores by replacing the file, and finds every
// user acknowledged before the backup started, in a file that passes
// PRAGMA integrity_check.
func TestBackupUnderLoadThenRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	db, copy := filepath.Join(dir, "deskgate.db"), filepath.Join(dir, "backup.db")
	p := start(t, bin, db)

	ws := startWriters(t, p.addr, 2)
	ws.await(100)
	before := ws.acknowledged()
	out, err := exec.Command(bin, "backup", "-db", db, "-to", copy).CombinedOutput()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	during := ws.acknowledged() - before
	ws.await(before + during + 50) // writers carry on after the backup
	got := ws.halt()
	p.stop(t)
	if before == 0 {
		t.Fatalf("no create was acknowledged before the backup\n%s", p.output)
	}
	t.Logf("%d creates acknowledged before the backup, %d while it ran, %d in all", before, during, len(got))

	check, err := sql.Open("sqlite3", "file:"+copy+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var result string
	if err := check.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil || result != "ok" {
		t.Errorf("integrity_check of the backup: %q %v", result, err)
	}
	check.Close()
	if out, err := exec.Command(bin, "backup", "-db", db, "-to", copy).CombinedOutput(); err == nil {
		t.Errorf("a backup over an existing file succeeded:\n%s", out)
	}

	// Restore: stop, replace the file, start.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(db + suffix)
	}
	if err := os.Rename(copy, db); err != nil {
		t.Fatal(err)
	}
	p = start(t, bin, db)
	checkUsers(t, p.addr, got[:before], "after the restore")
}

// TestRunServesNothingWhenAnAddressIsTaken: with -metrics-addr taken, run
// fails before it serves the API, so nothing answers from the database it
// closes on the way out.
func TestRunServesNothingWhenAnAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	err = run(context.Background(), []string{"-addr", addr, "-metrics-addr", taken.Addr().String(),
		"-db", filepath.Join(t.TempDir(), "deskgate.db"), "-owner-password", testPassword},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("run: %v, want the taken address", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("after run returned, %s still accepts connections", addr)
	}
}
