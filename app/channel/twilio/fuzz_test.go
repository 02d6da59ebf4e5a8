package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/app"
	"parley/app/channel/twilio"
)

// seeds are the testdata bodies.
func seeds(f *testing.F) []string {
	f.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		f.Fatalf("testdata: %v", err)
	}
	var out []string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// FuzzSignature feeds the signature check arbitrary URLs, bodies and
// signatures: it must never panic, and never accept a request without a
// signature or with one that is not the body's.
func FuzzSignature(f *testing.F) {
	for _, body := range seeds(f) {
		req := signed(testHook, body)
		f.Add(req.URL, body, req.Header.Get(twilio.SignatureHeader))
		f.Add(req.URL+"?bodySHA256=abc", body, "")
	}
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2",
		"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212",
		"0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
	d := newDriver(&http.Client{Transport: offline{}}).For(app.ChannelTwilioSMS)
	ch := testChannel(f, app.ChannelTwilioSMS, "")
	f.Fuzz(func(t *testing.T, rawURL, body, sig string) {
		req := app.WebhookRequest{URL: rawURL, Header: http.Header{twilio.SignatureHeader: {sig}}, Body: []byte(body)}
		_, err := d.Receive(context.Background(), ch, req)
		if sig == "" && !errors.Is(err, app.ErrBadSignature) {
			t.Fatalf("no signature: got %v, want ErrBadSignature", err)
		}
		if err == nil && !portVariantSigned(rawURL, body, sig) {
			t.Fatalf("accepted %q %q with signature %q", rawURL, body, sig)
		}
	})
}

// portVariantSigned reports whether sig is a valid signature of the
// request under any URL form Twilio may sign: as received, or with the
// scheme's default port added or the port removed (for a JSON body, the
// URL alone).
func portVariantSigned(rawURL, body, sig string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	form, _ := url.ParseQuery(body)
	if u.Query().Get("bodySHA256") != "" {
		form = nil
	}
	alt := *u
	if u.Port() != "" {
		alt.Host = strings.TrimSuffix(strings.TrimSuffix(u.Host, u.Port()), ":")
	} else if u.Scheme == "http" {
		alt.Host = u.Host + ":80"
	} else {
		alt.Host = u.Host + ":443"
	}
	altRaw := strings.Replace(rawURL, u.Host, alt.Host, 1)
	return sign(testToken, rawURL, form) == sig || sign(testToken, altRaw, form) == sig
}

// FuzzParse feeds the parsers arbitrary bodies, correctly signed, for
// each channel type: they must never panic, and refuse only as EINVALID
// (or, for a recording whose call cannot be fetched, a plain error).
func FuzzParse(f *testing.F) {
	for _, body := range seeds(f) {
		f.Add(body)
	}
	f.Add("MessageSid=SM1&From=%2B1&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fx&MediaUrl1=http%3A%2F%2F10.0.0.1%2F")
	f.Add("CallSid=CA1&CallStatus=completed&Direction=outbound-dial&To=client%3Aanna&CallDuration=99999999999999999999")
	client := &http.Client{Transport: offline{}}
	d := newDriver(client)
	f.Fuzz(func(t *testing.T, body string) {
		for _, typ := range []app.ChannelType{app.ChannelTwilioSMS, app.ChannelTwilioWhatsApp, app.ChannelTwilioVoice} {
			in, err := d.For(typ).Receive(context.Background(), testChannel(t, typ, ""), signed(testHook, body))
			if errors.Is(err, app.ErrBadSignature) {
				t.Fatalf("%s: a signed body was refused as forged", typ)
			}
			for _, m := range in.Messages {
				if m.ChannelID != "ch1" || m.From.Value == "" || m.Transport != typ.Transport() {
					t.Fatalf("%s: got message %+v without its channel, sender or transport", typ, m)
				}
			}
		}
	})
}
