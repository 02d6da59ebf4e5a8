package main

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
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"parley/app"
	"parley/app/channel/email"
	"parley/app/channel/meta"
	"parley/app/channel/telegram"
	"parley/app/channel/twilio"
	"parley/tenantdb"
)

// The channel benchmarks drive each provider's webhook (ingest) and send
// paths through the whole running server, against fake provider APIs that
// speak the providers' wire formats, as the provider packages' tests do.

const (
	// benchWorkers is how many webhook or API calls are in flight at once.
	benchWorkers = 8
	// benchSenders is how many customers an ingest run cycles through: at
	// -benchtime=200x each writes four times, so most messages reuse a
	// client and a chat, as a provider's real traffic does.
	benchSenders = 50
)

// Credentials of the fake provider accounts, in the shapes the providers
// validate.
const (
	benchTelegramToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	benchTwilioSID     = "AC0123456789abcdef0123456789abcdef"
	benchTwilioToken   = "0123456789abcdef0123456789abcdef"
	benchTwilioNumber  = "+14155550100"
	benchMetaToken     = "EAAJB0test0token"
	benchMetaSecret    = "6c1f2b9e8d7a4c3b2a1f0e9d8c7b6a5f"
	benchMetaPNID      = "106540352242922"
	benchMailbox       = "support@acme.example"
)

// benchRef finds a reply's key in what a provider received: replies end
// with "(ref <provider>-<n>)".
var benchRef = regexp.MustCompile(`\(ref ([a-z_]+-[0-9]+)\)`)

// BenchmarkChannelIngest measures each provider's inbound webhook over
// HTTP: correctly signed messages from benchSenders customers, posted by
// benchWorkers callers at once. Each must be answered 200.
func BenchmarkChannelIngest(b *testing.B) {
	cb := newChannelBench(b)
	for _, p := range benchProviders() {
		if p.name == "twilio_whatsapp" {
			continue // twilio_sms covers Twilio's webhook
		}
		b.Run(p.name, func(b *testing.B) { cb.ingest(b, p) })
	}
}

// BenchmarkChannelSend measures replies through each provider: b.N
// replies to one chat posted over the API as fast as they are accepted,
// until the fake provider has received every one. msgs/s is the rate
// achieved from the first request to the last receipt, which the send
// burst lifts above the provider's published rate (limit-msgs/s);
// paced-msgs/s leaves the burst out. accept is the API's answer time, and
// to-provider the time from a reply's 202 to its receipt, so it includes
// the wait in the paced queue.
func BenchmarkChannelSend(b *testing.B) {
	cb := newChannelBench(b)
	for _, p := range benchProviders() {
		if p.name == "twilio_sms" {
			continue // one SMS a second: a benchmark of the limiter only
		}
		b.Run(p.name, func(b *testing.B) { cb.send(b, p) })
	}
}

// channelBench is a running server with the demo workspace and an admin
// API token. seq numbers every message, so ids stay distinct across runs.
type channelBench struct {
	m           *Main
	base, token string
	seq         atomic.Int64
}

func newChannelBench(b *testing.B) *channelBench {
	// Channels point at fake providers and a mail server on this machine.
	m, base := startServer(b, func(c *Config) {
		c.Demo, c.LogLevel, c.AllowAPIBaseURL, c.AllowPrivateMailHosts = true, "error", true, true
	})
	cb := &channelBench{m: m, base: base, token: benchToken(b, m)}
	quietSandbox(b, m)
	return cb
}

func (cb *channelBench) ingest(b *testing.B, p benchProvider) {
	got := &receipts{at: map[string]time.Time{}}
	ch := cb.connect(b, p, got)
	b.ResetTimer()
	start := time.Now()
	lat, err := fanOut(b.N, func(int) (time.Duration, error) {
		seq := cb.seq.Add(1)
		body, h := p.inbound(ch, seq, int(seq%benchSenders), fmt.Sprintf("Hello, where is my order %d?", seq))
		t0 := time.Now()
		status, err := cb.hook(ch, body, h)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("webhook %d: got %d, want 200", seq, status)
		}
		return time.Since(t0), err
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	reportPercentiles(b, "ingest", lat)
}

func (cb *channelBench) send(b *testing.B, p benchProvider) {
	got := &receipts{at: map[string]time.Time{}}
	ch := cb.connect(b, p, got)
	chat := cb.openChat(b, ch, p)
	keys, accepted := make([]string, b.N), make([]time.Time, b.N)
	b.ResetTimer()
	start := time.Now()
	accept, err := fanOut(b.N, func(i int) (time.Duration, error) {
		keys[i] = fmt.Sprintf("%s-%d", p.name, cb.seq.Add(1))
		t0 := time.Now()
		status, err := cb.api("POST", "/api/v1/chats/"+chat+"/messages",
			map[string]string{"text": "Thanks, we are on it (ref " + keys[i] + ")."})
		accepted[i] = time.Now()
		if err == nil && status != http.StatusAccepted {
			err = fmt.Errorf("send %s: got %d, want 202", keys[i], status)
		}
		return accepted[i].Sub(t0), err
	})
	if err != nil {
		b.Fatal(err)
	}
	// Paced at the provider's rate, b.N replies take about b.N/limit.
	arrived, ok := got.await(keys, time.Now().Add(30*time.Second+time.Duration(float64(b.N)/p.limit*2*float64(time.Second))))
	b.StopTimer()
	if !ok {
		b.Fatalf("%d of %d replies reached the provider", len(arrived), b.N)
	}
	toProvider, at := make([]time.Duration, b.N), make([]time.Time, b.N)
	for i, k := range keys {
		toProvider[i], at[i] = arrived[k].Sub(accepted[i]), arrived[k]
	}
	slices.SortFunc(at, time.Time.Compare)
	b.ReportMetric(float64(b.N)/at[b.N-1].Sub(start).Seconds(), "msgs/s")
	// The limiter lets SendBurst go at once, then SendRate a second: over
	// the receipts, the replies beyond the burst show the pace.
	if b.N > p.burst {
		b.ReportMetric(float64(b.N-p.burst)/at[b.N-1].Sub(at[0]).Seconds(), "paced-msgs/s")
	}
	b.ReportMetric(p.limit, "limit-msgs/s")
	reportPercentiles(b, "accept", accept)
	reportPercentiles(b, "to-provider", toProvider)
}

// benchChannel is a connected channel: its webhook URL, and the webhook
// secret Parley generated (read back from the tenant, since the API never
// shows it).
type benchChannel struct {
	id, hookURL, secret string
}

// connect starts the provider's fake, recording replies in got, and
// connects a channel to it over the API.
func (cb *channelBench) connect(b *testing.B, p benchProvider, got *receipts) benchChannel {
	b.Helper()
	var fake string
	if p.typ == app.ChannelEmail {
		fake = startFakeSMTP(b, got)
	} else {
		srv := httptest.NewServer(&fakeProviders{got: got})
		b.Cleanup(srv.Close)
		fake = srv.URL
	}
	res := benchAPI(b, cb.base, cb.token, "POST", "/api/v1/channels",
		map[string]any{"type": p.typ, "name": "Bench " + p.name, "settings": p.settings(fake)})
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out struct {
		ID         string `json:"id"`
		WebhookURL string `json:"webhook_url"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &out) != nil {
		b.Fatalf("connect %s: got %d %s", p.name, res.StatusCode, raw)
	}
	ch := benchChannel{id: out.ID, hookURL: out.WebhookURL}
	withDemo(b, cb.m, func(ctx context.Context, db *tenantdb.DB) {
		c, err := db.ChannelByID(ctx, out.ID)
		if err != nil {
			b.Fatal(err)
		}
		ch.secret = c.Secrets[app.WebhookSecretKey]
	})
	return ch
}

// openChat makes a new customer write once through the channel, which
// opens the chat (and WhatsApp's 24-hour window, and gives Telegram the
// chat id to answer in), and returns the chat's id.
func (cb *channelBench) openChat(b *testing.B, ch benchChannel, p benchProvider) string {
	b.Helper()
	seq := cb.seq.Add(1)
	text := fmt.Sprintf("Hi, a question about order %d", seq)
	body, h := p.inbound(ch, seq, 100000+int(seq), text)
	if status, err := cb.hook(ch, body, h); err != nil || status != http.StatusOK {
		b.Fatalf("opening webhook: got %d, %v, want 200", status, err)
	}
	res := benchAPI(b, cb.base, cb.token, "GET", "/api/v1/chats?transport="+string(p.transport), nil)
	defer res.Body.Close()
	var page struct{ Data []app.Chat }
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		b.Fatalf("chats: %v", err)
	}
	for _, c := range page.Data {
		if c.LastPreview == text {
			return c.ID
		}
	}
	b.Fatalf("no %s chat shows %q", p.transport, text)
	return ""
}

// hook posts a provider's webhook request to the channel.
func (cb *channelBench) hook(ch benchChannel, body []byte, h http.Header) (int, error) {
	req, err := http.NewRequest("POST", "http://"+cb.base+"/hooks/"+ch.id, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Host = "demo." + cb.base
	req.Header = h
	return doDrain(req)
}

// api calls the API as benchAPI does, but returns errors instead of
// failing, so that worker goroutines may call it.
func (cb *channelBench) api(method, path string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, "http://"+cb.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Host = "demo." + cb.base
	req.Header.Set("Authorization", "Bearer "+cb.token)
	req.Header.Set("Content-Type", "application/json")
	return doDrain(req)
}

func doDrain(req *http.Request) (int, error) {
	res, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// fanOut makes calls 0…n-1 from benchWorkers goroutines and returns each
// call's own measure of its latency, or the first error (after which no
// new call starts).
func fanOut(n int, call func(i int) (time.Duration, error)) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range benchWorkers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				d, err := call(i)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	return lat, first
}

// receipts records when each reply reached the fake provider, by its ref.
type receipts struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (r *receipts) record(text string) {
	m := benchRef.FindStringSubmatch(text)
	if m == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.at[m[1]]; !ok {
		r.at[m[1]] = now
	}
}

// await waits until every key arrived or the deadline passes, and returns
// the arrivals so far.
func (r *receipts) await(keys []string, deadline time.Time) (map[string]time.Time, bool) {
	for {
		r.mu.Lock()
		n := 0
		for _, k := range keys {
			if _, ok := r.at[k]; ok {
				n++
			}
		}
		got := maps.Clone(r.at)
		r.mu.Unlock()
		if n == len(keys) || time.Now().After(deadline) {
			return got, n == len(keys)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeProviders answers the calls Parley makes to Telegram's Bot API,
// Twilio's Create Message and Meta's Cloud API messages endpoint, in their
// wire formats, and records each reply's text.
type fakeProviders struct {
	got *receipts
	ids atomic.Int64
}

func (f *fakeProviders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := f.ids.Add(1)
	switch r.Method + " " + r.URL.Path {
	case "POST /bot" + benchTelegramToken + "/setWebhook":
		writeBenchJSON(w, http.StatusOK, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "POST /bot" + benchTelegramToken + "/sendMessage":
		var m struct {
			ChatID int64  `json:"chat_id"`
			Text   string `json:"text"`
		}
		_ = json.Unmarshal(body, &m)
		f.got.record(m.Text)
		writeBenchJSON(w, http.StatusOK, fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"date":%d,`+
			`"chat":{"id":%d,"type":"private"},"text":%q}}`, id, time.Now().Unix(), m.ChatID, m.Text))
	case "POST /2010-04-01/Accounts/" + benchTwilioSID + "/Messages.json":
		if u, p, ok := r.BasicAuth(); !ok || u != benchTwilioSID || p != benchTwilioToken {
			writeBenchJSON(w, http.StatusUnauthorized, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		form, _ := url.ParseQuery(string(body))
		f.got.record(form.Get("Body"))
		answer, _ := json.Marshal(map[string]string{"sid": fmt.Sprintf("SM%032x", id), "status": "queued",
			"to": form.Get("To"), "from": form.Get("From"), "body": form.Get("Body"), "num_media": "0"})
		writeBenchJSON(w, http.StatusCreated, string(answer))
	case "POST /" + meta.GraphVersion + "/" + benchMetaPNID + "/messages":
		if r.Header.Get("Authorization") != "Bearer "+benchMetaToken {
			writeBenchJSON(w, http.StatusUnauthorized, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`)
			return
		}
		var m struct {
			To   string `json:"to"`
			Text struct {
				Body string `json:"body"`
			} `json:"text"`
		}
		_ = json.Unmarshal(body, &m)
		f.got.record(m.Text.Body)
		writeBenchJSON(w, http.StatusOK, fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],`+
			`"messages":[{"id":"wamid.bench%d","message_status":"accepted"}]}`, m.To, m.To, id))
	default:
		writeBenchJSON(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found"}`)
	}
}

func writeBenchJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// startFakeSMTP runs a go-smtp server on 127.0.0.1 that takes every
// message without a login and records it; it returns the server's port.
func startFakeSMTP(b *testing.B, got *receipts) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return benchSMTPSession{got}, nil }))
	s.Domain = "mx.bench.example"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.Serve(ln) }()
	b.Cleanup(func() { _ = s.Close() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

type benchSMTPSession struct{ got *receipts }

func (benchSMTPSession) Mail(string, *smtp.MailOptions) error { return nil }
func (benchSMTPSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (benchSMTPSession) Reset()                               {}
func (benchSMTPSession) Logout() error                        { return nil }

func (s benchSMTPSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	s.got.record(string(raw)) // the text/plain part comes first, quoted-printable keeps the ref as it is
	return err
}

// benchProvider is one channel type as the benchmarks drive it.
type benchProvider struct {
	name      string
	typ       app.ChannelType
	transport app.Transport // of its chats
	limit     float64       // the send rate Parley paces the channel to
	burst     int           // how many sends may go at once
	// settings connects the channel to the fake at fake (a URL, or for
	// email the SMTP port).
	settings func(fake string) map[string]string
	// inbound is the provider's signed webhook request carrying text from
	// customer number sender, with provider ids made of seq.
	inbound func(ch benchChannel, seq int64, sender int, text string) ([]byte, http.Header)
}

// benchProviders are the channel types benchmarked, with the send rate and
// burst their drivers declare.
func benchProviders() []benchProvider {
	twilioSettings := func(fake string) map[string]string {
		return map[string]string{"account_sid": benchTwilioSID, "auth_token": benchTwilioToken,
			"from_number": benchTwilioNumber, "api_base_url": fake}
	}
	ps := []benchProvider{
		{name: "telegram", typ: app.ChannelTelegram, transport: app.TransportTelegram, inbound: telegramUpdate,
			settings: func(fake string) map[string]string {
				return map[string]string{"bot_token": benchTelegramToken, "api_base_url": fake}
			}},
		{name: "twilio_sms", typ: app.ChannelTwilioSMS, transport: app.TransportSMS,
			settings: twilioSettings, inbound: twilioMessage(false)},
		{name: "twilio_whatsapp", typ: app.ChannelTwilioWhatsApp, transport: app.TransportWhatsApp,
			settings: twilioSettings, inbound: twilioMessage(true)},
		{name: "whatsapp_cloud", typ: app.ChannelWhatsAppCloud, transport: app.TransportWhatsApp, inbound: whatsAppCloudMessage,
			settings: func(fake string) map[string]string {
				return map[string]string{"access_token": benchMetaToken, "phone_number_id": benchMetaPNID,
					"app_secret": benchMetaSecret, "verify_token": "parley-verify-4f2a", "api_base_url": fake}
			}},
		{name: "email", typ: app.ChannelEmail, transport: app.TransportEmail, inbound: relayedEmail,
			settings: func(port string) map[string]string {
				return map[string]string{"from_address": benchMailbox, "from_name": "Acme Support",
					"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
			}},
	}
	drivers := providerDrivers(time.Now, true)
	for i := range ps {
		spec := drivers[ps[i].typ].Spec()
		ps[i].limit, ps[i].burst = spec.SendRate, spec.SendBurst
	}
	return ps
}

// benchPhone is customer n's mobile number (valid, in E.164).
func benchPhone(n int) string { return fmt.Sprintf("+447911%06d", n%1000000) }

// telegramUpdate is a Bot API update with a private chat's text message,
// proved by the channel's secret token.
func telegramUpdate(ch benchChannel, seq int64, sender int, text string) ([]byte, http.Header) {
	user := map[string]any{"id": 700000000 + sender, "is_bot": false, "first_name": "Customer",
		"last_name": strconv.Itoa(sender), "username": fmt.Sprintf("bench_customer_%d", sender)}
	body, _ := json.Marshal(map[string]any{"update_id": seq, "message": map[string]any{
		"message_id": seq, "date": time.Now().Unix(), "from": user, "text": text,
		"chat": map[string]any{"id": 700000000 + sender, "type": "private", "first_name": "Customer"}}})
	return body, http.Header{"Content-Type": {"application/json"}, telegram.SecretHeader: {ch.secret}}
}

// twilioMessage is Twilio's "a message comes in" form, signed with the
// auth token over the webhook URL and the sorted parameters.
func twilioMessage(whatsApp bool) func(benchChannel, int64, int, string) ([]byte, http.Header) {
	return func(ch benchChannel, seq int64, sender int, text string) ([]byte, http.Header) {
		sid := fmt.Sprintf("SM%032x", seq)
		from, to := benchPhone(sender), benchTwilioNumber
		form := url.Values{"MessageSid": {sid}, "SmsMessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {benchTwilioSID},
			"Body": {text}, "NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
		if whatsApp {
			from, to = "whatsapp:"+from, "whatsapp:"+to
			form.Set("ProfileName", "Customer "+strconv.Itoa(sender))
			form.Set("WaId", from[len("whatsapp:+"):])
		}
		form.Set("From", from)
		form.Set("To", to)
		mac := hmac.New(sha1.New, []byte(benchTwilioToken))
		mac.Write([]byte(ch.hookURL))
		for _, k := range slices.Sorted(maps.Keys(form)) {
			for _, v := range slices.Sorted(slices.Values(form[k])) {
				mac.Write([]byte(k + v))
			}
		}
		return []byte(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			twilio.SignatureHeader: {base64.StdEncoding.EncodeToString(mac.Sum(nil))}}
	}
}

// whatsAppCloudMessage is a WhatsApp Business Account webhook with one
// text message, signed with the app secret (X-Hub-Signature-256).
func whatsAppCloudMessage(_ benchChannel, seq int64, sender int, text string) ([]byte, http.Header) {
	waID := benchPhone(sender)[1:]
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": "15550783881", "phone_number_id": benchMetaPNID},
		"contacts":          []any{map[string]any{"profile": map[string]string{"name": "Customer " + strconv.Itoa(sender)}, "wa_id": waID}},
		"messages": []any{map[string]any{"from": waID, "id": fmt.Sprintf("wamid.HBgLbench%d", seq),
			"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "text", "text": map[string]string{"body": text}}},
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "102290129340398", "changes": []any{map[string]any{"field": "messages", "value": value}}}}})
	mac := hmac.New(sha256.New, []byte(benchMetaSecret))
	mac.Write(body)
	return body, http.Header{"Content-Type": {"application/json"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
}

// relayedEmail is a raw message a mail relay posts, signed with the
// channel's webhook secret.
func relayedEmail(ch benchChannel, seq int64, sender int, text string) ([]byte, http.Header) {
	raw := fmt.Sprintf("From: Customer %d <customer%d@mail.example>\r\nTo: Acme Support <%s>\r\n"+
		"Subject: Order question\r\nDate: %s\r\nMessage-ID: <bench.%d@mail.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		sender, sender, benchMailbox, time.Now().Format(time.RFC1123Z), seq, text)
	return []byte(raw), http.Header{"Content-Type": {"message/rfc822"},
		email.HeaderSignature: {"sha256=" + hex.EncodeToString(email.Sign(ch.secret, []byte(raw)))}}
}
