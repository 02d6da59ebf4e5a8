package web_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	imgpng "image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/tenantdb"
)

// helpEnv is two workspaces with help centers: acme (mapped to
// help.acme.example) and globex.
type helpEnv struct {
	e       *env
	acme    *tenantdb.Workspace
	db      *tenantdb.DB
	globex  *tenantdb.DB
	install app.KBArticle
	xss     app.KBArticle
	image   app.KBFile
	foreign app.KBFile
}

// xssBody is Markdown that tries every way into a page we know of.
const xssBody = "# Hostile <script>alert('h1')</script>\n\n" +
	"Text <script>alert('body')</script> and <img src=x onerror=alert('img')> and " +
	"<svg onload=alert('svg')><circle/></svg> and <a href=\"javascript:alert('js')\">click</a> and " +
	"[md link](javascript:alert('md')) and <a href=\"data:text/html,<script>alert('data')</script>\">data</a> and " +
	"<button hx-get=\"/api/v1/me\" hx-trigger=\"load\">htmx</button> <div hx-post=\"/x\" hx-swap=\"outerHTML\" style=\"color:red\">div</div> " +
	"<iframe src=\"https://evil.example\"></iframe> <form action=\"https://evil.example\"><input name=q></form> " +
	"![remote](https://evil.example/track.png) <img src=\"//evil.example/x.png\"> " +
	"<a href=\"https://example.com/ok\">external</a>\n"

func helpSetup(t *testing.T) *helpEnv {
	t.Helper()
	ctx := context.Background()
	e := setup(t)
	h := &helpEnv{e: e, acme: e.workspace("acme")}
	if err := e.control.MapDomain(ctx, h.acme.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	h.db = e.db(h.acme)
	h.globex = e.db(e.workspace("globex"))
	h.image = mustKBImage(t, h.db, "screen.png")
	h.foreign = mustKBImage(t, h.globex, "globex.png")
	start := mustKBCategory(t, h.db, "Getting started", "First steps with Acme.")
	billing := mustKBCategory(t, h.db, "Billing", "")
	drafts := mustKBCategory(t, h.db, "Drafts only", "")
	h.install = mustKBArticle(t, h.db, app.KBArticleInput{Title: "Install the app", CategoryID: start.ID, Published: true,
		Description: "How to install Acme on your phone.",
		BodyMarkdown: "Download the app from your store.\n\n## Requirements\n\nA phone.\n\n## Download\n\nTap install.\n\n" +
			"## Sign in\n\nUse your email.\n\n![The install screen](" + h.image.URL() + ")\n"})
	mustKBArticle(t, h.db, app.KBArticleInput{Title: "App installieren", Locale: "de", TranslationOf: h.install.ID, Published: true,
		BodyMarkdown: "Laden Sie die App herunter."})
	mustKBArticle(t, h.db, app.KBArticleInput{Title: "Installer l'application", Locale: "fr", TranslationOf: h.install.ID,
		BodyMarkdown: "Brouillon."})
	mustKBArticle(t, h.db, app.KBArticleInput{Title: "Update the app", CategoryID: start.ID, Published: true, BodyMarkdown: "Updates install themselves."})
	mustKBArticle(t, h.db, app.KBArticleInput{Title: "Invoices and receipts", CategoryID: billing.ID, Published: true,
		BodyMarkdown: "Every month we send an invoice by email."})
	mustKBArticle(t, h.db, app.KBArticleInput{Title: "Secret roadmap", CategoryID: drafts.ID, BodyMarkdown: "Never published: unicorns."})
	old := mustKBArticle(t, h.db, app.KBArticleInput{Title: "Old pricing", CategoryID: billing.ID, Published: true, BodyMarkdown: "Retired prices."})
	if _, err := h.db.UnpublishKBArticle(ctx, old.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	h.xss = mustKBArticle(t, h.db, app.KBArticleInput{Title: `<script>alert("title")</script> & <img src=x onerror=alert(1)>`,
		Slug: "hostile", Published: true, Description: `"><script>alert("desc")</script>`, BodyMarkdown: xssBody})
	mustKBArticle(t, h.globex, app.KBArticleInput{Title: "Globex only", Published: true, BodyMarkdown: "Globex secrets."})
	return h
}

func mustKBArticle(t *testing.T, db *tenantdb.DB, in app.KBArticleInput) app.KBArticle {
	t.Helper()
	a, err := db.CreateKBArticle(context.Background(), in, app.CLIActor)
	if err != nil {
		t.Fatalf("create article %q: %v %v", in.Title, err, app.ErrorFields(err))
	}
	return a
}

func mustKBCategory(t *testing.T, db *tenantdb.DB, name, description string) app.KBCategory {
	t.Helper()
	c, err := db.CreateKBCategory(context.Background(), app.KBCategoryInput{Name: name, Description: description}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustKBImage(t testing.TB, db *tenantdb.DB, name string) app.KBFile {
	t.Helper()
	var b bytes.Buffer
	imgpng.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	f, err := db.UploadKBFile(context.Background(), app.Upload{Filename: name, Data: b.Bytes()}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// helpCase is one request to the public site and what the answer must hold.
type helpCase struct {
	name   string
	host   string // a workspace; custom, when set, is a custom domain instead
	custom string
	path   string
	header map[string]string
	status int
	want   []string // substrings of the body
	never  []string // substrings the body must not have
	ids    []string // data-testid values that must be present
}

func (b *browser) getWith(host, custom, path string, header map[string]string) response {
	u := hostURL(host, path)
	if custom != "" {
		u = "http://" + custom + path
	}
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

func runHelpCases(t *testing.T, b *browser, cases []helpCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := b.getWith(tc.host, tc.custom, tc.path, tc.header)
			if res.Status != tc.status {
				t.Fatalf("got status %d, want %d; body %s", res.Status, tc.status, snippet(res.Body))
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(res.Body, n) {
					t.Errorf("body has %q; it must not", n)
				}
			}
			doc := res.Doc(t)
			for _, id := range tc.ids {
				if doc.Find(`[data-testid="`+id+`"]`).Length() == 0 {
					t.Errorf("no element with data-testid %q", id)
				}
			}
		})
	}
}

// TestHelpPages drives every public help center page through the real
// router, on the workspace host and on its custom domain.
func TestHelpPages(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	b := h.e.browser()
	canonical := `<link rel="canonical" href="http://help.acme.example/help/articles/install-the-app">`
	runHelpCases(t, b, []helpCase{
		{name: "HomeOK", host: "acme", path: "/help", status: 200,
			want:  []string{"How can we help?", "Getting started", "Install the app", "Invoices and receipts", `href="/help/categories/getting-started"`, `<html lang="en">`},
			never: []string{"Secret roadmap", "Old pricing", "Drafts only", "App installieren", "Globex"},
			ids:   []string{"kb-search-form", "kb-categories", "kb-locales", "kb-uncategorised"}},
		{name: "HomeGerman", host: "acme", path: "/help?locale=de", status: 200,
			want:  []string{"App installieren", `<html lang="de">`, `href="/help/categories/getting-started?locale=de"`, `<link rel="canonical" href="http://help.acme.example/help?locale=de">`},
			never: []string{"Install the app", "Invoices and receipts"}},
		{name: "HomeAcceptLanguage", host: "acme", path: "/help", header: map[string]string{"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"},
			status: 200, want: []string{"App installieren"}},
		{name: "HomeUnknownLocale", host: "acme", path: "/help?locale=%3Cscript%3E", status: 200, want: []string{"Install the app"}, never: []string{"<script>"}},
		{name: "HomeOnCustomDomain", custom: "help.acme.example", path: "/help", status: 200, want: []string{"Install the app"}},
		{name: "HomeEmptyWorkspace", host: "globex", path: "/help?locale=xx", status: 200, want: []string{"Globex only"}, never: []string{"Install the app"}},
		{name: "CategoryOK", host: "acme", path: "/help/categories/getting-started", status: 200,
			want:  []string{"Getting started", "First steps with Acme.", "Install the app", "How to install Acme on your phone.", "Update the app"},
			never: []string{"Invoices"}, ids: []string{"kb-category-name", "kb-articles"}},
		{name: "CategoryUnknown", host: "acme", path: "/help/categories/nope", status: 404, want: []string{"Page not found"}},
		{name: "CategoryOnlyDrafts", host: "acme", path: "/help/categories/drafts-only", status: 404, never: []string{"Secret"}},
		{name: "ArticleOK", host: "acme", path: "/help/articles/install-the-app", status: 200,
			want: []string{"Install the app", canonical, `<meta name="description" content="How to install Acme on your phone.">`,
				`<link rel="alternate" hreflang="de" href="http://help.acme.example/help/articles/app-installieren">`,
				`<link rel="alternate" hreflang="en" href="http://help.acme.example/help/articles/install-the-app">`,
				`<h2 id="requirements">Requirements<a href="#requirements" class="anchor"`, `href="#download"`,
				`<img src="` + h.image.URL() + `" alt="The install screen">`, "Deutsch", "Update the app",
				`action="/help/articles/install-the-app/vote"`, `hx-post="/help/articles/install-the-app/vote"`},
			never: []string{"Installer l", "Français"},
			ids:   []string{"kb-article-title", "kb-translations", "kb-toc", "kb-article-body", "kb-vote", "kb-vote-yes", "kb-related"}},
		{name: "ArticleOnCustomDomain", custom: "help.acme.example", path: "/help/articles/install-the-app", status: 200, want: []string{canonical}},
		{name: "ArticleTranslation", host: "acme", path: "/help/articles/app-installieren", status: 200,
			want: []string{`<html lang="de">`, "App installieren", `href="/help/categories/getting-started?locale=de"`,
				`<link rel="canonical" href="http://help.acme.example/help/articles/app-installieren">`}},
		{name: "ArticleMetaFromText", host: "acme", path: "/help/articles/update-the-app", status: 200,
			want: []string{`<meta name="description" content="Updates install themselves.">`}, never: []string{"kb-translations"}},
		{name: "ArticleUnknown", host: "acme", path: "/help/articles/nope", status: 404, want: []string{"Page not found"}},
		{name: "ArticleDraft", host: "acme", path: "/help/articles/secret-roadmap", status: 404, never: []string{"unicorns", "Secret"}},
		{name: "ArticleDraftTranslation", host: "acme", path: "/help/articles/installer-l-application", status: 404},
		{name: "ArticleUnpublished", host: "acme", path: "/help/articles/old-pricing", status: 404, never: []string{"Retired"}},
		{name: "ArticleOfAnotherWorkspace", host: "acme", path: "/help/articles/globex-only", status: 404, never: []string{"Globex secrets"}},
		{name: "ArticleOfAnotherWorkspaceOnDomain", custom: "help.acme.example", path: "/help/articles/globex-only", status: 404},
		{name: "ArticleOnItsOwnWorkspace", host: "globex", path: "/help/articles/globex-only", status: 200,
			want: []string{`<link rel="canonical" href="http://globex.parley.test/help/articles/globex-only">`}},
		{name: "SearchEmpty", host: "acme", path: "/help/search", status: 200, want: []string{`<meta name="robots" content="noindex">`}, ids: []string{"kb-search-empty"}},
		{name: "SearchBlank", host: "acme", path: "/help/search?q=+++", status: 200, ids: []string{"kb-search-empty"}},
		{name: "SearchHits", host: "acme", path: "/help/search?q=instal", status: 200,
			want:  []string{"<mark>Install</mark> the app", `href="/help/articles/install-the-app"`, `<meta name="robots" content="noindex">`},
			never: []string{"Secret", "Brouillon"}, ids: []string{"kb-results", "kb-result"}},
		{name: "SearchSnippet", host: "acme", path: "/help/search?q=invoice+email", status: 200,
			want: []string{"we send an <mark>invoice</mark> by <mark>email</mark>"}},
		{name: "SearchLocale", host: "acme", path: "/help/search?q=app&locale=de", status: 200,
			want: []string{"<mark>App</mark> installieren", `name="locale" value="de"`}, never: []string{"Install the app"}},
		{name: "SearchNoResult", host: "acme", path: "/help/search?q=zebra", status: 200, want: []string{"No articles match “zebra”"}, ids: []string{"kb-search-none"}},
		{name: "SearchDraftWords", host: "acme", path: "/help/search?q=unicorns", status: 200, ids: []string{"kb-search-none"}},
		{name: "SearchOtherWorkspace", host: "acme", path: "/help/search?q=globex", status: 200, ids: []string{"kb-search-none"}},
		{name: "SearchXSS", host: "acme", path: "/help/search?q=" + url.QueryEscape(`<script>alert(1)</script>"><svg onload=alert(2)>`), status: 200,
			want: []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, never: []string{"<script>alert", "<svg onload"}},
		{name: "SearchFTSSyntax", host: "acme", path: "/help/search?q=" + url.QueryEscape(`install" OR title:* NEAR(`), status: 200},
		{name: "SearchFindsHostileAsText", host: "acme", path: "/help/search?q=hostile", status: 200,
			want: []string{"&lt;script&gt;alert(&#34;title&#34;)"}, never: []string{"<script>alert", "<img src=x"}},
	})
}

// TestHelpArticleSanitised renders an article whose title, description and
// body try script, event handlers, javascript: and data: links, foreign
// images and htmx attributes: nothing of it may reach the page as markup.
func TestHelpArticleSanitised(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	res := h.e.browser().get("acme", "/help/articles/hostile")
	if res.Status != 200 {
		t.Fatalf("got %d", res.Status)
	}
	body := res.Doc(t).Find(`[data-testid="kb-article-body"]`)
	bodyHTML, _ := body.Html()
	body.Find("*").Each(func(_ int, el *goquery.Selection) {
		n := el.Get(0)
		switch n.Data {
		case "script", "style", "iframe", "form", "input", "button", "svg", "object", "embed", "link", "meta":
			t.Errorf("article body has a <%s> element: %s", n.Data, bodyHTML)
		}
		for _, a := range n.Attr {
			key, val := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
			if strings.HasPrefix(key, "on") || strings.HasPrefix(key, "hx-") || strings.HasPrefix(key, "data-hx") || key == "style" {
				t.Errorf("article body has the attribute %s on <%s>", a.Key, n.Data)
			}
			if (key == "href" || key == "src") && (strings.HasPrefix(val, "javascript:") || strings.HasPrefix(val, "data:") ||
				strings.Contains(val, "evil.example")) {
				t.Errorf("article body has %s=%q on <%s>", a.Key, a.Val, n.Data)
			}
		}
	})
	if !strings.Contains(bodyHTML, "&lt;img src=x onerror=alert(&#39;img&#39;)&gt;") {
		t.Errorf("a tag Markdown does not take as HTML is shown as text: %s", bodyHTML)
	}
	if !strings.Contains(bodyHTML, `<a href="https://example.com/ok" rel="nofollow noopener" target="_blank">external</a>`) {
		t.Errorf("external link without rel=nofollow noopener: %s", bodyHTML)
	}
	head := res.Body[:strings.Index(res.Body, "<body")]
	if strings.Contains(head, `<script>alert`) || !strings.Contains(head, "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;") {
		t.Errorf("title not escaped in the head: %s", head)
	}
	if got := res.Text(t, `[data-testid="kb-article-title"]`); got != `<script>alert("title")</script> & <img src=x onerror=alert(1)>` {
		t.Errorf("title shown as %q, want the text as typed", got)
	}
	if strings.Count(res.Body, "<script") != 1 { // htmx itself, with its nonce
		t.Errorf("page has %d script elements, want 1", strings.Count(res.Body, "<script"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' 'nonce-") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP: %q", csp)
	}
}

// TestHelpHiddenLikeMissing: a draft, an unpublished article and another
// workspace's article answer exactly what a slug that never existed does.
func TestHelpHiddenLikeMissing(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	b := h.e.browser()
	norm := func(r response) string { return r.Header.Get("Content-Type") + stripNonce(r.Body) }
	missing := b.get("acme", "/help/articles/never-existed")
	for _, path := range []string{"/help/articles/secret-roadmap", "/help/articles/old-pricing", "/help/articles/globex-only",
		"/help/articles/installer-l-application"} {
		got := b.get("acme", path)
		if got.Status != missing.Status || norm(got) != norm(missing) {
			t.Errorf("%s: got %d, differs from a missing article's %d", path, got.Status, missing.Status)
		}
		vote := b.post("acme", path+"/vote", url.Values{"helpful": {"yes"}})
		if vote.Status != http.StatusNotFound {
			t.Errorf("vote on %s: got %d, want 404", path, vote.Status)
		}
	}
	if a, _ := h.db.KBArticleByID(context.Background(), h.install.ID); a.HelpfulVotes != 0 {
		t.Errorf("votes on hidden articles were counted")
	}
}

// TestHelpVote answers "Was this helpful?" without JavaScript (post,
// redirect, thanks) and with htmx (the box swapped), once per visitor.
func TestHelpVote(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	ctx := context.Background()
	counts := func() (int, int) {
		a, err := h.db.KBArticleByID(ctx, h.install.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.HelpfulVotes, a.UnhelpfulVotes
	}
	path := "/help/articles/install-the-app/vote"
	ann, bob := h.e.browser(), h.e.browser()
	hx := func(b *browser, form url.Values) response {
		req, _ := http.NewRequest("POST", hostURL("acme", path), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("HX-Request", "true")
		return b.do(req)
	}
	steps := []struct {
		name       string
		do         func() response
		status     int
		want       string
		up, down   int
		wantCookie bool
	}{
		{"YesWithoutJS", func() response { return ann.post("acme", path, url.Values{"helpful": {"yes"}}) }, 303, "", 1, 0, true},
		{"SameVisitorAgain", func() response { return ann.post("acme", path, url.Values{"helpful": {"yes"}}) }, 303, "", 1, 0, false},
		{"OtherVisitorNoWithHTMX", func() response { return hx(bob, url.Values{"helpful": {"no"}}) }, 200, `data-testid="kb-vote-thanks"`, 1, 1, true},
		{"ChangedMind", func() response { return hx(ann, url.Values{"helpful": {"no"}}) }, 200, "work on making this article better", 0, 2, false},
		{"ErrBadValue", func() response { return ann.post("acme", path, url.Values{"helpful": {"maybe"}}) }, 422, "Answer yes or no.", 0, 2, false},
		{"ErrBadValueHTMX", func() response { return hx(ann, url.Values{"helpful": {"<script>"}}) }, 422, `data-testid="kb-vote-error"`, 0, 2, false},
		{"ErrNoValue", func() response { return ann.post("acme", path, nil) }, 422, "", 0, 2, false},
		{"ErrUnknownArticle", func() response { return ann.post("acme", "/help/articles/nope/vote", url.Values{"helpful": {"yes"}}) }, 404, "Page not found", 0, 2, false},
		{"ErrCrossSite", func() response {
			req, _ := http.NewRequest("POST", hostURL("acme", path), strings.NewReader("helpful=yes"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return ann.do(req)
		}, 403, "", 0, 2, false},
	}
	for _, s := range steps {
		res := s.do()
		if res.Status != s.status {
			t.Fatalf("%s: got %d, want %d; body %s", s.name, res.Status, s.status, snippet(res.Body))
		}
		if s.want != "" && !strings.Contains(res.Body, s.want) {
			t.Errorf("%s: body lacks %q: %s", s.name, s.want, snippet(res.Body))
		}
		if up, down := counts(); up != s.up || down != s.down {
			t.Errorf("%s: counts %d/%d, want %d/%d", s.name, up, down, s.up, s.down)
		}
		if got := strings.Contains(res.Header.Get("Set-Cookie"), "parley_kb_voter="); got != s.wantCookie {
			t.Errorf("%s: sets the voter cookie %v, want %v (%q)", s.name, got, s.wantCookie, res.Header.Get("Set-Cookie"))
		}
		if strings.HasPrefix(s.name, "YesWithoutJS") {
			if loc := res.Header.Get("Location"); loc != "/help/articles/install-the-app?voted=yes#kb-vote" {
				t.Errorf("redirect: got %q", loc)
			}
		}
		if res.Header.Get("HX-Request") == "" && strings.Contains(s.name, "HTMX") && strings.Contains(res.Body, "<html") {
			t.Errorf("%s: htmx got a whole page, want the box", s.name)
		}
	}
	c := ann.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "acme." + baseDomain, Path: "/help/articles/x"})
	if len(c) != 1 || c[0].Name != "parley_kb_voter" {
		t.Errorf("voter cookie for /help: got %v", c)
	}
	thanks := ann.get("acme", "/help/articles/install-the-app?voted=yes")
	if thanks.Doc(t).Find(`[data-testid="kb-vote-thanks"]`).Length() != 1 {
		t.Errorf("after the redirect: no thanks shown")
	}
}

// TestHelpVoteRateLimit: one address answers ten times, then waits.
func TestHelpVoteRateLimit(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	b := h.e.browser()
	for i := range 10 {
		if res := b.post("acme", "/help/articles/install-the-app/vote", url.Values{"helpful": {"yes"}}); res.Status != 303 {
			t.Fatalf("answer %d: got %d", i+1, res.Status)
		}
	}
	res := b.post("acme", "/help/articles/install-the-app/vote", url.Values{"helpful": {"no"}})
	if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "try again") {
		t.Fatalf("11th answer: got %d, want 429", res.Status)
	}
	if a, _ := h.db.KBArticleByID(context.Background(), h.install.ID); a.UnhelpfulVotes != 0 {
		t.Errorf("a refused answer was counted")
	}
	h.e.clock.Advance(11 * time.Second)
	if res := b.post("acme", "/help/articles/install-the-app/vote", url.Values{"helpful": {"no"}}); res.Status != 303 {
		t.Errorf("after waiting: got %d, want 303", res.Status)
	}
}

type sitemapDoc struct {
	URLs []struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
		Links   []struct {
			Hreflang string `xml:"hreflang,attr"`
			Href     string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"url"`
}

func TestHelpSitemap(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	b := h.e.browser()
	for _, tc := range []struct {
		name, host, custom, origin string
	}{
		{"WorkspaceHostPointsAtDomain", "acme", "", "http://help.acme.example"},
		{"CustomDomain", "", "help.acme.example", "http://help.acme.example"},
		{"NoDomain", "globex", "", "http://globex.parley.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.getWith(tc.host, tc.custom, "/help/sitemap.xml", nil)
			if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/xml") {
				t.Fatalf("got %d %q", res.Status, res.Header.Get("Content-Type"))
			}
			var doc sitemapDoc
			if err := xml.Unmarshal([]byte(res.Body), &doc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			locs := map[string]string{}
			for _, u := range doc.URLs {
				if !strings.HasPrefix(u.Loc, tc.origin+"/help") {
					t.Errorf("loc %q is not on %s", u.Loc, tc.origin)
				}
				locs[strings.TrimPrefix(u.Loc, tc.origin)] = u.LastMod
				if strings.Contains(u.Loc, "install-the-app") && len(u.Links) != 2 {
					t.Errorf("install-the-app alternates: got %d, want 2", len(u.Links))
				}
			}
			if tc.host == "globex" {
				return
			}
			for _, want := range []string{"/help", "/help/articles/install-the-app", "/help/articles/app-installieren",
				"/help/articles/hostile", "/help/categories/getting-started", "/help/categories/billing"} {
				if _, ok := locs[want]; !ok {
					t.Errorf("sitemap lacks %s", want)
				}
			}
			if lm := locs["/help/articles/install-the-app"]; lm != "2026-11-23T09:00:00Z" {
				t.Errorf("lastmod: got %q", lm)
			}
			for _, never := range []string{"/help/articles/secret-roadmap", "/help/articles/old-pricing", "/help/categories/drafts-only",
				"/help/articles/installer-l-application", "/help/articles/globex-only"} {
				if _, ok := locs[never]; ok {
					t.Errorf("sitemap lists hidden %s", never)
				}
			}
		})
	}
}

func TestHelpFiles(t *testing.T) {
	t.Parallel()
	h := helpSetup(t)
	b := h.e.browser()
	res := b.get("acme", h.image.URL())
	if res.Status != 200 || res.Header.Get("Content-Type") != "image/png" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(res.Header.Get("Cache-Control"), "max-age=31536000") || !strings.HasPrefix(res.Body, "\x89PNG") {
		t.Fatalf("image: got %d %v", res.Status, res.Header)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("image CSP: got %q, want a sandbox", csp)
	}
	if res := b.getOn("help.acme.example", h.image.URL()); res.Status != 200 {
		t.Errorf("on the custom domain: got %d", res.Status)
	}
	for name, path := range map[string]string{
		"WrongName":      "/help/files/" + h.image.ID + "/other.png",
		"UnknownID":      "/help/files/01JNEVEREXISTEDAAAAAAAAAAA/screen.png",
		"OtherWorkspace": h.foreign.URL(),
		"Traversal":      "/help/files/..%2f..%2fcontrol.db/x",
	} {
		if res := b.get("acme", path); res.Status != 404 {
			t.Errorf("%s: got %d, want 404", name, res.Status)
		}
	}
}
