package app

import (
	"regexp"
	"strings"
	"time"
)

// Tenant statuses.
const (
	TenantActive   = "active"
	TenantDisabled = "disabled"
)

// Tenant is a company using Parley. Its data lives in its own SQLite file.
type Tenant struct {
	ID        string
	Slug      string
	Name      string
	Status    string
	CreatedAt time.Time
	// Region and Node say where the tenant is homed once Parley runs on
	// several nodes; a single node leaves them empty.
	Region string
	Node   string
}

// Active reports whether the tenant may be served.
func (t Tenant) Active() bool { return t.Status == TenantActive }

var slugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// reservedSlugs are subdomains Parley or an operator needs for itself.
var reservedSlugs = map[string]bool{
	"www": true, "api": true, "admin": true, "app": true, "help": true, "static": true,
	"assets": true, "cdn": true, "mail": true, "smtp": true, "imap": true, "status": true,
	"docs": true, "support": true, "login": true, "signup": true, "auth": true, "portal": true,
	"billing": true, "metrics": true, "root": true, "system": true, "parley": true, "demo-admin": true,
	"webhook": true, "webhooks": true, "ws": true, "dev": true, "test": true, "localhost": true,
}

// NormalizeSlug lower-cases and trims a slug as typed by a person.
func NormalizeSlug(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateSlug checks a normalised workspace slug: 3–40 characters of a-z, 0-9
// and inner hyphens, not a reserved word.
func ValidateSlug(slug string) error {
	switch {
	case len(slug) < 3 || len(slug) > 40:
		return InvalidField("slug", "Must be 3 to 40 characters long.")
	case !slugPattern.MatchString(slug):
		return InvalidField("slug", "Use only lower-case letters, digits and hyphens, starting and ending with a letter or digit.")
	case strings.Contains(slug, "--"):
		return InvalidField("slug", "Must not contain two hyphens in a row.")
	case reservedSlugs[slug]:
		return InvalidField("slug", "“"+slug+"” is reserved; choose another address.")
	}
	return nil
}
