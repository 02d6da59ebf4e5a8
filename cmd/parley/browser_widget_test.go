package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserWidget drives the web chat as a shop's visitor and the team
// would: a page on another site (127.0.0.1, under a strict CSP of its own
// and hostile CSS) embeds widget.js; the visitor opens the launcher, writes,
// and the team, signed in in another browser profile, sees the chat arrive
// live in the inbox and answers; the reply appears in the visitor's panel
// without a reload. The launcher closes with Escape (focus back on it),
// shows a dot for a reply that comes while it is shut, and the panel fills
// a phone's screen. It measures the script and checks that the page loads
// nothing of the chat but the script until the visitor opens it. Any
// console error or CSP violation, in the page or in the panel, fails it.
// PARLEY_SCREENSHOTS=DIR keeps screenshots.
func TestBrowserWidget(t *testing.T) {
	needChromium(t)
	_, workspace := acmeWorkspace(t, func(c *Config) { c.JobPollInterval = 100 * time.Millisecond })
	raw, zipped := widgetSize(t, workspace+"/widget.js")
	t.Logf("widget.js: %d bytes, %d bytes gzipped", raw, zipped)
	if zipped > 4096 {
		t.Errorf("widget.js is %d bytes gzipped, want under 4 KB", zipped)
	}
	shop := shopPage(t, workspace)
	b := startBrowser(t, 150*time.Second)

	team := b.newTab("team")
	team.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	team.run("open the inbox", chromedp.Navigate(workspace+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-list] [data-testid=empty]`)))
	team.waitLive()

	// 1. The shop's page loads; only the small script comes from Parley.
	visitor := b.newTab("visitor")
	visitor.run("open the shop", chromedp.Navigate(shop), chromedp.WaitVisible(chromedp.CSS(`#shop`)),
		chromedp.Poll[chromedp.Void](`!!document.querySelector('parley-chat')`, chromedp.WithPollingTimeout(10*time.Second)))
	var load struct {
		Async        bool     `json:"async"`
		DCL          float64  `json:"dcl"`
		Load         float64  `json:"load"`
		ScriptEnd    float64  `json:"scriptEnd"`
		FromParley   []string `json:"fromParley"`
		Frames       int      `json:"frames"`
		ButtonWidth  float64  `json:"buttonWidth"`
		ButtonColour string   `json:"buttonColour"`
		Label        string   `json:"label"`
		Expanded     string   `json:"expanded"`
	}
	visitor.run("wait for the load event", chromedp.Poll[chromedp.Void](`performance.timing.loadEventEnd > 0`,
		chromedp.WithPollingTimeout(10*time.Second)))
	js := visitor.get("measure the page", chromedp.Evaluate[string](`JSON.stringify((() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const res = performance.getEntriesByType('resource').filter(e => e.name.startsWith(`+jsString(workspace)+`));
		const btn = document.querySelector('parley-chat').shadowRoot.querySelector('button');
		const cs = getComputedStyle(btn);
		return {async: document.querySelector('script[src$="/widget.js"]').async,
			dcl: nav.domContentLoadedEventEnd, load: nav.loadEventStart,
			scriptEnd: (res.find(e => e.name.endsWith('/widget.js')) || {}).responseEnd || -1,
			fromParley: res.map(e => new URL(e.name).pathname),
			frames: document.querySelector('parley-chat').shadowRoot.querySelectorAll('iframe').length,
			buttonWidth: btn.getBoundingClientRect().width, buttonColour: cs.backgroundColor,
			label: btn.getAttribute('aria-label'), expanded: btn.getAttribute('aria-expanded')};
	})())`))
	if err := json.Unmarshal([]byte(js), &load); err != nil {
		t.Fatalf("page measurements %s: %v", js, err)
	}
	t.Logf("shop page: DOMContentLoaded at %.0f ms, load at %.0f ms, widget.js in at %.0f ms, async=%v",
		load.DCL, load.Load, load.ScriptEnd, load.Async)
	if !load.Async {
		t.Errorf("the snippet's script is not async")
	}
	if strings.Join(load.FromParley, " ") != "/widget.js" || load.Frames != 0 {
		t.Errorf("before the chat is opened the page fetched %v from Parley and has %d frames, want only /widget.js and none",
			load.FromParley, load.Frames)
	}
	if load.ButtonWidth != 56 || load.ButtonColour != "rgb(37, 99, 235)" {
		t.Errorf("launcher: %.0f px wide, colour %s; the page's CSS reached it (want 56 px, the accent)", load.ButtonWidth, load.ButtonColour)
	}
	if load.Label != "Chat with Acme Ltd" || load.Expanded != "false" {
		t.Errorf("launcher: aria-label %q aria-expanded %q", load.Label, load.Expanded)
	}
	visitor.shot("widget-closed")

	// 2. The visitor opens the chat and writes.
	visitor.run("open the chat", chromedp.Click(chromedp.JSPath(launcherJS)))
	panel := visitor.frame("visitor-panel", workspace+"/widget/frame")
	panel.run("see the panel", chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-text]`)))
	panel.run("focus is in the message box", chromedp.Poll[chromedp.Void](`document.activeElement && document.activeElement.id === 'wc-text'`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if got := visitor.get("read aria-expanded", chromedp.Evaluate[string](launcherJS+`.getAttribute('aria-expanded')`)); got != "true" {
		t.Errorf("open launcher: aria-expanded %q, want true", got)
	}
	if got := panel.text(`[data-testid=wc-name]`); got != "Acme Ltd" {
		t.Errorf("panel heading: got %q", got)
	}
	visitor.shot("widget-open")
	const question = "Hello! Do you ship to Norway? <b>not bold</b>"
	panel.run("write and send", fill(`[data-testid=wc-text]`, question), chromedp.Click(chromedp.CSS(`[data-testid=wc-send]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-line][data-mine="1"]`)))
	if got := panel.text(`[data-testid=wc-line][data-mine="1"] .bubble`); got != question {
		t.Errorf("the visitor's line: got %q, want it as typed (text, not HTML)", got)
	}
	if got := panel.text(`[data-testid=wc-status]`); !strings.HasPrefix(got, "Sent.") {
		t.Errorf("status after sending: got %q", got)
	}
	if got := panel.value(`[data-testid=wc-text]`); got != "" {
		t.Errorf("message box after sending: got %q, want it empty", got)
	}

	// 3. The team sees it live and answers.
	team.run("see the visitor's chat arrive", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row][data-unread="1"]`)))
	if got := team.text(`[data-testid=chat-row-name]`); !strings.HasPrefix(got, "Website visitor ") {
		t.Errorf("chat row: got %q, want a Website visitor lead", got)
	}
	team.run("open the chat", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation] [data-testid=composer]`)))
	if got := team.text(`[data-testid=message][data-direction=in] [data-testid=message-text]`); got != question {
		t.Errorf("the inbox shows %q, want %q", got, question)
	}
	if got := team.get("read the reply contact", chromedp.Evaluate[string](
		`document.querySelector('[data-testid=composer-contact]').selectedOptions[0].textContent`)); !strings.HasPrefix(got, "Website · visitor ") {
		t.Errorf("reply to: got %q, want the visitor's web chat", got)
	}
	team.shot("widget-team-inbox")
	panel.run("mark the panel", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))
	const answer = "Yes, we ship to Norway in 3–5 days."
	team.run("answer", fill(`[data-testid=composer-text]`, answer), chromedp.Click(chromedp.CSS(`[data-testid=composer-send]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message][data-direction=out]`)))

	// 4. The reply reaches the visitor live.
	panel.run("see the reply", chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-line][data-mine="0"]`)))
	if got := panel.text(`[data-testid=wc-line][data-mine="0"] .bubble`); got != answer {
		t.Errorf("reply in the panel: got %q, want %q", got, answer)
	}
	if got := panel.text(`[data-testid=wc-line][data-mine="0"] time`); !strings.HasPrefix(got, "ada · ") {
		t.Errorf("reply signed %q, want the first name of ada (the admin's name)", got)
	}
	if got := panel.get("check the panel was not reloaded", chromedp.Evaluate[string](`String(window.parleyNoReload === true)`)); got != "true" {
		t.Errorf("the panel reloaded; the reply must arrive live")
	}
	visitor.shot("widget-reply")

	// 5. Escape closes the panel and gives focus back to the launcher; a
	// reply while it is shut puts a dot on it.
	panel.run("press Escape in the panel", chromedp.KeyEvent(kb.Escape))
	visitor.run("see the panel closed", chromedp.Poll[chromedp.Void](`(() => {
		const root = document.querySelector('parley-chat').shadowRoot;
		return root.querySelector('.p').hidden && root.activeElement === root.querySelector('button') &&
			root.querySelector('button').getAttribute('aria-expanded') === 'false';
	})()`, chromedp.WithPollingTimeout(5*time.Second)))
	team.run("answer again", fill(`[data-testid=composer-text]`, "Anything else?"), chromedp.Click(chromedp.CSS(`[data-testid=composer-send]`)))
	visitor.run("see the dot", chromedp.Poll[chromedp.Void](`!document.querySelector('parley-chat').shadowRoot.querySelector('.d').hidden`,
		chromedp.WithPollingTimeout(10*time.Second)))
	visitor.shot("widget-unread-dot")

	// 6. On a phone the panel fills the screen, and the visitor leaves an email.
	visitor.run("switch to a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	visitor.run("open the chat again", chromedp.Click(chromedp.JSPath(launcherJS)))
	visitor.run("wait for the panel to settle", chromedp.Poll[chromedp.Void](
		`document.querySelector('parley-chat').shadowRoot.querySelector('.p').getAnimations().length === 0`,
		chromedp.WithPollingTimeout(5*time.Second)))
	size := visitor.get("measure the panel", chromedp.Evaluate[string](`(() => {
		const r = document.querySelector('parley-chat').shadowRoot.querySelector('iframe').getBoundingClientRect();
		return r.left + "," + r.top + "," + r.width + "," + r.height; })()`))
	if size != "0,0,390,844" {
		t.Errorf("panel on a phone: got left,top,width,height %s, want the whole 390×844 screen", size)
	}
	panel.run("see both lines", chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-line][data-mine="0"]`)))
	panel.run("see the close button", chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-close]`)))
	visitor.shot("widget-phone")
	panel.run("mark the panel", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))
	panel.run("open the email form", chromedp.Click(chromedp.CSS(`[data-testid=wc-email-toggle]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-email]`)))
	panel.run("save a bad address", fill(`[data-testid=wc-email]`, "ola@"), chromedp.Click(chromedp.CSS(`[data-testid=wc-email-save]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-email-error]`)))
	if got := panel.text(`[data-testid=wc-email-error]`); !strings.Contains(got, "valid email") {
		t.Errorf("bad address: got error %q", got)
	}
	visitor.shot("widget-phone-email-form")
	panel.run("clear the address", chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=wc-email]').value = ''`))
	panel.run("leave an email", fill(`[data-testid=wc-email]`, "ola@example.com"), fill(`[data-testid=wc-name-input]`, "Ola Nordmann"),
		chromedp.Click(chromedp.CSS(`[data-testid=wc-email-save]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=wc-email-done]').textContent.includes('ola@example.com')`,
			chromedp.WithPollingTimeout(5*time.Second)))
	if got := panel.get("check the panel was not reloaded", chromedp.Evaluate[string](`String(window.parleyNoReload === true)`)); got != "true" {
		t.Errorf("the panel reloaded to save the email; the script must send it")
	}
	if got := panel.text(`[data-testid=wc-status]`); got != "Thanks, we will answer at ola@example.com." {
		t.Errorf("status after leaving an email: got %q", got)
	}
	team.run("see the visitor named", chromedp.Navigate(workspace+"/inbox"),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('[data-testid=chat-row-name]')].some(e => e.textContent.trim() === 'Ola Nordmann')`,
			chromedp.WithPollingTimeout(10*time.Second)))
	visitor.shot("widget-phone-email")
	team.run("open the visitor's chat", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation] [data-testid=message][data-kind=note]`)))
	if got := team.text(`[data-testid=message][data-kind=note] [data-testid=message-text]`); !strings.Contains(got, "ola@example.com") {
		t.Errorf("the team's note about the email: got %q", got)
	}
	team.shot("widget-team-note")
	panel.run("close with the panel's button", chromedp.Click(chromedp.CSS(`[data-testid=wc-close]`)))
	visitor.run("see the panel closed", chromedp.Poll[chromedp.Void](`document.querySelector('parley-chat').shadowRoot.querySelector('.p').hidden`,
		chromedp.WithPollingTimeout(5*time.Second)))
}

// launcherJS finds the launcher button in its shadow root.
const launcherJS = `document.querySelector('parley-chat').shadowRoot.querySelector('button')`

// frame attaches to the chat panel's iframe: Chrome runs a frame from
// another site in its own process, as a target of its own.
func (tb *tab) frame(name, urlPrefix string) *tab {
	tb.b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		infos, err := chromedp.Targets(tb.ctx)
		if err != nil {
			tb.b.t.Fatalf("%s: list targets: %v", name, err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, urlPrefix) {
				ctx, cancel := chromedp.NewContext(tb.ctx, chromedp.WithTargetID(info.TargetID),
					chromedp.WithListener(tb.b.console.listener(name)))
				tb.b.t.Cleanup(cancel)
				if err := chromedp.Do(ctx); err != nil {
					tb.b.t.Fatalf("%s: attach to the frame: %v", name, err)
				}
				return &tab{b: tb.b, name: name, ctx: ctx}
			}
		}
		if time.Now().After(deadline) {
			tb.b.t.Fatalf("%s: no frame at %s appeared\n%s", name, urlPrefix, tb.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shopPage serves a page of another site that embeds the widget, as a
// workspace's own site would: under a strict CSP that names the
// workspace's origin, and with CSS that would wreck an unprotected button.
func shopPage(t *testing.T, workspace string) string {
	t.Helper()
	page := `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fjord Outdoor</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/shop.css"></head>
<body><main id="shop"><h1>Fjord Outdoor</h1><p>Jackets, boots and tents for the north.</p>
<button type="button">Add to basket</button></main>
<script async src="` + workspace + `/widget.js" data-tenant="acme"></script></body></html>`
	css := `* { font-family: serif !important; letter-spacing: 3px; }
button { all: unset; background: #ff0000 !important; width: 300px !important; font-size: 40px !important; }
body { margin: 0; padding: 2rem; background: #fdf6e3; }`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' "+workspace+
				"; frame-src "+workspace+"; style-src 'self'; img-src 'self' data:")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/shop.css":
			w.Header().Set("Content-Type", "text/css")
			io.WriteString(w, css)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// widgetSize fetches the script as it is sent, plain and gzipped.
func widgetSize(t *testing.T, url string) (raw, zipped int) {
	t.Helper()
	// *.localhost is the loopback address, which Go's resolver does not know.
	_, port, _ := net.SplitHostPort(strings.Split(url, "/")[2])
	client := &http.Client{Transport: &http.Transport{DisableCompression: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
		}}}
	for _, enc := range []string{"identity", "gzip"} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		req.Header.Set("Accept-Encoding", enc)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("widget.js (%s): got %d %s", enc, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if enc == "identity" {
			raw = len(body)
			continue
		}
		zipped = len(body)
		zr, err := gzip.NewReader(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("widget.js gzipped: %v", err)
		}
		plain, _ := io.ReadAll(zr)
		if len(plain) != raw {
			t.Fatalf("widget.js: %d bytes unzipped, want %d", len(plain), raw)
		}
	}
	return raw, zipped
}
