package deskgate

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// MaxHeaderBytes bounds a request's headers; Basic credentials and the
// longest query a client sends fit many times over.
const MaxHeaderBytes = 16 << 10

// ServerOptions bound how long a connection may take and how many one
// client may hold. A zero field takes its default: none of them can be
// switched off, since a server without them is held open by slow clients.
type ServerOptions struct {
	HeaderTimeout  time.Duration // reading a request's headers
	ReadTimeout    time.Duration // reading a whole request, body included
	WriteTimeout   time.Duration // from the end of the headers to the end of the response
	IdleTimeout    time.Duration // a keep-alive connection between requests
	MaxConns       int           // open connections in all; more wait to be accepted
	ConnsPerClient int           // open connections from one address; more are closed at once
}

// DefaultServerOptions are generous for API clients on slow links and short
// for a client that trickles its request.
func DefaultServerOptions() ServerOptions {
	return ServerOptions{
		HeaderTimeout:  2 * time.Second,
		ReadTimeout:    15 * time.Second,
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxConns:       1024,
		ConnsPerClient: 64,
	}
}

func (o ServerOptions) withDefaults() ServerOptions {
	d := DefaultServerOptions()
	pick := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	o.HeaderTimeout = pick(o.HeaderTimeout, d.HeaderTimeout)
	o.ReadTimeout = pick(o.ReadTimeout, d.ReadTimeout)
	o.WriteTimeout = pick(o.WriteTimeout, d.WriteTimeout)
	o.IdleTimeout = pick(o.IdleTimeout, d.IdleTimeout)
	if o.MaxConns == 0 {
		o.MaxConns = d.MaxConns
	}
	if o.ConnsPerClient == 0 {
		o.ConnsPerClient = d.ConnsPerClient
	}
	return o
}

// NewServer returns the HTTP server for h with the timeouts of o.
// ReadTimeout covers the body too: a client sending it a byte at a time is
// cut off when it runs out, whatever the handler is doing.
func NewServer(h http.Handler, o ServerOptions, log *slog.Logger) *http.Server {
	o = o.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: o.HeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listen listens on the TCP address with the connection caps of o.
func Listen(addr string, o ServerOptions) (net.Listener, error) {
	o = o.withDefaults()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return limitConns(ln, o.MaxConns, o.ConnsPerClient), nil
}

// cappedListener holds at most max connections in all: Accept waits while
// that many are open, as netutil.LimitListener's does. It closes a new
// connection at once when its client (its address, an IPv6 one's /64:
// domain.ClientNetwork) already holds perClient open ones, so one client
// cannot take every connection the server allows. One wrapper where
// netutil's would be a second: its connection hides the TCP one, whose
// linger test mode's resets set.
type cappedListener struct {
	net.Listener
	slots     chan struct{} // one taken per open connection
	closed    chan struct{}
	closeOnce sync.Once
	perClient int
	mu        sync.Mutex
	open      map[string]int
}

func limitConns(ln net.Listener, max, perClient int) net.Listener {
	return &cappedListener{Listener: ln, slots: make(chan struct{}, max), closed: make(chan struct{}), perClient: perClient, open: map[string]int{}}
}

func (l *cappedListener) Accept() (net.Conn, error) {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		client := domain.ClientNetwork(host) // an IPv6 client is its /64, as for the other limits
		if l.acquire(client) {
			return &clientConn{Conn: c, release: sync.OnceFunc(func() { l.release(client) })}, nil
		}
		c.Close()
		<-l.slots
	}
}

func (l *cappedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *cappedListener) acquire(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client] >= l.perClient {
		return false
	}
	l.open[client]++
	return true
}

func (l *cappedListener) release(client string) {
	l.mu.Lock()
	if l.open[client]--; l.open[client] == 0 {
		delete(l.open, client)
	}
	l.mu.Unlock()
	<-l.slots
}

// clientConn gives its places back to the listener when closed, once.
type clientConn struct {
	net.Conn
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// SetLinger sets the TCP connection's (net.TCPConn.SetLinger): test mode
// resets a connection by closing it with a linger of 0.
func (c *clientConn) SetLinger(sec int) error {
	if tcp, ok := c.Conn.(*net.TCPConn); ok {
		return tcp.SetLinger(sec)
	}
	return nil
}
