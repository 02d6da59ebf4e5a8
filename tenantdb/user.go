package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

const userColumns = `id, email, name, role, status, password_hash, created_at, last_login_at`

func scanUser(row rowScanner) (*app.User, error) {
	var u app.User
	var last sql.NullTime
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Status, &u.PasswordHash, &u.CreatedAt, &last); err != nil {
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
		if _, err := tx.ExecContext(ctx, `UPDATE users SET status = ?, updated_at = ? WHERE id = ?`, status, db.Now(), u.ID); err != nil {
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

// ChangePassword sets a new password after checking the current one.
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
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, db.Now(), u.ID); err != nil {
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
