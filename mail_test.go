package deskgate_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskgate/deskgate"
	"github.com/deskgate/deskgate/domain"
	"github.com/deskgate/deskgate/mailer"
)

// The mail outbox and its SMTP delivery.

// smtpServer is a small SMTP server speaking enough of RFC 5321 (EHLO,
// AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for net/smtp to deliver
// to it, so delivery is tested against a real listener and protocol.
type smtpServer struct {
	addr    string
	arrived chan struct{} // signalled for each message received
	mu      sync.Mutex
	rcpt    string // the reply to RCPT TO; "" accepts
	got     []smtpMessage
}

type smtpMessage struct {
	auth, from, to, data string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtpServer{addr: ln.Addr().String(), arrived: make(chan struct{}, 100)}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
	})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { srv.serve(c) })
		}
	})
	return srv
}

func (srv *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute)) // a stuck client cannot hang the test's cleanup
	r := bufio.NewReader(c)
	reply := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	var m smtpMessage
	reply("220 deskgate-test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			reply("250-deskgate-test")
			reply("250 AUTH PLAIN")
		case "HELO", "NOOP":
			reply("250 ok")
		case "AUTH":
			creds, _ := strings.CutPrefix(arg, "PLAIN ")
			b, _ := base64.StdEncoding.DecodeString(creds)
			m.auth = string(b)
			reply("235 2.7.0 authenticated")
		case "MAIL":
			m.from = arg
			reply("250 ok")
		case "RCPT":
			srv.mu.Lock()
			refusal := srv.rcpt
			srv.mu.Unlock()
			if refusal != "" {
				reply(refusal)
				continue
			}
			m.to = arg
			reply("250 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = data.String()
			srv.mu.Lock()
			srv.got = append(srv.got, m)
			srv.mu.Unlock()
			srv.arrived <- struct{}{}
			reply("250 2.0.0 queued")
		case "RSET":
			m = smtpMessage{}
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

func (srv *smtpServer) refuseRecipients(reply string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.rcpt = reply
}

func (srv *smtpServer) messages() []smtpMessage {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]smtpMessage(nil), srv.got...)
}

// outboxMail is a row of GET /api/v2/deskgate/outbox.
type outboxMail struct {
	To, Subject, Text string
	UserID            *int64  `json:"user_id"`
	Delivery          *string `json:"delivery"`
	Attempts          int
	LastError         *string `json:"last_error"`
	NextAttemptAt     *string `json:"next_attempt_at"`
}

func (s *server) outbox(query string) []outboxMail {
	s.t.Helper()
	r := s.do(owner, "GET", "/api/v2/deskgate/outbox"+query, "", "")
	v2Want(s.t, r, http.StatusOK)
	var body struct{ Mails []outboxMail }
	v2Decode(s.t, r, &body)
	return body.Mails
}

func TestOutbox(t *testing.T) {
	s := newServer(t, serverOptions{adminSetPasswords: true}) // the owner sets a password with <password>
	create := func(body string) int64 {
		t.Helper()
		r := s.do(owner, "POST", "/api/v2/users", "application/json", body)
		v2Want(t, r, http.StatusCreated)
		return v2ID(t, r, "user")
	}
	wendy := create(`{"user":{"name":"Wendy Welcome","email":"wendy@example.com"}}`)
	create(`{"user":{"name":"Silent Sam","email":"sam@example.com","skip_verify_email":true}}`)
	create(`{"user":{"name":"Vera Verified","email":"vera@example.com","verified":true}}`)
	create(`{"user":{"name":"Nobody Mailed"}}`)
	legacy := s.legacyCreate(`<user><email>larry@example.com</email><name>Larry Legacy</name><roles>4</roles></user>`)
	legacyWant(t, s.do(owner, "PUT", fmt.Sprintf("/users/%d.xml", legacy), legacyXMLType, `<user><password>larry-new-pass</password></user>`), http.StatusOK)

	larry := creds{"larry@example.com", "larry-new-pass"}
	reminder := s.do(larry, "POST", "/api/v2/users/request_create", "application/json", `{"user":{"name":"Nina New","email":"nina@example.com"}}`)
	golden(t, "outbox/request_create.golden", v2dump(reminder))
	if reminder.status != http.StatusOK || len(reminder.body) != 0 {
		t.Errorf("request_create: %s", reminder.dump())
	}
	golden(t, "outbox/error_422_request_create_blank_name.golden",
		v2dump(s.do(larry, "POST", "/api/v2/users/request_create", "application/json", `{"user":{"email":"nina@example.com"}}`)))
	emma := creds{"emma@example.com", "emma-secret-1"}
	v2EndUser(t, s, "Emma End", emma.user, emma.pass)
	v2Want(t, s.do(emma, "POST", "/api/v2/users/request_create", "application/json", `{"user":{"name":"Nina New"}}`), http.StatusForbidden)

	// The identities' verification mail lands in the same outbox.
	var ids struct{ Identities []struct{ ID int64 } }
	v2Decode(t, s.do(owner, "GET", fmt.Sprintf("/api/v2/users/%d/identities", wendy), "", ""), &ids)
	v2Want(t, s.do(owner, "PUT", fmt.Sprintf("/api/v2/users/%d/identities/%d/request_verification", wendy, ids.Identities[0].ID), "", ""), http.StatusOK)

	golden(t, "outbox/all.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox", "", "")))
	var subjects []string
	for _, m := range s.outbox("") {
		subjects = append(subjects, m.To+": "+m.Subject)
	}
	want := []string{
		"wendy@example.com: Welcome to the help desk",
		"larry@example.com: Welcome to the help desk",
		"larry@example.com: Your password has been changed",
		ownerEmail + ": An agent asks for another agent seat",
		"wendy@example.com: Please verify your email address",
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Errorf("outbox:\n%s\nwant:\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
	}
	if got := s.outbox("?recipient=LARRY@example.com"); len(got) != 2 {
		t.Errorf("recipient filter: %d mails, want Larry's 2", len(got))
	}
	golden(t, "outbox/cursor.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox?recipient=larry@example.com&page[size]=1", "", "")))
	golden(t, "outbox/error_403_agent.golden", v2dump(s.do(larry, "GET", "/api/v2/deskgate/outbox", "", "")))
}

func TestMailDeliveryOverSMTP(t *testing.T) {
	smtpd := startSMTP(t)
	s := newServer(t, serverOptions{mailDelivery: true})
	smtp, err := mailer.New("smtp://relay-user:relay-pass@" + smtpd.addr + "?from=help@example.com")
	if err != nil {
		t.Fatal(err)
	}
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Wendy Welcome","email":"wendy@example.com"}}`), http.StatusCreated)
	golden(t, "outbox/delivery_pending.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox", "", "")))

	n, err := s.svc.DeliverMail(context.Background(), smtp.Send)
	if err != nil || n != 1 {
		t.Fatalf("DeliverMail: %d, %v", n, err)
	}
	got := smtpd.messages()
	if len(got) != 1 {
		t.Fatalf("the SMTP server received %d messages", len(got))
	}
	m := got[0]
	if m.auth != "\x00relay-user\x00relay-pass" || m.from != "FROM:<help@example.com>" || m.to != "TO:<wendy@example.com>" {
		t.Errorf("envelope: auth %q from %q to %q", m.auth, m.from, m.to)
	}
	for _, part := range []string{"Subject: Welcome to the help desk\r\n", "To: wendy@example.com\r\n", "Hello Wendy Welcome,"} {
		if !strings.Contains(m.data, part) {
			t.Errorf("message lacks %q:\n%s", part, m.data)
		}
	}
	golden(t, "outbox/delivery_sent.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox", "", "")))
	if n, _ := s.svc.DeliverMail(context.Background(), smtp.Send); n != 0 {
		t.Errorf("a sent mail was tried again")
	}
}

// TestMailBackgroundSender runs the background jobs as the server does: a
// commit that queues mail wakes the sender.
func TestMailBackgroundSender(t *testing.T) {
	smtpd := startSMTP(t)
	s := newServer(t, serverOptions{mailDelivery: true})
	smtp, err := mailer.New("smtp://" + smtpd.addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		deskgate.Background(ctx, s.svc, smtp.Send, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Wendy Welcome","email":"wendy@example.com"}}`), http.StatusCreated)
	select {
	case <-smtpd.arrived:
	case <-time.After(time.Minute): // a deadline for a hung sender, not a speed requirement
		t.Fatal("no mail reached the SMTP server")
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if m := s.outbox(""); len(m) == 1 && m[0].Delivery != nil && *m[0].Delivery == string(domain.DeliverySent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox row never showed the delivery: %+v", s.outbox(""))
		}
	}
}

func TestMailDeliveryRetries(t *testing.T) {
	smtpd := startSMTP(t)
	smtpd.refuseRecipients("451 4.3.0 mailbox busy, try later")
	s := newServer(t, serverOptions{mailDelivery: true})
	smtp, err := mailer.New("smtp://" + smtpd.addr)
	if err != nil {
		t.Fatal(err)
	}
	// The API call succeeds whatever the mail server says.
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Wendy Welcome","email":"wendy@example.com"}}`), http.StatusCreated)
	deliver := func() int {
		t.Helper()
		n, err := s.svc.DeliverMail(context.Background(), smtp.Send)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if deliver() != 1 {
		t.Fatal("the pending mail was not tried")
	}
	golden(t, "outbox/delivery_retry.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox", "", "")))
	if deliver() != 0 {
		t.Error("a mail was retried before its backoff passed")
	}
	// Backoff doubles from 30 s: the attempts after the first fall due at
	// +30 s, +1 m, +2 m, +4 m, +8 m; the sixth failure gives up.
	for i, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute} {
		s.clock.Advance(wait - time.Second)
		if deliver() != 0 {
			t.Fatalf("retry %d came early", i+1)
		}
		s.clock.Advance(time.Second)
		if deliver() != 1 {
			t.Fatalf("retry %d was not due after %v", i+1, wait)
		}
	}
	golden(t, "outbox/delivery_failed.golden", v2dump(s.do(owner, "GET", "/api/v2/deskgate/outbox", "", "")))
	s.clock.Advance(24 * time.Hour)
	if deliver() != 0 {
		t.Error("a failed mail was tried again")
	}
	if len(smtpd.messages()) != 0 {
		t.Error("a refused mail was received")
	}

	// An unreachable server is a failed attempt like any other.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	down, err := mailer.New("smtp://" + closed)
	if err != nil {
		t.Fatal(err)
	}
	v2Want(t, s.do(owner, "POST", "/api/v2/users", "application/json", `{"user":{"name":"Dora Down","email":"dora@example.com"}}`), http.StatusCreated)
	if n, err := s.svc.DeliverMail(context.Background(), down.Send); err != nil || n != 1 {
		t.Fatalf("DeliverMail: %d, %v", n, err)
	}
	last := s.outbox("?recipient=dora@example.com")[0]
	if *last.Delivery != string(domain.DeliveryPending) || last.Attempts != 1 || last.LastError == nil || !strings.Contains(*last.LastError, "refused") {
		t.Errorf("unreachable server: %+v", last)
	}
}

func TestMailerURL(t *testing.T) {
	for _, bad := range []string{"http://host:25", "smtp://", "smtp://user:secret@[::1", "mail.example.com"} {
		_, err := mailer.New(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// TestCreateOrUpdateSkipsVerifyMail: skip_verify_email holds when
// create_or_update updates, as when it creates: a new address gets no
// verification mail; without the flag it does.
func TestCreateOrUpdateSkipsVerifyMail(t *testing.T) {
	s := newServer(t, serverOptions{})
	for _, tc := range []struct {
		body  string
		mails int
	}{
		{`{"user":{"name":"Sid Silent","external_id":"crm-sid","email":"sid@example.com","skip_verify_email":true}}`, 0},
		{`{"user":{"external_id":"crm-sid","email":"sid.new@example.com","skip_verify_email":true}}`, 0},
		{`{"user":{"external_id":"crm-sid","email":"sid.newer@example.com"}}`, 1},
	} {
		r := s.do(owner, "POST", "/api/v2/users/create_or_update", "application/json", tc.body)
		if r.status != http.StatusCreated && r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.body, r.status, r.body)
		}
		var mails int
		for _, to := range []string{"sid@example.com", "sid.new@example.com", "sid.newer@example.com"} {
			mails += len(s.outbox("?recipient=" + to))
		}
		if mails != tc.mails {
			t.Errorf("after %s: %d mails, want %d", tc.body, mails, tc.mails)
		}
	}
}
