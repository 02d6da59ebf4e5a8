package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
	"parley/app/channel/twilio"
)

const (
	testSID    = "AC0123456789abcdef0123456789abcdef"
	testToken  = "0123456789abcdef0123456789abcdef"
	testHook   = "https://parley.example.com/hooks/ch1"
	testSecret = "k3Y_fake-webhook-secret-0123456789abcdefghij"
	ourNumber  = "+14155550100"
)

// Numbers the fake answers with an error.
const (
	badNumber     = "+15005550001" // 400, 21211
	downNumber    = "+15005550002" // 503
	slowNumber    = "+15005550003" // 429 with Retry-After: 7
	slowNoHeader  = "+15005550004" // 429 without Retry-After
	windowNumber  = "+15005550005" // 400, 63016
	optedOutPhone = "+15005550006" // 400, 21610
)

var testNow = time.Date(2025, 3, 4, 10, 15, 42, 0, time.UTC)

// jpeg is the start of a JPEG file: enough for sniffing.
var jpeg = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00fake image")

// recorded is one request the fake Twilio received.
type recorded struct {
	Method, Path, ContentType, Body string
	User, Pass                      string
	HasAuth                         bool
	Form                            url.Values
}

// fakeTwilio speaks the parts of Twilio's REST API Parley uses: the
// Account and Call resources, Create Message, and Media behind a redirect
// to a CDN path.
type fakeTwilio struct {
	*httptest.Server
	foreign *httptest.Server // a host that is not Twilio's
	mu      sync.Mutex
	reqs    []recorded
}

func newFake(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.foreign = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(jpeg) }))
	t.Cleanup(f.Close)
	t.Cleanup(f.foreign.Close)
	return f
}

func (f *fakeTwilio) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, pass, ok := r.BasicAuth()
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Body: string(body), User: user, Pass: pass, HasAuth: ok, Form: form})
	f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/cdn/") {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg)
		return
	}
	if !ok || user != testSID || pass != testToken {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	acct := "/2010-04-01/Accounts/" + testSID
	switch p := r.URL.Path; {
	case p == acct+".json" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(map[string]any{"sid": testSID, "friendly_name": "Acme Support", "status": "active", "type": "Full"})
	case p == acct+"/Messages.json" && r.Method == http.MethodPost:
		f.createMessage(w, form)
	case strings.HasPrefix(p, acct+"/Messages/") && strings.Contains(p, "/Media/ME"):
		target := f.URL + "/cdn/" + p[strings.LastIndex(p, "/")+1:]
		if strings.HasSuffix(p, "foreign") {
			target = f.foreign.URL + "/evil"
		}
		http.Redirect(w, r, target, http.StatusFound)
	case strings.HasPrefix(p, acct+"/Calls/CA5e6f708192a3b4c5d6e7f8091a2b3c4d.json"):
		json.NewEncoder(w).Encode(map[string]any{"sid": "CA5e6f708192a3b4c5d6e7f8091a2b3c4d",
			"from": "+14155550123", "to": ourNumber, "direction": "inbound", "status": "completed", "duration": "192"})
	default:
		twilioError(w, 404, 20404, "The requested resource "+p+" was not found")
	}
}

func (f *fakeTwilio) createMessage(w http.ResponseWriter, form url.Values) {
	switch strings.TrimPrefix(form.Get("To"), "whatsapp:") {
	case badNumber:
		twilioError(w, 400, 21211, "The 'To' number "+badNumber+" is not a valid phone number.")
	case downNumber:
		twilioError(w, 503, 20503, "Service Unavailable")
	case slowNumber:
		w.Header().Set("Retry-After", "7")
		twilioError(w, 429, 20429, "Too Many Requests")
	case slowNoHeader:
		twilioError(w, 429, 20429, "Too Many Requests")
	case windowNumber:
		twilioError(w, 400, 63016, "Failed to send freeform message because you are outside the allowed window.")
	case optedOutPhone:
		twilioError(w, 400, 21610, "Attempt to send to unsubscribed recipient")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "status": "queued",
			"to": form.Get("To"), "from": form.Get("From"), "body": form.Get("Body"), "num_media": "0"})
	}
}

// twilioError writes Twilio's error body.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

// testChannel is a channel of type typ whose API is at base.
func testChannel(t testing.TB, typ app.ChannelType, base string) app.Channel {
	t.Helper()
	settings := map[string]string{twilio.KeyAccountSID: testSID, twilio.KeyFromNumber: ourNumber,
		channel.WebhookURLKey: testHook}
	if base != "" {
		settings[twilio.KeyBaseURL] = base
	}
	b, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	return app.Channel{ID: "ch1", Type: typ, Settings: b, Active: true,
		Secrets: map[string]string{twilio.KeyAuthToken: testToken, app.WebhookSecretKey: testSecret}}
}

func newDriver(client *http.Client) *twilio.Driver {
	return twilio.New(twilio.Options{Client: client, Now: func() time.Time { return testNow }})
}

// sign is an implementation of Twilio's signature independent of the
// package's: URL, then each name and value sorted by name.
func sign(token, rawURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := rawURL
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signed is a webhook request for body, signed with the test token.
func signed(rawURL, body string) app.WebhookRequest {
	form, _ := url.ParseQuery(body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(twilio.SignatureHeader, sign(testToken, rawURL, form))
	return app.WebhookRequest{URL: rawURL, Header: h, Body: []byte(body)}
}

// sample reads a testdata body with Twilio's API host replaced by base.
func sample(t testing.TB, name, base string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if base != "" {
		s = strings.ReplaceAll(s, url.QueryEscape("https://api.twilio.com"), url.QueryEscape(base))
	}
	return s
}

// offline fails every request: fuzz targets must not reach the network.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) { return nil, errors.New("offline") }
