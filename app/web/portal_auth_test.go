package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/app/web"
	"parley/jobs"
	"parley/tenantdb"
)

// ptMailer stands in for the River job client: it mails each sign-in link
// request at once, in-process, with the job's own code (jobs.DeliverPortalLink),
// and counts the requests it was handed. Email channels send through
// provider, a fake that records what it was given.
type ptMailer struct {
	e        *env
	provider *ptProvider
	mu       sync.Mutex
	requests int
	exports  []string
}

func (m *ptMailer) EnqueueSend(context.Context, string, string) error           { return nil }
func (m *ptMailer) RetryReport(context.Context, string, app.StatusReport) error { return nil }

func (m *ptMailer) EnqueuePortalMail(ctx context.Context, tenantID, requestID string) error {
	m.mu.Lock()
	m.requests++
	m.mu.Unlock()
	db, release, err := m.e.tenants.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer release()
	_, err = jobs.DeliverPortalLink(ctx, db, tenantID, requestID, 1, m.provider)
	return err
}

func (m *ptMailer) EnqueueExport(_ context.Context, _, exportID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exports = append(m.exports, exportID)
	return nil
}

func (m *ptMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// ptProvider is a fake email provider: it keeps what it was asked to send.
type ptProvider struct {
	mu   sync.Mutex
	sent []app.Outbound
}

func (p *ptProvider) Send(_ context.Context, out app.Outbound) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, out)
	return "fake-" + out.Key, nil
}

func (p *ptProvider) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

// ptHeader names the client-address header the portal tests set, so a
// test can ask from several addresses.
const ptHeader = "X-Test-Client-IP"

// ptEnv is a server whose sign-in links are mailed at once, with the
// workspace acme (sandbox connected) and its client Ana.
func ptEnv(t *testing.T) (*env, *ptMailer, *tenantdb.Workspace) {
	t.Helper()
	m := &ptMailer{provider: &ptProvider{}}
	e := setup(t, func(c *web.Config) { c.Delivery = m; c.ClientIPHeader = ptHeader })
	m.e = e
	ws := e.workspace("acme")
	ptSandbox(t, e, ws)
	return e, m, ws
}

// ptSandbox connects a sandbox channel: the team can reply, and sign-in
// links land in its outbox.
func ptSandbox(t *testing.T, e *env, ws *tenantdb.Workspace) app.Channel {
	t.Helper()
	ch, err := e.db(ws).ConnectChannel(context.Background(), app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// ptClient adds a client with an email contact.
func ptClient(t *testing.T, e *env, ws *tenantdb.Workspace, first, last, email string) *app.Client {
	t.Helper()
	return mustClient(t, e, ws, app.ClientInput{FirstName: first, LastName: last,
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: email}}})
}

var ptLinkPattern = regexp.MustCompile(`https?://([^/\s]+)(/portal/login/ppl_[a-z0-9]+)`)

// ptOutbox returns the sign-in emails the sandbox carried to email,
// newest first.
func ptOutbox(t *testing.T, e *env, ws *tenantdb.Workspace, email string) []tenantdb.OutboxEntry {
	t.Helper()
	all, err := e.db(ws).SandboxOutbox(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []tenantdb.OutboxEntry
	for _, o := range all {
		if o.Recipient == email && strings.HasPrefix(o.Key, "portal-link-") {
			out = append(out, o)
		}
	}
	return out
}

// ptLink returns the path of the newest sign-in link mailed to email.
func ptLink(t *testing.T, e *env, ws *tenantdb.Workspace, email string) string {
	t.Helper()
	mails := ptOutbox(t, e, ws, email)
	if len(mails) == 0 {
		t.Fatalf("no sign-in email to %s in the outbox", email)
	}
	m := ptLinkPattern.FindStringSubmatch(mails[0].Text)
	if m == nil {
		t.Fatalf("no sign-in link in the email: %q", mails[0].Text)
	}
	if want := ws.Tenant.Slug + "." + baseDomain; m[1] != want {
		t.Errorf("link host: got %s, want %s (the host it was asked on)", m[1], want)
	}
	return m[2]
}

// ptRequest asks for a sign-in link from the client address ip.
func (b *browser) ptRequest(host, email, ip string) response {
	req, _ := http.NewRequest("POST", hostURL(host, "/portal/login"), strings.NewReader(url.Values{"email": {email}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if ip != "" {
		req.Header.Set(ptHeader, ip)
	}
	return b.do(req)
}

// ptSignIn signs a new browser in to the portal as the client with email.
func ptSignIn(t *testing.T, e *env, ws *tenantdb.Workspace, email string) *browser {
	t.Helper()
	b := e.browser()
	host := ws.Tenant.Slug
	if res := b.ptRequest(host, email, "192.0.2.1"); res.Status != http.StatusSeeOther {
		t.Fatalf("ask for a link: got %d, want 303: %s", res.Status, snippet(res.Body))
	}
	res := b.post(host, ptLink(t, e, ws, email), nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/portal#latest" {
		t.Fatalf("sign in: got %d to %q, want 303 to /portal#latest: %s", res.Status, res.Header.Get("Location"), snippet(res.Body))
	}
	return b
}

// ptCookie returns the portal cookie set by res.
func ptCookie(res response) *http.Cookie {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == "parley_portal" {
			return c
		}
	}
	return nil
}

// ptSentText is the one answer to every well-formed request.
const ptSentText = "If this address belongs to a customer of Acme Inc, a sign-in link is on its way. It works for 15 minutes."

// TestPortalLoginRoutes runs every sign-in route with good and bad input.
func TestPortalLoginRoutes(t *testing.T) {
	t.Parallel()
	e, m, ws := ptEnv(t)
	ptClient(t, e, ws, "Ana", "García", "ana@example.com")

	for _, tt := range []struct {
		name       string
		method     string
		path       string
		form       url.Values
		wantStatus int
		wantLoc    string
		wantTestID string // an element the page must have
		wantBody   string
	}{
		{name: "LoginPage", method: "GET", path: "/portal/login", wantStatus: 200, wantTestID: "portal-login-form"},
		{name: "ErrEmailRequired", method: "POST", path: "/portal/login", form: url.Values{"email": {"  "}},
			wantStatus: 422, wantTestID: "error-email", wantBody: "Enter your email address."},
		{name: "ErrEmailInvalid", method: "POST", path: "/portal/login", form: url.Values{"email": {"ana at example"}},
			wantStatus: 422, wantTestID: "error-email", wantBody: `value="ana at example"`},
		{name: "ErrEmailWithQuery", method: "POST", path: "/portal/login", form: url.Values{"email": {"ana@example.com?cc=x"}},
			wantStatus: 422, wantTestID: "error-email"},
		{name: "OKKnown", method: "POST", path: "/portal/login", form: url.Values{"email": {" Ana@Example.com "}},
			wantStatus: 303, wantLoc: "/portal/login/sent"},
		{name: "OKUnknown", method: "POST", path: "/portal/login", form: url.Values{"email": {"nobody@example.com"}},
			wantStatus: 303, wantLoc: "/portal/login/sent"},
		{name: "SentPage", method: "GET", path: "/portal/login/sent", wantStatus: 200, wantTestID: "portal-link-sent", wantBody: ptSentText},
		{name: "AccountNeedsSignIn", method: "GET", path: "/portal", wantStatus: 303, wantLoc: "/portal/login"},
		{name: "PreferencesNeedSignIn", method: "GET", path: "/portal/preferences", wantStatus: 303, wantLoc: "/portal/login"},
		{name: "DataNeedsSignIn", method: "GET", path: "/portal/data", wantStatus: 303, wantLoc: "/portal/login"},
		{name: "ReplyNeedsSignIn", method: "POST", path: "/portal/messages", form: url.Values{"text": {"hi"}}, wantStatus: 303, wantLoc: "/portal/login"},
		{name: "UnknownLinkGone", method: "GET", path: "/portal/login/ppl_nope", wantStatus: 410, wantTestID: "portal-new-link",
			wantBody: "This link has expired or was already used"},
		{name: "UnknownLinkPostGone", method: "POST", path: "/portal/login/ppl_nope", wantStatus: 410, wantTestID: "portal-link-gone"},
		{name: "EmptyTokenNotFound", method: "GET", path: "/portal/login/", wantStatus: 404},
		{name: "LogoutWithoutSession", method: "POST", path: "/portal/logout", wantStatus: 303, wantLoc: "/portal/login?ended=signout"},
		{name: "SignedOutNotice", method: "GET", path: "/portal/login?ended=signout", wantStatus: 200, wantTestID: "portal-notice",
			wantBody: "You are signed out."},
		{name: "UnknownNoticeIgnored", method: "GET", path: "/portal/login?ended=%3Cscript%3E", wantStatus: 200, wantTestID: "portal-login-form"},
		{name: "LogoutGetNotFound", method: "GET", path: "/portal/logout", wantStatus: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			var res response
			if tt.method == "POST" {
				res = b.post("acme", tt.path, tt.form)
			} else {
				res = b.get("acme", tt.path)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("got status %d, want %d; body: %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if loc := res.Header.Get("Location"); loc != tt.wantLoc {
				t.Errorf("Location: got %q, want %q", loc, tt.wantLoc)
			}
			if tt.wantTestID != "" && res.Doc(t).Find(`[data-testid="`+tt.wantTestID+`"]`).Length() == 0 {
				t.Errorf("page lacks data-testid=%s: %s", tt.wantTestID, snippet(res.Body))
			}
			if tt.wantBody != "" && !strings.Contains(res.Body, tt.wantBody) {
				t.Errorf("body lacks %q: %s", tt.wantBody, snippet(res.Body))
			}
			if res.Status == 200 || res.Status == 410 || res.Status == 422 {
				if res.Doc(t).Find(`meta[name=robots][content=noindex]`).Length() != 1 {
					t.Errorf("page is not marked noindex")
				}
				if strings.Contains(res.Body, "<script>") {
					t.Errorf("page echoes markup: %s", snippet(res.Body))
				}
			}
		})
	}
	if got := len(ptOutbox(t, e, ws, "ana@example.com")); got != 1 {
		t.Errorf("emails to Ana: got %d, want 1", got)
	}
	if got := m.count(); got != 2 {
		t.Errorf("mail jobs: got %d, want 2 (one per well-formed request, known or not)", got)
	}
}

// TestPortalUnknownEmailSameAnswer checks that a request for an address
// that is no client's gets exactly the answer a client's gets, and that
// nothing is mailed or logged about it.
func TestPortalUnknownEmailSameAnswer(t *testing.T) {
	t.Parallel()
	e, m, ws := ptEnv(t)
	ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")

	b := e.browser()
	known := b.ptRequest("acme", "ana@example.com", "192.0.2.1")
	unknown := b.ptRequest("acme", "stranger@example.com", "192.0.2.1")
	if known.Status != unknown.Status || known.Header.Get("Location") != unknown.Header.Get("Location") || known.Body != unknown.Body {
		t.Fatalf("answers differ: known %d %q %q, unknown %d %q %q", known.Status, known.Header.Get("Location"), known.Body,
			unknown.Status, unknown.Header.Get("Location"), unknown.Body)
	}
	if got := len(ptOutbox(t, e, ws, "stranger@example.com")); got != 0 {
		t.Errorf("emails to the unknown address: got %d, want 0", got)
	}
	if got := len(ptOutbox(t, e, ws, "ana@example.com")); got != 1 {
		t.Errorf("emails to Ana: got %d, want 1", got)
	}
	if got := m.count(); got != 2 {
		t.Errorf("mail jobs: got %d, want 2: the unknown address must cost the same work", got)
	}
	evs, err := e.db(ws).ListEvents(context.Background(), app.EventFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	requested := 0
	for _, ev := range evs {
		if strings.Contains(string(ev.Payload), "stranger") {
			t.Errorf("event %s mentions the unknown address: %s", ev.Type, ev.Payload)
		}
		if strings.Contains(string(ev.Payload), "ppl_") {
			t.Errorf("event %s holds a link secret: %s", ev.Type, ev.Payload)
		}
		if ev.Type == app.EventPortalLinkRequested {
			requested++
			if ev.AggregateID != ana.ID {
				t.Errorf("link request event about %s, want Ana %s", ev.AggregateID, ana.ID)
			}
		}
	}
	if requested != 1 {
		t.Errorf("PortalLinkRequested events: got %d, want 1", requested)
	}
}

// TestPortalLinkOnce checks the link: opening it only shows a page (mail
// scanners open links), the POST signs in once with a fresh cookie
// scoped to /portal, and the link never works again.
func TestPortalLinkOnce(t *testing.T) {
	t.Parallel()
	e, _, ws := ptEnv(t)
	ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	b := e.browser()
	b.ptRequest("acme", "ana@example.com", "192.0.2.1")
	link := ptLink(t, e, ws, "ana@example.com")

	open := b.get("acme", link)
	if open.Status != 200 {
		t.Fatalf("open the link: got %d, want 200: %s", open.Status, snippet(open.Body))
	}
	if got := open.Text(t, `[data-testid=portal-confirm-email]`); got != "ana@example.com" {
		t.Errorf("confirm page: got address %q, want ana@example.com", got)
	}
	if ptCookie(open) != nil {
		t.Errorf("opening the link set the portal cookie: a GET must not sign in")
	}
	if got := open.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy of the link page: got %q, want no-referrer", got)
	}
	if res := b.get("acme", "/portal"); res.Status != http.StatusSeeOther {
		t.Errorf("after only opening the link: /portal got %d, want 303 to sign in", res.Status)
	}
	if again := b.get("acme", link); again.Status != 200 {
		t.Errorf("open the link a second time (a scanner, then the person): got %d, want 200", again.Status)
	}

	use := b.post("acme", link, nil)
	if use.Status != http.StatusSeeOther || use.Header.Get("Location") != "/portal#latest" {
		t.Fatalf("sign in: got %d to %q, want 303 to /portal#latest", use.Status, use.Header.Get("Location"))
	}
	c := ptCookie(use)
	switch {
	case c == nil:
		t.Fatal("signing in set no parley_portal cookie")
	case c.Path != "/portal" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "":
		t.Errorf("cookie: got path %q httponly %v samesite %v domain %q, want /portal, true, Lax, host-only",
			c.Path, c.HttpOnly, c.SameSite, c.Domain)
	case c.MaxAge != int(app.PortalSessionLifetime/time.Second):
		t.Errorf("cookie Max-Age: got %d, want %d", c.MaxAge, int(app.PortalSessionLifetime/time.Second))
	}
	home := b.get("acme", "/portal")
	if home.Status != 200 {
		t.Fatalf("signed in: /portal got %d, want 200: %s", home.Status, snippet(home.Body))
	}
	if got := home.Text(t, `[data-testid=portal-customer]`); got != "Ana García" {
		t.Errorf("signed in as %q, want Ana García", got)
	}
	if home.Doc(t).Find(`meta[name=robots][content=noindex]`).Length() != 1 {
		t.Errorf("the conversation page is not marked noindex")
	}

	for _, method := range []string{"GET", "POST"} {
		other := e.browser()
		var res response
		if method == "GET" {
			res = other.get("acme", link)
		} else {
			res = other.post("acme", link, nil)
		}
		if res.Status != http.StatusGone || res.Doc(t).Find(`[data-testid=portal-link-gone]`).Length() == 0 {
			t.Errorf("%s of a used link: got %d, want 410 with the expired page", method, res.Status)
		}
		if ptCookie(res) != nil {
			t.Errorf("%s of a used link set a cookie", method)
		}
	}

	last, err := e.db(ws).PortalLastSignIn(context.Background(), ana.ID)
	if err != nil || last == nil || !last.Equal(e.clock.Now()) {
		t.Errorf("last sign-in: got %v, %v; want %v", last, err, e.clock.Now())
	}
}

// TestPortalLinkExpiry checks that a link works for 15 minutes and not a
// moment longer, on the injected clock.
func TestPortalLinkExpiry(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		after      time.Duration
		wantStatus int
	}{
		{name: "OKJustBefore", after: 15*time.Minute - time.Second, wantStatus: http.StatusSeeOther},
		{name: "ErrAtExpiry", after: 15 * time.Minute, wantStatus: http.StatusGone},
		{name: "ErrLater", after: 2 * time.Hour, wantStatus: http.StatusGone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _, ws := ptEnv(t)
			ptClient(t, e, ws, "Ana", "García", "ana@example.com")
			b := e.browser()
			b.ptRequest("acme", "ana@example.com", "192.0.2.1")
			link := ptLink(t, e, ws, "ana@example.com")
			e.clock.Advance(tt.after)
			want := tt.wantStatus
			if want == http.StatusSeeOther {
				want = 200
			}
			if res := b.get("acme", link); res.Status != want {
				t.Errorf("open after %v: got %d, want %d", tt.after, res.Status, want)
			}
			if res := b.post("acme", link, nil); res.Status != tt.wantStatus {
				t.Errorf("sign in after %v: got %d, want %d", tt.after, res.Status, tt.wantStatus)
			}
		})
	}
}

// TestPortalLinksTogether checks how links of one client relate: a new
// link leaves older ones working (mail arrives out of order), and signing
// in with one stops the others.
func TestPortalLinksTogether(t *testing.T) {
	t.Parallel()
	e, _, ws := ptEnv(t)
	ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	b := e.browser()
	b.ptRequest("acme", "ana@example.com", "192.0.2.1")
	first := ptLink(t, e, ws, "ana@example.com")
	e.clock.Advance(time.Minute)
	b.ptRequest("acme", "ana@example.com", "192.0.2.1")
	second := ptLink(t, e, ws, "ana@example.com")
	if first == second {
		t.Fatal("two requests mailed the same link")
	}
	if res := b.get("acme", first); res.Status != 200 {
		t.Errorf("older link after a newer one was sent: got %d, want 200", res.Status)
	}
	if res := b.post("acme", second, nil); res.Status != http.StatusSeeOther {
		t.Fatalf("sign in with the newer link: got %d, want 303", res.Status)
	}
	if res := e.browser().post("acme", first, nil); res.Status != http.StatusGone {
		t.Errorf("older link after signing in with the newer: got %d, want 410", res.Status)
	}
}

// TestPortalThrottle checks the limits: 3 links per address per 15
// minutes (whether or not the address is a client's, so the limit tells
// nothing), 10 per client address per hour, kept in the tenant's file.
func TestPortalThrottle(t *testing.T) {
	t.Parallel()
	t.Run("PerEmail", func(t *testing.T) {
		t.Parallel()
		e, m, ws := ptEnv(t)
		ptClient(t, e, ws, "Ana", "García", "ana@example.com")
		for _, email := range []string{"ana@example.com", "stranger@example.com"} {
			b := e.browser()
			for i := range 3 {
				if res := b.ptRequest("acme", email, "192.0.2."+string(rune('1'+i))); res.Status != http.StatusSeeOther {
					t.Fatalf("%s request %d: got %d, want 303", email, i+1, res.Status)
				}
			}
			res := b.ptRequest("acme", email, "192.0.2.9")
			if res.Status != http.StatusTooManyRequests {
				t.Fatalf("%s request 4: got %d, want 429", email, res.Status)
			}
			if got := res.Text(t, `[data-testid=portal-error]`); !strings.Contains(got, "Several sign-in links were asked for this address") {
				t.Errorf("%s throttled: got message %q", email, got)
			}
			if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("%s throttled: Retry-After %q", email, ra)
			}
			if got := res.Doc(t).Find(`#p-email`).AttrOr("value", ""); got != email {
				t.Errorf("%s throttled: the form lost the address, got %q", email, got)
			}
		}
		if got := len(ptOutbox(t, e, ws, "ana@example.com")); got != 3 {
			t.Errorf("emails to Ana: got %d, want 3", got)
		}
		if got := m.count(); got != 6 {
			t.Errorf("mail jobs: got %d, want 6 (throttled requests make none)", got)
		}
		e.clock.Advance(15 * time.Minute)
		if res := e.browser().ptRequest("acme", "ana@example.com", "192.0.2.10"); res.Status != http.StatusSeeOther {
			t.Errorf("15 minutes later: got %d, want 303", res.Status)
		}
	})
	t.Run("PerIP", func(t *testing.T) {
		t.Parallel()
		e, _, _ := ptEnv(t)
		b := e.browser()
		for i := range 10 {
			email := "person" + string(rune('a'+i)) + "@example.com"
			if res := b.ptRequest("acme", email, "198.51.100.7"); res.Status != http.StatusSeeOther {
				t.Fatalf("request %d: got %d, want 303", i+1, res.Status)
			}
			e.clock.Advance(time.Minute)
		}
		res := b.ptRequest("acme", "another@example.com", "198.51.100.7")
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "from your network") {
			t.Fatalf("11th request from one address: got %d, want 429 naming the network: %s", res.Status, snippet(res.Body))
		}
		if res := b.ptRequest("acme", "another@example.com", "198.51.100.8"); res.Status != http.StatusSeeOther {
			t.Errorf("from another address: got %d, want 303", res.Status)
		}
		e.clock.Advance(51 * time.Minute) // the first request is an hour old
		if res := b.ptRequest("acme", "another@example.com", "198.51.100.7"); res.Status != http.StatusSeeOther {
			t.Errorf("an hour after the first: got %d, want 303", res.Status)
		}
	})
}

// TestPortalCookieIsolation checks that the portal session and the team
// session never stand in for each other.
func TestPortalCookieIsolation(t *testing.T) {
	t.Parallel()
	e, _, ws := ptEnv(t)
	ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	client := ptSignIn(t, e, ws, "ana@example.com")
	u, _ := url.Parse(hostURL("acme", "/portal"))
	var portalToken string
	for _, c := range client.c.Jar.Cookies(u) {
		if c.Name == "parley_portal" {
			portalToken = c.Value
		}
	}
	if portalToken == "" {
		t.Fatal("no portal cookie in the jar")
	}
	team := e.browser()
	team.login("acme", "admin@acme.example", "correct horse battery")
	var teamToken string
	for _, c := range team.c.Jar.Cookies(u) {
		if c.Name == "parley_session" {
			teamToken = c.Value
		}
	}
	if teamToken == "" {
		t.Fatal("no team cookie in the jar")
	}

	withCookies := func(path string, cookies ...*http.Cookie) response {
		req, _ := http.NewRequest("GET", hostURL("acme", path), nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return e.browser().do(req)
	}
	for _, tt := range []struct {
		name    string
		path    string
		cookies []*http.Cookie
		wantLoc string
	}{
		{name: "PortalCookieNotTeamSession", path: "/inbox", cookies: []*http.Cookie{{Name: "parley_portal", Value: portalToken}},
			wantLoc: "/login?next=%2Finbox"},
		{name: "PortalTokenAsTeamCookie", path: "/clients", cookies: []*http.Cookie{{Name: "parley_session", Value: portalToken}},
			wantLoc: "/login?next=%2Fclients"},
		{name: "TeamCookieNotPortalSession", path: "/portal", cookies: []*http.Cookie{{Name: "parley_session", Value: teamToken}},
			wantLoc: "/portal/login"},
		{name: "TeamTokenAsPortalCookie", path: "/portal", cookies: []*http.Cookie{{Name: "parley_portal", Value: teamToken}},
			wantLoc: "/portal/login?ended=expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := withCookies(tt.path, tt.cookies...)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != tt.wantLoc {
				t.Errorf("got %d to %q, want 303 to %q", res.Status, res.Header.Get("Location"), tt.wantLoc)
			}
		})
	}
	t.Run("TeamBrowserSeesNoPortal", func(t *testing.T) {
		if res := team.get("acme", "/portal"); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/portal/login" {
			t.Errorf("team member on /portal: got %d to %q, want 303 to /portal/login", res.Status, res.Header.Get("Location"))
		}
	})
	t.Run("ClientBrowserSeesNoTeamApp", func(t *testing.T) {
		for _, path := range []string{"/", "/inbox", "/clients", "/settings", "/api/v1/me"} {
			res := client.get("acme", path)
			if res.Status == 200 {
				t.Errorf("client on %s: got 200, want to be turned away", path)
			}
		}
	})
	t.Run("PortalPagesLinkNoTeamApp", func(t *testing.T) {
		for _, path := range []string{"/portal", "/portal/preferences", "/portal/data"} {
			res := client.get("acme", path)
			res.Doc(t).Find("a[href], form[action]").Each(func(_ int, s *goquery.Selection) {
				target := s.AttrOr("href", s.AttrOr("action", ""))
				for _, team := range []string{"/inbox", "/clients", "/settings", "/api/", "/login"} {
					if strings.HasPrefix(target, team) {
						t.Errorf("%s links to the team app: %s", path, target)
					}
				}
			})
		}
	})
	t.Run("OtherWorkspaceHost", func(t *testing.T) {
		e.workspace("globex")
		req, _ := http.NewRequest("GET", hostURL("globex", "/portal"), nil)
		req.AddCookie(&http.Cookie{Name: "parley_portal", Value: portalToken})
		res := e.browser().do(req)
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/portal/login") {
			t.Errorf("acme's portal token on globex: got %d to %q, want 303 to sign in", res.Status, res.Header.Get("Location"))
		}
	})
}

// TestPortalSignOut checks sign-out: the session ends for good, the
// cookie is cleared, and the event log says so.
func TestPortalSignOut(t *testing.T) {
	t.Parallel()
	e, _, ws := ptEnv(t)
	ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	b := ptSignIn(t, e, ws, "ana@example.com")
	u, _ := url.Parse(hostURL("acme", "/portal"))
	token := b.c.Jar.Cookies(u)[0].Value

	res := b.post("acme", "/portal/logout", nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/portal/login?ended=signout" {
		t.Fatalf("sign out: got %d to %q", res.Status, res.Header.Get("Location"))
	}
	if c := ptCookie(res); c == nil || c.MaxAge >= 0 || c.Path != "/portal" {
		t.Errorf("sign out did not clear the cookie: %+v", c)
	}
	if res := b.get("acme", "/portal"); res.Status != http.StatusSeeOther {
		t.Errorf("after sign-out: /portal got %d, want 303", res.Status)
	}
	req, _ := http.NewRequest("GET", hostURL("acme", "/portal"), nil)
	req.AddCookie(&http.Cookie{Name: "parley_portal", Value: token})
	if res := e.browser().do(req); res.Status != http.StatusSeeOther {
		t.Errorf("the signed-out token replayed: got %d, want 303", res.Status)
	}
	evs, err := e.db(ws).ListEvents(context.Background(), app.EventFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Type, "Portal") {
			types = append(types, ev.Type)
			if ev.Type == app.EventPortalSignedIn || ev.Type == app.EventPortalSignedOut {
				if ev.Actor.Type != app.ActorClient || ev.Actor.ID != ana.ID || ev.Actor.Name != "Ana García" {
					t.Errorf("%s actor: got %+v, want the client", ev.Type, ev.Actor)
				}
			}
		}
	}
	if got, want := strings.Join(types, ","), "PortalSignedOut,PortalSignedIn,PortalLinkSent,PortalLinkRequested"; got != want {
		t.Errorf("portal events, newest first: got %s, want %s", got, want)
	}
}

// TestPortalSessionEnds checks when a session stops working: idle for 2
// hours, 7 days after sign-in, and at once when the client is merged
// away, deleted or erased, or the address they signed in with leaves
// their profile.
func TestPortalSessionEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		change  func(t *testing.T, e *env, ws *tenantdb.Workspace, ana *app.Client, b *browser)
		wantLoc string
	}{
		{name: "OKActive"}, // a page view every 110 minutes keeps it alive
		{name: "Idle", change: func(_ *testing.T, e *env, _ *tenantdb.Workspace, _ *app.Client, _ *browser) {
			e.clock.Advance(2 * time.Hour)
		}, wantLoc: "/portal/login?ended=expired"},
		{name: "Lifetime", change: func(t *testing.T, e *env, _ *tenantdb.Workspace, _ *app.Client, b *browser) {
			// Used every 100 minutes, it still ends 7 days after sign-in.
			start := e.clock.Now()
			for e.clock.Now().Add(100 * time.Minute).Before(start.Add(app.PortalSessionLifetime)) {
				e.clock.Advance(100 * time.Minute)
				if res := b.get("acme", "/portal/data"); res.Status != 200 {
					t.Fatalf("in use %v after sign-in: got %d, want 200", e.clock.Now().Sub(start), res.Status)
				}
			}
			e.clock.Advance(start.Add(app.PortalSessionLifetime).Sub(e.clock.Now()))
		}, wantLoc: "/portal/login?ended=expired"},
		{name: "ClientDeleted", change: func(t *testing.T, e *env, ws *tenantdb.Workspace, ana *app.Client, _ *browser) {
			if err := e.db(ws).DeleteClient(ctx, ana.ID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, wantLoc: "/portal/login?ended=changed"},
		{name: "ClientMergedAway", change: func(t *testing.T, e *env, ws *tenantdb.Workspace, ana *app.Client, _ *browser) {
			other := ptClient(t, e, ws, "Ana", "Garcia", "ana.g@example.com")
			if _, err := e.db(ws).MergeClients(ctx, other.ID, app.MergeInput{OtherID: ana.ID}, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, wantLoc: "/portal/login?ended=changed"},
		{name: "ClientErased", change: func(t *testing.T, e *env, ws *tenantdb.Workspace, ana *app.Client, _ *browser) {
			if _, err := e.db(ws).EraseClient(ctx, ana.ID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, wantLoc: "/portal/login?ended=expired"}, // the erasure deleted the session itself
		{name: "EmailRemoved", change: func(t *testing.T, e *env, ws *tenantdb.Workspace, ana *app.Client, _ *browser) {
			p, err := e.db(ws).ClientProfile(ctx, ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.db(ws).RemoveContact(ctx, ana.ID, p.Contacts[0].ID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, wantLoc: "/portal/login?ended=changed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _, ws := ptEnv(t)
			ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")
			b := ptSignIn(t, e, ws, "ana@example.com")
			if tt.change == nil {
				for range 5 {
					e.clock.Advance(110 * time.Minute)
					if res := b.get("acme", "/portal/preferences"); res.Status != 200 {
						t.Fatalf("active session after %v: got %d, want 200", e.clock.Now(), res.Status)
					}
				}
			} else {
				tt.change(t, e, ws, ana, b)
			}
			res := b.get("acme", "/portal")
			if tt.wantLoc == "" {
				if res.Status != 200 {
					t.Errorf("got %d, want 200", res.Status)
				}
				return
			}
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != tt.wantLoc {
				t.Fatalf("got %d to %q, want 303 to %q", res.Status, res.Header.Get("Location"), tt.wantLoc)
			}
			if c := ptCookie(res); c == nil || c.MaxAge >= 0 {
				t.Errorf("the ended session's cookie was not cleared: %+v", c)
			}
			page := b.get("acme", tt.wantLoc)
			if page.Doc(t).Find(`[data-testid=portal-notice]`).Length() != 1 {
				t.Errorf("the sign-in page does not say why: %s", snippet(page.Body))
			}
		})
	}
}

// TestPortalMailbox checks that a workspace with a connected mailbox
// mails the link through it (a transactional email, not a chat message),
// and that the team's inbox does not show it.
func TestPortalMailbox(t *testing.T) {
	t.Parallel()
	e, m, ws := ptEnv(t)
	ctx := context.Background()
	ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	mailbox, err := e.db(ws).ConnectChannel(ctx, app.ChannelEmail, "Support mailbox",
		map[string]any{"from_address": "support@acme.example", "from_name": "Acme Support"}, map[string]string{"smtp_password": "x"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if res := e.browser().ptRequest("acme", "ana@example.com", "192.0.2.1"); res.Status != http.StatusSeeOther {
		t.Fatalf("request: got %d", res.Status)
	}
	m.provider.mu.Lock()
	sent := m.provider.sent
	m.provider.mu.Unlock()
	if len(sent) != 1 {
		t.Fatalf("emails through the mailbox: got %d, want 1", len(sent))
	}
	out := sent[0]
	if out.Channel.ID != mailbox.ID || out.To != "ana@example.com" || out.Transport != app.TransportEmail ||
		out.Subject != "Your sign-in link for Acme Inc" || !ptLinkPattern.MatchString(out.Text) || !strings.Contains(out.Text, "Hello Ana,") {
		t.Errorf("email: got channel %s to %s subject %q text %q", out.Channel.ID, out.To, out.Subject, out.Text)
	}
	if got := ptOutbox(t, e, ws, "ana@example.com"); len(got) != 0 {
		t.Errorf("with a mailbox, the sandbox outbox got %d sign-in emails, want 0", len(got))
	}
	if _, err := e.db(ws).ChatOfClient(ctx, ana.ID, app.ChatScope{All: true}); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("the sign-in email made a conversation for Ana (err %v): it must not clutter the inbox", err)
	}
	link := ptLinkPattern.FindStringSubmatch(out.Text)[2]
	if res := e.browser().post("acme", link, nil); res.Status != http.StatusSeeOther {
		t.Errorf("the mailed link: got %d, want 303", res.Status)
	}
}

// TestPortalCustomDomain checks that a link asked for on a mapped domain
// leads back there, and signs in there.
func TestPortalCustomDomain(t *testing.T) {
	t.Parallel()
	e, _, ws := ptEnv(t)
	ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	if err := e.control.MapDomain(context.Background(), ws.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	req, _ := http.NewRequest("POST", "http://help.acme.example/portal/login", strings.NewReader("email=ana%40example.com"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if res := b.do(req); res.Status != http.StatusSeeOther {
		t.Fatalf("request on the custom domain: got %d: %s", res.Status, snippet(res.Body))
	}
	mails := ptOutbox(t, e, ws, "ana@example.com")
	if len(mails) != 1 {
		t.Fatalf("emails: got %d, want 1", len(mails))
	}
	m := ptLinkPattern.FindStringSubmatch(mails[0].Text)
	if m == nil || m[1] != "help.acme.example" {
		t.Fatalf("link: got %v, want one on help.acme.example", m)
	}
	req, _ = http.NewRequest("POST", "http://help.acme.example"+m[2], nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if res := b.do(req); res.Status != http.StatusSeeOther {
		t.Fatalf("sign in on the custom domain: got %d", res.Status)
	}
	if res := b.getOn("help.acme.example", "/portal"); res.Status != 200 {
		t.Errorf("the conversation on the custom domain: got %d, want 200", res.Status)
	}
}

// TestPortalNoChannel checks a workspace with neither a mailbox nor a
// sandbox: the link is still made and kept in the sandbox outbox (no page
// shows it: the event says so), and the visitor's answer is the same.
func TestPortalNoChannel(t *testing.T) {
	t.Parallel()
	m := &ptMailer{provider: &ptProvider{}}
	e := setup(t, func(c *web.Config) { c.Delivery = m })
	m.e = e
	ws := e.workspace("acme")
	ana := ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	res := e.browser().ptRequest("acme", "ana@example.com", "")
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/portal/login/sent" {
		t.Fatalf("request: got %d to %q", res.Status, res.Header.Get("Location"))
	}
	mails := ptOutbox(t, e, ws, "ana@example.com")
	if len(mails) != 1 || mails[0].ChannelID != "" {
		t.Fatalf("outbox: got %+v, want one email without a channel", mails)
	}
	evs, _, err := e.db(ws).ClientTimeline(context.Background(), ana.ID, app.TimelineFilter{Type: app.EventPortalLinkSent})
	if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Payload), `"via":"outbox"`) {
		t.Errorf("sent event: got %v (%v), want one via outbox", evs, err)
	}
}

// lockedBuffer is a log sink the server's goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestPortalLinkSecretNotLogged: the access log names the route of a
// sign-in link, never the secret in its path.
func TestPortalLinkSecretNotLogged(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	m := &ptMailer{provider: &ptProvider{}}
	e := setup(t, func(c *web.Config) {
		c.Delivery = m
		c.ClientIPHeader = ptHeader
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	m.e = e
	ws := e.workspace("acme")
	ptSandbox(t, e, ws)
	ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	b := e.browser()
	b.ptRequest("acme", "ana@example.com", "192.0.2.1")
	link := ptLink(t, e, ws, "ana@example.com")
	secret := link[strings.LastIndex(link, "/")+1:]
	if res := b.get("acme", link); res.Status != 200 {
		t.Fatalf("open the link: got %d", res.Status)
	}
	if res := b.post("acme", link, nil); res.Status != http.StatusSeeOther {
		t.Fatalf("use the link: got %d", res.Status)
	}
	out := logs.String()
	if !strings.Contains(out, "/portal/login/{token}") {
		t.Fatalf("the access log does not name the link's route: %s", snippet(out))
	}
	if strings.Contains(out, secret) {
		t.Errorf("the access log holds the sign-in secret %s", secret)
	}
}
