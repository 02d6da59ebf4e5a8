package app

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	goldhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// Help center articles are written in Markdown (CommonMark with GitHub's
// tables, strikethrough, task lists and autolinks). Raw HTML is allowed
// while writing and then sanitised: what reaches a page is only what the
// article policy below lets through, whoever wrote it.

// MarkdownVersion names the renderer and sanitising policy. Stored HTML
// made by an older version is rendered again when it is read, so a
// tightened policy applies to articles published before it. Bump it with
// every change to what RenderMarkdown outputs.
const MarkdownVersion = 1

// Heading is a section heading of a rendered article: its level (1–6), the
// id of its anchor (the part after # in a link to it) and its text.
type Heading struct {
	Level int    `json:"level"`
	ID    string `json:"id"`
	Text  string `json:"text"`
}

// RenderedMarkdown is an article body made ready to show and to index.
type RenderedMarkdown struct {
	// HTML is sanitised: safe to put into a page as it is.
	HTML     string
	Headings []Heading
	// Text is the body's plain text, blocks on their own lines, for search
	// and meta descriptions.
	Text string
}

// RenderMarkdown turns Markdown into sanitised HTML and lists its
// headings. Headings get ids and a visible "#" link to themselves; images
// are kept only when they come from this workspace's help center files
// (/help/files/…); links may only be http, https, mailto or tel (or
// relative), and links to other sites get rel="nofollow noopener" and open
// in a new tab. No script, style, event handler, form or htmx attribute
// survives.
func RenderMarkdown(src string) (safeHTML string, headings []Heading) {
	r := ParseMarkdown(src)
	return r.HTML, r.Headings
}

// MarkdownText returns the plain text of Markdown: what a reader sees,
// without markup, blocks on their own lines.
func MarkdownText(src string) string { return ParseMarkdown(src).Text }

// ParseMarkdown does RenderMarkdown and MarkdownText in one pass.
func ParseMarkdown(src string) RenderedMarkdown {
	source := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(source))
	var out RenderedMarkdown
	var b strings.Builder
	plainText(doc, source, &b)
	out.Text = tidyText(b.String())
	// Headings: collect, then add the anchor link (after reading the
	// text, so "#" is not part of it).
	var hs []*ast.Heading
	var imgs []*ast.Image
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Heading:
			if entering {
				hs = append(hs, n)
			}
		case *ast.Image:
			if entering && !KBFilePattern.Match(n.Destination) {
				imgs = append(imgs, n)
			}
		}
		return ast.WalkContinue, nil
	})
	// An image from anywhere else is shown as its description.
	for _, img := range imgs {
		parent := img.Parent()
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, img, c)
			c = next
		}
		parent.RemoveChild(parent, img)
	}
	// Heading ids are made from the text a reader sees (not from the
	// Markdown or HTML the heading was written with).
	ids := newAnchorIDs()
	for _, h := range hs {
		var t strings.Builder
		plainText(h, source, &t)
		text := strings.Join(strings.Fields(t.String()), " ")
		id := ids.generate(text)
		h.SetAttributeString("id", []byte(id))
		out.Headings = append(out.Headings, Heading{Level: h.Level, ID: id, Text: text})
		link := ast.NewLink()
		link.Destination = []byte("#" + id)
		link.SetAttributeString("class", []byte("anchor"))
		link.SetAttributeString("title", []byte("Link to this section"))
		link.AppendChild(link, ast.NewString([]byte("#")))
		h.AppendChild(h, link)
	}
	var buf bytes.Buffer
	if err := markdown.Renderer().Render(&buf, source, doc); err != nil {
		// Rendering to memory fails only on a bug; show the text instead.
		return RenderedMarkdown{HTML: "<p>" + html.EscapeString(out.Text) + "</p>", Headings: out.Headings, Text: out.Text}
	}
	out.HTML = articlePolicy.Sanitize(buf.String())
	return out
}

// markdown is safe for concurrent use: parsing state lives in each call's context.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	// Raw HTML is passed through to the sanitiser, which decides.
	goldmark.WithRendererOptions(goldhtml.WithUnsafe()),
)

// KBFilePattern matches the address of an image uploaded for the help
// center: the only images an article may show.
var KBFilePattern = regexp.MustCompile(`^/help/files/[0-9A-Z]{26}/[^/?#\s"'<>\\]{1,200}$`)

// anchorIDPattern is what a heading id may be: what anchorIDs makes.
var anchorIDPattern = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,100}$`)

var articlePolicy = newArticlePolicy()

// newArticlePolicy is bluemonday's UGC policy without images from
// anywhere, without ids but on headings, and with the few classes the
// renderer sets.
func newArticlePolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.AllowAttrs("id").Matching(anchorIDPattern).OnElements("h1", "h2", "h3", "h4", "h5", "h6")

	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true)
	p.AllowURLSchemes("mailto", "http", "https", "tel")
	p.RequireNoFollowOnFullyQualifiedLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true) // which adds rel="noopener"
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^anchor$`)).OnElements("a")

	p.AllowElements("article", "aside", "figure", "figcaption", "section", "summary", "hgroup",
		"h1", "h2", "h3", "h4", "h5", "h6", "br", "div", "hr", "p", "span", "wbr",
		"abbr", "cite", "code", "dfn", "em", "mark", "s", "samp", "strong", "sub", "sup", "var", "kbd",
		"b", "i", "pre", "small", "u", "del", "ins")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`(?i)^(|open)$`)).OnElements("details")
	p.AllowElements("details")
	p.AllowAttrs("cite").OnElements("blockquote", "q")
	p.AllowElements("blockquote", "q")
	p.AllowAttrs("datetime").Matching(bluemonday.ISO8601).OnElements("time", "del", "ins")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	p.AllowLists()
	p.AllowTables()
	// GitHub task lists render as disabled checkboxes.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")

	p.AllowAttrs("src").Matching(KBFilePattern).OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("width", "height").Matching(bluemonday.NumberOrPercent).OnElements("img")
	return p
}

// anchorIDs gives headings readable, unique ids: the heading's words,
// lower-cased and without accents ("Über uns" is "uber-uns"), joined by
// dashes. Ids the page itself uses are taken from the start.
type anchorIDs struct{ used map[string]bool }

// reservedIDs are the ids of the public page around an article.
var reservedIDs = []string{"main", "top", "kb-q", "kb-vote", "kb-vote-question", "kb-toc-title", "kb-related-title"}

func newAnchorIDs() *anchorIDs {
	a := &anchorIDs{used: map[string]bool{}}
	for _, id := range reservedIDs {
		a.used[id] = true
	}
	return a
}

func (a *anchorIDs) generate(text string) string {
	base := Slugify(text, true, 80)
	if base == "" {
		base = "section"
	}
	id := base
	for i := 2; a.used[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	a.used[id] = true
	return id
}

// Slugify makes s into lower-case words joined by single dashes, at most
// max bytes long, cut at a dash. Accents are dropped ("Über" is "uber");
// other letters are kept only if unicodeLetters (heading ids), dropped
// otherwise (URL slugs are ASCII).
func Slugify(s string, unicodeLetters bool, max int) string {
	s = Fold(s)
	if !unicodeLetters {
		s = strings.ReplaceAll(s, "ß", "ss")
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !word || (r >= 0x80 && !unicodeLetters) {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > max {
		out = strings.ToValidUTF8(out[:max], "")
		if i := strings.LastIndexByte(out, '-'); i > max/2 {
			out = out[:i]
		}
		out = strings.Trim(out, "-")
	}
	return out
}

// plainText writes the text a reader sees of n and its children: text,
// code, link labels, image descriptions and the text of raw HTML blocks,
// with a line break after each block.
func plainText(n ast.Node, src []byte, b *strings.Builder) {
	switch n := n.(type) {
	case *ast.Text:
		b.Write(n.Segment.Value(src))
		if n.SoftLineBreak() || n.HardLineBreak() {
			b.WriteByte(' ')
		}
		return
	case *ast.String:
		b.Write(n.Value)
		return
	case *ast.AutoLink:
		b.Write(n.Label(src))
		return
	case *ast.RawHTML:
		return // an inline tag; the text around it is in Text nodes
	case *ast.HTMLBlock, *ast.CodeBlock, *ast.FencedCodeBlock:
		var raw strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			raw.Write(seg.Value(src))
		}
		if _, ok := n.(*ast.HTMLBlock); ok {
			b.WriteString(html.UnescapeString(textPolicy.Sanitize(raw.String())))
		} else {
			b.WriteString(raw.String())
		}
		b.WriteByte('\n')
		return
	}
	skipping := "" // inside an inline <script> or <style>, whose text nobody sees
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if raw, ok := c.(*ast.RawHTML); ok {
			tag := strings.ToLower(rawText(raw, src))
			switch {
			case skipping == "" && (strings.HasPrefix(tag, "<script") || strings.HasPrefix(tag, "<style")):
				if strings.HasPrefix(tag, "<script") {
					skipping = "</script"
				} else {
					skipping = "</style"
				}
			case skipping != "" && strings.HasPrefix(tag, skipping):
				skipping = ""
			}
			continue
		}
		if skipping == "" {
			plainText(c, src, b)
		}
	}
	if n.Type() == ast.TypeBlock {
		b.WriteByte('\n')
	} else if _, ok := n.(*east.TableCell); ok {
		b.WriteByte(' ')
	}
}

func rawText(n *ast.RawHTML, src []byte) string {
	var b strings.Builder
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		b.Write(seg.Value(src))
	}
	return b.String()
}

// textPolicy keeps only text (and drops the content of script and style).
var textPolicy = bluemonday.StrictPolicy().AddSpaceWhenStrippingTag(true)

// tidyText trims each line, collapses runs of spaces and of blank lines.
func tidyText(s string) string {
	var out []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Excerpt returns about max characters of plain text on one line, cut at
// a word and marked "…" when cut: a meta description, a list's summary.
func Excerpt(text string, max int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= max {
		return text
	}
	cut := string(r[:max])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:-–—") + "…"
}
