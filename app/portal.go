package app

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Branding is how a workspace's public pages (help center, contact form,
// web chat, customer portal) look: its name, logo, accent colour and an
// optional footer line.
type Branding struct {
	// Name is shown in the header and page titles. Defaults to the
	// workspace's name.
	Name string `json:"name"`
	// LogoURL is the public URL of the uploaded logo, empty for none.
	LogoURL string `json:"logo_url,omitempty"`
	// Accent is a #rrggbb colour for links and buttons.
	Accent string `json:"accent"`
	// Footer is plain text shown at the bottom of every public page.
	Footer string `json:"footer,omitempty"`
}

// DefaultAccent is the accent of a workspace that has not chosen one.
const DefaultAccent = "#2563eb"

// accentPattern is the only colour form accepted: it goes into a <style>
// element, so nothing but a hex colour may pass.
var accentPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Check validates a branding as typed by an admin, normalising it in place.
func (b *Branding) Check() error {
	errs := &Error{Code: EINVALID, Message: "Check the branding."}
	add := func(field, msg string) { errs.Fields = append(errs.Fields, FieldError{field, msg}) }
	b.Name = strings.Join(strings.Fields(b.Name), " ")
	switch {
	case b.Name == "":
		add("name", "Enter the name your customers know you by.")
	case utf8.RuneCountInString(b.Name) > 80 || hasControl(b.Name, false):
		add("name", "Use at most 80 characters, without control characters.")
	}
	b.Accent = strings.ToLower(strings.TrimSpace(b.Accent))
	if b.Accent == "" {
		b.Accent = DefaultAccent
	} else if !accentPattern.MatchString(b.Accent) {
		add("accent", "Enter a colour as #rrggbb, for example #2563eb.")
	}
	b.Footer = strings.TrimSpace(b.Footer)
	if utf8.RuneCountInString(b.Footer) > 300 || hasControl(b.Footer, false) {
		add("footer", "Use at most 300 characters on one line.")
	}
	return errs.OrNil()
}

// SafeAccent returns the accent if it is a valid #rrggbb colour and the
// default otherwise, so a bad stored value can never break out of CSS.
func (b Branding) SafeAccent() string {
	if accentPattern.MatchString(b.Accent) {
		return strings.ToLower(b.Accent)
	}
	return DefaultAccent
}

// WebsiteSource says where on the public site a customer wrote.
type WebsiteSource string

// Where a website message comes from.
const (
	WebsiteContactForm WebsiteSource = "contact_form"
	WebsiteChat        WebsiteSource = "web_chat"
	WebsitePortal      WebsiteSource = "portal"
)

// WebsiteMessage is a message a customer wrote on the workspace's public
// site. It arrives in the client's one chat like any inbound message, with
// transport website.
type WebsiteMessage struct {
	// From is the contact the customer is known by: the email they typed
	// in the contact form, the one they signed in to the portal with, or a
	// web chat visitor's contact. It finds (or creates) the client.
	From ContactInput
	// Name is what the customer calls themselves (new clients get it).
	Name    string
	Subject string
	Text    string
	Uploads []Upload
	// Key makes the message idempotent: the same key twice stores one
	// message (a form sent twice, a retried chat post).
	Key    string
	Source WebsiteSource
}
