package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = "# Title\n" +
	"<!-- readme-check: skip (benchmarks) -->\n" +
	"```sh\n" +
	"go test -bench .\n" +
	"```\n" +
	"<!-- readme-check: server -->\n" +
	"```sh\n" +
	"go run ./cmd/deskgate -owner-password pw   # keep it running\n" +
	"```\n" +
	"```xml\n" +
	"<user/>\n" +
	"```\n" +
	"```sh\n" +
	"B=http://127.0.0.1:8080\n" +
	"# a comment line\n" +
	"curl -X POST $B/users.xml --data-binary \\\n" +
	"  '<user/>'   # expect 422\n" +
	"\n" +
	"curl $B/api/v2/users/me\n" +
	"```\n"

func TestParseREADME(t *testing.T) {
	blocks, err := parseREADME(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{
		{n: 1, line: 3, kind: skipBlock, commands: []command{{line: 4, text: "go test -bench ."}}},
		{n: 2, line: 7, kind: serverBlock, commands: []command{{line: 8, text: "go run ./cmd/deskgate -owner-password pw   # keep it running"}}},
		{n: 3, line: 13, kind: runBlock, commands: []command{
			{line: 14, text: "B=http://127.0.0.1:8080"},
			{line: 16, text: "curl -X POST $B/users.xml --data-binary \\\n  '<user/>'   # expect 422", expect: 422},
			{line: 19, text: "curl $B/api/v2/users/me"},
		}},
	}
	if diff := cmp.Diff(want, blocks, cmp.AllowUnexported(block{}, command{})); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	args, err := serverArgs(blocks)
	if err != nil || !cmp.Equal(args, []string{"-owner-password", "pw"}) {
		t.Errorf("server args %q, %v", args, err)
	}
}

func TestParseREADMERefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unclosed fence":     "```sh\ncurl x\n",
		"unknown annotation": "<!-- readme-check: maybe -->\n```sh\ncurl x\n```\n",
	} {
		if _, err := parseREADME(doc); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := serverArgs(nil); err == nil || !strings.Contains(err.Error(), "readme-check: server") {
		t.Errorf("no server block: %v", err)
	}
}

// TestScriptFailsOnUnannouncedStatus runs the generated script against a
// fake curl, to check the wrapper's verdicts without a server.
func TestScriptFailsOnUnannouncedStatus(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	// The fake curl prints the status named in its last argument.
	fake := "#!/bin/sh\nfor a; do last=$a; done\nprintf '%s' \"${last##*/}\"\n"
	if err := os.WriteFile(filepath.Join(dir, "curl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
		message    string
	}{
		{"2xx", "curl http://127.0.0.1:8080/200", true, ""},
		{"announced", "curl http://127.0.0.1:8080/404   # expect 404", true, ""},
		{"unannounced", "curl http://127.0.0.1:8080/404", false, "README.md:2 (sh block 1): curl http://127.0.0.1:8080/404: answered 404, expected a 2xx status"},
		{"wrong announcement", "curl http://127.0.0.1:8080/400   # expect 404", false, "answered 400, expected 404"},
		{"inside $(…)", "x=$(curl http://127.0.0.1:8080/500)\necho unreachable", false, "answered 500"},
		{"other command", "false", false, "README.md:2 (sh block 1): false: the command failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks, err := parseREADME("```sh\n" + tc.body + "\n```\n")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "-c", script(blocks, "127.0.0.1:9"))
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.ok || !strings.Contains(string(out), tc.message) || strings.Contains(string(out), "unreachable\n") {
				t.Errorf("err %v, output:\n%s", err, out)
			}
		})
	}
}
