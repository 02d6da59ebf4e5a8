package email_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/app/channel/email"
)

func parse(t *testing.T, raw []byte) app.Incoming {
	t.Helper()
	in, err := email.Parse(raw, newChannel(t, nil))
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	return in
}

func one(t *testing.T, in app.Incoming) app.InboundMessage {
	t.Helper()
	if len(in.Messages) != 1 || len(in.Statuses) != 0 {
		t.Fatalf("got %d messages and %d statuses, want one message", len(in.Messages), len(in.Statuses))
	}
	return in.Messages[0]
}

// TestParseMailClients checks the threading hints and bodies of replies
// from the three mail clients customers use most, as they send them.
func TestParseMailClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file                    string
		from, name, id, subject string
		token                   string
		refs                    []string
		body, quotedStart       string
		uploads                 []string
		htmlHas                 string
	}{
		{file: "gmail_reply.eml", from: "jane.doe@gmail.com", name: "Jane Doe",
			id:      "CAF=k3VhZ1qLwK8mX2Yd+Q4pT7n9s0bRcE5uJ6gA1oP3iH8vN2w@mail.gmail.com",
			subject: "Re: Your order #1042 – delivery date", token: "c7Rk2xQ9",
			refs:        []string{"01HTBC0X7V9T1R3P5N7M9K1J3H@acme.example", "01HTB8R5N2M4K6J8H0G2F4D6S8@acme.example"},
			body:        "Thanks! Thursday works for me. Could you leave it with the neighbour if I’m out?\n\nJane",
			quotedStart: "On Tue, Apr 2, 2024 at 9:15", htmlHas: `<blockquote>Hello Jane,`},
		{file: "outlook_reply.eml", from: "john.smith@contoso.com", name: "Smith, John",
			id:      "AM9PR07MB73312D1E6F1B4C5A8E9D7B6AC33A2@AM9PR07MB7331.eurprd07.prod.outlook.com",
			subject: "RE: Invoice 2024-117", token: "Zq81mWf3", // no plus-address: the header
			refs:        []string{"01HTD2Q4W6E8R0T2Y4U6I8O0P2@acme.example"},
			body:        "Hi,\n\nPlease find the signed invoice attached. Payment will follow on Friday – our finance team confirmed.\n\nKind regards,\nJohn",
			quotedStart: "________________________________\nFrom: Acme Support", uploads: []string{"Invoice 2024-117 signed.pdf"},
			htmlHas: "<b>From:</b>"},
		{file: "apple_reply.eml", from: "m.garcia@icloud.com", name: "María García",
			id: "8E0A4C2D-6B1F-4A3E-9D7C-5F2B8E1A0C4D@icloud.com", subject: "Re: Repair booking", token: "Hk4pR2tV",
			refs: []string{"01HTG5M7K9J1H3G5F7D9S1A3Q5@acme.example", "01HTFX2B4N6M8K0J2H4G6F8D0S@acme.example"},
			body: "Here is a photo of the broken hinge.\n\nMaría", quotedStart: "> On 4 Apr 2024, at 11:05",
			uploads: []string{"hinge.png"}, htmlHas: `<img src="cid:F2A6C3E1-0B9D-4E7A-8C5F-3D1B7E9A2C40"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			m := one(t, parse(t, readFile(t, tt.file)))
			want := app.ContactInput{Type: app.ContactEmail, Value: tt.from}
			if m.From != want || m.SenderName != tt.name || m.Transport != app.TransportEmail || m.Direction != app.DirectionIn {
				t.Errorf("sender: got %+v %q %s %s, want %+v %q", m.From, m.SenderName, m.Transport, m.Direction, want, tt.name)
			}
			if m.ProviderMessageID != tt.id || m.Meta["message_id"] != tt.id || m.Subject != tt.subject || m.Meta["subject"] != tt.subject {
				t.Errorf("ids: got %q %q %q, want %q %q", m.ProviderMessageID, m.Meta["message_id"], m.Subject, tt.id, tt.subject)
			}
			if m.ReplyToken != tt.token || !slices.Equal(m.References, tt.refs) {
				t.Errorf("threading: got %q %v, want %q %v", m.ReplyToken, m.References, tt.token, tt.refs)
			}
			body, quoted := app.SplitQuoted(m.Text)
			if body != tt.body || !strings.HasPrefix(quoted, tt.quotedStart) {
				t.Errorf("text: got body %q quoted %q, want %q and %q…", body, quoted, tt.body, tt.quotedStart)
			}
			var names []string
			for _, u := range m.Uploads {
				names = append(names, u.Filename)
			}
			if !slices.Equal(names, tt.uploads) {
				t.Errorf("uploads: got %v, want %v", names, tt.uploads)
			}
			if !strings.Contains(m.HTML, tt.htmlHas) || m.Automatic {
				t.Errorf("html: got %q (automatic %v), want it to contain %q", m.HTML, m.Automatic, tt.htmlHas)
			}
		})
	}
}

func TestParseSanitisesHTML(t *testing.T) {
	t.Parallel()
	m := one(t, parse(t, readFile(t, "html_hostile.eml")))
	for _, bad := range []string{"<script", "alert", "onerror", "onload", "onclick", "javascript:", "track.shady.example",
		"<iframe", "<form", "<input", "<style", "style=", `id="app"`, `src="x"`} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("html contains %q:\n%s", bad, m.HTML)
		}
	}
	for _, good := range []string{
		`<a href="https://shady.example/offer?id=7" rel="nofollow noreferrer noopener" target="_blank">see the offer</a>`,
		`<img src="cid:logo@shady.example" alt="Logo">`, `<img src="data:image/png;base64,`, "<h1>Hello <b>there</b></h1>"} {
		if !strings.Contains(m.HTML, good) {
			t.Errorf("html lacks %q:\n%s", good, m.HTML)
		}
	}
	wantText := "Hello there\n\nPlease click here or see the offer (https://shady.example/offer?id=7).\nLog in\n" +
		"Visit https://shady.example/plain or write to help@shady.example."
	if m.Text != wantText {
		t.Errorf("text: got %q, want %q", m.Text, wantText)
	}
}

func TestParseAutomatic(t *testing.T) {
	t.Parallel()
	if m := one(t, parse(t, readFile(t, "autoreply_exchange.eml"))); !m.Automatic || m.ReplyToken != "Lw3nP8qs" ||
		m.Text != "I am out of the office until 15 April. For urgent matters please contact my colleague Jürgen Müller." {
		t.Errorf("exchange out of office: got automatic=%v token=%q text=%q", m.Automatic, m.ReplyToken, m.Text)
	}
	tests := []struct {
		header string
		want   bool
	}{
		{"Auto-Submitted: auto-replied", true},
		{"Auto-Submitted: auto-generated; owner-email=\"x@example.com\"", true},
		{"Auto-Submitted: auto-notified", true},
		{"Auto-Submitted: no", false},
		{"Auto-Submitted: No ", false},
		{"X-Autoreply: yes", true},
		{"X-Autorespond: Out of office", true},
		{"Precedence: bulk", true},
		{"Precedence: junk", true},
		{"Precedence: auto_reply", true},
		{"X-Precedence: bulk", true},
		{"Precedence: list", false},
		{"X-Auto-Response-Suppress: All", true},
		{"X-Auto-Response-Suppress: OOF, AutoReply", true},
		{"X-Auto-Response-Suppress: None", false},
		{"Return-Path: <>", true},
		{"Return-Path: <customer@example.com>", false},
		{"X-Mailer: Microsoft Outlook 16.0", false},
	}
	for _, tt := range tests {
		raw := "From: Customer <customer@example.com>\r\nTo: support@acme.example\r\nSubject: Hi\r\n" +
			"Message-ID: <a1@example.com>\r\n" + tt.header + "\r\n\r\nHello\r\n"
		if m := one(t, parse(t, []byte(raw))); m.Automatic != tt.want {
			t.Errorf("%s: got automatic=%v, want %v", tt.header, m.Automatic, tt.want)
		}
	}
}

func TestParseBounce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, id, reason string
		at               time.Time
	}{
		{"bounce_postfix.eml", "01HTZ9K1M3N5B7V9C1X3Z5L7J9@acme.example",
			"The address bounced: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
			time.Date(2024, 4, 9, 10, 10, 10, 0, time.UTC)},
		{"bounce_gmail.eml", "01HV0A2S4D6F8G0H2J4K6L8Z0X@acme.example",
			"The address bounced: 550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking " +
				"the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser",
			time.Date(2024, 4, 10, 14, 44, 18, 0, time.UTC)},
	}
	for _, tt := range tests {
		in := parse(t, readFile(t, tt.file))
		want := app.StatusReport{ChannelID: "ch_email", ProviderMessageID: tt.id, Status: app.StatusFailed, Reason: tt.reason}
		if len(in.Messages) != 0 || len(in.Statuses) != 1 {
			t.Fatalf("%s: got %d messages %d statuses, want one status", tt.file, len(in.Messages), len(in.Statuses))
		}
		got := in.Statuses[0]
		if !got.At.Equal(tt.at) {
			t.Errorf("%s: At got %v, want %v", tt.file, got.At, tt.at)
		}
		got.At = time.Time{}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tt.file, got, want)
		}
	}

	delayed := bytes.Replace(readFile(t, "bounce_postfix.eml"), []byte("Action: failed"), []byte("Action: delayed"), 1)
	if in := parse(t, delayed); len(in.Messages)+len(in.Statuses) != 0 {
		t.Errorf("delayed: got %+v, want nothing (a warning, not a failure)", in)
	}
	legacy := "From: MAILER-DAEMON@mx.example.org\r\nTo: support@acme.example\r\nSubject: failure notice\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
		"Sorry, we were unable to deliver your message.\r\n<nobody@example.org>: 550 5.1.1 no such user\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@acme.example\r\nMessage-ID: <orig-9@acme.example>\r\n\r\nHi\r\n--b--\r\n"
	in := parse(t, []byte(legacy))
	if len(in.Statuses) != 1 || in.Statuses[0].ProviderMessageID != "orig-9@acme.example" ||
		in.Statuses[0].Reason != "The address bounced: <nobody@example.org>: 550 5.1.1 no such user" {
		t.Errorf("legacy bounce: got %+v, want a failure of orig-9@acme.example", in)
	}
}

func TestParseDetails(t *testing.T) {
	t.Parallel()
	raw := func(headers, body string) []byte {
		return []byte("From: \"Kim\" <Kim@Example.com>\r\n" + headers + "Subject: Hi\r\n\r\n" + body)
	}
	t.Run("OKNoMessageID", func(t *testing.T) {
		b := raw("", "Hello")
		m := one(t, parse(t, b))
		if !strings.HasPrefix(m.ProviderMessageID, "sha256:") || len(m.ProviderMessageID) != 71 ||
			m.ProviderMessageID != one(t, parse(t, b)).ProviderMessageID {
			t.Errorf("got %q, want a stable sha256: id", m.ProviderMessageID)
		}
	})
	t.Run("OKReplyTo", func(t *testing.T) {
		m := one(t, parse(t, raw("Reply-To: Kim Private <kim.private@example.net>\r\n", "Hello")))
		if m.From.Value != "kim@example.com" || m.SenderMeta["address"] != "kim.private@example.net" {
			t.Errorf("got %q %v, want kim@example.com answered at kim.private@example.net", m.From.Value, m.SenderMeta)
		}
	})
	t.Run("OKPlusAddressOnCcAndDeliveredTo", func(t *testing.T) {
		m := one(t, parse(t, raw("To: someone@example.com\r\nDelivered-To: SUPPORT+Ab12_x@ACME.example\r\n", "Hello")))
		if m.ReplyToken != "Ab12_x" {
			t.Errorf("got %q, want Ab12_x", m.ReplyToken)
		}
		m = one(t, parse(t, raw("To: sales+Zz9@acme.example, other+Qq1@example.com\r\nCc: support+Cc77@acme.example\r\n", "Hello")))
		if m.ReplyToken != "Cc77" {
			t.Errorf("got %q, want Cc77 (another mailbox's tag is not ours)", m.ReplyToken)
		}
	})
	t.Run("OKManyReferences", func(t *testing.T) {
		var refs []string
		for i := range 30 {
			refs = append(refs, fmt.Sprintf("<r%d@x>", i))
		}
		m := one(t, parse(t, raw("In-Reply-To: <r29@x>\r\nReferences: "+strings.Join(refs, "\r\n ")+"\r\n", "Hello")))
		if len(m.References) != 20 || m.References[0] != "r29@x" || m.References[1] != "r28@x" || m.References[19] != "r10@x" {
			t.Errorf("got %v, want r29@x…r10@x", m.References)
		}
	})
	t.Run("OKOwnMessageIgnored", func(t *testing.T) {
		in := parse(t, []byte("From: Acme Support <support@acme.example>\r\nTo: support@acme.example\r\n\r\nloop"))
		if len(in.Messages)+len(in.Statuses) != 0 {
			t.Errorf("got %+v, want nothing", in)
		}
	})
	t.Run("OKFlowed", func(t *testing.T) {
		b := []byte("From: kim@example.com\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=no\r\n\r\n" +
			"This is a long line that \r\nwas wrapped by the client.\r\n\r\n-- \r\nKim\r\n")
		if m := one(t, parse(t, b)); m.Text != "This is a long line that was wrapped by the client.\n\n-- \nKim" {
			t.Errorf("got %q, want the paragraph joined", m.Text)
		}
	})
	t.Run("OKAttachmentTooLarge", func(t *testing.T) {
		big := base64.StdEncoding.EncodeToString(make([]byte, channel.MaxMedia+1))
		b := []byte("From: kim@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n" +
			"--xx\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--xx\r\nContent-Type: application/pdf\r\n" +
			"Content-Disposition: attachment; filename=\"huge.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + big + "\r\n--xx--\r\n")
		m := one(t, parse(t, b))
		if len(m.Uploads) != 0 || m.Text != "See attached.\n\n[The attachment “huge.pdf” is larger than 10 MB and was not imported.]" {
			t.Errorf("got %d uploads, text %q, want none and a note", len(m.Uploads), m.Text)
		}
	})
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"ErrNotAHeader":     "this is not an email\r\n\r\nhello",
		"ErrNoSender":       "To: support@acme.example\r\nSubject: who am I\r\n\r\nhello",
		"ErrSenderNoDomain": "From: kim\r\n\r\nhello",
		"ErrBrokenMIME":     "From: kim@example.com\r\nContent-Type: multipart/mixed; boundary=nope\r\n\r\nno parts here",
		"ErrEmpty":          "",
		"ErrHeaderSpace":    " From: kim@example.com\r\n\r\nhello",
	}
	for name, raw := range tests {
		_, err := email.Parse([]byte(raw), newChannel(t, nil))
		if errorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want %s", name, err, app.EINVALID)
		}
	}
}
