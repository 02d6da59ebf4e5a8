// Package helpcenter renders the team's knowledge-base editor: the list of
// articles, the article form with its live preview, and the categories.
// The public help center itself is views/portal.
package helpcenter

import (
	"net/url"
	"strconv"

	"parley/app"
	"parley/views/layout"
	"parley/views/ui"
)

// Article statuses, as the list filters and badges name them.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
	StatusChanged   = "changed"
)

// Filter is the article list's filter as typed.
type Filter struct {
	Q        string
	Category string // a category id, "none" for articles in no category, "" for all
	Locale   string
	Status   string // StatusDraft, StatusPublished, StatusChanged or ""
}

// Active reports whether anything is filtered.
func (f Filter) Active() bool {
	return f.Q != "" || f.Category != "" || f.Locale != "" || f.Status != ""
}

// Query is the filter as URL parameters.
func (f Filter) Query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "category": f.Category, "locale": f.Locale, "status": f.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// ListPage is /help-center: the articles, filtered.
type ListPage struct {
	Shell   layout.Shell
	Tabs    Tabs
	Results Results
	// Categories and Locales fill the filter's choices.
	Categories []app.KBCategory
	Locales    []string
}

// Results is the list's table (swapped in as the filters change).
type Results struct {
	Filter Filter
	Rows   []Row
	// NextHref is the next page, empty on the last.
	NextHref string
	// Empty says the workspace has no article at all.
	Empty bool
	Error string
}

// Row is one article in the list.
type Row struct {
	ID        string
	Title     string
	Slug      string
	Category  string
	Locale    string
	Status    string
	Updated   string
	UpdatedBy string
	// PublicURL is the article on the help center, when published.
	PublicURL string
	Helpful   int
	Unhelpful int
}

// Tabs is the section's sub-navigation.
type Tabs struct {
	Current string // "articles" or "categories"
	// HelpURL opens the public help center.
	HelpURL string
}

// EditPage is the article form: new or existing.
type EditPage struct {
	Shell layout.Shell
	Tabs  Tabs
	// ArticleID is empty for a new article.
	ArticleID string
	// Form holds title, slug, description, category_id, locale,
	// translation_of and body_markdown as typed, errors by field (image
	// among them) and a message.
	Form       ui.Form
	Categories []app.KBCategory
	// LocaleChoices are suggested language codes.
	LocaleChoices []string
	// TranslationChoices are the articles a new one may translate.
	TranslationChoices []ui.Option
	Status             ArticleStatus
	Translations       []Translation
	CanPublish         bool
	// MovesLocked says the user may not change where a published article
	// lives (address, language, category).
	MovesLocked bool
	Preview     Preview
	// Notice is a one-off note above the form (an image was added).
	Notice string
}

// IsNew reports whether the form makes a new article.
func (p EditPage) IsNew() bool { return p.ArticleID == "" }

func (p EditPage) action() string {
	if p.IsNew() {
		return "/help-center/articles"
	}
	return "/help-center/articles/" + p.ArticleID
}

func (p EditPage) imageAction() string {
	if p.IsNew() {
		return "/help-center/articles/new/image"
	}
	return "/help-center/articles/" + p.ArticleID + "/image"
}

// ArticleStatus is where an article stands with the help center.
type ArticleStatus struct {
	Status      string // StatusDraft, StatusPublished or StatusChanged
	PublishedAt string
	// WasPublished says a draft was on the help center before.
	WasPublished bool
	PublicURL    string
	UpdatedAt    string
	UpdatedBy    string
	Helpful      int
	Unhelpful    int
	Title        string // the saved draft's title, for the delete confirmation
}

// Translation is another language of an article.
type Translation struct {
	Locale string
	Title  string
	Href   string
	Status string
}

// Preview is the rendered article as the help center will show it.
type Preview struct {
	Title string
	// HTML is the output of app.RenderMarkdown: sanitised, safe to insert.
	HTML string
}

// CategoriesPage lists the categories: create, rename, reorder, delete.
type CategoriesPage struct {
	Shell      layout.Shell
	Tabs       Tabs
	Categories []CategoryRow
	// Uncategorised counts the articles in no category.
	Uncategorised int
	NewForm       ui.Form
	CanManage     bool
}

// CategoryRow is one category with its rename form.
type CategoryRow struct {
	Category app.KBCategory
	Articles int
	First    bool
	Last     bool
	// Form holds a refused rename, which opens the row's form.
	Form ui.Form
	// PublicURL is the category's page on the help center.
	PublicURL string
}

// Feedback sums up the "Was this helpful?" answers.
func (r Row) Feedback() string {
	return strconv.Itoa(r.Helpful) + " helpful · " + strconv.Itoa(r.Unhelpful) + " not"
}

func statusBadge(status string) (colour, label string) {
	switch status {
	case StatusPublished:
		return "green", "Published"
	case StatusChanged:
		return "amber", "Changed since publish"
	}
	return "gray", "Draft"
}

func categoryName(cs []app.KBCategory, id string) string {
	for _, c := range cs {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
