package web_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"parley/app"
	emailchannel "parley/app/channel/email"
	"parley/app/channel/twilio"
	"parley/app/web"
)

// TestChannelAPIBaseURLIsTheOperators: without the operator's flag, a
// workspace cannot aim a channel (and the credentials it carries) at an
// API host of its choosing.
func TestChannelAPIBaseURLIsTheOperators(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *web.Config) {
		c.AllowAPIBaseURL = false
		c.Drivers = map[app.ChannelType]app.Driver{app.ChannelTwilioSMS: twilio.New(twilio.Options{}).For(app.ChannelTwilioSMS)}
	})
	a := e.apiClient(e.workspace("acme"), app.RoleAdmin)
	settings := map[string]string{"account_sid": whTwilioSID, "auth_token": whTwilioToken, "from_number": "+14155550100"}
	withBase := map[string]string{"api_base_url": "http://169.254.169.254"}
	for k, v := range settings {
		withBase[k] = v
	}
	res := a.call("POST", "/api/v1/channels", map[string]any{"type": "twilio_sms", "name": "SMS", "settings": withBase})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "settings.api_base_url") ||
		!strings.Contains(res.Body, "--allow-api-base-url") {
		t.Errorf("api_base_url without the flag: got %d %s, want 422 naming the operator's flag", res.Status, snippet(res.Body))
	}
	if res := a.call("POST", "/api/v1/channels", map[string]any{"type": "twilio_sms", "name": "SMS", "settings": settings}); res.Status != http.StatusCreated {
		t.Errorf("without api_base_url: got %d %s, want 201", res.Status, snippet(res.Body))
	}
}

// TestChannelAPISecretsFollowTheEndpoint: changing where a channel's
// credentials are sent asks for them again; a stored token is never
// carried to the new host.
func TestChannelAPISecretsFollowTheEndpoint(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	ch := h.connect(t, h.a, app.ChannelTelegram, "Bot")
	path := "/api/v1/channels/" + ch.ID
	res := h.a.call("PATCH", path, map[string]any{"settings": map[string]string{"api_base_url": h.fake.meta.URL}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "settings.bot_token") {
		t.Fatalf("new host, token kept: got %d %s, want 422 asking for the bot token", res.Status, snippet(res.Body))
	}
	if got, _ := h.a.db.ChannelByID(t.Context(), ch.ID); got.Setting("api_base_url") != h.fake.tg.URL {
		t.Errorf("refused change stored: api_base_url %q", got.Setting("api_base_url"))
	}
	// A rename keeps the token; a new token is taken as given.
	if res := h.a.call("PATCH", path, map[string]any{"name": "Support bot"}); res.Status != http.StatusOK {
		t.Errorf("rename: got %d %s, want 200", res.Status, snippet(res.Body))
	}
	res = h.a.call("PATCH", path, map[string]any{"settings": map[string]string{"api_base_url": h.fake.tg.URL, "bot_token": whTGToken2}})
	if res.Status != http.StatusOK {
		t.Errorf("new token: got %d %s, want 200", res.Status, snippet(res.Body))
	}
}

// TestEmailRelay: a mailbox's relay endpoint takes a raw message signed
// with the relay secret the API shows, refuses an unsigned one before
// reading it, and refuses a replay.
func TestEmailRelay(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *web.Config) {
		c.Drivers = map[app.ChannelType]app.Driver{app.ChannelEmail: emailchannel.New(emailchannel.Options{})}
	})
	h := &hookEnv{e: e}
	a := e.apiClient(e.workspace("acme"), app.RoleAdmin)
	res := a.call("POST", "/api/v1/channels", map[string]any{"type": "email", "name": "Support",
		"settings": map[string]string{"from_address": "support@acme.example", "smtp_host": "smtp.example.com"}})
	ch := decode[struct {
		ID          string `json:"id"`
		RelaySecret string `json:"relay_secret"`
	}](t, res)
	if res.Status != http.StatusCreated || len(ch.RelaySecret) != 43 {
		t.Fatalf("connect: got %d %s, want 201 with a relay secret", res.Status, snippet(res.Body))
	}
	raw := []byte("From: Ann <ann@example.com>\r\nTo: support@acme.example\r\nSubject: Hello\r\nMessage-ID: <r1@example.com>\r\n\r\nHi there\r\n")
	mac := hmac.New(sha256.New, []byte(ch.RelaySecret))
	mac.Write(raw)
	signed := http.Header{"Content-Type": {"message/rfc822"}, "X-Parley-Signature": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
	big := bytes.Repeat([]byte("x"), 2<<20)
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		want   int
	}{
		{"ErrUnsignedNotRead", big, http.Header{"Content-Type": {"message/rfc822"}}, http.StatusUnauthorized},
		{"ErrWrongSignature", raw, http.Header{"X-Parley-Signature": {"sha256=" + strings.Repeat("0", 64)}}, http.StatusUnauthorized},
		{"OK", raw, signed, http.StatusOK},
		{"ErrReplay", raw, signed, http.StatusConflict},
	} {
		if got := h.post("acme", ch.ID, tc.body, tc.header); got.Status != tc.want {
			t.Errorf("%s: got %d %s, want %d", tc.name, got.Status, snippet(got.Body), tc.want)
		}
	}
	if msgs := messagesOf(t, a); len(msgs) != 1 || msgs[0].Text != "Hi there" {
		t.Errorf("stored: got %+v, want the one relayed message", msgs)
	}
}
