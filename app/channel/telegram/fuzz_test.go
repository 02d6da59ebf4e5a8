package telegram

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"parley/app"
)

// FuzzValidSecret checks the secret comparison accepts exactly the
// configured, non-empty secret.
func FuzzValidSecret(f *testing.F) {
	const secret = "Zt6v1q3b_0m-8a9kqXcW2LhV5uN7yR4eP1sD3fG6hJ0"
	f.Add(secret, secret)
	f.Add(secret, secret[:42])
	f.Add(secret, secret+"x")
	f.Add(secret, "")
	f.Add("", "")
	f.Add("a", "b")
	f.Fuzz(func(t *testing.T, configured, sent string) {
		h := http.Header{}
		h.Set(SecretHeader, sent)
		got := validSecret(h, configured)
		if want := configured != "" && sent == configured; got != want {
			t.Errorf("got %v for configured %q sent %q, want %v", got, configured, sent, want)
		}
	})
}

// FuzzParseUpdate feeds the parser arbitrary bodies, seeded with the
// testdata samples: it must never panic, and what it accepts must be a
// message Parley can store.
func FuzzParseUpdate(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"update_id":1,"message":{"from":{"id":9,"username":"Ab.c"},"chat":{"id":9,"type":"private"},"photo":[]}}`))
	f.Add([]byte(`{"update_id":1,"message":{"from":{"id":9},"chat":{"id":9,"type":"private"},"venue":{"title":"T"}}}`))
	f.Add([]byte(`{"update_id":1,"message":{"from":{"id":9,"username":"a\u0000b"},"chat":{"id":9,"type":"private"},"text":"x"}}`))
	f.Add([]byte(`{"update_id":1,"message":{"from":{"id":9,"username":" @ab "},"chat":{"id":9,"type":"private"},"text":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := parseUpdate(body)
		if err != nil {
			if app.ErrorCode(err) != app.EINVALID {
				t.Fatalf("got %v, want an EINVALID error", err)
			}
			return
		}
		in, file, ok := inbound(app.Channel{ID: "ch"}, u)
		if !ok {
			return
		}
		if in.From.Value != in.SenderMeta["user_id"] || !handlePattern.MatchString(in.From.Value) {
			t.Errorf("got contact value %q, want the user id %q", in.From.Value, in.SenderMeta["user_id"])
		}
		if c := in.From; c.Normalize("from", "") != nil || c != in.From {
			t.Errorf("got contact %+v, want one that app accepts as it is", in.From)
		}
		if _, err := strconv.ParseInt(in.ProviderMessageID, 10, 64); err != nil {
			t.Errorf("got provider id %q, want the update_id", in.ProviderMessageID)
		}
		if in.SenderMeta["address"] == "" || in.SenderMeta["address"] == "0" {
			t.Errorf("got address %q, want the chat id", in.SenderMeta["address"])
		}
		if file != nil && file.info.FileSize > maxDownload {
			t.Errorf("got a %d-byte file to download, want at most %d", file.info.FileSize, maxDownload)
		}
		if file == nil && in.Text == "" {
			t.Errorf("got an empty message from %s, want a text describing it", body)
		}
	})
}
