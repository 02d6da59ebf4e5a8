package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
)

// Fixed values of the fake Meta account.
const (
	testToken      = "EAAJB0test0token"
	testSecret     = "6c1f2b9e8d7a4c3b2a1f0e9d8c7b6a5f"
	testVerify     = "parley-verify-4f2a"
	testPNID       = "106540352242922"
	testPageID     = "104173148762349"
	testIGSID      = "1254459154682919"
	testWebhookURL = "https://parley.example.com/hooks/ch-1"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// recorded is one request the fake Meta received.
type recorded struct {
	Method, Path, RawQuery, Auth, ContentType string
	Body                                      []byte
}

// fakeMeta is a Graph API stand-in on 127.0.0.1: routes answer by
// "METHOD /path", and every request is recorded.
type fakeMeta struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	routes map[string]http.HandlerFunc
}

func newFakeMeta(t *testing.T) *fakeMeta {
	t.Helper()
	f := &fakeMeta{routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMeta) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body})
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if h == nil {
		metaError(w, http.StatusBadRequest, 100, 33, "Unsupported request")
		return
	}
	h(w, r)
}

// route sets what the fake answers to "METHOD /path".
func (f *fakeMeta) route(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[pattern] = h
}

func (f *fakeMeta) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// jsonAnswer answers with a JSON body.
func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// metaError writes the Graph API's error object.
func metaError(w http.ResponseWriter, status, code, subcode int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"error_subcode":%d,"fbtrace_id":"AbCdEf123"}}`,
		msg, code, subcode)
}

// loopbackOnly refuses every request that would leave the machine, so no
// test can reach Meta by mistake.
type loopbackOnly struct{}

func (loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if ip := net.ParseIP(r.URL.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test transport: %s is not a loopback host", r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func testDriver() *Driver {
	return New(Options{Client: &http.Client{Transport: loopbackOnly{}, Timeout: 10 * time.Second},
		Now: func() time.Time { return testNow }})
}

// testChannel is a channel of type t whose API is the fake server.
func testChannel(t app.ChannelType, baseURL string) app.Channel {
	settings := map[string]string{keyAPIBaseURL: baseURL, "webhook_url": testWebhookURL}
	if t == app.ChannelWhatsAppCloud {
		settings[keyPhoneNumberID] = testPNID
	} else {
		settings[keyPageID] = testPageID
	}
	raw, _ := json.Marshal(settings)
	return app.Channel{ID: "ch-1", Type: t, Settings: raw, Secrets: map[string]string{
		keyAccessToken: testToken, keyAppSecret: testSecret, keyVerifyToken: testVerify,
		app.WebhookSecretKey: "wh_3eB6xZpQ9rT2vK8mN4cJ7yL1sD5fG0hA-uW_iO3e",
	}}
}

// sign returns the X-Hub-Signature-256 Meta would send for body.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// signed is a webhook request signed with the test app secret.
func signed(body []byte) app.WebhookRequest {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(signatureHeader, sign(testSecret, body))
	return app.WebhookRequest{URL: testWebhookURL, Header: h, Body: body}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jpegBytes sniff as image/jpeg.
var jpegBytes = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}, make([]byte, 64)...)

// sendErr unwraps a *app.SendError, failing when err is not one.
func sendErr(t *testing.T, err error) *app.SendError {
	t.Helper()
	se, ok := err.(*app.SendError)
	if !ok {
		t.Fatalf("got error %T %v, want *app.SendError", err, err)
	}
	return se
}
