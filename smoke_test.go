package deskgate_test

import "testing"

func TestHealthz(t *testing.T) {
	s := newServer(t, serverOptions{})
	r := s.do(creds{}, "GET", "/healthz", "", "")
	if r.status != 200 || string(r.body) != "ok\n" {
		t.Fatalf("healthz: %d %q", r.status, r.body)
	}
}
