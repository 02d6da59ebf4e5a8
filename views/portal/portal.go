// Package portal renders a workspace's public site: the help center,
// contact form, web chat frame and customer portal, in the workspace's
// branding. Nothing here may show a team member's view of the data.
package portal

import (
	"context"
	"html"
	"io"

	"github.com/a-h/templ"

	"parley/app"
)

// Section names the part of the public site a page belongs to.
type Section string

// Sections of the public site.
const (
	SectionHelp    Section = "help"
	SectionContact Section = "contact"
	SectionPortal  Section = "portal"
)

// Alternate is the same page in another language.
type Alternate struct {
	Locale string // BCP 47, e.g. "de"
	Label  string // the language's own name, e.g. "Deutsch"
	Href   string
}

// Shell is what every public page needs.
type Shell struct {
	// Title is the page's own title; the workspace's name is appended.
	Title       string
	Description string
	// Canonical is the page's absolute canonical URL, if it has one.
	Canonical string
	Branding  app.Branding
	Section   Section
	// Locale is the page's language (the html lang attribute). Defaults to "en".
	Locale     string
	Alternates []Alternate
	// NoIndex keeps search engines off the page (search results, forms,
	// the portal).
	NoIndex bool
	// Customer is the signed-in portal client's name, empty when nobody is.
	Customer string
	// Flash is a one-time message carried over a redirect.
	Flash     string
	FlashKind string
}

func (s Shell) lang() string {
	if s.Locale == "" {
		return "en"
	}
	return s.Locale
}

func (s Shell) fullTitle() string {
	if s.Title == "" || s.Title == s.Branding.Name {
		return s.Branding.Name
	}
	return s.Title + " · " + s.Branding.Name
}

// accentStyle sets the workspace's accent colour as CSS custom
// properties. The colour is validated (#rrggbb only) before it gets here,
// and is escaped besides.
func accentStyle(b app.Branding) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<style nonce="`+html.EscapeString(templ.GetNonce(ctx))+`">:root{--accent:`+
			html.EscapeString(b.SafeAccent())+`;--accent-hover:`+html.EscapeString(b.SafeAccent())+`}</style>`)
		return err
	})
}

func current(is bool) string {
	if is {
		return "page"
	}
	return "false"
}

// initial is the first letter of a name, for the brand mark.
func initial(name string) string {
	for _, r := range name {
		return string(r)
	}
	return "?"
}
