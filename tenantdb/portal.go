package tenantdb

import (
	"context"

	"parley/app"
)

// Branding returns how the workspace's public pages look. Unset parts
// fall back to the workspace's name (given by the caller, from the control
// DB) and the default accent.
func (db *DB) Branding(ctx context.Context, workspaceName string) (app.Branding, error) {
	var b app.Branding
	var logo string
	err := db.reader().QueryRowContext(ctx, `SELECT portal_name, portal_accent, portal_footer, portal_logo_file
		FROM workspace_settings WHERE id = 1`).Scan(&b.Name, &b.Accent, &b.Footer, &logo)
	if err != nil {
		return app.Branding{}, err
	}
	if b.Name == "" {
		b.Name = workspaceName
	}
	b.Accent = b.SafeAccent()
	if logo != "" {
		b.LogoURL = "/help/logo/" + logo
	}
	return b, nil
}
