package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

const inviteColumns = `id, email, name, role, invited_by, created_at, expires_at, accepted_at, revoked_at`

func scanInvite(row rowScanner) (*app.Invite, error) {
	var i app.Invite
	var acc, rev sql.NullTime
	if err := row.Scan(&i.ID, &i.Email, &i.Name, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt, &acc, &rev); err != nil {
		return nil, err
	}
	i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
	i.AcceptedAt, i.RevokedAt = nullTime(acc), nullTime(rev)
	return &i, nil
}

// CreateInvite invites email to join with role and returns the invite and the
// link's secret, which is not stored and cannot be shown again. Inviting an
// address that has a pending invite withdraws the older one.
func (db *DB) CreateInvite(ctx context.Context, in app.NewInvite, actor app.Actor) (*app.Invite, string, error) {
	in.Email, in.Name = app.NormalizeEmail(in.Email), strings.TrimSpace(in.Name)
	if err := app.Validate(in); err != nil {
		return nil, "", err
	}
	secret := app.NewSecret("inv_")
	now := db.Now()
	inv := &app.Invite{ID: newID(), Email: in.Email, Name: in.Name, Role: in.Role, InvitedBy: actor.Name,
		CreatedAt: now, ExpiresAt: now.Add(app.InviteTTL)}
	err := db.update(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ?`, in.Email).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return app.InvalidField("email", "This person is already a member of the team.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET revoked_at = ?
			WHERE email = ? AND accepted_at IS NULL AND revoked_at IS NULL`, now, in.Email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO invites (id, email, name, role, secret_hash, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inv.ID, inv.Email, inv.Name, inv.Role, app.HashSecret(secret),
			inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt); err != nil {
			return fmt.Errorf("insert invite: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventUserInvited, "invite", inv.ID, actor,
			map[string]any{"email": inv.Email, "role": inv.Role, "expires_at": inv.ExpiresAt}))
	})
	if err != nil {
		return nil, "", err
	}
	return inv, secret, nil
}

// InviteBySecret returns the invite a link's secret belongs to, whatever its
// state, or ENOTFOUND.
func (db *DB) InviteBySecret(ctx context.Context, secret string) (*app.Invite, error) {
	inv, err := scanInvite(db.reader().QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE secret_hash = ?`, app.HashSecret(secret)))
	return inv, notFound(err, "This invitation link is not valid. Check that you copied all of it, or ask an admin for a new one.")
}

// AcceptInvite turns a usable invite into a user with the given name and
// password, in one transaction: a link works exactly once.
func (db *DB) AcceptInvite(ctx context.Context, secret string, in app.AcceptInvite) (*app.User, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := app.Validate(in); err != nil {
		return nil, err
	}
	var u *app.User
	err := db.update(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+` FROM invites WHERE secret_hash = ?`, app.HashSecret(secret)))
		if err != nil {
			return notFound(err, "This invitation link is not valid.")
		}
		if err := inv.Usable(db.Now()); err != nil {
			return err
		}
		u, err = db.insertUser(ctx, tx, app.NewUser{Email: inv.Email, Name: in.Name, Password: in.Password, Role: inv.Role}, app.SystemActor)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET accepted_at = ? WHERE id = ?`, db.Now(), inv.ID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventInviteAccepted, "invite", inv.ID, app.UserActor(u),
			map[string]any{"email": inv.Email, "role": inv.Role, "user_id": u.ID}))
	})
	return u, err
}

// ListPendingInvites returns invites not yet accepted or withdrawn, newest first.
func (db *DB) ListPendingInvites(ctx context.Context) ([]*app.Invite, error) {
	return queryAll(ctx, db.reader(), scanInvite, `SELECT `+inviteColumns+` FROM invites
		WHERE accepted_at IS NULL AND revoked_at IS NULL ORDER BY id DESC`)
}

// RevokeInvite withdraws a pending invite.
func (db *DB) RevokeInvite(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE invites SET revoked_at = ?
			WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, db.Now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "Invitation not found.")
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventInviteRevoked, "invite", id, actor, nil))
	})
}
