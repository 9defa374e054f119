package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/google/go-cmp/cmp"
)

// parsedAs parses args and env as the configuration; with wantErr, it
// checks that the error says so and reports false.
func parsedAs(t *testing.T, args []string, env map[string]string, wantErr string) (config, bool) {
	t.Helper()
	c, err := parseConfig(args, func(k string) string { return env[k] }, io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want %q", err, wantErr)
		}
		return c, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return c, true
}

func TestParseConfigLimits(t *testing.T) {
	d := deskgate.DefaultServerOptions()
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		rate    int
		server  deskgate.ServerOptions
		wantErr string
	}{
		{name: "defaults", rate: 700, server: d},
		{name: "flags", args: []string{"-rate-limit", "0", "-read-timeout", "3s", "-header-timeout", "1s", "-write-timeout", "4s", "-idle-timeout", "5s", "-max-conns", "10", "-conns-per-client", "2"},
			server: deskgate.ServerOptions{HeaderTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second, IdleTimeout: 5 * time.Second, MaxConns: 10, ConnsPerClient: 2}},
		{name: "environment", env: map[string]string{"DESKGATE_RATE_LIMIT": "2500", "DESKGATE_READ_TIMEOUT": "1m", "DESKGATE_CONNS_PER_CLIENT": "8"},
			rate: 2500, server: deskgate.ServerOptions{HeaderTimeout: d.HeaderTimeout, ReadTimeout: time.Minute, WriteTimeout: d.WriteTimeout, IdleTimeout: d.IdleTimeout, MaxConns: d.MaxConns, ConnsPerClient: 8}},
		{name: "flag wins", args: []string{"-rate-limit", "10"}, env: map[string]string{"DESKGATE_RATE_LIMIT": "20"}, rate: 10, server: d},
		{name: "negative rate", args: []string{"-rate-limit", "-1"}, wantErr: `rate limit must be a whole number from 0 up, not "-1"`},
		{name: "no connections", args: []string{"-conns-per-client", "0"}, wantErr: `conns per client must be a whole number from 1 up, not "0"`},
		{name: "bad duration", args: []string{"-read-timeout", "soon"}, wantErr: `read timeout must be a positive duration such as 15s, not "soon"`},
		{name: "zero duration", env: map[string]string{"DESKGATE_IDLE_TIMEOUT": "0s"}, wantErr: `idle timeout must be a positive duration such as 15s, not "0s"`},
		{name: "read inside header", args: []string{"-read-timeout", "1s", "-header-timeout", "2s"}, wantErr: "read timeout 1s is shorter than the header timeout 2s, which it includes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := parsedAs(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			if c.rateLimit != tc.rate {
				t.Errorf("rate limit %d, want %d", c.rateLimit, tc.rate)
			}
			if diff := cmp.Diff(tc.server, c.server); diff != "" {
				t.Errorf("server options (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunAppliesLimits: the rate limit and the read timeout given as flags
// reach the server run builds.
func TestRunAppliesLimits(t *testing.T) {
	p := runInProcess(t, []string{"-rate-limit", "2", "-header-timeout", "100ms", "-read-timeout", "300ms"}, map[string]string{
		"DESKGATE_DB": filepath.Join(t.TempDir(), "deskgate.db"), "DESKGATE_OWNER_PASSWORD": testPassword, "DESKGATE_OWNER_TOKEN": testToken})
	for i := range 3 {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v2/users/me", nil)
		req.SetBasicAuth(testOwner+"/token", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want, remaining, retry := 200, strconv.Itoa(1-i), ""
		if i == 2 {
			want, remaining, retry = 429, "0", "30"
		}
		if resp.StatusCode != want || resp.Header.Get("X-Rate-Limit") != "2" || resp.Header.Get("X-Rate-Limit-Remaining") != remaining || resp.Header.Get("Retry-After") != retry {
			t.Errorf("request %d: %d, headers %v", i+1, resp.StatusCode, resp.Header)
		}
	}

	// A body announced and never sent: the connection is closed.
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /users.xml HTTP/1.1\r\nHost: deskgate\r\nContent-Length: 10\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // only a safety net
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("a connection that never sends its body is still open")
	}
}

func TestParseConfigSessionsAndMail(t *testing.T) {
	env := map[string]string{"DESKGATE_SESSION_IDLE": "30m", "DESKGATE_SMTP_URL": "smtp://mail.example.com:2525"}
	c, err := parseConfig([]string{"-session-max", "4h"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.sessionIdle != 30*time.Minute || c.sessionMax != 4*time.Hour || c.smtpURL != env["DESKGATE_SMTP_URL"] {
		t.Errorf("session idle %v, max %v, SMTP %q", c.sessionIdle, c.sessionMax, c.smtpURL)
	}
	defaults, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil || defaults.sessionIdle != 2*time.Hour || defaults.sessionMax != 8*time.Hour || defaults.smtpURL != "" {
		t.Errorf("defaults: session idle %v, max %v, SMTP %q (%v)", defaults.sessionIdle, defaults.sessionMax, defaults.smtpURL, err)
	}
	if _, err := parseConfig([]string{"-session-idle", "0s"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "session idle") {
		t.Errorf("-session-idle 0s: %v", err)
	}
}

// Secrets in the environment reach the configuration but never the usage
// text a flag error prints, which shows every flag's default.
func TestParseConfigKeepsSecretsOutOfUsage(t *testing.T) {
	env := map[string]string{
		"DESKGATE_OWNER_PASSWORD": "owner-pass-in-env",
		"DESKGATE_OWNER_TOKEN":    "owner-token-in-env",
		"DESKGATE_SMTP_URL":       "smtp://mailer:smtp-pass-in-env@mail.example.com:587",
	}
	getenv := func(k string) string { return env[k] }
	var usage strings.Builder
	if _, err := parseConfig([]string{"-no-such-flag"}, getenv, &usage); err == nil {
		t.Fatal("an unknown flag parsed")
	}
	for _, secret := range []string{"owner-pass-in-env", "owner-token-in-env", "smtp-pass-in-env"} {
		if strings.Contains(usage.String(), secret) {
			t.Errorf("the usage text shows %q", secret)
		}
	}
	c, err := parseConfig(nil, getenv, io.Discard)
	if err != nil || c.ownerPassword != env["DESKGATE_OWNER_PASSWORD"] || c.ownerToken != env["DESKGATE_OWNER_TOKEN"] || c.smtpURL != env["DESKGATE_SMTP_URL"] {
		t.Errorf("from the environment: %+v (%v)", c, err)
	}
	c, err = parseConfig([]string{"-owner-token", "from-flag"}, getenv, io.Discard)
	if err != nil || c.ownerToken != "from-flag" {
		t.Errorf("a flag beside the variable: token %q (%v)", c.ownerToken, err)
	}
}

// TestParseConfigJobDuty: -job-duty and DESKGATE_JOB_DUTY take a share of a
// core above 0 up to 1 (the worker's least while requests are served); the
// flag wins over the variable.
func TestParseConfigJobDuty(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want float64 // 0: refused
	}{
		{"default", nil, "", domain.DefaultJobDuty},
		{"never rests", []string{"-job-duty", "1"}, "", 1},
		{"flag", []string{"-job-duty", "0.5"}, "", 0.5},
		{"variable", nil, "0.25", 0.25},
		{"flag wins", []string{"-job-duty", "0.75"}, "0.25", 0.75},
		{"zero", []string{"-job-duty", "0"}, "", 0},
		{"above one", []string{"-job-duty", "1.5"}, "", 0},
		{"not a number", nil, "half", 0},
		{"NaN", []string{"-job-duty", "NaN"}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(k string) string {
				if k == "DESKGATE_JOB_DUTY" {
					return tc.env
				}
				return ""
			}, io.Discard)
			switch {
			case tc.want == 0 && err == nil:
				t.Errorf("accepted, duty %v", c.jobDuty)
			case tc.want != 0 && (err != nil || c.jobDuty != tc.want):
				t.Errorf("duty %v, %v; want %v", c.jobDuty, err, tc.want)
			}
		})
	}
}

func TestParseConfigRenderCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want int // domain.Config.RenderCache
	}{
		{name: "default", want: 32 << 20},
		{name: "off", args: []string{"-render-cache", "0"}, want: -1},
		{name: "environment", env: map[string]string{"DESKGATE_RENDER_CACHE": "8"}, want: 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.renderCache(); got != tc.want {
				t.Errorf("render cache %d, want %d", got, tc.want)
			}
		})
	}
}

// TestParseConfigSwitches: -test-mode and -admin-set-passwords take their
// variables' values unless given, and a given flag wins over a variable,
// even one that cannot be read, as every other flag does.
func TestParseConfigSwitches(t *testing.T) {
	for _, tc := range []struct {
		name                string
		args                []string
		env                 map[string]string
		testMode, adminSets bool
		wantErr             string
	}{
		{name: "defaults"},
		{name: "bare flags", args: []string{"-test-mode", "-admin-set-passwords"}, testMode: true, adminSets: true},
		{name: "environment", env: map[string]string{"DESKGATE_TEST_MODE": "true", "DESKGATE_ADMIN_SET_PASSWORDS": "1"}, testMode: true, adminSets: true},
		{name: "flag wins", args: []string{"-test-mode=false"}, env: map[string]string{"DESKGATE_TEST_MODE": "true"}},
		{name: "flag wins over a bad variable", args: []string{"-test-mode=false", "-admin-set-passwords"}, env: map[string]string{"DESKGATE_TEST_MODE": "yes", "DESKGATE_ADMIN_SET_PASSWORDS": "sure"}, adminSets: true},
		{name: "bad variable", env: map[string]string{"DESKGATE_TEST_MODE": "yes"}, wantErr: `test mode must be true or false, not "yes"`},
		{name: "bad admin variable", env: map[string]string{"DESKGATE_ADMIN_SET_PASSWORDS": "sure"}, wantErr: `admin set passwords must be true or false, not "sure"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := parsedAs(t, tc.args, tc.env, tc.wantErr)
			if !ok {
				return
			}
			if c.testMode != tc.testMode || c.adminSetPasswords != tc.adminSets {
				t.Errorf("test mode %t, admin set passwords %t; want %t, %t", c.testMode, c.adminSetPasswords, tc.testMode, tc.adminSets)
			}
		})
	}
}
