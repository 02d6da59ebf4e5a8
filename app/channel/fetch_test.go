package channel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel"
)

func TestFetcherAllowed(t *testing.T) {
	t.Parallel()
	f := channel.Fetcher{Hosts: []string{"api.twilio.com", ".twiliocdn.com", "127.0.0.1:8080"}}
	for raw, want := range map[string]bool{
		"https://api.twilio.com/2010-04-01/x":  true,
		"https://mms.twiliocdn.com/a":          true,
		"https://twiliocdn.com.evil.example/a": false,
		"https://eviltwiliocdn.com/a":          false,
		"http://api.twilio.com/x":              false, // plain http only for an exact host:port (a test's fake)
		"http://127.0.0.1:8080/x":              true,
		"http://127.0.0.1:9090/x":              false,
		"https://169.254.169.254/latest":       false,
		"file:///etc/passwd":                   false,
		"ftp://api.twilio.com/x":               false,
	} {
		u, _ := url.Parse(raw)
		if got := f.Allowed(u); got != want {
			t.Errorf("Allowed(%s): got %v, want %v", raw, got, want)
		}
	}
}

func TestFetcherFetch(t *testing.T) {
	t.Parallel()
	var foreignHit bool
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHit = true }))
	t.Cleanup(foreign.Close)
	var cdnAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/photo.png":
			w.Header().Set("Content-Disposition", `attachment; filename="../../etc/cat.png"`)
			_, _ = w.Write([]byte("png bytes"))
		case "/redirect-home":
			http.Redirect(w, r, "/cdn/file.pdf", http.StatusFound)
		case "/cdn/file.pdf":
			cdnAuth = r.Header.Get("Authorization")
			_, _ = w.Write([]byte("pdf"))
		case "/redirect-away":
			http.Redirect(w, r, foreign.URL+"/steal", http.StatusFound)
		case "/huge":
			w.Header().Set("Content-Length", "99999999")
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f := channel.Fetcher{Hosts: []string{channel.HostOf(srv.URL)}}
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer secret") }
	ctx := context.Background()

	up, err := f.Fetch(ctx, srv.URL+"/photo.png", auth)
	if err != nil || string(up.Data) != "png bytes" || up.Filename != "cat.png" {
		t.Errorf("fetch: got %q %q, %v, want the bytes named cat.png", up.Data, up.Filename, err)
	}
	if up, err := f.Fetch(ctx, srv.URL+"/redirect-home", auth); err != nil || string(up.Data) != "pdf" || cdnAuth != "Bearer secret" {
		t.Errorf("redirect on the same host: got %q, %v, auth %q", up.Data, err, cdnAuth)
	}
	for name, path := range map[string]string{"ErrRedirectAway": "/redirect-away", "ErrTooLarge": "/huge", "ErrNotFound": "/missing"} {
		if _, err := f.Fetch(ctx, srv.URL+path, auth); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	if foreignHit {
		t.Error("a redirect reached a host that is not the provider's")
	}
	if _, err := f.Fetch(ctx, foreign.URL+"/x", auth); err == nil || !strings.Contains(err.Error(), "not on the provider's hosts") {
		t.Errorf("foreign URL: got %v, want refused", err)
	}
}

func TestMediaURL(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ch := app.Channel{ID: "ch1", Settings: []byte(`{"webhook_url":"https://acme.parley.example/hooks/ch1"}`),
		Secrets: map[string]string{app.WebhookSecretKey: "s3cret"}}
	link := channel.MediaURL(ch, app.Attachment{ID: "att1", Filename: "a b.png"}, now)
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://acme.parley.example/hooks/ch1/media/att1/a%20b.png?") {
		t.Fatalf("link: got %s, %v", link, err)
	}
	q := u.Query()
	if !channel.CheckMediaURL(ch, "att1", q.Get("e"), q.Get("s"), now.Add(time.Hour)) {
		t.Error("a fresh link was refused")
	}
	other := ch
	other.ID = "ch2"
	for name, ok := range map[string]bool{
		"ErrExpired":      channel.CheckMediaURL(ch, "att1", q.Get("e"), q.Get("s"), now.Add(25*time.Hour)),
		"ErrOtherFile":    channel.CheckMediaURL(ch, "att2", q.Get("e"), q.Get("s"), now),
		"ErrOtherChannel": channel.CheckMediaURL(other, "att1", q.Get("e"), q.Get("s"), now),
		"ErrLongerExpiry": channel.CheckMediaURL(ch, "att1", q.Get("e")+"0", q.Get("s"), now),
		"ErrNoSecret":     channel.CheckMediaURL(app.Channel{ID: "ch1"}, "att1", q.Get("e"), q.Get("s"), now),
	} {
		if ok {
			t.Errorf("%s: the link was accepted", name)
		}
	}
}

func TestRefusePrivate(t *testing.T) {
	t.Parallel()
	for addr, private := range map[string]bool{
		"127.0.0.1:25": true, "[::1]:993": true, "10.1.2.3:587": true, "192.168.0.10:25": true, "172.16.5.5:25": true,
		"169.254.169.254:80": true, "100.64.0.1:25": true, "[fd00::1]:25": true, "0.0.0.0:25": true, "[::ffff:127.0.0.1]:25": true,
		"[fe80::1]:25": true, "224.0.0.1:25": true,
		"93.184.216.34:587": false, "[2a00:1450:4001:80b::200e]:993": false,
	} {
		err := channel.RefusePrivate("tcp", addr, nil)
		if got := err != nil; got != private {
			t.Errorf("RefusePrivate(%s): got refused %v, want %v", addr, got, private)
		}
	}
	for host, private := range map[string]bool{"localhost": true, "mail.localhost": true, "127.0.0.1": true, "[::1]": true,
		"metadata.google.internal": true, "smtp.gmail.com": false, "93.184.216.34": false} {
		if got := channel.PrivateHost(host); got != private {
			t.Errorf("PrivateHost(%s): got %v, want %v", host, got, private)
		}
	}
}
