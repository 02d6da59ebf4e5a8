package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"parley/app"
)

// FindSession returns the data and expiry of an unexpired session (for scs).
func (db *DB) FindSession(ctx context.Context, token string) (data []byte, expiry time.Time, found bool, err error) {
	err = db.reader().QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND expiry > ?`,
		token, db.Now()).Scan(&data, &expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false, nil
	}
	return data, expiry, err == nil, err
}

// CommitSession stores a session (for scs).
func (db *DB) CommitSession(ctx context.Context, token string, data []byte, expiry time.Time) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
			ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, data, expiry.UTC())
		return err
	})
}

// DeleteSession removes a session (for scs).
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token = ?`, token)
		return err
	})
}

func (db *DB) deleteExpiredSessions(ctx context.Context) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= ?`, db.Now())
		return err
	})
}

// loginLinkTTL is short: a login link only carries a new admin from sign-up
// on the base domain to their workspace's host, a redirect away.
const loginLinkTTL = 2 * time.Minute

// CreateLoginLink returns the secret of a single-use link that signs userID in.
func (db *DB) CreateLoginLink(ctx context.Context, userID string) (string, error) {
	secret := app.NewSecret("lnk_")
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO login_links (secret_hash, user_id, expires_at) VALUES (?, ?, ?)`,
			app.HashSecret(secret), userID, db.Now().Add(loginLinkTTL))
		return err
	})
	return secret, err
}

// ConsumeLoginLink uses up a login link and returns its active user, or EGONE.
func (db *DB) ConsumeLoginLink(ctx context.Context, secret string) (*app.User, error) {
	var userID string
	err := db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE login_links SET used_at = ?
			WHERE secret_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
			db.Now(), app.HashSecret(secret), db.Now()).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return app.Errorf(app.EGONE, "This sign-in link has expired or was already used. Sign in with your password.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	u, err := db.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, app.Errorf(app.EGONE, "This account is deactivated.")
	}
	return u, nil
}
