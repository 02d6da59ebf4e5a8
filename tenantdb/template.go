package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

const templateColumns = `id, name, body, uses, last_used_at, created_at, updated_at`

func scanTemplate(row rowScanner) (app.Template, error) {
	var t app.Template
	var last sql.NullTime
	err := row.Scan(&t.ID, &t.Name, &t.Body, &t.Uses, &last, &t.CreatedAt, &t.UpdatedAt)
	t.LastUsedAt, t.CreatedAt, t.UpdatedAt = nullTime(last), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// ListTemplates returns the templates whose name or text contains q (all
// when q is empty), most used first, then by name.
func (db *DB) ListTemplates(ctx context.Context, q string) ([]app.Template, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.TrimSpace(q)) + "%"
	ts, err := queryAll(ctx, db.reader(), scanTemplate, `SELECT `+templateColumns+` FROM templates
		WHERE name LIKE ? ESCAPE '\' OR body LIKE ? ESCAPE '\' ORDER BY uses DESC, name COLLATE NOCASE LIMIT 500`, like, like)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return ts, nil
}

// TemplateByID returns a template, or ENOTFOUND.
func (db *DB) TemplateByID(ctx context.Context, id string) (app.Template, error) {
	t, err := scanTemplate(db.reader().QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = ?`, id))
	return t, notFound(err, "Template not found.")
}

// CreateTemplate saves a new template; names are unique, ignoring case.
func (db *DB) CreateTemplate(ctx context.Context, in app.TemplateInput, actor app.Actor) (app.Template, error) {
	if err := in.Normalize(); err != nil {
		return app.Template{}, err
	}
	now := db.Now()
	t := app.Template{ID: newID(), Name: in.Name, Body: in.Body, CreatedAt: now, UpdatedAt: now}
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO templates (id, name, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Body, now, now)
		if isUniqueViolation(err) {
			return app.InvalidField("name", "A template with this name already exists.")
		} else if err != nil {
			return fmt.Errorf("insert template: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventTemplateCreated, "template", t.ID, actor,
			map[string]any{"name": t.Name, "body": t.Body}))
	})
	return t, err
}

// UpdateTemplate changes a template's name and text; the event keeps the
// text as it was.
func (db *DB) UpdateTemplate(ctx context.Context, id string, in app.TemplateInput, actor app.Actor) (app.Template, error) {
	if err := in.Normalize(); err != nil {
		return app.Template{}, err
	}
	var t app.Template
	err := db.update(ctx, func(tx *sql.Tx) error {
		old, err := scanTemplate(tx.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "Template not found.")
		}
		t = old
		if old.Name == in.Name && old.Body == in.Body {
			return nil
		}
		t.Name, t.Body, t.UpdatedAt = in.Name, in.Body, db.Now()
		_, err = tx.ExecContext(ctx, `UPDATE templates SET name = ?, body = ?, updated_at = ? WHERE id = ?`,
			t.Name, t.Body, t.UpdatedAt, id)
		if isUniqueViolation(err) {
			return app.InvalidField("name", "A template with this name already exists.")
		} else if err != nil {
			return fmt.Errorf("update template: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventTemplateUpdated, "template", id, actor, map[string]any{
			"name": [2]string{old.Name, t.Name}, "body": [2]string{old.Body, t.Body}}))
	})
	return t, err
}

// DeleteTemplate removes a template; its text stays in the event log.
func (db *DB) DeleteTemplate(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		t, err := scanTemplate(tx.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "Template not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventTemplateDeleted, "template", id, actor,
			map[string]any{"name": t.Name, "body": t.Body}))
	})
}
