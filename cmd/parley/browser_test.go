package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowserSignupInviteAudit drives a real Chromium through sign-up,
// sign-out, sign-in, inviting a colleague, the colleague joining from a
// separate browser profile, and the audit log that records all of it. Any
// console error or CSP violation on the way fails the test.
//
// Set PARLEY_SCREENSHOTS=DIR to keep screenshots of the main pages.
func TestBrowserSignupInviteAudit(t *testing.T) {
	needChromium(t)
	_, base := startServer(t, func(c *Config) { c.Signup = true })
	b := startBrowser(t, 90*time.Second)

	const (
		company       = "Acme Ltd"
		slug          = "acme"
		adminName     = "Ada Lovelace"
		adminEmail    = "ada@acme.example"
		adminPassword = "analytical-engine-1843"
		inviteeName   = "Grace Hopper"
		inviteeEmail  = "grace@acme.example"
		inviteePass   = "compiler-a0-1952"
	)
	workspace := "http://" + slug + "." + base
	admin := b.newTab("admin")

	// 1. Sign up on the base domain. The server creates the workspace and hands
	// the new admin over to the workspace's own host with a one-time link.
	admin.run("open the sign-up page",
		chromedp.Navigate("http://"+base+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=signup-form]`)))
	admin.shot("signup")
	admin.run("sign up",
		fill("#f-name", company), fill("#f-slug", slug), fill("#f-admin_name", adminName),
		fill("#f-email", adminEmail), fill("#f-password", adminPassword))
	admin.follow("submit the sign-up form", `[data-testid=signup-form] button[type=submit]`, `[data-testid=current-user]`)
	admin.wantSignedIn(workspace, adminName, "Admin")
	if got := admin.text(`.page-header h1`); got != "Inbox" {
		t.Errorf("page after sign-up: got heading %q, want %q", got, "Inbox")
	}
	admin.shot("welcome")

	// 2. Sign out.
	admin.follow("sign out", `[data-testid=logout]`, `[data-testid=login-form]`)
	if got, want := admin.location(), workspace+"/login"; got != want {
		t.Errorf("after sign-out: got %s, want %s", got, want)
	}
	admin.shot("login")

	// 3. Sign in again with the password chosen at sign-up.
	admin.run("fill the sign-in form", fill("#f-email", adminEmail), fill("#f-password", adminPassword))
	admin.follow("sign in", `[data-testid=login-form] button[type=submit]`, `[data-testid=current-user]`)
	admin.wantSignedIn(workspace, adminName, "Admin")
	admin.shot("inbox")

	// 4. Settings → Team: invite a colleague as an agent.
	admin.follow("open Settings", `[data-testid=nav-settings]`, `[data-testid=tab-team]`)
	admin.follow("open the Team tab", `[data-testid=tab-team]`, `[data-testid=invite-form]`)
	admin.run("fill the invite form",
		fill(`[data-testid=invite-form] #f-email`, inviteeEmail),
		fill(`[data-testid=invite-form] #f-name`, "Grace"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=invite-form] #f-role`), "agent"))
	admin.follow("create the invitation", `[data-testid=invite-form] button[type=submit]`, `[data-testid=invite-link]`)
	link := strings.TrimSpace(admin.text(`[data-testid=invite-link]`))
	if !strings.HasPrefix(link, workspace+"/invite/") {
		t.Fatalf("invite link: got %q, want a link under %s/invite/", link, workspace)
	}
	admin.shot("team-invite-link")

	// 5. The colleague opens the link in a browser profile of their own, so
	// the admin's session cookie cannot sign them in by accident.
	invitee := b.newTab("invitee")
	invitee.run("check the invitee starts signed out",
		chromedp.Navigate(workspace+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	invitee.run("open the invite link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=accept-form]`)))
	if got := invitee.value(`#f-name`); got != "Grace" {
		t.Errorf("accept form: got name %q prefilled, want %q from the invitation", got, "Grace")
	}
	invitee.shot("accept-invite")
	invitee.run("fill the accept form",
		chromedp.Clear(chromedp.CSS(`#f-name`)), fill("#f-name", inviteeName), fill("#f-password", inviteePass))
	invitee.follow("join the team", `[data-testid=accept-form] button[type=submit]`, `[data-testid=current-user]`)
	invitee.wantSignedIn(workspace, inviteeName, "Agent")
	invitee.shot("invitee-welcome")

	// 6. The audit log shows every step, and its filter narrows it to one type.
	admin.run("open the audit log",
		chromedp.Navigate(workspace+"/settings/audit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-log]`)))
	types := admin.auditTypes()
	for _, want := range []string{"WorkspaceCreated", "UserCreated", "UserLoggedIn", "UserLoggedOut", "UserInvited", "InviteAccepted"} {
		if !slices.Contains(types, want) {
			t.Errorf("audit log: no %s row; got rows %v", want, types)
		}
	}
	admin.shot("audit-log")
	admin.run("choose the UserInvited filter",
		chromedp.SetValue(chromedp.CSS(`[data-testid=audit-filters] #f-type`), "UserInvited"))
	admin.follow("filter the audit log", `[data-testid=audit-filters] button[type=submit]`, `[data-testid=audit-log]`)
	if got := admin.auditTypes(); len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return s != "UserInvited" }) {
		t.Errorf("audit log filtered by type=UserInvited: got rows %v, want only UserInvited (at least one)", got)
	}
	if got := admin.location(); !strings.Contains(got, "type=UserInvited") {
		t.Errorf("filtered audit log URL: got %s, want it to carry type=UserInvited so it can be shared", got)
	}
	admin.shot("audit-filtered")

	// The same pages on a phone-sized screen, for people to look at.
	admin.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	admin.run("open the inbox on a phone",
		chromedp.Navigate(workspace+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=current-user]`)))
	admin.shot("inbox-phone")
	admin.run("open the team page on a phone",
		chromedp.Navigate(workspace+"/settings/team"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=invite-form]`)))
	admin.shot("team-phone")
	admin.run("open the audit log on a phone",
		chromedp.Navigate(workspace+"/settings/audit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-log]`)))
	admin.shot("audit-phone")
}

// browser is one headless Chromium shared by the tabs of a test.
type browser struct {
	t       *testing.T
	ctx     context.Context
	console *consoleErrors
	shots   string // directory for screenshots; empty keeps none
	nshots  int
}

// startBrowser starts Chromium with a fresh profile. The timeout bounds the
// whole test: when it passes, the browser stops and every pending step fails.
func startBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners often lack user namespaces
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b := &browser{t: t, ctx: browserCtx, console: &consoleErrors{}, shots: os.Getenv("PARLEY_SCREENSHOTS")}
	if b.shots != "" {
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatalf("screenshot directory: %v", err)
		}
	}
	t.Cleanup(func() { b.console.check(t) })
	return b
}

// newTab opens a tab in a browser context of its own: like a separate
// incognito window, it shares no cookies with the other tabs.
func (b *browser) newTab(name string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(),
		chromedp.WithListener(b.console.listener(name)))
	b.t.Cleanup(cancel)
	// The first Do on a context opens its tab, and the tab lives as long as
	// the context of that call: so no step timeout here.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open the %s tab: %v", name, err)
	}
	tb := &tab{b: b, name: name, ctx: ctx}
	// The page reports CSP violations as a DOM event too; turn it into a
	// console error so it cannot go unnoticed. Scripts added through the
	// protocol are not subject to the page's CSP.
	tb.run("report CSP violations", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `document.addEventListener("securitypolicyviolation", e => console.error(
				"CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline code") +
				" at " + (e.sourceFile || document.location.href) + ":" + e.lineNumber));`,
		})
		return err
	}))
	return tb
}

// tab is one browser tab acting as one person.
type tab struct {
	b    *browser
	name string
	ctx  context.Context
}

// stepTimeout bounds one step, so a stuck wait fails with its own name while
// the tab is still alive to tell where it was.
const stepTimeout = 20 * time.Second

// run runs steps, and on failure stops the test with where the page was.
func (tb *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.b.t.Fatalf("%s: %s: %v\n%s", tb.name, what, err, tb.describe())
	}
}

// eventually waits until the JavaScript condition js holds, across page
// loads: a step that may load a whole page (a link clicked before htmx took
// it over) destroys the context a plain Poll runs in.
func (tb *tab) eventually(what, js string) {
	tb.b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, time.Second)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Second)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.b.t.Fatalf("%s: %s: %v\n%s", tb.name, what, err, tb.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// follow clicks a link or button and waits for want on the page it leads to.
// It marks the current page first: htmx swaps boosted pages in place, and
// the old page may match want as well.
func (tb *tab) follow(what, click, want string) {
	tb.b.t.Helper()
	tb.run(what,
		chromedp.Evaluate[chromedp.Void](`for (const el of document.body.children) el.dataset.stale = ""`),
		chromedp.Click(chromedp.CSS(click)),
		chromedp.WaitVisible(chromedp.CSS(`body > :not([data-stale]) `+want)))
}

// fill types text into the input that sel selects, as a person would.
func fill(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), text)
}

func (tb *tab) text(sel string) string {
	tb.b.t.Helper()
	return tb.get("read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (tb *tab) value(sel string) string {
	tb.b.t.Helper()
	return tb.get("read "+sel, chromedp.Value(chromedp.CSS(sel)))
}

func (tb *tab) location() string {
	tb.b.t.Helper()
	return tb.get("read the location", chromedp.Location())
}

func (tb *tab) get(what string, a chromedp.Action[string]) string {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.b.t.Fatalf("%s: %s: %v\n%s", tb.name, what, err, tb.describe())
	}
	return s
}

// wantSignedIn checks the tab is on the workspace's team app with the
// sidebar naming the person and their role.
func (tb *tab) wantSignedIn(workspace, name, role string) {
	tb.b.t.Helper()
	if got := tb.location(); !strings.HasPrefix(got, workspace+"/") {
		tb.b.t.Errorf("%s: signed in at %s, want a page of %s", tb.name, got, workspace)
	}
	if got := tb.text(`[data-testid=current-user] .user-name`); got != name {
		tb.b.t.Errorf("%s: current user: got %q, want %q", tb.name, got, name)
	}
	if got := tb.text(`[data-testid=current-user] .user-role`); got != role {
		tb.b.t.Errorf("%s: current user's role: got %q, want %q", tb.name, got, role)
	}
}

// auditTypes returns the event type of every row of the audit log shown.
func (tb *tab) auditTypes() []string {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	rows, err := chromedp.Run(ctx, chromedp.AttributesAll(chromedp.CSSAll(`[data-testid=audit-row]`)))
	if err != nil {
		tb.b.t.Fatalf("%s: read the audit rows: %v\n%s", tb.name, err, tb.describe())
	}
	var types []string
	for _, r := range rows {
		types = append(types, r["data-event-type"])
	}
	return types
}

// describe says where the tab is and what it shows, for failure messages,
// and keeps a screenshot of it.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(the page cannot be read: %v)", err)
	}
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 800) : ""`))
	tb.saveShot(ctx, "FAILED-"+tb.name)
	return fmt.Sprintf("page %s shows:\n%s", url, indent(body))
}

// shot saves a full-page screenshot if PARLEY_SCREENSHOTS is set.
func (tb *tab) shot(name string) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := tb.saveShot(ctx, name); err != nil {
		tb.b.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (tb *tab) saveShot(ctx context.Context, name string) error {
	if tb.b.shots == "" {
		return nil
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	tb.b.nshots++
	path := filepath.Join(tb.b.shots, fmt.Sprintf("%02d-%s.png", tb.b.nshots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	tb.b.t.Logf("screenshot %s", path)
	return nil
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n\t")
}

// consoleErrors collects, from every tab, console.error calls, uncaught
// exceptions and error entries of the browser log (where Chromium reports
// CSP violations and failed loads).
type consoleErrors struct {
	mu   sync.Mutex
	seen []string
}

// listener returns a chromedp event listener for the tab called name. It runs
// on the tab's reading goroutine, so it only records.
func (c *consoleErrors) listener(name string) func(ev any) {
	return func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
				return
			}
			msg = "console." + string(ev.Type) + ": " + argsText(ev.Args)
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = "uncaught exception: " + d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		case *log.EventEntryAdded:
			if ev.Entry == nil || ev.Entry.Level != log.EntryLevelError {
				return
			}
			// Chromium logs every 4xx load; a form refused with its field
			// errors answers 422 by design, so that one is expected.
			if ev.Entry.Source == log.EntrySourceNetwork && strings.Contains(ev.Entry.Text, "status of 422") {
				return
			}
			msg = fmt.Sprintf("browser log (%s): %s", ev.Entry.Source, ev.Entry.Text)
			if ev.Entry.URL != "" {
				msg += " (" + ev.Entry.URL + ")"
			}
		default:
			return
		}
		c.mu.Lock()
		c.seen = append(c.seen, name+": "+msg)
		c.mu.Unlock()
	}
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a.Value != nil:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// check fails the test if any page logged an error.
func (c *consoleErrors) check(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) > 0 {
		t.Errorf("the pages logged %d console error(s) or CSP violation(s), want none:\n\t%s",
			len(c.seen), strings.Join(c.seen, "\n\t"))
	}
}

// needChromium skips a browser test under -short or without Chromium; in
// CI (CI set) a missing Chromium fails instead, so the flows always run there.
// acmeWorkspace starts the server and creates the workspace acme with its
// admin ada@acme.example (password analytical-engine-1843) through the
// CLI, as an operator would; it returns the server and the workspace URL.
func acmeWorkspace(t *testing.T, mutate ...func(*Config)) (*Main, string) {
	t.Helper()
	var data string
	m, base := startServer(t, append(mutate, func(c *Config) { data = c.DataDir })...)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("analytical-engine-1843\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "tenant", "create", "acme", "--name", "Acme Ltd", "--admin-email", "ada@acme.example",
		"--admin-password-file", pwFile, "--data", data); code != 0 {
		t.Fatalf("tenant create: exit %d: %s", code, errOut)
	}
	return m, "http://acme." + base
}

func needChromium(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the browser test, but Chromium is missing: %v", err)
		}
		t.Skipf("browser test: no Chromium at %s", chromiumPath)
	}
}
