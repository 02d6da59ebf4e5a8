package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"parley/app"
)

// NewWorkspace is the input for creating a tenant with its first admin.
type NewWorkspace struct {
	Slug       string `json:"slug"`
	Name       string `json:"name"`
	AdminEmail string `json:"email" validate:"required,email,max=254"`
	AdminName  string `json:"admin_name" validate:"max=100"`
	// AdminPassword is optional: without it the admin gets an invite link
	// that sets the password.
	AdminPassword string `json:"password" validate:"omitempty,min=10,max=200"`
}

// Workspace is a freshly provisioned tenant.
type Workspace struct {
	Tenant *app.Tenant
	// Admin is set when a password was given.
	Admin *app.User
	// InviteSecret is set when no password was given: the admin's set-password link.
	InviteSecret string
}

// Provision registers a tenant in the control DB, creates and migrates its
// file and adds its first admin. On any failure it undoes what it did, so a
// failed sign-up leaves neither a registry row nor a file behind.
func Provision(ctx context.Context, c *Control, m *Manager, in NewWorkspace, actor app.Actor) (ws Workspace, err error) {
	in.AdminEmail = app.NormalizeEmail(in.AdminEmail)
	in.AdminName = strings.TrimSpace(in.AdminName)
	verr := app.Validate(in)
	if serr := app.ValidateSlug(app.NormalizeSlug(in.Slug)); serr != nil {
		verr = mergeInvalid(verr, serr)
	}
	if verr != nil {
		return ws, verr
	}
	t, err := c.createTenant(ctx, in.Slug, in.Name)
	if err != nil {
		return ws, err
	}
	defer func() {
		if err != nil {
			m.Forget(t.ID)
			os.Remove(m.TenantPath(t.ID))
			os.Remove(m.TenantPath(t.ID) + "-wal")
			os.Remove(m.TenantPath(t.ID) + "-shm")
			os.RemoveAll(filepath.Join(m.cfg.Dir, "."+t.ID+".db-litestream"))
			err = errors.Join(err, c.deleteTenant(context.WithoutCancel(ctx), t.ID))
		}
	}()
	if err := os.MkdirAll(m.cfg.Dir, 0o750); err != nil {
		return ws, err
	}
	// Create the file; the manager then opens and migrates it like any other.
	f, err := os.OpenFile(m.TenantPath(t.ID), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return ws, fmt.Errorf("create tenant file: %w", err)
	}
	f.Close()
	db, release, err := m.Acquire(ctx, t.ID)
	if err != nil {
		return ws, err
	}
	defer release()

	ws.Tenant = t
	err = db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventWorkspaceCreated, "workspace", t.ID, actor,
			map[string]any{"slug": t.Slug, "name": t.Name}))
	})
	if err != nil {
		return ws, err
	}
	name := in.AdminName
	if name == "" {
		name, _, _ = strings.Cut(in.AdminEmail, "@")
	}
	if in.AdminPassword != "" {
		ws.Admin, err = db.CreateUser(ctx, app.NewUser{Email: in.AdminEmail, Name: name, Password: in.AdminPassword, Role: app.RoleAdmin}, actor)
		return ws, err
	}
	_, ws.InviteSecret, err = db.CreateInvite(ctx, app.NewInvite{Email: in.AdminEmail, Name: name, Role: app.RoleAdmin}, actor)
	return ws, err
}

// mergeInvalid combines two EINVALID errors so a form shows every bad field at once.
func mergeInvalid(a, b error) error {
	if a == nil {
		return b
	}
	var ae, be *app.Error
	if errors.As(a, &ae) && errors.As(b, &be) && ae.Code == app.EINVALID && be.Code == app.EINVALID {
		return &app.Error{Code: app.EINVALID, Message: "Please correct the highlighted fields.", Fields: append(ae.Fields, be.Fields...)}
	}
	return a
}
