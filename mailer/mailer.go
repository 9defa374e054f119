// Package mailer delivers outbox mail over SMTP (net/smtp), for the
// background sender that domain.Service.DeliverMail drives.
package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/deskgate/deskgate/domain"
)

// SMTP sends mail through one server.
type SMTP struct {
	addr string // host:port
	host string
	from string
	auth smtp.Auth // nil without credentials
}

// dialTimeout bounds a delivery's connection, so that an unreachable server
// costs the sender a few seconds, not a TCP timeout.
const dialTimeout = 10 * time.Second

// DefaultFrom is the envelope and header sender unless the URL names one.
const DefaultFrom = "deskgate@localhost"

// New reads smtp://[user:password@]host[:port][?from=address]; the port
// defaults to 25. net/smtp sends the password only over TLS (STARTTLS) or
// to localhost.
func New(rawURL string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		// Not err's text: it would repeat the URL and its password.
		return nil, errors.New("the SMTP URL must look like smtp://user:password@host:port")
	}
	s := &SMTP{host: u.Hostname(), addr: u.Host, from: u.Query().Get("from")}
	if u.Port() == "" {
		s.addr = net.JoinHostPort(s.host, "25")
	}
	if s.from == "" {
		s.from = DefaultFrom
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pass, s.host)
	}
	return s, nil
}

// Addr is the server's host:port, safe to log (the URL is not: it carries
// the password).
func (s *SMTP) Addr() string { return s.addr }

// Send delivers one mail: a UTF-8 text/plain message, quoted-printable.
func (s *SMTP) Send(ctx context.Context, m domain.Mail) error {
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return errors.New("a header value holds a line break")
	}
	msg, err := message(s.from, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline.Add(time.Minute)) // the exchange itself may take longer than the dial
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
			return err
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func message(from string, m domain.Mail) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\n", from, m.To, mime.QEncoding.Encode("utf-8", m.Subject))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
