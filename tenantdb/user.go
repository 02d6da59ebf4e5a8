package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"parley/app"
)

const userColumns = `id, email, name, role, status, password_hash, created_at, last_login_at, session_epoch`

func scanUser(row rowScanner) (*app.User, error) {
	var u app.User
	var last sql.NullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Status, &u.PasswordHash, &u.CreatedAt, &last, &u.SessionEpoch); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	u.LastLoginAt = nullTime(last)
	return &u, nil
}

// UserByID returns the user with id, or ENOTFOUND.
func (db *DB) UserByID(ctx context.Context, id string) (*app.User, error) {
	u, err := scanUser(db.reader().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, notFound(err, "User not found.")
}

// UserByEmail returns the user with email (case-insensitive), or ENOTFOUND.
func (db *DB) UserByEmail(ctx context.Context, email string) (*app.User, error) {
	u, err := scanUser(db.reader().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, app.NormalizeEmail(email)))
	return u, notFound(err, "User not found.")
}

// ListUsers returns every user, active ones first, then by name.
func (db *DB) ListUsers(ctx context.Context) ([]*app.User, error) {
	return queryAll(ctx, db.reader(), scanUser, `SELECT `+userColumns+` FROM users
		ORDER BY status = 'active' DESC, name COLLATE NOCASE`)
}

// CreateUser adds a user with a password. It refuses an email already in use.
func (db *DB) CreateUser(ctx context.Context, in app.NewUser, actor app.Actor) (*app.User, error) {
	in.Email, in.Name = app.NormalizeEmail(in.Email), strings.TrimSpace(in.Name)
	if err := app.Validate(in); err != nil {
		return nil, err
	}
	var u *app.User
	err := db.update(ctx, func(tx *sql.Tx) (err error) {
		u, err = db.insertUser(ctx, tx, in, actor)
		return err
	})
	return u, err
}

func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, in app.NewUser, actor app.Actor) (*app.User, error) {
	hash, err := app.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	u := &app.User{ID: newID(), Email: in.Email, Name: in.Name, Role: in.Role, Status: app.UserActive,
		PasswordHash: hash, CreatedAt: now}
	_, err = tx.ExecContext(ctx, `INSERT INTO users (id, email, name, role, status, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, u.Name, u.Role, u.Status, u.PasswordHash, now, now)
	if isUniqueViolation(err) {
		return nil, app.InvalidField("email", "A team member with this email already exists.")
	} else if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	if actor.Type == app.ActorSystem && actor.ID == "" {
		actor = app.UserActor(u) // a user who joins by themselves is their own actor
	}
	ev := app.NewEvent(app.EventUserCreated, "user", u.ID, actor, map[string]any{"email": u.Email, "name": u.Name, "role": u.Role})
	return u, db.appendEvent(ctx, tx, ev)
}

// ChangeRole sets a user's role. The last active admin cannot be demoted.
func (db *DB) ChangeRole(ctx context.Context, userID string, role app.Role, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return notFound(err, "User not found.")
		}
		if u.Role == role {
			return nil
		}
		if u.Role == app.RoleAdmin && u.Active() {
			if err := lastAdminGuard(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, db.Now(), u.ID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventUserRoleChanged, "user", u.ID, actor,
			map[string]any{"email": u.Email, "from": u.Role, "to": role}))
	})
}

// SetUserActive deactivates or reactivates a user. A deactivated user's
// sessions stop working at once: every request re-reads the user's status.
func (db *DB) SetUserActive(ctx context.Context, userID string, active bool, actor app.Actor) error {
	status, evType := app.UserDeactivated, app.EventUserDeactivated
	if active {
		status, evType = app.UserActive, app.EventUserReactivated
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return notFound(err, "User not found.")
		}
		if u.Status == status {
			return nil
		}
		if !active {
			if actor.Type == app.ActorUser && actor.ID == u.ID {
				return app.Errorf(app.ECONFLICT, "You cannot deactivate yourself.")
			}
			if u.Role == app.RoleAdmin {
				if err := lastAdminGuard(ctx, tx, u.ID); err != nil {
					return err
				}
			}
		}
		// Deactivation ends every session of the user for good, even if they
		// are reactivated later.
		if _, err := tx.ExecContext(ctx, `UPDATE users SET status = ?, updated_at = ?,
			session_epoch = session_epoch + ? WHERE id = ?`, status, db.Now(), boolInt(!active), u.ID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(evType, "user", u.ID, actor, map[string]any{"email": u.Email}))
	})
}

// lastAdminGuard refuses a change that would leave no active admin besides userID.
func lastAdminGuard(ctx context.Context, tx *sql.Tx, userID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND status = 'active' AND id <> ?`, userID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return app.Errorf(app.ECONFLICT, "A workspace needs at least one active admin. Make someone else an admin first.")
	}
	return nil
}

// RecordLogin stamps a successful sign-in and logs it.
func (db *DB) RecordLogin(ctx context.Context, u *app.User, ip string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, db.Now(), u.ID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventUserLoggedIn, "user", u.ID, app.UserActor(u), map[string]any{"ip": ip}))
	})
}

// RecordLoginFailed logs a failed sign-in for an existing account.
func (db *DB) RecordLoginFailed(ctx context.Context, u *app.User, ip string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventLoginFailed, "user", u.ID,
			app.Actor{Type: app.ActorUser, ID: u.ID, Name: u.Name}, map[string]any{"ip": ip}))
	})
}

// RecordLogout logs a sign-out.
func (db *DB) RecordLogout(ctx context.Context, u *app.User) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventUserLoggedOut, "user", u.ID, app.UserActor(u), nil))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ChangePassword sets a new password after checking the current one. It
// signs the user out of every session (the caller renews the current one).
func (db *DB) ChangePassword(ctx context.Context, u *app.User, current, next string) error {
	if !app.CheckPassword(u.PasswordHash, current) {
		return app.InvalidField("current_password", "The current password is not correct.")
	}
	if len(next) < app.MinPasswordLength || len(next) > 200 {
		return app.InvalidField("new_password", fmt.Sprintf("Must be %d to 200 characters.", app.MinPasswordLength))
	}
	hash, err := app.HashPassword(next)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		if err := setPassword(ctx, tx, u.ID, hash, db.Now()); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPasswordChanged, "user", u.ID, app.UserActor(u), nil))
	})
}

// UpdateProfile changes a user's display name.
func (db *DB) UpdateProfile(ctx context.Context, u *app.User, name string) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return app.InvalidField("name", "Enter your name (up to 100 characters).")
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, updated_at = ? WHERE id = ?`, name, db.Now(), u.ID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventProfileChanged, "user", u.ID, app.UserActor(u),
			map[string]any{"from": u.Name, "to": name}))
	})
}

// setPassword stores a new hash and bumps the session epoch.
func setPassword(ctx context.Context, tx *sql.Tx, userID, hash string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ?,
		session_epoch = session_epoch + 1 WHERE id = ?`, hash, now, userID)
	return err
}

// CreatePasswordReset returns the secret of a single-use link (valid
// PasswordResetTTL) that lets an active user choose a new password. Older
// unused links for the same user stop working.
func (db *DB) CreatePasswordReset(ctx context.Context, userID string, actor app.Actor) (string, *app.User, error) {
	secret := app.NewSecret("rst_")
	var u *app.User
	err := db.update(ctx, func(tx *sql.Tx) (err error) {
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return notFound(err, "User not found.")
		}
		if !u.Active() {
			return app.Errorf(app.ECONFLICT, "Reactivate %s before resetting their password.", u.Name)
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, now, u.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (secret_hash, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, app.HashSecret(secret), u.ID, actor.Name, now, now.Add(app.PasswordResetTTL)); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPasswordResetLinkCreated, "user", u.ID, actor, map[string]any{"email": u.Email}))
	})
	if err != nil {
		return "", nil, err
	}
	return secret, u, nil
}

// passwordResetUser returns the user a usable reset link belongs to.
func (db *DB) passwordResetUser(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, secret string) (*app.User, error) {
	var userID string
	var expires time.Time
	var used sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT user_id, expires_at, used_at FROM password_resets WHERE secret_hash = ?`,
		app.HashSecret(secret)).Scan(&userID, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, app.Errorf(app.EGONE, "This password-reset link is not valid. Ask an admin for a new one.")
	case err != nil:
		return nil, err
	case used.Valid:
		return nil, app.Errorf(app.EGONE, "This password-reset link has already been used or replaced. Ask an admin for a new one.")
	case !db.Now().Before(expires):
		return nil, app.Errorf(app.EGONE, "This password-reset link has expired. Ask an admin for a new one.")
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
	if err != nil {
		return nil, notFound(err, "User not found.")
	}
	if !u.Active() {
		return nil, app.Errorf(app.EGONE, "This account is deactivated.")
	}
	return u, nil
}

// PasswordResetUser returns the user whose usable reset link secret is, or EGONE.
func (db *DB) PasswordResetUser(ctx context.Context, secret string) (*app.User, error) {
	return db.passwordResetUser(ctx, db.reader(), secret)
}

// ResetPassword uses a reset link to set a new password, signing the user
// out of every existing session.
func (db *DB) ResetPassword(ctx context.Context, secret, password string) (*app.User, error) {
	if len(password) < app.MinPasswordLength || len(password) > 200 {
		return nil, app.InvalidField("password", fmt.Sprintf("Must be at least %d characters.", app.MinPasswordLength))
	}
	hash, err := app.HashPassword(password)
	if err != nil {
		return nil, err
	}
	var u *app.User
	err = db.update(ctx, func(tx *sql.Tx) (err error) {
		if u, err = db.passwordResetUser(ctx, tx, secret); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE secret_hash = ?`, db.Now(), app.HashSecret(secret)); err != nil {
			return err
		}
		if err := setPassword(ctx, tx, u.ID, hash, db.Now()); err != nil {
			return err
		}
		u.SessionEpoch++
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPasswordReset, "user", u.ID, app.UserActor(u), nil))
	})
	return u, err
}
