package web_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// clock is a settable time source shared by the server and the tenant files.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a running router over httptest with real SQLite files.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	control *tenantdb.Control
	tenants *tenantdb.Manager
	clock   *clock
	dataDir string
}

const baseDomain = "parley.test"

// setup starts the real router on an httptest server whose base domain is
// parley.test; clients reach any *.parley.test host through it.
func setup(t testing.TB, mutate ...func(*web.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	control, err := tenantdb.OpenControl(ctx, filepath.Join(dir, "control.db"), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := tenantdb.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants"), Now: clk.Now, Sealer: sealer,
		AllowAPIBaseURL: true})
	// Channels point at the tests' fake provider servers.
	cfg := web.Config{BaseDomain: baseDomain, Signup: true, Now: clk.Now, AllowAPIBaseURL: true}
	for _, f := range mutate {
		f(&cfg)
	}
	srv := httptest.NewServer(web.New(cfg, control, tenants).Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := tenants.Close(ctx); err != nil {
			t.Errorf("close tenants: %v", err)
		}
		control.Close()
	})
	return &env{t: t, srv: srv, control: control, tenants: tenants, clock: clk, dataDir: dir}
}

// workspace provisions a tenant with an admin whose password is "correct horse battery".
func (e *env) workspace(slug string) *tenantdb.Workspace {
	e.t.Helper()
	ws, err := tenantdb.Provision(context.Background(), e.control, e.tenants, tenantdb.NewWorkspace{
		Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:] + " Inc", AdminEmail: "admin@" + slug + ".example",
		AdminName: "Admin of " + slug, AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		e.t.Fatalf("provision %s: %v", slug, err)
	}
	return &ws
}

// db opens a tenant's file for direct checks.
func (e *env) db(ws *tenantdb.Workspace) *tenantdb.DB {
	e.t.Helper()
	db, release, err := e.tenants.Acquire(context.Background(), ws.Tenant.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(release)
	return db
}

// browser is an HTTP client with its own cookie jar, like one browser profile.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	target := e.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}}
	return &browser{e: e, c: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// Doc parses the body as HTML.
func (r response) Doc(t *testing.T) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// Text returns the trimmed text of the first element matching sel.
func (r response) Text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(r.Doc(t).Find(sel).First().Text())
}

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

// get fetches host+path, for example get("acme", "/inbox"); "" is the base domain.
func (b *browser) get(host, path string) response {
	req, _ := http.NewRequest("GET", hostURL(host, path), nil)
	return b.do(req)
}

// post sends a same-origin form post, as a browser does.
func (b *browser) post(host, path string, form url.Values) response {
	req, _ := http.NewRequest("POST", hostURL(host, path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// login signs in and fails the test if it does not work.
func (b *browser) login(host, email, password string) {
	b.e.t.Helper()
	res := b.post(host, "/login", url.Values{"email": {email}, "password": {password}})
	if res.Status != http.StatusSeeOther {
		b.e.t.Fatalf("login on %s: got status %d, want 303; body: %s", host, res.Status, snippet(res.Body))
	}
}

func hostURL(host, path string) string {
	if host == "" {
		return "http://" + baseDomain + path
	}
	return "http://" + host + "." + baseDomain + path
}

func snippet(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// api calls /api/v1 with a bearer token.
func (e *env) api(host, path, token string) response {
	b := e.browser()
	req, _ := http.NewRequest("GET", hostURL(host, path), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return b.do(req)
}
