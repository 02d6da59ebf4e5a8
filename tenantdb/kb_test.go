package tenantdb_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"

	"parley/app"
	"parley/tenantdb"
)

func kbDB(t *testing.T) *tenantdb.DB {
	t.Helper()
	_, db := providerDB(t)
	return db
}

func mustArticle(t *testing.T, db *tenantdb.DB, in app.KBArticleInput) app.KBArticle {
	t.Helper()
	a, err := db.CreateKBArticle(context.Background(), in, app.CLIActor)
	if err != nil {
		t.Fatalf("create article %q: %v (fields %v)", in.Title, err, app.ErrorFields(err))
	}
	return a
}

func mustCategory(t *testing.T, db *tenantdb.DB, name string) app.KBCategory {
	t.Helper()
	c, err := db.CreateKBCategory(context.Background(), app.KBCategoryInput{Name: name}, app.CLIActor)
	if err != nil {
		t.Fatalf("create category %q: %v", name, err)
	}
	return c
}

func eventCount(t *testing.T, db *tenantdb.DB, typ string) int {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), app.EventFilter{Type: &typ, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func allEvents(t *testing.T, db *tenantdb.DB) int {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), app.EventFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestKBCategories(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	billing := mustCategory(t, db, "  Billing &   Payments ")
	if billing.Slug != "billing-payments" || billing.Name != "Billing & Payments" || billing.Position != 1 {
		t.Errorf("created: got %+v", billing)
	}
	again := mustCategory(t, db, "Billing payments")
	if again.Slug != "billing-payments-2" || again.Position != 2 {
		t.Errorf("second with the same slug: got slug %q position %d, want billing-payments-2 and 2", again.Slug, again.Position)
	}
	setup := mustCategory(t, db, "Setup")

	t.Run("ErrSlugTaken", func(t *testing.T) {
		_, err := db.CreateKBCategory(ctx, app.KBCategoryInput{Name: "X", Slug: "setup"}, app.CLIActor)
		if fs := app.ErrorFields(err); len(fs) != 1 || fs[0].Field != "slug" {
			t.Errorf("got %v, want a slug field error", err)
		}
	})
	t.Run("ErrNameRequired", func(t *testing.T) {
		_, err := db.CreateKBCategory(ctx, app.KBCategoryInput{Name: "  ", Slug: "Bad Slug"}, app.CLIActor)
		if fs := app.ErrorFields(err); len(fs) != 2 || fs[0].Field != "name" || fs[1].Field != "slug" {
			t.Errorf("got %v %v, want name and slug field errors", err, fs)
		}
	})
	t.Run("Update", func(t *testing.T) {
		name, slug := "Payments", "payments"
		c, err := db.UpdateKBCategory(ctx, again.ID, app.KBCategoryUpdate{Name: &name, Slug: &slug}, app.CLIActor)
		if err != nil || c.Name != "Payments" || c.Slug != "payments" {
			t.Fatalf("got %+v, %v", c, err)
		}
		taken := "setup"
		if _, err := db.UpdateKBCategory(ctx, again.ID, app.KBCategoryUpdate{Slug: &taken}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("slug of another category: got %v, want EINVALID", err)
		}
		if _, err := db.UpdateKBCategory(ctx, "nope", app.KBCategoryUpdate{Name: &name}, app.CLIActor); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("unknown id: got %v, want ENOTFOUND", err)
		}
	})
	t.Run("Reorder", func(t *testing.T) {
		if err := db.ReorderKBCategories(ctx, []string{setup.ID, billing.ID}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("a category left out: got %v, want EINVALID", err)
		}
		if err := db.ReorderKBCategories(ctx, []string{setup.ID, billing.ID, setup.ID}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("a category twice: got %v, want EINVALID", err)
		}
		if err := db.ReorderKBCategories(ctx, []string{setup.ID, again.ID, billing.ID}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		cs, _ := db.KBCategories(ctx)
		var got []string
		for _, c := range cs {
			got = append(got, c.Slug)
		}
		if strings.Join(got, " ") != "setup payments billing-payments" {
			t.Errorf("order: got %v", got)
		}
		if n := eventCount(t, db, app.EventKBCategoriesReordered); n != 1 {
			t.Errorf("reorder events: got %d, want 1", n)
		}
	})
	t.Run("DeleteKeepsArticles", func(t *testing.T) {
		a := mustArticle(t, db, app.KBArticleInput{Title: "Invoices", BodyMarkdown: "Text.", CategoryID: billing.ID})
		if err := db.DeleteKBCategory(ctx, billing.ID, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		got, err := db.KBArticleByID(ctx, a.ID)
		if err != nil || got.CategoryID != "" {
			t.Errorf("article after its category was deleted: got %+v, %v", got, err)
		}
		if _, err := db.KBCategoryByID(ctx, billing.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("deleted category: got %v", err)
		}
		if n := eventCount(t, db, app.EventKBCategoryDeleted); n != 1 {
			t.Errorf("delete events: got %d, want 1", n)
		}
	})
}

func TestKBArticleValidation(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	first := mustArticle(t, db, app.KBArticleInput{Title: "Reset your password", BodyMarkdown: "Go to settings."})
	before := allEvents(t, db)
	for _, tt := range []struct {
		name  string
		in    app.KBArticleInput
		field string
	}{
		{"ErrTitleRequired", app.KBArticleInput{Title: " ", BodyMarkdown: "x"}, "title"},
		{"ErrTitleTooLong", app.KBArticleInput{Title: strings.Repeat("a", 201)}, "title"},
		{"ErrTitleControl", app.KBArticleInput{Title: "a\x02b"}, "title"},
		{"ErrBodyTooLarge", app.KBArticleInput{Title: "Big", BodyMarkdown: strings.Repeat("a", 200<<10+1)}, "body_markdown"},
		{"ErrBodyControl", app.KBArticleInput{Title: "Ctl", BodyMarkdown: "a\x03b"}, "body_markdown"},
		{"ErrLocale", app.KBArticleInput{Title: "Loc", Locale: "english"}, "locale"},
		{"ErrLocaleScriptless", app.KBArticleInput{Title: "Loc", Locale: "e"}, "locale"},
		{"ErrSlugFormat", app.KBArticleInput{Title: "Slug", Slug: "no spaces"}, "slug"},
		{"ErrSlugTaken", app.KBArticleInput{Title: "Slug", Slug: "reset-your-password"}, "slug"},
		{"ErrDescriptionTooLong", app.KBArticleInput{Title: "D", Description: strings.Repeat("d", 301)}, "description"},
		{"ErrUnknownCategory", app.KBArticleInput{Title: "C", CategoryID: "nope"}, "category_id"},
		{"ErrUnknownTranslationOf", app.KBArticleInput{Title: "T", TranslationOf: "nope"}, "translation_of"},
		{"ErrSameLocaleTwice", app.KBArticleInput{Title: "T", TranslationOf: first.ID, Locale: "en"}, "locale"},
		{"ErrPublishEmpty", app.KBArticleInput{Title: "Empty", Published: true}, "body_markdown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateKBArticle(ctx, tt.in, app.CLIActor)
			fs := app.ErrorFields(err)
			if app.ErrorCode(err) != app.EINVALID || len(fs) == 0 || fs[0].Field != tt.field {
				t.Errorf("got %v %v, want a field error on %s", err, fs, tt.field)
			}
		})
	}
	if after := allEvents(t, db); after != before {
		t.Errorf("refused input wrote %d events", after-before)
	}
	t.Run("LocaleNormalised", func(t *testing.T) {
		a := mustArticle(t, db, app.KBArticleInput{Title: "Olá", BodyMarkdown: "x", Locale: "pt_br", TranslationOf: first.ID})
		if a.Locale != "pt-BR" || a.TranslationGroup != first.ID {
			t.Errorf("got locale %q group %q, want pt-BR in %s", a.Locale, a.TranslationGroup, first.ID)
		}
		if a.Slug != "ola" {
			t.Errorf("slug: got %q, want ola", a.Slug)
		}
	})
	t.Run("NonLatinTitleSlug", func(t *testing.T) {
		a := mustArticle(t, db, app.KBArticleInput{Title: "パスワード", BodyMarkdown: "x", Locale: "ja"})
		b := mustArticle(t, db, app.KBArticleInput{Title: "ログイン", BodyMarkdown: "x", Locale: "ja"})
		if a.Slug != "article" || b.Slug != "article-2" {
			t.Errorf("slugs: got %q, %q", a.Slug, b.Slug)
		}
	})
}

func TestKBDraftAndPublish(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	a := mustArticle(t, db, app.KBArticleInput{Title: "Shipping times", BodyMarkdown: "We ship **worldwide** in 3 days.",
		Description: "How long shipping takes."})
	if a.Slug != "shipping-times" || a.Published || !a.HasChanges() {
		t.Fatalf("draft: got %+v", a)
	}
	if _, err := db.PublishedKBArticle(ctx, a.Slug); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("draft on the public side: got %v, want ENOTFOUND", err)
	}
	if hits, _ := db.SearchKBArticles(ctx, "worldwide", "", 10, 0); len(hits) != 0 {
		t.Fatalf("draft found by search: %+v", hits)
	}

	a, err := db.PublishKBArticle(ctx, a.ID, app.CLIActor)
	if err != nil || !a.Published || a.HasChanges() || a.PublishedAt == nil || a.FirstPublishedAt == nil {
		t.Fatalf("publish: got %+v, %v", a, err)
	}
	pub, err := db.PublishedKBArticle(ctx, "shipping-times")
	if err != nil || !strings.Contains(pub.HTML, "<strong>worldwide</strong>") || pub.Description != "How long shipping takes." {
		t.Fatalf("published: got %+v, %v", pub, err)
	}

	body := "We ship **everywhere** in 2 days."
	a, err = db.UpdateKBArticle(ctx, a.ID, app.KBArticleUpdate{BodyMarkdown: &body}, app.CLIActor)
	if err != nil || !a.HasChanges() || a.Live.BodyMarkdown != "We ship **worldwide** in 3 days." {
		t.Fatalf("edit after publishing: got %+v, %v", a, err)
	}
	if pub, _ := db.PublishedKBArticle(ctx, "shipping-times"); strings.Contains(pub.HTML, "everywhere") {
		t.Errorf("an unpublished edit reached the help center: %s", pub.HTML)
	}
	if hits, _ := db.SearchKBArticles(ctx, "everywhere", "", 10, 0); len(hits) != 0 {
		t.Errorf("an unpublished edit reached search: %+v", hits)
	}
	yes := true
	if a, err = db.UpdateKBArticle(ctx, a.ID, app.KBArticleUpdate{Published: &yes}, app.CLIActor); err != nil || a.HasChanges() {
		t.Fatalf("republish: %+v, %v", a, err)
	}
	if hits, _ := db.SearchKBArticles(ctx, "everywhere", "", 10, 0); len(hits) != 1 {
		t.Errorf("search after republishing: got %d hits, want 1", len(hits))
	}
	if hits, _ := db.SearchKBArticles(ctx, "worldwide", "", 10, 0); len(hits) != 0 {
		t.Errorf("search still finds the old version: %+v", hits)
	}

	if _, err := db.UnpublishKBArticle(ctx, a.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PublishedKBArticle(ctx, "shipping-times"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("unpublished on the public side: got %v, want ENOTFOUND", err)
	}
	if hits, _ := db.SearchKBArticles(ctx, "everywhere", "", 10, 0); len(hits) != 0 {
		t.Errorf("unpublished found by search: %+v", hits)
	}
	for typ, want := range map[string]int{app.EventKBArticleCreated: 1, app.EventKBArticleUpdated: 1,
		app.EventKBArticlePublished: 2, app.EventKBArticleUnpublished: 1} {
		if n := eventCount(t, db, typ); n != want {
			t.Errorf("%s events: got %d, want %d", typ, n, want)
		}
	}
	// Publishing what is already published, unchanged, writes nothing.
	if _, err := db.UnpublishKBArticle(ctx, a.ID, app.CLIActor); err != nil || eventCount(t, db, app.EventKBArticleUnpublished) != 1 {
		t.Errorf("unpublishing twice: %v, events %d", err, eventCount(t, db, app.EventKBArticleUnpublished))
	}

	if err := db.DeleteKBArticle(ctx, a.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.KBArticleByID(ctx, a.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("deleted: got %v", err)
	}
	if err := db.DeleteKBArticle(ctx, a.ID, app.CLIActor); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("deleted twice: got %v", err)
	}
}

func TestKBRenderedAgainForNewRenderer(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	a := mustArticle(t, db, app.KBArticleInput{Title: "Old", BodyMarkdown: "## Steps\n\nOne.", Published: true})
	// An article published by an older renderer, whose output today's
	// policy would not allow, is rendered again when read.
	if err := tenantdb.ExecForTest(db, `UPDATE kb_article_texts SET render_version = 0, published_html = '<script>alert(1)</script>'`); err != nil {
		t.Fatal(err)
	}
	pub, err := db.PublishedKBArticle(context.Background(), a.Slug)
	if err != nil || strings.Contains(pub.HTML, "script") || !strings.Contains(pub.HTML, `id="steps"`) || len(pub.Headings) != 1 {
		t.Errorf("got %+v, %v", pub, err)
	}
}

func TestKBTranslationsAndHelpCenter(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	setup := mustCategory(t, db, "Setup")
	billing := mustCategory(t, db, "Billing")
	mustCategory(t, db, "Empty")
	en := mustArticle(t, db, app.KBArticleInput{Title: "Install the app", BodyMarkdown: "Download it.", CategoryID: setup.ID, Published: true})
	de := mustArticle(t, db, app.KBArticleInput{Title: "App installieren", BodyMarkdown: "Laden Sie sie.", Locale: "de",
		TranslationOf: en.ID, Published: true})
	mustArticle(t, db, app.KBArticleInput{Title: "Installer l'app", BodyMarkdown: "Brouillon.", Locale: "fr", TranslationOf: de.ID})
	mustArticle(t, db, app.KBArticleInput{Title: "Invoices", BodyMarkdown: "Monthly.", CategoryID: billing.ID, Published: true})
	mustArticle(t, db, app.KBArticleInput{Title: "About us", BodyMarkdown: "Hello.", Published: true})
	mustArticle(t, db, app.KBArticleInput{Title: "A draft", BodyMarkdown: "Secret.", CategoryID: billing.ID})

	if de.CategoryID != setup.ID {
		t.Errorf("a translation takes its source's category: got %q", de.CategoryID)
	}
	all, err := db.KBTranslations(ctx, en.TranslationGroup)
	if err != nil || len(all) != 3 {
		t.Fatalf("translations (team): got %d, %v", len(all), err)
	}
	pub, err := db.PublishedKBTranslations(ctx, en.TranslationGroup)
	if err != nil || len(pub) != 2 || pub[0].Locale != "de" || pub[1].Locale != "en" {
		t.Fatalf("translations (public): got %+v, %v", pub, err)
	}
	locales, _ := db.KBPublishedLocales(ctx)
	if strings.Join(locales, " ") != "en de" {
		t.Errorf("published locales: got %v, want en de", locales)
	}
	hc, err := db.KBHelpCenter(ctx, "en", 5)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range hc.Categories {
		var titles []string
		for _, a := range c.Articles {
			titles = append(titles, a.Title)
		}
		got = append(got, c.Category.Name+": "+strings.Join(titles, ", "))
	}
	if strings.Join(got, "; ") != "Setup: Install the app; Billing: Invoices" || len(hc.Uncategorised.Articles) != 1 {
		t.Errorf("help center: got %v and %d uncategorised", got, len(hc.Uncategorised.Articles))
	}
	mustArticle(t, db, app.KBArticleInput{Title: "Add a card", BodyMarkdown: "x", CategoryID: billing.ID, Published: true})
	mustArticle(t, db, app.KBArticleInput{Title: "cancel your plan", BodyMarkdown: "x", CategoryID: billing.ID, Published: true})
	if hc, _ := db.KBHelpCenter(ctx, "en", 2); len(hc.Categories) != 2 || hc.Categories[1].Total != 3 ||
		len(hc.Categories[1].Articles) != 2 || hc.Categories[1].Articles[1].Title != "cancel your plan" {
		t.Errorf("two per category: got %+v", hc.Categories)
	}
	if _, err := db.PublishedKBCategory(ctx, "empty", "en"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("a category without published articles: got %v, want ENOTFOUND", err)
	}
	cat, err := db.PublishedKBCategory(ctx, "setup", "de")
	if err != nil || len(cat.Articles) != 1 || cat.Articles[0].Locale != "de" {
		t.Errorf("category in de: got %+v, %v", cat, err)
	}
	sm, err := db.KBSitemap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range sm {
		kinds = append(kinds, e.Kind+":"+e.Slug)
		if e.Slug == "install-the-app" && len(e.Alternates) != 2 {
			t.Errorf("sitemap alternates of %s: got %d, want 2", e.Slug, len(e.Alternates))
		}
	}
	if len(sm) != 8 || strings.Contains(strings.Join(kinds, " "), "draft") || strings.Contains(strings.Join(kinds, " "), "installer") {
		t.Errorf("sitemap: got %v, want 6 published articles and 2 categories", kinds)
	}
	t.Run("ErrMoveIntoTakenLocale", func(t *testing.T) {
		l := "de"
		if _, err := db.UpdateKBArticle(ctx, en.ID, app.KBArticleUpdate{Locale: &l}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("got %v, want EINVALID", err)
		}
	})
}

func TestKBSearchAndRelated(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	acc := mustCategory(t, db, "Account")
	reset := mustArticle(t, db, app.KBArticleInput{Title: "Reset your password", CategoryID: acc.ID, Published: true,
		BodyMarkdown: "Open **Settings**, choose *Password* and follow the <b>steps</b>. Passwords need 12 characters."})
	mustArticle(t, db, app.KBArticleInput{Title: "Two-factor sign-in", CategoryID: acc.ID, Published: true, BodyMarkdown: "Use an app."})
	mustArticle(t, db, app.KBArticleInput{Title: "Forgotten password? Über-help", Published: true, BodyMarkdown: "Write to us & we reset it."})
	mustArticle(t, db, app.KBArticleInput{Title: "Passwort ändern", Locale: "de", Published: true, BodyMarkdown: "Einstellungen öffnen."})
	mustArticle(t, db, app.KBArticleInput{Title: "Password draft", BodyMarkdown: "password secret"})

	for _, tt := range []struct {
		name, q, locale string
		want            int
	}{
		{"Prefix", "passw", "", 3},
		{"TwoWords", "password settings", "", 1},
		{"Locale", "passw", "de", 1},
		{"Diacritics", "uber", "", 1},
		{"FTSSyntaxIsText", `password" OR body:*`, "", 0},
		{"Punctuation", `"*()`, "", 0},
		{"Empty", "  ", "", 0},
		{"NoMatch", "zebra", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := db.SearchKBArticles(ctx, tt.q, tt.locale, 10, 0)
			if err != nil || len(hits) != tt.want {
				t.Errorf("got %d hits, %v; want %d", len(hits), err, tt.want)
			}
		})
	}
	t.Run("Marks", func(t *testing.T) {
		hits, _ := db.SearchKBArticles(ctx, "characters", "en", 10, 0)
		if len(hits) != 1 {
			t.Fatalf("got %d hits", len(hits))
		}
		h := hits[0]
		if !strings.Contains(h.Snippet, app.MarkStart+"characters"+app.MarkEnd) || strings.Contains(h.Snippet, "<b>") {
			t.Errorf("snippet: got %q, want the match marked and no markup", h.Snippet)
		}
		if h.TitleMarked != "Reset your password" {
			t.Errorf("title: got %q", h.TitleMarked)
		}
	})
	t.Run("BestFirst", func(t *testing.T) {
		hits, _ := db.SearchKBArticles(ctx, "password", "en", 10, 0)
		if len(hits) < 2 || !strings.Contains(hits[0].TitleMarked, app.MarkStart) {
			t.Errorf("a title match ranks first: got %+v", hits)
		}
	})
	t.Run("Related", func(t *testing.T) {
		ref := app.KBArticleRef{ID: reset.ID, Locale: "en", CategoryID: acc.ID, Title: reset.Draft.Title}
		rel, err := db.RelatedKBArticles(ctx, ref, 5)
		if err != nil {
			t.Fatal(err)
		}
		var titles []string
		for _, r := range rel {
			titles = append(titles, r.Title)
		}
		if strings.Join(titles, "|") != "Two-factor sign-in|Forgotten password? Über-help" {
			t.Errorf("got %v: want the same category first, then a title word match, never itself, a draft or another locale", titles)
		}
	})
}

func TestKBVotes(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	a := mustArticle(t, db, app.KBArticleInput{Title: "Votes", BodyMarkdown: "x", Published: true})
	draft := mustArticle(t, db, app.KBArticleInput{Title: "Draft", BodyMarkdown: "x"})
	steps := []struct {
		name         string
		voter        string
		helpful      bool
		up, down     int
		changed      bool
		wantEventsAt int
	}{
		{"FirstYes", "v1", true, 1, 0, true, 1},
		{"SameVisitorAgain", "v1", true, 1, 0, false, 1},
		{"OtherVisitorNo", "v2", false, 1, 1, true, 2},
		{"ChangedMind", "v1", false, 0, 2, true, 3},
		{"BackToYes", "v1", true, 1, 1, true, 4},
	}
	for _, s := range steps {
		v, err := db.VoteKBArticle(ctx, a.ID, s.voter, s.helpful)
		if err != nil || v.HelpfulVotes != s.up || v.UnhelpfulVotes != s.down || v.Changed != s.changed {
			t.Fatalf("%s: got %+v, %v; want %d/%d changed %v", s.name, v, err, s.up, s.down, s.changed)
		}
		if n := eventCount(t, db, app.EventKBArticleVoted); n != s.wantEventsAt {
			t.Errorf("%s: got %d vote events, want %d", s.name, n, s.wantEventsAt)
		}
	}
	got, _ := db.KBArticleByID(ctx, a.ID)
	if got.HelpfulVotes != 1 || got.UnhelpfulVotes != 1 {
		t.Errorf("stored counts: got %d/%d", got.HelpfulVotes, got.UnhelpfulVotes)
	}
	if _, err := db.VoteKBArticle(ctx, draft.ID, "v1", true); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("vote on a draft: got %v, want ENOTFOUND", err)
	}
}

func TestKBFiles(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	var pngBytes bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	png.Encode(&pngBytes, img)

	f, err := db.UploadKBFile(ctx, app.Upload{Filename: `C:\shots\my "screen".PNG`, Data: pngBytes.Bytes()}, app.CLIActor)
	if err != nil || f.ContentType != "image/png" || f.Filename != "my--screen-.PNG" {
		t.Fatalf("upload: got %+v, %v", f, err)
	}
	if !app.KBFilePattern.MatchString(f.URL()) {
		t.Errorf("URL %q is not one articles may show", f.URL())
	}
	got, path, err := db.KBFileByID(ctx, f.ID)
	if err != nil || got.Size != int64(pngBytes.Len()) {
		t.Fatalf("by id: %+v, %v", got, err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, pngBytes.Bytes()) {
		t.Errorf("stored bytes differ: %v", err)
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"ErrSVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`)},
		{"ErrHTML", []byte(`<html><script>alert(1)</script></html>`)},
		{"ErrEmpty", nil},
		{"ErrTooLarge", append(pngBytes.Bytes(), make([]byte, app.MaxKBFileBytes)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.UploadKBFile(ctx, app.Upload{Filename: "x.png", Data: tt.data}, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
	if err := db.DeleteKBFile(ctx, f.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file left on disk after delete: %v", err)
	}
	if _, _, err := db.KBFileByID(ctx, f.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("deleted file: got %v", err)
	}
}

func TestKBListArticles(t *testing.T) {
	t.Parallel()
	db := kbDB(t)
	ctx := context.Background()
	c := mustCategory(t, db, "Cat")
	for i, title := range []string{"Alpha", "Beta", "Gamma", "Delta", "Epsilon"} {
		in := app.KBArticleInput{Title: title, BodyMarkdown: "Body of " + title, Published: i%2 == 0}
		if i < 2 {
			in.CategoryID = c.ID
		}
		mustArticle(t, db, in)
	}
	yes, none := true, ""
	for _, tt := range []struct {
		name string
		f    app.KBArticleFilter
		want string
	}{
		{"All", app.KBArticleFilter{}, "Epsilon Delta Gamma Beta Alpha"},
		{"Published", app.KBArticleFilter{Published: &yes}, "Epsilon Gamma Alpha"},
		{"Category", app.KBArticleFilter{CategoryID: &c.ID}, "Beta Alpha"},
		{"NoCategory", app.KBArticleFilter{CategoryID: &none}, "Epsilon Delta Gamma"},
		{"Query", app.KBArticleFilter{Query: "body of ta"}, "Delta Beta"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := db.ListKBArticles(ctx, tt.f)
			var got []string
			for _, a := range page.Articles {
				got = append(got, a.Draft.Title)
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Errorf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	t.Run("Pages", func(t *testing.T) {
		var got []string
		cursor := ""
		for range 4 {
			page, err := db.ListKBArticles(ctx, app.KBArticleFilter{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page.Articles {
				got = append(got, a.Draft.Title)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(got, " ") != "Epsilon Delta Gamma Beta Alpha" {
			t.Errorf("pages: got %v", got)
		}
		if _, err := db.ListKBArticles(ctx, app.KBArticleFilter{Cursor: "garbage"}); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("bad cursor: got %v", err)
		}
	})
}
