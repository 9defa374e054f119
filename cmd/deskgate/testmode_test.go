package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTestModeConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"clock needs test mode", []string{"-clock", "2024-01-01T00:00:00Z"}, nil, "need test mode"},
		{"seed needs test mode", nil, map[string]string{"DESKGATE_SEED": "7"}, "need test mode"},
		{"fixtures need test mode", []string{"-fixtures", "f.json"}, nil, "need test mode"},
		{"test mode from the environment", []string{"-clock", "2024-01-01T00:00:00Z"}, map[string]string{"DESKGATE_TEST_MODE": "true"}, ""},
		{"a flag wins over the environment", []string{"-test-mode=false", "-seed", "1"}, map[string]string{"DESKGATE_TEST_MODE": "true"}, "need test mode"},
		{"not a boolean", nil, map[string]string{"DESKGATE_TEST_MODE": "yes please"}, "true or false"},
		{"not a time", []string{"-test-mode", "-clock", "tomorrow"}, nil, "RFC 3339"},
		{"not a seed", []string{"-test-mode", "-seed", "-1"}, nil, "whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestRunInTestMode starts the command as the README shows: frozen clock,
// seed, fixture file, generated owner password.
func TestRunInTestMode(t *testing.T) {
	db := filepath.Join(t.TempDir(), "deskgate.db")
	p := runInProcess(t, []string{"-test-mode", "-clock", "2024-01-01T00:00:00Z", "-seed", "7",
		"-fixtures", "../../testdata/fixtures/example.json"}, map[string]string{"DESKGATE_DB": db})
	if !strings.Contains(p.stderr.String(), "TEST MODE IS ON") {
		t.Errorf("no test mode warning logged:\n%s", p.stderr.String())
	}
	m := regexp.MustCompile(`owner password \(shown once\): (\S+)`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no generated password in %q", p.stdout.String())
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+p.addr+path, nil)
		req.SetBasicAuth(testOwner, m[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/__deskgate/clock"); code != 200 || body != `{"now":"2024-01-01T00:00:00Z","frozen":true}`+"\n" {
		t.Errorf("clock: %d %s", code, body)
	}
	if code, body := get("/users/2.xml"); code != 200 || !strings.Contains(body, "<name>Al Agent</name>") {
		t.Errorf("the fixture's agent: %d %s", code, body)
	}
}

func TestRunRefusesABadFixture(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "bad.json")
	os.WriteFile(fixture, []byte(`{"users": [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "not an email"}]}`), 0o644)
	err := run(t.Context(), []string{"-addr", freeAddr(t), "-db", filepath.Join(dir, "d.db"), "-test-mode", "-fixtures", fixture},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "users[1] (not an email)") || !strings.Contains(err.Error(), "not properly formatted") {
		t.Errorf("run: %v, want the fixture refused naming users[1] and why", err)
	}
}
