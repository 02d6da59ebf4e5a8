package web_test

import (
	"context"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/tenantdb"
)

// kbEnv is a workspace with an admin, a lead, an agent and a sales
// person signed in, each in their own browser.
type kbEnv struct {
	e                         *env
	ws                        *tenantdb.Workspace
	db                        *tenantdb.DB
	admin, lead, agent, sales *browser
}

func kbSetup(t *testing.T) *kbEnv {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	k := &kbEnv{e: e, ws: ws, db: e.db(ws)}
	for _, u := range []app.NewUser{
		{Email: "lead@acme.example", Name: "Lee Lead", Password: "a good long password", Role: app.RoleLead},
		{Email: "agent@acme.example", Name: "Agnes Agent", Password: "a good long password", Role: app.RoleAgent},
		{Email: "sales@acme.example", Name: "Sam Sales", Password: "a good long password", Role: app.RoleSales},
	} {
		if _, err := k.db.CreateUser(context.Background(), u, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	k.admin, k.lead, k.agent, k.sales = e.browser(), e.browser(), e.browser(), e.browser()
	k.admin.login("acme", "admin@acme.example", "correct horse battery")
	k.lead.login("acme", "lead@acme.example", "a good long password")
	k.agent.login("acme", "agent@acme.example", "a good long password")
	k.sales.login("acme", "sales@acme.example", "a good long password")
	return k
}

// article makes an article straight in storage.
func (k *kbEnv) article(t *testing.T, in app.KBArticleInput) app.KBArticle {
	t.Helper()
	a, err := k.db.CreateKBArticle(context.Background(), in, app.CLIActor)
	if err != nil {
		t.Fatalf("create article %q: %v (%v)", in.Title, err, app.ErrorFields(err))
	}
	return a
}

func (k *kbEnv) reload(t *testing.T, id string) app.KBArticle {
	t.Helper()
	a, err := k.db.KBArticleByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func articleFields(title, body string, mutate ...func(url.Values)) url.Values {
	v := url.Values{"title": {title}, "body_markdown": {body}, "locale": {"en"}, "action": {"save"}}
	for _, m := range mutate {
		m(v)
	}
	return v
}

// TestKBEditorAccess checks who may open the editor and which publishing
// controls each role is shown.
func TestKBEditorAccess(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	a := k.article(t, app.KBArticleInput{Title: "Published one", BodyMarkdown: "Text.", Published: true})
	for _, tt := range []struct {
		name          string
		b             *browser
		path          string
		want          int
		publishButton bool
	}{
		{"AdminList", k.admin, "/help-center", 200, false},
		{"AgentList", k.agent, "/help-center", 200, false},
		{"ErrSalesList", k.sales, "/help-center", 403, false},
		{"ErrAnonymous", k.e.browser(), "/help-center", 303, false},
		{"AdminNew", k.admin, "/help-center/articles/new", 200, true},
		{"LeadNew", k.lead, "/help-center/articles/new", 200, true},
		{"AgentNew", k.agent, "/help-center/articles/new", 200, false},
		{"LeadEdit", k.lead, "/help-center/articles/" + a.ID, 200, true},
		{"AgentEdit", k.agent, "/help-center/articles/" + a.ID, 200, false},
		{"AgentCategories", k.agent, "/help-center/categories", 200, false},
		{"ErrUnknownArticle", k.admin, "/help-center/articles/01ZZZZZZZZZZZZZZZZZZZZZZZZ", 404, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.b.get("acme", tt.path)
			if res.Status != tt.want {
				t.Fatalf("got %d, want %d", res.Status, tt.want)
			}
			if tt.want != 200 || !strings.Contains(tt.path, "/articles/") {
				return
			}
			doc := res.Doc(t)
			if got := doc.Find("[data-testid=kb-publish]").Length() == 1; got != tt.publishButton {
				t.Errorf("publish button shown: %v, want %v", got, tt.publishButton)
			}
			if !tt.publishButton && doc.Find("[data-testid=kb-publish-note]").Length() != 1 {
				t.Error("an agent is not told who publishes")
			}
			if strings.HasSuffix(tt.path, a.ID) {
				if got := doc.Find("[data-testid=kb-unpublish]").Length() == 1; got != tt.publishButton {
					t.Errorf("unpublish button shown: %v, want %v", got, tt.publishButton)
				}
			}
		})
	}
	// The agent's editor for a published article does not offer to move it.
	doc := k.agent.get("acme", "/help-center/articles/"+a.ID).Doc(t)
	if doc.Find("input[name=slug], input[name=locale], select[name=category_id]").Length() != 0 {
		t.Error("an agent may move a published article from the form")
	}
	if doc.Find("[data-testid=kb-delete]").Length() != 0 {
		t.Error("an agent is offered to delete a published article")
	}
}

// TestKBEditorArticles drives creating, saving, publishing, unpublishing
// and deleting, with the refusals for bad input and for agents.
func TestKBEditorArticles(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	ctx := context.Background()
	cat, err := k.db.CreateKBCategory(ctx, app.KBCategoryInput{Name: "Account"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	existing := k.article(t, app.KBArticleInput{Title: "Taken", Slug: "taken", BodyMarkdown: "x"})

	t.Run("CreateRefused", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			b      *browser
			fields url.Values
			want   int
			sel    string
		}{
			{"ErrTitleRequired", k.admin, articleFields("", "Body kept"), 422, "[data-testid=error-title]"},
			{"ErrBadLocale", k.admin, articleFields("Title", "Body kept", func(v url.Values) { v.Set("locale", "english!") }), 422, "[data-testid=error-locale]"},
			{"ErrSlugTaken", k.admin, articleFields("Title", "Body kept", func(v url.Values) { v.Set("slug", "taken") }), 422, "[data-testid=error-slug]"},
			{"ErrBadSlug", k.admin, articleFields("Title", "Body kept", func(v url.Values) { v.Set("slug", "Not A Slug!") }), 422, "[data-testid=error-slug]"},
			{"ErrUnknownCategory", k.admin, articleFields("Title", "Body kept", func(v url.Values) { v.Set("category_id", "nope") }), 422, "[data-testid=error-category_id]"},
			{"ErrPublishEmpty", k.admin, articleFields("Title", "", func(v url.Values) { v.Set("action", "publish") }), 422, "[data-testid=error-body_markdown]"},
			{"ErrAgentPublishes", k.agent, articleFields("Sneaky", "Body kept", func(v url.Values) { v.Set("action", "publish") }), 403, "[data-testid=alert]"},
			{"ErrSalesWrites", k.sales, articleFields("Sneaky", "Body kept"), 403, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before, _ := k.db.ListKBArticles(ctx, app.KBArticleFilter{})
				res := tt.b.post("acme", "/help-center/articles", tt.fields)
				if res.Status != tt.want {
					t.Fatalf("got %d, want %d; body %s", res.Status, tt.want, snippet(res.Body))
				}
				if tt.sel != "" {
					if res.Text(t, tt.sel) == "" {
						t.Errorf("no %s", tt.sel)
					}
					if got := res.Doc(t).Find("textarea[name=body_markdown]").Text(); got != tt.fields.Get("body_markdown") {
						t.Errorf("the body typed was lost: %q", got)
					}
				}
				after, _ := k.db.ListKBArticles(ctx, app.KBArticleFilter{})
				if len(after.Articles) != len(before.Articles) {
					t.Error("a refused form stored an article")
				}
			})
		}
	})

	var draftID string
	t.Run("AgentSavesDraft", func(t *testing.T) {
		res := k.agent.post("acme", "/help-center/articles", articleFields("Reset your password", "## Steps\n\nOpen Settings.",
			func(v url.Values) { v.Set("category_id", cat.ID) }))
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/help-center/articles/") {
			t.Fatalf("got %d %s; body %s", res.Status, res.Header.Get("Location"), snippet(res.Body))
		}
		draftID = strings.TrimPrefix(res.Header.Get("Location"), "/help-center/articles/")
		a := k.reload(t, draftID)
		if a.Published || a.Slug != "reset-your-password" || a.CategoryID != cat.ID || a.UpdatedBy != "Agnes Agent" {
			t.Errorf("draft: %+v", a)
		}
		page := k.agent.get("acme", "/help-center/articles/"+draftID)
		if !strings.Contains(page.Body, "Draft saved") || page.Doc(t).Find("[data-testid=kb-status] .badge").Text() != "Draft" {
			t.Errorf("the saved draft's page: %s", snippet(page.Body))
		}
		if res := k.e.browser().get("acme", "/help/articles/reset-your-password"); res.Status != 404 {
			t.Errorf("a draft is public: %d", res.Status)
		}
	})

	t.Run("AgentCannotPublish", func(t *testing.T) {
		res := k.agent.post("acme", "/help-center/articles/"+draftID, articleFields("Reset your password (new)", "Changed",
			func(v url.Values) { v.Set("action", "publish"); v.Set("slug", "reset-your-password") }))
		if res.Status != http.StatusForbidden {
			t.Fatalf("got %d, want 403", res.Status)
		}
		if a := k.reload(t, draftID); a.Published || a.Draft.Title != "Reset your password" {
			t.Errorf("a refused publish changed the article: %+v", a)
		}
		if res := k.agent.post("acme", "/help-center/articles/"+draftID+"/unpublish", nil); res.Status != http.StatusForbidden {
			t.Errorf("agent unpublish: got %d, want 403", res.Status)
		}
	})

	t.Run("LeadPublishes", func(t *testing.T) {
		res := k.lead.post("acme", "/help-center/articles/"+draftID, articleFields("Reset your password", "## Steps\n\nOpen Settings.",
			func(v url.Values) {
				v.Set("action", "publish")
				v.Set("slug", "reset-your-password")
				v.Set("category_id", cat.ID)
			}))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		if a := k.reload(t, draftID); !a.Published || a.HasChanges() {
			t.Errorf("not published: %+v", a)
		}
		if res := k.e.browser().get("acme", "/help/articles/reset-your-password"); res.Status != 200 {
			t.Errorf("published article not public: %d", res.Status)
		}
	})

	t.Run("AgentEditsPublishedDraftOnly", func(t *testing.T) {
		// The agent's form has no filing fields: the draft changes, the
		// public page does not.
		res := k.agent.post("acme", "/help-center/articles/"+draftID, url.Values{"title": {"Reset your password"},
			"body_markdown": {"## Steps\n\nOpen Settings, then Security."}, "action": {"save"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		a := k.reload(t, draftID)
		if !a.HasChanges() || a.Live.BodyMarkdown != "## Steps\n\nOpen Settings." || a.Slug != "reset-your-password" {
			t.Errorf("after the agent's edit: %+v", a)
		}
		if doc := k.agent.get("acme", "/help-center/articles/"+draftID).Doc(t); doc.Find("[data-testid=kb-status] .badge").Text() != "Changed since publish" {
			t.Error("the editor does not say the article changed since it was published")
		}
		if pub := k.e.browser().get("acme", "/help/articles/reset-your-password"); strings.Contains(pub.Body, "Security") {
			t.Error("the help center shows an unpublished change")
		}
		// Moving it is refused.
		for _, move := range []url.Values{{"slug": {"moved"}}, {"locale": {"de"}}, {"category_id": {""}}} {
			v := url.Values{"title": {"Reset your password"}, "body_markdown": {"x"}, "action": {"save"}}
			for key, val := range move {
				v[key] = val
			}
			if res := k.agent.post("acme", "/help-center/articles/"+draftID, v); res.Status != http.StatusForbidden {
				t.Errorf("agent moves %v: got %d, want 403", move, res.Status)
			}
		}
		if a := k.reload(t, draftID); a.Slug != "reset-your-password" || a.Locale != "en" || a.CategoryID != cat.ID || a.Draft.BodyMarkdown == "x" {
			t.Errorf("a refused move changed the article: %+v", a)
		}
		if res := k.agent.post("acme", "/help-center/articles/"+draftID+"/delete", nil); res.Status != http.StatusForbidden {
			t.Errorf("agent deletes a published article: got %d, want 403", res.Status)
		}
	})

	t.Run("Unpublish", func(t *testing.T) {
		res := k.admin.post("acme", "/help-center/articles/"+draftID+"/unpublish", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d", res.Status)
		}
		if a := k.reload(t, draftID); a.Published {
			t.Error("still published")
		}
		if res := k.e.browser().get("acme", "/help/articles/reset-your-password"); res.Status != 404 {
			t.Errorf("unpublished article still public: %d", res.Status)
		}
	})

	t.Run("Translation", func(t *testing.T) {
		form := k.admin.get("acme", "/help-center/articles/new?translation_of="+draftID).Doc(t)
		if got := form.Find("select[name=translation_of] option[selected]").AttrOr("value", ""); got != draftID {
			t.Errorf("translation_of not preselected: %q", got)
		}
		res := k.admin.post("acme", "/help-center/articles", articleFields("Passwort zurücksetzen", "Öffnen Sie die Einstellungen.",
			func(v url.Values) { v.Set("translation_of", draftID); v.Set("locale", "de") }))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		id := strings.TrimPrefix(res.Header.Get("Location"), "/help-center/articles/")
		if a := k.reload(t, id); a.TranslationGroup != k.reload(t, draftID).TranslationGroup || a.CategoryID != cat.ID {
			t.Errorf("translation: %+v", a)
		}
		if tr := k.admin.get("acme", "/help-center/articles/"+draftID).Doc(t).Find("[data-testid=kb-translations] li"); !strings.Contains(tr.Text(), "de") {
			t.Errorf("translations: %q", tr.Text())
		}
		// A second German version of the same article is refused.
		res = k.admin.post("acme", "/help-center/articles", articleFields("Noch eins", "x",
			func(v url.Values) { v.Set("translation_of", draftID); v.Set("locale", "de") }))
		if res.Status != 422 || res.Text(t, "[data-testid=error-locale]") == "" {
			t.Errorf("second translation in one locale: got %d", res.Status)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		res := k.agent.post("acme", "/help-center/articles/"+existing.ID+"/delete", nil)
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/help-center" {
			t.Fatalf("agent deletes a draft: got %d", res.Status)
		}
		if _, err := k.db.KBArticleByID(ctx, existing.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("deleted article still there: %v", err)
		}
		if res := k.admin.post("acme", "/help-center/articles/"+existing.ID+"/delete", nil); res.Status != 404 {
			t.Errorf("delete again: got %d, want 404", res.Status)
		}
	})
}

// TestKBEditorList checks the list's filters: status (draft, published,
// changed since publish), category, language and words.
func TestKBEditorList(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	ctx := context.Background()
	if res := k.admin.get("acme", "/help-center"); res.Doc(t).Find("[data-testid=empty] a[href='/help-center/articles/new']").Length() != 1 {
		t.Errorf("an empty help center has no empty state with a way to start: %s", snippet(res.Body))
	}
	billing, _ := k.db.CreateKBCategory(ctx, app.KBCategoryInput{Name: "Billing"}, app.CLIActor)
	k.article(t, app.KBArticleInput{Title: "Draft about invoices", BodyMarkdown: "VAT numbers", CategoryID: billing.ID})
	k.article(t, app.KBArticleInput{Title: "Published refund policy", BodyMarkdown: "Refunds in 14 days", Published: true})
	changed := k.article(t, app.KBArticleInput{Title: "Changed shipping", BodyMarkdown: "Ships in 2 days", Published: true, CategoryID: billing.ID})
	body := "Ships in 3 days"
	if _, err := k.db.UpdateKBArticle(ctx, changed.ID, app.KBArticleUpdate{BodyMarkdown: &body}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	k.article(t, app.KBArticleInput{Title: "Deutsche Rechnung", BodyMarkdown: "Rechnung", Locale: "de"})

	for _, tt := range []struct {
		name  string
		query string
		want  []string // titles, newest first
	}{
		{"All", "", []string{"Deutsche Rechnung", "Changed shipping", "Published refund policy", "Draft about invoices"}},
		{"Drafts", "status=draft", []string{"Deutsche Rechnung", "Draft about invoices"}},
		{"Published", "status=published", []string{"Changed shipping", "Published refund policy"}},
		{"ChangedSincePublish", "status=changed", []string{"Changed shipping"}},
		{"Category", "category=" + billing.ID, []string{"Changed shipping", "Draft about invoices"}},
		{"NoCategory", "category=none", []string{"Deutsche Rechnung", "Published refund policy"}},
		{"Locale", "locale=de", []string{"Deutsche Rechnung"}},
		{"Words", "q=days", []string{"Changed shipping", "Published refund policy"}},
		{"Combined", "q=ships&status=changed&category=" + billing.ID, []string{"Changed shipping"}},
		{"NoMatch", "q=nothing-like-this", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := k.agent.get("acme", "/help-center?"+tt.query)
			if res.Status != 200 {
				t.Fatalf("got %d", res.Status)
			}
			doc := res.Doc(t)
			var got []string
			doc.Find("[data-testid=kb-row-link]").Each(func(_ int, s *goquery.Selection) { got = append(got, strings.TrimSpace(s.Text())) })
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.want == nil && !strings.Contains(doc.Find("[data-testid=empty]").Text(), "No articles match") {
				t.Error("no empty state for a filter that matches nothing")
			}
		})
	}
	// htmx asks for the table alone.
	req, _ := http.NewRequest("GET", hostURL("acme", "/help-center?status=changed"), nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "kb-results")
	if res := k.agent.do(req); strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, "Changed shipping") {
		t.Errorf("htmx list fragment: %s", snippet(res.Body))
	}
	// The changed article's row says so.
	if got := k.agent.get("acme", "/help-center?status=changed").Doc(t).Find("[data-testid=kb-row]").AttrOr("data-status", ""); got != "changed" {
		t.Errorf("row status: %q", got)
	}
}

// TestKBEditorPreviewAndImages checks the live preview renders through
// the sanitiser, and that an uploaded image is added to the text typed.
func TestKBEditorPreviewAndImages(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	preview := func(t *testing.T, b *browser, title, body string) response {
		t.Helper()
		req, _ := http.NewRequest("POST", hostURL("acme", "/help-center/preview"),
			strings.NewReader(url.Values{"title": {title}, "body_markdown": {body}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("HX-Request", "true")
		return b.do(req)
	}
	xss := "## Hello\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n<a href=\"javascript:alert(3)\">bad</a>\n\n" +
		"<div hx-get=\"/settings/team\" hx-trigger=\"load\">htmx</div>\n\n![outside](https://evil.example/track.png)\n\n**bold**"
	res := preview(t, k.agent, `<b>Title</b>`, xss)
	if res.Status != 200 {
		t.Fatalf("preview: %d", res.Status)
	}
	for _, bad := range []string{"<script", "onerror", "javascript:", "hx-get", "evil.example", "<b>Title</b>"} {
		if strings.Contains(res.Body, bad) {
			t.Errorf("preview lets %q through: %s", bad, res.Body)
		}
	}
	doc := res.Doc(t)
	if doc.Find("h2#hello").Length() != 1 || doc.Find("strong").Text() != "bold" || doc.Find("[data-testid=kb-preview-title]").Text() != "<b>Title</b>" {
		t.Errorf("preview does not render the Markdown: %s", res.Body)
	}
	if res := preview(t, k.sales, "x", "y"); res.Status != 403 {
		t.Errorf("sales preview: got %d, want 403", res.Status)
	}

	t.Run("ImageInserted", func(t *testing.T) {
		fields := url.Values{"title": {"With a picture"}, "body_markdown": {"First line."}, "locale": {"en"}, "image_alt": {"The [settings] page"}}
		res := k.agent.postMultipart(hostURL("acme", "/help-center/articles/new/image"), fields,
			upload{"image", "screen shot.png", pngBytes(t, color.White)})
		if res.Status != 200 {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		doc := res.Doc(t)
		body := doc.Find("textarea[name=body_markdown]").Text()
		if !strings.HasPrefix(body, "First line.\n\n![The \\[settings\\] page](/help/files/") || !strings.HasSuffix(body, "/screen-shot.png)\n") {
			t.Errorf("body after upload: %q", body)
		}
		if doc.Find("input[name=title]").AttrOr("value", "") != "With a picture" {
			t.Error("the title typed was lost")
		}
		if doc.Find("[data-testid=kb-preview] img[src^='/help/files/']").Length() != 1 {
			t.Error("the preview does not show the uploaded image")
		}
		files, _ := k.db.KBFiles(context.Background())
		if len(files) != 1 {
			t.Fatalf("files: %d", len(files))
		}
		if res := k.e.browser().get("acme", files[0].URL()); res.Status != 200 || res.Header.Get("Content-Type") != "image/png" {
			t.Errorf("uploaded image served: %d %s", res.Status, res.Header.Get("Content-Type"))
		}
		if got, _ := k.db.ListKBArticles(context.Background(), app.KBArticleFilter{}); len(got.Articles) != 0 {
			t.Error("uploading an image saved the article")
		}
	})
	for _, tt := range []struct {
		name string
		file *upload
	}{
		{"ErrHTMLRenamedPNG", &upload{"image", "evil.png", []byte("<!DOCTYPE html><script>alert(1)</script>")}},
		{"ErrSVG", &upload{"image", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)}},
		{"ErrNoFile", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var files []upload
			if tt.file != nil {
				files = append(files, *tt.file)
			}
			res := k.agent.postMultipart(hostURL("acme", "/help-center/articles/new/image"),
				url.Values{"title": {"Kept"}, "body_markdown": {"Kept body"}}, files...)
			if res.Status != 422 || res.Text(t, "[data-testid=error-image]") == "" {
				t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
			}
			if got := res.Doc(t).Find("textarea[name=body_markdown]").Text(); got != "Kept body" {
				t.Errorf("body: %q", got)
			}
		})
	}
}

// TestKBEditorCategories checks creating, renaming, reordering (without
// JavaScript: one button per move) and deleting categories, and that
// agents may not.
func TestKBEditorCategories(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	ctx := context.Background()
	names := func() string {
		cs, err := k.db.KBCategories(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	if doc := k.admin.get("acme", "/help-center/categories").Doc(t); doc.Find("[data-testid=empty]").Length() != 1 {
		t.Error("no empty state without categories")
	}
	for _, n := range []string{"Getting started", "Billing", "Account"} {
		if res := k.admin.post("acme", "/help-center/categories", url.Values{"name": {n}}); res.Status != http.StatusSeeOther {
			t.Fatalf("create %s: %d %s", n, res.Status, snippet(res.Body))
		}
	}
	cs, _ := k.db.KBCategories(ctx)
	byName := map[string]app.KBCategory{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	a := k.article(t, app.KBArticleInput{Title: "In billing", BodyMarkdown: "x", CategoryID: byName["Billing"].ID, Published: true})

	for _, tt := range []struct {
		name   string
		b      *browser
		path   string
		form   url.Values
		want   int
		sel    string
		wantDB string
	}{
		{"ErrNameRequired", k.admin, "/help-center/categories", url.Values{"name": {" "}}, 422, "[data-testid=error-new-name]", "Getting started,Billing,Account"},
		{"ErrSlugTaken", k.admin, "/help-center/categories", url.Values{"name": {"Other"}, "slug": {"billing"}}, 422, "[data-testid=error-new-slug]", "Getting started,Billing,Account"},
		{"ErrAgentCreates", k.agent, "/help-center/categories", url.Values{"name": {"Agent's"}}, 403, "", "Getting started,Billing,Account"},
		{"ErrAgentMoves", k.agent, "/help-center/categories/" + byName["Account"].ID + "/move", url.Values{"direction": {"up"}}, 403, "", "Getting started,Billing,Account"},
		{"ErrAgentDeletes", k.agent, "/help-center/categories/" + byName["Account"].ID + "/delete", nil, 403, "", "Getting started,Billing,Account"},
		{"MoveUp", k.lead, "/help-center/categories/" + byName["Account"].ID + "/move", url.Values{"direction": {"up"}}, 303, "", "Getting started,Account,Billing"},
		{"MoveDown", k.lead, "/help-center/categories/" + byName["Getting started"].ID + "/move", url.Values{"direction": {"down"}}, 303, "", "Account,Getting started,Billing"},
		{"MoveFirstUpChangesNothing", k.lead, "/help-center/categories/" + byName["Account"].ID + "/move", url.Values{"direction": {"up"}}, 303, "", "Account,Getting started,Billing"},
		{"ErrMoveUnknown", k.lead, "/help-center/categories/nope/move", url.Values{"direction": {"up"}}, 404, "", "Account,Getting started,Billing"},
		{"Rename", k.admin, "/help-center/categories/" + byName["Billing"].ID, url.Values{"name": {"Billing & invoices"}, "description": {"Money"}, "slug": {"billing"}}, 303, "", "Account,Getting started,Billing & invoices"},
		{"ErrRenameEmpty", k.admin, "/help-center/categories/" + byName["Account"].ID, url.Values{"name": {""}, "slug": {"account"}}, 422, "[data-testid=error-name-" + byName["Account"].ID + "]", "Account,Getting started,Billing & invoices"},
		{"ErrRenameSlugTaken", k.admin, "/help-center/categories/" + byName["Account"].ID, url.Values{"name": {"Account"}, "slug": {"billing"}}, 422, "[data-testid=error-slug-" + byName["Account"].ID + "]", "Account,Getting started,Billing & invoices"},
		{"DeleteKeepsArticles", k.admin, "/help-center/categories/" + byName["Billing"].ID + "/delete", nil, 303, "", "Account,Getting started"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.b.post("acme", tt.path, tt.form)
			if res.Status != tt.want {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.want, snippet(res.Body))
			}
			if tt.sel != "" && res.Text(t, tt.sel) == "" {
				t.Errorf("no %s in %s", tt.sel, snippet(res.Body))
			}
			if got := names(); got != tt.wantDB {
				t.Errorf("categories: got %s, want %s", got, tt.wantDB)
			}
		})
	}
	if got := k.reload(t, a.ID); got.CategoryID != "" || !got.Published {
		t.Errorf("the deleted category's article: category %q published %v, want none and still published", got.CategoryID, got.Published)
	}
	doc := k.agent.get("acme", "/help-center/categories").Doc(t)
	if doc.Find("[data-testid=kb-new-category], [data-testid=kb-category-up], [data-testid=kb-category-delete]").Length() != 0 {
		t.Error("an agent is offered to manage categories")
	}
	doc = k.admin.get("acme", "/help-center/categories").Doc(t)
	first := doc.Find("[data-testid=kb-category]").First()
	if _, disabled := first.Find("[data-testid=kb-category-up]").Attr("disabled"); !disabled {
		t.Error("the first category's Up button is not disabled")
	}
	if doc.Find("[data-testid=kb-category] [data-testid=kb-category-delete-confirm]").Length() != 2 {
		t.Error("delete buttons are not behind a confirmation per category")
	}
}

// TestKBEditorIsolation checks another workspace's articles and categories
// answer 404, exactly like ids that do not exist.
func TestKBEditorIsolation(t *testing.T) {
	t.Parallel()
	k := kbSetup(t)
	ctx := context.Background()
	globex := k.e.workspace("globex")
	gdb := k.e.db(globex)
	ga, err := gdb.CreateKBArticle(ctx, app.KBArticleInput{Title: "Globex secret", BodyMarkdown: "x", Published: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := gdb.CreateKBCategory(ctx, app.KBCategoryInput{Name: "Globex cat"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/help-center/articles/" + ga.ID},
		{"POST", "/help-center/articles/" + ga.ID},
		{"POST", "/help-center/articles/" + ga.ID + "/unpublish"},
		{"POST", "/help-center/articles/" + ga.ID + "/delete"},
		{"POST", "/help-center/categories/" + gc.ID},
		{"POST", "/help-center/categories/" + gc.ID + "/move"},
		{"POST", "/help-center/categories/" + gc.ID + "/delete"},
	} {
		var res response
		if tt.method == "GET" {
			res = k.admin.get("acme", tt.path)
		} else {
			res = k.admin.post("acme", tt.path, articleFields("Hijack", "x", func(v url.Values) { v.Set("name", "Hijack") }))
		}
		if res.Status != 404 {
			t.Errorf("%s %s: got %d, want 404", tt.method, tt.path, res.Status)
		}
	}
	if a, err := gdb.KBArticleByID(ctx, ga.ID); err != nil || a.Draft.Title != "Globex secret" || !a.Published {
		t.Errorf("globex's article changed: %+v %v", a, err)
	}
	if strings.Contains(k.admin.get("acme", "/help-center").Body, "Globex secret") {
		t.Error("acme's list shows globex's article")
	}
}
