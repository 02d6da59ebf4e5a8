package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"

	"parley/app"
	"parley/views/helpcenter"
	"parley/views/layout"
	"parley/views/ui"
)

// The team's knowledge-base editor at /help-center: the article list with
// its filters, the article form with a live preview (rendered by
// app.RenderMarkdown, so sanitised like the public page) and image upload,
// publishing, and the categories. Everyone who may edit articles writes
// drafts; publishing, unpublishing, deleting or moving a published article
// and managing categories change the public help center at once, so they
// need PermPublishArticles (leads and admins), checked here before anything
// is written. Deleting a category keeps its articles, in no category.

const (
	// kbListPage is how many articles the list shows at once.
	kbListPage = 50
	// maxKBForm bounds an article form: the text and one image.
	maxKBForm = app.MaxKBBody + app.MaxKBFileBytes + 64<<10
)

// commonLocales are offered when typing an article's language.
var commonLocales = []string{"en", "en-GB", "de", "fr", "es", "it", "nl", "pt", "pt-BR", "pl", "sv", "da", "nb", "fi", "cs", "tr", "ja", "zh-Hans"}

// errKBPublishForbidden answers a role that may write drafts but not
// change what the help center shows.
func errKBPublishForbidden() error {
	return app.Errorf(app.EFORBIDDEN, "Only leads and admins may publish, unpublish, delete or move a published article. Your draft was not saved; save it as a draft instead.")
}

func (s *Server) kbShell(r *http.Request, t *tenantReq, subtitle string, actions bool) layout.Shell {
	sh := s.shellFor(r, t, layout.SectionHelp, "Help center", subtitle)
	if actions {
		sh.Actions = helpcenter.NewArticleButton()
	}
	return sh
}

func (s *Server) kbTabs(t *tenantReq, current string) helpcenter.Tabs {
	return helpcenter.Tabs{Current: current, HelpURL: TenantURL(s.cfg, t.Tenant.Slug, "/help")}
}

// showHelpCenter lists the articles, filtered by category, language,
// status and words; htmx gets the table alone as the filters change.
func (s *Server) showHelpCenter(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ctx := r.Context()
	q := r.URL.Query()
	f := helpcenter.Filter{Q: strings.TrimSpace(q.Get("q")), Category: q.Get("category"), Locale: q.Get("locale"), Status: q.Get("status")}
	cats, err := t.DB.KBCategories(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	locales, err := t.DB.KBArticleLocales(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	res := helpcenter.Results{Filter: f}
	filter := app.KBArticleFilter{Query: f.Q, Cursor: q.Get("cursor"), Limit: kbListPage}
	switch {
	case f.Category == "none":
		none := ""
		filter.CategoryID = &none
	case f.Category != "":
		filter.CategoryID = &f.Category
	}
	if f.Locale != "" {
		filter.Locale = &f.Locale
	}
	var page app.KBArticlePage
	switch f.Status {
	case helpcenter.StatusChanged:
		page, err = t.DB.ListKBArticlesChanged(ctx, filter)
	case helpcenter.StatusDraft, helpcenter.StatusPublished:
		published := f.Status == helpcenter.StatusPublished
		filter.Published = &published
		fallthrough
	default:
		page, err = t.DB.ListKBArticles(ctx, filter)
	}
	if app.ErrorCode(err) == app.EINVALID {
		res.Error = "This page of the list no longer exists; start again from the first page."
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, a := range page.Articles {
		res.Rows = append(res.Rows, s.kbRow(t, a, cats))
	}
	if page.NextCursor != "" {
		next := f.Query()
		next.Set("cursor", page.NextCursor)
		res.NextHref = "/help-center?" + next.Encode()
	}
	if len(res.Rows) == 0 && res.Error == "" {
		res.Empty = !f.Active() && q.Get("cursor") == ""
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Target") == "kb-results" {
		s.render(w, r, http.StatusOK, helpcenter.ResultsBlock(res))
		return
	}
	s.render(w, r, http.StatusOK, helpcenter.List(helpcenter.ListPage{
		Shell: s.kbShell(r, t, "Articles your customers can read on their own.", true), Tabs: s.kbTabs(t, "articles"),
		Results: res, Categories: cats, Locales: locales}))
}

// kbStatus is an article's status as the editor names it.
func kbStatus(a app.KBArticle) string {
	switch {
	case !a.Published:
		return helpcenter.StatusDraft
	case a.HasChanges():
		return helpcenter.StatusChanged
	}
	return helpcenter.StatusPublished
}

func (s *Server) kbRow(t *tenantReq, a app.KBArticle, cats []app.KBCategory) helpcenter.Row {
	row := helpcenter.Row{ID: a.ID, Title: a.Title(), Slug: a.Slug, Locale: a.Locale, Status: kbStatus(a),
		Updated: ui.FormatDate(a.UpdatedAt), UpdatedBy: a.UpdatedBy, Helpful: a.HelpfulVotes, Unhelpful: a.UnhelpfulVotes}
	for _, c := range cats {
		if c.ID == a.CategoryID {
			row.Category = c.Name
		}
	}
	if a.Published {
		row.PublicURL = TenantURL(s.cfg, t.Tenant.Slug, articlePath(a.Slug))
	}
	return row
}

// ---------- The article form ----------

// removeMultipart deletes the temporary files of a multipart form.
func removeMultipart(r *http.Request) {
	if r.MultipartForm != nil {
		r.MultipartForm.RemoveAll()
	}
}

// kbFormFields are the article form's text fields.
var kbFormFields = []string{"title", "slug", "description", "category_id", "locale", "translation_of", "body_markdown"}

func kbArticleForm(a app.KBArticle) ui.Form {
	return ui.Form{Values: map[string]string{"title": a.Draft.Title, "slug": a.Slug, "description": a.Draft.Description,
		"category_id": a.CategoryID, "locale": a.Locale, "body_markdown": a.Draft.BodyMarkdown}}
}

// parseKBForm reads an article form (multipart, as it may carry an image).
func parseKBForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxKBForm)
	err := r.ParseMultipartForm(1 << 20) // #nosec G120 -- the body is capped by http.MaxBytesReader on the line above
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return app.InvalidField("image", "The form is too large: an image is at most 5 MB and an article 200 KB.")
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		return app.Errorf(app.EINVALID, "The form could not be read; please try again.")
	}
	return nil
}

func (s *Server) showNewArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := ui.Form{Values: map[string]string{"locale": app.DefaultKBLocale}}
	if id := r.URL.Query().Get("translation_of"); id != "" {
		src, err := t.DB.KBArticleByID(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		// The original's text to translate, in its category.
		form.Values = map[string]string{"translation_of": src.ID, "category_id": src.CategoryID, "title": src.Draft.Title,
			"body_markdown": src.Draft.BodyMarkdown, "description": src.Draft.Description, "locale": ""}
	}
	s.renderArticleForm(w, r, t, http.StatusOK, nil, form, "")
}

func (s *Server) showArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	a, err := t.DB.KBArticleByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderArticleForm(w, r, t, http.StatusOK, &a, kbArticleForm(a), "")
}

// renderArticleForm shows the form for a (nil for a new article) with the
// values typed.
func (s *Server) renderArticleForm(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, a *app.KBArticle,
	form ui.Form, notice string) {
	ctx := r.Context()
	cats, err := t.DB.KBCategories(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	used, err := t.DB.KBArticleLocales(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	html, _ := app.RenderMarkdown(form.Value("body_markdown"))
	title := "New article"
	p := helpcenter.EditPage{Tabs: s.kbTabs(t, "articles"), Form: form, Categories: cats, CanPublish: t.User.Can(app.PermPublishArticles),
		LocaleChoices: mergeLocales(used, commonLocales), Notice: notice,
		Preview: helpcenter.Preview{Title: strings.TrimSpace(form.Value("title")), HTML: html}}
	if a == nil {
		page, err := t.DB.ListKBArticles(ctx, app.KBArticleFilter{Limit: 200})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, o := range page.Articles {
			p.TranslationChoices = append(p.TranslationChoices, ui.Option{Value: o.ID, Label: o.Title() + " (" + o.Locale + ")"})
		}
	} else {
		title = a.Title()
		p.ArticleID = a.ID
		p.MovesLocked = a.Published && !p.CanPublish
		p.Status = helpcenter.ArticleStatus{Status: kbStatus(*a), WasPublished: a.FirstPublishedAt != nil,
			UpdatedAt: ui.FormatTime(a.UpdatedAt), UpdatedBy: a.UpdatedBy, Helpful: a.HelpfulVotes, Unhelpful: a.UnhelpfulVotes,
			Title: a.Title()}
		if a.PublishedAt != nil {
			p.Status.PublishedAt = ui.FormatTime(*a.PublishedAt)
		}
		if a.Published {
			p.Status.PublicURL = TenantURL(s.cfg, t.Tenant.Slug, articlePath(a.Slug))
		}
		group, err := t.DB.KBTranslations(ctx, a.TranslationGroup)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, o := range group {
			if o.ID != a.ID {
				p.Translations = append(p.Translations, helpcenter.Translation{Locale: o.Locale, Title: o.Title(),
					Href: "/help-center/articles/" + o.ID, Status: kbStatus(o)})
			}
		}
	}
	p.Shell = s.kbShell(r, t, title, false)
	s.render(w, r, status, helpcenter.Edit(p))
}

// mergeLocales lists used, then the common locales not used yet.
func mergeLocales(used, common []string) []string {
	out := slices.Clone(used)
	for _, l := range common {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// refuseArticle shows the form again with what was typed and err.
func (s *Server) refuseArticle(w http.ResponseWriter, r *http.Request, t *tenantReq, a *app.KBArticle, err error) {
	s.logIfInternal(r, err)
	if !isFormError(err) && app.ErrorCode(err) != app.EFORBIDDEN {
		s.renderError(w, r, err)
		return
	}
	form := withError(formFrom(r, kbFormFields...), err)
	if a != nil && !r.PostForm.Has("slug") {
		// A locked published article's filing is not in the form.
		form.Values["slug"], form.Values["locale"], form.Values["category_id"] = a.Slug, a.Locale, a.CategoryID
	}
	s.renderArticleForm(w, r, t, errorStatus(err), a, form, "")
}

func (s *Server) createArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := parseKBForm(w, r); err != nil {
		s.refuseArticle(w, r, t, nil, err)
		return
	}
	defer removeMultipart(r)
	publish := r.PostFormValue("action") == "publish"
	if publish && !t.User.Can(app.PermPublishArticles) {
		s.refuseArticle(w, r, t, nil, errKBPublishForbidden())
		return
	}
	a, err := t.DB.CreateKBArticle(r.Context(), app.KBArticleInput{Title: r.PostFormValue("title"), BodyMarkdown: r.PostFormValue("body_markdown"),
		Description: r.PostFormValue("description"), CategoryID: r.PostFormValue("category_id"), Locale: r.PostFormValue("locale"),
		Slug: r.PostFormValue("slug"), TranslationOf: r.PostFormValue("translation_of"), Published: publish}, t.actor())
	if err != nil {
		s.refuseArticle(w, r, t, nil, err)
		return
	}
	if publish {
		s.flash(r, ui.AlertSuccess, "Article published: it is on the help center now.")
	} else {
		s.flash(r, ui.AlertSuccess, "Draft saved. It is not on the help center until it is published.")
	}
	redirect(w, r, "/help-center/articles/"+a.ID)
}

func (s *Server) saveArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	old, err := t.DB.KBArticleByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := parseKBForm(w, r); err != nil {
		s.refuseArticle(w, r, t, &old, err)
		return
	}
	defer removeMultipart(r)
	u := app.KBArticleUpdate{}
	for field, dst := range map[string]**string{"title": &u.Title, "body_markdown": &u.BodyMarkdown, "description": &u.Description,
		"slug": &u.Slug, "locale": &u.Locale, "category_id": &u.CategoryID} {
		if r.PostForm.Has(field) {
			v := r.PostForm.Get(field)
			*dst = &v
		}
	}
	publish := r.PostFormValue("action") == "publish"
	if publish {
		u.Published = &publish
	}
	if !t.User.Can(app.PermPublishArticles) {
		moves := u.Slug != nil && strings.ToLower(strings.TrimSpace(*u.Slug)) != old.Slug ||
			u.Locale != nil && !sameLocale(*u.Locale, old.Locale) || u.CategoryID != nil && strings.TrimSpace(*u.CategoryID) != old.CategoryID
		if publish || (old.Published && moves) {
			s.refuseArticle(w, r, t, &old, errKBPublishForbidden())
			return
		}
	}
	a, err := t.DB.UpdateKBArticle(r.Context(), old.ID, u, t.actor())
	if err != nil {
		s.refuseArticle(w, r, t, &old, err)
		return
	}
	switch {
	case publish:
		s.flash(r, ui.AlertSuccess, "Article published: the help center shows this version now.")
	case a.Published:
		s.flash(r, ui.AlertSuccess, "Draft saved. The help center still shows the published version until you publish.")
	default:
		s.flash(r, ui.AlertSuccess, "Draft saved.")
	}
	redirect(w, r, "/help-center/articles/"+a.ID)
}

func sameLocale(typed, old string) bool {
	l, _ := app.NormalizeLocale(typed)
	return l == old
}

// uploadArticleImage stores an image and adds it at the end of the text
// typed, then shows the form again: nothing else is saved, so the form is
// exactly as it was, plus the image.
func (s *Server) uploadArticleImage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var a *app.KBArticle
	if id := r.PathValue("id"); id != "" {
		old, err := t.DB.KBArticleByID(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		a = &old
	}
	if err := parseKBForm(w, r); err != nil {
		s.refuseArticle(w, r, t, a, err)
		return
	}
	defer removeMultipart(r)
	form := formFrom(r, kbFormFields...)
	if a != nil && !r.PostForm.Has("slug") {
		form.Values["slug"], form.Values["locale"], form.Values["category_id"] = a.Slug, a.Locale, a.CategoryID
	}
	var fhs []*multipart.FileHeader
	if r.MultipartForm != nil {
		fhs = r.MultipartForm.File["image"]
	}
	if len(fhs) == 0 || (fhs[0].Filename == "" && fhs[0].Size == 0) {
		form.Errors["image"] = "Choose an image to upload first."
		s.renderArticleForm(w, r, t, http.StatusUnprocessableEntity, a, form, "")
		return
	}
	f, err := fhs[0].Open()
	if err != nil {
		form.Errors["image"] = "The image could not be read; please choose it again."
		s.renderArticleForm(w, r, t, http.StatusUnprocessableEntity, a, form, "")
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, app.MaxKBFileBytes+1))
	f.Close()
	if err != nil {
		form.Errors["image"] = "The image could not be read; please choose it again."
		s.renderArticleForm(w, r, t, http.StatusUnprocessableEntity, a, form, "")
		return
	}
	file, err := t.DB.UploadKBFile(r.Context(), app.Upload{Filename: fhs[0].Filename, Data: data}, t.actor())
	if isFormError(err) {
		form.Errors["image"] = app.ErrorMessage(err)
		s.renderArticleForm(w, r, t, http.StatusUnprocessableEntity, a, form, "")
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	alt := strings.Join(strings.Fields(r.PostFormValue("image_alt")), " ")
	if alt == "" {
		alt = strings.TrimSuffix(file.Filename, path.Ext(file.Filename))
	}
	body := strings.TrimRight(form.Value("body_markdown"), "\n ")
	if body != "" {
		body += "\n\n"
	}
	form.Values["body_markdown"] = body + "![" + markdownAltText(alt) + "](" + file.URL() + ")\n"
	s.renderArticleForm(w, r, t, http.StatusOK, a, form,
		"Image uploaded and added at the end of the article. Move it where it belongs, then save.")
}

// markdownAltText keeps an image description from closing its brackets.
func markdownAltText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// previewArticle renders the text typed as the help center will show it
// (htmx, as the editor types).
func (s *Server) previewArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	r.Body = http.MaxBytesReader(w, r.Body, app.MaxKBBody+64<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusOK, helpcenter.PreviewBody(helpcenter.Preview{Title: "The article is too long to preview."}))
		return
	}
	html, _ := app.RenderMarkdown(r.PostFormValue("body_markdown"))
	s.render(w, r, http.StatusOK, helpcenter.PreviewBody(helpcenter.Preview{
		Title: strings.Join(strings.Fields(r.PostFormValue("title")), " "), HTML: html}))
}

func (s *Server) unpublishArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	a, err := t.DB.UnpublishKBArticle(r.Context(), r.PathValue("id"), t.actor())
	if err != nil {
		s.kbActionFailed(w, r, "/help-center/articles/"+r.PathValue("id"), err)
		return
	}
	s.flash(r, ui.AlertSuccess, "“"+a.Title()+"” is off the help center. Its draft is kept; publish it again whenever you like.")
	redirect(w, r, "/help-center/articles/"+a.ID)
}

func (s *Server) deleteArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	a, err := t.DB.KBArticleByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if a.Published && !t.User.Can(app.PermPublishArticles) {
		s.renderError(w, r, errKBPublishForbidden())
		return
	}
	if err := t.DB.DeleteKBArticle(r.Context(), a.ID, t.actor()); err != nil {
		s.kbActionFailed(w, r, "/help-center/articles/"+a.ID, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "“"+a.Title()+"” was deleted.")
	redirect(w, r, "/help-center")
}

// kbActionFailed shows a refused action on the page it came from, or the
// error page for anything else.
func (s *Server) kbActionFailed(w http.ResponseWriter, r *http.Request, back string, err error) {
	if !isFormError(err) {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertError, app.ErrorMessage(err))
	redirect(w, r, back)
}

// ---------- Categories ----------

func (s *Server) showKBCategories(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderKBCategories(w, r, t, http.StatusOK, ui.Form{}, "", ui.Form{})
}

// renderKBCategories shows the categories; editID's row shows edit (a
// refused rename), newForm a refused new category.
func (s *Server) renderKBCategories(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, newForm ui.Form,
	editID string, edit ui.Form) {
	ctx := r.Context()
	cats, err := t.DB.KBCategories(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	counts, err := t.DB.KBCategoryArticleCounts(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := helpcenter.CategoriesPage{Shell: s.kbShell(r, t, "Topics that group the articles on your help center.", true),
		Tabs: s.kbTabs(t, "categories"), NewForm: newForm, CanManage: t.User.Can(app.PermPublishArticles), Uncategorised: counts[""]}
	for i, c := range cats {
		row := helpcenter.CategoryRow{Category: c, Articles: counts[c.ID], First: i == 0, Last: i == len(cats)-1,
			PublicURL: TenantURL(s.cfg, t.Tenant.Slug, categoryPath(c.Slug))}
		if c.ID == editID {
			row.Form = edit
		}
		p.Categories = append(p.Categories, row)
	}
	s.render(w, r, status, helpcenter.Categories(p))
}

func (s *Server) createKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, err := t.DB.CreateKBCategory(r.Context(), app.KBCategoryInput{Name: r.PostFormValue("name"),
		Description: r.PostFormValue("description"), Slug: r.PostFormValue("slug")}, t.actor())
	if isFormError(err) {
		s.renderKBCategories(w, r, t, errorStatus(err), withError(formFrom(r, "name", "description", "slug"), err), "", ui.Form{})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Category “"+c.Name+"” added at the end.")
	redirect(w, r, "/help-center/categories")
}

func (s *Server) saveKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	name, desc, slug := r.PostFormValue("name"), r.PostFormValue("description"), r.PostFormValue("slug")
	c, err := t.DB.UpdateKBCategory(r.Context(), id, app.KBCategoryUpdate{Name: &name, Description: &desc, Slug: &slug}, t.actor())
	if isFormError(err) {
		s.renderKBCategories(w, r, t, errorStatus(err), ui.Form{}, id, withError(formFrom(r, "name", "description", "slug"), err))
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Category “"+c.Name+"” saved.")
	redirect(w, r, "/help-center/categories")
}

// moveKBCategory swaps a category with its neighbour above or below.
func (s *Server) moveKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	cats, err := t.DB.KBCategories(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	ids := make([]string, len(cats))
	at := -1
	for i, c := range cats {
		ids[i] = c.ID
		if c.ID == r.PathValue("id") {
			at = i
		}
	}
	if at < 0 {
		s.renderError(w, r, app.Errorf(app.ENOTFOUND, "Category not found."))
		return
	}
	to := at - 1
	if r.PostFormValue("direction") == "down" {
		to = at + 1
	}
	if to >= 0 && to < len(ids) {
		ids[at], ids[to] = ids[to], ids[at]
		if err := t.DB.ReorderKBCategories(r.Context(), ids, t.actor()); err != nil {
			s.kbActionFailed(w, r, "/help-center/categories", err)
			return
		}
	}
	redirect(w, r, "/help-center/categories")
}

func (s *Server) deleteKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, err := t.DB.KBCategoryByID(r.Context(), r.PathValue("id"))
	if err == nil {
		err = t.DB.DeleteKBCategory(r.Context(), c.ID, t.actor())
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Category “"+c.Name+"” deleted; its articles are now in no category.")
	redirect(w, r, "/help-center/categories")
}
