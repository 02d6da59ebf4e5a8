package web_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/app/channel/meta"
	"parley/app/channel/telegram"
	"parley/app/channel/twilio"
	"parley/app/web"
	"parley/tenantdb"
)

// Credentials of the fake provider accounts. No secret is a substring of a
// value that may be shown (the Twilio token is not part of the SID).
const (
	whTGToken      = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	whTGToken2     = "123456789:BBHnewTokenAfterRevokeXyz0123456789"
	whTGRefused    = "987654321:ZZHrefusedTokenQwertyuiop0123456789"
	whTwilioSID    = "AC0123456789abcdef0123456789abcdef"
	whTwilioToken  = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	whTwilioToken2 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	whMetaToken    = "EAAJB0test0token0for0parley"
	whMetaSecret   = "6c1f2b9e8d7a4c3b2a1f0e9d8c7b6a5f"
	whMetaVerify   = "parley-verify-4f2a"
	whPNID         = "106540352242922"
	whPageID       = "104173148762349"
	whIGSID        = "1254459154682919"
	whNever        = "01JNEVEREXISTEDAAAAAAAAAAA"
)

// whSecrets are every credential value the API must never show.
var whSecrets = []string{whTGToken, whTGToken2, whTwilioToken, whTwilioToken2, whMetaToken, whMetaSecret, whMetaVerify}

// providerCall is one request a fake provider received.
type providerCall struct {
	Provider, Method, Path, Auth string
	Body                         []byte
}

// fakeProviders are the Telegram Bot API, Twilio's REST API and Meta's
// Graph API on 127.0.0.1, each answering in its real wire format the calls
// storeChannel, Check and RegisterWebhook make.
type fakeProviders struct {
	tg, tw, meta *httptest.Server

	mu    sync.Mutex
	calls []providerCall
	down  map[string]bool // provider → refuse every call as unauthorised
}

func newFakeProviders(t *testing.T) *fakeProviders {
	t.Helper()
	f := &fakeProviders{down: map[string]bool{}}
	f.tg = httptest.NewServer(http.HandlerFunc(f.serveTelegram))
	f.tw = httptest.NewServer(http.HandlerFunc(f.serveTwilio))
	f.meta = httptest.NewServer(http.HandlerFunc(f.serveMeta))
	t.Cleanup(func() { f.tg.Close(); f.tw.Close(); f.meta.Close() })
	return f
}

// record keeps the request and says whether the provider is down.
func (f *fakeProviders) record(provider string, r *http.Request) bool {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, providerCall{Provider: provider, Method: r.Method, Path: r.URL.Path,
		Auth: r.Header.Get("Authorization"), Body: body})
	return f.down[provider]
}

func (f *fakeProviders) setDown(provider string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[provider] = down
}

// received returns the calls to provider whose path ends with suffix.
func (f *fakeProviders) received(provider, suffix string) []providerCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providerCall
	for _, c := range f.calls {
		if c.Provider == provider && strings.HasSuffix(c.Path, suffix) {
			out = append(out, c)
		}
	}
	return out
}

// setWebhookCall is a setWebhook request body as Telegram reads it.
type setWebhookCall struct {
	Token          string   `json:"-"`
	URL            string   `json:"url"`
	SecretToken    string   `json:"secret_token"`
	AllowedUpdates []string `json:"allowed_updates"`
}

func (f *fakeProviders) setWebhooks(t *testing.T) []setWebhookCall {
	t.Helper()
	var out []setWebhookCall
	for _, c := range f.received("telegram", "/setWebhook") {
		var s setWebhookCall
		if err := json.Unmarshal(c.Body, &s); err != nil {
			t.Fatalf("setWebhook body %s: %v", c.Body, err)
		}
		s.Token = strings.TrimSuffix(strings.TrimPrefix(c.Path, "/bot"), "/setWebhook")
		out = append(out, s)
	}
	return out
}

// serveTelegram answers POST|GET /bot<token>/<method> with
// {"ok":true,"result":…} or {"ok":false,"error_code":…,"description":…}.
func (f *fakeProviders) serveTelegram(w http.ResponseWriter, r *http.Request) {
	down := f.record("telegram", r)
	token, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	w.Header().Set("Content-Type", "application/json")
	if down || !strings.HasPrefix(r.URL.Path, "/bot") || (token != whTGToken && token != whTGToken2) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	switch method {
	case "getMe":
		_, _ = io.WriteString(w, `{"ok":true,"result":{"id":123456789,"is_bot":true,"first_name":"Acme","username":"acme_bot"}}`)
	case "setWebhook":
		_, _ = io.WriteString(w, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "deleteWebhook":
		_, _ = io.WriteString(w, `{"ok":true,"result":true,"description":"Webhook was deleted"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

// serveTwilio answers GET /2010-04-01/Accounts/{sid}.json behind HTTP
// basic auth, with Twilio's error body otherwise.
func (f *fakeProviders) serveTwilio(w http.ResponseWriter, r *http.Request) {
	down := f.record("twilio", r)
	user, pass, _ := r.BasicAuth()
	w.Header().Set("Content-Type", "application/json")
	if down || user != whTwilioSID || (pass != whTwilioToken && pass != whTwilioToken2) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/2010-04-01/Accounts/"+whTwilioSID+".json" {
		_, _ = fmt.Fprintf(w, `{"sid":%q,"friendly_name":"Acme Support","status":"active","type":"Full"}`, whTwilioSID)
		return
	}
	w.WriteHeader(http.StatusNotFound)
	_, _ = fmt.Fprintf(w, `{"code":20404,"message":"The requested resource %s was not found","status":404}`, r.URL.Path)
}

// serveMeta answers GET /{version}/{id}: the WhatsApp phone number, the
// Facebook page and the Instagram user's profile.
func (f *fakeProviders) serveMeta(w http.ResponseWriter, r *http.Request) {
	down := f.record("meta", r)
	w.Header().Set("Content-Type", "application/json")
	if down || r.Header.Get("Authorization") != "Bearer "+whMetaToken {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"AbCdEf123"}}`)
		return
	}
	switch r.URL.Path {
	case "/" + meta.GraphVersion + "/" + whPNID:
		_, _ = io.WriteString(w, `{"display_phone_number":"15550783881","verified_name":"Acme Support","id":"`+whPNID+`"}`)
	case "/" + meta.GraphVersion + "/" + whPageID:
		_, _ = io.WriteString(w, `{"name":"Acme","instagram_business_account":{"id":"17841405822304914"},"id":"`+whPageID+`"}`)
	case "/" + meta.GraphVersion + "/" + whIGSID:
		_, _ = io.WriteString(w, `{"name":"Peggy Sue","username":"peggy.sue","id":"`+whIGSID+`"}`)
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100,"error_subcode":33}}`)
	}
}

// hookDelivery records what the API queued and the status reports handed
// back for a later retry.
type hookDelivery struct {
	mu      sync.Mutex
	sent    []string
	reports []app.StatusReport
}

func (d *hookDelivery) EnqueueSend(_ context.Context, _, messageID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, messageID)
	return nil
}

func (d *hookDelivery) RetryReport(_ context.Context, _ string, rep app.StatusReport) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reports = append(d.reports, rep)
	return nil
}

func (d *hookDelivery) retried() []app.StatusReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reports)
}

// hookEnv is workspace "acme" with an admin token, on a server whose
// drivers are the real provider packages pointed at fakeProviders.
type hookEnv struct {
	e    *env
	ws   *tenantdb.Workspace
	a    apiClient
	fake *fakeProviders
	del  *hookDelivery
}

func hookSetup(t *testing.T) *hookEnv {
	t.Helper()
	f := newFakeProviders(t)
	del := &hookDelivery{}
	e := setup(t, func(c *web.Config) {
		tw := twilio.New(twilio.Options{Now: c.Now})
		mt := meta.New(meta.Options{Now: c.Now})
		c.Drivers = map[app.ChannelType]app.Driver{
			app.ChannelTelegram:       telegram.New(telegram.Options{Now: c.Now}),
			app.ChannelTwilioSMS:      tw.For(app.ChannelTwilioSMS),
			app.ChannelTwilioWhatsApp: tw.For(app.ChannelTwilioWhatsApp),
			app.ChannelTwilioVoice:    tw.For(app.ChannelTwilioVoice),
			app.ChannelWhatsAppCloud:  mt.WhatsApp(),
			app.ChannelInstagram:      mt.Instagram(),
		}
		c.Delivery = del
	})
	ws := e.workspace("acme")
	return &hookEnv{e: e, ws: ws, a: e.apiClient(ws, app.RoleAdmin), fake: f, del: del}
}

// other provisions a second workspace and returns its admin's client.
func (h *hookEnv) other(slug string) apiClient {
	return h.e.apiClient(h.e.workspace(slug), app.RoleAdmin)
}

// settings are valid settings of a channel of typ, pointed at the fakes.
func (h *hookEnv) settings(typ app.ChannelType) map[string]string {
	tw := func(from string) map[string]string {
		return map[string]string{"account_sid": whTwilioSID, "auth_token": whTwilioToken, "from_number": from,
			"api_base_url": h.fake.tw.URL}
	}
	mt := func(idKey, id string) map[string]string {
		return map[string]string{"access_token": whMetaToken, idKey: id, "app_secret": whMetaSecret,
			"verify_token": whMetaVerify, "api_base_url": h.fake.meta.URL}
	}
	switch typ {
	case app.ChannelTelegram:
		return map[string]string{"bot_token": whTGToken, "api_base_url": h.fake.tg.URL}
	case app.ChannelTwilioSMS:
		return tw("+14155550100")
	case app.ChannelTwilioWhatsApp:
		return tw("+14155238886")
	case app.ChannelTwilioVoice:
		return tw("+14155550101")
	case app.ChannelWhatsAppCloud:
		return mt("phone_number_id", whPNID)
	case app.ChannelInstagram:
		return mt("page_id", whPageID)
	}
	return nil
}

// channelRes is a channel as the API shows it.
type channelRes struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Active     bool           `json:"active"`
	WebhookURL string         `json:"webhook_url"`
	Settings   map[string]any `json:"settings"`
	SecretsSet []string       `json:"secrets_set"`
}

// connect creates a channel of typ through a's API and returns it as
// stored (secrets included), failing the test unless it is created.
func (h *hookEnv) connect(t *testing.T, a apiClient, typ app.ChannelType, name string) app.Channel {
	t.Helper()
	res := a.call("POST", "/api/v1/channels", map[string]any{"type": typ, "name": name, "settings": h.settings(typ)})
	if res.Status != http.StatusCreated {
		t.Fatalf("connect %s: got %d, want 201; body: %s", typ, res.Status, snippet(res.Body))
	}
	ch, err := a.db.ChannelByID(context.Background(), decode[channelRes](t, res).ID)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// post sends a provider's request to a workspace's webhook of channelID.
func (h *hookEnv) post(host, channelID string, body []byte, header http.Header) response {
	req, _ := http.NewRequest("POST", hostURL(host, "/hooks/"+channelID), bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	return h.e.browser().do(req)
}

// hookMsg is a message as the API shows it, with its chat's client.
type hookMsg struct {
	ID                string           `json:"id"`
	ChatID            string           `json:"chat_id"`
	Direction         string           `json:"direction"`
	Transport         string           `json:"transport"`
	Text              string           `json:"text"`
	Status            string           `json:"status"`
	FailureReason     string           `json:"failure_reason"`
	ProviderMessageID string           `json:"provider_message_id"`
	Attachments       []app.Attachment `json:"attachments"`
	ClientID          string           `json:"-"`
}

// messages returns every message of every chat in a's workspace.
func messagesOf(t *testing.T, a apiClient) []hookMsg {
	t.Helper()
	chats := decode[struct {
		Data []struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
		} `json:"data"`
	}](t, a.call("GET", "/api/v1/chats?limit=200", nil))
	var out []hookMsg
	for _, c := range chats.Data {
		list := decode[struct {
			Data []hookMsg `json:"data"`
		}](t, a.call("GET", "/api/v1/chats/"+c.ID+"/messages?limit=200", nil))
		for _, m := range list.Data {
			m.ClientID = c.ClientID
			out = append(out, m)
		}
	}
	return out
}

// withProviderID returns the messages the provider knows as id.
func withProviderID(msgs []hookMsg, id string) []hookMsg {
	var out []hookMsg
	for _, m := range msgs {
		if m.ProviderMessageID == id {
			out = append(out, m)
		}
	}
	return out
}

// stored is what a refused webhook must leave as it was: the newest event
// and the clients (apiClient.state), and the chats.
func stored(a apiClient) string {
	return a.state() + "\n" + a.call("GET", "/api/v1/chats?limit=200", nil).Body
}

// twilioSignature is X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL
// + each form parameter's name and value, sorted by name)).
func twilioSignature(token, rawURL string, body []byte) string {
	params, _ := url.ParseQuery(string(body))
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(rawURL))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[k])) {
			m.Write([]byte(k + v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// metaSignature is X-Hub-Signature-256 over the raw body.
func metaSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// twilioForm encodes name, value pairs as Twilio posts them.
func twilioForm(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

func smsBody(sid, from, text string) []byte {
	return twilioForm("ToCountry", "US", "ToState", "CA", "SmsMessageSid", sid, "NumMedia", "0", "SmsSid", sid,
		"SmsStatus", "received", "Body", text, "FromCountry", "US", "To", "+14155550100", "NumSegments", "1",
		"MessageSid", sid, "AccountSid", whTwilioSID, "From", from, "ApiVersion", "2010-04-01")
}

// statusBody is a message status callback; seq makes each one's bytes
// differ, as Twilio's own (timestamps) do.
func statusBody(sid, status, errorCode string, seq int) []byte {
	kv := []string{"SmsSid", sid, "SmsStatus", status, "MessageStatus", status, "To", "+14155550123",
		"MessageSid", sid, "AccountSid", whTwilioSID, "From", "+14155550100", "ApiVersion", "2010-04-01",
		"RawDlrDoneDate", strconv.Itoa(2503041015 + seq)}
	if errorCode != "" {
		kv = append(kv, "ErrorCode", errorCode)
	}
	return twilioForm(kv...)
}

func twilioHeader(ch app.Channel, token string, body []byte) http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
		twilio.SignatureHeader: {twilioSignature(token, ch.Setting(channel.WebhookURLKey), body)}}
}

func metaHeader(_ app.Channel, secret string, body []byte) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature-256": {metaSignature(secret, body)}}
}

func waTextBody(wamid, from, text string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,`+
		`"timestamp":"1749416383","type":"text","text":{"body":%q}}]},"field":"messages"}]}]}`, whPNID, from, from, wamid, text)
}

func waStatusBody(wamid, status string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":`+
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},`+
		`"statuses":[{"id":%q,"status":%q,"timestamp":"1750263773","recipient_id":"16505551234"}]},"field":"messages"}]}]}`,
		whPNID, wamid, status)
}

// hookKind is one provider's webhook: how it proves itself, and requests
// that each store one message.
type hookKind struct {
	name string
	typ  app.ChannelType
	// key is the channel's signing secret; sign proves body with a key.
	key    func(ch app.Channel) string
	sign   func(ch app.Channel, key string, body []byte) http.Header
	header string
	// body is the n-th distinct request, storing the message id(n).
	body func(n int) []byte
	id   func(n int) string
	text string // part of the stored text
	// malformed is validly signed but not the provider's request.
	malformed []byte
	answer    string // the content type the provider expects back
}

// hookCase is one webhook request and the status it must get.
type hookCase struct {
	name, path string
	body       []byte
	header     http.Header
	status     int
}

func hookKinds() []hookKind {
	twKey := func(ch app.Channel) string { return ch.Setting("auth_token") }
	metaKey := func(ch app.Channel) string { return ch.Setting("app_secret") }
	twID := func(n int) string { return fmt.Sprintf("SM9a8b7c6d5e4f3a2b1c0d9e8f%06x", n) }
	waID := func(n int) string { return fmt.Sprintf("MM2a3b4c5d6e7f8091a2b3c4d5%06x", n) }
	return []hookKind{{
		name: "Telegram", typ: app.ChannelTelegram, header: telegram.SecretHeader,
		key: func(ch app.Channel) string { return ch.Secrets[app.WebhookSecretKey] },
		sign: func(_ app.Channel, key string, _ []byte) http.Header {
			return http.Header{"Content-Type": {"application/json"}, telegram.SecretHeader: {key}}
		},
		body: func(n int) []byte {
			return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1441645532,`+
				`"chat":{"id":1111111,"type":"private","first_name":"Test","username":"Testusername"},`+
				`"from":{"id":1111111,"is_bot":false,"first_name":"Test","last_name":"Lastname","username":"Testusername",`+
				`"language_code":"en"},"text":"Hello, is my order on its way? #%d"}}`, 10000+n, 1365+n, n)
		},
		id:        func(n int) string { return strconv.Itoa(10000 + n) },
		text:      "is my order on its way?",
		malformed: []byte(`{"update_id":`),
	}, {
		name: "TwilioSMS", typ: app.ChannelTwilioSMS, header: twilio.SignatureHeader, key: twKey, sign: twilioHeader,
		body: func(n int) []byte {
			return smsBody(twID(n), "+14155550123", fmt.Sprintf("Hi! Is my order on its way? #%d", n))
		},
		id:        twID,
		text:      "Is my order on its way?",
		malformed: twilioForm("AccountSid", whTwilioSID, "ApiVersion", "2010-04-01"),
		answer:    "text/xml",
	}, {
		name: "TwilioWhatsApp", typ: app.ChannelTwilioWhatsApp, header: twilio.SignatureHeader, key: twKey, sign: twilioHeader,
		body: func(n int) []byte {
			return twilioForm("SmsMessageSid", waID(n), "NumMedia", "0", "ProfileName", "Anna Schmidt", "SmsSid", waID(n),
				"WaId", "14155550124", "SmsStatus", "received", "Body", fmt.Sprintf("Here is the damaged box #%d", n),
				"To", "whatsapp:+14155238886", "NumSegments", "1", "MessageSid", waID(n), "AccountSid", whTwilioSID,
				"From", "whatsapp:+14155550124", "ApiVersion", "2010-04-01")
		},
		id:        waID,
		text:      "Here is the damaged box",
		malformed: twilioForm("AccountSid", whTwilioSID, "ApiVersion", "2010-04-01"),
		answer:    "text/xml",
	}, {
		name: "TwilioVoice", typ: app.ChannelTwilioVoice, header: twilio.SignatureHeader, key: twKey, sign: twilioHeader,
		body: func(n int) []byte {
			sid := fmt.Sprintf("CA5e6f708192a3b4c5d6e7f809%06x", n)
			return twilioForm("Called", "+14155550101", "Direction", "inbound", "CallbackSource", "call-progress-events",
				"SequenceNumber", "0", "CallSid", sid, "To", "+14155550101", "ApiVersion", "2010-04-01",
				"CallStatus", "completed", "Duration", "4", "From", "+14155550125", "CallDuration", "192",
				"AccountSid", whTwilioSID, "Caller", "+14155550125")
		},
		id:        func(n int) string { return fmt.Sprintf("CA5e6f708192a3b4c5d6e7f809%06x", n) },
		text:      "Incoming call, 3 min 12 s",
		malformed: twilioForm("CallSid", "CA5e6f708192a3b4c5d6e7f8091a2b3c4d", "CallStatus", "completed", "CallDuration", "soon"),
	}, {
		name: "WhatsAppCloud", typ: app.ChannelWhatsAppCloud, header: "X-Hub-Signature-256", key: metaKey, sign: metaHeader,
		body: func(n int) []byte {
			return waTextBody(fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0%04d", n), "16505551234",
				fmt.Sprintf("Does it come in another color? #%d", n))
		},
		id:        func(n int) string { return fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0%04d", n) },
		text:      "Does it come in another color?",
		malformed: []byte(`{"object":"whatsapp_business_account","entry":[`),
	}, {
		name: "Instagram", typ: app.ChannelInstagram, header: "X-Hub-Signature-256", key: metaKey, sign: metaHeader,
		body: func(n int) []byte {
			return fmt.Appendf(nil, `{"object":"instagram","entry":[{"id":"17841405822304914","time":1569262486134,`+
				`"messaging":[{"sender":{"id":%q},"recipient":{"id":"17841405822304914"},"timestamp":1569262485349,`+
				`"message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAU%04d","text":"Hi! Is the blue one still available? #%d"}}]}]}`,
				whIGSID, n, n)
		},
		id:        func(n int) string { return fmt.Sprintf("aWdfZAG1faXRlbToxOklHTWVzc2FnZAU%04d", n) },
		text:      "Is the blue one still available?",
		malformed: []byte(`{"object":"page","entry":[]}`),
	}}
}

func TestWebhookTwilioSignatureVector(t *testing.T) {
	t.Parallel()
	// ../shared/fixtures/README.md: Twilio's documented example.
	body := twilioForm("CallSid", "CA1234567890ABCDE", "Caller", "+12349013030", "Digits", "1234",
		"From", "+12349013030", "To", "+18005551212")
	got := twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", body)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Fatalf("signature: got %v, want %v", got, want)
	}
}

func TestChannelAPICreate(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	wantSecrets := map[app.ChannelType][]string{
		app.ChannelTelegram: {"bot_token"}, app.ChannelTwilioSMS: {"auth_token"}, app.ChannelTwilioWhatsApp: {"auth_token"},
		app.ChannelTwilioVoice: {"auth_token"}, app.ChannelWhatsAppCloud: {"access_token", "app_secret", "verify_token"},
		app.ChannelInstagram: {"access_token", "app_secret", "verify_token"},
	}
	var telegramID string
	for _, typ := range []app.ChannelType{app.ChannelTelegram, app.ChannelTwilioSMS, app.ChannelTwilioWhatsApp,
		app.ChannelTwilioVoice, app.ChannelWhatsAppCloud, app.ChannelInstagram} {
		t.Run("OK/"+string(typ), func(t *testing.T) {
			res := h.a.call("POST", "/api/v1/channels", map[string]any{"type": typ, "name": "Acme " + string(typ),
				"settings": h.settings(typ)})
			if res.Status != http.StatusCreated {
				t.Fatalf("status: got %d, want 201; body: %s", res.Status, snippet(res.Body))
			}
			c := decode[channelRes](t, res)
			if c.ID == "" || res.Header.Get("Location") != "/api/v1/channels/"+c.ID {
				t.Errorf("id %q, Location %q: want an id and its path", c.ID, res.Header.Get("Location"))
			}
			if want := "http://acme.parley.test/hooks/" + c.ID; c.WebhookURL != want {
				t.Errorf("webhook_url: got %v, want %v", c.WebhookURL, want)
			}
			if !slices.Equal(c.SecretsSet, wantSecrets[typ]) {
				t.Errorf("secrets_set: got %v, want %v", c.SecretsSet, wantSecrets[typ])
			}
			saved, err := h.a.db.ChannelByID(context.Background(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			secrets := append(slices.Clone(whSecrets), saved.Secrets[app.WebhookSecretKey])
			for _, s := range secrets {
				if strings.Contains(res.Body, s) {
					t.Errorf("the response shows the secret %q: %s", s, res.Body)
				}
			}
			for _, k := range append(slices.Clone(wantSecrets[typ]), app.WebhookSecretKey, channel.WebhookURLKey) {
				if _, shown := c.Settings[k]; shown {
					t.Errorf("settings: got key %q, want it left out", k)
				}
			}
			if typ == app.ChannelTelegram {
				telegramID = c.ID
				hooks := h.fake.setWebhooks(t)
				if len(hooks) != 1 {
					t.Fatalf("setWebhook calls: got %d, want 1", len(hooks))
				}
				got := hooks[0]
				if got.URL != c.WebhookURL || got.Token != whTGToken {
					t.Errorf("setWebhook: got url %v with token %v, want %v with %v", got.URL, got.Token, c.WebhookURL, whTGToken)
				}
				if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(got.SecretToken) {
					t.Errorf("secret_token: got %q, want 43 characters of A-Za-z0-9_-", got.SecretToken)
				}
				if got.SecretToken != saved.Secrets[app.WebhookSecretKey] {
					t.Errorf("secret_token: got %v, want the stored webhook secret", got.SecretToken)
				}
			}
		})
	}

	with := func(typ app.ChannelType, change func(set map[string]string)) map[string]any {
		set := h.settings(typ)
		change(set)
		return map[string]any{"type": typ, "name": "Broken", "settings": set}
	}
	const path = "/api/v1/channels"
	h.a.run(t, []apiCase{
		{name: "ErrUnknownType", method: "POST", path: path, status: 422, field: "type",
			body: map[string]any{"type": "fax", "name": "Fax", "settings": map[string]string{}}},
		{name: "ErrSandboxType", method: "POST", path: path, status: 422, field: "type",
			body: map[string]any{"type": "sandbox", "name": "Sandbox", "settings": map[string]string{}}},
		{name: "ErrBotTokenRequired", method: "POST", path: path, status: 422, field: "settings.bot_token",
			body: with(app.ChannelTelegram, func(s map[string]string) { delete(s, "bot_token") })},
		{name: "ErrBadBotToken", method: "POST", path: path, status: 422, field: "settings.bot_token",
			body: with(app.ChannelTelegram, func(s map[string]string) { s["bot_token"] = "not-a-token" })},
		{name: "ErrFromNumberRequired", method: "POST", path: path, status: 422, field: "settings.from_number",
			body: with(app.ChannelTwilioSMS, func(s map[string]string) { delete(s, "from_number") })},
		{name: "ErrBadAccountSID", method: "POST", path: path, status: 422, field: "settings.account_sid",
			body: with(app.ChannelTwilioVoice, func(s map[string]string) { s["account_sid"] = "AC123" })},
		{name: "ErrAppSecretRequired", method: "POST", path: path, status: 422, field: "settings.app_secret",
			body: with(app.ChannelWhatsAppCloud, func(s map[string]string) { delete(s, "app_secret") })},
		{name: "ErrPageIDRequired", method: "POST", path: path, status: 422, field: "settings.page_id",
			body: with(app.ChannelInstagram, func(s map[string]string) { delete(s, "page_id") })},
		{name: "ErrUnknownSetting", method: "POST", path: path, status: 422, field: "settings.shoe_size",
			body: with(app.ChannelTwilioSMS, func(s map[string]string) { s["shoe_size"] = "42" })},
		{name: "ErrWebhookURLNotASetting", method: "POST", path: path, status: 422, field: "settings.webhook_url",
			body: with(app.ChannelTelegram, func(s map[string]string) { s["webhook_url"] = "https://evil.example/hook" })},
		{name: "ErrBadBaseURL", method: "POST", path: path, status: 422, field: "settings.api_base_url",
			body: with(app.ChannelTelegram, func(s map[string]string) { s["api_base_url"] = "ftp://api.telegram.org" })},
		{name: "ErrBaseURLWithUser", method: "POST", path: path, status: 422, field: "settings.api_base_url",
			body: with(app.ChannelWhatsAppCloud, func(s map[string]string) { s["api_base_url"] = "https://me:pw@graph.facebook.com" })},
		{name: "ErrEmptyName", method: "POST", path: path, status: 422, field: "name",
			body: map[string]any{"type": app.ChannelTwilioSMS, "name": "  ", "settings": h.settings(app.ChannelTwilioSMS)}},
		{name: "ErrUnknownJSONField", method: "POST", path: path, status: 422, field: "secret",
			body: map[string]any{"type": app.ChannelTelegram, "name": "X", "settings": h.settings(app.ChannelTelegram), "secret": "x"}},
		{name: "ErrTokenRefused", method: "POST", path: path, status: 422, field: "settings",
			body: with(app.ChannelTelegram, func(s map[string]string) { s["bot_token"] = whTGRefused })},
	})

	t.Run("ErrEmptyNameKeepsWebhook", func(t *testing.T) {
		// A refused save must not repoint the bot: setWebhook goes to the
		// provider before anything is stored.
		before := len(h.fake.setWebhooks(t))
		res := h.a.call("POST", path, map[string]any{"type": app.ChannelTelegram, "name": "", "settings": h.settings(app.ChannelTelegram)})
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status: got %d, want 422; body: %s", res.Status, snippet(res.Body))
		}
		hooks := h.fake.setWebhooks(t)
		if len(hooks) != before {
			t.Errorf("setWebhook calls: got %d, want %d; the bot now posts to %s, a channel that does not exist (want %s)",
				len(hooks), before, hooks[len(hooks)-1].URL, "http://acme.parley.test/hooks/"+telegramID)
		}
	})

	t.Run("ListedOnce", func(t *testing.T) {
		list := decode[struct {
			Data []channelRes `json:"data"`
		}](t, h.a.call("GET", path, nil))
		if len(list.Data) != 6 {
			t.Errorf("channels: got %d, want 6 (the refused ones stored nothing)", len(list.Data))
		}
	})
}

func TestChannelAPIManage(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	tg := h.connect(t, h.a, app.ChannelTelegram, "Bot")
	sms := h.connect(t, h.a, app.ChannelTwilioSMS, "SMS")
	wa := h.connect(t, h.a, app.ChannelWhatsAppCloud, "WhatsApp")
	globex := h.other("globex")
	foreign := h.connect(t, globex, app.ChannelTelegram, "Globex bot")

	noSecrets := func(t *testing.T, res response) {
		t.Helper()
		for _, s := range whSecrets {
			if strings.Contains(res.Body, s) {
				t.Errorf("the response shows the secret %q: %s", s, snippet(res.Body))
			}
		}
	}
	check := func(t *testing.T, id string) (bool, string) {
		t.Helper()
		res := h.a.call("POST", "/api/v1/channels/"+id+"/test", nil)
		if res.Status != http.StatusOK {
			t.Fatalf("test: got %d, want 200; body: %s", res.Status, snippet(res.Body))
		}
		noSecrets(t, res)
		c := decode[struct {
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		}](t, res)
		return c.OK, c.Message
	}

	t.Run("List", func(t *testing.T) {
		res := h.a.call("GET", "/api/v1/channels", nil)
		noSecrets(t, res)
		list := decode[struct {
			Data []channelRes `json:"data"`
		}](t, res)
		var ids []string
		for _, c := range list.Data {
			ids = append(ids, c.ID)
		}
		if want := []string{tg.ID, sms.ID, wa.ID}; !slices.Equal(ids, want) {
			t.Errorf("ids: got %v, want %v", ids, want)
		}
	})
	t.Run("Get", func(t *testing.T) {
		res := h.a.call("GET", "/api/v1/channels/"+wa.ID, nil)
		noSecrets(t, res)
		c := decode[channelRes](t, res)
		if c.Name != "WhatsApp" || c.Settings["phone_number_id"] != whPNID || !c.Active {
			t.Errorf("channel: got %+v, want WhatsApp with its phone number id, active", c)
		}
	})
	for _, tc := range []struct {
		name string
		ch   app.Channel
		want string
	}{{"Telegram", tg, "Bot @acme_bot"}, {"TwilioSMS", sms, "Twilio account Acme Support"}, {"WhatsAppCloud", wa, "WhatsApp +15550783881 (Acme Support)"}} {
		t.Run("TestOK/"+tc.name, func(t *testing.T) {
			if ok, msg := check(t, tc.ch.ID); !ok || msg != tc.want {
				t.Errorf("test: got %v %q, want true %q", ok, msg, tc.want)
			}
		})
	}
	t.Run("PatchNameKeepsSecrets", func(t *testing.T) {
		for _, ch := range []app.Channel{tg, sms, wa} {
			hooks := len(h.fake.setWebhooks(t))
			res := h.a.call("PATCH", "/api/v1/channels/"+ch.ID, map[string]any{"name": "Renamed " + ch.Name})
			if res.Status != http.StatusOK {
				t.Fatalf("patch %s: got %d, want 200; body: %s", ch.Type, res.Status, snippet(res.Body))
			}
			noSecrets(t, res)
			if c := decode[channelRes](t, res); c.Name != "Renamed "+ch.Name || len(c.SecretsSet) == 0 {
				t.Errorf("patched %s: got name %q secrets %v", ch.Type, c.Name, c.SecretsSet)
			}
			if ok, msg := check(t, ch.ID); !ok {
				t.Errorf("test after rename of %s: got false %q, want true", ch.Type, msg)
			}
			after, _ := h.a.db.ChannelByID(context.Background(), ch.ID)
			if !maps.Equal(after.Secrets, ch.Secrets) {
				t.Errorf("secrets of %s changed on rename", ch.Type)
			}
			if got := len(h.fake.setWebhooks(t)); got != hooks {
				t.Errorf("setWebhook calls after renaming %s: got %d, want %d", ch.Type, got, hooks)
			}
		}
	})
	t.Run("PatchNewToken", func(t *testing.T) {
		res := h.a.call("PATCH", "/api/v1/channels/"+tg.ID, map[string]any{"settings": map[string]string{"bot_token": whTGToken2}})
		if res.Status != http.StatusOK {
			t.Fatalf("patch: got %d, want 200; body: %s", res.Status, snippet(res.Body))
		}
		noSecrets(t, res)
		hooks := h.fake.setWebhooks(t)
		last := hooks[len(hooks)-1]
		if last.Token != whTGToken2 || last.URL != "http://acme.parley.test/hooks/"+tg.ID || last.SecretToken != tg.Secrets[app.WebhookSecretKey] {
			t.Errorf("setWebhook: got token %v url %v, want the new token, the same URL and the same secret", last.Token, last.URL)
		}
		n := len(h.fake.received("telegram", "/bot"+whTGToken2+"/getMe"))
		if ok, msg := check(t, tg.ID); !ok {
			t.Errorf("test: got false %q, want true", msg)
		}
		if got := len(h.fake.received("telegram", "/bot"+whTGToken2+"/getMe")); got != n+1 {
			t.Errorf("getMe with the new token: got %d calls, want %d", got, n+1)
		}
	})
	t.Run("PatchNewTwilioToken", func(t *testing.T) {
		res := h.a.call("PATCH", "/api/v1/channels/"+sms.ID, map[string]any{"settings": map[string]string{"auth_token": whTwilioToken2}})
		if res.Status != http.StatusOK {
			t.Fatalf("patch: got %d, want 200; body: %s", res.Status, snippet(res.Body))
		}
		body := smsBody("SM00000000000000000000000000000a01", "+14155550123", "After the token changed")
		if res := h.post("acme", sms.ID, body, twilioHeader(sms, whTwilioToken, body)); res.Status != http.StatusUnauthorized {
			t.Errorf("signed with the old token: got %d, want 401", res.Status)
		}
		if res := h.post("acme", sms.ID, body, twilioHeader(sms, whTwilioToken2, body)); res.Status != http.StatusOK {
			t.Errorf("signed with the new token: got %d, want 200; body: %s", res.Status, snippet(res.Body))
		}
	})
	h.a.run(t, []apiCase{
		{name: "ErrPatchType", method: "PATCH", path: "/api/v1/channels/" + sms.ID, body: map[string]any{"type": "telegram"},
			status: 422, field: "type"},
		{name: "ErrPatchUnknownSetting", method: "PATCH", path: "/api/v1/channels/" + sms.ID,
			body: map[string]any{"settings": map[string]string{"colour": "red"}}, status: 422, field: "settings.colour"},
		{name: "ErrPatchTokenRefused", method: "PATCH", path: "/api/v1/channels/" + tg.ID,
			body: map[string]any{"settings": map[string]string{"bot_token": whTGRefused}}, status: 422, field: "settings"},
		{name: "ErrPatchBadToken", method: "PATCH", path: "/api/v1/channels/" + tg.ID,
			body: map[string]any{"settings": map[string]string{"bot_token": "nope"}}, status: 422, field: "settings.bot_token"},
	})
	t.Run("TestFails", func(t *testing.T) {
		for _, p := range []struct {
			provider string
			ch       app.Channel
		}{{"telegram", tg}, {"twilio", sms}, {"meta", wa}} {
			h.fake.setDown(p.provider, true)
			ok, msg := check(t, p.ch.ID)
			h.fake.setDown(p.provider, false)
			if ok || msg == "" {
				t.Errorf("test of %s with the provider refusing: got %v %q, want false and a reason", p.ch.Type, ok, msg)
			}
		}
	})
	t.Run("ErrAgentForbidden", func(t *testing.T) {
		agent := h.e.apiClient(h.ws, app.RoleAgent)
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/channels", nil},
			{"POST", "/api/v1/channels", map[string]any{"type": "telegram", "name": "X", "settings": h.settings(app.ChannelTelegram)}},
			{"GET", "/api/v1/channels/" + tg.ID, nil},
			{"PATCH", "/api/v1/channels/" + tg.ID, map[string]any{"name": "Mine"}},
			{"DELETE", "/api/v1/channels/" + tg.ID, nil},
			{"POST", "/api/v1/channels/" + tg.ID + "/test", nil},
		} {
			if res := agent.call(r.method, r.path, r.body); res.Status != http.StatusForbidden {
				t.Errorf("%s %s as an agent: got %d, want 403", r.method, r.path, res.Status)
			}
		}
	})
	t.Run("ErrOtherWorkspace", func(t *testing.T) {
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/channels/%s", nil},
			{"PATCH", "/api/v1/channels/%s", map[string]any{"name": "Mine"}},
			{"POST", "/api/v1/channels/%s/test", nil},
			{"DELETE", "/api/v1/channels/%s", nil},
		} {
			hidden := h.a.call(r.method, strings.Replace(r.path, "%s", foreign.ID, 1), r.body)
			missing := h.a.call(r.method, strings.Replace(r.path, "%s", whNever, 1), r.body)
			if hidden.Status != http.StatusNotFound || hidden.Body != missing.Body {
				t.Errorf("%s with another workspace's id: got %d %s, want 404 %s", r.method, hidden.Status, hidden.Body, missing.Body)
			}
		}
		if _, err := globex.db.ChannelByID(context.Background(), foreign.ID); err != nil {
			t.Errorf("the other workspace's channel: got %v, want it untouched", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		before := len(h.fake.received("telegram", "/deleteWebhook"))
		if res := h.a.call("DELETE", "/api/v1/channels/"+tg.ID, nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete: got %d, want 204; body: %s", res.Status, snippet(res.Body))
		}
		if got := len(h.fake.received("telegram", "/deleteWebhook")) - before; got != 1 {
			t.Errorf("deleteWebhook calls: got %d, want 1 (Telegram told to stop calling)", got)
		}
		if res := h.a.call("GET", "/api/v1/channels/"+tg.ID, nil); res.Status != http.StatusNotFound {
			t.Errorf("get after delete: got %d, want 404", res.Status)
		}
		if res := h.a.call("DELETE", "/api/v1/channels/"+tg.ID, nil); res.Status != http.StatusNotFound {
			t.Errorf("delete again: got %d, want 404", res.Status)
		}
		body := hookKinds()[0].body(1)
		res := h.post("acme", tg.ID, body, http.Header{telegram.SecretHeader: {tg.Secrets[app.WebhookSecretKey]}})
		if res.Status != http.StatusNotFound {
			t.Errorf("webhook after delete: got %d, want 404", res.Status)
		}
	})
}

func TestWebhookReceive(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	globex := h.other("globex")
	for _, k := range hookKinds() {
		t.Run(k.name, func(t *testing.T) {
			ch := h.connect(t, h.a, k.typ, k.name)
			foreign := h.connect(t, globex, k.typ, "Globex "+k.name)
			h.receiveOnce(t, k, ch)
			h.refuse(t, k, ch, foreign)
			h.receiveOnlyWhenActive(t, k, ch)
		})
	}
}

// receiveOnce posts k's first request: stored once, its replay refused.
func (h *hookEnv) receiveOnce(t *testing.T, k hookKind, ch app.Channel) {
	first := k.body(1)
	t.Run("OK", func(t *testing.T) {
		res := h.post("acme", ch.ID, first, k.sign(ch, k.key(ch), first))
		if res.Status != http.StatusOK {
			t.Fatalf("status: got %d, want 200; body: %s", res.Status, snippet(res.Body))
		}
		if k.answer != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), k.answer) {
			t.Errorf("content type: got %v, want %v", res.Header.Get("Content-Type"), k.answer)
		}
		if k.answer == "text/xml" && !strings.Contains(res.Body, "<Response></Response>") {
			t.Errorf("body: got %q, want empty TwiML", res.Body)
		}
		got := withProviderID(messagesOf(t, h.a), k.id(1))
		if len(got) != 1 {
			t.Fatalf("messages %s: got %d, want 1", k.id(1), len(got))
		}
		m := got[0]
		if m.Direction != "in" || !strings.Contains(m.Text, k.text) || m.ChatID == "" {
			t.Errorf("message: got %+v, want an inbound message containing %q in a chat", m, k.text)
		}
		if res := h.a.call("GET", "/api/v1/clients/"+m.ClientID, nil); res.Status != http.StatusOK {
			t.Errorf("client %q of the chat: got %d, want 200", m.ClientID, res.Status)
		}
	})
	t.Run("ErrReplay", func(t *testing.T) {
		if res := h.post("acme", ch.ID, first, k.sign(ch, k.key(ch), first)); res.Status != http.StatusConflict {
			t.Errorf("status: got %d, want 409; body: %s", res.Status, snippet(res.Body))
		}
		if got := len(withProviderID(messagesOf(t, h.a), k.id(1))); got != 1 {
			t.Errorf("messages: got %d, want 1", got)
		}
	})
}

// refuse posts requests that must be refused and store nothing.
func (h *hookEnv) refuse(t *testing.T, k hookKind, ch, foreign app.Channel) {
	signed := func(body []byte) http.Header { return k.sign(ch, k.key(ch), body) }
	next := k.body(2)
	truncated := signed(next)
	truncated.Set(k.header, truncated.Get(k.header)[:len(truncated.Get(k.header))-4])
	noSig := signed(next)
	noSig.Del(k.header)
	cases := []hookCase{
		{"ErrBadSignatureMissing", ch.ID, next, noSig, http.StatusUnauthorized},
		{"ErrBadSignatureWrongKey", ch.ID, next, k.sign(ch, "not-the-channel-secret-"+k.name, next), http.StatusUnauthorized},
		{"ErrBadSignatureTruncated", ch.ID, next, truncated, http.StatusUnauthorized},
		{"ErrMalformed", ch.ID, k.malformed, signed(k.malformed), http.StatusBadRequest},
		{"ErrTooLarge", ch.ID, bytes.Repeat([]byte("x"), 1<<20+1), signed(next), http.StatusRequestEntityTooLarge},
		{"ErrUnknownChannel", whNever, next, signed(next), http.StatusNotFound},
		{"ErrOtherWorkspaceChannel", foreign.ID, next, k.sign(foreign, k.key(foreign), next), http.StatusNotFound},
	}
	if k.typ != app.ChannelTelegram {
		// Telegram's secret token is the same on every update; the others
		// sign the body.
		cases = append(cases, hookCase{"ErrBadSignatureOtherBody", ch.ID, next, signed(k.body(3)), http.StatusUnauthorized})
	}
	if k.typ != app.ChannelWhatsAppCloud && k.typ != app.ChannelInstagram {
		// Meta signs with the app's secret, which two channels of one app
		// share; Telegram's secrets and Twilio's signed URLs differ.
		cases = append(cases, hookCase{"ErrBadSignatureOtherChannel", ch.ID, next, k.sign(foreign, k.key(foreign), next), http.StatusUnauthorized})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := stored(h.a)
			res := h.post("acme", tc.path, tc.body, tc.header)
			if res.Status != tc.status {
				t.Fatalf("status: got %d, want %d; body: %s", res.Status, tc.status, snippet(res.Body))
			}
			if after := stored(h.a); after != before {
				t.Errorf("a refused webhook stored something:\nbefore: %s\nafter:  %s", snippet(before), snippet(after))
			}
		})
	}
	t.Run("ErrOtherWorkspaceSameAsUnknown", func(t *testing.T) {
		hidden := h.post("acme", foreign.ID, next, k.sign(foreign, k.key(foreign), next))
		missing := h.post("acme", whNever, next, signed(next))
		if hidden.Status != missing.Status || hidden.Body != missing.Body {
			t.Errorf("another workspace's channel: got %d %q, want %d %q", hidden.Status, hidden.Body, missing.Status, missing.Body)
		}
	})
}

// receiveOnlyWhenActive turns the channel off, then on again.
func (h *hookEnv) receiveOnlyWhenActive(t *testing.T, k hookKind, ch app.Channel) {
	next := k.body(2)
	for _, tc := range []struct {
		name   string
		active bool
		status int
		stored int
	}{{"ErrInactive", false, http.StatusNotFound, 0}, {"OKReactivated", true, http.StatusOK, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			if res := h.a.call("PATCH", "/api/v1/channels/"+ch.ID, map[string]any{"active": tc.active}); res.Status != http.StatusOK {
				t.Fatalf("set active %v: got %d; body: %s", tc.active, res.Status, snippet(res.Body))
			}
			if res := h.post("acme", ch.ID, next, k.sign(ch, k.key(ch), next)); res.Status != tc.status {
				t.Fatalf("status: got %d, want %d; body: %s", res.Status, tc.status, snippet(res.Body))
			}
			if got := len(withProviderID(messagesOf(t, h.a), k.id(2))); got != tc.stored {
				t.Errorf("messages: got %d, want %d", got, tc.stored)
			}
		})
	}
}

// chatOf returns the chat holding the message the provider knows as id.
func chatOf(t *testing.T, a apiClient, providerID string) hookMsg {
	t.Helper()
	got := withProviderID(messagesOf(t, a), providerID)
	if len(got) != 1 {
		t.Fatalf("messages %s: got %d, want 1", providerID, len(got))
	}
	return got[0]
}

// reply sends text to a chat through the API and returns the answer.
func reply(a apiClient, chatID, text string) response {
	return a.call("POST", "/api/v1/chats/"+chatID+"/messages", map[string]any{"text": text})
}

// sentReply sends text and marks it sent as providerID, as the delivery
// worker would after the provider took it.
func (h *hookEnv) sentReply(t *testing.T, chatID, text, providerID string) string {
	t.Helper()
	res := reply(h.a, chatID, text)
	if res.Status != http.StatusAccepted {
		t.Fatalf("send: got %d, want 202; body: %s", res.Status, snippet(res.Body))
	}
	id := decode[hookMsg](t, res).ID
	h.del.mu.Lock()
	queued := slices.Contains(h.del.sent, id)
	h.del.mu.Unlock()
	if !queued {
		t.Fatalf("message %s was not handed to Delivery", id)
	}
	ctx := context.Background()
	if _, err := h.a.db.BeginDelivery(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := h.a.db.RecordSent(ctx, id, providerID); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *hookEnv) message(t *testing.T, id string) hookMsg {
	t.Helper()
	res := h.a.call("GET", "/api/v1/messages/"+id, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("get message: got %d; body: %s", res.Status, snippet(res.Body))
	}
	return decode[hookMsg](t, res)
}

func TestWebhookStatus(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	t.Run("TwilioSMS", func(t *testing.T) {
		ch := h.connect(t, h.a, app.ChannelTwilioSMS, "SMS")
		in := smsBody("SM000000000000000000000000000000b1", "+14155550123", "Where is my parcel?")
		if res := h.post("acme", ch.ID, in, twilioHeader(ch, whTwilioToken, in)); res.Status != http.StatusOK {
			t.Fatalf("inbound: got %d; body: %s", res.Status, snippet(res.Body))
		}
		chatID := chatOf(t, h.a, "SM000000000000000000000000000000b1").ChatID
		const sid, sid2 = "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4e"
		first := h.sentReply(t, chatID, "It ships today.", sid)
		second := h.sentReply(t, chatID, "Tracking number to follow.", sid2)
		seq, last := 0, []byte(nil)
		callback := func(sid, status, code string) response {
			seq++
			last = statusBody(sid, status, code, seq)
			return h.post("acme", ch.ID, last, twilioHeader(ch, whTwilioToken, last))
		}
		for _, tc := range []struct {
			name, msg, sid, status, code, want, reason string
		}{
			{"Sent", first, sid, "sent", "", "sent", ""},
			{"Delivered", first, sid, "delivered", "", "delivered", ""},
			{"Read", first, sid, "read", "", "read", ""},
			{"LateSentIgnored", first, sid, "sent", "", "read", ""},
			{"LateDeliveredIgnored", first, sid, "delivered", "", "read", ""},
			{"FailedAfterReadIgnored", first, sid, "failed", "30003", "read", ""},
			{"FailedAfterSent", second, sid2, "undelivered", "30003", "failed", "30003"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := callback(tc.sid, tc.status, tc.code)
				if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") {
					t.Fatalf("callback: got %d %q, want 200 text/xml; body: %s", res.Status, res.Header.Get("Content-Type"), snippet(res.Body))
				}
				m := h.message(t, tc.msg)
				if m.Status != tc.want {
					t.Errorf("status: got %v, want %v", m.Status, tc.want)
				}
				if !strings.Contains(m.FailureReason, tc.reason) {
					t.Errorf("failure reason: got %q, want it to mention %q", m.FailureReason, tc.reason)
				}
			})
		}
		t.Run("ErrReplay", func(t *testing.T) {
			before := h.message(t, second)
			if res := h.post("acme", ch.ID, last, twilioHeader(ch, whTwilioToken, last)); res.Status != http.StatusConflict {
				t.Errorf("status: got %d, want 409", res.Status)
			}
			if after := h.message(t, second); after.Status != before.Status || after.FailureReason != before.FailureReason {
				t.Errorf("replay changed the message: got %+v, want %+v", after, before)
			}
		})
		t.Run("UnknownSID", func(t *testing.T) {
			before := len(h.del.retried())
			if res := callback("SMffffffffffffffffffffffffffffffff", "delivered", ""); res.Status != http.StatusOK {
				t.Fatalf("callback: got %d, want 200; body: %s", res.Status, snippet(res.Body))
			}
			got := h.del.retried()[before:]
			if len(got) != 1 || got[0].ProviderMessageID != "SMffffffffffffffffffffffffffffffff" || got[0].Status != app.StatusDelivered || got[0].ChannelID != ch.ID {
				t.Errorf("RetryReport: got %+v, want one delivered report for the unknown SID", got)
			}
		})
	})
	t.Run("WhatsAppCloud", func(t *testing.T) {
		ch := h.connect(t, h.a, app.ChannelWhatsAppCloud, "WhatsApp")
		in := waTextBody("wamid.IN1", "16505551234", "Is it in stock?")
		if res := h.post("acme", ch.ID, in, metaHeader(ch, whMetaSecret, in)); res.Status != http.StatusOK {
			t.Fatalf("inbound: got %d; body: %s", res.Status, snippet(res.Body))
		}
		const wamid = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
		id := h.sentReply(t, chatOf(t, h.a, "wamid.IN1").ChatID, "Yes, in blue and red.", wamid)
		for _, tc := range []struct{ status, want string }{{"delivered", "delivered"}, {"read", "read"}, {"sent", "read"}} {
			t.Run(tc.status, func(t *testing.T) {
				body := waStatusBody(wamid, tc.status)
				if res := h.post("acme", ch.ID, body, metaHeader(ch, whMetaSecret, body)); res.Status != http.StatusOK {
					t.Fatalf("status callback: got %d; body: %s", res.Status, snippet(res.Body))
				}
				if got := h.message(t, id).Status; got != tc.want {
					t.Errorf("status: got %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("UnknownMessage", func(t *testing.T) {
			before := len(h.del.retried())
			body := waStatusBody("wamid.UNKNOWN", "delivered")
			if res := h.post("acme", ch.ID, body, metaHeader(ch, whMetaSecret, body)); res.Status != http.StatusOK {
				t.Fatalf("status callback: got %d; body: %s", res.Status, snippet(res.Body))
			}
			if got := len(h.del.retried()) - before; got != 1 {
				t.Errorf("RetryReport calls: got %v, want %v", got, 1)
			}
		})
	})
}

func TestWebhookHandshake(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	wa := h.connect(t, h.a, app.ChannelWhatsAppCloud, "WhatsApp")
	ig := h.connect(t, h.a, app.ChannelInstagram, "Instagram")
	tg := h.connect(t, h.a, app.ChannelTelegram, "Bot")
	sms := h.connect(t, h.a, app.ChannelTwilioSMS, "SMS")
	q := func(token, challenge string) string {
		return "?" + url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {challenge}}.Encode()
	}
	b := h.e.browser()
	for _, tc := range []struct {
		name   string
		path   string
		status int
		body   string
	}{
		{"OK", "/hooks/" + wa.ID + q(whMetaVerify, "12345"), 200, "12345"},
		{"OKInstagram", "/hooks/" + ig.ID + q(whMetaVerify, "1158201444"), 200, "1158201444"},
		{"ErrWrongToken", "/hooks/" + wa.ID + q("guess", "12345"), 403, ""},
		{"ErrNoMode", "/hooks/" + wa.ID + "?hub.verify_token=" + whMetaVerify + "&hub.challenge=12345", 403, ""},
		{"ErrChallengeNotEchoed", "/hooks/" + wa.ID + q(whMetaVerify, "<script>alert(1)</script>"), 403, ""},
		{"ErrTelegram", "/hooks/" + tg.ID + q(whMetaVerify, "12345"), 405, ""},
		{"ErrTwilio", "/hooks/" + sms.ID + q(whMetaVerify, "12345"), 405, ""},
		{"ErrUnknownChannel", "/hooks/" + whNever + q(whMetaVerify, "12345"), 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.get("acme", tc.path)
			if res.Status != tc.status {
				t.Fatalf("status: got %d, want %d; body: %s", res.Status, tc.status, snippet(res.Body))
			}
			if tc.body != "" && res.Body != tc.body {
				t.Errorf("body: got %q, want %q", res.Body, tc.body)
			}
			if tc.status != 200 && strings.Contains(res.Body, "12345") {
				t.Errorf("a refused handshake echoed the challenge: %q", res.Body)
			}
		})
	}
}

func TestWebhookOptOut(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	ch := h.connect(t, h.a, app.ChannelTwilioSMS, "SMS")
	inbound := func(t *testing.T, sid, text string) hookMsg {
		t.Helper()
		body := smsBody(sid, "+14155550123", text)
		if res := h.post("acme", ch.ID, body, twilioHeader(ch, whTwilioToken, body)); res.Status != http.StatusOK {
			t.Fatalf("inbound %q: got %d; body: %s", text, res.Status, snippet(res.Body))
		}
		return chatOf(t, h.a, sid)
	}
	optedOut := func(t *testing.T, clientID string) bool {
		t.Helper()
		c := decode[clientRes](t, h.a.call("GET", "/api/v1/clients/"+clientID, nil))
		if len(c.Contacts) != 1 {
			t.Fatalf("contacts: got %d, want 1", len(c.Contacts))
		}
		return c.Contacts[0].OptedOutAt != nil
	}
	m := inbound(t, "SM000000000000000000000000000000c1", "STOP")
	t.Run("Stop", func(t *testing.T) {
		if !optedOut(t, m.ClientID) {
			t.Fatalf("opted_out_at: got none, want set after STOP")
		}
		res := reply(h.a, m.ChatID, "One more offer!")
		if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "STOP") {
			t.Errorf("reply: got %d %s, want 422 mentioning STOP", res.Status, snippet(res.Body))
		}
	})
	t.Run("Start", func(t *testing.T) {
		inbound(t, "SM000000000000000000000000000000c2", "start ")
		if optedOut(t, m.ClientID) {
			t.Fatalf("opted_out_at: got set, want none after START")
		}
		if res := reply(h.a, m.ChatID, "Welcome back."); res.Status != http.StatusAccepted {
			t.Errorf("reply: got %d, want 202; body: %s", res.Status, snippet(res.Body))
		}
	})
}

func TestWebhookWhatsAppWindow(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	cloud := h.connect(t, h.a, app.ChannelWhatsAppCloud, "WhatsApp")
	viaTwilio := h.connect(t, h.a, app.ChannelTwilioWhatsApp, "WhatsApp via Twilio")
	waBody := waTextBody("wamid.WINDOW1", "16505551234", "Can I change my order?")
	twBody := hookKinds()[2].body(7)
	chats := map[string]string{}
	for _, in := range []struct {
		name, id string
		ch       app.Channel
		body     []byte
		header   http.Header
	}{
		{"WhatsAppCloud", "wamid.WINDOW1", cloud, waBody, metaHeader(cloud, whMetaSecret, waBody)},
		{"TwilioWhatsApp", hookKinds()[2].id(7), viaTwilio, twBody, twilioHeader(viaTwilio, whTwilioToken, twBody)},
	} {
		if res := h.post("acme", in.ch.ID, in.body, in.header); res.Status != http.StatusOK {
			t.Fatalf("inbound %s: got %d; body: %s", in.name, res.Status, snippet(res.Body))
		}
		chats[in.name] = chatOf(t, h.a, in.id).ChatID
	}
	for _, step := range []struct {
		name    string
		advance time.Duration
		status  int
	}{{"OKWithin23Hours", 23 * time.Hour, 202}, {"ErrAfter25Hours", 2 * time.Hour, 422}} {
		h.e.clock.Advance(step.advance)
		for _, name := range []string{"WhatsAppCloud", "TwilioWhatsApp"} {
			t.Run(step.name+"/"+name, func(t *testing.T) {
				res := reply(h.a, chats[name], "Yes, until it ships.")
				if res.Status != step.status {
					t.Fatalf("reply: got %d, want %d; body: %s", res.Status, step.status, snippet(res.Body))
				}
				if step.status == 422 && !strings.Contains(res.Body, "24 hours") {
					t.Errorf("error: got %s, want it to explain the 24 hours", snippet(res.Body))
				}
			})
		}
	}
}

func TestWebhookMedia(t *testing.T) {
	t.Parallel()
	h := hookSetup(t)
	ch := h.connect(t, h.a, app.ChannelTwilioSMS, "SMS")
	other := h.connect(t, h.a, app.ChannelTwilioWhatsApp, "WhatsApp via Twilio")
	globex := h.other("globex")
	in := smsBody("SM000000000000000000000000000000d1", "+14155550123", "Can you send the invoice?")
	if res := h.post("acme", ch.ID, in, twilioHeader(ch, whTwilioToken, in)); res.Status != http.StatusOK {
		t.Fatalf("inbound: got %d; body: %s", res.Status, snippet(res.Body))
	}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 64)...)
	m, err := h.a.db.SendMessage(context.Background(), chatOf(t, h.a, "SM000000000000000000000000000000d1").ChatID,
		app.SendInput{Text: "Here it is.", Uploads: []app.Upload{{Filename: "invoice 7.png", Data: png}}},
		app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("attachments: got %d, want 1", len(m.Attachments))
	}
	att := m.Attachments[0]
	// The handler checks expiry against the wall clock (time.Now), the
	// test's server clock is fixed: links meant to work are signed at the
	// later of the two, expired ones before the earlier.
	server, late, early := h.e.clock.Now(), time.Now(), h.e.clock.Now()
	if late.Before(server) {
		late, early = server, time.Now()
	}
	link := func(c app.Channel, at time.Time) string {
		return strings.TrimPrefix(channel.MediaURL(c, att, at), "http://acme.parley.test")
	}
	good := link(ch, late)
	u, _ := url.Parse(good)
	sig := u.Query().Get("s")
	flipped := "0"
	if strings.HasSuffix(sig, "0") {
		flipped = "1"
	}
	tampered := strings.Replace(good, "s="+sig, "s="+sig[:len(sig)-1]+flipped, 1)
	exp := u.Query().Get("e")
	n, _ := strconv.ParseInt(exp, 10, 64)
	later := strings.Replace(good, "e="+exp, "e="+strconv.FormatInt(n+3600, 10), 1)
	b := h.e.browser()
	for _, tc := range []struct {
		name, host, path string
		status           int
	}{
		{"OK", "acme", good, 200},
		{"ErrTamperedSignature", "acme", tampered, 404},
		{"ErrTamperedExpiry", "acme", later, 404},
		{"ErrExpired", "acme", link(ch, early.Add(-25*time.Hour)), 404},
		{"ErrOtherChannelPath", "acme", strings.Replace(good, ch.ID, other.ID, 1), 404},
		{"ErrOtherChannelSigned", "acme", link(other, late), 404},
		{"ErrOtherWorkspace", globex.host, good, 404},
		{"ErrNoSignature", "acme", u.Path, 404},
		// Signed with the server's own clock, as the provider driver does:
		// the handler should judge expiry by the same clock.
		{"OKServerClock", "acme", link(ch, server), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.get(tc.host, tc.path)
			if res.Status != tc.status {
				t.Fatalf("GET %s: got %d, want %d; body: %s", tc.path, res.Status, tc.status, snippet(res.Body))
			}
			if tc.status != 200 {
				return
			}
			if res.Body != string(png) {
				t.Errorf("body: got %d bytes, want the attachment's %d", len(res.Body), len(png))
			}
			if ct := res.Header.Get("Content-Type"); ct != "image/png" {
				t.Errorf("content type: got %v, want %v", ct, "image/png")
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", res.Header.Get("X-Content-Type-Options"))
			}
		})
	}
	t.Run("ErrExpiredByServerClock", func(t *testing.T) {
		path := link(ch, server)
		h.e.clock.Advance(25 * time.Hour)
		if res := b.get("acme", path); res.Status != http.StatusNotFound {
			t.Errorf("GET after 25 h: got %d, want 404", res.Status)
		}
	})
}
