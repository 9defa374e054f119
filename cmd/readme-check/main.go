// Command readme-check runs the shell examples of README.md, in order,
// against a freshly built deskgate on an empty database, and fails when a
// command fails or a request answers a status the README does not announce.
//
// The conventions it reads are described in the README's "Contributing"
// section: every ```sh block runs unless the line above its fence says
// <!-- readme-check: skip … -->; the block marked <!-- readme-check: server -->
// holds the start command whose flags start the server; a request that is
// meant to fail ends in "# expect 404". The README's address, 127.0.0.1:8080,
// is replaced by the checked server's.
//
// Run it from the module root: go run ./cmd/readme-check
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// defaultAddr is the address the README's examples talk to.
const defaultAddr = "127.0.0.1:8080"

// startCommand is how the server block starts deskgate; its flags follow.
const startCommand = "go run ./cmd/deskgate"

func main() {
	readme := flag.String("readme", "README.md", "the README to check, in the module root")
	flag.Parse()
	if err := check(*readme); err != nil {
		fmt.Fprintln(os.Stderr, "readme-check:", err)
		os.Exit(1)
	}
}

func check(readme string) error {
	doc, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	blocks, err := parseREADME(string(doc))
	if err != nil {
		return err
	}
	args, err := serverArgs(blocks)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "readme-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Dir(readme)

	bin := filepath.Join(tmp, "deskgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/deskgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/deskgate: %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	// Flags given last win: the checked server gets its own port and an empty database.
	srv := exec.Command(bin, append(args, "-addr", addr, "-db", filepath.Join(tmp, "readme.db"))...)
	var log bytes.Buffer
	srv.Stdout, srv.Stderr = &log, &log
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	if err := waitHealthy(addr); err != nil {
		return fmt.Errorf("%v\nserver output:\n%s", err, log.String())
	}
	fmt.Fprintf(os.Stderr, "readme-check: deskgate %s on %s with an empty database\n", strings.Join(args, " "), addr)

	path := filepath.Join(tmp, "readme.sh")
	if err := os.WriteFile(path, []byte(script(blocks, addr)), 0o600); err != nil {
		return err
	}
	sh := exec.Command("bash", path)
	sh.Dir = root
	sh.Stdout, sh.Stderr = os.Stdout, os.Stderr
	runErr := sh.Run()

	srv.Process.Signal(syscall.SIGTERM)
	stopErr := srv.Wait()
	switch {
	case runErr != nil:
		return fmt.Errorf("the README's examples do not run as written (see above)\nserver output:\n%s", log.String())
	case stopErr != nil:
		return fmt.Errorf("the server did not stop cleanly: %v\n%s", stopErr, log.String())
	}
	return nil
}

// serverArgs reads the flags of the one server block's start command.
func serverArgs(blocks []block) ([]string, error) {
	var found []block
	for _, b := range blocks {
		if b.kind == serverBlock {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("README.md needs exactly one sh block marked <!-- readme-check: server -->, found %d", len(found))
	}
	for _, c := range found[0].commands {
		rest, ok := strings.CutPrefix(c.text, startCommand)
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		if strings.ContainsAny(rest, `'"$\`+"`") {
			return nil, fmt.Errorf("README.md:%d: keep the start command's flags plain words, without quotes or variables", c.line)
		}
		return strings.Fields(rest), nil
	}
	return nil, fmt.Errorf("README.md:%d: the server block has no %q command", found[0].line, startCommand)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the server did not answer /healthz within 15 s")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
