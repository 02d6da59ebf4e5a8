package telegram_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"parley/app"
	"parley/app/channel/telegram"
)

// Credentials of the fake bot. The token has the real shape; the secret is
// what Parley generates (43 characters of A-Za-z0-9_-).
const (
	token  = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	secret = "Zt6v1q3b_0m-8a9kqXcW2LhV5uN7yR4eP1sD3fG6hJ0"
)

// Files the fake serves at /file/bot<token>/<path>.
var (
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00fake photo")
	pdfBytes  = []byte("%PDF-1.4\nfake document")
	oggBytes  = []byte("OggS\x00fake voice")
)

// recorded is one request the fake Bot API received.
type recorded struct {
	Method, Path, ContentType string
	Body                      []byte
	// Form is the parsed multipart/form-data body of an upload.
	Form *multipart.Form
}

// fakeTelegram speaks the Bot API's wire format: POST or GET
// /bot<token>/<method>, answers {"ok":true,"result":…} or
// {"ok":false,"error_code":…,"description":…}, and serves files at
// /file/bot<token>/<file_path>.
type fakeTelegram struct {
	srv *httptest.Server

	mu     sync.Mutex
	reqs   []recorded
	nextID int
	// answers replace the default answer of a method (or of "file").
	answers map[string]http.HandlerFunc
	// files maps file_id to file_path, and file_path to the bytes.
	paths map[string]string
	files map[string][]byte
}

func newFake(t *testing.T) *fakeTelegram {
	f := &fakeTelegram{nextID: 42, answers: map[string]http.HandlerFunc{},
		paths: map[string]string{
			"AgACAgQAAxkBAAIBZ2ZPhotoLarge":      "photos/file_0.jpg",
			"AwADBAADbXXXXXXXXXXXGBdhD2l6_XX":    "documents/file_1.pdf",
			"AwADBAADbXXXXXXXXXXXGBdhD2l6_Voice": "voice/file_2.oga",
		},
		files: map[string][]byte{"photos/file_0.jpg": jpegBytes, "documents/file_1.pdf": pdfBytes, "voice/file_2.oga": oggBytes},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// answer makes method (or "file") answer with h.
func (f *fakeTelegram) answer(method string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = h
}

// requests returns what the fake received so far.
func (f *fakeTelegram) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeTelegram) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body}
	if mt, params, err := mime.ParseMediaType(rec.ContentType); err == nil && mt == "multipart/form-data" {
		rec.Form, _ = multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(1 << 20)
	}
	method, isFile := "", false
	switch {
	case strings.HasPrefix(r.URL.Path, "/file/bot"+token+"/"):
		method, isFile = "file", true
	case strings.HasPrefix(r.URL.Path, "/bot"+token+"/"):
		method = strings.TrimPrefix(r.URL.Path, "/bot"+token+"/")
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	h := f.answers[method]
	f.mu.Unlock()
	switch {
	case method == "":
		apiFail(w, http.StatusUnauthorized, "Unauthorized")
	case h != nil:
		h(w, r)
	case isFile:
		f.serveFile(w, strings.TrimPrefix(r.URL.Path, "/file/bot"+token+"/"))
	default:
		f.serveMethod(w, method, body)
	}
}

func (f *fakeTelegram) serveMethod(w http.ResponseWriter, method string, body []byte) {
	switch method {
	case "getMe":
		apiOK(w, `{"id":123456789,"is_bot":true,"first_name":"Acme","username":"acme_bot","can_join_groups":true}`)
	case "setWebhook":
		apiOK(w, `true`)
	case "sendMessage", "sendPhoto", "sendDocument":
		f.mu.Lock()
		id := f.nextID
		f.nextID++
		f.mu.Unlock()
		apiOK(w, fmt.Sprintf(`{"message_id":%d,"from":{"id":123456789,"is_bot":true,"first_name":"Acme","username":"acme_bot"},`+
			`"chat":{"id":1111111,"first_name":"Test Firstname","type":"private"},"date":1441645532}`, id))
	case "getFile":
		var req struct {
			FileID string `json:"file_id"`
		}
		_ = json.Unmarshal(body, &req)
		f.mu.Lock()
		p, ok := f.paths[req.FileID]
		size := len(f.files[p])
		f.mu.Unlock()
		if !ok {
			apiFail(w, http.StatusBadRequest, "Bad Request: invalid file_id")
			return
		}
		apiOK(w, fmt.Sprintf(`{"file_id":%q,"file_unique_id":"AgADuniq","file_size":%d,"file_path":%q}`, req.FileID, size, p))
	default:
		apiFail(w, http.StatusNotFound, "Not Found: method not found")
	}
}

func (f *fakeTelegram) serveFile(w http.ResponseWriter, p string) {
	f.mu.Lock()
	data, ok := f.files[p]
	f.mu.Unlock()
	if !ok {
		apiFail(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

func apiOK(w http.ResponseWriter, result string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true,"result":`+result+`}`)
}

// apiFail answers as the Bot API does when it refuses a call.
func apiFail(w http.ResponseWriter, status int, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": status, "description": description})
	_, _ = w.Write(b)
}

// setup returns a fake Bot API, a driver and a channel pointed at it.
func setup(t *testing.T) (*fakeTelegram, *telegram.Driver, app.Channel) {
	t.Helper()
	f := newFake(t)
	ch := app.Channel{
		ID: "ch_tg", Type: app.ChannelTelegram, Name: "Acme bot", Active: true,
		Settings: json.RawMessage(`{"api_base_url":"` + f.srv.URL + `"}`),
		Secrets:  map[string]string{telegram.KeyBotToken: token, app.WebhookSecretKey: secret},
	}
	return f, telegram.New(telegram.Options{Client: f.srv.Client()}), ch
}
