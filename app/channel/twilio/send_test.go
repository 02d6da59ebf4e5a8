package twilio_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/app/channel/twilio"
)

func TestSendText(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := newDriver(f.Client()).For(app.ChannelTwilioSMS)
	out := app.Outbound{Channel: testChannel(t, app.ChannelTwilioSMS, f.URL), Key: "m1", Attempt: 1,
		Transport: app.TransportSMS, To: "+14155550123", Text: "Your order ships today & arrives Friday."}
	id, err := d.Send(context.Background(), out)
	if err != nil || id != "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d" {
		t.Fatalf("send: got %q, %v, want the message sid", id, err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
		t.Errorf("got %s %s, want POST the Messages resource", r.Method, r.Path)
	}
	if r.User != testSID || r.Pass != testToken || r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("got auth %q:%q, content type %q", r.User, r.Pass, r.ContentType)
	}
	want := "Body=Your+order+ships+today+%26+arrives+Friday.&From=%2B14155550100" +
		"&StatusCallback=https%3A%2F%2Fparley.example.com%2Fhooks%2Fch1&To=%2B14155550123"
	if r.Body != want {
		t.Errorf("got body %s, want %s", r.Body, want)
	}
}

func TestSendWhatsAppWithAttachment(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	d := newDriver(f.Client()).For(app.ChannelTwilioWhatsApp)
	ch := testChannel(t, app.ChannelTwilioWhatsApp, f.URL)
	att := app.Attachment{ID: "att1", Filename: "invoice.pdf", ContentType: "application/pdf", Size: 1234}
	out := app.Outbound{Channel: ch, Key: "m2", Attempt: 1, Transport: app.TransportWhatsApp,
		To: "+447700900999", Address: "+447700900123", Text: "Here is your invoice", Attachments: []app.Attachment{att}}
	if _, err := d.Send(context.Background(), out); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := f.requests()[0].Form
	want := url.Values{"To": {"whatsapp:+447700900123"}, "From": {"whatsapp:" + ourNumber}, "Body": {"Here is your invoice"},
		"StatusCallback": {testHook}, "MediaUrl": {channel.MediaURL(ch, att, testNow)}}
	if got.Encode() != want.Encode() {
		t.Errorf("got form %v, want %v", got, want)
	}
	if !strings.HasPrefix(want.Get("MediaUrl"), testHook+"/media/att1/invoice.pdf?") {
		t.Errorf("got media URL %s, want a signed link under the webhook URL", want.Get("MediaUrl"))
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	closed := newFake(t)
	closed.Close()
	tests := []struct {
		name       string
		typ        app.ChannelType
		base, to   string
		atts       int
		permanent  bool
		retryAfter time.Duration
		reason     string // the SendError's reason, or "" when any error will do
	}{
		{name: "ErrPermanent4xx", typ: app.ChannelTwilioSMS, to: badNumber, permanent: true,
			reason: "Twilio 21211: The 'To' number " + badNumber + " is not a valid phone number."},
		{name: "ErrRetryable5xx", typ: app.ChannelTwilioSMS, to: downNumber, reason: "Twilio 20503: Service Unavailable"},
		{name: "Err429RetryAfter", typ: app.ChannelTwilioSMS, to: slowNumber, retryAfter: 7 * time.Second,
			reason: "Twilio 20429: Too Many Requests"},
		{name: "Err429Default", typ: app.ChannelTwilioSMS, to: slowNoHeader, retryAfter: 5 * time.Second,
			reason: "Twilio 20429: Too Many Requests"},
		{name: "ErrWhatsAppWindow", typ: app.ChannelTwilioWhatsApp, to: windowNumber, permanent: true,
			reason: "Twilio 63016: outside WhatsApp's 24-hour window: the client has not written in the last 24 hours, " +
				"so only an approved template can be sent until they write again"},
		{name: "ErrOptedOut", typ: app.ChannelTwilioSMS, to: optedOutPhone, permanent: true,
			reason: "Twilio 21610: the recipient has opted out (replied STOP); they must text START before they can be messaged again"},
		{name: "ErrBadCredentials", typ: app.ChannelTwilioSMS, to: "+14155550123", base: "wrong-token", permanent: true,
			reason: "Twilio 20003: Authenticate (the channel's Account SID or Auth Token is wrong)"},
		{name: "ErrVoiceCannotSend", typ: app.ChannelTwilioVoice, to: "+14155550123", permanent: true,
			reason: "A voice channel logs calls; it cannot send messages."},
		{name: "ErrWhatsAppTwoFiles", typ: app.ChannelTwilioWhatsApp, to: "+14155550123", atts: 2, permanent: true,
			reason: "WhatsApp carries one file per message: send the files one at a time."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch := testChannel(t, tt.typ, f.URL)
			if tt.base == "wrong-token" {
				ch.Secrets[twilio.KeyAuthToken] = strings.Repeat("f", 32)
			}
			out := app.Outbound{Channel: ch, Key: "m", Attempt: 1, To: tt.to, Text: "Hello"}
			for i := range tt.atts {
				out.Attachments = append(out.Attachments, app.Attachment{ID: string(rune('a' + i)), Filename: "f.png"})
			}
			_, err := newDriver(f.Client()).For(tt.typ).Send(context.Background(), out)
			var se *app.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SendError", err)
			}
			if se.Permanent != tt.permanent || se.RetryAfter != tt.retryAfter || se.Reason != tt.reason {
				t.Errorf("got %+v, want permanent %v, retry after %v, reason %q", se, tt.permanent, tt.retryAfter, tt.reason)
			}
		})
	}
	t.Run("ErrNetwork", func(t *testing.T) {
		t.Parallel()
		out := app.Outbound{Channel: testChannel(t, app.ChannelTwilioSMS, closed.URL), To: "+14155550123", Text: "Hi"}
		_, err := newDriver(nil).For(app.ChannelTwilioSMS).Send(context.Background(), out)
		var se *app.SendError
		if err == nil || (errors.As(err, &se) && se.Permanent) {
			t.Errorf("got %v, want a retryable error", err)
		}
	})
}

func TestLookupUnsupported(t *testing.T) {
	t.Parallel()
	_, found, err := newDriver(nil).For(app.ChannelTwilioSMS).Lookup(context.Background(), app.Outbound{})
	if found || !errors.Is(err, app.ErrLookupUnsupported) {
		t.Errorf("got %v, %v, want ErrLookupUnsupported", found, err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	closed := newFake(t)
	closed.Close()
	tests := []struct {
		name, base, token string
		want, wantErr     string
		code              string
	}{
		{name: "OK", base: f.URL, token: testToken, want: "Twilio account Acme Support"},
		{name: "ErrBadToken", base: f.URL, token: strings.Repeat("0", 32), code: app.EINVALID,
			wantErr: "Twilio refused the credentials: the Account SID or the Auth Token is wrong."},
		{name: "ErrUnreachable", base: closed.URL, token: testToken, code: app.EUNAVAILABLE, wantErr: "Twilio could not be reached"},
	}
	t.Run("group", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ch := testChannel(t, app.ChannelTwilioSMS, tt.base)
				ch.Secrets[twilio.KeyAuthToken] = tt.token
				got, err := newDriver(nil).For(app.ChannelTwilioSMS).Check(context.Background(), ch)
				if got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				if tt.wantErr != "" && (app.ErrorCode(err) != tt.code || !strings.HasPrefix(app.ErrorMessage(err), tt.wantErr)) {
					t.Errorf("got error %v (%s), want %s %q", err, app.ErrorMessage(err), tt.code, tt.wantErr)
				}
				if tt.wantErr == "" && err != nil {
					t.Errorf("got error %v, want none", err)
				}
			})
		}
	})
	if r := f.requests()[0]; r.Method != "GET" || r.Path != "/2010-04-01/Accounts/"+testSID+".json" {
		t.Errorf("got %s %s, want GET the Account resource", r.Method, r.Path)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := func() map[string]string {
		return map[string]string{twilio.KeyAccountSID: " " + testSID + " ", twilio.KeyAuthToken: testToken,
			twilio.KeyFromNumber: "whatsapp:+44 7911 123456"}
	}
	tests := []struct {
		name   string
		change func(map[string]string)
		fields []string
	}{
		{name: "OK", change: func(map[string]string) {}},
		{name: "OKBaseURL", change: func(s map[string]string) { s[twilio.KeyBaseURL] = "https://api.dublin.ie1.twilio.com/" }},
		{name: "ErrAccountSID", change: func(s map[string]string) { s[twilio.KeyAccountSID] = "SK0123" },
			fields: []string{"settings.account_sid"}},
		{name: "ErrAuthTokenMissing", change: func(s map[string]string) { delete(s, twilio.KeyAuthToken) },
			fields: []string{"settings.auth_token"}},
		{name: "ErrNumberNotE164", change: func(s map[string]string) { s[twilio.KeyFromNumber] = "07911 123456" },
			fields: []string{"settings.from_number"}},
		{name: "ErrBaseURL", change: func(s map[string]string) { s[twilio.KeyBaseURL] = "ftp://x" },
			fields: []string{"settings.api_base_url"}},
		{name: "ErrSeveral", change: func(s map[string]string) { s[twilio.KeyAccountSID], s[twilio.KeyAuthToken] = "", "x" },
			fields: []string{"settings.account_sid", "settings.auth_token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tt.change(s)
			err := newDriver(nil).For(app.ChannelTwilioWhatsApp).Validate(s)
			var got []string
			for _, fe := range app.ErrorFields(err) {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("got fields %v (%v), want %v", got, err, tt.fields)
			}
			if err == nil && (s[twilio.KeyAccountSID] != testSID || s[twilio.KeyFromNumber] != "+447911123456") {
				t.Errorf("got %v, want trimmed and normalised settings", s)
			}
			if tt.name == "OKBaseURL" && s[twilio.KeyBaseURL] != "https://api.dublin.ie1.twilio.com" {
				t.Errorf("got base URL %q, want it without the trailing slash", s[twilio.KeyBaseURL])
			}
		})
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	d := newDriver(nil)
	tests := []struct {
		typ   app.ChannelType
		rate  float64
		burst int
	}{
		{app.ChannelTwilioSMS, 1, 5},
		{app.ChannelTwilioWhatsApp, 20, 20},
		{app.ChannelTwilioVoice, 0, 0},
	}
	for _, tt := range tests {
		s := d.For(tt.typ).Spec()
		if s.Type != tt.typ || !s.Webhook || s.SendRate != tt.rate || s.SendBurst != tt.burst {
			t.Errorf("%s: got %+v, want rate %v burst %d with a webhook", tt.typ, s, tt.rate, tt.burst)
		}
		if f, ok := s.Field(twilio.KeyAuthToken); !ok || !f.Secret || !f.Required {
			t.Errorf("%s: got auth token field %+v, want a required secret", tt.typ, f)
		}
		if _, ok := s.Field(twilio.KeyAccountSID); !ok {
			t.Errorf("%s: no account_sid field", tt.typ)
		}
	}
}
