package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"parley/app"
)

var (
	pngBytes = []byte("\x89PNG\r\n\x1a\nfake receipt")
	receipt  = app.Attachment{ID: "att_1", Filename: "receipt.png", ContentType: "image/png", Size: int64(len(pngBytes))}
	invoice  = app.Attachment{ID: "att_2", Filename: "invoice.pdf", ContentType: "application/pdf", Size: int64(len(pdfBytes))}
)

// outbound is a message to the client of the Telegram samples.
func outbound(ch app.Channel, text string, atts ...app.Attachment) app.Outbound {
	return app.Outbound{
		TenantID: "t_1", Channel: ch, Key: "msg_1", Attempt: 1, Transport: app.TransportTelegram,
		To: "1111111", Address: "1111111", Text: text, Attachments: atts,
		Open: func(a app.Attachment) ([]byte, error) {
			switch a.ID {
			case receipt.ID:
				return pngBytes, nil
			case invoice.ID:
				return pdfBytes, nil
			}
			return nil, errors.New("no such attachment")
		},
	}
}

func TestSendText(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		id, err := d.Send(context.Background(), outbound(ch, `Hello <b>Test</b> & "welcome"`))
		if err != nil || id != "1111111:42" {
			t.Fatalf("got %q, %v, want 1111111:42", id, err)
		}
		reqs := f.requests()
		if len(reqs) != 1 {
			t.Fatalf("got %d requests, want 1", len(reqs))
		}
		r, want := reqs[0], `{"chat_id":1111111,"text":"Hello <b>Test</b> & \"welcome\""}`
		if r.Method != http.MethodPost || r.Path != "/bot"+token+"/sendMessage" || r.ContentType != "application/json" || string(r.Body) != want {
			t.Errorf("got %s %s %s %s, want POST /bot<token>/sendMessage application/json %s", r.Method, r.Path, r.ContentType, r.Body, want)
		}
	})
	t.Run("OKToNumericID", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		out := outbound(ch, "Hi")
		out.Address, out.To = "", "2222222"
		if _, err := d.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, f.requests()[0].Body, `{"chat_id":2222222,"text":"Hi"}`)
	})
	t.Run("OKLongTextSplit", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		text := strings.Repeat("Twelve chars", 500) // 6000 characters, no spaces to cut at
		id, err := d.Send(context.Background(), outbound(ch, text))
		if err != nil || id != "1111111:42" {
			t.Fatalf("got %q, %v, want the first message's id", id, err)
		}
		reqs, joined := f.requests(), ""
		for _, r := range reqs {
			var m struct{ Text string }
			_ = json.Unmarshal(r.Body, &m)
			if n := utf8.RuneCountInString(m.Text); n > 4096 {
				t.Errorf("got a part of %d characters, want at most 4096", n)
			}
			joined += m.Text
		}
		if len(reqs) != 2 || joined != text {
			t.Errorf("got %d parts joining to %d characters, want 2 parts of the whole text", len(reqs), len(joined))
		}
	})
	t.Run("ErrUserName", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		out := outbound(ch, "Hi")
		out.Address, out.To = "", "testusername" // a contact the team typed in
		_, err := d.Send(context.Background(), out)
		var se *app.SendError
		if !errors.As(err, &se) || !se.Permanent || !strings.Contains(se.Reason, "must send a message to the bot") {
			t.Errorf("got %v, want a permanent error saying the client must write first", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("got %d requests, want 0", n)
		}
	})
}

func TestSendAttachments(t *testing.T) {
	t.Parallel()
	t.Run("OKCaption", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		id, err := d.Send(context.Background(), outbound(ch, "Your receipt and invoice", receipt, invoice))
		if err != nil || id != "1111111:42" {
			t.Fatalf("got %q, %v, want 1111111:42", id, err)
		}
		reqs := f.requests()
		if len(reqs) != 2 {
			t.Fatalf("got %d requests, want 2", len(reqs))
		}
		checkUpload(t, reqs[0], "sendPhoto", "photo", "Your receipt and invoice", receipt, pngBytes)
		checkUpload(t, reqs[1], "sendDocument", "document", "", invoice, pdfBytes)
	})
	t.Run("OKLongTextFirst", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		text := strings.Repeat("a", 1025)
		if _, err := d.Send(context.Background(), outbound(ch, text, invoice)); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 2 || !strings.HasSuffix(reqs[0].Path, "/sendMessage") {
			t.Fatalf("got %d requests, want sendMessage then sendDocument", len(reqs))
		}
		checkUpload(t, reqs[1], "sendDocument", "document", "", invoice, pdfBytes)
	})
	t.Run("OKPhotoRefusedSentAsDocument", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		f.answer("sendPhoto", func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
		})
		if _, err := d.Send(context.Background(), outbound(ch, "Receipt", receipt)); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 2 {
			t.Fatalf("got %d requests, want sendPhoto then sendDocument", len(reqs))
		}
		checkUpload(t, reqs[1], "sendDocument", "document", "Receipt", receipt, pngBytes)
	})
	t.Run("OKLaterPartSitsOutFloodControl", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		var calls atomic.Int32
		f.answer("sendDocument", func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(429)
				_, _ = io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`)
				return
			}
			apiOK(w, `{"message_id":99,"chat":{"id":1111111,"type":"private"},"date":1441645532}`)
		})
		id, err := d.Send(context.Background(), outbound(ch, "Both", receipt, invoice))
		if err != nil || id != "1111111:42" || calls.Load() != 2 {
			t.Errorf("got %q, %v after %d sendDocument calls, want 1111111:42 after 2", id, err, calls.Load())
		}
	})
	t.Run("ErrPartial", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		f.answer("sendDocument", func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 403, "Forbidden: bot was blocked by the user")
		})
		_, err := d.Send(context.Background(), outbound(ch, "Both", receipt, invoice))
		var se *app.SendError
		if !errors.As(err, &se) || !se.Permanent || !strings.Contains(se.Reason, "took 1 of the 2 parts") {
			t.Errorf("got %v, want a permanent error naming the part delivered", err)
		}
	})
}

// checkUpload checks a multipart upload: the method, chat_id, caption and
// the file part with its name, type and bytes.
func checkUpload(t *testing.T, r recorded, method, field, caption string, att app.Attachment, data []byte) {
	t.Helper()
	if r.Method != http.MethodPost || r.Path != "/bot"+token+"/"+method || r.Form == nil {
		t.Fatalf("got %s %s (%s), want a multipart POST to %s", r.Method, r.Path, r.ContentType, method)
	}
	if got := r.Form.Value["chat_id"]; len(got) != 1 || got[0] != "1111111" {
		t.Errorf("got chat_id %v, want 1111111", got)
	}
	if got := strings.Join(r.Form.Value["caption"], ""); got != caption {
		t.Errorf("got caption %q, want %q", got, caption)
	}
	files := r.Form.File[field]
	if len(files) != 1 {
		t.Fatalf("got %d %s files, want 1", len(files), field)
	}
	fh := files[0]
	file, _ := fh.Open()
	got, _ := io.ReadAll(file)
	if fh.Filename != att.Filename || fh.Header.Get("Content-Type") != att.ContentType || string(got) != string(data) {
		t.Errorf("got file %q %q %q, want %q %q %q", fh.Filename, fh.Header.Get("Content-Type"), got, att.Filename, att.ContentType, data)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		answer        http.HandlerFunc
		wantPermanent bool
		wantRetry     time.Duration
		wantReason    string
	}{
		{name: "Retryable5xx", answer: func(w http.ResponseWriter, _ *http.Request) { apiFail(w, 500, "Internal Server Error") },
			wantReason: "Telegram: Internal Server Error"},
		{name: "RetryableBadGatewayHTML", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, wantReason: "Telegram: unreadable answer (502 Bad Gateway)"},
		{name: "RateLimited", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			_, _ = io.WriteString(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`)
		}, wantRetry: 7 * time.Second, wantReason: "Telegram: Too Many Requests: retry after 7"},
		{name: "PermanentBlocked", answer: func(w http.ResponseWriter, _ *http.Request) {
			apiFail(w, 403, "Forbidden: bot was blocked by the user")
		},
			wantPermanent: true, wantReason: "Telegram: Forbidden: bot was blocked by the user"},
		{name: "PermanentChatNotFound", answer: func(w http.ResponseWriter, _ *http.Request) { apiFail(w, 400, "Bad Request: chat not found") },
			wantPermanent: true, wantReason: "Telegram: Bad Request: chat not found"},
		{name: "PermanentBadToken", answer: func(w http.ResponseWriter, _ *http.Request) { apiFail(w, 401, "Unauthorized") },
			wantPermanent: true, wantReason: "Telegram: Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, d, ch := setup(t)
			f.answer("sendMessage", tt.answer)
			_, err := d.Send(context.Background(), outbound(ch, "Hi"))
			var se *app.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *app.SendError", err)
			}
			if se.Permanent != tt.wantPermanent || se.RetryAfter != tt.wantRetry || se.Reason != tt.wantReason {
				t.Errorf("got %+v, want permanent %v retry %v reason %q", *se, tt.wantPermanent, tt.wantRetry, tt.wantReason)
			}
		})
	}
	t.Run("RetryableNetwork", func(t *testing.T) {
		t.Parallel()
		f, d, ch := setup(t)
		f.srv.Close()
		_, err := d.Send(context.Background(), outbound(ch, "Hi"))
		var se *app.SendError
		if err == nil || (errors.As(err, &se) && se.Permanent) {
			t.Errorf("got %v, want a retryable error", err)
		}
		if err != nil && strings.Contains(err.Error(), strings.Split(token, ":")[1]) {
			t.Errorf("got %q, want the token left out", err)
		}
	})
}
