package email_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"parley/app"
	"parley/app/channel/email"
)

func sendSetup(t *testing.T, mode string) (*email.Driver, *fakeSMTP, app.Channel) {
	t.Helper()
	cfg, pool := testCert(t)
	f := newFakeSMTP(t, mode, cfg)
	ch := newChannel(t, map[string]string{"smtp_host": "127.0.0.1", "smtp_port": f.Port, "smtp_security": mode,
		"smtp_username": smtpUser, "smtp_password": smtpPassword})
	d := email.New(email.Options{Now: func() time.Time { return testNow }, RootCAs: pool, AllowPrivateHosts: true})
	return d, f, ch
}

func outbound(ch app.Channel) app.Outbound {
	return app.Outbound{TenantID: "t1", Channel: ch, Key: "01HV3K5M7N9P1Q3R5S7T9V1W3X", Attempt: 1,
		Transport: app.TransportEmail, To: "jane.doe@example.com",
		Text:       "Grüße, Jane!\nYour order ships on Thursday – tracking follows.\n\nAcme",
		Subject:    "Re: Your order #1042",
		InReplyTo:  "CAF=k3Vh@mail.gmail.com",
		References: []string{"01HTB8R5N2@acme.example", "<CAF=k3Vh@mail.gmail.com>"},
		ReplyToken: "c7Rk2xQ9", SenderName: "Bob"}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// part is one leaf of a received message.
type part struct {
	Type, Charset, Encoding, Filename string
	Body                              string
}

// readMail parses what the fake server received, as a mail client would.
func readMail(t *testing.T, data []byte) (mail.Header, []part) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v", err)
	}
	var parts []part
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("part: %v", err)
		}
		body, _ := io.ReadAll(p.Body)
		ct, params, _ := p.Header.(interface {
			ContentType() (string, map[string]string, error)
		}).ContentType()
		pt := part{Type: ct, Charset: params["charset"], Encoding: p.Header.Get("Content-Transfer-Encoding"), Body: string(body)}
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			pt.Filename, _ = ah.Filename()
		}
		parts = append(parts, pt)
	}
	return r.Header, parts
}

func TestSend(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		d, f, ch := sendSetup(t, "starttls")
		id, err := d.Send(ctx(t), outbound(ch))
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		// The key, then a MAC of it under the channel's webhook secret.
		if want := "01HV3K5M7N9P1Q3R5S7T9V1W3X.f72bcd98784fda6e@acme.example"; id != want {
			t.Errorf("id: got %q, want %q", id, want)
		}
		got := f.received()
		if len(got) != 1 {
			t.Fatalf("messages: got %d, want 1", len(got))
		}
		if got[0].From != "support@acme.example" || strings.Join(got[0].Rcpts, ",") != "jane.doe@example.com" {
			t.Errorf("envelope: got %q -> %v, want support@acme.example -> [jane.doe@example.com]", got[0].From, got[0].Rcpts)
		}
		h, parts := readMail(t, got[0].Data)
		wantHeaders := map[string]string{
			"From":                 `"Acme Support" <support@acme.example>`,
			"To":                   "<jane.doe@example.com>",
			"Message-Id":           "<01HV3K5M7N9P1Q3R5S7T9V1W3X.f72bcd98784fda6e@acme.example>",
			"In-Reply-To":          "<CAF=k3Vh@mail.gmail.com>",
			"References":           "<01HTB8R5N2@acme.example> <CAF=k3Vh@mail.gmail.com>",
			"Reply-To":             `"Acme Support" <support+c7Rk2xQ9@acme.example>`,
			"X-Parley-Reply-Token": "c7Rk2xQ9",
			"Date":                 "Wed, 10 Apr 2024 12:00:00 +0000",
			"Mime-Version":         "1.0",
		}
		for k, want := range wantHeaders {
			if got := h.Get(k); got != want {
				t.Errorf("%s: got %q, want %q", k, got, want)
			}
		}
		if s, _ := h.Subject(); s != "Re: Your order #1042" {
			t.Errorf("Subject: got %q, want %q", s, "Re: Your order #1042")
		}
		if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
			t.Errorf("Content-Type: got %q, want multipart/alternative", ct)
		}
		if len(parts) != 2 {
			t.Fatalf("parts: got %d, want 2", len(parts))
		}
		text := strings.ReplaceAll(parts[0].Body, "\r\n", "\n")
		if parts[0].Type != "text/plain" || !strings.EqualFold(parts[0].Charset, "utf-8") ||
			parts[0].Encoding != "quoted-printable" || text != outbound(ch).Text {
			t.Errorf("text part: got %+v, want text/plain UTF-8 quoted-printable with the text", parts[0])
		}
		if !strings.Contains(string(got[0].Data), "Gr=C3=BC=C3=9Fe, Jane!") {
			t.Errorf("body is not quoted-printable UTF-8:\n%s", got[0].Data)
		}
		if parts[1].Type != "text/html" || !strings.Contains(parts[1].Body, "Grüße, Jane!<br>") {
			t.Errorf("html part: got %+v, want text/html with <br>", parts[1])
		}
	})
	t.Run("OKWithAttachment", func(t *testing.T) {
		t.Parallel()
		d, f, ch := sendSetup(t, "tls")
		out := outbound(ch)
		pdf := readFile(t, "outlook_reply.eml")[:200] // any bytes
		out.Attachments = []app.Attachment{{ID: "att1", Filename: "Angebot März.pdf", ContentType: "application/pdf"}}
		out.Open = func(a app.Attachment) ([]byte, error) { return pdf, nil }
		if _, err := d.Send(ctx(t), out); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		h, parts := readMail(t, f.received()[0].Data)
		if ct, _, _ := h.ContentType(); ct != "multipart/mixed" {
			t.Errorf("Content-Type: got %q, want multipart/mixed", ct)
		}
		last := parts[len(parts)-1]
		if last.Type != "application/pdf" || last.Filename != "Angebot März.pdf" || last.Body != string(pdf) {
			t.Errorf("attachment: got %q %q (%d bytes), want application/pdf %q (%d bytes)",
				last.Type, last.Filename, len(last.Body), "Angebot März.pdf", len(pdf))
		}
	})
	t.Run("OKSameMessageIDOnRetry", func(t *testing.T) {
		t.Parallel()
		d, f, ch := sendSetup(t, "none")
		out := outbound(ch)
		out.Subject, out.ReplyToken, out.InReplyTo, out.References = "", "", "", nil
		id1, err1 := d.Send(ctx(t), out)
		out.Attempt = 2
		id2, err2 := d.Send(ctx(t), out)
		looked, found, err3 := d.Lookup(ctx(t), out)
		if err1 != nil || err2 != nil || err3 != nil || id1 != id2 || looked != id1 || found {
			t.Fatalf("got %q %q lookup %q %v (%v %v %v), want one id, not found", id1, id2, looked, found, err1, err2, err3)
		}
		h, _ := readMail(t, f.received()[1].Data)
		if s, _ := h.Subject(); s != "Message from Acme Support" {
			t.Errorf("Subject: got %q, want %q", s, "Message from Acme Support")
		}
		if h.Has("Reply-To") || h.Has("In-Reply-To") || h.Has("X-Parley-Reply-Token") {
			t.Errorf("got threading headers on a new conversation: %v", h.Map())
		}
	})
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		setup         func(t *testing.T, f *fakeSMTP, ch *app.Channel)
		wantPermanent bool
		wantReason    string
	}{
		{"ErrRecipientUnknown", func(_ *testing.T, f *fakeSMTP, _ *app.Channel) {
			f.refuse(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<jane.doe@example.com>: Recipient address rejected: User unknown"}, nil)
		}, true, "The mail server refused the message: 550 5.1.1 <jane.doe@example.com>: Recipient address rejected: User unknown"},
		{"ErrGreylisted", func(_ *testing.T, f *fakeSMTP, _ *app.Channel) {
			f.refuse(nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again later"})
		}, false, "The mail server deferred the message: 451 4.7.1 Greylisted, try again later"},
		{"ErrBadPassword", func(_ *testing.T, _ *fakeSMTP, ch *app.Channel) {
			ch.Secrets["smtp_password"] = "wrong"
		}, true, "The mail server refused the login: 535 5.7.8 Authentication failed"},
		{"ErrUntrustedCertificate", func(_ *testing.T, _ *fakeSMTP, ch *app.Channel) {
			ch.Secrets["smtp_password"] = smtpPassword // the driver below trusts no test CA
		}, true, "The TLS certificate of 127.0.0.1 could not be verified"},
		{"ErrNoSTARTTLS", func(t *testing.T, _ *fakeSMTP, ch *app.Channel) {
			*ch = newChannel(t, map[string]string{"smtp_host": "127.0.0.1", "smtp_port": portOf(ch), "smtp_security": "starttls",
				"smtp_username": smtpUser, "smtp_password": smtpPassword})
		}, true, "127.0.0.1 does not offer STARTTLS"},
		{"ErrNetwork", func(t *testing.T, _ *fakeSMTP, ch *app.Channel) {
			ln, port := listen(t)
			ln.Close()
			*ch = newChannel(t, map[string]string{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
		}, false, "Could not talk to the mail server 127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mode := "starttls"
			if tt.name == "ErrNoSTARTTLS" || tt.name == "ErrNetwork" {
				mode = "none"
			}
			d, f, ch := sendSetup(t, mode)
			tt.setup(t, f, &ch)
			if tt.name == "ErrUntrustedCertificate" {
				d = email.New(email.Options{AllowPrivateHosts: true})
			}
			_, err := d.Send(ctx(t), outbound(ch))
			var se *app.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *app.SendError", err)
			}
			if se.Permanent != tt.wantPermanent || !strings.HasPrefix(se.Reason, tt.wantReason) {
				t.Errorf("got %q permanent=%v, want %q… permanent=%v", se.Reason, se.Permanent, tt.wantReason, tt.wantPermanent)
			}
			if len(f.received()) != 0 {
				t.Errorf("got %d messages delivered, want 0", len(f.received()))
			}
		})
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	t.Parallel()
	d, f, ch := sendSetup(t, "none")
	tests := []struct {
		name string
		edit func(*app.Outbound)
		want string
	}{
		{"ErrBadAddress", func(o *app.Outbound) { o.To = "jane.doe@example.com\r\nBcc: all@example.com" }, "is not a valid email address"},
		{"ErrAttachmentUnreadable", func(o *app.Outbound) {
			o.Attachments = []app.Attachment{{Filename: "a.pdf"}}
			o.Open = func(app.Attachment) ([]byte, error) { return nil, errors.New("disk gone") }
		}, "could not be read"},
	}
	for _, tt := range tests {
		out := outbound(ch)
		tt.edit(&out)
		_, err := d.Send(ctx(t), out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	out := outbound(ch)
	out.References = []string{"ok@acme.example", "bad>\r\nBcc: x@evil.example"}
	if _, err := d.Send(ctx(t), out); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	h, _ := readMail(t, f.received()[0].Data)
	// The bad id is dropped; the answered one is added at the end (RFC 5322 §3.6.4).
	if got, want := h.Get("References"), "<ok@acme.example> <CAF=k3Vh@mail.gmail.com>"; got != want || h.Has("Bcc") {
		t.Errorf("References: got %q (Bcc %v), want %q", got, h.Has("Bcc"), want)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	cfg, pool := testCert(t)
	smtpSrv := newFakeSMTP(t, "tls", cfg)
	imapSrv := newFakeIMAP(t, "tls", cfg)
	for range 12 {
		imapSrv.add(t, "INBOX", readFile(t, "gmail_reply.eml"), testNow)
	}
	base := map[string]string{"smtp_host": "127.0.0.1", "smtp_port": smtpSrv.Port, "smtp_security": "tls",
		"smtp_username": smtpUser, "smtp_password": smtpPassword}
	withIMAP := func(edit map[string]string) map[string]string {
		m := map[string]string{"imap_host": "127.0.0.1", "imap_port": imapSrv.Port, "imap_username": smtpUser,
			"imap_password": imapPassword}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range edit {
			m[k] = v
		}
		return m
	}
	d := email.New(email.Options{RootCAs: pool, AllowPrivateHosts: true})
	tests := []struct {
		name     string
		settings map[string]string
		want     string
		wantErr  string
	}{
		{"OKSMTPOnly", base, fmt.Sprintf("SMTP 127.0.0.1:%s ok", smtpSrv.Port), ""},
		{"OK", withIMAP(nil), fmt.Sprintf("SMTP 127.0.0.1:%s ok; IMAP 127.0.0.1:%s ok, INBOX has 12 messages", smtpSrv.Port, imapSrv.Port), ""},
		{"ErrSMTPPassword", map[string]string{"smtp_host": "127.0.0.1", "smtp_port": smtpSrv.Port, "smtp_security": "tls",
			"smtp_username": smtpUser, "smtp_password": "nope"}, "", "The mail server refused the login: 535 5.7.8"},
		{"ErrIMAPPassword", withIMAP(map[string]string{"imap_password": "nope"}), "", "the server refused the login"},
		{"ErrIMAPFolder", withIMAP(map[string]string{"imap_folder": "Support"}), "", `the folder "Support" could not be opened`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.Check(ctx(t), newChannel(t, tt.settings))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(app.ErrorMessage(err), tt.wantErr) {
					t.Fatalf("got %q, %v, want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// portOf is a channel's SMTP port.
func portOf(ch *app.Channel) string { return ch.Setting("smtp_port") }
