package email_test

import (
	"encoding/hex"
	"errors"
	"net/http"
	"testing"

	"parley/app"
	"parley/app/channel/email"
)

func signed(body []byte) string { return "sha256=" + hex.EncodeToString(email.Sign(testSecret, body)) }

func TestReceive(t *testing.T) {
	t.Parallel()
	d := email.New(email.Options{})
	ch := newChannel(t, nil)
	body := readFile(t, "gmail_reply.eml")
	good := signed(body)
	tests := []struct {
		name    string
		sig     string
		body    []byte
		wantErr error
		wantMsg int
	}{
		{"OK", good, body, nil, 1},
		{"OKUpperHex", "sha256=" + upper(good[7:]), body, nil, 1},
		{"ErrMissing", "", body, app.ErrBadSignature, 0},
		{"ErrWrong", signed([]byte("another body")), body, app.ErrBadSignature, 0},
		{"ErrTruncated", good[:len(good)-2], body, app.ErrBadSignature, 0},
		{"ErrNoPrefix", good[7:], body, app.ErrBadSignature, 0},
		{"ErrOtherAlgorithm", "sha1=" + good[7:], body, app.ErrBadSignature, 0},
		{"ErrBodyChanged", good, append([]byte("X-Injected: 1\r\n"), body...), app.ErrBadSignature, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.sig != "" {
				h.Set(email.HeaderSignature, tt.sig)
			}
			in, err := d.Receive(ctx(t), ch, app.WebhookRequest{URL: "https://parley.example/webhooks/email/ch_email", Header: h, Body: tt.body})
			if !errors.Is(err, tt.wantErr) || len(in.Messages) != tt.wantMsg {
				t.Fatalf("got %d messages, %v, want %d, %v", len(in.Messages), err, tt.wantMsg, tt.wantErr)
			}
		})
	}
	t.Run("ErrNoSecret", func(t *testing.T) {
		t.Parallel()
		noSecret := ch
		noSecret.Secrets = map[string]string{}
		h := http.Header{email.HeaderSignature: {signed(body)}}
		if _, err := d.Receive(ctx(t), noSecret, app.WebhookRequest{Header: h, Body: body}); !errors.Is(err, app.ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
	})
	t.Run("ErrMalformedAfterGoodSignature", func(t *testing.T) {
		t.Parallel()
		bad := []byte("not an email at all\r\n\r\n")
		h := http.Header{email.HeaderSignature: {signed(bad)}}
		if _, err := d.Receive(ctx(t), ch, app.WebhookRequest{Header: h, Body: bad}); errorCode(err) != app.EINVALID {
			t.Errorf("got %v, want %s", err, app.EINVALID)
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}
