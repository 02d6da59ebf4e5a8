package meta

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"parley/app"
)

// seedTestdata adds every testdata file whose name starts with prefix.
func seedTestdata(f *testing.F, prefix string) {
	names, _ := filepath.Glob("testdata/" + prefix + "*.json")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzCheckSignature(f *testing.F) {
	body := readTestdata(f, "wa_text.json")
	f.Add(testSecret, sign(testSecret, body), body)
	f.Add(testSecret, "sha256=", body)
	f.Add("", "sha256="+strings.Repeat("0", 64), []byte{})
	f.Add("It's a Secret to Everybody", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", []byte("Hello, World!"))
	f.Fuzz(func(t *testing.T, secret, header string, body []byte) {
		err := checkSignature(secret, header, body)
		if err != nil && !errors.Is(err, app.ErrBadSignature) {
			t.Fatalf("got %v, want nil or ErrBadSignature", err)
		}
		if secret != "" && checkSignature(secret, sign(secret, body), body) != nil {
			t.Fatalf("got a refusal of the right signature")
		}
		if err == nil && header != sign(secret, body) && strings.ToLower(header) != sign(secret, body) {
			t.Fatalf("got %q accepted, want only %q", header, sign(secret, body))
		}
	})
}

func FuzzParseWhatsApp(f *testing.F) {
	seedTestdata(f, "wa_")
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, statuses, err := parseWhatsApp(body, "ch-1", testPNID, testNow)
		var ae *app.Error
		if err != nil && (!errors.As(err, &ae) || ae.Code != app.EINVALID) {
			t.Fatalf("got %v, want nil or EINVALID", err)
		}
		for _, m := range msgs {
			if m.msg.ProviderMessageID == "" || !strings.HasPrefix(m.msg.From.Value, "+") {
				t.Fatalf("got %+v, want an id and a number", m.msg)
			}
		}
		for _, s := range statuses {
			if s.ProviderMessageID == "" || s.Status == "" {
				t.Fatalf("got %+v, want an id and a status", s)
			}
		}
	})
}

func FuzzParseInstagram(f *testing.F) {
	seedTestdata(f, "ig_")
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, _, err := parseInstagram(body, "ch-1", testNow)
		var ae *app.Error
		if err != nil && (!errors.As(err, &ae) || ae.Code != app.EINVALID) {
			t.Fatalf("got %v, want nil or EINVALID", err)
		}
		for _, m := range msgs {
			if m.msg.ProviderMessageID == "" || m.msg.SenderMeta["address"] == "" {
				t.Fatalf("got %+v, want an id and an address", m.msg)
			}
			if c := m.msg.From; c.Value != m.msg.SenderMeta["address"] || c.Normalize("from", "") != nil || c != m.msg.From {
				t.Fatalf("got contact %+v, want the IGSID of the address, as app accepts it", m.msg.From)
			}
		}
	})
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello there, this is a long message", 10, true)
	f.Add("héllo wörld ✓✓✓", 3, false)
	f.Fuzz(func(t *testing.T, s string, limit int, bytes bool) {
		if limit < 1 || limit > 5000 {
			return
		}
		parts := split(s, limit, bytes)
		if strings.Join(parts, "") != s {
			t.Fatalf("got %q, want the pieces to rebuild %q", parts, s)
		}
		for _, p := range parts {
			n := utf8.RuneCountInString(p)
			if bytes {
				n = len(p)
			}
			if n > limit && utf8.RuneCountInString(p) > 1 {
				t.Fatalf("got piece %q of %d, want at most %d", p, n, limit)
			}
		}
	})
}
