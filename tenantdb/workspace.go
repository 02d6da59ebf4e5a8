package tenantdb

import (
	"context"
	"database/sql"
	"strings"

	"parley/app"
)

// WorkspaceSettings returns the workspace's own settings.
func (db *DB) WorkspaceSettings(ctx context.Context) (app.WorkspaceSettings, error) {
	var s app.WorkspaceSettings
	err := db.reader().QueryRowContext(ctx, `SELECT default_country FROM workspace_settings WHERE id = 1`).Scan(&s.DefaultCountry)
	return s, err
}

// SetDefaultCountry sets the country that phone numbers without a country
// code are read in.
func (db *DB) SetDefaultCountry(ctx context.Context, code string, actor app.Actor) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	if !app.IsCountry(code) {
		return app.InvalidField("default_country", "Choose a country.")
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		old, err := defaultCountry(ctx, tx)
		if err != nil || old == code {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspace_settings SET default_country = ? WHERE id = 1`, code); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventSettingsChanged, "workspace", db.TenantID, actor,
			map[string]any{"default_country": [2]string{old, code}}))
	})
}

func defaultCountry(ctx context.Context, q querier) (string, error) {
	var c string
	err := q.QueryRowContext(ctx, `SELECT default_country FROM workspace_settings WHERE id = 1`).Scan(&c)
	return c, err
}

// RecordWorkspaceStatus writes to the workspace's own audit log that the
// operator disabled or enabled it (the status itself lives in the control DB).
func (db *DB) RecordWorkspaceStatus(ctx context.Context, status string, actor app.Actor) error {
	typ := app.EventWorkspaceEnabled
	if status == app.TenantDisabled {
		typ = app.EventWorkspaceDisabled
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(typ, "workspace", db.TenantID, actor, nil))
	})
}
