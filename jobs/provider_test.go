package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel/meta"
	"parley/app/channel/telegram"
	"parley/app/channel/twilio"
	"parley/jobs"
	"parley/tenantdb"
)

// provEnv is a tenant whose credentials are sealed, and a running job
// client sending through the providers it was given.
type provEnv struct {
	db      *tenantdb.DB
	jobs    *jobs.Client
	tenant  string
	tenants *tenantdb.Manager
	dir     string
}

// sealer returns a Sealer whose key is 32 times b.
func sealer(t testing.TB, b byte) *tenantdb.Sealer {
	t.Helper()
	s, err := tenantdb.NewSealer(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setupProviders provisions a tenant (credentials sealed under key 7) and
// starts a job client with providers registered and short delays.
func setupProviders(t *testing.T, providers map[app.ChannelType]app.Provider, mutate ...func(*jobs.Config)) *provEnv {
	return setupWith(t, func(*jobs.Client, *tenantdb.Manager) map[app.ChannelType]app.Provider { return providers }, mutate...)
}

// setupWith is setupProviders for providers that need the job client or
// the tenant manager (the sandbox reports through the client).
func setupWith(t testing.TB, providers func(*jobs.Client, *tenantdb.Manager) map[app.ChannelType]app.Provider,
	mutate ...func(*jobs.Config)) *provEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	control, err := tenantdb.OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants"), Sealer: sealer(t, 7),
		AllowAPIBaseURL: true})
	ws, err := tenantdb.Provision(ctx, control, tenants, tenantdb.NewWorkspace{Slug: "acme", Name: "Acme",
		AdminEmail: "admin@acme.example", AdminName: "Admin", AdminPassword: "long-enough-pw"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	db, release, err := tenants.Acquire(ctx, ws.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobs.Config{ControlPath: filepath.Join(dir, "control.db"), Control: control, Tenants: tenants,
		RetryBase: 10 * time.Millisecond, ReconcileEvery: time.Hour, PollInterval: 10 * time.Millisecond,
		SendAttempts: 4, SendTimeout: 10 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	jc, err := jobs.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for typ, p := range providers(jc, tenants) {
		jc.Register(typ, p)
	}
	if err := jc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jc.Stop(ctx); err != nil {
			t.Error(err)
		}
		release()
		tenants.Close(ctx)
		control.Close()
	})
	return &provEnv{db: db, jobs: jc, tenant: ws.Tenant.ID, tenants: tenants, dir: dir}
}

// connect adds a channel whose public settings include its webhook URL
// (named after its id, as the web layer does) and whose secrets include a
// webhook secret.
func (e *provEnv) connect(t *testing.T, typ app.ChannelType, settings, secrets map[string]string) app.Channel {
	t.Helper()
	id := tenantdb.NewChannelID()
	settings["webhook_url"] = "https://parley.example.com/hooks/" + id
	secrets[app.WebhookSecretKey] = "k3Y_fake-webhook-secret-0123456789abcdefghij"
	ch, err := e.db.ConnectChannelID(context.Background(), id, typ, string(typ)+" "+id[:6], settings, secrets, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// receive stores a client's message on ch, as the channel's webhook would.
func (e *provEnv) receive(t *testing.T, in app.InboundMessage) app.Message {
	t.Helper()
	in.Direction = app.DirectionIn
	if in.Transport == "" {
		in.Transport = app.TransportFor(in.From.Type)
	}
	m, dup, err := e.db.ReceiveMessage(context.Background(), in)
	if err != nil || dup {
		t.Fatalf("receive: got %v (duplicate %v), want a new message", err, dup)
	}
	return m
}

// reply writes the team's answer in chatID and enqueues its send.
func (e *provEnv) reply(t *testing.T, chatID, text string) app.Message {
	t.Helper()
	ctx := context.Background()
	m, err := e.db.SendMessage(ctx, chatID, app.SendInput{Text: text}, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.EnqueueSend(ctx, e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitStatus polls the message until it reaches want; a message that
// reaches another final status fails at once.
func (e *provEnv) waitStatus(t *testing.T, id string, want app.DeliveryStatus) app.Message {
	t.Helper()
	var m app.Message
	eventually(t, func() (bool, string) {
		var err error
		m, err = e.db.MessageByID(context.Background(), id, app.ChatScope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != want && (m.Status == app.StatusFailed || (want == app.StatusFailed && m.Status == app.StatusSent)) {
			t.Fatalf("message %s: got %s (%q), want %s", id, m.Status, m.FailureReason, want)
		}
		return m.Status == want, fmt.Sprintf("message %s is %s (%q), want %s", id, m.Status, m.FailureReason, want)
	})
	return m
}

func (e *provEnv) channel(t *testing.T, id string) app.Channel {
	t.Helper()
	ch, err := e.db.ChannelByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// eventually polls cond for up to 20 s; state says what was seen last.
func eventually(t *testing.T, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hit is one request a fake provider received.
type hit struct {
	Method, Path, Auth, ContentType string
	User, Pass                      string
	Body                            []byte
	Form                            url.Values
	At                              time.Time
}

// fakeAPI is a provider's API on 127.0.0.1: answer writes the answer to
// the n-th request (from 1), and every request is recorded.
type fakeAPI struct {
	srv    *httptest.Server
	answer func(w http.ResponseWriter, r *http.Request, h hit, n int)
	mu     sync.Mutex
	hits   []hit
}

func newFakeAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, h hit, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := hit{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: body, At: time.Now()}
	h.User, h.Pass, _ = r.BasicAuth()
	if strings.HasPrefix(h.ContentType, "application/x-www-form-urlencoded") {
		h.Form, _ = url.ParseQuery(string(body))
	}
	f.mu.Lock()
	f.hits = append(f.hits, h)
	n := len(f.hits)
	f.mu.Unlock()
	f.answer(w, r, h, n)
}

func (f *fakeAPI) requests() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hits)
}

// Credentials of the fake provider accounts.
const (
	tgToken    = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	twilioSID  = "AC0123456789abcdef0123456789abcdef"
	twilioAuth = "0123456789abcdef0123456789abcdef"
	twilioFrom = "+14155550100"
	metaToken  = "EAAJB0test0token"
	metaPNID   = "106540352242922"
	metaWAMID  = "wamid.HBgMNTUxMTg3NjU0MzIxFQIAERgSQzY4RUI2QjM0"
)

// messageSID is the SID Twilio gives the message of the n-th request.
func messageSID(n int) string { return fmt.Sprintf("SM%032x", n) }

// twilioCreated answers the n-th request, a Create Message, as Twilio does
// (201 and the resource).
func twilioCreated(w http.ResponseWriter, h hit, n int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"sid": messageSID(n), "status": "queued", "to": h.Form.Get("To"),
		"from": h.Form.Get("From"), "body": h.Form.Get("Body"), "num_media": "0"})
}

// twilioError answers with Twilio's error body.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func twilioSettings(base string) (settings, secrets map[string]string) {
	return map[string]string{twilio.KeyAccountSID: twilioSID, twilio.KeyFromNumber: twilioFrom, twilio.KeyBaseURL: base},
		map[string]string{twilio.KeyAuthToken: twilioAuth}
}

const twilioMessagesPath = "/2010-04-01/Accounts/" + twilioSID + "/Messages.json"

// TestProviderSendsReplyToClient answers a client's message through each
// real driver and checks what the provider's API received.
func TestProviderSendsReplyToClient(t *testing.T) {
	t.Parallel()
	tw := twilio.New(twilio.Options{})
	e := setupProviders(t, map[app.ChannelType]app.Provider{
		app.ChannelTelegram:       telegram.New(telegram.Options{}),
		app.ChannelTwilioSMS:      tw.For(app.ChannelTwilioSMS),
		app.ChannelTwilioWhatsApp: tw.For(app.ChannelTwilioWhatsApp),
		app.ChannelWhatsAppCloud:  meta.New(meta.Options{}).WhatsApp(),
	})
	const text = "Yes, it ships today & arrives <soon>."
	tests := []struct {
		name   string
		typ    app.ChannelType
		conf   func(base string) (settings, secrets map[string]string)
		from   app.ContactInput
		meta   map[string]string
		answer func(w http.ResponseWriter, h hit, n int)
		// check looks at the one request and returns the provider id it
		// should have given the message.
		check func(t *testing.T, ch app.Channel, h hit) string
	}{{
		name: "Telegram",
		typ:  app.ChannelTelegram,
		conf: func(base string) (map[string]string, map[string]string) {
			return map[string]string{telegram.KeyBaseURL: base}, map[string]string{telegram.KeyBotToken: tgToken}
		},
		from: app.ContactInput{Type: app.ContactTelegram, Value: "alice_k"},
		meta: map[string]string{"address": "987654321", "user_id": "987654321", "username": "alice_k"},
		answer: func(w http.ResponseWriter, h hit, n int) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":4242,"date":1767225600,`+
				`"chat":{"id":987654321,"first_name":"Alice","username":"alice_k","type":"private"},"text":"…"}}`)
		},
		check: func(t *testing.T, _ app.Channel, h hit) string {
			if want := "/bot" + tgToken + "/sendMessage"; h.Method != http.MethodPost || h.Path != want {
				t.Errorf("request: got %s %s, want POST %s", h.Method, h.Path, want)
			}
			var body struct {
				ChatID json.Number `json:"chat_id"`
				Text   string      `json:"text"`
			}
			if err := json.Unmarshal(h.Body, &body); err != nil || !strings.HasPrefix(h.ContentType, "application/json") {
				t.Fatalf("body: got %q (%s, %v), want JSON", h.Body, h.ContentType, err)
			}
			// The chat the client wrote from, not their user name.
			if body.ChatID != "987654321" || body.Text != text {
				t.Errorf("body: got chat_id %s text %q, want 987654321 %q", body.ChatID, body.Text, text)
			}
			return "987654321:4242"
		},
	}, {
		name: "TwilioSMS",
		typ:  app.ChannelTwilioSMS,
		conf: twilioSettings,
		from: app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"},
		answer: func(w http.ResponseWriter, h hit, n int) {
			twilioCreated(w, h, n)
		},
		check: func(t *testing.T, ch app.Channel, h hit) string {
			checkTwilio(t, ch, h, "+447911123456", twilioFrom, text)
			return messageSID(1)
		},
	}, {
		name: "TwilioWhatsApp",
		typ:  app.ChannelTwilioWhatsApp,
		conf: twilioSettings,
		from: app.ContactInput{Type: app.ContactWhatsApp, Value: "+447911123457"},
		meta: map[string]string{"wa_id": "447911123457"},
		answer: func(w http.ResponseWriter, h hit, n int) {
			twilioCreated(w, h, n)
		},
		check: func(t *testing.T, ch app.Channel, h hit) string {
			checkTwilio(t, ch, h, "whatsapp:+447911123457", "whatsapp:"+twilioFrom, text)
			return messageSID(1)
		},
	}, {
		name: "WhatsAppCloud",
		typ:  app.ChannelWhatsAppCloud,
		conf: func(base string) (map[string]string, map[string]string) {
			return map[string]string{"api_base_url": base, "phone_number_id": metaPNID},
				map[string]string{"access_token": metaToken, "app_secret": "6c1f2b9e8d7a4c3b2a1f0e9d8c7b6a5f", "verify_token": "parley-verify"}
		},
		// WhatsApp's id for a Brazilian mobile lacks the number's ninth
		// digit: replies go to the id the webhook gave.
		from: app.ContactInput{Type: app.ContactWhatsApp, Value: "+5511987654321"},
		meta: map[string]string{"address": "551187654321"},
		answer: func(w http.ResponseWriter, h hit, n int) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"551187654321","wa_id":"551187654321"}],`+
				`"messages":[{"id":%q}]}`, metaWAMID)
		},
		check: func(t *testing.T, _ app.Channel, h hit) string {
			if want := "/" + meta.GraphVersion + "/" + metaPNID + "/messages"; h.Method != http.MethodPost || h.Path != want {
				t.Errorf("request: got %s %s, want POST %s", h.Method, h.Path, want)
			}
			if h.Auth != "Bearer "+metaToken {
				t.Errorf("authorization: got %q, want the bearer token", h.Auth)
			}
			var body struct {
				MessagingProduct string `json:"messaging_product"`
				RecipientType    string `json:"recipient_type"`
				To               string `json:"to"`
				Type             string `json:"type"`
				Text             struct {
					Body string `json:"body"`
				} `json:"text"`
			}
			if err := json.Unmarshal(h.Body, &body); err != nil || !strings.HasPrefix(h.ContentType, "application/json") {
				t.Fatalf("body: got %q (%s, %v), want JSON", h.Body, h.ContentType, err)
			}
			if body.MessagingProduct != "whatsapp" || body.RecipientType != "individual" || body.To != "551187654321" ||
				body.Type != "text" || body.Text.Body != text {
				t.Errorf("body: got %+v, want a whatsapp text to 551187654321 saying %q", body, text)
			}
			return metaWAMID
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, h hit, n int) { tc.answer(w, h, n) })
			settings, secrets := tc.conf(fake.srv.URL)
			ch := e.connect(t, tc.typ, settings, secrets)
			in := e.receive(t, app.InboundMessage{ChannelID: ch.ID, From: tc.from, SenderMeta: tc.meta,
				Transport: tc.typ.Transport(), Text: "Hi, is my order ready?", ProviderMessageID: "in-" + tc.name})
			m := e.reply(t, in.ChatID, text)
			if m.ChannelID != ch.ID {
				t.Fatalf("reply channel: got %s, want %s", m.ChannelID, ch.ID)
			}
			m = e.waitStatus(t, m.ID, app.StatusSent)
			reqs := fake.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests: got %d, want 1", len(reqs))
			}
			if want := tc.check(t, ch, reqs[0]); m.ProviderMessageID != want {
				t.Errorf("provider id: got %q, want %q", m.ProviderMessageID, want)
			}
			if m.SendAttempts != 1 || m.SentAt == nil {
				t.Errorf("attempts %d, sent at %v: want 1 and a time", m.SendAttempts, m.SentAt)
			}
		})
	}
}

// checkTwilio checks a Create Message request.
func checkTwilio(t *testing.T, ch app.Channel, h hit, to, from, body string) {
	t.Helper()
	if h.Method != http.MethodPost || h.Path != twilioMessagesPath {
		t.Errorf("request: got %s %s, want POST %s", h.Method, h.Path, twilioMessagesPath)
	}
	if h.User != twilioSID || h.Pass != twilioAuth {
		t.Errorf("basic auth: got %q:%q, want the account SID and auth token", h.User, h.Pass)
	}
	hook := "https://parley.example.com/hooks/" + ch.ID
	for _, f := range []struct{ key, want string }{{"To", to}, {"From", from}, {"Body", body}, {"StatusCallback", hook}} {
		if got := h.Form.Get(f.key); got != f.want {
			t.Errorf("%s: got %q, want %q", f.key, got, f.want)
		}
	}
}

// TestProviderTwilioErrorClasses sends through Twilio SMS channels whose
// API refuses, fails, throttles or cannot be reached.
func TestProviderTwilioErrorClasses(t *testing.T) {
	t.Parallel()
	e := setupProviders(t, map[app.ChannelType]app.Provider{
		app.ChannelTwilioSMS: twilio.New(twilio.Options{}).For(app.ChannelTwilioSMS)})
	// send connects a channel whose API is at base, receives a message
	// from phone on it and answers it.
	send := func(t *testing.T, base, phone string) (app.Channel, app.Message) {
		t.Helper()
		settings, secrets := twilioSettings(base)
		ch := e.connect(t, app.ChannelTwilioSMS, settings, secrets)
		in := e.receive(t, app.InboundMessage{ChannelID: ch.ID, From: app.ContactInput{Type: app.ContactPhone, Value: phone},
			Text: "Hello?", ProviderMessageID: "SM-in-" + phone})
		return ch, e.reply(t, in.ChatID, "Hello from Acme")
	}

	t.Run("ErrPermanentFailsAtOnce", func(t *testing.T) {
		t.Parallel()
		fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, _ hit, _ int) {
			twilioError(w, 400, 21211, "The 'To' number +447911123460 is not a valid phone number.")
		})
		_, m := send(t, fake.srv.URL, "+447911123460")
		m = e.waitStatus(t, m.ID, app.StatusFailed)
		if !strings.HasPrefix(m.FailureReason, "Twilio 21211") {
			t.Errorf("reason: got %q, want Twilio 21211…", m.FailureReason)
		}
		// A failed message is final: no later job calls the provider.
		if n := len(fake.requests()); n != 1 || m.SendAttempts != 1 {
			t.Errorf("requests %d, attempts %d: want 1 and 1", n, m.SendAttempts)
		}
	})

	t.Run("ErrServerRetried", func(t *testing.T) {
		t.Parallel()
		fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, h hit, n int) {
			if n == 1 {
				twilioError(w, 503, 20503, "Service Unavailable")
				return
			}
			twilioCreated(w, h, n)
		})
		ch, m := send(t, fake.srv.URL, "+447911123461")
		m = e.waitStatus(t, m.ID, app.StatusSent)
		if n := len(fake.requests()); n != 2 || m.SendAttempts != 2 || m.ProviderMessageID != messageSID(2) {
			t.Errorf("requests %d, attempts %d, provider id %q: want 2, 2, %s", n, m.SendAttempts, m.ProviderMessageID, messageSID(2))
		}
		if got := e.channel(t, ch.ID).LastError; !strings.Contains(got, "20503") {
			t.Errorf("channel last error: got %q, want Twilio's 20503", got)
		}
	})

	t.Run("ErrTooManyRequestsWaitsWithoutAnAttempt", func(t *testing.T) {
		t.Parallel()
		fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, h hit, n int) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				twilioError(w, 429, 20429, "Too Many Requests")
				return
			}
			twilioCreated(w, h, n)
		})
		_, m := send(t, fake.srv.URL, "+447911123462")
		m = e.waitStatus(t, m.ID, app.StatusSent)
		reqs := fake.requests()
		if len(reqs) != 2 {
			t.Fatalf("requests: got %d, want 2", len(reqs))
		}
		if m.SendAttempts != 1 {
			t.Errorf("attempts: got %d, want 1 (the 429 is not an attempt)", m.SendAttempts)
		}
		// Twilio asked for a second; generous for timer slack.
		if gap := reqs[1].At.Sub(reqs[0].At); gap < 800*time.Millisecond {
			t.Errorf("retry after 429: got %v, want about the 1s Twilio asked for", gap)
		}
	})

	// A connection dropped after the request went out may have delivered
	// it, and Twilio cannot be asked: the message fails for the team to
	// check instead of being sent twice.
	t.Run("ErrConnectionDroppedNotResent", func(t *testing.T) {
		t.Parallel()
		fake := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request, h hit, n int) {
			if n == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			twilioCreated(w, h, n)
		})
		_, m := send(t, fake.srv.URL, "+447911123463")
		m = e.waitStatus(t, m.ID, app.StatusFailed)
		if n := len(fake.requests()); n != 1 || !strings.Contains(m.FailureReason, "cannot say whether it arrived") {
			t.Errorf("requests %d, reason %q: want 1 and the provider cannot say", n, m.FailureReason)
		}
	})

	t.Run("ErrUnreachableGivesUp", func(t *testing.T) {
		t.Parallel()
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		_, m := send(t, closed.URL, "+447911123464")
		m = e.waitStatus(t, m.ID, app.StatusFailed)
		if want := "Gave up after 4 attempts. The provider could not be reached: "; !strings.HasPrefix(m.FailureReason, want) ||
			m.SendAttempts != 4 {
			t.Errorf("reason %q, attempts %d: want %q…, 4", m.FailureReason, m.SendAttempts, want)
		}
	})

	t.Run("ErrCredentialsUndecryptable", func(t *testing.T) {
		t.Parallel()
		fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, h hit, n int) { twilioCreated(w, h, n) })
		// Another server, with another key, saved the channel.
		ctx := context.Background()
		other := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(e.dir, "tenants"), Sealer: sealer(t, 9)})
		odb, release, err := other.Acquire(ctx, e.tenant)
		if err != nil {
			t.Fatal(err)
		}
		settings, secrets := twilioSettings(fake.srv.URL)
		id := tenantdb.NewChannelID()
		settings["webhook_url"] = "https://parley.example.com/hooks/" + id
		_, err = odb.ConnectChannelID(ctx, id, app.ChannelTwilioSMS, "Other key", settings, secrets, app.CLIActor)
		release()
		if cerr := other.Close(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		in := e.receive(t, app.InboundMessage{ChannelID: id, From: app.ContactInput{Type: app.ContactPhone, Value: "+447911123465"},
			Text: "Hello?", ProviderMessageID: "SM-in-undecryptable"})
		m := e.reply(t, in.ChatID, "Can you read me?")
		m = e.waitStatus(t, m.ID, app.StatusFailed)
		if !strings.Contains(m.FailureReason, "cannot be decrypted") {
			t.Errorf("reason: got %q, want the credentials cannot be decrypted", m.FailureReason)
		}
		if n := len(fake.requests()); n != 0 {
			t.Errorf("requests: got %d, want 0", n)
		}
	})
}

// TestProviderRateLimitPacesBurst sends 8 messages at once through a Twilio
// SMS channel (1 a second, bursts of 5): all arrive, paced, and waiting
// for a turn costs no attempt.
func TestProviderRateLimitPacesBurst(t *testing.T) {
	t.Parallel()
	e := setupProviders(t, map[app.ChannelType]app.Provider{
		app.ChannelTwilioSMS: twilio.New(twilio.Options{}).For(app.ChannelTwilioSMS)})
	fake := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request, h hit, n int) { twilioCreated(w, h, n) })
	settings, secrets := twilioSettings(fake.srv.URL)
	ch := e.connect(t, app.ChannelTwilioSMS, settings, secrets)
	in := e.receive(t, app.InboundMessage{ChannelID: ch.ID, From: app.ContactInput{Type: app.ContactPhone, Value: "+447911123470"},
		Text: "Send me everything", ProviderMessageID: "SM-in-burst"})
	ctx := context.Background()
	var msgs []app.Message
	for i := range 8 {
		m, err := e.db.SendMessage(ctx, in.ChatID, app.SendInput{Text: fmt.Sprintf("Part %d", i+1)}, app.ChatScope{All: true}, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		if err := e.jobs.EnqueueSend(ctx, e.tenant, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range msgs {
		if got := e.waitStatus(t, m.ID, app.StatusSent); got.SendAttempts != 1 {
			t.Errorf("message %q: got %d attempts, want 1 (waiting for a turn is not an attempt)", got.Text, got.SendAttempts)
		}
	}
	reqs := fake.requests()
	var bodies []string
	for _, h := range reqs {
		bodies = append(bodies, h.Form.Get("Body"))
	}
	slices.Sort(bodies)
	if want := []string{"Part 1", "Part 2", "Part 3", "Part 4", "Part 5", "Part 6", "Part 7", "Part 8"}; !slices.Equal(bodies, want) {
		t.Fatalf("requests: got %q, want each part once", bodies)
	}
	// Five at once, then one a second: the 8th is about 3 s after the 1st.
	if gap := reqs[7].At.Sub(reqs[0].At); gap < 1500*time.Millisecond {
		t.Errorf("1st to 8th request: got %v, want paced at 1/s after a burst of 5", gap)
	}
}

// fakeMail is an email driver without SMTP or IMAP: it records what it is
// asked to send, and a poll returns what poll says. Only channels with an
// imap_host are polled, like real email channels.
type fakeMail struct {
	mu      sync.Mutex
	sent    []app.Outbound
	cursors []string // the cursor of each poll
	poll    func(cursor string) (app.Incoming, string, error)
}

var (
	_ app.Driver = (*fakeMail)(nil)
	_ app.Poller = (*fakeMail)(nil)
)

func (f *fakeMail) Spec() app.ChannelSpec {
	return app.ChannelSpec{Type: app.ChannelEmail, Label: "Email (test)", Poll: true}
}
func (f *fakeMail) Validate(map[string]string) error                   { return nil }
func (f *fakeMail) Check(context.Context, app.Channel) (string, error) { return "test mailbox", nil }
func (f *fakeMail) Pollable(ch app.Channel) bool                       { return ch.Setting("imap_host") != "" }

func (f *fakeMail) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

func (f *fakeMail) Send(_ context.Context, out app.Outbound) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, out)
	return fmt.Sprintf("r%d@parley.example", len(f.sent)), nil
}

func (f *fakeMail) Poll(_ context.Context, _ app.Channel, cursor string) (app.Incoming, string, error) {
	f.mu.Lock()
	f.cursors = append(f.cursors, cursor)
	poll := f.poll
	f.mu.Unlock()
	return poll(cursor)
}

func (f *fakeMail) outbound() []app.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func (f *fakeMail) polls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cursors)
}

// TestProviderEmailThreadHeaders answers an email twice and checks the
// threading the driver is given: subject, In-Reply-To, References and
// the chat's reply token.
func TestProviderEmailThreadHeaders(t *testing.T) {
	t.Parallel()
	mail := &fakeMail{}
	e := setupProviders(t, map[app.ChannelType]app.Provider{app.ChannelEmail: mail})
	ch := e.connect(t, app.ChannelEmail, map[string]string{"address": "support@acme.example"}, map[string]string{})
	in := e.receive(t, app.InboundMessage{ChannelID: ch.ID, From: app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"},
		Subject: "Order 42", Text: "Where is my order?", ProviderMessageID: "m1@example.com"})
	first := e.waitStatus(t, e.reply(t, in.ChatID, "It ships today.").ID, app.StatusSent)
	second := e.waitStatus(t, e.reply(t, in.ChatID, "Tracking: 1Z999.").ID, app.StatusSent)
	out := mail.outbound()
	if len(out) != 2 {
		t.Fatalf("sends: got %d, want 2", len(out))
	}
	if first.ProviderMessageID != "r1@parley.example" || second.ProviderMessageID != "r2@parley.example" {
		t.Errorf("provider ids: got %q %q, want r1@parley.example r2@parley.example", first.ProviderMessageID, second.ProviderMessageID)
	}
	o := out[0]
	if o.To != "ana@example.com" || o.Subject != "Re: Order 42" || o.InReplyTo != "m1@example.com" ||
		!slices.Equal(o.References, []string{"m1@example.com"}) || o.ReplyToken == "" {
		t.Errorf("first reply: got to %q subject %q in-reply-to %q references %q token %q, "+
			"want ana@example.com, Re: Order 42, m1@example.com, [m1@example.com], a token",
			o.To, o.Subject, o.InReplyTo, o.References, o.ReplyToken)
	}
	o2 := out[1]
	if o2.Subject != "Re: Order 42" || o2.InReplyTo != "m1@example.com" || o2.ReplyToken != o.ReplyToken ||
		!slices.Equal(o2.References, []string{"m1@example.com", "r1@parley.example"}) {
		t.Errorf("second reply: got subject %q in-reply-to %q references %q token %q, "+
			"want Re: Order 42, m1@example.com, [m1@example.com r1@parley.example], token %q",
			o2.Subject, o2.InReplyTo, o2.References, o2.ReplyToken, o.ReplyToken)
	}
}

// TestProviderPollStoresOnceAndSavesCursor lets the reconciler poll a
// mailbox that returns the same message each time: it is stored once, the
// cursor is saved, and a failing poll shows on the channel.
func TestProviderPollStoresOnceAndSavesCursor(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var fail error // what the mailbox answers, once set
	mail := &fakeMail{poll: func(cursor string) (app.Incoming, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			return app.Incoming{}, cursor, fail
		}
		return app.Incoming{Messages: []app.InboundMessage{{Direction: app.DirectionIn, Transport: app.TransportEmail,
			From: app.ContactInput{Type: app.ContactEmail, Value: "bo@example.com"}, Subject: "Hello",
			Text: "Is anyone there?", ProviderMessageID: "p1@example.com"}}}, "uid:1", nil
	}}
	e := setupProviders(t, map[app.ChannelType]app.Provider{app.ChannelEmail: mail}, func(c *jobs.Config) {
		c.ReconcileEvery = 50 * time.Millisecond
	})
	ctx := context.Background()
	relay := e.connect(t, app.ChannelEmail, map[string]string{"address": "relay@acme.example"}, map[string]string{})
	ch := e.connect(t, app.ChannelEmail, map[string]string{"address": "support@acme.example", "imap_host": "imap.acme.example"},
		map[string]string{"imap_password": "pw"})

	// The third poll starts after the second finished (one poll per
	// channel at a time), so by then both have stored what they fetched.
	eventually(t, func() (bool, string) {
		p := mail.polls()
		return len(p) >= 3, fmt.Sprintf("polls with cursors %q, want 3", p)
	})
	if p := mail.polls(); p[0] != "" || p[1] != "uid:1" {
		t.Errorf("cursors: got %q, want \"\" then uid:1", p)
	}
	if cur, err := e.db.ChannelCursor(ctx, ch.ID); err != nil || cur != "uid:1" {
		t.Errorf("saved cursor: got %q (%v), want uid:1", cur, err)
	}
	if cur, err := e.db.ChannelCursor(ctx, relay.ID); err != nil || cur != "" {
		t.Errorf("relay-only channel's cursor: got %q (%v), want none (not polled)", cur, err)
	}
	page, err := e.db.ListChats(ctx, app.ChatFilter{Limit: 50}, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var stored []app.Message
	for _, c := range page.Chats {
		msgs, _, err := e.db.ListMessages(ctx, c.ID, app.ChatScope{All: true}, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Direction == app.DirectionIn {
				stored = append(stored, m)
			}
		}
	}
	if len(stored) != 1 || stored[0].ProviderMessageID != "p1@example.com" || stored[0].ChannelID != ch.ID ||
		stored[0].ContactValue != "bo@example.com" {
		t.Fatalf("stored: got %+v, want p1@example.com once, on the polled channel", stored)
	}

	mu.Lock()
	fail = errors.New("imap: connection refused")
	mu.Unlock()
	want := "Fetching new mail failed: imap: connection refused"
	eventually(t, func() (bool, string) {
		got := e.channel(t, ch.ID).LastError
		return got == want, fmt.Sprintf("channel last error %q, want %q", got, want)
	})
}
