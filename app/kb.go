package app

import (
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The knowledge base: the help center's categories and articles. An
// article is written as a draft; publishing copies the draft to the
// published version, which is the only thing the public help center shows.
// Editing a published article changes its draft until it is published
// again. Translations of an article share its TranslationGroup, one
// article per locale.

// KBCategory groups articles on the help center, in the team's order.
type KBCategory struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Position    int       `json:"position"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// KBContent is one version of an article's text: the draft or the
// published one.
type KBContent struct {
	Title string `json:"title"`
	// Description is the article's summary for search engines and lists;
	// empty means the start of its text.
	Description  string `json:"description"`
	BodyMarkdown string `json:"body_markdown"`
}

// KBArticle is an article as the team sees it: its draft and, once
// published, its published version.
type KBArticle struct {
	ID string
	// TranslationGroup is shared by an article and its translations (it is
	// the id of the article first written).
	TranslationGroup string
	Locale           string // BCP 47: "en", "de", "pt-BR"
	Slug             string // the last part of its public URL, unique in the workspace
	CategoryID       string // "" when in no category
	Draft            KBContent
	// Live is the published version: what the help center shows while
	// Published. It stays after unpublishing, so publishing again shows
	// the draft as it is then.
	Live      KBContent
	Published bool
	// FirstPublishedAt is when the article was first published;
	// PublishedAt when it was last published. Nil when never.
	FirstPublishedAt *time.Time
	PublishedAt      *time.Time
	HelpfulVotes     int
	UnhelpfulVotes   int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	UpdatedBy        string // who last changed it, by name
}

// Title is the title to show the team: the draft's.
func (a *KBArticle) Title() string { return a.Draft.Title }

// HasChanges reports whether the draft differs from what the help center
// shows: an unpublished article, or a published one edited since.
func (a *KBArticle) HasChanges() bool { return !a.Published || a.Draft != a.Live }

// KBArticleRef is a published article as lists and links show it.
type KBArticleRef struct {
	ID          string
	Slug        string
	Locale      string
	CategoryID  string
	Title       string
	Description string // the published description, or the start of the text
	PublishedAt time.Time
}

// KBPublicArticle is a published article ready for its page.
type KBPublicArticle struct {
	KBArticleRef
	TranslationGroup string
	// HTML is the sanitised published body (see RenderMarkdown).
	HTML           string
	Headings       []Heading
	Text           string
	HelpfulVotes   int
	UnhelpfulVotes int
}

// KBSearchHit is a published article that matched a search. TitleMarked
// and Snippet carry MarkStart/MarkEnd around the matches (see SplitMarks).
type KBSearchHit struct {
	KBArticleRef
	TitleMarked string
	Snippet     string
}

// KBHelpCenter is the front page of a help center in one locale: the
// categories that have articles in it, in order, and the articles in no
// category. Articles have only ID, Slug, Locale, CategoryID and Title.
type KBHelpCenter struct {
	Locale        string
	Locales       []string // every locale with a published article
	Categories    []KBCategoryArticles
	Uncategorised KBCategoryArticles // its Category is the zero value
}

// KBCategoryArticles is a category with its published articles in one
// locale (on the front page, the first few of them by title).
type KBCategoryArticles struct {
	Category KBCategory
	Articles []KBArticleRef
	// Total is how many published articles the category has in the locale.
	Total int
}

// KBSitemapEntry is one public page of the help center for sitemap.xml.
type KBSitemapEntry struct {
	Kind       string // "article" or "category"
	Slug       string
	Locale     string
	Group      string // an article's translation group
	LastMod    time.Time
	Alternates []KBArticleRef // an article's published translations, itself included
}

// KBFile is an image uploaded for articles, public at URL().
type KBFile struct {
	ID          string    `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// URL is the file's public path on the help center, to use in Markdown.
func (f KBFile) URL() string { return "/help/files/" + f.ID + "/" + url.PathEscape(f.Filename) }

// KBVote is the outcome of a "Was this helpful?" answer.
type KBVote struct {
	Helpful        bool
	HelpfulVotes   int
	UnhelpfulVotes int
	// Changed is false when the visitor had already given this answer.
	Changed bool
}

// Limits of the knowledge base.
const (
	MaxKBTitle       = 200
	MaxKBDescription = 300
	MaxKBBody        = 200 << 10 // bytes of Markdown
	MaxKBSlug        = 100
	MaxKBCategory    = 100
	MaxKBFileBytes   = 5 << 20
	// DefaultKBLocale is an article's locale when none is given.
	DefaultKBLocale = "en"
)

// KBImageTypes are the images the help center accepts, by sniffed type.
// SVG is not among them: it can carry script.
var KBImageTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}

// KBCategoryInput is a category as the editor or the API gives it.
type KBCategoryInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Slug is derived from the name when empty.
	Slug string `json:"slug"`
}

// Normalize trims the input and checks it, naming every bad field.
func (in *KBCategoryInput) Normalize() error {
	e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	switch {
	case in.Name == "":
		e.Fields = append(e.Fields, FieldError{"name", "Give the category a name."})
	case utf8.RuneCountInString(in.Name) > MaxKBCategory || hasControl(in.Name, false):
		e.Fields = append(e.Fields, FieldError{"name", "A category name is at most 100 characters, on one line."})
	}
	in.Description = strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(in.Description) > MaxKBDescription || hasControl(in.Description, true) {
		e.Fields = append(e.Fields, FieldError{"description", "A description is at most 300 characters."})
	}
	if fe := normalizeSlug(&in.Slug); fe != nil {
		e.Fields = append(e.Fields, *fe)
	}
	return e.OrNil()
}

// KBCategoryUpdate changes a category; nil fields stay as they are.
type KBCategoryUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Slug        *string `json:"slug"`
}

// KBArticleInput is a new article as the editor or the API gives it.
type KBArticleInput struct {
	Title        string `json:"title"`
	BodyMarkdown string `json:"body_markdown"`
	Description  string `json:"description"`
	// CategoryID is "" for no category.
	CategoryID string `json:"category_id"`
	// Locale defaults to DefaultKBLocale.
	Locale string `json:"locale"`
	// Slug is derived from the title when empty (and made unique).
	Slug string `json:"slug"`
	// TranslationOf is the id of the article this one translates.
	TranslationOf string `json:"translation_of"`
	// Published publishes the article as it is created (the caller checks
	// PermPublishArticles).
	Published bool `json:"published"`
}

// Normalize trims the input, fills in the defaults and checks it, naming
// every bad field.
func (in *KBArticleInput) Normalize() error {
	e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	in.Title = strings.Join(strings.Fields(in.Title), " ")
	if in.Locale == "" {
		in.Locale = DefaultKBLocale
	}
	in.CategoryID, in.TranslationOf = strings.TrimSpace(in.CategoryID), strings.TrimSpace(in.TranslationOf)
	for _, fe := range []*FieldError{checkKBTitle(&in.Title), checkKBBody(&in.BodyMarkdown),
		checkKBDescription(&in.Description), checkLocale(&in.Locale), normalizeSlug(&in.Slug)} {
		if fe != nil {
			e.Fields = append(e.Fields, *fe)
		}
	}
	if in.Published && in.BodyMarkdown == "" {
		e.Fields = append(e.Fields, FieldError{"body_markdown", "Write the article before publishing it."})
	}
	return e.OrNil()
}

// KBArticleUpdate changes an article's draft and where it is filed; nil
// fields stay as they are. Published, when set, publishes the draft (true)
// or takes the article off the help center (false) in the same change.
type KBArticleUpdate struct {
	Title        *string `json:"title"`
	BodyMarkdown *string `json:"body_markdown"`
	Description  *string `json:"description"`
	// CategoryID "" takes the article out of its category.
	CategoryID *string `json:"category_id"`
	Locale     *string `json:"locale"`
	Slug       *string `json:"slug"`
	Published  *bool   `json:"published"`
}

// Normalize trims the fields that are set and checks them.
func (u *KBArticleUpdate) Normalize() error {
	e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	add := func(fe *FieldError) {
		if fe != nil {
			e.Fields = append(e.Fields, *fe)
		}
	}
	if u.Title != nil {
		*u.Title = strings.Join(strings.Fields(*u.Title), " ")
		add(checkKBTitle(u.Title))
	}
	if u.BodyMarkdown != nil {
		add(checkKBBody(u.BodyMarkdown))
	}
	if u.Description != nil {
		add(checkKBDescription(u.Description))
	}
	if u.CategoryID != nil {
		*u.CategoryID = strings.TrimSpace(*u.CategoryID)
	}
	if u.Locale != nil {
		add(checkLocale(u.Locale))
	}
	if u.Slug != nil {
		if *u.Slug = strings.TrimSpace(*u.Slug); *u.Slug == "" {
			add(&FieldError{"slug", "Enter the article's address, for example reset-your-password."})
		} else {
			add(normalizeSlug(u.Slug))
		}
	}
	return e.OrNil()
}

// Apply returns a's draft and filing with u applied (u normalised).
func (u *KBArticleUpdate) Apply(a KBArticle) KBArticle {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.Draft.Title, u.Title)
	set(&a.Draft.BodyMarkdown, u.BodyMarkdown)
	set(&a.Draft.Description, u.Description)
	set(&a.CategoryID, u.CategoryID)
	set(&a.Locale, u.Locale)
	set(&a.Slug, u.Slug)
	return a
}

func checkKBTitle(title *string) *FieldError {
	switch {
	case *title == "":
		return &FieldError{"title", "Give the article a title."}
	case utf8.RuneCountInString(*title) > MaxKBTitle || hasControl(*title, false):
		return &FieldError{"title", "A title is at most 200 characters, on one line."}
	}
	return nil
}

func checkKBBody(body *string) *FieldError {
	*body = strings.TrimSpace(strings.ReplaceAll(*body, "\r\n", "\n"))
	switch {
	case len(*body) > MaxKBBody:
		return &FieldError{"body_markdown", "An article is at most 200 KB of Markdown; split it into several."}
	case !utf8.ValidString(*body) || hasControl(*body, true):
		return &FieldError{"body_markdown", "The text holds characters that are not allowed (control characters or invalid UTF-8)."}
	}
	return nil
}

func checkKBDescription(d *string) *FieldError {
	*d = strings.Join(strings.Fields(*d), " ")
	if utf8.RuneCountInString(*d) > MaxKBDescription || hasControl(*d, false) {
		return &FieldError{"description", "A description is at most 300 characters."}
	}
	return nil
}

// localePattern is a BCP 47 language tag as help centers use them: a
// language, optionally a script and a region ("en", "pt-BR", "zh-Hant-TW").
var localePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`)

// NormalizeLocale puts a language tag in its usual case ("PT-br" is
// "pt-BR", "_" is "-") and reports whether it is one.
func NormalizeLocale(s string) (string, bool) {
	parts := strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"), "-")
	for i, p := range parts {
		switch {
		case i == 0:
			parts[i] = strings.ToLower(p)
		case len(p) == 4:
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		default:
			parts[i] = strings.ToUpper(p)
		}
	}
	out := strings.Join(parts, "-")
	return out, localePattern.MatchString(out)
}

func checkLocale(l *string) *FieldError {
	norm, ok := NormalizeLocale(*l)
	if !ok {
		return &FieldError{"locale", "Enter a language code such as en, de or pt-BR."}
	}
	*l = norm
	return nil
}

// kbSlugPattern is a URL slug: lower-case ASCII words joined by dashes.
var kbSlugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// normalizeSlug lower-cases a slug the team typed and checks it; an
// empty one is left for the store to derive.
func normalizeSlug(s *string) *FieldError {
	*s = strings.ToLower(strings.TrimSpace(*s))
	if *s == "" {
		return nil
	}
	if len(*s) > MaxKBSlug || !kbSlugPattern.MatchString(*s) {
		return &FieldError{"slug", "Use lower-case letters, digits and dashes (at most 100), for example reset-your-password."}
	}
	return nil
}

// KBSlug derives a URL slug from a title: "Reset your password!" becomes
// "reset-your-password". A title with no Latin letters or digits gives
// fallback.
func KBSlug(title, fallback string) string {
	if s := Slugify(title, false, 80); s != "" {
		return s
	}
	return fallback
}

// KBArticleFilter selects articles for the team's lists and the API. Nil
// fields do not filter. Cursor is the NextCursor of the previous page.
type KBArticleFilter struct {
	// CategoryID "" selects the articles in no category.
	CategoryID *string
	Locale     *string
	Published  *bool
	// Query matches words of the draft's title or text.
	Query  string
	Cursor string
	Limit  int
}

// KBArticlePage is one page of articles, newest first.
type KBArticlePage struct {
	Articles []KBArticle
	// NextCursor fetches the next page; empty on the last.
	NextCursor string
}

// CheckKBImage sniffs an image uploaded for the help center, checks its
// type and size and cleans its file name.
func CheckKBImage(u *Upload) error {
	if len(u.Data) == 0 {
		return InvalidField("file", "The file is empty.")
	}
	if len(u.Data) > MaxKBFileBytes {
		return InvalidField("file", "An image is at most 5 MB.")
	}
	ct := http.DetectContentType(u.Data)
	ext, ok := KBImageTypes[ct]
	if !ok {
		return InvalidField("file", "Upload a PNG, JPEG, GIF or WebP image.")
	}
	u.ContentType = ct
	name := path.Base(strings.ReplaceAll(u.Filename, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune(`/\:*?"'<>|#%&`, r) {
			return '-'
		}
		return r
	}, name)
	name = strings.Trim(name, "-.")
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	if name == "" {
		name = "image"
	}
	if !strings.HasSuffix(strings.ToLower(name), ext) && !(ext == ".jpg" && strings.HasSuffix(strings.ToLower(name), ".jpeg")) {
		name += ext
	}
	u.Filename = name
	return nil
}

// VisitorActor is the actor of what an anonymous visitor of the public
// site does: a "Was this helpful?" answer.
var VisitorActor = Actor{Type: "visitor", Name: "Help center visitor"}

// Knowledge base event types.
const (
	EventKBCategoryCreated     = "KBCategoryCreated"
	EventKBCategoryUpdated     = "KBCategoryUpdated"
	EventKBCategoryDeleted     = "KBCategoryDeleted"
	EventKBCategoriesReordered = "KBCategoriesReordered"
	EventKBArticleCreated      = "KBArticleCreated"
	EventKBArticleUpdated      = "KBArticleUpdated"
	EventKBArticlePublished    = "KBArticlePublished"
	EventKBArticleUnpublished  = "KBArticleUnpublished"
	EventKBArticleDeleted      = "KBArticleDeleted"
	EventKBArticleVoted        = "KBArticleVoted"
	EventKBFileUploaded        = "KBFileUploaded"
	EventKBFileDeleted         = "KBFileDeleted"
)
