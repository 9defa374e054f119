package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

const (
	testOwner    = "owner@example.com"
	testPassword = "owner-secret-password"
	testToken    = "owner-api-token-0123456789"
)

// binDir holds the binary the tests build once and share.
var binDir = filepath.Join(os.TempDir(), fmt.Sprintf("deskgate-test-%d", os.Getpid()))

var build = sync.OnceValues(func() ([]byte, error) {
	return exec.Command("go", "build", "-o", filepath.Join(binDir, "deskgate"), ".").CombinedOutput()
})

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// buildBinary compiles this command, once for all the tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	if out, err := build(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(binDir, "deskgate")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a deskgate running as a child process.
type process struct {
	cmd    *exec.Cmd
	addr   string
	output *syncBuffer
}

func start(t *testing.T, bin, db string, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"-addr", addr, "-db", db}, args...)...)
	cmd.Env = append(os.Environ(), "DESKGATE_OWNER_EMAIL="+testOwner,
		"DESKGATE_OWNER_PASSWORD="+testPassword, "DESKGATE_OWNER_TOKEN="+testToken)
	p := &process{cmd: cmd, addr: addr, output: new(syncBuffer)}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("deskgate did not become healthy: %v\n%s", err, p.output)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type acked struct {
	id    int64
	email string
}

// writers create users through both APIs from several goroutines until
// halted, and remember every create the server acknowledged.
type writers struct {
	mu   sync.Mutex
	got  []acked
	stop chan struct{}
	wg   sync.WaitGroup
}

func startWriters(t *testing.T, addr string, n int) *writers {
	ws := &writers{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range n {
		ws.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-ws.stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				var req *http.Request
				if w%2 == 0 {
					body := fmt.Sprintf(`{"user":{"name":"Worker %d %d","email":%q}}`, w, i, email)
					req, _ = http.NewRequest("POST", "http://"+addr+"/api/v2/users", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					body := fmt.Sprintf(`<user><name>Worker %d %d</name><email>%s</email></user>`, w, i, email)
					req, _ = http.NewRequest("POST", "http://"+addr+"/users.xml", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/xml")
				}
				req.SetBasicAuth(testOwner+"/token", testToken)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("create %s: %d %s", email, resp.StatusCode, b)
					return
				}
				id, err := createdID(resp, b)
				if err != nil {
					t.Errorf("create %s: %v", email, err)
					return
				}
				ws.mu.Lock()
				ws.got = append(ws.got, acked{id, email})
				ws.mu.Unlock()
			}
		})
	}
	return ws
}

// acknowledged counts the creates acknowledged so far.
func (ws *writers) acknowledged() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.got)
}

// await waits until n creates are acknowledged, 5 s at most.
func (ws *writers) await(n int) {
	for deadline := time.Now().Add(5 * time.Second); ws.acknowledged() < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// halt stops the writers and returns the acknowledged creates in order.
func (ws *writers) halt() []acked {
	close(ws.stop)
	ws.wg.Wait()
	return ws.got
}

// checkUsers finds every user of want on the server at addr.
func checkUsers(t *testing.T, addr string, want []acked, when string) {
	t.Helper()
	for _, a := range want {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v2/users/%d", addr, a.id), nil)
		req.SetBasicAuth(testOwner+"/token", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ User struct{ Email string } }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || body.User.Email != a.email {
			t.Errorf("user %d (%s) %s: %d %v %q", a.id, a.email, when, resp.StatusCode, err, body.User.Email)
		}
	}
}

// TestSIGKILLKeepsAcknowledgedCreates kills the server in the middle of a
// stream of creates and checks that every user it answered 201 for is there
// after a restart on the same file.
func TestSIGKILLKeepsAcknowledgedCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "deskgate.db")
	p := start(t, bin, db)

	ws := startWriters(t, p.addr, 4)
	// Kill once a good number of creates are acknowledged, while the rest are in flight.
	ws.await(300)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	got := ws.halt()
	if len(got) == 0 {
		t.Fatalf("no create was acknowledged before the kill\n%s", p.output)
	}

	p = start(t, bin, db)
	checkUsers(t, p.addr, got, "after the restart")
	t.Logf("%d acknowledged creates survived SIGKILL", len(got))
}

// createdID reads the new user's id from either API's 201 answer.
func createdID(resp *http.Response, body []byte) (int64, error) {
	loc := resp.Header.Get("Location")
	var id int64
	for _, f := range []string{"/api/v2/users/%d.json", "/api/v2/users/%d", "/users/%d.xml"} {
		i := strings.Index(loc, strings.SplitN(f, "%", 2)[0])
		if i >= 0 {
			if _, err := fmt.Sscanf(loc[i:], f, &id); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	var v2 struct{ User struct{ ID int64 } }
	if json.Unmarshal(body, &v2) == nil && v2.User.ID > 0 {
		return v2.User.ID, nil
	}
	return 0, fmt.Errorf("no id in Location %q or body %.200s", loc, body)
}

// TestRefusesForeignFiles checks that start-up refuses a file that is not a
// deskgate database, exits non-zero and leaves the file alone.
func TestRefusesForeignFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()

	random := filepath.Join(dir, "random.bin")
	junk := make([]byte, 64<<10)
	rand.Read(junk)
	if err := os.WriteFile(random, junk, 0o644); err != nil {
		t.Fatal(err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	sdb, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)"); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	for _, tc := range []struct {
		name, path, want string
	}{
		{"random bytes", random, "not a usable SQLite database"},
		{"foreign tables", foreign, "not a deskgate database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-addr", freeAddr(t), "-db", tc.path)
			cmd.Env = append(os.Environ(), "DESKGATE_OWNER_PASSWORD="+testPassword)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), tc.path) {
				t.Errorf("output does not name the file and say %q:\n%s", tc.want, out)
			}
			after, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("the refused file was changed")
			}
		})
	}
}

// inProcess is run serving in a goroutine.
type inProcess struct {
	addr           string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

// runInProcess starts run with args and env and waits until it is healthy.
func runInProcess(t *testing.T, args []string, env map[string]string) *inProcess {
	t.Helper()
	p := &inProcess{addr: freeAddr(t), stdout: new(syncBuffer), stderr: new(syncBuffer), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	t.Cleanup(cancel)
	go func() {
		p.done <- run(ctx, append([]string{"-addr", p.addr}, args...), func(k string) string { return env[k] }, p.stdout, p.stderr)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("run returned early: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy: %v\n%s", err, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop cancels run and waits for it to return.
func (p *inProcess) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
}

// TestRunShutsDownOnCancel serves in-process and checks that cancelling the
// context ends run without an error and closes the database.
func TestRunShutsDownOnCancel(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deskgate.db")
	p := runInProcess(t, nil, map[string]string{"DESKGATE_OWNER_PASSWORD": testPassword, "DESKGATE_DB": db})
	if !strings.Contains(p.stdout.String(), "created the account owner") {
		t.Errorf("stdout does not report the new owner: %q", p.stdout.String())
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", p.stderr.String())
	}
	if _, err := http.Get("http://" + p.addr + "/healthz"); err == nil {
		t.Error("still serving after run returned")
	}
	// Close checkpointed the WAL into the main file.
	if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("WAL left with %d bytes: the database was not closed cleanly", fi.Size())
	}
}

// TestOwnerSettingsIgnoredOnSecondStart: the owner settings only shape an
// empty database; a later start says, by name and without their values,
// that it ignored them.
func TestOwnerSettingsIgnoredOnSecondStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deskgate.db")
	first := runInProcess(t, []string{"-db", db, "-owner-password", testPassword}, nil)
	first.stop(t)
	if strings.Contains(first.stderr.String(), "ignored") {
		t.Errorf("the first start ignored settings:\n%s", first.stderr.String())
	}

	second := runInProcess(t, []string{"-db", db, "-owner-password", "another-password"},
		map[string]string{"DESKGATE_OWNER_TOKEN": "another-token-0123456789"})
	defer second.stop(t)
	log := second.stderr.String()
	if !strings.Contains(log, "owner settings were ignored") || !strings.Contains(log, `ignored="-owner-password -owner-token"`) {
		t.Errorf("no warning naming the ignored settings:\n%s", log)
	}
	if strings.Contains(log, "another-password") || strings.Contains(log, "another-token") {
		t.Errorf("the log shows a secret:\n%s", log)
	}
	if strings.Contains(second.stdout.String(), "created the account owner") {
		t.Errorf("a second owner was created: %s", second.stdout.String())
	}
}

// TestShutdownEndsAgentStreams: an open agent event stream never goes idle,
// so graceful shutdown ends it instead of waiting for it; the browser sees
// the stream end.
func TestShutdownEndsAgentStreams(t *testing.T) {
	p := runInProcess(t, nil, map[string]string{"DESKGATE_OWNER_PASSWORD": testPassword, "DESKGATE_DB": filepath.Join(t.TempDir(), "deskgate.db")})
	req, err := http.NewRequest("GET", "http://"+p.addr+"/api/v2/deskgate/agent_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testOwner, testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "retry: 3000\n" {
		t.Fatalf("stream opened with %q, %v", line, err)
	}
	p.stop(t) // within 10 s, not the 20 s the shutdown would otherwise wait
	if rest, err := io.ReadAll(r); err != nil || strings.TrimSpace(string(rest)) != "" {
		t.Errorf("stream after shutdown: %q, %v", rest, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
