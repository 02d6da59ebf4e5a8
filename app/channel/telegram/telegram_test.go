package telegram_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"parley/app"
	"parley/app/channel/telegram"
)

func TestSpec(t *testing.T) {
	t.Parallel()
	spec := telegram.New(telegram.Options{}).Spec()
	if spec.Type != app.ChannelTelegram || !spec.Webhook || spec.Poll {
		t.Errorf("got type %v webhook %v poll %v, want telegram true false", spec.Type, spec.Webhook, spec.Poll)
	}
	if spec.SendRate != 25 || spec.SendBurst != 30 {
		t.Errorf("got rate %v burst %v, want 25 30", spec.SendRate, spec.SendBurst)
	}
	f, ok := spec.Field(telegram.KeyBotToken)
	if !ok || !f.Secret || !f.Required {
		t.Errorf("got bot_token field %+v (found %v), want a required secret", f, ok)
	}
	if len(spec.Fields) != 1 {
		t.Errorf("got %d fields, want 1", len(spec.Fields))
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		settings   map[string]string
		wantFields []string
		want       map[string]string
	}{
		{name: "OK", settings: map[string]string{"bot_token": "  " + token + "\n"},
			want: map[string]string{"bot_token": token}},
		{name: "OKBaseURL", settings: map[string]string{"bot_token": token, "api_base_url": " http://127.0.0.1:8081/ "},
			want: map[string]string{"bot_token": token, "api_base_url": "http://127.0.0.1:8081"}},
		{name: "OKOtherKeysKept", settings: map[string]string{"bot_token": token, "webhook_url": "https://x.example/h"},
			want: map[string]string{"bot_token": token, "webhook_url": "https://x.example/h"}},
		{name: "ErrBotTokenRequired", settings: map[string]string{}, wantFields: []string{"settings.bot_token"}},
		{name: "ErrBotTokenShort", settings: map[string]string{"bot_token": "123456789:short"}, wantFields: []string{"settings.bot_token"}},
		{name: "ErrBotTokenNoID", settings: map[string]string{"bot_token": "bot:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"},
			wantFields: []string{"settings.bot_token"}},
		{name: "ErrBaseURLScheme", settings: map[string]string{"bot_token": token, "api_base_url": "ftp://api.example.com"},
			wantFields: []string{"settings.api_base_url"}},
		{name: "ErrBaseURLRelative", settings: map[string]string{"bot_token": token, "api_base_url": "api.telegram.org"},
			wantFields: []string{"settings.api_base_url"}},
		{name: "ErrBoth", settings: map[string]string{"bot_token": "x", "api_base_url": "https://a.example/?q=1"},
			wantFields: []string{"settings.bot_token", "settings.api_base_url"}},
		{name: "ErrNilMap", settings: nil, wantFields: []string{"settings.bot_token"}},
	}
	d := telegram.New(telegram.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := d.Validate(tt.settings)
			var got []string
			for _, fe := range app.ErrorFields(err) {
				got = append(got, fe.Field)
			}
			if !reflect.DeepEqual(got, tt.wantFields) {
				t.Fatalf("got fields %v (err %v), want %v", got, err, tt.wantFields)
			}
			if err != nil && app.ErrorCode(err) != app.EINVALID {
				t.Errorf("got code %v, want %v", app.ErrorCode(err), app.EINVALID)
			}
			if tt.want != nil && !reflect.DeepEqual(tt.settings, tt.want) {
				t.Errorf("got settings %v, want %v", tt.settings, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		got, err := d.Check(context.Background(), ch)
		if err != nil || got != "Bot @acme_bot" {
			t.Fatalf("got %q, %v, want Bot @acme_bot", got, err)
		}
		reqs := f.requests()
		if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/bot"+token+"/getMe" {
			t.Errorf("got requests %+v, want one GET /bot<token>/getMe", reqs)
		}
	})
	tests := []struct {
		name     string
		answer   http.HandlerFunc
		wantCode string
		wantText string
	}{
		{"ErrBadToken", func(w http.ResponseWriter, _ *http.Request) { apiFail(w, 401, "Unauthorized") },
			app.EINVALID, "Telegram did not accept the bot token (Unauthorized): copy it again from @BotFather."},
		{"ErrUnavailable", func(w http.ResponseWriter, _ *http.Request) { apiFail(w, 502, "Bad Gateway") },
			app.EUNAVAILABLE, "Telegram is not answering right now (Bad Gateway): try again in a minute."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, d, ch := setup(t)
			f.answer("getMe", tt.answer)
			_, err := d.Check(context.Background(), ch)
			if app.ErrorCode(err) != tt.wantCode || app.ErrorMessage(err) != tt.wantText {
				t.Errorf("got %v %q, want %v %q", app.ErrorCode(err), app.ErrorMessage(err), tt.wantCode, tt.wantText)
			}
		})
	}
	t.Run("ErrNetwork", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		f.srv.Close()
		_, err := d.Check(context.Background(), ch)
		if app.ErrorCode(err) != app.EUNAVAILABLE || strings.Contains(app.ErrorMessage(err), token) {
			t.Errorf("got %v %q, want unavailable without the token", app.ErrorCode(err), app.ErrorMessage(err))
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		delete(ch.Secrets, telegram.KeyBotToken)
		_, err := d.Check(context.Background(), ch)
		if app.ErrorCode(err) != app.EINVALID || len(f.requests()) != 0 {
			t.Errorf("got %v after %d requests, want invalid and none", err, len(f.requests()))
		}
	})
}

func TestRegisterWebhook(t *testing.T) {
	t.Parallel()
	const hook = "https://parley.example.com/hooks/ch_tg"
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		if err := d.RegisterWebhook(context.Background(), ch, hook); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 1 {
			t.Fatalf("got %d requests, want 1", len(reqs))
		}
		r := reqs[0]
		want := `{"url":"` + hook + `","allowed_updates":["message"],"drop_pending_updates":false,"secret_token":"` + secret + `"}`
		if r.Method != http.MethodPost || r.Path != "/bot"+token+"/setWebhook" || r.ContentType != "application/json" || string(r.Body) != want {
			t.Errorf("got %s %s %s %s, want POST /bot<token>/setWebhook application/json %s", r.Method, r.Path, r.ContentType, r.Body, want)
		}
	})
	t.Run("ErrRefused", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		f.answer("setWebhook", func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
		})
		err := d.RegisterWebhook(context.Background(), ch, "http://parley.example.com/hooks/ch_tg")
		want := "Telegram refused the webhook: Bad Request: bad webhook: HTTPS url must be provided for webhook"
		if app.ErrorCode(err) != app.EINVALID || app.ErrorMessage(err) != want {
			t.Errorf("got %v %q, want invalid %q", app.ErrorCode(err), app.ErrorMessage(err), want)
		}
	})
	t.Run("ErrNoSecret", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		delete(ch.Secrets, app.WebhookSecretKey)
		if err := d.RegisterWebhook(context.Background(), ch, hook); err == nil || len(f.requests()) != 0 {
			t.Errorf("got %v after %d requests, want an error and none", err, len(f.requests()))
		}
	})
}

func TestLookup(t *testing.T) {
	t.Parallel()
	_, _, err := telegram.New(telegram.Options{}).Lookup(context.Background(), app.Outbound{})
	if err != app.ErrLookupUnsupported {
		t.Errorf("got %v, want %v", err, app.ErrLookupUnsupported)
	}
}

// jsonEqual compares a JSON body with the expected one, field by field.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got body %s, want %s", got, want)
	}
}
