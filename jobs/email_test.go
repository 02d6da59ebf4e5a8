package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"parley/app"
	"parley/app/channel/email"
	"parley/jobs"
)

// TestProviderEmailMailboxRoundTrip runs a mailbox end to end through the
// real email driver, the real poll and send jobs and real IMAP and SMTP
// servers: a customer's mail is fetched into a new client's chat, the
// team's reply leaves over SMTP threaded to it with a reply token, and a
// colleague's answer to that reply, from another address, lands in the
// same chat by the token.
func TestProviderEmailMailboxRoundTrip(t *testing.T) {
	t.Parallel()
	mailbox := startIMAP(t, "support@acme.example", "imap-pw")
	outbox := startSMTP(t)
	e := setupProviders(t, map[app.ChannelType]app.Provider{app.ChannelEmail: email.New(email.Options{AllowPrivateHosts: true})},
		func(c *jobs.Config) { c.ReconcileEvery = 50 * time.Millisecond })
	ch := e.connect(t, app.ChannelEmail, map[string]string{
		"from_address": "support@acme.example", "from_name": "Acme Support",
		"smtp_host": "127.0.0.1", "smtp_port": outbox.port, "smtp_security": "none",
		"imap_host": "127.0.0.1", "imap_port": mailbox.port, "imap_security": "none", "imap_folder": "INBOX",
		"imap_username": "support@acme.example",
	}, map[string]string{"imap_password": "imap-pw"})
	ctx := context.Background()

	mailbox.add(t, "From: Ann Customer <ann@example.com>\r\nTo: support@acme.example\r\nSubject: Order 42\r\n"+
		"Message-ID: <ann-1@example.com>\r\nDate: "+time.Now().UTC().Format(time.RFC1123Z)+"\r\n\r\nWhere is my order?\r\n")
	first := waitFor(t, "the customer's mail fetched", func() (app.Message, bool) {
		return findMessage(t, e, ch.ID, "ann-1@example.com")
	})
	if first.Subject != "Order 42" || first.ContactValue != "ann@example.com" {
		t.Errorf("fetched mail: got subject %q from %q", first.Subject, first.ContactValue)
	}

	reply, err := e.db.SendMessage(ctx, first.ChatID, app.SendInput{Text: "It left the warehouse today."}, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.EnqueueSend(ctx, e.tenant, reply.ID); err != nil {
		t.Fatal(err)
	}
	sent := waitFor(t, "the reply sent over SMTP", func() (string, bool) {
		mails := outbox.received()
		return strings.Join(mails, "\n"), len(mails) == 1
	})
	for _, want := range []string{"In-Reply-To: <ann-1@example.com>", "Subject: Re: Order 42", "To: <ann@example.com>",
		"It left the warehouse today."} {
		if !strings.Contains(sent, want) {
			t.Errorf("sent mail lacks %q:\n%s", want, sent)
		}
	}
	token := between(sent, "X-Parley-Reply-Token: ", "\r\n")
	if token == "" || !strings.Contains(sent, "support+"+token+"@acme.example") {
		t.Fatalf("sent mail has no reply token in its Reply-To:\n%s", sent)
	}

	// A colleague answers from their own address, to the reply token.
	mailbox.add(t, "From: Bob Colleague <bob@example.org>\r\nTo: support+"+token+"@acme.example\r\nSubject: Re: Order 42\r\n"+
		"Message-ID: <bob-1@example.org>\r\nDate: "+time.Now().UTC().Format(time.RFC1123Z)+"\r\n\r\nThanks, I will tell Ann.\r\n")
	colleague := waitFor(t, "the colleague's answer fetched", func() (app.Message, bool) {
		return findMessage(t, e, ch.ID, "bob-1@example.org")
	})
	if colleague.ChatID != first.ChatID {
		t.Errorf("colleague's answer: got chat %s, want Ann's %s", colleague.ChatID, first.ChatID)
	}
}

// findMessage looks an inbound message up by its provider id.
func findMessage(t *testing.T, e *provEnv, channelID, providerID string) (app.Message, bool) {
	t.Helper()
	chats, err := e.db.ListChats(context.Background(), app.ChatFilter{Limit: 50}, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chats.Chats {
		msgs, _, err := e.db.ListMessages(context.Background(), c.ID, app.ChatScope{All: true}, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.ChannelID == channelID && m.ProviderMessageID == providerID {
				return m, true
			}
		}
	}
	return app.Message{}, false
}

// waitFor polls check until it reports done, for up to 20 seconds.
func waitFor[T any](t *testing.T, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, ok := check()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// testIMAP is go-imap's in-memory server with one mailbox, on loopback.
type testIMAP struct {
	port string
	user *imapmemserver.User
}

func startIMAP(t *testing.T, username, password string) *testIMAP {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(username, password)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &testIMAP{port: fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), user: user}
}

func (m *testIMAP) add(t *testing.T, raw string) {
	t.Helper()
	if _, err := m.user.Append("INBOX", bytes.NewReader([]byte(raw)), &imap.AppendOptions{Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// testSMTP is a go-smtp server on loopback that keeps what it is given.
type testSMTP struct {
	port  string
	mu    sync.Mutex
	mails []string
}

func startSMTP(t *testing.T) *testSMTP {
	t.Helper()
	ts := &testSMTP{}
	srv := smtp.NewServer(smtpBackend{ts})
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ts.port = fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	return ts
}

func (ts *testSMTP) received() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.mails...)
}

type smtpBackend struct{ ts *testSMTP }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{ts: b.ts}, nil }

type smtpSession struct{ ts *testSMTP }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.mails = append(s.ts.mails, string(b))
	return nil
}
