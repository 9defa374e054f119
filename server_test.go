package deskgate_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/testmode"
)

// realServer serves s's service through deskgate.NewServer on a real
// listener from deskgate.Listen, as cmd/deskgate does.
func realServer(t *testing.T, s *server, opts deskgate.ServerOptions) string {
	t.Helper()
	ln, err := deskgate.Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := deskgate.NewServer(deskgate.NewHandler(s.svc, deskgate.Options{BaseURL: testBaseURL}), opts, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestSlowBodiesAreCutOff is issue 7's defect 8: 100 connections send a body
// one byte at a time. Each is closed once the read timeout runs out, while a
// normal client is served meanwhile.
func TestSlowBodiesAreCutOff(t *testing.T) {
	s := newServer(t, serverOptions{})
	const readTimeout = 500 * time.Millisecond
	addr := realServer(t, s, deskgate.ServerOptions{HeaderTimeout: 200 * time.Millisecond, ReadTimeout: readTimeout, ConnsPerClient: 200})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(owner.user+":"+owner.pass))
	head := "POST /users.xml HTTP/1.1\r\nHost: deskgate\r\nAuthorization: " + auth +
		"\r\nContent-Type: application/xml\r\nContent-Length: 1000\r\n\r\n"

	var started, done sync.WaitGroup
	answers := make(chan string, 100)
	for range 100 {
		started.Add(1)
		done.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				started.Done()
				answers <- "dial: " + err.Error()
				return
			}
			defer c.Close()
			io.WriteString(c, head)
			started.Done()
			go func() { // a byte every 20 ms: the whole body would take 20 s
				for _, err := c.Write([]byte("<")); err == nil; _, err = c.Write([]byte("u")) {
					time.Sleep(20 * time.Millisecond)
				}
			}()
			c.SetReadDeadline(time.Now().Add(20 * readTimeout)) // only a safety net
			status, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				_, err = io.Copy(io.Discard, c) // read to the close
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				status = "not closed"
			}
			answers <- strings.TrimSpace(status)
		})
	}
	started.Wait()

	// A normal client is served while the slow ones hold their connections.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://"+addr+"/users.xml", strings.NewReader(`<user><name>Quick</name><email>quick@example.com</email></user>`))
	req.SetBasicAuth(owner.user, owner.pass)
	req.Header.Set("Content-Type", "application/xml")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("normal client: %d", resp.StatusCode)
	}

	done.Wait()
	close(answers)
	seen := map[string]int{}
	for a := range answers {
		seen[a]++
	}
	if len(seen) != 1 || seen["HTTP/1.1 400 Bad Request"] != 100 {
		t.Errorf("slow clients got %v, want 100 × 400 and a close", seen)
	}
	if r := s.do(owner, "GET", "/api/v2/users/count", "", ""); !strings.Contains(string(r.body), `"value":2`) {
		t.Errorf("a slow body wrote something: %s", r.body)
	}
}

// TestTruncatedBody: a body that ends before its Content-Length is the
// client's error in each API's format, and writes nothing.
func TestTruncatedBody(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct{ golden, path, contentType, part string }{
		{"legacy/error_400_truncated_body.golden", "/users.xml", "application/xml", "<user><name>Cut"},
		{"v2/error_400_truncated_body.golden", "/api/v2/users", "application/json", `{"user":{"name":"Cut`},
	} {
		c, err := net.Dial("tcp", s.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		auth := base64.StdEncoding.EncodeToString([]byte(owner.user + ":" + owner.pass))
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: deskgate\r\nAuthorization: Basic %s\r\nContent-Type: %s\r\nContent-Length: 100\r\n\r\n%s",
			tc.path, auth, tc.contentType, tc.part)
		c.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		r := response{status: resp.StatusCode, header: resp.Header, body: b}
		if strings.HasPrefix(tc.path, "/api/v2") {
			golden(t, tc.golden, v2dump(r))
		} else {
			golden(t, tc.golden, r.dump())
		}
	}
	if r := s.do(owner, "GET", "/api/v2/users/count", "", ""); !strings.Contains(string(r.body), `"value":1`) {
		t.Errorf("a truncated body wrote something: %s", r.body)
	}
}

// TestHeaderCap: headers past MaxHeaderBytes (and net/http's 4 KiB of
// slack) answer 431 on the real server.
func TestHeaderCap(t *testing.T) {
	s := newServer(t, serverOptions{})
	addr := realServer(t, s, deskgate.ServerOptions{})
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", deskgate.MaxHeaderBytes+8<<10))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

// TestConnectionsPerClient: past its cap a client's new connections are
// closed at once, other addresses are still served, and a closed
// connection gives its place back.
func TestConnectionsPerClient(t *testing.T) {
	s := newServer(t, serverOptions{})
	// Long timeouts: the held connections send nothing and must stay open.
	addr := realServer(t, s, deskgate.ServerOptions{ConnsPerClient: 3, HeaderTimeout: time.Minute, ReadTimeout: time.Minute})
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	get := func(from string) error {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		tr := &http.Transport{DialContext: dialer.DialContext}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get("127.0.0.1"); err == nil {
		t.Error("a fourth connection from 127.0.0.1 was served")
	}
	needAddress(t, "127.0.0.2")
	if err := get("127.0.0.2"); err != nil {
		t.Errorf("another address: %v", err)
	}
	held[0].Close()
	var err error
	for range 500 { // the server notices the close when its read of held[0] ends
		if err = get("127.0.0.1"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("after a close, 127.0.0.1 is still refused: %v", err)
	}
}

// TestOriginFromHost: without a base URL, the URLs of each answer name the
// origin its own request named, whatever the request before it named.
func TestOriginFromHost(t *testing.T) {
	s := newServer(t, serverOptions{})
	h := deskgate.NewHandler(s.svc, deskgate.Options{})
	// The same host twice in a row, another between, then the first over TLS.
	for _, origin := range []string{"http://one.example", "http://one.example", "http://two.example:8080", "http://one.example", "https://one.example"} {
		scheme, host, _ := strings.Cut(origin, "://")
		for _, path := range []string{"/api/v2/users/1", "/users/1.xml"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Host, req.TLS = host, nil
			if scheme == "https" {
				req.TLS = &tls.ConnectionState{}
			}
			req.SetBasicAuth(ownerEmail+"/token", ownerToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			want, got := `"url":"`+origin+`/api/v2/users/1.json"`, w.Body.String()
			if path == "/users/1.xml" {
				want, got = "<"+origin+"/api/v2/users/1.json>", w.Header().Get("Link")
			}
			if w.Code != http.StatusOK || !strings.Contains(got, want) {
				t.Errorf("%s for %s: %d %s, want %s", path, origin, w.Code, got, want)
			}
		}
	}
}

// TestResetConnectionThroughListen: test mode's reset_connection fault
// closes the connection with a RST on deskgate.Listen's listener too, as
// cmd/deskgate serves, where its wrapper once hid the TCP connection and the
// client saw an orderly end of stream.
func TestResetConnectionThroughListen(t *testing.T) {
	s := newServer(t, serverOptions{testMode: true})
	if _, err := s.tm.AddFaults([]testmode.Rule{{Method: "DELETE", ResetConnection: true}}); err != nil {
		t.Fatal(err)
	}
	ln, err := deskgate.Listen("127.0.0.1:0", deskgate.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := deskgate.NewServer(deskgate.NewHandler(s.svc, deskgate.Options{TestMode: s.tm}), deskgate.ServerOptions{}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second)) // only a safety net
	io.WriteString(c, "DELETE /api/v2/users/2 HTTP/1.1\r\nHost: deskgate\r\n\r\n")
	if _, err := bufio.NewReader(c).ReadByte(); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after the fault: %v, want a reset (ECONNRESET)", err)
	}
}
