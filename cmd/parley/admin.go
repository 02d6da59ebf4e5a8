package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// store is the data directory opened by an administrative command. It uses
// the same files, pragmas and locks as a running server, so both can work at
// once: the server sees a new tenant or token on its next request.
type store struct {
	control *tenantdb.Control
	tenants *tenantdb.Manager
}

func openStore(ctx context.Context, cfg Config) (*store, error) {
	if _, err := tenantdb.CheckSQLiteVersion(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.TenantDir(), 0o750); err != nil {
		return nil, err
	}
	c, err := tenantdb.OpenControl(ctx, cfg.ControlPath(), nil)
	if err != nil {
		return nil, err
	}
	return &store{control: c, tenants: tenantdb.NewManager(tenantdb.ManagerConfig{Dir: cfg.TenantDir(), Control: c})}, nil
}

func (s *store) close() {
	s.tenants.Close(context.Background())
	s.control.Close()
}

// withTenant opens the tenant with slug and calls fn with its handle.
func (s *store) withTenant(ctx context.Context, slug string, fn func(*app.Tenant, *tenantdb.DB) error) error {
	t, err := s.control.TenantBySlug(ctx, slug)
	if err != nil {
		return fmt.Errorf("tenant %q: %s", slug, app.ErrorMessage(err))
	}
	db, release, err := s.tenants.Acquire(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("open tenant %q: %w", slug, err)
	}
	defer release()
	return fn(t, db)
}

// describe turns a domain error into one line for a terminal.
func describe(err error) error {
	if app.ErrorCode(err) == app.EINTERNAL {
		return err
	}
	msg := app.ErrorMessage(err)
	for _, f := range app.ErrorFields(err) {
		if f.Message != msg {
			msg += fmt.Sprintf(" %s: %s", f.Field, f.Message)
		}
	}
	return fmt.Errorf("%s", strings.TrimSpace(msg))
}

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("tenant needs a subcommand: create, list, disable or enable")
	}
	switch args[0] {
	case "create":
		return runTenantCreate(ctx, args[1:], stdout)
	case "list":
		return runTenantList(ctx, args[1:], stdout)
	case "disable", "enable":
		return runTenantStatus(ctx, args[0], args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return nil
	}
	return usagef("unknown tenant subcommand %q", args[0])
}

func runTenantCreate(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("tenant create", "parley tenant create SLUG --name NAME --admin-email EMAIL [--admin-password-file F]", stdout)
	cfg.bindCommon(fs)
	name := fs.String("name", "", "company name (required)")
	email := fs.String("admin-email", "", "first admin's email (required)")
	adminName := fs.String("admin-name", "", "first admin's name (defaults to the email's local part)")
	pwFile := fs.String("admin-password-file", "", "file holding the admin's password; without it a one-time set-password link is printed")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("tenant create needs exactly one SLUG")
	case *name == "":
		return usagef("--name is required")
	case *email == "":
		return usagef("--admin-email is required")
	}
	in := tenantdb.NewWorkspace{Slug: pos[0], Name: *name, AdminEmail: *email, AdminName: *adminName}
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return fmt.Errorf("read password file: %w", err)
		}
		in.AdminPassword = strings.TrimRight(string(b), "\r\n")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	ws, err := tenantdb.Provision(ctx, s.control, s.tenants, in, app.CLIActor)
	if err != nil {
		return describe(err)
	}
	wc := web.Config{BaseDomain: cfg.BaseDomain, HTTPS: cfg.HTTPS}
	fmt.Fprintf(stdout, "Created tenant %s (%s), id %s\n", ws.Tenant.Slug, ws.Tenant.Name, ws.Tenant.ID)
	fmt.Fprintf(stdout, "Sign in at %s\n", web.TenantURL(wc, ws.Tenant.Slug, "/login"))
	if ws.InviteSecret != "" {
		fmt.Fprintf(stdout, "Set the admin's password (link works once, for 7 days):\n%s\n",
			web.TenantURL(wc, ws.Tenant.Slug, "/invite/"+ws.InviteSecret))
	}
	return nil
}

func runTenantList(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("tenant list", "parley tenant list", stdout)
	cfg.bindCommon(fs)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("tenant list takes no arguments")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	ts, err := s.control.ListTenants(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tSTATUS\tCREATED\tID")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.Status, t.CreatedAt.Format("2006-01-02"), t.ID)
	}
	return tw.Flush()
}

func runTenantStatus(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("tenant "+verb, "parley tenant "+verb+" SLUG", stdout)
	cfg.bindCommon(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	} else if len(pos) != 1 {
		return usagef("tenant %s needs exactly one SLUG", verb)
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	status := app.TenantDisabled
	if verb == "enable" {
		status = app.TenantActive
	}
	if err := s.control.SetTenantStatus(ctx, pos[0], status); err != nil {
		return describe(err)
	}
	// The workspace's own audit log says who switched it off or on.
	if err := s.withTenant(ctx, pos[0], func(_ *app.Tenant, db *tenantdb.DB) error {
		return db.RecordWorkspaceStatus(ctx, status, app.CLIActor)
	}); err != nil {
		return fmt.Errorf("tenant %s is now %s, but its audit log could not record it: %w", pos[0], status, err)
	}
	fmt.Fprintf(stdout, "Tenant %s is now %s.\n", pos[0], status)
	return nil
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, topUsage)
			return nil
		}
		return usagef("token needs the subcommand create")
	}
	cfg := DefaultConfig()
	fs := newFlagSet("token create", "parley token create --tenant SLUG --name NAME [--role ROLE]", stdout)
	cfg.bindCommon(fs)
	slug := fs.String("tenant", "", "tenant slug (required)")
	name := fs.String("name", "", "what the token is for (required)")
	role := fs.String("role", string(app.RoleAgent), "role the token acts with: admin, lead, agent or sales")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("token create takes no arguments, got %q", pos[0])
	case *slug == "":
		return usagef("--tenant is required")
	case *name == "":
		return usagef("--name is required")
	}
	r, err := app.ParseRole("role", *role)
	if err != nil {
		return usagef("--role must be admin, lead, agent or sales")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	return s.withTenant(ctx, *slug, func(t *app.Tenant, db *tenantdb.DB) error {
		_, secret, err := db.CreateToken(ctx, app.NewAPIToken{Name: *name, Role: r}, app.CLIActor)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(stdout, secret)
		return nil
	})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("migrate", "parley migrate", stdout)
	cfg.bindCommon(fs)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("migrate takes no arguments")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	ts, err := s.control.ListTenants(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, t := range ts {
		db, release, err := s.tenants.Acquire(ctx, t.ID)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: %v\n", t.Slug, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d migrations applied)\n", t.Slug, len(db.Applied))
		release()
		s.tenants.Forget(t.ID) // keep at most one file open at a time
	}
	fmt.Fprintf(stdout, "%d tenants, %d failed\n", len(ts), failed)
	if failed > 0 {
		return fmt.Errorf("%d tenants failed to migrate", failed)
	}
	return nil
}
