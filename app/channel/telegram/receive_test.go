package telegram_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"parley/app"
	"parley/app/channel/telegram"
)

// webhook is Telegram's POST of a sample update, with the secret header.
func webhook(t *testing.T, sample string) app.WebhookRequest {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", sample))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(telegram.SecretHeader, secret)
	return app.WebhookRequest{URL: "https://parley.example.com/hooks/ch_tg", Header: h, Body: body}
}

func TestReceiveText(t *testing.T) {
	t.Parallel()
	_, d, ch := setup(t)
	in, err := d.Receive(context.Background(), ch, webhook(t, "text.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := app.InboundMessage{
		ChannelID:         "ch_tg",
		From:              app.ContactInput{Type: app.ContactTelegram, Value: "1111111", Label: "@Testusername"},
		Transport:         app.TransportTelegram,
		SenderName:        "Test Firstname Test Lastname",
		SenderMeta:        map[string]string{"address": "1111111", "user_id": "1111111", "username": "Testusername"},
		Text:              "Hello, is my order on its way?",
		ProviderMessageID: "10000",
		Direction:         app.DirectionIn,
		Meta:              map[string]string{"message_id": "1365"},
	}
	if len(in.Messages) != 1 || !reflect.DeepEqual(in.Messages[0], want) {
		t.Errorf("got %+v, want %+v", in.Messages, want)
	}
	if len(in.Statuses) != 0 || in.Body != "" {
		t.Errorf("got statuses %v body %q, want none", in.Statuses, in.Body)
	}
}

func TestReceive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sample      string
		wantNone    bool
		wantFrom    string
		wantLabel   string
		wantText    string
		wantUpload  string // file name; "" for none
		wantData    []byte
		wantFetches []string // Bot API paths called, after /bot<token>
	}{
		{sample: "photo_caption.json", wantFrom: "1111111", wantLabel: "@Testusername", wantText: "The parcel arrived damaged",
			wantUpload: "file_0.jpg", wantData: jpegBytes, wantFetches: []string{"/getFile", "/file/photos/file_0.jpg"}},
		{sample: "document.json", wantFrom: "1111111", wantLabel: "@Testusername", wantUpload: "Testfile.pdf", wantData: pdfBytes,
			wantFetches: []string{"/getFile", "/file/documents/file_1.pdf"}},
		{sample: "voice.json", wantFrom: "1111111", wantLabel: "@Testusername", wantUpload: "file_2.oga", wantData: oggBytes,
			wantFetches: []string{"/getFile", "/file/voice/file_2.oga"}},
		{sample: "location.json", wantFrom: "2222222", wantText: "[location 51.5, -0.12]"},
		{sample: "contact.json", wantFrom: "1111111", wantLabel: "@Testusername", wantText: "[contact: Bob Builder, +447911123456]"},
		{sample: "sticker_animated.json", wantFrom: "1111111", wantLabel: "@Testusername", wantText: "[animated sticker 😀]"},
		{sample: "big_document.json", wantFrom: "1111111", wantLabel: "@Testusername",
			wantText: "Here is the whole catalogue\n[The client sent a file “catalogue.pdf” of 25 MB, over the 10 MB limit; it was not downloaded.]"},
		// Another person who took over @Testusername is another contact.
		{sample: "username_reused.json", wantFrom: "3333333", wantLabel: "@Testusername", wantText: "Hello, is my order on its way?"},
		{sample: "group.json", wantNone: true},
		{sample: "edited_message.json", wantNone: true},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.sample, ".json"), func(t *testing.T) {
			t.Parallel()
			f, d, ch := setup(t)
			in, err := d.Receive(context.Background(), ch, webhook(t, tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, r := range f.requests() {
				paths = append(paths, strings.Replace(strings.Replace(r.Path, "/file/bot"+token, "/file", 1), "/bot"+token, "", 1))
			}
			if !reflect.DeepEqual(paths, tt.wantFetches) {
				t.Errorf("got calls %v, want %v", paths, tt.wantFetches)
			}
			if tt.wantNone {
				if len(in.Messages) != 0 {
					t.Errorf("got %+v, want no message", in.Messages)
				}
				return
			}
			if len(in.Messages) != 1 {
				t.Fatalf("got %d messages, want 1", len(in.Messages))
			}
			m := in.Messages[0]
			if m.From.Value != tt.wantFrom || m.From.Label != tt.wantLabel || m.Text != tt.wantText || m.SenderMeta["address"] == "" {
				t.Errorf("got from %q (%q) text %q meta %v, want %q (%q) %q",
					m.From.Value, m.From.Label, m.Text, m.SenderMeta, tt.wantFrom, tt.wantLabel, tt.wantText)
			}
			checkUploads(t, m.Uploads, tt.wantUpload, tt.wantData)
		})
	}
}

func checkUploads(t *testing.T, got []app.Upload, name string, data []byte) {
	t.Helper()
	switch {
	case name == "" && len(got) != 0:
		t.Errorf("got %d uploads, want none", len(got))
	case name != "" && (len(got) != 1 || got[0].Filename != name || string(got[0].Data) != string(data)):
		t.Errorf("got uploads %+v, want %s with %q", got, name, data)
	}
}

func TestReceivePhotoLargestSize(t *testing.T) {
	t.Parallel()
	f, d, ch := setup(t)
	if _, err := d.Receive(context.Background(), ch, webhook(t, "photo_caption.json")); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, f.requests()[0].Body, `{"file_id":"AgACAgQAAxkBAAIBZ2ZPhotoLarge"}`)
}

func TestReceiveBadSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		configured string
		sent       []string
		body       string
	}{
		{name: "Missing", configured: secret},
		{name: "Wrong", configured: secret, sent: []string{"Wt6v1q3b_0m-8a9kqXcW2LhV5uN7yR4eP1sD3fG6hJ0"}},
		{name: "Truncated", configured: secret, sent: []string{secret[:len(secret)-1]}},
		{name: "Longer", configured: secret, sent: []string{secret + "x"}},
		{name: "Empty", configured: secret, sent: []string{""}},
		{name: "Twice", configured: secret, sent: []string{secret, secret}},
		{name: "NoSecretConfigured", configured: "", sent: []string{""}},
		{name: "BeforeParsing", configured: secret, sent: []string{"nope"}, body: "{not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, d, ch := setup(t)
			ch.Secrets[app.WebhookSecretKey] = tt.configured
			req := webhook(t, "photo_caption.json")
			req.Header.Del(telegram.SecretHeader)
			for _, v := range tt.sent {
				req.Header.Add(telegram.SecretHeader, v)
			}
			if tt.body != "" {
				req.Body = []byte(tt.body)
			}
			in, err := d.Receive(context.Background(), ch, req)
			if !errors.Is(err, app.ErrBadSignature) || len(in.Messages) != 0 {
				t.Errorf("got %v, %d messages, want %v", err, len(in.Messages), app.ErrBadSignature)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("got %d calls to Telegram, want 0", n)
			}
		})
	}
}

func TestReceiveMalformed(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"Empty":        "",
		"Truncated":    `{"update_id":10000,"message":{"text":"hi"`,
		"Null":         "null",
		"Array":        `[{"update_id":10000}]`,
		"NoUpdateID":   `{"message":{"text":"hi"}}`,
		"StringID":     `{"update_id":"10000"}`,
		"NoSender":     `{"update_id":10000,"message":{"message_id":1,"chat":{"id":1111111,"type":"private"},"text":"hi"}}`,
		"NegativeID":   `{"update_id":10000,"message":{"message_id":1,"from":{"id":-5,"first_name":"X"},"chat":{"id":1111111,"type":"private"},"text":"hi"}}`,
		"TrailingJunk": `{"update_id":10000} {}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, d, ch := setup(t)
			req := webhook(t, "text.json")
			req.Body = []byte(body)
			_, err := d.Receive(context.Background(), ch, req)
			if app.ErrorCode(err) != app.EINVALID {
				t.Errorf("got %v, want code %v", err, app.EINVALID)
			}
		})
	}
}

func TestReceiveMediaFailures(t *testing.T) {
	t.Parallel()
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		foreignHits.Add(1)
		_, _ = w.Write(jpegBytes)
	}))
	t.Cleanup(foreign.Close)
	tests := []struct {
		name     string
		method   string // the fake's method to override
		answer   http.HandlerFunc
		wantNote string
	}{
		{name: "ForeignRedirectRefused", method: "file", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, foreign.URL+"/photo.jpg", http.StatusFound)
		}, wantNote: "is not on the provider's hosts"},
		{name: "GetFileRefused", method: "getFile", answer: func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 400, "Bad Request: file is too big")
		}, wantNote: "[The photo could not be downloaded: Telegram: Bad Request: file is too big]"},
		{name: "FileTooBig", method: "getFile", answer: func(w http.ResponseWriter, _ *http.Request) {
			apiOK(w, `{"file_id":"x","file_unique_id":"y","file_size":15728640,"file_path":"photos/file_0.jpg"}`)
		}, wantNote: "[The photo could not be downloaded: it is 15 MB, over the 10 MB limit]"},
		{name: "PathClimbs", method: "getFile", answer: func(w http.ResponseWriter, _ *http.Request) {
			apiOK(w, `{"file_id":"x","file_unique_id":"y","file_size":10,"file_path":"../../etc/passwd"}`)
		}, wantNote: "[The photo could not be downloaded: Telegram gave no usable file path]"},
		{name: "FileGone", method: "file", answer: func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 404, "Not Found")
		}, wantNote: "[The photo could not be downloaded: download media: 404 Not Found]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, d, ch := setup(t)
			f.answer(tt.method, tt.answer)
			in, err := d.Receive(context.Background(), ch, webhook(t, "photo_caption.json"))
			if err != nil || len(in.Messages) != 1 {
				t.Fatalf("got %v, %d messages, want the message kept", err, len(in.Messages))
			}
			m := in.Messages[0]
			if !strings.HasPrefix(m.Text, "The parcel arrived damaged\n") || !strings.Contains(m.Text, tt.wantNote) || len(m.Uploads) != 0 {
				t.Errorf("got text %q with %d uploads, want the caption and a note with %q", m.Text, len(m.Uploads), tt.wantNote)
			}
			if strings.Contains(m.Text, strings.Split(token, ":")[1]) {
				t.Errorf("got text %q, want the bot token left out", m.Text)
			}
		})
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("got %d requests to the foreign host, want 0", n)
	}
}
