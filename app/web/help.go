package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"parley/app"
	"parley/views/portal"
	"parley/views/ui"
)

// The public help center (tenantdb/kb.go holds its storage): front page,
// categories, articles with "Was this helpful?", search, sitemap and the
// images articles show. Only published articles are ever read here; a
// draft, an unpublished article and another workspace's article all answer
// the same 404 as a slug that never existed.

// Help center page sizes.
const (
	homeArticlesPerCategory = 6 // and as many articles in no category
	searchPageSize          = 20
	searchMaxPages          = 50
	relatedArticles         = 5
)

// helpBase is the origin of the help center's canonical URLs: the
// workspace's custom domain when it has one mapped (on the port the
// request used, when it came in on it), else its own host.
func (s *Server) helpBase(r *http.Request, p *portalReq) (string, error) {
	d, err := s.control.DomainOf(r.Context(), p.Tenant.ID)
	switch {
	case err != nil:
		return "", fmt.Errorf("custom domain of %s: %w", p.Tenant.Slug, err)
	case d == "":
		return TenantURL(s.cfg, p.Tenant.Slug, ""), nil
	}
	// The verified domain as stored, never the request's Host (whose port
	// a client chooses, and these URLs are cached).
	return s.scheme() + "://" + d, nil
}

func articlePath(slug string) string  { return "/help/articles/" + url.PathEscape(slug) }
func categoryPath(slug string) string { return "/help/categories/" + url.PathEscape(slug) }

// withLocale adds ?locale= to a help center path unless locale is the
// default (the first published one), whose pages need none.
func withLocale(path, locale string, locales []string) string {
	if locale == "" || len(locales) < 2 || locale == locales[0] {
		return path
	}
	return path + "?locale=" + url.QueryEscape(locale)
}

// pickLocale chooses the language of a page listing articles: ?locale=
// when it is published, else the best match for the browser's languages,
// else the locale with the most articles.
func pickLocale(r *http.Request, locales []string) string {
	if len(locales) == 0 {
		return app.DefaultKBLocale
	}
	if l, ok := app.NormalizeLocale(r.URL.Query().Get("locale")); ok && slices.Contains(locales, l) {
		return l
	}
	accept := r.Header.Get("Accept-Language")
	if accept == "" || len(locales) == 1 {
		return locales[0]
	}
	tags := make([]language.Tag, len(locales))
	for i, l := range locales {
		tags[i] = language.Make(l)
	}
	want, _, err := language.ParseAcceptLanguage(accept)
	if err != nil {
		return locales[0]
	}
	_, i, conf := language.NewMatcher(tags).Match(want...)
	if conf == language.No {
		return locales[0]
	}
	return locales[i]
}

// localeLabel is a language's name in itself: "Deutsch", "Português (Brasil)".
func localeLabel(locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		return locale
	}
	name := display.Self.Name(tag)
	if name == "" {
		return locale
	}
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[n:]
}

// showHelpHome is the help center's front page: search, and the
// categories with their articles in one language.
func (s *Server) showHelpHome(w http.ResponseWriter, r *http.Request, p *portalReq) {
	ctx := r.Context()
	locales, err := p.DB.KBPublishedLocales(ctx)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	locale := pickLocale(r, locales)
	hc, err := p.DB.KBHelpCenter(ctx, locale, homeArticlesPerCategory)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	base, err := s.helpBase(r, p)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	vm := portal.HelpHome{Shell: p.shell("Help center", "Answers to common questions about "+p.Branding.Name+".", portal.SectionHelp),
		Locale: locale}
	vm.Shell.Locale = locale
	vm.Shell.Canonical = base + withLocale("/help", locale, locales)
	if len(locales) > 1 {
		for _, l := range locales {
			href := withLocale("/help", l, locales)
			vm.Locales = append(vm.Locales, portal.LocaleLink{Locale: l, Label: localeLabel(l), Href: href, Current: l == locale})
			vm.Shell.Alternates = append(vm.Shell.Alternates, portal.Alternate{Locale: l, Label: localeLabel(l), Href: base + href})
		}
	}
	for _, c := range hc.Categories {
		card := portal.HelpCategoryCard{Name: c.Category.Name, Description: c.Category.Description,
			Href: withLocale(categoryPath(c.Category.Slug), locale, locales)}
		for _, a := range c.Articles {
			card.Articles = append(card.Articles, portal.HelpLink{Title: a.Title, Href: articlePath(a.Slug)})
		}
		card.More = c.Total - len(c.Articles)
		vm.Categories = append(vm.Categories, card)
	}
	for _, a := range hc.Uncategorised.Articles {
		vm.Uncategorised = append(vm.Uncategorised, portal.HelpLink{Title: a.Title, Href: articlePath(a.Slug)})
	}
	s.render(w, r, http.StatusOK, portal.HelpHomePage(vm))
}

// showHelpCategory lists a category's articles.
func (s *Server) showHelpCategory(w http.ResponseWriter, r *http.Request, p *portalReq) {
	ctx := r.Context()
	locales, err := p.DB.KBPublishedLocales(ctx)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	locale := pickLocale(r, locales)
	c, err := p.DB.PublishedKBCategory(ctx, r.PathValue("slug"), locale)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	base, err := s.helpBase(r, p)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	description := c.Category.Description
	if description == "" {
		description = "Articles about " + c.Category.Name + "."
	}
	vm := portal.HelpCategoryPage{Shell: p.shell(c.Category.Name, description, portal.SectionHelp),
		Name: c.Category.Name, Description: c.Category.Description}
	vm.Shell.Locale = locale
	vm.Shell.Canonical = base + withLocale(categoryPath(c.Category.Slug), locale, locales)
	for _, a := range c.Articles {
		link := portal.HelpLink{Title: a.Title, Href: articlePath(a.Slug), Summary: a.Description}
		if a.Locale != locale {
			link.Lang = a.Locale
		}
		vm.Articles = append(vm.Articles, link)
	}
	s.render(w, r, http.StatusOK, portal.HelpCategory(vm))
}

// showHelpArticle shows a published article.
func (s *Server) showHelpArticle(w http.ResponseWriter, r *http.Request, p *portalReq) {
	ctx := r.Context()
	a, err := p.DB.PublishedKBArticle(ctx, r.PathValue("slug"))
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	base, err := s.helpBase(r, p)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	translations, err := p.DB.PublishedKBTranslations(ctx, a.TranslationGroup)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	related, err := p.DB.RelatedKBArticles(ctx, a.KBArticleRef, relatedArticles)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	vm := portal.HelpArticlePage{Shell: p.shell(a.Title, a.Description, portal.SectionHelp), Title: a.Title,
		Updated: ui.FormatDate(a.PublishedAt), HTML: a.HTML, Vote: portal.VoteBox{Action: articlePath(a.Slug) + "/vote"}}
	vm.Shell.Locale = a.Locale
	vm.Shell.Canonical = base + articlePath(a.Slug)
	if a.CategoryID != "" {
		c, err := p.DB.KBCategoryByID(ctx, a.CategoryID)
		if err != nil {
			s.renderPortalError(w, r, p, err)
			return
		}
		vm.Category = &portal.HelpLink{Title: c.Name, Href: categoryPath(c.Slug) + localeQuery(a.Locale, translations)}
	}
	if len(translations) > 1 {
		for _, t := range translations {
			vm.Translations = append(vm.Translations, portal.LocaleLink{Locale: t.Locale, Label: localeLabel(t.Locale),
				Href: articlePath(t.Slug), Current: t.ID == a.ID})
			vm.Shell.Alternates = append(vm.Shell.Alternates, portal.Alternate{Locale: t.Locale, Label: localeLabel(t.Locale),
				Href: base + articlePath(t.Slug)})
		}
	}
	for _, h := range a.Headings {
		if h.Level == 2 {
			vm.Contents = append(vm.Contents, h)
		}
	}
	for _, rel := range related {
		vm.Related = append(vm.Related, portal.HelpLink{Title: rel.Title, Href: articlePath(rel.Slug)})
	}
	switch r.URL.Query().Get("voted") {
	case "yes":
		vm.Vote.Thanks, vm.Vote.Helpful = true, true
	case "no":
		vm.Vote.Thanks = true
	}
	s.render(w, r, http.StatusOK, portal.HelpArticle(vm))
}

// localeQuery keeps an article's language on the way back to its
// category when it is one of several.
func localeQuery(locale string, translations []app.KBArticleRef) string {
	if len(translations) < 2 {
		return ""
	}
	return "?locale=" + url.QueryEscape(locale)
}

// voterCookie holds a random id per browser, so one visitor counts once
// per article. Only its hash is stored.
const voterCookie = "parley_kb_voter"

// voterID returns the visitor's id from their cookie, setting a new one
// when they have none.
func (s *Server) voterID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(voterCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: voterCookie, Value: id, Path: "/help", MaxAge: 365 * 24 * 3600, // #nosec G124 -- Secure follows --https (plain HTTP in development), HttpOnly and SameSite are set
		HttpOnly: true, Secure: s.cfg.HTTPS, SameSite: http.SameSiteLaxMode})
	return id
}

// voteHelpArticle records "Was this helpful?". With htmx the box is
// swapped for the thanks (or the error); without, the browser comes back
// to the article, which then thanks them.
func (s *Server) voteHelpArticle(limits *rateBuckets) func(http.ResponseWriter, *http.Request, *portalReq) {
	return func(w http.ResponseWriter, r *http.Request, p *portalReq) {
		slug := r.PathValue("slug")
		box := portal.VoteBox{Action: articlePath(slug) + "/vote"}
		fail := func(err error) {
			if r.Header.Get("HX-Request") != "true" || app.ErrorCode(err) == app.ENOTFOUND {
				s.renderPortalError(w, r, p, err)
				return
			}
			s.logIfInternal(r, err)
			box.Error = app.ErrorMessage(err)
			if app.ErrorCode(err) == app.EINTERNAL {
				box.Error = "Your answer could not be saved; please try again."
			}
			s.render(w, r, errorStatus(err), portal.VoteContent(box))
		}
		if !limits.take(limitKey{"vote-ip:" + p.Tenant.ID + ":" + s.clientIP(r), voteRate}) {
			fail(app.Errorf(app.ERATELIMITED, "You have answered many times in a short while; please try again in a minute."))
			return
		}
		var helpful bool
		switch r.PostFormValue("helpful") {
		case "yes":
			helpful = true
		case "no":
		default:
			fail(app.InvalidField("helpful", "Answer yes or no."))
			return
		}
		a, err := p.DB.PublishedKBArticle(r.Context(), slug)
		if err != nil {
			fail(err)
			return
		}
		if _, err := p.DB.VoteKBArticle(r.Context(), a.ID, s.voterID(w, r), helpful); err != nil {
			fail(err)
			return
		}
		if r.Header.Get("HX-Request") == "true" {
			box.Thanks, box.Helpful = true, helpful
			s.render(w, r, http.StatusOK, portal.VoteContent(box))
			return
		}
		answer := "no"
		if helpful {
			answer = "yes"
		}
		http.Redirect(w, r, articlePath(a.Slug)+"?voted="+answer+"#kb-vote", http.StatusSeeOther)
	}
}

// searchHelp is the search page: published articles matching every word,
// with the matches marked.
func (s *Server) searchHelp(w http.ResponseWriter, r *http.Request, p *portalReq) {
	q := strings.Join(strings.Fields(r.URL.Query().Get("q")), " ")
	if utf8.RuneCountInString(q) > 200 {
		q = string([]rune(q)[:200])
	}
	locale, ok := app.NormalizeLocale(r.URL.Query().Get("locale"))
	if !ok {
		locale = ""
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), searchMaxPages)
	title := "Search"
	if q != "" {
		title = "Search results for “" + q + "”"
	}
	vm := portal.HelpSearchPage{Shell: p.shell(title, "", portal.SectionHelp), Query: q, Locale: locale, Searched: q != ""}
	vm.Shell.NoIndex = true
	vm.Shell.Locale = locale
	if q != "" {
		hits, err := p.DB.SearchKBArticles(r.Context(), q, locale, searchPageSize, (page-1)*searchPageSize)
		if err != nil {
			s.renderPortalError(w, r, p, err)
			return
		}
		for i, h := range hits {
			if i == searchPageSize {
				if page < searchMaxPages {
					vm.NextHref = searchHref(q, locale, page+1)
				}
				break
			}
			res := portal.SearchResult{Href: articlePath(h.Slug), Title: app.SplitMarks(h.TitleMarked), Snippet: app.SplitMarks(h.Snippet)}
			if h.Locale != locale {
				res.Lang = h.Locale
			}
			vm.Results = append(vm.Results, res)
		}
		if page > 1 {
			vm.PrevHref = searchHref(q, locale, page-1)
		}
	}
	s.render(w, r, http.StatusOK, portal.HelpSearch(vm))
}

func searchHref(q, locale string, page int) string {
	v := url.Values{"q": {q}}
	if locale != "" {
		v.Set("locale", locale)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/help/search?" + v.Encode()
}

// sitemap.xml, as search engines read it (sitemaps.org), with each
// article's translations as hreflang alternates.
type sitemapURLSet struct {
	XMLName xml.Name     `xml:"urlset"`
	NS      string       `xml:"xmlns,attr"`
	XHTML   string       `xml:"xmlns:xhtml,attr"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string        `xml:"loc"`
	LastMod string        `xml:"lastmod,omitempty"`
	Links   []sitemapLink `xml:"xhtml:link"`
}

type sitemapLink struct {
	Rel      string `xml:"rel,attr"`
	Hreflang string `xml:"hreflang,attr"`
	Href     string `xml:"href,attr"`
}

// showHelpSitemap lists the help center's public pages with absolute URLs.
func (s *Server) showHelpSitemap(w http.ResponseWriter, r *http.Request, p *portalReq) {
	entries, err := p.DB.KBSitemap(r.Context())
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	base, err := s.helpBase(r, p)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	set := sitemapURLSet{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", XHTML: "http://www.w3.org/1999/xhtml",
		URLs: []sitemapURL{{Loc: base + "/help"}}}
	for _, e := range entries {
		u := sitemapURL{LastMod: e.LastMod.UTC().Format(time.RFC3339)}
		if e.Kind == "category" {
			u.Loc = base + categoryPath(e.Slug)
		} else {
			u.Loc = base + articlePath(e.Slug)
			for _, alt := range e.Alternates {
				u.Links = append(u.Links, sitemapLink{Rel: "alternate", Hreflang: alt.Locale, Href: base + articlePath(alt.Slug)})
			}
		}
		set.URLs = append(set.URLs, u)
	}
	out, err := xml.MarshalIndent(set, "", "  ")
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write([]byte(xml.Header))
	w.Write(out)
}

// serveHelpFile serves an image uploaded for articles. Its address names
// it by id, so it never changes and may be cached for good; it is served
// as the type it was sniffed as, never sniffed again, and could not run
// anything if opened on its own.
func (s *Server) serveHelpFile(w http.ResponseWriter, r *http.Request, p *portalReq) {
	f, path, err := p.DB.KBFileByID(r.Context(), r.PathValue("id"))
	if err == nil && (r.PathValue("name") != f.Filename || app.KBImageTypes[f.ContentType] == "") {
		err = app.Errorf(app.ENOTFOUND, "File not found.")
	}
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	file, err := os.Open(path) // #nosec G703 -- path is the files directory joined with filepath.Base of a stored file's id
	if err != nil {
		s.renderPortalError(w, r, p, fmt.Errorf("open kb file %s: %w", f.ID, err))
		return
	}
	defer file.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.Filename}))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", f.CreatedAt, file)
}

// Vote throttle: an address may answer 10 times, then once every 10
// seconds; enough for a person reading several articles, not for a script
// skewing the counts.
var voteRate = limitRule{every: 10 * time.Second, burst: 10}
