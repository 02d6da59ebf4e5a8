package tenantdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"parley/app"
)

// Control is the control database: the tenant registry, placement and custom
// domains. It is shared by every tenant of a deployment.
type Control struct {
	p   *pools
	now func() time.Time
}

// OpenControl opens (creating if needed) and migrates the control DB at path.
func OpenControl(ctx context.Context, path string, now func() time.Time) (*Control, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	p, err := openPools(ctx, path, 4, 4096)
	if err != nil {
		return nil, fmt.Errorf("open control db: %w", err)
	}
	if _, err := migrate(ctx, p, "control", now()); err != nil {
		p.close()
		return nil, fmt.Errorf("migrate control db: %w", err)
	}
	return &Control{p: p, now: now}, nil
}

// Close closes the control DB.
func (c *Control) Close() error { return c.p.close() }

// Ping checks that the control DB answers a query.
func (c *Control) Ping(ctx context.Context) error {
	var n int
	return c.p.read.QueryRowContext(ctx, `SELECT 1`).Scan(&n)
}

const tenantColumns = `id, slug, name, status, created_at, region, node`

func scanTenant(row rowScanner) (*app.Tenant, error) {
	var t app.Tenant
	if err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.CreatedAt, &t.Region, &t.Node); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// createTenant registers a tenant. It validates the slug and name and refuses
// a slug that is taken.
func (c *Control) createTenant(ctx context.Context, slug, name string) (*app.Tenant, error) {
	slug = app.NormalizeSlug(slug)
	if err := app.ValidateSlug(slug); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, app.InvalidField("name", "Enter the company name (up to 100 characters).")
	}
	t := &app.Tenant{ID: newID(), Slug: slug, Name: name, Status: app.TenantActive, CreatedAt: c.now().UTC()}
	err := c.p.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, status, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, t.Slug, t.Name, t.Status, t.CreatedAt)
		return err
	})
	if isUniqueViolation(err) {
		return nil, app.InvalidField("slug", "The address “"+slug+"” is already taken; choose another.")
	} else if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// deleteTenant removes a tenant's registry row; used to undo a failed provisioning.
func (c *Control) deleteTenant(ctx context.Context, id string) error {
	return c.p.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id)
		return err
	})
}

// TenantBySlug returns the tenant with slug, or ENOTFOUND.
func (c *Control) TenantBySlug(ctx context.Context, slug string) (*app.Tenant, error) {
	t, err := scanTenant(c.p.read.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = ?`, slug))
	return t, notFound(err, "Workspace not found.")
}

// TenantByID returns the tenant with id, or ENOTFOUND.
func (c *Control) TenantByID(ctx context.Context, id string) (*app.Tenant, error) {
	t, err := scanTenant(c.p.read.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	return t, notFound(err, "Workspace not found.")
}

// TenantByDomain returns the tenant a custom domain is served for, or
// ENOTFOUND. Only a verified domain is served: a pending claim (added but
// not proven) answers like an unknown domain.
func (c *Control) TenantByDomain(ctx context.Context, domain string) (*app.Tenant, error) {
	t, err := scanTenant(c.p.read.QueryRowContext(ctx, `SELECT t.id, t.slug, t.name, t.status, t.created_at, t.region, t.node
		FROM custom_domains d JOIN tenants t ON t.id = d.tenant_id
		WHERE d.domain = ? AND d.verified_at IS NOT NULL`, strings.ToLower(domain)))
	return t, notFound(err, "Workspace not found.")
}

// ListTenants returns every tenant ordered by slug.
func (c *Control) ListTenants(ctx context.Context) ([]*app.Tenant, error) {
	return queryAll(ctx, c.p.read, scanTenant, `SELECT `+tenantColumns+` FROM tenants ORDER BY slug`)
}

// SetTenantStatus enables or disables the tenant with slug.
func (c *Control) SetTenantStatus(ctx context.Context, slug, status string) error {
	if status != app.TenantActive && status != app.TenantDisabled {
		return app.Errorf(app.EINVALID, "Unknown tenant status %q.", status)
	}
	return c.p.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET status = ? WHERE slug = ?`, status, slug)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "No tenant with slug %q.", slug)
		}
		return nil
	})
}

// DomainOf returns the custom domain a tenant is served on (the first one
// mapped, when there are several), or "" when none is: where its public
// pages' canonical URLs point. A pending domain is not served, so it is
// never the canonical one.
func (c *Control) DomainOf(ctx context.Context, tenantID string) (string, error) {
	var d string
	err := c.p.read.QueryRowContext(ctx, `SELECT domain FROM custom_domains WHERE tenant_id = ? AND verified_at IS NOT NULL
		ORDER BY created_at, domain LIMIT 1`, tenantID).Scan(&d)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return d, err
}

// Custom domains. A workspace's admins add a domain (help.acme.com); it is
// only a claim until they prove they control the domain's DNS with a TXT
// record named DomainChallengePrefix+domain holding the claim's random
// token, and only a verified domain is served (TenantByDomain). Pending
// claims block nobody: several workspaces may claim a domain, the first to
// verify it is served on it, and nobody else can verify it after. An
// operator maps a domain verified at once: they vouch for it (MapDomain).

// DomainChallengePrefix is the label of the TXT record that proves a
// workspace controls a domain: _parley-challenge.help.acme.com.
const DomainChallengePrefix = "_parley-challenge."

// MaxTenantDomains is how many custom domains a workspace may have,
// verified or not, so a workspace cannot claim domains in bulk.
const MaxTenantDomains = 10

// domainRefused is the one answer for a domain that cannot be used: another
// workspace's, this service's own, an IP address or a local name alike, so
// the answer never tells who uses a domain.
const domainRefused = "This domain can't be used here. Enter a domain of your own that is not already in use with this service, such as help.example.com. IP addresses, local names and this service's own addresses can't be used."

// domainIDNA turns what an admin typed into the ASCII form browsers send in
// the Host header: lower-case, Unicode labels in Punycode (bücher.example
// becomes xn--bcher-kva.example), letters, digits and hyphens only.
var domainIDNA = idna.New(idna.MapForLookup(), idna.VerifyDNSLength(true), idna.BidiRule(),
	idna.CheckHyphens(true), idna.CheckJoiners(true))

// localTLDs are names that only mean something inside a network.
var localTLDs = map[string]bool{"localhost": true, "local": true, "internal": true, "invalid": true,
	"onion": true, "arpa": true, "lan": true, "home": true, "corp": true, "intranet": true, "private": true}

// NormalizeDomain checks a custom domain as typed and returns it as stored
// and looked up: lower-case ASCII, without a trailing dot. baseHost is the
// deployment's base domain without its port; it and its subdomains are
// refused (they are the team app's). Errors name the field "domain".
func NormalizeDomain(raw, baseHost string) (string, error) {
	s := strings.TrimSpace(raw)
	invalid := func(msg string) (string, error) { return "", app.InvalidField("domain", msg) }
	switch {
	case s == "":
		return invalid("Enter a domain, such as help.example.com.")
	case strings.Contains(s, "://") || strings.ContainsAny(s, "/?#\\"):
		return invalid("Enter the domain alone, such as help.example.com, without http:// or a path.")
	case strings.Contains(s, "*"):
		return invalid("Wildcards can't be used: enter one domain, such as help.example.com.")
	case strings.ContainsAny(s, "@ \t\r\n"):
		return invalid("Enter a domain such as help.example.com: letters, digits, hyphens and dots only.")
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return invalid(domainRefused)
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if _, err := netip.ParseAddr(host); err == nil {
			return invalid(domainRefused)
		}
	}
	if strings.Contains(s, ":") {
		return invalid("Enter the domain without a port, such as help.example.com: visitors reach it on the standard HTTPS port.")
	}
	s = strings.TrimSuffix(s, ".")
	d, err := domainIDNA.ToASCII(s)
	if err != nil || d == "" {
		return invalid("“" + s + "” is not a valid domain. Enter one such as help.example.com: letters, digits, hyphens and dots.")
	}
	labels := strings.Split(d, ".")
	tld := labels[len(labels)-1]
	switch {
	case len(labels) < 2:
		return invalid("Enter a full domain, such as help.example.com.")
	case strings.Trim(tld, "0123456789") == "":
		return invalid(domainRefused) // an IPv4 address written oddly, or a numeric top-level domain
	case localTLDs[tld], baseHost != "" && (d == baseHost || strings.HasSuffix(d, "."+baseHost)):
		return invalid(domainRefused)
	}
	return d, nil
}

// DisplayDomain returns a stored domain as people read it: with its
// Unicode labels (bücher.example), or as stored when it has none.
func DisplayDomain(domain string) string {
	if u, err := idna.Display.ToUnicode(domain); err == nil && u != "" {
		return u
	}
	return domain
}

// MappedDomain is a custom domain with the workspace that claims it and
// what proves the claim.
type MappedDomain struct {
	CustomDomain
	TenantID   string
	TenantSlug string
	// Token is the value the TXT record ChallengeName must hold.
	Token string
}

// ChallengeName is the name of the TXT record that verifies the domain.
func (d MappedDomain) ChallengeName() string { return DomainChallengePrefix + d.Domain }

// Verified reports whether the domain is verified, and so served.
func (d MappedDomain) Verified() bool { return d.VerifiedAt != nil }

// DomainFilter selects custom domains; nil fields select all.
type DomainFilter struct {
	TenantID *string
	Domain   *string
}

func scanMappedDomain(row rowScanner) (MappedDomain, error) {
	var d MappedDomain
	var verified sql.NullTime
	if err := row.Scan(&d.Domain, &d.TenantID, &d.TenantSlug, &d.CreatedAt, &verified, &d.Token); err != nil {
		return d, err
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.VerifiedAt = nullTime(verified)
	if d.VerifiedAt != nil {
		*d.VerifiedAt = d.VerifiedAt.UTC()
	}
	return d, nil
}

const mappedDomainSelect = `SELECT d.domain, d.tenant_id, t.slug, d.created_at, d.verified_at, d.verify_token
	FROM custom_domains d JOIN tenants t ON t.id = d.tenant_id`

// Domains lists custom domains, verified and pending, by domain then by
// workspace.
func (c *Control) Domains(ctx context.Context, f DomainFilter) ([]MappedDomain, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.TenantID != nil {
		where, args = append(where, "d.tenant_id = ?"), append(args, *f.TenantID)
	}
	if f.Domain != nil {
		where, args = append(where, "d.domain = ?"), append(args, *f.Domain)
	}
	return queryAll(ctx, c.p.read, scanMappedDomain,
		mappedDomainSelect+` WHERE `+strings.Join(where, " AND ")+` ORDER BY d.domain, t.slug`, args...)
}

// TenantDomain returns one of a tenant's custom domains, or ENOTFOUND (for
// another workspace's domain too). domain may be typed in Unicode.
func (c *Control) TenantDomain(ctx context.Context, tenantID, domain string) (MappedDomain, error) {
	return tenantDomain(ctx, c.p.read, tenantID, lookupForm(domain))
}

func tenantDomain(ctx context.Context, q querier, tenantID, domain string) (MappedDomain, error) {
	d, err := scanMappedDomain(q.QueryRowContext(ctx, mappedDomainSelect+` WHERE d.tenant_id = ? AND d.domain = ?`, tenantID, domain))
	return d, notFound(err, "Domain not found.")
}

// lookupForm is a domain from a URL or command line in its stored form, or
// "" when it cannot be one (which then matches nothing).
func lookupForm(domain string) string {
	d, err := domainIDNA.ToASCII(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if err != nil {
		return ""
	}
	return d
}

// newDomainToken returns a fresh verification token: 128 random bits.
func newDomainToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// AddDomain claims a domain for a tenant, pending until VerifyDomain sees
// its TXT record. It refuses what NormalizeDomain refuses, a domain the
// tenant already has, more than MaxTenantDomains, and a domain another
// workspace has verified, the last with the same words as any other
// refusal.
func (c *Control) AddDomain(ctx context.Context, tenantID, raw, baseHost string) (MappedDomain, error) {
	domain, err := NormalizeDomain(raw, baseHost)
	if err != nil {
		return MappedDomain{}, err
	}
	now := c.now().UTC()
	err = c.p.update(ctx, func(tx *sql.Tx) error {
		var mine, total, servedElsewhere int
		if err := tx.QueryRowContext(ctx, `SELECT
			coalesce(sum(tenant_id = ? AND domain = ?), 0),
			coalesce(sum(tenant_id = ?), 0),
			coalesce(sum(tenant_id <> ? AND domain = ? AND verified_at IS NOT NULL), 0)
			FROM custom_domains WHERE tenant_id = ? OR domain = ?`,
			tenantID, domain, tenantID, tenantID, domain, tenantID, domain).Scan(&mine, &total, &servedElsewhere); err != nil {
			return err
		}
		switch {
		case mine > 0:
			return app.InvalidField("domain", DisplayDomain(domain)+" is already on your list.")
		case servedElsewhere > 0:
			return app.InvalidField("domain", domainRefused)
		case total >= MaxTenantDomains:
			return app.InvalidField("domain", fmt.Sprintf("A workspace can have up to %d custom domains. Remove one you no longer use first.", MaxTenantDomains))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO custom_domains (domain, tenant_id, created_at, verify_token) VALUES (?, ?, ?, ?)`,
			domain, tenantID, now, newDomainToken())
		return err
	})
	if err != nil {
		return MappedDomain{}, err
	}
	return c.TenantDomain(ctx, tenantID, domain)
}

// LookupTXT returns the TXT records at a DNS name, as net.Resolver does.
type LookupTXT func(ctx context.Context, name string) ([]string, error)

// domainLookupTimeout bounds one verification's DNS query.
const domainLookupTimeout = 10 * time.Second

// VerifyDomain checks a tenant's pending domain: its TXT record
// ChallengeName must hold the claim's token. On success the domain is
// served from then on; changed says it was not verified before. A missing
// or different record is EINVALID, a DNS failure EUNAVAILABLE (try later),
// and a domain that another workspace verified first gets the same answer
// as any refused domain.
func (c *Control) VerifyDomain(ctx context.Context, tenantID, domain string, lookup LookupTXT) (d MappedDomain, changed bool, err error) {
	d, err = c.TenantDomain(ctx, tenantID, domain)
	if err != nil || d.Verified() {
		return d, false, err
	}
	if err := checkChallenge(ctx, d, lookup); err != nil {
		return d, false, err
	}
	now := c.now().UTC()
	err = c.p.update(ctx, func(tx *sql.Tx) error {
		// The token checked must still be the claim's: it is new if the
		// domain was removed and added again meanwhile.
		res, err := tx.ExecContext(ctx, `UPDATE custom_domains SET verified_at = ?
			WHERE tenant_id = ? AND domain = ? AND verify_token = ? AND verified_at IS NULL`, now, tenantID, d.Domain, d.Token)
		if isUniqueViolation(err) {
			return app.InvalidField("domain", domainRefused)
		} else if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ECONFLICT, "The domain changed while it was being verified; please try again.")
		}
		return nil
	})
	if err != nil {
		return d, false, err
	}
	d.VerifiedAt = &now
	return d, true, nil
}

// checkChallenge looks up d's TXT record and compares it with its token.
func checkChallenge(ctx context.Context, d MappedDomain, lookup LookupTXT) error {
	ctx, cancel := context.WithTimeout(ctx, domainLookupTimeout)
	defer cancel()
	name := d.ChallengeName()
	values, err := lookup(ctx, name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		err, values = nil, nil
	}
	if err != nil {
		return app.Errorf(app.EUNAVAILABLE, "The DNS lookup of %s did not work just now. Try again in a few minutes.", name)
	}
	if len(values) == 0 {
		return app.InvalidField("domain", "No TXT record was found at "+name+" yet. Create it at your DNS provider with the value shown, then verify again: a new record can take from a few minutes to an hour to be seen.")
	}
	for _, v := range values {
		if strings.Trim(strings.TrimSpace(v), `"`) == d.Token {
			return nil
		}
	}
	found := []rune(strings.TrimSpace(values[0]))
	if len(found) > 80 {
		found = append(found[:79], '…')
	}
	return app.InvalidField("domain", "The TXT record at "+name+" holds “"+string(found)+"”, not this domain's value. Change it to the value shown, then verify again.")
}

// MapDomain maps a domain to a tenant, verified at once: for operators
// (the parley command) who vouch for it. A pending claim of the tenant's
// becomes verified; a domain another workspace is served on is refused.
// Other workspaces' pending claims stay, and can no longer be verified.
func (c *Control) MapDomain(ctx context.Context, tenantID, domain string) error {
	domain, err := NormalizeDomain(domain, "")
	if err != nil {
		return err
	}
	now := c.now().UTC()
	err = c.p.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO custom_domains (domain, tenant_id, created_at, verified_at, verify_token)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (domain, tenant_id) DO UPDATE SET verified_at = coalesce(verified_at, excluded.verified_at)`,
			domain, tenantID, now, now, newDomainToken())
		return err
	})
	if isUniqueViolation(err) {
		return app.Errorf(app.ECONFLICT, "%s is already served for another workspace; unmap it there first.", domain)
	}
	return err
}

// RemoveDomain removes one of a tenant's custom domains, verified or not;
// it stops being served at once. Another workspace's domain is ENOTFOUND.
func (c *Control) RemoveDomain(ctx context.Context, tenantID, domain string) (MappedDomain, error) {
	var d MappedDomain
	err := c.p.update(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = tenantDomain(ctx, tx, tenantID, lookupForm(domain)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM custom_domains WHERE tenant_id = ? AND domain = ?`, tenantID, d.Domain)
		return err
	})
	return d, err
}

// UnmapDomain removes a domain from every workspace that has it, served or
// pending: for operators. It returns what it removed, or ENOTFOUND.
func (c *Control) UnmapDomain(ctx context.Context, domain string) ([]MappedDomain, error) {
	var removed []MappedDomain
	err := c.p.update(ctx, func(tx *sql.Tx) error {
		var err error
		removed, err = queryAll(ctx, tx, scanMappedDomain, mappedDomainSelect+` WHERE d.domain = ? ORDER BY t.slug`, lookupForm(domain))
		if err != nil {
			return err
		} else if len(removed) == 0 {
			return app.Errorf(app.ENOTFOUND, "No workspace has the domain %s.", domain)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM custom_domains WHERE domain = ?`, removed[0].Domain)
		return err
	})
	return removed, err
}

// RecordDomainEvent writes a change to one of the workspace's custom
// domains to its own log (typ is one of the EventDomain types). The
// domain lives in the control DB, another file, so the two cannot commit
// together: callers commit the control change first, since it is what
// decides what is served, then record it here.
func (db *DB) RecordDomainEvent(ctx context.Context, typ, domain string, actor app.Actor, payload map[string]any) error {
	if payload == nil {
		payload = map[string]any{}
	}
	payload["domain"] = domain
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(typ, "custom_domain", domain, actor, payload))
	})
}
