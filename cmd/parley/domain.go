package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"

	"parley/app"
	"parley/tenantdb"
)

// The operator's custom domains: a workspace's admins add and verify their
// own in Settings → Help center & portal; an operator maps one directly,
// verified at once because they vouch for it, and can unmap any.

func runDomain(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("domain needs a subcommand: list, map or unmap")
	}
	switch args[0] {
	case "list":
		return runDomainList(ctx, args[1:], stdout)
	case "map":
		return runDomainMap(ctx, args[1:], stdout)
	case "unmap":
		return runDomainUnmap(ctx, args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return nil
	}
	return usagef("unknown domain subcommand %q", args[0])
}

// baseHost is the base domain without its port, as custom domains are
// checked against it.
func baseHost(cfg Config) string {
	h := cfg.BaseDomain
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func runDomainList(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("domain list", "parley domain list [--tenant SLUG]", stdout)
	cfg.bindCommon(fs)
	slug := fs.String("tenant", "", "list only this tenant's domains")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("domain list takes no arguments, got %q", pos[0])
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	var f tenantdb.DomainFilter
	if *slug != "" {
		t, err := s.control.TenantBySlug(ctx, *slug)
		if err != nil {
			return fmt.Errorf("tenant %q: %s", *slug, app.ErrorMessage(err))
		}
		f.TenantID = &t.ID
	}
	ds, err := s.control.Domains(ctx, f)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tTENANT\tSTATUS\tADDED\tVERIFIED")
	for _, d := range ds {
		status, verified := "pending", "-"
		if d.Verified() {
			status, verified = "served", d.VerifiedAt.Format("2006-01-02 15:04")
		}
		name := d.Domain
		if u := tenantdb.DisplayDomain(d.Domain); u != d.Domain {
			name += " (" + u + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, d.TenantSlug, status, d.CreatedAt.Format("2006-01-02 15:04"), verified)
	}
	return tw.Flush()
}

func runDomainMap(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("domain map", "parley domain map --tenant SLUG --domain HOST", stdout)
	cfg.bindCommon(fs)
	slug := fs.String("tenant", "", "tenant slug (required)")
	raw := fs.String("domain", "", "host name to serve the tenant's help center and portal on, such as help.acme.com (required)")
	pos, err := parse(fs, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return usagef("domain map takes no arguments, got %q", pos[0])
	case *slug == "":
		return usagef("--tenant is required")
	case *raw == "":
		return usagef("--domain is required")
	}
	domain, err := tenantdb.NormalizeDomain(*raw, baseHost(cfg))
	if err != nil {
		return fmt.Errorf("--domain %q: %s", *raw, app.ErrorMessage(err))
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	t, err := s.control.TenantBySlug(ctx, *slug)
	if err != nil {
		return fmt.Errorf("tenant %q: %s", *slug, app.ErrorMessage(err))
	}
	before, err := s.control.TenantDomain(ctx, t.ID, domain)
	existed := err == nil
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		return err
	}
	if existed && before.Verified() {
		fmt.Fprintf(stdout, "%s is already served for tenant %s.\n", domain, t.Slug)
		return nil
	}
	if err := s.control.MapDomain(ctx, t.ID, domain); err != nil {
		return describe(err)
	}
	// The workspace's own audit log says the operator did it.
	if err := s.withTenant(ctx, t.Slug, func(_ *app.Tenant, db *tenantdb.DB) error {
		if !existed {
			if err := db.RecordDomainEvent(ctx, app.EventDomainAdded, domain, app.CLIActor, map[string]any{"by": "operator"}); err != nil {
				return err
			}
		}
		return db.RecordDomainEvent(ctx, app.EventDomainVerified, domain, app.CLIActor, map[string]any{"by": "operator"})
	}); err != nil {
		return fmt.Errorf("%s is now served for tenant %s, but its audit log could not record it: %w", domain, t.Slug, err)
	}
	scheme := "http"
	if cfg.HTTPS {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "%s is now served for tenant %s: %s://%s/help\n", domain, t.Slug, scheme, domain)
	fmt.Fprintf(stdout, "Point it here with a CNAME record to %s.%s, and serve HTTPS for it at your proxy: Parley does not get certificates.\n",
		t.Slug, baseHost(cfg))
	return nil
}

func runDomainUnmap(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("domain unmap", "parley domain unmap --domain HOST", stdout)
	cfg.bindCommon(fs)
	raw := fs.String("domain", "", "host name to stop serving; every tenant's claim of it is removed (required)")
	pos, err := parse(fs, args)
	switch {
	case err != nil:
		return err
	case len(pos) > 0:
		return usagef("domain unmap takes no arguments, got %q", pos[0])
	case *raw == "":
		return usagef("--domain is required")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	removed, err := s.control.UnmapDomain(ctx, *raw)
	if err != nil {
		return describe(err)
	}
	var failed []string
	for _, d := range removed {
		status := "pending"
		if d.Verified() {
			status = "served"
		}
		fmt.Fprintf(stdout, "Removed %s from tenant %s (was %s).\n", d.Domain, d.TenantSlug, status)
		if err := s.withTenant(ctx, d.TenantSlug, func(_ *app.Tenant, db *tenantdb.DB) error {
			return db.RecordDomainEvent(ctx, app.EventDomainRemoved, d.Domain, app.CLIActor,
				map[string]any{"by": "operator", "was_verified": d.Verified()})
		}); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", d.TenantSlug, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the domain is removed, but the audit log of %s could not record it", strings.Join(failed, ", "))
	}
	return nil
}
