package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/app"
	"parley/tenantdb"
)

// TestBrowserHelpCenterVisitor drives the public help center as a visitor
// would, in a browser profile with no cookies, while the team's inbox
// stays open in another: the visitor browses the categories, searches
// (matches marked), reads an article (heading anchors, contents, table,
// links, related articles), answers "Was this helpful?" (swapped in place
// by htmx) and writes through the contact form; the message appears in the
// open inbox live, as text, via Website, and the vote is counted. A draft
// never shows. Any console error, CSP violation or JavaScript dialog in
// either profile fails it. Screenshots at 1280 and 390 px go to
// PARLEY_SCREENSHOTS=DIR, or to a temporary directory.
func TestBrowserHelpCenterVisitor(t *testing.T) {
	needChromium(t)
	started := time.Now()
	m, workspace := acmeWorkspace(t)
	api := hcAPI{t: t, workspace: workspace, token: hcAdminToken(t, m)}
	kb := api.seed()
	b := startBrowser(t, 90*time.Second)
	if b.shots == "" {
		b.shots = t.TempDir()
	}

	// 1. The team: the admin signs in and leaves the inbox open.
	team := b.newTab("team")
	hcWatchDialogs(team)
	team.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	team.run("open the inbox", chromedp.Navigate(workspace+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-list] [data-testid=empty]`)))
	team.waitLive()
	team.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))

	// 2. The visitor, in a profile of their own, opens the help center.
	visitor := b.newTab("visitor")
	hcWatchDialogs(visitor)
	visitor.run("use a laptop's screen", chromedp.EmulateViewport(1280, 800))
	visitor.run("open the help center", chromedp.Navigate(workspace+"/help"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=kb-categories]`)))
	if got := visitor.cookies(workspace); len(got) != 0 {
		t.Errorf("visitor: cookies on the help center before doing anything: %v, want none", hcCookieNames(got))
	}
	var home struct {
		Categories []string `json:"categories"`
		Articles   []string `json:"articles"`
		Text       string   `json:"text"`
	}
	visitor.json("read the front page", `JSON.stringify({
		categories: [...document.querySelectorAll('[data-testid=kb-category] h2')].map(e => e.textContent.trim()),
		articles: [...document.querySelectorAll('[data-testid=kb-categories] [data-testid=kb-articles] a')].map(e => e.textContent.trim()),
		text: document.body.innerText,
	})`, &home)
	if want := []string{hcOrders, hcAccount}; !slices.Equal(home.Categories, want) {
		t.Errorf("front page categories: got %q, want %q", home.Categories, want)
	}
	for _, title := range []string{hcRefunds, hcTracking, hcAddress, hcPassword} {
		if !slices.Contains(home.Articles, title) {
			t.Errorf("front page: no link to %q; got %q", title, home.Articles)
		}
	}
	if strings.Contains(home.Text, hcDraft) {
		t.Errorf("front page shows the draft %q", hcDraft)
	}
	visitor.shot("help-home")

	// 3. Search: the matches are marked, the draft is not found.
	visitor.run("type a question", fill(`#kb-q`, "refund"))
	visitor.follow("search", `[data-testid=kb-search-form] button[type=submit]`, `[data-testid=kb-results]`)
	if u, err := url.Parse(visitor.location()); err != nil || u.Path != "/help/search" || u.Query().Get("q") != "refund" {
		t.Errorf("search address: got %s, want /help/search?q=refund, to share", visitor.location())
	}
	var search struct {
		Titles []string `json:"titles"`
		Marks  []string `json:"marks"`
	}
	visitor.json("read the results", `JSON.stringify({
		titles: [...document.querySelectorAll('[data-testid=kb-result] > a')].map(e => e.textContent.trim()),
		marks: [...document.querySelectorAll('[data-testid=kb-results] mark')].map(e => e.textContent),
	})`, &search)
	if len(search.Titles) == 0 || search.Titles[0] != hcRefunds {
		t.Errorf("search results for refund: got %q, want %q first", search.Titles, hcRefunds)
	}
	if slices.Contains(search.Titles, hcDraft) {
		t.Errorf("search finds the draft: %q", search.Titles)
	}
	if len(search.Marks) == 0 {
		t.Errorf("search results for refund: nothing marked")
	}
	for _, mk := range search.Marks {
		if !strings.HasPrefix(strings.ToLower(mk), "refund") {
			t.Errorf("search results for refund: %q marked", mk)
		}
	}
	visitor.shot("help-search")

	// 4. The article from the results: anchors, contents, table, links,
	// related articles.
	visitor.follow("open the first result", `[data-testid=kb-result] > a`, `[data-testid=kb-article-title]`)
	if got := visitor.text(`[data-testid=kb-article-title]`); got != hcRefunds {
		t.Errorf("article title: got %q, want %q", got, hcRefunds)
	}
	if got, want := visitor.location(), workspace+"/help/articles/"+kb.refunds.Slug; got != want {
		t.Errorf("article address: got %s, want %s", got, want)
	}
	var art struct {
		Headings []struct {
			ID     string `json:"id"`
			Text   string `json:"text"`
			Anchor string `json:"anchor"`
		} `json:"headings"`
		TOC       []string   `json:"toc"`
		Crumbs    []string   `json:"crumbs"`
		TableHead []string   `json:"tableHead"`
		TableRows [][]string `json:"tableRows"`
		Internal  string     `json:"internal"`
		External  struct {
			Target string `json:"target"`
			Rel    string `json:"rel"`
		} `json:"external"`
		Related []string `json:"related"`
		Body    string   `json:"body"`
	}
	visitor.json("read the article", `JSON.stringify({
		headings: [...document.querySelectorAll('[data-testid=kb-article-body] h2')].map(h => ({id: h.id,
			text: h.childNodes[0].textContent.trim(), anchor: (h.querySelector('a.anchor') || {getAttribute: () => ''}).getAttribute('href')})),
		toc: [...document.querySelectorAll('[data-testid=kb-toc] a')].map(a => a.getAttribute('href')),
		crumbs: [...document.querySelectorAll('.site-crumbs a')].map(a => a.textContent.trim()),
		tableHead: [...document.querySelectorAll('[data-testid=kb-article-body] table thead th')].map(e => e.textContent.trim()),
		tableRows: [...document.querySelectorAll('[data-testid=kb-article-body] table tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim())),
		internal: (document.querySelector('[data-testid=kb-article-body] a[href="/help/contact"]') || {}).target ?? 'missing',
		external: (a => a ? {target: a.getAttribute('target') || '', rel: a.getAttribute('rel') || ''} : {})(
			document.querySelector('[data-testid=kb-article-body] a[href^="https://tracking.example.com/"]')),
		related: [...document.querySelectorAll('[data-testid=kb-related] a')].map(a => a.textContent.trim()),
		body: document.body.innerText,
	})`, &art)
	wantIDs := []string{"send-an-item-back", "when-the-refund-arrives", "still-waiting"}
	var ids, anchors []string
	for _, h := range art.Headings {
		ids, anchors = append(ids, h.ID), append(anchors, h.Anchor)
		if h.Anchor != "#"+h.ID {
			t.Errorf("heading %q: anchor link %q, want #%s", h.Text, h.Anchor, h.ID)
		}
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("heading ids: got %q, want %q", ids, wantIDs)
	}
	if !slices.Equal(art.TOC, anchors) {
		t.Errorf("contents: got %q, want a link to each heading %q", art.TOC, anchors)
	}
	if want := []string{"Help center", hcOrders}; !slices.Equal(art.Crumbs, want) {
		t.Errorf("breadcrumb: got %q, want %q", art.Crumbs, want)
	}
	if want := []string{"Payment method", "Refund arrives in"}; !slices.Equal(art.TableHead, want) {
		t.Errorf("table header: got %q, want %q", art.TableHead, want)
	}
	if len(art.TableRows) != 3 || !slices.Equal(art.TableRows[1], []string{"PayPal", "1 working day"}) {
		t.Errorf("table rows: got %q, want 3 with PayPal second", art.TableRows)
	}
	if art.Internal != "" {
		t.Errorf("link to the contact form: target %q, want it to open in place", art.Internal)
	}
	if art.External.Target != "_blank" || !strings.Contains(art.External.Rel, "nofollow") || !strings.Contains(art.External.Rel, "noopener") {
		t.Errorf("link to another site: got %+v, want target=_blank and rel nofollow noopener", art.External)
	}
	for _, title := range []string{hcTracking, hcAddress} {
		if !slices.Contains(art.Related, title) {
			t.Errorf("related articles: got %q, want %q among them", art.Related, title)
		}
	}
	if slices.Contains(art.Related, hcRefunds) || strings.Contains(art.Body, hcDraft) {
		t.Errorf("related articles: got %q, want neither the article itself nor the draft", art.Related)
	}
	visitor.run("follow the contents to the second section",
		chromedp.Click(chromedp.CSS(`[data-testid=kb-toc] li:nth-child(2) a`)),
		chromedp.Poll[chromedp.Void](`document.querySelector(':target')?.id === 'when-the-refund-arrives'`,
			chromedp.WithPollingTimeout(5*time.Second)))

	// 5. "Was this helpful?": the thanks replace the question in place.
	if got := api.article(kb.refunds.ID).Votes.Helpful; got != 0 {
		t.Fatalf("helpful votes before the visitor answers: %d, want 0", got)
	}
	visitor.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))
	articleURL := visitor.location()
	visitor.run("answer yes", chromedp.Click(chromedp.CSS(`[data-testid=kb-vote-yes]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=kb-vote-thanks]`)))
	if got := visitor.text(`[data-testid=kb-vote-thanks]`); got != "Thanks for your feedback! We are glad it helped." {
		t.Errorf("thanks: got %q", got)
	}
	if got := visitor.get("check the page was not reloaded", chromedp.Evaluate[string](`String(window.parleyNoReload === true)`)); got != "true" {
		t.Errorf("the article was reloaded to vote; htmx must swap the thanks in place")
	}
	if got := visitor.location(); got != articleURL {
		t.Errorf("address after voting: got %s, want it unchanged (%s)", got, articleURL)
	}
	if !slices.ContainsFunc(visitor.cookies(workspace), func(c *network.Cookie) bool {
		return c.Name == "parley_kb_voter" && c.HTTPOnly && c.Path == "/help"
	}) {
		t.Errorf("after voting: got cookies %v, want the HttpOnly voter cookie on /help", hcCookieNames(visitor.cookies(workspace)))
	}
	if got := api.article(kb.refunds.ID).Votes; got.Helpful != 1 || got.Unhelpful != 0 {
		t.Errorf("votes after the visitor answered yes: got %+v, want 1 helpful", got)
	}
	visitor.run("back to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	visitor.shot("help-article")

	// 6. The contact form: the honeypot stays empty and out of reach; the
	// message is sent after the minimum fill time.
	visitor.follow("open Contact us", `.site-nav a[href="/help/contact"]`, `[data-testid=contact-form]`)
	rendered := time.Now()
	var hp struct {
		Value    string  `json:"value"`
		Right    float64 `json:"right"`
		TabIndex int     `json:"tabIndex"`
		Hidden   string  `json:"hidden"`
	}
	visitor.json("inspect the honeypot", `JSON.stringify((i => ({value: i.value, right: i.getBoundingClientRect().right,
		tabIndex: i.tabIndex, hidden: i.closest('[aria-hidden]')?.getAttribute('aria-hidden') || ''}))(document.querySelector('#f-website')))`, &hp)
	if hp.Value != "" || hp.Right > 0 || hp.TabIndex != -1 || hp.Hidden != "true" {
		t.Errorf("honeypot: got %+v, want empty, off screen, out of the tab order and hidden from screen readers", hp)
	}
	visitor.run("write the message", fill(`#f-name`, hcVisitorName), fill(`#f-email`, hcVisitorEmail), fill(`#f-message`, hcMessage))
	if got := visitor.value(`#f-website`); got != "" {
		t.Errorf("honeypot after filling the form: %q, want empty", got)
	}
	time.Sleep(time.Until(rendered.Add(3*time.Second + 300*time.Millisecond))) // the form's minimum fill time
	visitor.follow("send", `[data-testid=contact-send]`, `[data-testid=contact-sent]`)
	if got := visitor.location(); !strings.HasPrefix(got, workspace+"/help/contact/sent?r=") {
		t.Errorf("after sending: at %s, want the sent page with its receipt", got)
	}
	sentURL := visitor.location()
	if got := visitor.text(`[data-testid=sent-email]`); got != "v…@e….net" {
		t.Errorf("sent page: answer goes to %q, want the masked v…@e….net", got)
	}
	if got := visitor.text(`[data-testid=contact-sent]`); !strings.Contains(got, "We will answer by email at v…@e….net.") {
		t.Errorf("sent page: got %q, want it to say the answer comes by email", got)
	}
	visitor.shot("contact-sent")

	// 7. The team: the message arrives in the open inbox, live, as text.
	team.run("see the visitor's chat arrive", chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll('[data-testid=chat-row-name]')].some(e => e.textContent.trim() === `+jsString(hcVisitorName)+`)`,
		chromedp.WithPollingTimeout(15*time.Second)))
	var row struct {
		Count     int    `json:"count"`
		Preview   string `json:"preview"`
		Transport string `json:"transport"`
		Unread    string `json:"unread"`
		Bold      int    `json:"bold"`
		NoReload  bool   `json:"noReload"`
	}
	team.json("read the new row", `JSON.stringify((r => ({count: document.querySelectorAll('[data-testid=chat-row]').length,
		preview: r.querySelector('[data-testid=chat-row-preview]').textContent.trim(),
		transport: (r.querySelector('.transport') || {}).textContent || '', unread: r.dataset.unread,
		bold: r.querySelectorAll('b').length, noReload: window.parleyNoReload === true}))(document.querySelector('[data-testid=chat-row]')))`, &row)
	if !row.NoReload {
		t.Errorf("the team's inbox was reloaded; the chat must arrive live")
	}
	if row.Count != 1 || row.Transport != "Website" || row.Unread != "1" {
		t.Errorf("the new chat's row: got %+v, want the only row, via Website, 1 unread", row)
	}
	if !strings.Contains(row.Preview, "<b>not bold</b>") || row.Bold != 0 {
		t.Errorf("the row's preview: got %q with %d <b> elements, want the tags shown as typed", row.Preview, row.Bold)
	}
	team.shot("help-contact-in-inbox")
	team.run("open the chat", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation] [data-testid=message-text]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row][data-unread="0"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid=nav-unread-count]`)))
	var msg struct {
		Text     string `json:"text"`
		Bold     int    `json:"bold"`
		Sender   string `json:"sender"`
		Subject  string `json:"subject"`
		NoReload bool   `json:"noReload"`
	}
	team.json("read the message", `JSON.stringify((m => ({text: m.querySelector('[data-testid=message-text]').textContent.trim(),
		bold: m.querySelectorAll('b').length, sender: m.querySelector('.msg-sender').textContent.trim(),
		subject: (m.querySelector('[data-testid=message-subject]') || {}).textContent || '', noReload: window.parleyNoReload === true}))(
		document.querySelector('[data-testid=conversation] [data-testid=message][data-direction=in]')))`, &msg)
	if msg.Text != hcMessage || msg.Bold != 0 {
		t.Errorf("the message in the conversation: got %q with %d <b> elements, want %q as text", msg.Text, msg.Bold, hcMessage)
	}
	if msg.Sender != "Website" || msg.Subject != "Contact form" || !msg.NoReload {
		t.Errorf("the message: got sender %q, subject %q, no reload %v; want Website, Contact form, true", msg.Sender, msg.Subject, msg.NoReload)
	}
	team.shot("help-contact-conversation")

	// 8. The same pages on a phone: nothing scrolls sideways.
	visitor.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	for _, p := range []struct{ url, want, shot string }{
		{workspace + "/help", `[data-testid=kb-categories]`, "help-home-phone"},
		{articleURL, `[data-testid=kb-article-body]`, "help-article-phone"},
		{sentURL, `[data-testid=sent-email]`, "contact-sent-phone"},
	} {
		visitor.run("open "+p.shot, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.want)))
		visitor.noSideScroll()
		visitor.shot(p.shot)
	}

	// 9. The draft is nowhere on the public site.
	for _, path := range []string{"/help/categories/" + kb.orders.Slug, "/help/search?q=holiday", "/help/sitemap.xml"} {
		res := workspaceDo(t, workspace, "GET", path, nil, nil)
		if res.status != 200 || strings.Contains(res.body, hcDraft) || strings.Contains(res.body, kb.draft.Slug) {
			t.Errorf("GET %s: %d, want 200 without the draft %q (/%s)", path, res.status, hcDraft, kb.draft.Slug)
		}
	}
	if res := workspaceDo(t, workspace, "GET", "/help/articles/"+kb.draft.Slug, nil, nil); res.status != 404 || strings.Contains(res.body, "holiday sale") {
		t.Errorf("the draft's address: got %d, want 404 without its text", res.status)
	}
	t.Logf("screenshots in %s; the test took %s", b.shots, time.Since(started).Round(100*time.Millisecond))
}

// The help center the test builds, and what the visitor writes.
const (
	hcOrders       = "Orders & delivery"
	hcAccount      = "Account"
	hcRefunds      = "Returns and refunds"
	hcTracking     = "Track your delivery"
	hcAddress      = "Change your delivery address"
	hcPassword     = "Reset your password"
	hcDraft        = "Holiday refund policy"
	hcVisitorName  = "Vera Visitor"
	hcVisitorEmail = "vera@example.net"
	hcMessage      = "My parcel came back to you. Is the <b>not bold</b> refund on its way?"
	hcRefundsBody  = `Returns are free within **30 days** of delivery.

## Send an item back

Print the label from your order page and take the parcel to any post office.

## When the refund arrives

We refund the way you paid as soon as the parcel reaches our warehouse.

| Payment method | Refund arrives in |
| --- | --- |
| Card | 3–5 working days |
| PayPal | 1 working day |
| Gift card | At once |

## Still waiting?

Check [the carrier's tracking page](https://tracking.example.com/parcels) or [contact us](/help/contact).
`
)

// hcKB holds what seed made.
type hcKB struct {
	orders, account                         app.KBCategory
	refunds, tracking, address, pass, draft hcArticle
}

// hcArticle is the part of the API's article the test reads.
type hcArticle struct {
	ID    string  `json:"id"`
	Slug  string  `json:"slug"`
	URL   *string `json:"url"`
	Votes struct {
		Helpful   int `json:"helpful"`
		Unhelpful int `json:"unhelpful"`
	} `json:"votes"`
}

// hcAPI calls the workspace's JSON API with an admin token.
type hcAPI struct {
	t         *testing.T
	workspace string
	token     string
}

func (a hcAPI) do(method, path string, body any, want int, out any) {
	a.t.Helper()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			a.t.Fatal(err)
		}
	}
	res := workspaceDo(a.t, a.workspace, method, path,
		map[string]string{"Authorization": "Bearer " + a.token, "Content-Type": "application/json"}, data)
	if res.status != want {
		a.t.Fatalf("%s %s: got %d, want %d: %s", method, path, res.status, want, res.body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res.body), out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, res.body)
		}
	}
}

func (a hcAPI) article(id string) hcArticle {
	a.t.Helper()
	var out hcArticle
	a.do("GET", "/api/v1/kb/articles/"+id, nil, 200, &out)
	return out
}

// seed makes two categories, five published articles and a draft.
func (a hcAPI) seed() hcKB {
	a.t.Helper()
	var kb hcKB
	a.do("POST", "/api/v1/kb/categories", app.KBCategoryInput{Name: hcOrders, Description: "Tracking, shipping times and returns."}, 201, &kb.orders)
	a.do("POST", "/api/v1/kb/categories", app.KBCategoryInput{Name: hcAccount, Description: "Signing in, passwords and your profile."}, 201, &kb.account)
	for _, x := range []struct {
		out              *hcArticle
		title, body, cat string
		published        bool
	}{
		{&kb.tracking, hcTracking, "Every order has a tracking link in its confirmation email.\n\n## Where to find it\n\nOpen the email and choose **Track**.", kb.orders.ID, true},
		{&kb.address, hcAddress, "You can change the address until the order ships.", kb.orders.ID, true},
		{&kb.pass, hcPassword, "Choose **Forgot password** on the sign-in page.", kb.account.ID, true},
		{&kb.refunds, hcRefunds, hcRefundsBody, kb.orders.ID, true},
		{&kb.draft, hcDraft, "Refunds for the holiday sale take up to 60 days.", kb.orders.ID, false},
	} {
		a.do("POST", "/api/v1/kb/articles", map[string]any{"title": x.title, "body_markdown": x.body,
			"category_id": x.cat, "published": x.published}, 201, x.out)
		if (x.out.URL != nil) != x.published {
			a.t.Fatalf("article %q: url %v, want one only when published", x.title, x.out.URL)
		}
	}
	return kb
}

// hcAdminToken makes an admin API token for acme.
func hcAdminToken(t *testing.T, m *Main) string {
	t.Helper()
	var secret string
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		var err error
		if _, secret, err = db.CreateToken(ctx, app.NewAPIToken{Name: "help center test", Role: app.RoleAdmin}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	})
	return secret
}

// hcWatchDialogs fails the test on any JavaScript dialog the tab opens,
// and dismisses it so the page goes on.
func hcWatchDialogs(tb *tab) {
	dialogs := chromedp.Events(tb.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.b.console.mu.Lock()
			tb.b.console.seen = append(tb.b.console.seen, fmt.Sprintf("%s: JavaScript dialog %s(%q) at %s", tb.name, ev.Type, ev.Message, ev.URL))
			tb.b.console.mu.Unlock()
			_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
}

// json evaluates js, which returns a JSON string, into out.
func (tb *tab) json(what, js string, out any) {
	tb.b.t.Helper()
	s := tb.get(what, chromedp.Evaluate[string](js))
	if err := json.Unmarshal([]byte(s), out); err != nil {
		tb.b.t.Fatalf("%s: %s: %v: %s", tb.name, what, err, s)
	}
}

// cookies returns the tab's cookies for the workspace's host.
func (tb *tab) cookies(workspace string) []*network.Cookie {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{workspace + "/help"}})
	if err != nil {
		tb.b.t.Fatalf("%s: read the cookies: %v", tb.name, err)
	}
	return res.Cookies
}

func hcCookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, fmt.Sprintf("%s (path %s, HttpOnly %v)", c.Name, c.Path, c.HTTPOnly))
	}
	return names
}
