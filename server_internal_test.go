package deskgate

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// addrConn is a connection that is only an address, and knows whether it was closed.
type addrConn struct {
	net.Conn
	from   net.Addr
	closed *[]string
}

func (c addrConn) RemoteAddr() net.Addr { return c.from }
func (c addrConn) Close() error {
	*c.closed = append(*c.closed, c.from.String())
	return nil
}

// addrListener accepts connections from the addresses given, in order.
type addrListener struct {
	net.Listener
	from   []string
	closed []string
}

func (l *addrListener) Close() error { return nil }

func (l *addrListener) Accept() (net.Conn, error) {
	if len(l.from) == 0 {
		return nil, errors.New("no more connections")
	}
	from := net.TCPAddrFromAddrPort(netip.MustParseAddrPort(l.from[0]))
	l.from = l.from[1:]
	return addrConn{from: from, closed: &l.closed}, nil
}

// TestConnectionsPerIPv6Network: the connection cap counts an IPv6 client by
// its /64, as every other per-client limit does: one host holds a whole /64,
// so its addresses are one client, and another /64 is another.
func TestConnectionsPerIPv6Network(t *testing.T) {
	inner := &addrListener{from: []string{
		"[2001:db8:1:2::1]:1001", "[2001:db8:1:2::2]:1002", "[2001:db8:1:2::3]:1003", "[2001:db8:1:3::1]:1004",
	}}
	ln := limitConns(inner, 100, 2)
	var accepted []string
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		accepted = append(accepted, c.RemoteAddr().String())
	}
	if diff := cmp.Diff([]string{"[2001:db8:1:2::1]:1001", "[2001:db8:1:2::2]:1002", "[2001:db8:1:3::1]:1004"}, accepted); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"[2001:db8:1:2::3]:1003"}, inner.closed); diff != "" {
		t.Errorf("closed at once (-want +got):\n%s", diff)
	}
}

// TestConnectionsInAll: past max open connections in all, Accept waits for
// one to close, and a close of the listener ends the wait.
func TestConnectionsInAll(t *testing.T) {
	inner := &addrListener{from: []string{"192.0.2.1:1", "192.0.2.2:2", "192.0.2.3:3"}}
	ln := limitConns(inner, 2, 64)
	first, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	third := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		third <- err
	}()
	select {
	case err := <-third:
		t.Fatalf("a third connection was accepted past the cap of 2 (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	first.Close()
	if err := <-third; err != nil {
		t.Errorf("after a close: %v", err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		waiting <- err
	}()
	ln.Close()
	if err := <-waiting; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}
