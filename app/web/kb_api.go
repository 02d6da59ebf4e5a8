package web

import (
	"net/http"
	"time"

	"parley/app"
)

// The knowledge base API: /api/v1/kb/categories and /api/v1/kb/articles.
// Writing drafts needs PermEditArticles; anything that changes the public
// help center at once (publishing or unpublishing, deleting or moving a
// published article, categories) needs PermPublishArticles, checked before
// anything is written. openapi.json describes each shape here.

// kbArticleResource is an article as the API shows it: the draft at the
// top level, the published version under published_version.
type kbArticleResource struct {
	ID               string          `json:"id"`
	TranslationGroup string          `json:"translation_group"`
	Locale           string          `json:"locale"`
	Slug             string          `json:"slug"`
	CategoryID       *string         `json:"category_id"`
	Title            string          `json:"title"`
	Description      string          `json:"description"`
	BodyMarkdown     string          `json:"body_markdown"`
	Published        bool            `json:"published"`
	PublishedVersion *app.KBContent  `json:"published_version"`
	HasChanges       bool            `json:"has_unpublished_changes"`
	URL              *string         `json:"url"`
	FirstPublishedAt *time.Time      `json:"first_published_at"`
	PublishedAt      *time.Time      `json:"published_at"`
	Votes            kbVoteCountsRes `json:"votes"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	UpdatedBy        string          `json:"updated_by"`
}

type kbVoteCountsRes struct {
	Helpful   int `json:"helpful"`
	Unhelpful int `json:"unhelpful"`
}

func kbArticleResourceOf(base string, a app.KBArticle) kbArticleResource {
	out := kbArticleResource{ID: a.ID, TranslationGroup: a.TranslationGroup, Locale: a.Locale, Slug: a.Slug,
		Title: a.Draft.Title, Description: a.Draft.Description, BodyMarkdown: a.Draft.BodyMarkdown,
		Published: a.Published, HasChanges: a.HasChanges(), FirstPublishedAt: a.FirstPublishedAt,
		PublishedAt: a.PublishedAt, Votes: kbVoteCountsRes{a.HelpfulVotes, a.UnhelpfulVotes},
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, UpdatedBy: a.UpdatedBy}
	if a.CategoryID != "" {
		out.CategoryID = &a.CategoryID
	}
	if a.PublishedAt != nil {
		live := a.Live
		out.PublishedVersion = &live
	}
	if a.Published {
		u := base + articlePath(a.Slug)
		out.URL = &u
	}
	return out
}

// kbBase is the origin of public URLs in API answers.
func (s *Server) kbBase(r *http.Request, t *tenantReq) (string, error) {
	return s.helpBase(r, &portalReq{Tenant: t.Tenant})
}

func (s *Server) writeKBArticle(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, a app.KBArticle) {
	base, err := s.kbBase(r, t)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, status, kbArticleResourceOf(base, a))
}

// kbArticleList is one page of GET /api/v1/kb/articles, newest first.
type kbArticleList struct {
	Data       []kbArticleResource `json:"data"`
	NextCursor *string             `json:"next_cursor"`
}

// kbCategoryList is the answer of GET /api/v1/kb/categories, in order.
type kbCategoryList struct {
	Data []app.KBCategory `json:"data"`
}

// errPublishForbidden is the answer to a role that may write drafts but
// not change the public help center.
func errPublishForbidden() error {
	return app.Errorf(app.EFORBIDDEN, "Only leads and admins may change what the help center shows (publish, unpublish, delete or move a published article, edit categories).")
}

func (s *Server) apiListKBArticles(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f := app.KBArticleFilter{Query: q.Get("q"), Cursor: q.Get("cursor")}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the query parameters."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	if q.Has("category_id") {
		v := q.Get("category_id")
		if v == "none" {
			v = ""
		}
		f.CategoryID = &v
	}
	if v := q.Get("locale"); v != "" {
		l, ok := app.NormalizeLocale(v)
		if !ok {
			fail("locale", "Enter a language code such as en, de or pt-BR.")
		}
		f.Locale = &l
	}
	switch q.Get("published") {
	case "":
	case "true":
		f.Published = new(bool)
		*f.Published = true
	case "false":
		f.Published = new(bool)
	default:
		fail("published", "Enter true or false.")
	}
	var ok bool
	if f.Limit, ok = limitFrom(q.Get("limit"), 50); !ok {
		fail("limit", limitMessage)
	}
	if err := e.OrNil(); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	page, err := t.DB.ListKBArticles(r.Context(), f)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	base, err := s.kbBase(r, t)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := kbArticleList{Data: make([]kbArticleResource, len(page.Articles))}
	for i, a := range page.Articles {
		out.Data[i] = kbArticleResourceOf(base, a)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiGetKBArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	a, err := t.DB.KBArticleByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writeKBArticle(w, r, t, http.StatusOK, a)
}

func (s *Server) apiCreateKBArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.KBArticleInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if in.Published && !t.can(app.PermPublishArticles) {
		s.writeAPIError(w, r, errPublishForbidden())
		return
	}
	a, err := t.DB.CreateKBArticle(r.Context(), in, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/kb/articles/"+a.ID)
	s.writeKBArticle(w, r, t, http.StatusCreated, a)
}

func (s *Server) apiUpdateKBArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var u app.KBArticleUpdate
	if err := decodeBody(w, r, &u); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if err := u.Normalize(); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if !t.can(app.PermPublishArticles) {
		old, err := t.DB.KBArticleByID(r.Context(), id)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		// Where a published article lives is public at once: its address,
		// language and category are not part of the draft.
		moves := u.Slug != nil && *u.Slug != old.Slug || u.Locale != nil && *u.Locale != old.Locale ||
			u.CategoryID != nil && *u.CategoryID != old.CategoryID
		if u.Published != nil || (old.Published && moves) {
			s.writeAPIError(w, r, errPublishForbidden())
			return
		}
	}
	a, err := t.DB.UpdateKBArticle(r.Context(), id, u, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writeKBArticle(w, r, t, http.StatusOK, a)
}

func (s *Server) apiDeleteKBArticle(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	a, err := t.DB.KBArticleByID(r.Context(), id)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if a.Published && !t.can(app.PermPublishArticles) {
		s.writeAPIError(w, r, errPublishForbidden())
		return
	}
	if err := t.DB.DeleteKBArticle(r.Context(), id, t.actor()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiListKBCategories(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	cs, err := t.DB.KBCategories(r.Context())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, kbCategoryList{Data: nonNil(cs)})
}

func (s *Server) apiGetKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, err := t.DB.KBCategoryByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiCreateKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.KBCategoryInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	c, err := t.DB.CreateKBCategory(r.Context(), in, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/kb/categories/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiUpdateKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var u app.KBCategoryUpdate
	if err := decodeBody(w, r, &u); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	c, err := t.DB.UpdateKBCategory(r.Context(), r.PathValue("id"), u, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) apiDeleteKBCategory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteKBCategory(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
