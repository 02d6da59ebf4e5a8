package email_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/app"
	"parley/app/channel/email"
)

func seeds(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzValidSignature(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b, "sha256="+hex.EncodeToString(email.Sign(testSecret, b)))
	}
	f.Add([]byte(""), "")
	f.Add([]byte("x"), "sha256=")
	f.Add([]byte("x"), "sha256=zz")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		got := email.ValidSignature(testSecret, body, header)
		h := strings.TrimSpace(header)
		want := strings.HasPrefix(h, "sha256=") && strings.EqualFold(h[7:], hex.EncodeToString(email.Sign(testSecret, body)))
		if got != want {
			t.Errorf("ValidSignature(%q) = %v, want %v", header, got, want)
		}
		if email.ValidSignature("", body, header) {
			t.Error("an empty secret verified")
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--"))
	ch := app.Channel{ID: "ch", Type: app.ChannelEmail, Settings: []byte(`{"from_address":"support@acme.example"}`)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := email.Parse(raw, ch)
		if err != nil {
			if app.ErrorCode(err) != app.EINVALID {
				t.Fatalf("got %v, want an EINVALID error", err)
			}
			return
		}
		for _, m := range in.Messages {
			if m.From.Value == "" || m.ProviderMessageID == "" || len(m.References) > 20 {
				t.Fatalf("got %+v, want a sender, an id and at most 20 references", m)
			}
			if strings.Contains(strings.ToLower(m.HTML), "<script") {
				t.Fatalf("script survived sanitising: %q", m.HTML)
			}
		}
	})
}
