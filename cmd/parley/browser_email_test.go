package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// hostileMail is an HTML email a relay hands in: every way its HTML part
// could try to run script, plus Gmail-style quoted history in its text.
const hostileMail = "From: Mallory Customer <mallory@example.com>\r\n" +
	"To: support@acme.example\r\n" +
	"Subject: Invoice question\r\n" +
	"Message-ID: <hostile-1@example.com>\r\n" +
	"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Hello from HTML, is my invoice paid?\r\n\r\n" +
	"On Mon, 23 Nov 2026 at 09:00, Acme Support <support@acme.example> wrote:\r\n\r\n> Your invoice is attached.\r\n" +
	"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	`<html><head><script>window.__pwned = "head script"</script><meta http-equiv="refresh" content="0;url=javascript:window.__pwned='refresh'"></head>` +
	`<body onload="window.__pwned='onload'"><p>Hello from HTML, is my invoice paid?</p>` +
	`<img src="x" onerror="window.__pwned='onerror'"><img src="https://tracker.example/pixel.gif">` +
	`<a href="javascript:window.__pwned='link'" id="js-link">click</a>` +
	`<svg><script>window.__pwned='svg'</script></svg><iframe src="javascript:parent.__pwned='iframe'"></iframe>` +
	`<form action="https://evil.example"><input name="q"></form>` +
	`<div style="background:url(javascript:window.__pwned='css')">styled</div>` +
	`<button hx-get="/logout" hx-trigger="load">htmx</button></body></html>` + "\r\n" +
	"--b1--\r\n"

// TestBrowserEmailHTMLNeverRuns: a relayed HTML email full of script
// arrives in the inbox with its subject and its quoted history folded, and
// its formatted view in a real browser runs none of it, loads nothing
// remote, and logs no console error.
func TestBrowserEmailHTMLNeverRuns(t *testing.T) {
	needChromium(t)
	// The mailbox's SMTP server is on this machine.
	m, workspace := acmeWorkspace(t, func(c *Config) { c.AllowPrivateMailHosts = true })
	token := inboxTenantSetup(t, m)

	// Connect a mailbox through the API, then relay the mail to its webhook.
	res := workspaceDo(t, workspace, "POST", "/api/v1/channels", map[string]string{"Authorization": "Bearer " + token,
		"Content-Type": "application/json"}, []byte(`{"type":"email","name":"Support","settings":{"from_address":"support@acme.example",
		"smtp_host":"127.0.0.1","smtp_port":"2525","smtp_security":"none"}}`))
	if res.status != http.StatusCreated {
		t.Fatalf("connect mailbox: got %d %s, want 201", res.status, res.body)
	}
	// The relay signs with the secret the API (and Settings) shows for it.
	var ch struct {
		ID          string `json:"id"`
		WebhookURL  string `json:"webhook_url"`
		RelaySecret string `json:"relay_secret"`
	}
	if err := json.Unmarshal([]byte(res.body), &ch); err != nil || !strings.HasSuffix(ch.WebhookURL, "/hooks/"+ch.ID) ||
		len(ch.RelaySecret) != 43 {
		t.Fatalf("channel: %v %s", err, res.body)
	}
	secret := ch.RelaySecret
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(hostileMail))
	hook := map[string]string{"Content-Type": "message/rfc822", "X-Parley-Signature": "sha256=" + hex.EncodeToString(mac.Sum(nil))}
	if res := workspaceDo(t, workspace, "POST", "/hooks/"+ch.ID, hook, []byte(hostileMail)); res.status != http.StatusOK {
		t.Fatalf("relay: got %d %s, want 200", res.status, res.body)
	}
	if res := workspaceDo(t, workspace, "POST", "/hooks/"+ch.ID, hook, []byte(hostileMail)); res.status != http.StatusConflict {
		t.Errorf("replayed relay: got %d, want 409", res.status)
	}

	b := startBrowser(t, 90*time.Second)
	admin := b.newTab("admin")
	admin.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	admin.run("open the inbox", chromedp.Navigate(workspace+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row]`)))
	admin.run("open the mail's chat", clickNow(`[data-testid=chat-row]`), chromedp.WaitVisible(chromedp.CSS(`[data-testid=message-subject]`)))
	if got := admin.text(`[data-testid=message-subject]`); got != "Invoice question" {
		t.Errorf("subject: got %q, want Invoice question", got)
	}
	if got := admin.text(`[data-testid=message-text]`); got != "Hello from HTML, is my invoice paid?" {
		t.Errorf("message text: got %q, want the reply without its quoted history", got)
	}
	admin.run("see the quoted history folded", chromedp.WaitVisible(chromedp.CSS(`[data-testid=message-quoted] summary`)))
	admin.shot("email-in-chat")
	href := admin.get("read the formatted view link", chromedp.Evaluate[string](`document.querySelector('[data-testid=message-html]').getAttribute('href')`))

	admin.run("open the formatted view", chromedp.Navigate(workspace+href),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=email-html]`)), chromedp.Sleep(500*time.Millisecond))
	admin.shot("email-formatted")
	var probe struct {
		Pwned   any  `json:"pwned"`
		Scripts int  `json:"scripts"`
		Text    bool `json:"text"`
		JSLinks int  `json:"jsLinks"`
		Remote  int  `json:"remote"`
		Handler int  `json:"handlers"`
	}
	found := admin.get("look for anything that ran", chromedp.Evaluate[string](`JSON.stringify({
		pwned: window.__pwned,
		scripts: document.querySelectorAll('script, iframe, form, svg, meta[http-equiv]').length,
		text: document.body.innerText.includes('Hello from HTML'),
		jsLinks: [...document.querySelectorAll('[href],[src]')].filter(e => /^\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || '')).length,
		remote: [...document.querySelectorAll('img')].filter(i => /^https?:/i.test(i.getAttribute('src') || '')).length,
		handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on|^hx-/i.test(a.name))).length,
	})`))
	if err := json.Unmarshal([]byte(found), &probe); err != nil {
		t.Fatal(err)
	}
	if probe.Pwned != nil || probe.Scripts != 0 || probe.JSLinks != 0 || probe.Remote != 0 || probe.Handler != 0 || !probe.Text {
		t.Errorf("formatted view: got %+v, want the text and nothing executable or remote", probe)
	}
}

type workspaceResponse struct {
	status int
	body   string
}

// workspaceDo sends a request to a workspace's host on the test server
// (*.localhost resolves in browsers, not in Go: it dials the server).
func workspaceDo(t *testing.T, workspace, method, path string, header map[string]string, body []byte) workspaceResponse {
	t.Helper()
	req, err := http.NewRequest(method, workspace+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	addr := strings.Replace(workspace[strings.Index(workspace, ".")+1:], "localhost", "127.0.0.1", 1)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return workspaceResponse{status: res.StatusCode, body: string(b)}
}
