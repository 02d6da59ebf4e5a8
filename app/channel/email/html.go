package email

import (
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// policy is the sanitiser for an email's HTML part, built once: a
// bluemonday policy is safe for concurrent use once configured.
var policy = sync.OnceValue(newPolicy)

// imageSrc is the only image source an email's HTML keeps: parts of the
// email itself (cid:) and inline data. A remote image would tell the
// sender when (and from where) the team opened the mail.
var imageSrc = regexp.MustCompile(`(?i)^(cid:[^\s"'<>]+|data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]+)$`)

// newPolicy is bluemonday's UGCPolicy without what does not belong in an
// email shown inside Parley: no style, script, iframe, form or event
// handler (bluemonday never allows those), no id attributes (they could
// clobber the page's own), no relative URLs, no remote images; links open
// in a new tab with rel="nofollow noreferrer noopener".
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.RequireParseableURLs(true)
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	p.AllowDataURIImages()
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)

	p.AllowElements("article", "aside", "figure", "section", "summary", "details", "hgroup",
		"h1", "h2", "h3", "h4", "h5", "h6", "br", "div", "hr", "p", "span", "wbr", "center", "font",
		"abbr", "acronym", "cite", "code", "dfn", "em", "figcaption", "mark", "s", "samp", "strong",
		"sub", "sup", "var", "b", "i", "pre", "small", "strike", "tt", "u", "q", "blockquote", "del", "ins")
	p.AllowAttrs("href").OnElements("a")
	p.AllowLists()
	p.AllowTables()
	p.AllowElements("table", "tbody", "thead", "tfoot", "tr", "td", "th")
	p.AllowAttrs("src").Matching(imageSrc).OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("height", "width").Matching(bluemonday.NumberOrPercent).OnElements("img")
	return p
}

// sanitizeHTML makes an email's HTML part safe to show.
func sanitizeHTML(s string) string {
	return strings.TrimSpace(policy().Sanitize(s))
}

// skipped are elements whose content is not text a reader sees.
var skipped = map[atom.Atom]bool{atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Template: true, atom.Noscript: true}

// blocks start on a new line in the text rendering.
var blocks = map[atom.Atom]bool{atom.P: true, atom.Div: true, atom.Tr: true, atom.Table: true,
	atom.Blockquote: true, atom.Ul: true, atom.Ol: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Pre: true, atom.Hr: true, atom.Section: true,
	atom.Article: true, atom.Header: true, atom.Footer: true, atom.Dl: true, atom.Dt: true, atom.Dd: true}

// htmlToText renders an HTML-only email as plain text: the words, line
// breaks where blocks and <br> are, and each link's URL after its text.
// Nothing is fetched.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	type link struct {
		href  string
		start int
	}
	var links []link
	for b.Len() < maxText {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip == 0 {
				b.WriteString(spaces.ReplaceAllString(tok.Data, " "))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			switch {
			case skipped[tok.DataAtom] && tt == html.StartTagToken:
				skip++
			case tok.DataAtom == atom.Br:
				b.WriteString("\n")
			case tok.DataAtom == atom.Li:
				b.WriteString("\n- ")
			case tok.DataAtom == atom.A:
				links = append(links, link{href: attr(tok, "href"), start: b.Len()})
			case blocks[tok.DataAtom]:
				b.WriteString("\n")
			}
		case html.EndTagToken:
			switch {
			case skipped[tok.DataAtom]:
				skip = max(skip-1, 0)
			case tok.DataAtom == atom.A && len(links) > 0:
				l := links[len(links)-1]
				links = links[:len(links)-1]
				writeLink(&b, l.href, l.start)
			case blocks[tok.DataAtom]:
				b.WriteString("\n")
			}
		}
	}
	return tidyText(b.String())
}

// writeLink adds a link's URL after its text, unless the text already
// is the URL.
func writeLink(b *strings.Builder, href string, start int) {
	href = strings.TrimSpace(href)
	lower := strings.ToLower(href)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "mailto:") {
		return
	}
	text := strings.TrimSpace(b.String()[min(start, b.Len()):])
	if text == href || text == strings.TrimPrefix(href, "mailto:") {
		return
	}
	b.WriteString(" (" + href + ")")
}

func attr(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var (
	spaces     = regexp.MustCompile(`[ \t\r\n\f\x{00a0}]+`)
	blankLines = regexp.MustCompile(`\n{3,}`)
)

// tidyText trims each line and keeps at most one blank line in a row.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
