package twilio

import (
	"net/url"
	"testing"
)

// TestSignatureFixture checks the known answer from Twilio's webhook
// security documentation (../shared/fixtures/README.md).
func TestSignatureFixture(t *testing.T) {
	t.Parallel()
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	got := signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestURLVariants(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://example.com/hook?a=1", "https://example.com:443/hook?a=1"},
		{"https://example.com:443/hook", "https://example.com/hook"},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1/x"},
		{"http://example.com", "http://example.com:80"},
		{"https://[::1]:8443/x", "https://[::1]/x"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := urlVariants(tt.in, u)
		if len(got) != 2 || got[0] != tt.in || got[1] != tt.want {
			t.Errorf("%s: got %v, want [%s %s]", tt.in, got, tt.in, tt.want)
		}
	}
}
