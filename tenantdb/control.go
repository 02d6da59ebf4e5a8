package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// TenantByDomain returns the tenant a custom domain is mapped to, or ENOTFOUND.
func (c *Control) TenantByDomain(ctx context.Context, domain string) (*app.Tenant, error) {
	t, err := scanTenant(c.p.read.QueryRowContext(ctx, `SELECT t.id, t.slug, t.name, t.status, t.created_at, t.region, t.node
		FROM custom_domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.domain = ?`, strings.ToLower(domain)))
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

// MapDomain maps a custom domain to a tenant (for its help center and portal).
func (c *Control) MapDomain(ctx context.Context, tenantID, domain string) error {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" || strings.ContainsAny(domain, "/: ") {
		return app.InvalidField("domain", "Enter a host name such as help.example.com.")
	}
	err := c.p.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO custom_domains (domain, tenant_id, created_at) VALUES (?, ?, ?)`,
			domain, tenantID, c.now().UTC())
		return err
	})
	if isUniqueViolation(err) {
		return app.InvalidField("domain", "That domain is already mapped.")
	}
	return err
}

// DomainOf returns the custom domain mapped to a tenant (the first one
// mapped, when there are several), or "" when none is: where its public
// pages' canonical URLs point.
func (c *Control) DomainOf(ctx context.Context, tenantID string) (string, error) {
	var d string
	err := c.p.read.QueryRowContext(ctx, `SELECT domain FROM custom_domains WHERE tenant_id = ?
		ORDER BY created_at, domain LIMIT 1`, tenantID).Scan(&d)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return d, err
}
