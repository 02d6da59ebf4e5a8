package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserChannels: an admin connects a Twilio SMS number in Settings →
// Channels against a fake Twilio, sees the webhook URL to paste (and never
// the auth token again), tests the credentials, and removes the channel.
// Any console error or CSP violation fails the test.
func TestBrowserChannels(t *testing.T) {
	needChromium(t)
	const sid, token = "AC0123456789abcdef0123456789abcdef", "f00dfeedf00dfeedf00dfeedf00dfeed"
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.URL.Path != "/2010-04-01/Accounts/"+sid+".json" || !ok || user != sid || pass != token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sid":"` + sid + `","friendly_name":"Acme Support","status":"active"}`))
	}))
	t.Cleanup(twilio.Close)

	// The channel points at the fake Twilio on this machine.
	_, workspace := acmeWorkspace(t, func(c *Config) { c.AllowAPIBaseURL = true })
	b := startBrowser(t, 90*time.Second)
	admin := b.newTab("admin")
	admin.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	admin.run("open Settings → Channels", chromedp.Navigate(workspace+"/settings/channels"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=connect-twilio_sms] summary`)))
	admin.shot("channels-empty")

	// A wrong number is refused next to its field, and nothing is saved.
	p := "#f-new-twilio_sms-settings-"
	admin.run("open the Twilio SMS form", clickNow(`[data-testid=connect-twilio_sms] summary`),
		chromedp.WaitVisible(chromedp.CSS(p+"account_sid")))
	admin.run("fill it with a bad number", fill(p+"account_sid", sid), fill(p+"auth_token", token), fill(p+"from_number", "12"),
		clickNow(`[data-testid=connect-twilio_sms] .channel-advanced summary`), fill(p+"api_base_url", twilio.URL))
	admin.follow("submit the bad number", `[data-testid=connect-twilio_sms] button[type=submit]`, `#f-new-twilio_sms-settings-from_number-error`)
	if n := admin.get("count channels", chromedp.Evaluate[string](`String(document.querySelectorAll('[data-testid=channel]').length)`)); n != "0" {
		t.Fatalf("channels after a refused connect: got %s, want 0", n)
	}

	// Corrected (the token is typed again: a refused form never echoes it).
	admin.run("correct the number", chromedp.Evaluate[chromedp.Void](`document.querySelector('`+p+`from_number').value = ''`), fill(p+"from_number", "+14155550100"),
		fill(p+"auth_token", token))
	admin.follow("connect", `[data-testid=connect-twilio_sms] button[type=submit]`, `[data-testid=channel]`)
	hook := admin.value(`[data-testid=channel-webhook-url]`)
	if !strings.HasPrefix(hook, workspace+"/hooks/") {
		t.Errorf("webhook URL: got %q, want %s/hooks/<id>", hook, workspace)
	}
	page := admin.get("read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(page, token) {
		t.Error("the auth token is on the page after saving")
	}
	admin.shot("channels-connected")

	admin.run("test the credentials", clickNow(`[data-testid=channel-test]`), chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel-check]`)))
	if got := admin.text(`[data-testid=channel-check]`); !strings.Contains(got, "Acme Support") {
		t.Errorf("test result: got %q, want the Twilio account's name", got)
	}

	admin.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait),
		chromedp.Navigate(workspace+"/settings/channels"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel]`)))
	admin.shot("channels-phone")
	admin.run("back to a laptop viewport", chromedp.EmulateViewport(1280, 800))

	admin.run("open Remove…", clickNow(`[data-testid=channel-remove] summary`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel-remove-submit]`)))
	admin.follow("remove the channel", `[data-testid=channel-remove-submit]`, `[data-testid=alert]`)
	if n := admin.get("count channels", chromedp.Evaluate[string](`String(document.querySelectorAll('[data-testid=channel]').length)`)); n != "0" {
		t.Errorf("channels after removing: got %s, want 0", n)
	}
}
