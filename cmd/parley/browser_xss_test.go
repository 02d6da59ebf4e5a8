package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"parley/app"
	"parley/tenantdb"
)

// The XSS test writes every payload of testdata/xss/payloads.txt through
// every surface where someone outside the team (a visitor, a client) or a
// teammate can put text, then loads each page that shows it in headless
// Chromium and fails on any of:
//
//   - a JavaScript dialog (alert, confirm, prompt);
//   - a call of the marker __xss(N) that every payload that runs makes;
//   - a Content-Security-Policy violation: markup got through escaping or
//     sanitising and only the CSP stopped it, which is a bug too;
//   - live dangerous markup left in the page (an on* or hx-on attribute, a
//     javascript:, vbscript: or data: URL, a script or style element from
//     user content), which catches payloads that need a click or a hover;
//   - a request to xss.invalid or /xss-hx/ (markup or htmx attributes from
//     user content honoured), a console error or an uncaught exception.
//
// Where a page shows text as written (everything but sanitised Markdown),
// every payload must also be found on it as text, so a surface that stops
// showing what was written cannot make the test pass by showing nothing.
//
// Each surface is one entry of xssSurfaces; a surface whose routes are not
// built yet is skipped. PARLEY_XSS_SURFACES=names,… runs only those.

const (
	// xssBatch is how many payloads one page shows (a client's fields hold
	// fewer: their comments field is at most 5,000 characters).
	xssBatch = 82
	// xssSettle is how long a page is watched after it has loaded, for
	// handlers that fire late (onerror of a failed load, ontoggle,
	// onbegin, autofocus) and for CSP reports, which are queued.
	xssSettle = 250 * time.Millisecond
	// xssLanes is how many surfaces run at once.
	xssLanes = 4
	// xssIPHeader carries a made-up client address (Config.ClientIPHeader),
	// so the public forms' per-address limits count each batch apart.
	xssIPHeader = "X-Test-Client-IP"
)

// xssPayload is one payload of the corpus with its number put in.
type xssPayload struct {
	N    int
	Text string
}

// oneLine reports whether the payload fits a single-line field: such
// fields refuse control characters (newlines and tabs included).
func (p xssPayload) oneLine() bool {
	return !strings.ContainsFunc(p.Text, unicode.IsControl) && strings.TrimSpace(p.Text) != ""
}

// fits reports whether the payload fits a single-line field of max characters.
func (p xssPayload) fits(max int) bool {
	return p.oneLine() && utf8.RuneCountInString(strings.TrimSpace(p.Text)) <= max
}

// multiLine reports whether the payload fits a multi-line text (notes,
// templates, articles): control characters other than \n, \r and \t are
// refused there.
func (p xssPayload) multiLine() bool {
	return !strings.ContainsFunc(p.Text, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t'
	})
}

var xssEscape = regexp.MustCompile(`\\[nt]|\{U\+([0-9A-Fa-f]{4,6})\}`)

// loadXSSCorpus reads testdata/xss/payloads.txt (its format is described at
// the top of the file).
func loadXSSCorpus(t testing.TB) []xssPayload {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "xss", "payloads.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []xssPayload
	seen := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text := xssEscape.ReplaceAllStringFunc(line, func(s string) string {
			switch s {
			case `\n`:
				return "\n"
			case `\t`:
				return "\t"
			}
			r, _ := strconv.ParseUint(s[3:len(s)-1], 16, 32)
			return string(rune(r))
		})
		if !strings.Contains(text, "{N}") {
			t.Fatalf("payloads.txt:%d: no {N}: the test could not tell which payload ran", i+1)
		}
		if first, dup := seen[text]; dup {
			t.Fatalf("payloads.txt:%d: the same payload as line %d", i+1, first)
		}
		seen[text] = i + 1
		n := len(out) + 1
		out = append(out, xssPayload{N: n, Text: strings.ReplaceAll(text, "{N}", strconv.Itoa(n))})
	}
	return out
}

// TestXSSCorpus checks the corpus itself: big enough, every payload calls
// a marker, and every kind of attack the issue names is in it.
func TestXSSCorpus(t *testing.T) {
	corpus := loadXSSCorpus(t)
	if len(corpus) < 220 {
		t.Errorf("corpus: got %d payloads, want at least 220", len(corpus))
	}
	// The marker may be spelt in code, encoded or split: what matters is
	// that the payload, once decoded, calls one.
	marker := regexp.MustCompile(`xss|__x|alert|confirm|prompt|msgbox|base64,|atob\(|&#x61;&#x6C;|\\u0061lert|al\\u0065rt|al\W+ert`)
	for _, p := range corpus {
		if !marker.MatchString(p.Text) {
			t.Errorf("payload %d %q calls no marker: if it ran, the test would not notice", p.N, p.Text)
		}
	}
	kinds := []struct{ name, pattern string }{
		{"script tags in many spellings", `(?i)<script`},
		{"img event handlers", `(?i)<img[^>]*onerror`},
		{"svg event handlers", `(?i)<svg[^>]*onload`},
		{"body event handlers", `(?i)<body[^>]*on`},
		{"details ontoggle", `(?i)<details[^>]*ontoggle`},
		{"video/audio handlers", `(?i)<(video|audio)[^>]*on`},
		{"iframe payloads", `(?i)<iframe`},
		{"autofocus onfocus", `(?i)autofocus`},
		{"javascript: URLs", `(?i)javascript:`},
		{"entity-encoded URLs", `href="&#`},
		{"control characters in URLs", "href=\"[\x01-\x1f]"},
		{"data: URLs", `(?i)data:text/html`},
		{"vbscript: URLs", `(?i)vbscript:`},
		{"SVG animate/set", `<svg><(a><)?(animate|set)`},
		{"SVG foreignObject", `foreignObject`},
		{"MathML", `<math`},
		{"template tricks", `<template>`},
		{"noscript tricks", `<noscript>`},
		{"attribute breakouts", `^["'][^<]*on\w+=`},
		{"CSS expressions", `expression\(`},
		{"CSS @import", `@import`},
		{"meta refresh", `http-equiv="refresh"`},
		{"base href", `<base href`},
		{"form action", `<form action=`},
		{"object/embed", `<(object|embed)`},
		{"Markdown javascript: links", `^\[click \d+\]\(javascript:`},
		{"Markdown images", `^!\[`},
		{"Markdown reference links", `\]: javascript:`},
		{"Markdown autolinks", `^<javascript:`},
		{"Markdown raw HTML blocks", "^<div>\n"},
		{"HTML in Markdown link titles", `\]\(https://example\.com "<img`},
		{"hx-get", `hx-get=`},
		{"hx-on:click", `hx-on:click`},
		{"hx-on::load", `hx-on::load`},
		{"hx-trigger=load", `hx-trigger="load"`},
		{"data-hx-*", `data-hx-`},
		{"hx-vals with js:", `hx-vals='js:`},
		{"hx-headers", `hx-headers=`},
	}
	for _, k := range kinds {
		re := regexp.MustCompile(k.pattern)
		if !slices.ContainsFunc(corpus, func(p xssPayload) bool { return re.MatchString(p.Text) }) {
			t.Errorf("corpus: no payload for %s (/%s/)", k.name, k.pattern)
		}
	}
}

// TestBrowserXSS writes the corpus through every surface and checks every
// page that shows it in a real browser (see the top of this file). The
// surfaces run side by side, each in tabs of its own: most of a page's
// time is spent waiting, for the server and for the page to settle.
func TestBrowserXSS(t *testing.T) {
	needChromium(t)
	start := time.Now()
	corpus := loadXSSCorpus(t)
	x := startXSSEnv(t)
	setup := time.Since(start)
	var mu sync.Mutex
	var ran, skipped []string
	only := os.Getenv("PARLEY_XSS_SURFACES")
	lanes := make(chan struct{}, xssLanes)
	var wg sync.WaitGroup
	for _, s := range xssSurfaces() {
		if only != "" && !slices.Contains(strings.Split(only, ","), s.name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lanes <- struct{}{}
			defer func() { <-lanes }()
			t.Run(s.name, func(t *testing.T) {
				for _, path := range s.needs {
					if !x.routeExists(t, path) {
						mu.Lock()
						skipped = append(skipped, s.name+" ("+path+" answers 404)")
						mu.Unlock()
						t.Skipf("%s is not built yet: %s answers 404", s.name, path)
					}
				}
				l := &xssLane{x: x, name: s.name}
				n := s.run(t, l, corpus)
				mu.Lock()
				ran = append(ran, fmt.Sprintf("%s (%d payloads, %d pages)", s.name, n, l.pages))
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	t.Logf("XSS: %d payloads × %d surfaces: %d writes, %d page checks, in %s (%s of it starting the server and the browser)",
		len(corpus), len(ran), x.writes.Load(), x.pages.Load(), time.Since(start).Round(100*time.Millisecond), setup.Round(100*time.Millisecond))
	t.Logf("XSS surfaces checked: %s", strings.Join(ran, "; "))
	if len(skipped) > 0 {
		t.Logf("XSS surfaces skipped: %s", strings.Join(skipped, "; "))
	}
}

// xssSurface is a place where people write text, with the pages that show it.
type xssSurface struct {
	name string
	// needs are paths that answer 404 until the surface is built.
	needs []string
	// run writes the payloads that the surface takes, checks the pages,
	// and returns how many payloads went through.
	run func(t *testing.T, l *xssLane, corpus []xssPayload) int
}

func xssSurfaces() []xssSurface {
	// The slowest first, so that the lanes finish together.
	return []xssSurface{
		{name: "web-chat", needs: []string{"/widget/frame"}, run: xssWebChat},
		{name: "help-articles", needs: []string{"/help", "/help/search?q=x"}, run: xssArticles},
		{name: "client-fields", run: xssClientFields},
		{name: "customer-portal", needs: []string{"/portal/login"}, run: xssPortal},
		{name: "contact-form", needs: []string{"/help/contact"}, run: xssContactForm},
		{name: "messages", run: xssMessages},
		{name: "notes", run: xssNotes},
		{name: "templates", run: xssTemplates},
		{name: "search-queries", run: xssSearches},
	}
}

// xssBatches cuts payloads into pages of size.
func xssBatches(ps []xssPayload, size int) [][]xssPayload {
	var out [][]xssPayload
	for len(ps) > 0 {
		n := min(size, len(ps))
		out = append(out, ps[:n:n])
		ps = ps[n:]
	}
	return out
}

func xssFilter(ps []xssPayload, keep func(xssPayload) bool) []xssPayload {
	var out []xssPayload
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func xssJoin(ps []xssPayload, sep string) string {
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.Text
	}
	return strings.Join(texts, sep)
}

// ---------- the environment: server, API, browser ----------

// xssEnv is the running server with workspace acme, an admin API token,
// and one browser whose tabs act as the team, visitors and clients.
type xssEnv struct {
	m      *Main
	origin string // http://acme.localhost:PORT
	token  string
	http   *http.Client
	b      *browser
	team   *xssTab // signed in as the admin; lanes open tabs beside it
	pages  atomic.Int64
	writes atomic.Int64
	nextIP atomic.Int64
}

func startXSSEnv(t *testing.T) *xssEnv {
	t.Helper()
	m, origin := acmeWorkspace(t, func(c *Config) {
		c.JobPollInterval = 100 * time.Millisecond
		c.ClientIPHeader = xssIPHeader
	})
	x := &xssEnv{m: m, origin: origin}
	addr := strings.Replace(origin[strings.Index(origin, ".")+1:], "localhost", "127.0.0.1", 1)
	// *.localhost resolves in browsers, not in Go: dial the server itself.
	x.http = &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		var err error
		if _, x.token, err = db.CreateToken(ctx, app.NewAPIToken{Name: "xss test", Role: app.RoleAdmin}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		for _, f := range []app.CustomFieldInput{{Key: "company", Label: "Company", Type: app.FieldText},
			{Key: "website", Label: "Website", Type: app.FieldText}} {
			if _, err := db.CreateCustomField(ctx, f, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}
	})
	// The bound is for a busy machine; the test takes far less.
	x.b = startBrowser(t, 5*time.Minute)
	x.team = x.newTab(t, "team", "", nil)
	x.team.do(t, "sign in",
		chromedp.Navigate(x.origin+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		fill("#f-email", "ada@acme.example"), fill("#f-password", "analytical-engine-1843"),
		chromedp.Click(chromedp.CSS(`[data-testid=login-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=current-user]`)))
	x.team.do(t, "connect the sandbox channel", chromedp.Navigate(x.origin+"/settings/channels"),
		chromedp.Click(chromedp.CSS(`[data-testid=sandbox-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel]`)))
	return x
}

// ip returns a fresh client address for the public forms' rate limits.
func (x *xssEnv) ip() string {
	n := x.nextIP.Add(1)
	return fmt.Sprintf("198.51.%d.%d", 100+n/250, n%250+1)
}

// api calls the JSON API as the admin and decodes the answer into out.
func (x *xssEnv) api(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, x.origin+path, rd)
	req.Header.Set("Authorization", "Bearer "+x.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := x.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: got %d, want %d: %s", method, path, res.StatusCode, want, data)
	}
	if method != "GET" {
		x.writes.Add(1)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// postForm posts a public form from the client address ip, as a browser
// on the site would.
func (x *xssEnv) postForm(t *testing.T, path string, form url.Values, ip string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", x.origin+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set(xssIPHeader, ip)
	res, err := x.http.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	res.Body.Close()
	x.writes.Add(1)
	return res
}

// get fetches a page of the workspace's host as a browser with no session.
func (x *xssEnv) get(t *testing.T, path, ip string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", x.origin+path, nil)
	req.Header.Set(xssIPHeader, ip)
	res, err := x.http.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(data)
}

func (x *xssEnv) routeExists(t *testing.T, path string) bool {
	status, _ := x.get(t, path, x.ip())
	return status != http.StatusNotFound
}

// chatOf returns the id of the chat of the client with the email address.
func (x *xssEnv) chatOf(t *testing.T, email string) string {
	t.Helper()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	x.api(t, "GET", "/api/v1/clients?q="+url.QueryEscape(email), nil, http.StatusOK, &list)
	if len(list.Data) == 1 {
		var chat struct {
			ID string `json:"id"`
		}
		x.api(t, "POST", "/api/v1/clients/"+list.Data[0].ID+"/chat", nil, http.StatusOK, &chat)
		return chat.ID
	}
	// The address a web chat visitor leaves is not made a contact (anyone
	// can type any address): the team's note in the chat names it.
	var chats struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	x.api(t, "GET", "/api/v1/chats?limit=100", nil, http.StatusOK, &chats)
	for _, c := range chats.Data {
		var msgs struct {
			Data []struct {
				Kind string `json:"kind"`
				Text string `json:"text"`
			} `json:"data"`
		}
		x.api(t, "GET", "/api/v1/chats/"+c.ID+"/messages?limit=100", nil, http.StatusOK, &msgs)
		for _, m := range msgs.Data {
			if m.Kind == string(app.KindNote) && strings.Contains(m.Text, email) {
				return c.ID
			}
		}
	}
	t.Fatalf("no chat has a note naming %s", email)
	return ""
}

// xssLane is one surface's share of the browser: a team tab (signed in
// through the team tab's cookies) and a public tab of its own, opened
// when first used.
type xssLane struct {
	x      *xssEnv
	name   string
	team   *xssTab
	public *xssTab
	pages  int
}

func (l *xssLane) teamTab(t *testing.T) *xssTab {
	if l.team == nil {
		l.team = l.x.newTab(t, l.name+" team", "", l.x.team)
	}
	return l.team
}

func (l *xssLane) publicTab(t *testing.T) *xssTab {
	if l.public == nil {
		l.public = l.x.newTab(t, l.name+" visitor", l.x.ip(), nil)
	}
	return l.public
}

// ---------- tabs and what they see ----------

// xssTab is one browser tab that records, for the page it is on,
// everything that shows a payload ran.
type xssTab struct {
	name string
	ctx  context.Context

	mu       sync.Mutex
	page     string
	findings []xssFinding
}

// xssFinding is one sign that a payload ran, or nearly did.
type xssFinding struct {
	page, kind, detail string
}

// xssWatchJS runs in every document (and frame) before the page's own
// scripts. Scripts added through the protocol are not subject to the
// page's CSP, and the binding it reports through is not either.
const xssWatchJS = `(() => {
	const report = (kind, detail) => { try { window.__xssReport(kind + "\t" + detail); } catch (e) {} };
	// The event goes to the element that broke the policy, when there is
	// one: its tag names the payload.
	document.addEventListener("securitypolicyviolation", e => {
		const el = e.target && e.target.outerHTML ? e.target.outerHTML : "";
		const i = el.indexOf(">");
		report("CSP violation", e.violatedDirective + " blocked " + (e.blockedURI || "inline code") +
			(e.sample ? " (" + e.sample + ")" : "") + (el ? " at " + (i > 0 ? el.slice(0, i + 1) : el).slice(0, 200) : ""));
	}, true);
	// htmx processes attributes on whatever is swapped in: a request or an
	// evaluation it makes for user content means it honoured them.
	document.addEventListener("htmx:beforeRequest", e => {
		const path = (e.detail && e.detail.requestConfig && e.detail.requestConfig.path) || "";
		if (/xss-hx\/|xss\.invalid|__xss/.test(path)) report("htmx request from user content", path);
	}, true);
	document.addEventListener("htmx:evalDisallowedError", e => report("htmx asked to evaluate user code",
		e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : ""), true);
})();`

// xssAuditJS lists live markup that should never come from user content:
// it catches payloads that only run on a click, a hover or a key. It
// leaves alone what the app itself writes: its own htmx attributes (which
// may carry a search query, URL-encoded), data: images and icons, JSON
// in non-script script elements.
const xssAuditJS = `(() => {
	const out = [];
	const marker = /__xss|xss-hx|xss\.invalid|alert\(|confirm\(|prompt\(|msgbox/i;
	const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
		"codebase", "dynsrc", "lowsrc", "to", "from", "values", "by", "code", "sse-connect", "ping"]);
	const squash = v => v.replace(/[\u0000-\u0020\u007f-\u00a0\u00ad\u200b-\u200f\u2028\u2029\ufeff]/g, "").toLowerCase();
	const dangerousURL = (el, v) => {
		v = squash(v);
		if (/^(javascript|vbscript|livescript):/.test(v)) return true;
		if (!v.startsWith("data:") || (el.localName === "link" && /icon/.test(el.rel))) return false;
		return !(/^data:image\/(png|gif|jpeg|webp|avif|svg\+xml)[;,]/.test(v) && ["img", "source", "input"].includes(el.localName));
	};
	const tag = el => { const h = el.outerHTML || ""; const i = h.indexOf(">"); return (i > 0 ? h.slice(0, i + 1) : h).slice(0, 240); };
	const walk = (doc, where) => {
		for (const el of doc.querySelectorAll("*")) {
			const name = el.localName;
			for (const a of Array.from(el.attributes)) {
				const n = a.name.toLowerCase(), v = a.value;
				let why = "";
				if (n.startsWith("on")) why = "event handler attribute " + n;
				else if (/^(data-)?hx-on/.test(n)) why = "htmx hx-on attribute " + n;
				else if (/^(data-)?(hx|sse)-/.test(n) && /xss-hx|__xss\(|alert\(|^\s*(js|javascript):/i.test(v)) why = "htmx attribute from user content " + n;
				else if (n === "srcdoc") why = "iframe srcdoc";
				else if (urlAttrs.has(n) && dangerousURL(el, v)) why = "dangerous URL in " + n;
				else if (name === "meta" && n === "content" && el.hasAttribute("http-equiv") && dangerousURL(el, v.replace(/^[^=]*url\s*=\s*['"]?/i, ""))) why = "meta refresh to a dangerous URL";
				else if (n === "style" && /expression|javascript:|binding|behavior|xss/i.test(v)) why = "dangerous style";
				if (why) out.push(where + why + ": " + tag(el));
			}
			const runs = name === "script" && /^(|text\/javascript|application\/javascript|module)$/i.test(el.type || "");
			const code = (el.textContent || "") + ["src", "href", "xlink:href"].map(n => el.getAttribute(n) || "").join(" ");
			if (runs && marker.test(code))
				out.push(where + "script element from user content: " + (el.outerHTML || "").slice(0, 240));
			else if (name === "style" && /xss|expression|javascript:|@import|behavior/i.test(el.textContent || ""))
				out.push(where + "style element from user content: " + (el.outerHTML || "").slice(0, 240));
			else if (name === "base" || (name === "meta" && el.hasAttribute("http-equiv") && marker.test(el.outerHTML)))
				out.push(where + name + " element from user content: " + tag(el));
			if (name === "iframe" || name === "frame") {
				try { if (el.contentDocument) walk(el.contentDocument, where + "in a frame: "); } catch (e) {}
			}
		}
	};
	walk(document, "");
	return out;
})()`

// xssTextJS is what a page shows as text: its text and the values of its
// form fields.
const xssTextJS = `(() => {
	const parts = [document.body ? document.body.textContent : ""];
	for (const el of document.querySelectorAll("input, textarea")) parts.push(el.value);
	for (const el of document.querySelectorAll("template")) parts.push(el.content.textContent);
	return parts.join("\n");
})()`

// newTab opens a tab: beside parent (sharing its cookies), or in a browser
// context of its own when parent is nil. ip, if set, is the client address
// the public site sees.
func (x *xssEnv) newTab(t *testing.T, name, ip string, parent *xssTab) *xssTab {
	t.Helper()
	tb := &xssTab{name: name}
	var ctx context.Context
	var cancel context.CancelFunc
	if parent != nil {
		ctx, cancel = chromedp.NewContext(parent.ctx, chromedp.WithListener(tb.listen))
	} else {
		ctx, cancel = chromedp.NewContext(x.b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	}
	t.Cleanup(cancel)
	tb.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open the %s tab: %v", name, err)
	}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.ExposeFunc("__xss", func(_ context.Context, args []any) (chromedp.Void, error) {
			tb.add("marker called", fmt.Sprintf("__xss(%v)", strings.Trim(fmt.Sprint(args...), "[]")))
			return chromedp.Void{}, nil
		}),
		chromedp.ExposeFunc("__xssReport", func(_ context.Context, what string) (chromedp.Void, error) {
			kind, detail, _ := strings.Cut(what, "\t")
			tb.add(kind, detail)
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: xssWatchJS})
			return err
		}),
	}
	if ip != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{xssIPHeader: ip}})
			return err
		}))
	}
	tb.do(t, "watch the "+name+" tab", steps...)
	return tb
}

// listen records what shows a payload ran. It runs on the tab's reading
// goroutine, so it only records (and dismisses dialogs from another
// goroutine: an open dialog stops the page).
func (tb *xssTab) listen(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tb.add("JavaScript dialog", fmt.Sprintf("%s(%q) in %s", ev.Type, ev.Message, ev.URL))
		go func() {
			_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			tb.add("console error", argsText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.add("uncaught exception", fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != log.EntryLevelError {
			return
		}
		// A refused form answers 422 (or 429) with its errors, by design;
		// and a page without an icon link makes the browser ask for
		// /favicon.ico, which no markup of a payload does.
		if e.Source == log.EntrySourceNetwork && (strings.Contains(e.Text, "status of 422") ||
			strings.Contains(e.Text, "status of 429") || strings.HasSuffix(e.URL, "/favicon.ico")) {
			return
		}
		tb.add("browser log ("+string(e.Source)+")", e.Text+" "+e.URL)
	case *network.EventRequestWillBeSent:
		if u := ev.Request.URL; strings.Contains(u, "xss.invalid") || strings.Contains(u, "/xss-hx/") {
			tb.add("request from user content", u)
		}
	}
}

func (tb *xssTab) add(kind, detail string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.findings = append(tb.findings, xssFinding{page: tb.page, kind: kind, detail: detail})
}

// begin starts watching a page; end returns what was seen on it.
func (tb *xssTab) begin(page string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.page, tb.findings = page, nil
}

func (tb *xssTab) end() []xssFinding {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := tb.findings
	tb.page, tb.findings = "", nil
	return out
}

// do runs steps, and on failure stops the test with where the tab was.
func (tb *xssTab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %s: %v\n%s", tb.name, what, err, tb.describe())
	}
}

func (tb *xssTab) eval(t *testing.T, what, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", tb.name, what, err, tb.describe())
	}
	return s
}

func (tb *xssTab) describe() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(the page cannot be read: %v)", err)
	}
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	return fmt.Sprintf("page %s shows:\n%s", loc, indent(body))
}

// xssPage is a page to check: where it is (or how to get there), what
// shows it is drawn, and the payloads on it.
type xssPage struct {
	name string
	// path is the page on the workspace's host. open, when set, gets to
	// the page instead (a form sent, a list opened), in this tab.
	path string
	open []chromedp.Action[chromedp.Void]
	// ready is a CSS selector that shows the page is drawn.
	ready    string
	payloads []xssPayload
	// text says every payload must be on the page as text.
	text bool
}

// xssPageJS reads, in one go, what check needs of a page: the audit, the
// text and where the tab is.
const xssPageJS = `({audit: ` + xssAuditJS + `, text: ` + xssTextJS + `, location: location.href})`

// check loads the page in the tab, watches it settle, and reports every
// sign that a payload ran, naming the payload where it can.
func (l *xssLane) check(t *testing.T, tb *xssTab, pg xssPage) {
	t.Helper()
	x := l.x
	tb.begin(pg.name)
	steps := pg.open
	if steps == nil {
		steps = []chromedp.Action[chromedp.Void]{chromedp.Navigate(x.origin + pg.path)}
	}
	if pg.ready != "" {
		steps = append(slices.Clip(steps), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		// A payload that ran may be why the page never got there (htmx
		// swapping a whole page in, a redirect): say what was seen first.
		if findings := tb.end(); len(findings) > 0 {
			t.Errorf("XSS on %s (%s tab): %s", pg.name, tb.name, xssSummary(findings, pg.payloads))
		}
		t.Fatalf("%s: open %s: %v\n%s", tb.name, pg.name, err, tb.describe())
	}
	time.Sleep(xssSettle)
	ctx, cancel = context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Audit    []string `json:"audit"`
		Text     string   `json:"text"`
		Location string   `json:"location"`
	}](xssPageJS))
	if err != nil {
		t.Fatalf("%s: read %s: %v", tb.name, pg.name, err)
	}
	findings := tb.end()
	l.pages++
	x.pages.Add(1)
	for _, a := range seen.Audit {
		findings = append(findings, xssFinding{page: pg.name, kind: "live markup from user content", detail: a})
	}
	if !strings.HasPrefix(seen.Location, x.origin) {
		findings = append(findings, xssFinding{page: pg.name, kind: "navigated away", detail: seen.Location})
	}
	if len(findings) > 0 {
		t.Errorf("XSS on %s (%s, %s tab): %s", pg.name, seen.Location, tb.name, xssSummary(findings, pg.payloads))
	}
	if pg.text {
		shown := xssSquash(seen.Text)
		for _, p := range pg.payloads {
			if !strings.Contains(shown, xssSquash(p.Text)) {
				t.Errorf("%s (%s): payload %d %q is not on the page as text; the check would miss it there", pg.name, seen.Location, p.N, p.Text)
			}
		}
	}
}

// xssSquash drops what the server may normalise (case, spaces, control
// and format characters), so a payload shown as written is found.
func xssSquash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

var xssNumber = regexp.MustCompile(`(?:__xss|alert|confirm|prompt|xss-hx/|xss\.invalid/)\W{0,3}(\d+)|^\w+\("(\d+)"\)|\((\d+)\)`)

// xssSummary sums up what was seen on a page: how many of each kind, a few
// of each as examples, and the payloads they name (or the page's batch
// when none is named: a CSP report of inline code, say).
func xssSummary(findings []xssFinding, ps []xssPayload) string {
	var b strings.Builder
	byKind := map[string][]string{}
	var kinds []string
	named := map[int]bool{}
	for _, f := range findings {
		if byKind[f.kind] == nil {
			kinds = append(kinds, f.kind)
		}
		byKind[f.kind] = append(byKind[f.kind], f.detail)
		for _, m := range xssNumber.FindAllStringSubmatch(f.detail, -1) {
			for _, g := range m[1:] {
				if n, err := strconv.Atoi(g); err == nil && slices.ContainsFunc(ps, func(p xssPayload) bool { return p.N == n }) {
					named[n] = true
				}
			}
		}
	}
	for _, k := range kinds {
		details := slices.Compact(slices.Sorted(slices.Values(byKind[k])))
		fmt.Fprintf(&b, "\n\t%d × %s, e.g.:", len(byKind[k]), k)
		for _, d := range details[:min(len(details), 4)] {
			fmt.Fprintf(&b, "\n\t\t%s", d)
		}
	}
	if len(named) == 0 {
		if len(ps) > 0 {
			fmt.Fprintf(&b, "\n\tno payload is named: one of payloads %d–%d on this page", ps[0].N, ps[len(ps)-1].N)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "\n\tpayloads named (%d):", len(named))
	for _, p := range ps {
		if named[p.N] {
			fmt.Fprintf(&b, "\n\t\t%d: %q", p.N, p.Text)
		}
	}
	return b.String()
}

// ---------- surfaces of the team app ----------

// xssClientFields writes payloads into a client's profile fields: names,
// custom fields (Company, Website), passport and tax numbers, tags,
// contact labels and comments, one client per batch.
func xssClientFields(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	var ids []string
	n := 0
	for k, batch := range xssBatches(corpus, 70) {
		in, placed, onEdit := xssClientInput(t, k, batch)
		n += len(placed)
		var c struct {
			ID string `json:"id"`
		}
		x.api(t, "POST", "/api/v1/clients", in, http.StatusCreated, &c)
		ids = append(ids, c.ID)
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("client profile %d", k+1), path: "/clients/" + c.ID,
			ready: `[data-testid=profile-header]`, payloads: placed, text: true})
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("client edit form %d", k+1), path: "/clients/" + c.ID + "/edit",
			ready: `[data-testid=client-form]`, payloads: onEdit, text: true})
	}
	l.check(t, l.teamTab(t), xssPage{name: "client list", path: "/clients?sort=created", ready: `[data-testid=client-list]`, payloads: corpus})
	l.check(t, l.teamTab(t), xssPage{name: "client search", path: "/clients?q=xss", ready: `[data-testid=client-list]`, payloads: corpus})
	l.check(t, l.teamTab(t), xssPage{name: "client timeline", path: "/clients/" + ids[0] + "/timeline", payloads: corpus})
	return n
}

// xssClientInput spreads a batch over a new client's fields. placed are the
// payloads some field took, onEdit those the edit form shows (contact
// labels are not on it).
func xssClientInput(t *testing.T, k int, batch []xssPayload) (in map[string]any, placed, onEdit []xssPayload) {
	t.Helper()
	fields := map[string]string{}
	custom := map[string]string{}
	var tags, comments []string
	var contacts []map[string]string
	slots := []struct {
		key string
		max int
		set map[string]string
	}{{"first_name", 100, fields}, {"last_name", 100, fields}, {"middle_name", 100, fields},
		{"company", 500, custom}, {"website", 500, custom}, {"passport_number", 50, fields}, {"tax_pin", 50, fields}}
	for _, p := range batch {
		inSlot := false
		for _, s := range slots {
			if _, used := s.set[s.key]; !used && p.fits(s.max) {
				s.set[s.key], inSlot = p.Text, true
				break
			}
		}
		switch {
		case inSlot:
		case len(tags) < app.MaxTags && p.fits(40) && !strings.HasPrefix(strings.TrimSpace(p.Text), "#"): // a tag's # is dropped
			tags = append(tags, p.Text)
		case len(contacts) < 3 && p.fits(40):
			contacts = append(contacts, map[string]string{"type": "email", "label": p.Text,
				"value": fmt.Sprintf("fields%d.%d@example.com", k+1, len(contacts)+1)})
			placed = append(placed, p)
			continue
		case p.multiLine():
			comments = append(comments, p.Text)
		default:
			continue // control characters: no profile field takes them
		}
		placed, onEdit = append(placed, p), append(onEdit, p)
	}
	if _, ok := fields["first_name"]; !ok {
		fields["first_name"] = fmt.Sprintf("Fields %d", k+1)
	}
	in = map[string]any{"tags": tags, "custom_fields": custom, "contacts": contacts, "comments": strings.Join(comments, "\n")}
	for k, v := range fields {
		in[k] = v
	}
	if n := utf8.RuneCountInString(in["comments"].(string)); n > 5000 {
		t.Fatalf("client %d: comments of %d characters; make xssBatch smaller", k+1, n)
	}
	return in, placed, onEdit
}

// xssNotes adds each payload as a note, one client per batch.
func xssNotes(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	for k, batch := range xssBatches(corpus, xssBatch) {
		var c struct {
			ID string `json:"id"`
		}
		x.api(t, "POST", "/api/v1/clients", map[string]any{"first_name": "Notes", "last_name": strconv.Itoa(k + 1)}, http.StatusCreated, &c)
		for _, p := range batch {
			x.api(t, "POST", "/api/v1/clients/"+c.ID+"/notes", map[string]any{"body": p.Text}, http.StatusCreated, nil)
		}
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("notes on client profile %d", k+1), path: "/clients/" + c.ID,
			ready: `[data-testid=note-form]`, payloads: batch, text: true})
		if k == 0 {
			l.check(t, l.teamTab(t), xssPage{name: "client timeline with notes", path: "/clients/" + c.ID + "/timeline", payloads: batch})
		}
	}
	l.check(t, l.teamTab(t), xssPage{name: "audit log", path: "/settings/audit", ready: `[data-testid=audit-log]`, payloads: corpus})
	return len(corpus)
}

// xssMessages has customers write every payload through the sandbox
// channel (two to a message: the chat shows its newest 50), one customer
// (named by a payload) per batch.
func xssMessages(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	for k, batch := range xssBatches(corpus, xssBatch) {
		name := xssName(batch, fmt.Sprintf("Customer %d", k+1))
		var chatID string
		for _, g := range xssBatches(batch, 2) {
			var m struct {
				ChatID string `json:"chat_id"`
			}
			x.api(t, "POST", "/api/v1/sandbox/inbound", map[string]any{
				// Telegram: an email's quoted lines (">…") are folded away from its text.
				"from":        map[string]string{"type": "telegram", "value": fmt.Sprintf("xss_customer%d", k+1)},
				"sender_name": name, "text": xssJoin(g, "\n"), "provider_message_id": fmt.Sprintf("xss-%d", g[0].N),
			}, http.StatusCreated, &m)
			chatID = m.ChatID
		}
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("inbox chat %d", k+1), path: "/inbox/" + chatID,
			ready: `[data-testid=conversation]`, payloads: batch, text: true})
		// The team's internal note on the chat, with a mention: its text is
		// cut around the mention, which is marked.
		notes := xssFilter(batch, xssPayload.multiLine)
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("inbox chat %d with a note", k+1), payloads: notes, text: true,
			ready: `[data-testid=message][data-kind=note] mark.mention`, open: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(x.origin + "/inbox/" + chatID),
				chromedp.Click(chromedp.CSS(`[data-testid=mode-note]`)),
				chromedp.SetValue(chromedp.CSS(`[data-testid=composer-text]`), "@ada "+xssJoin(notes, "\n@ada ")),
				chromedp.Click(chromedp.CSS(`[data-testid=composer-send]`)),
			}})
	}
	l.check(t, l.teamTab(t), xssPage{name: "inbox chat list", path: "/inbox", ready: `[data-testid=chat-row]`, payloads: corpus})
	for _, q := range []string{"xss", "onerror"} {
		l.check(t, l.teamTab(t), xssPage{name: "inbox search for " + q, path: "/inbox/search?q=" + q, ready: `[data-testid=search-hit]`, payloads: corpus})
	}
	return len(corpus)
}

// xssTemplates saves every payload as a template (its name too, where it
// fits), and checks the templates page and the composer's template picker.
func xssTemplates(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	ps := xssFilter(corpus, xssPayload.multiLine)
	var m struct {
		ChatID string `json:"chat_id"`
	}
	x.api(t, "POST", "/api/v1/sandbox/inbound", map[string]any{"from": map[string]string{"type": "email", "value": "picker@example.com"},
		"sender_name": "Picker", "text": "Hello", "provider_message_id": "xss-picker"}, http.StatusCreated, &m)
	for k, batch := range xssBatches(ps, xssBatch) {
		tag := fmt.Sprintf("tplb%d", k+1)
		var ids []string
		for _, p := range batch {
			name := tag + " " + strings.TrimSpace(p.Text)
			if !p.fits(app.MaxTemplateName - len(tag) - 1) {
				name = fmt.Sprintf("%s #%d", tag, p.N)
			}
			var tpl struct {
				ID string `json:"id"`
			}
			x.api(t, "POST", "/api/v1/templates", map[string]any{"name": name, "body": p.Text}, http.StatusCreated, &tpl)
			ids = append(ids, tpl.ID)
		}
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("templates page %d", k+1), path: "/templates?q=" + tag,
			ready: `main`, payloads: batch, text: true})
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("template picker %d", k+1), payloads: batch, ready: `#template-options [role=option]`,
			open: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(x.origin + "/inbox/" + m.ChatID),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid=composer-text]`)),
				fill(`[data-testid=composer-text]`, "/"+tag),
			}})
		for _, id := range ids {
			x.api(t, "DELETE", "/api/v1/templates/"+id, nil, http.StatusNoContent, nil)
		}
	}
	return len(ps)
}

// ---------- surfaces of the public site ----------

// xssArticles publishes one help center article per batch: the payloads
// as its Markdown, a payload as its title and description and as its
// category's name; then the public pages that show them.
func xssArticles(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	ps := xssFilter(corpus, xssPayload.multiLine)
	for k, batch := range xssBatches(ps, xssBatch) {
		title, desc, cat := fmt.Sprintf("Article %d", k+1), "", fmt.Sprintf("Category %d", k+1)
		for _, p := range batch {
			switch {
			case title == fmt.Sprintf("Article %d", k+1) && p.fits(app.MaxKBTitle):
				title = p.Text
			case desc == "" && p.fits(app.MaxKBDescription):
				desc = p.Text
			case cat == fmt.Sprintf("Category %d", k+1) && p.fits(100):
				cat = p.Text
			}
		}
		var c struct {
			ID   string `json:"id"`
			Slug string `json:"slug"`
		}
		x.api(t, "POST", "/api/v1/kb/categories", map[string]any{"name": cat, "description": desc}, http.StatusCreated, &c)
		var a struct {
			ID   string `json:"id"`
			Slug string `json:"slug"`
		}
		x.api(t, "POST", "/api/v1/kb/articles", map[string]any{"title": title, "description": desc, "category_id": c.ID,
			"body_markdown": xssJoin(batch, "\n\n"), "published": true}, http.StatusCreated, &a)
		l.check(t, l.publicTab(t), xssPage{name: fmt.Sprintf("help article %d", k+1), path: "/help/articles/" + a.Slug,
			ready: `article`, payloads: batch})
		if k == 0 { // the home page lists every category
			l.check(t, l.publicTab(t), xssPage{name: "help category", path: "/help/categories/" + c.Slug, ready: `main`, payloads: batch})
		}
		// The team's editor shows the Markdown as written and its preview.
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("article editor %d", k+1), path: "/help-center/articles/" + a.ID,
			ready: `[data-testid=kb-form]`, payloads: batch, text: true})
	}
	l.check(t, l.publicTab(t), xssPage{name: "help center home", path: "/help", ready: `main`, payloads: ps})
	for _, q := range []string{"xss", "onerror"} {
		l.check(t, l.publicTab(t), xssPage{name: "help search for " + q, path: "/help/search?q=" + q, ready: `main`, payloads: ps})
	}
	l.check(t, l.teamTab(t), xssPage{name: "team help center", path: "/help-center", ready: `main`, payloads: ps})
	l.check(t, l.teamTab(t), xssPage{name: "team help center categories", path: "/help-center/categories", ready: `main`, payloads: ps})
	return len(ps)
}

// xssSearches types payloads that break out of attributes and elements
// into the search boxes, which show the query back (in the box, the
// heading, the links to more results).
func xssSearches(t *testing.T, l *xssLane, corpus []xssPayload) int {
	breakout := regexp.MustCompile(`^(["'\x60]|</|-->|]]>|&|%3C|\\u003c|\+ADw|＜|\{\{|\$\{)`)
	ps := xssFilter(corpus, func(p xssPayload) bool { return p.fits(200) && breakout.MatchString(p.Text) })
	// As many payloads to a query as its 200 characters hold.
	var queries [][]xssPayload
	for _, p := range ps {
		if n := len(queries); n > 0 && utf8.RuneCountInString(xssJoin(queries[n-1], " ")+" "+p.Text) <= 200 {
			queries[n-1] = append(queries[n-1], p)
		} else {
			queries = append(queries, []xssPayload{p})
		}
	}
	help := l.x.routeExists(t, "/help/search?q=x")
	for i, q := range queries {
		v := url.QueryEscape(xssJoin(q, " "))
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("inbox search query %d", i+1), path: "/inbox/search?q=" + v,
			ready: `main`, payloads: q, text: true})
		if i == 0 { // the same search box as the inbox's
			l.check(t, l.teamTab(t), xssPage{name: "client search query", path: "/clients?q=" + v, ready: `main`, payloads: q, text: true})
		}
		if help {
			l.check(t, l.publicTab(t), xssPage{name: fmt.Sprintf("help search query %d", i+1), path: "/help/search?q=" + v,
				ready: `main`, payloads: q, text: true})
		}
	}
	return len(ps)
}

// xssContactForm sends the contact form: refused (a bad email), so the
// form comes back with what was typed, through the browser; and accepted,
// so it lands in the team's inbox, as plain form posts that waited the
// form's minimum fill time.
func xssContactForm(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	bs := xssBatches(corpus, xssBatch)
	// Ask for every form first: one wait of the minimum fill time serves all.
	tokens := make([]string, len(bs))
	tokenPattern := regexp.MustCompile(`name="t" value="([^"]+)"`)
	for k := range bs {
		status, body := x.get(t, "/help/contact", x.ip())
		m := tokenPattern.FindStringSubmatch(body)
		if status != http.StatusOK || m == nil {
			t.Fatalf("contact form %d: got %d and no token", k+1, status)
		}
		tokens[k] = m[1]
	}
	filled := time.Now()
	for k, batch := range bs {
		name := xssName(batch, fmt.Sprintf("Visitor %d", k+1))
		l.check(t, l.publicTab(t), xssPage{name: fmt.Sprintf("contact form sent back %d", k+1), payloads: batch, text: true,
			ready: `[data-testid=error-email]`, open: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(x.origin + "/help/contact"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid=contact-form]`)),
				chromedp.SetValue(chromedp.CSS(`[name=name]`), name),
				// The browser lets it through (& may be in an address); the
				// server refuses it, and sends the form back as typed.
				chromedp.SetValue(chromedp.CSS(`[name=email]`), "not&valid@example.com"),
				chromedp.SetValue(chromedp.CSS(`[name=message]`), xssJoin(batch, "\n")),
				chromedp.Click(chromedp.CSS(`[data-testid=contact-send]`)),
			}})
	}
	time.Sleep(time.Until(filled.Add(3100 * time.Millisecond)))
	for k, batch := range bs {
		email := fmt.Sprintf("contact%d@example.com", k+1)
		res := x.postForm(t, "/help/contact", url.Values{"t": {tokens[k]}, "name": {xssName(batch, fmt.Sprintf("Visitor %d", k+1))},
			"email": {email}, "message": {xssJoin(batch, "\n")}, "website": {""}}, x.ip())
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/help/contact/sent") {
			t.Fatalf("contact form %d: got %d to %q, want 303 to /help/contact/sent", k+1, res.StatusCode, res.Header.Get("Location"))
		}
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("inbox chat of contact form %d", k+1), path: "/inbox/" + x.chatOf(t, email),
			ready: `[data-testid=conversation]`, payloads: batch, text: true})
	}
	l.check(t, l.teamTab(t), xssPage{name: "inbox chat list with contact forms", path: "/inbox", ready: `[data-testid=chat-row]`, payloads: corpus})
	return len(corpus)
}

// xssName is the first payload of the batch that fits a name, or fallback.
func xssName(batch []xssPayload, fallback string) string {
	if i := slices.IndexFunc(batch, func(p xssPayload) bool { return p.fits(100) }); i >= 0 {
		return batch[i].Text
	}
	return fallback
}

// xssWebChat has one visitor per batch write the payloads in the chat
// panel (as its script sends them, a few per message for the rate limit)
// and leave an email and a name; the team answers with the payloads too.
func xssWebChat(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	// Two visitors: a browser profile each is the slow part.
	for k, batch := range xssBatches(corpus, 2*xssBatch) {
		visitor := x.newTab(t, fmt.Sprintf("web chat visitor %d", k+1), x.ip(), nil)
		// A visitor may send 20 messages at once: ten payloads to a message.
		var msgs []string
		for _, g := range xssBatches(batch, 10) {
			msgs = append(msgs, xssJoin(g, "\n"))
		}
		texts, _ := json.Marshal(msgs)
		email := fmt.Sprintf("chat%d@example.com", k+1)
		l.check(t, visitor, xssPage{name: fmt.Sprintf("web chat panel while writing %d", k+1), payloads: batch, text: true,
			ready: fmt.Sprintf(`[data-testid=wc-line]:nth-of-type(%d)`, len(msgs)+1), open: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(x.origin + "/widget/frame"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid=wc-form]`)),
				chromedp.Evaluate[chromedp.Void](xssWebChatSend(string(texts)), chromedp.EvalAwaitPromise),
				chromedp.Click(chromedp.CSS(`[data-testid=wc-email-toggle]`)),
				chromedp.SetValue(chromedp.CSS(`[data-testid=wc-email]`), email),
				chromedp.SetValue(chromedp.CSS(`[data-testid=wc-name-input]`), xssName(batch, fmt.Sprintf("Chatter %d", k+1))),
				chromedp.Click(chromedp.CSS(`[data-testid=wc-email-save]`)),
				chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid=wc-email-done]').textContent.includes('`+email+`')`,
					chromedp.WithPollingTimeout(10*time.Second)),
			}})
		if errText := visitor.eval(t, "read the panel's error", `document.querySelector('[data-testid=wc-text-error]').textContent`); errText != "" {
			t.Fatalf("web chat %d: the panel refused a message: %s", k+1, errText)
		}
		chatID := x.chatOf(t, email)
		// A teammate's message may hold no control characters but line breaks and tabs.
		x.api(t, "POST", "/api/v1/chats/"+chatID+"/messages", map[string]any{"text": xssJoin(xssFilter(batch, xssPayload.multiLine), "\n")},
			http.StatusAccepted, nil)
		l.check(t, visitor, xssPage{name: fmt.Sprintf("web chat panel reloaded %d", k+1), path: "/widget/frame", payloads: batch, text: true,
			ready: fmt.Sprintf(`[data-testid=wc-line]:nth-of-type(%d)`, len(msgs)+2)})
		l.check(t, l.teamTab(t), xssPage{name: fmt.Sprintf("inbox chat of web chat %d", k+1), path: "/inbox/" + chatID,
			ready: `[data-testid=conversation]`, payloads: batch, text: true})
	}
	return len(corpus)
}

// xssWebChatSend types each text into the panel and sends it as a person
// would (the panel's own script posts it), waiting for each to be sent.
func xssWebChatSend(textsJSON string) string {
	return `(async (texts) => {
		const form = document.querySelector('[data-wc-compose]'), button = form.querySelector('button');
		for (const text of texts) {
			form.elements.text.value = text;
			form.requestSubmit();
			while (button.disabled) await new Promise(r => setTimeout(r, 10));
			const err = document.querySelector('[data-wc-error]').textContent;
			if (err) throw new Error("the panel refused a message: " + err);
		}
	})(` + textsJSON + `)`
}

// xssPortal signs a client (named by payloads) in to the customer portal,
// posts the payloads through its reply form, has the team answer with
// them, and checks the portal's pages and the team's view of the chat.
func xssPortal(t *testing.T, l *xssLane, corpus []xssPayload) int {
	x := l.x
	const email = "portal@example.com"
	named := xssFilter(corpus, func(p xssPayload) bool { return p.fits(100) })
	var c struct {
		ID string `json:"id"`
	}
	x.api(t, "POST", "/api/v1/clients", map[string]any{"first_name": named[0].Text, "last_name": named[1].Text,
		"contacts": []map[string]string{{"type": "email", "value": email}}}, http.StatusCreated, &c)
	client := x.newTab(t, "portal client", x.ip(), nil)
	// The sign-in form shows a refused address back in its input.
	breakouts := xssFilter(named, func(p xssPayload) bool { return strings.HasPrefix(p.Text, `"`) })
	l.check(t, client, xssPage{name: "portal sign-in form sent back", payloads: breakouts[:1], text: true,
		ready: `[data-testid=error-email]`, open: []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(x.origin + "/portal/login"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-login-form]`)),
			chromedp.SetValue(chromedp.CSS(`[data-testid=portal-login-form] [name=email]`), breakouts[0].Text),
			chromedp.Click(chromedp.CSS(`[data-testid=portal-login-form] button[type=submit]`)),
		}})
	client.do(t, "ask for a sign-in link",
		chromedp.Navigate(x.origin+"/portal/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-login-form]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=portal-login-form] [name=email]`), email),
		chromedp.Click(chromedp.CSS(`[data-testid=portal-login-form] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-link-sent]`)))
	client.do(t, "open the sign-in link", chromedp.Navigate(x.origin+xssPortalLink(t, x, email)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-confirm-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=portal-confirm-form] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-reply-form]`)))
	header := []xssPayload{named[0], named[1]}
	for k, batch := range xssBatches(corpus, xssBatch) {
		l.check(t, client, xssPage{name: fmt.Sprintf("portal conversation after a reply %d", k+1), payloads: slices.Concat(batch, header), text: true,
			ready: `.alert-success`, open: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(x.origin + "/portal"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-reply-form]`)),
				chromedp.SetValue(chromedp.CSS(`[data-testid=portal-reply-form] [name=text]`), xssJoin(batch, "\n")),
				chromedp.Click(chromedp.CSS(`[data-testid=portal-reply-form] button[type=submit]`)),
			}})
	}
	chatID := x.chatOf(t, email)
	for _, batch := range xssBatches(xssFilter(corpus, xssPayload.multiLine), xssBatch) {
		x.api(t, "POST", "/api/v1/chats/"+chatID+"/messages", map[string]any{"text": xssJoin(batch, "\n")}, http.StatusAccepted, nil)
	}
	l.check(t, client, xssPage{name: "portal conversation with the team's answers", path: "/portal", ready: `[data-testid=portal-thread]`,
		payloads: slices.Concat(corpus, header), text: true})
	l.check(t, client, xssPage{name: "portal preferences", path: "/portal/preferences", ready: `main`, payloads: header, text: true})
	l.check(t, client, xssPage{name: "portal data", path: "/portal/data", ready: `main`, payloads: header, text: true})
	l.check(t, l.teamTab(t), xssPage{name: "inbox chat of the portal client", path: "/inbox/" + chatID, ready: `[data-testid=conversation]`,
		payloads: corpus})
	return len(corpus)
}

var xssLinkPattern = regexp.MustCompile(`https?://[^/\s]+(/portal/login/[A-Za-z0-9_-]+)`)

// xssPortalLink waits for the sign-in email in the sandbox outbox and
// returns the path of its link.
func xssPortalLink(t *testing.T, x *xssEnv, email string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var link string
		inboxTenant(t, x.m, func(ctx context.Context, db *tenantdb.DB) {
			mails, err := db.SandboxOutbox(ctx, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range mails {
				if l := xssLinkPattern.FindStringSubmatch(m.Text); m.Recipient == email && l != nil {
					link = l[1]
					return
				}
			}
		})
		if link != "" {
			return link
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no sign-in email to %s in the sandbox outbox", email)
	return ""
}
