package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"parley/app"
)

const customFieldColumns = `id, key, label, type, options, required, position, created_at`

func scanCustomField(row rowScanner) (app.CustomField, error) {
	var f app.CustomField
	var opts string
	if err := row.Scan(&f.ID, &f.Key, &f.Label, &f.Type, &opts, &f.Required, &f.Position, &f.CreatedAt); err != nil {
		return f, err
	}
	f.CreatedAt = f.CreatedAt.UTC()
	return f, json.Unmarshal([]byte(opts), &f.Options)
}

func listCustomFields(ctx context.Context, q querier) ([]app.CustomField, error) {
	fs, err := queryAll(ctx, q, scanCustomField, `SELECT `+customFieldColumns+` FROM custom_fields ORDER BY position, created_at`)
	if err != nil {
		return nil, fmt.Errorf("custom fields: %w", err)
	}
	return fs, nil
}

// ListCustomFields returns the workspace's custom fields in display order.
func (db *DB) ListCustomFields(ctx context.Context) ([]app.CustomField, error) {
	return listCustomFields(ctx, db.reader())
}

// CreateCustomField defines a new custom field, placed after the others.
func (db *DB) CreateCustomField(ctx context.Context, in app.CustomFieldInput, actor app.Actor) (app.CustomField, error) {
	var f app.CustomField
	if err := in.Normalize(); err != nil {
		return f, err
	}
	opts, _ := json.Marshal(append([]string{}, in.Options...))
	err := db.update(ctx, func(tx *sql.Tx) error {
		f = app.CustomField{ID: newID(), Key: in.Key, Label: in.Label, Type: in.Type, Options: in.Options,
			Required: in.Required, CreatedAt: db.Now()}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(position), 0) + 1 FROM custom_fields`).Scan(&f.Position); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO custom_fields (`+customFieldColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.Key, f.Label, f.Type, string(opts), f.Required, f.Position, f.CreatedAt)
		if isUniqueViolation(err) {
			return app.InvalidField("key", "A custom field with this key already exists.")
		} else if err != nil {
			return fmt.Errorf("insert custom field: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventCustomFieldDefined, "custom_field", f.ID, actor,
			map[string]any{"key": f.Key, "label": f.Label, "type": f.Type, "required": f.Required, "options": f.Options}))
	})
	return f, err
}

// DeleteCustomField removes a custom field and every client's value of it.
func (db *DB) DeleteCustomField(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		f, err := scanCustomField(tx.QueryRowContext(ctx, `SELECT `+customFieldColumns+` FROM custom_fields WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "Custom field not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_custom_values WHERE field_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM custom_fields WHERE id = ?`, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventCustomFieldRemoved, "custom_field", id, actor,
			map[string]any{"key": f.Key, "label": f.Label}))
	})
}

// applyCustomValues checks the given values (by field key) against the
// workspace's definitions and writes them onto c.CustomValues, returning the
// keys that changed. An unknown key is refused. On create, every required
// field must be given.
func applyCustomValues(ctx context.Context, q querier, c *app.Client, values map[string]string, create bool) ([]string, error) {
	if len(values) == 0 && !create {
		return nil, nil
	}
	fields, err := listCustomFields(ctx, q)
	if err != nil {
		return nil, err
	}
	var errs error
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(fields, func(f app.CustomField) bool { return f.Key == k }) {
			errs = mergeInvalid(errs, app.InvalidField("custom_fields."+k, "There is no custom field “"+k+"”."))
		}
	}
	var changed []string
	for _, f := range fields {
		raw, given := values[f.Key]
		if !given && !create {
			continue
		}
		v, err := f.Check(raw)
		if err != nil {
			errs = mergeInvalid(errs, err)
			continue
		}
		if c.CustomValues[f.Key] == v {
			continue
		}
		c.CustomValues[f.Key] = v // "" is removed by writeCustomValues
		changed = append(changed, f.Key)
	}
	if errs != nil {
		return nil, errs
	}
	return changed, nil
}

// writeCustomValues stores a client's custom values; empty values are removed.
func writeCustomValues(ctx context.Context, tx *sql.Tx, clientID string, values map[string]string) error {
	for k, v := range values {
		var err error
		if v == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM client_custom_values WHERE client_id = ?
				AND field_id = (SELECT id FROM custom_fields WHERE key = ?)`, clientID, k)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO client_custom_values (client_id, field_id, value)
				SELECT ?, id, ? FROM custom_fields WHERE key = ?
				ON CONFLICT (client_id, field_id) DO UPDATE SET value = excluded.value`, clientID, v, k)
		}
		if err != nil {
			return fmt.Errorf("write custom value %s: %w", k, err)
		}
	}
	return nil
}
