package email_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"parley/app"
	"parley/app/channel/email"
)

func pollSetup(t *testing.T, folder string) (*email.Driver, *fakeIMAP, app.Channel) {
	return pollSetupMode(t, folder, "tls")
}

func pollSetupMode(t *testing.T, folder, mode string) (*email.Driver, *fakeIMAP, app.Channel) {
	t.Helper()
	cfg, pool := testCert(t)
	f := newFakeIMAP(t, mode, cfg)
	f.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	ch := newChannel(t, map[string]string{"smtp_host": "smtp.acme.example", "imap_host": "127.0.0.1",
		"imap_port": f.Port, "imap_username": smtpUser, "imap_password": imapPassword, "imap_folder": folder, "imap_security": mode})
	d := email.New(email.Options{Now: func() time.Time { return testNow }, RootCAs: pool, AllowPrivateHosts: true})
	return d, f, ch
}

func simpleMail(n int) []byte {
	return fmt.Appendf(nil, "From: Customer %d <c%d@example.com>\r\nTo: support@acme.example\r\nSubject: Question %d\r\n"+
		"Message-ID: <q%d@example.com>\r\nDate: Tue, 9 Apr 2024 10:00:00 +0000\r\n\r\nHello %d\r\n", n, n, n, n, n)
}

func senders(in app.Incoming) []string {
	var s []string
	for _, m := range in.Messages {
		s = append(s, m.From.Value)
	}
	return s
}

func TestPoll(t *testing.T) {
	t.Parallel()
	d, f, ch := pollSetup(t, "")
	f.add(t, "INBOX", readFile(t, "outlook_reply.eml"), testNow.AddDate(0, 0, -30)) // before the first poll's window
	f.add(t, "INBOX", readFile(t, "gmail_reply.eml"), testNow.Add(-24*time.Hour))

	in, cursor, err := d.Poll(ctx(t), ch, "")
	if err != nil || cursor != "1:2" || !slices.Equal(senders(in), []string{"jane.doe@gmail.com"}) {
		t.Fatalf("first poll: got %v %q %v, want [jane.doe@gmail.com] \"1:2\"", senders(in), cursor, err)
	}
	m := in.Messages[0]
	if m.ChannelID != "ch_email" || m.ReplyToken != "c7Rk2xQ9" || m.ProviderMessageID == "" {
		t.Errorf("message: got %+v, want channel, reply token and id", m)
	}

	in, next, err := d.Poll(ctx(t), ch, cursor)
	if err != nil || next != cursor || len(in.Messages)+len(in.Statuses) != 0 {
		t.Fatalf("second poll: got %v %q %v, want nothing and cursor %q", senders(in), next, err, cursor)
	}

	f.add(t, "INBOX", readFile(t, "apple_reply.eml"), testNow)
	f.add(t, "INBOX", []byte("this is not an email\r\n\r\n"), testNow)
	f.add(t, "INBOX", readFile(t, "bounce_postfix.eml"), testNow)
	in, next, err = d.Poll(ctx(t), ch, cursor)
	if err != nil || next != "1:5" {
		t.Fatalf("third poll: got %q %v, want \"1:5\"", next, err)
	}
	if !slices.Equal(senders(in), []string{"m.garcia@icloud.com"}) || len(in.Messages[0].Uploads) != 1 {
		t.Errorf("third poll messages: got %v, want [m.garcia@icloud.com] with its photo", senders(in))
	}
	if len(in.Statuses) != 1 || in.Statuses[0].Status != app.StatusFailed ||
		in.Statuses[0].ProviderMessageID != "01HTZ9K1M3N5B7V9C1X3Z5L7J9@acme.example" {
		t.Errorf("third poll statuses: got %+v, want the bounce", in.Statuses)
	}
	if seen := seenFlags(t, f, "INBOX"); seen != 0 {
		t.Errorf("got %d messages marked \\Seen, want 0", seen)
	}
}

func TestPollSecurity(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"tls", "starttls", "none"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			d, f, ch := pollSetupMode(t, "INBOX", mode)
			f.add(t, "INBOX", simpleMail(7), testNow)
			in, cursor, err := d.Poll(ctx(t), ch, "")
			if err != nil || cursor != "1:1" || !slices.Equal(senders(in), []string{"c7@example.com"}) {
				t.Fatalf("got %v %q %v, want [c7@example.com] \"1:1\"", senders(in), cursor, err)
			}
		})
	}
}

func TestPollUIDValidityChanged(t *testing.T) {
	t.Parallel()
	d, f, ch := pollSetup(t, "Support")
	if err := f.User.Create("Support", nil); err != nil {
		t.Fatal(err)
	}
	f.add(t, "Support", simpleMail(1), testNow)
	_, cursor, err := d.Poll(ctx(t), ch, "")
	if err != nil || cursor != "2:1" {
		t.Fatalf("got %q %v, want \"2:1\"", cursor, err)
	}
	// The folder is re-created: UIDs start again under a new UIDVALIDITY.
	if err := f.User.Delete("Support"); err != nil {
		t.Fatal(err)
	}
	if err := f.User.Create("Support", nil); err != nil {
		t.Fatal(err)
	}
	f.add(t, "Support", simpleMail(2), testNow.AddDate(0, 0, -8))
	f.add(t, "Support", simpleMail(3), testNow.AddDate(0, 0, -6))
	f.add(t, "Support", simpleMail(1), testNow.AddDate(0, 0, -1))
	in, next, err := d.Poll(ctx(t), ch, cursor)
	want := []string{"c3@example.com", "c1@example.com"} // the last 7 days; c1 again is deduped by Parley
	if err != nil || next != "3:3" || !slices.Equal(senders(in), want) {
		t.Fatalf("got %v %q %v, want %v \"3:3\"", senders(in), next, err, want)
	}
}

func TestPollBatches(t *testing.T) {
	t.Parallel()
	d, f, ch := pollSetup(t, "INBOX")
	for n := range 55 {
		f.add(t, "INBOX", simpleMail(n), testNow)
	}
	in, cursor, err := d.Poll(ctx(t), ch, "1:0")
	if err != nil || len(in.Messages) != email.PollBatch || cursor != "1:50" || in.Messages[0].From.Value != "c0@example.com" {
		t.Fatalf("got %d messages, %q, %v, want 50 from c0@example.com, \"1:50\"", len(in.Messages), cursor, err)
	}
	in, cursor, err = d.Poll(ctx(t), ch, cursor)
	if err != nil || len(in.Messages) != 5 || cursor != "1:55" {
		t.Fatalf("got %d messages, %q, %v, want 5, \"1:55\"", len(in.Messages), cursor, err)
	}
}

func TestPollFirstTimeNothingRecent(t *testing.T) {
	t.Parallel()
	d, f, ch := pollSetup(t, "INBOX")
	f.add(t, "INBOX", simpleMail(1), testNow.AddDate(0, -2, 0))
	f.add(t, "INBOX", simpleMail(2), testNow.AddDate(0, -1, 0))
	in, cursor, err := d.Poll(ctx(t), ch, "")
	// The cursor starts after the old mail, so it is never imported later.
	if err != nil || len(in.Messages) != 0 || cursor != "1:2" {
		t.Fatalf("got %v %q %v, want nothing and \"1:2\"", senders(in), cursor, err)
	}
}

func TestPollErrors(t *testing.T) {
	t.Parallel()
	d, _, ch := pollSetup(t, "INBOX")
	bad := newChannel(t, map[string]string{"smtp_host": "smtp.acme.example", "imap_host": "127.0.0.1",
		"imap_port": ch.Setting("imap_port"), "imap_username": smtpUser, "imap_password": "wrong"})
	if _, cursor, err := d.Poll(ctx(t), bad, "1:7"); cursor != "1:7" || !strings.Contains(app.ErrorMessage(err), "refused the login") {
		t.Errorf("bad password: got %q %v, want the cursor kept and a login error", cursor, err)
	}
	relayOnly := newChannel(t, map[string]string{"smtp_host": "smtp.acme.example"})
	if in, cursor, err := d.Poll(ctx(t), relayOnly, ""); err != nil || cursor != "" || len(in.Messages) != 0 {
		t.Errorf("no IMAP: got %v %q %v, want nothing", in, cursor, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	down := newChannel(t, map[string]string{"smtp_host": "smtp.acme.example", "imap_host": "127.0.0.1",
		"imap_port": port, "imap_username": smtpUser, "imap_password": imapPassword})
	if _, _, err := d.Poll(ctx(t), down, ""); errorCode(err) != app.EUNAVAILABLE {
		t.Errorf("server down: got %v, want %s", err, app.EUNAVAILABLE)
	}
}

// seenFlags counts the folder's messages marked \Seen, asked over IMAP
// as a mail client would.
func seenFlags(t *testing.T, f *fakeIMAP, folder string) int {
	t.Helper()
	c, err := imapclient.DialTLS("127.0.0.1:"+f.Port, &imapclient.Options{TLSConfig: f.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(smtpUser, imapPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if slices.Contains(m.Flags, imap.FlagSeen) {
			n++
		}
	}
	return n
}
