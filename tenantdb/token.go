package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"parley/app"
)

const tokenColumns = `id, name, role, hint, created_by, created_at, last_used_at, revoked_at` // #nosec G101 -- column names; tokens are stored only as hashes

func scanToken(row rowScanner) (*app.APIToken, error) {
	var t app.APIToken
	var used, rev sql.NullTime
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.Hint, &t.CreatedBy, &t.CreatedAt, &used, &rev); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt, t.RevokedAt = nullTime(used), nullTime(rev)
	return &t, nil
}

// CreateToken creates an API token and returns it with its secret, which is
// stored only as a hash and cannot be shown again.
func (db *DB) CreateToken(ctx context.Context, in app.NewAPIToken, actor app.Actor) (*app.APIToken, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := app.Validate(in); err != nil {
		return nil, "", err
	}
	secret := app.NewSecret(app.TokenPrefix)
	t := &app.APIToken{ID: newID(), Name: in.Name, Role: in.Role, Hint: secret[:len(app.TokenPrefix)+6],
		CreatedBy: actor.Name, CreatedAt: db.Now()}
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, name, role, secret_hash, hint, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.Role, app.HashSecret(secret), t.Hint, t.CreatedBy, t.CreatedAt); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventTokenCreated, "api_token", t.ID, actor,
			map[string]any{"name": t.Name, "role": t.Role, "hint": t.Hint}))
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// TokenBySecret returns the live (not revoked) token with secret, or EUNAUTHORIZED.
func (db *DB) TokenBySecret(ctx context.Context, secret string) (*app.APIToken, error) {
	t, err := scanToken(db.reader().QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE secret_hash = ? AND revoked_at IS NULL`, app.HashSecret(secret)))
	if err == sql.ErrNoRows {
		return nil, app.Errorf(app.EUNAUTHORIZED, "The API token is not valid.")
	}
	return t, err
}

// TouchToken records that a token was used, at most once a minute so that
// API reads do not turn into writes.
func (db *DB) TouchToken(ctx context.Context, t *app.APIToken) error {
	now := db.Now()
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < time.Minute {
		return nil
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, t.ID)
		return err
	})
}

// ListTokens returns every token, live ones first, newest first.
func (db *DB) ListTokens(ctx context.Context) ([]*app.APIToken, error) {
	return queryAll(ctx, db.reader(), scanToken, `SELECT `+tokenColumns+` FROM api_tokens
		ORDER BY revoked_at IS NULL DESC, id DESC`)
}

// RevokeToken revokes a live token.
func (db *DB) RevokeToken(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, db.Now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "API token not found.")
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventTokenRevoked, "api_token", id, actor, nil))
	})
}
