package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"parley/app"
)

// RetentionPolicy returns the workspace's retention policy.
func (db *DB) RetentionPolicy(ctx context.Context) (app.RetentionPolicy, error) {
	var p app.RetentionPolicy
	err := db.reader().QueryRowContext(ctx, `SELECT retain_messages_days, retain_messages_mode, retain_attachments_days,
		purge_deleted_clients_days FROM workspace_settings WHERE id = 1`).Scan(&p.MessagesDays, &p.MessagesMode,
		&p.AttachmentsDays, &p.DeletedClientsDays)
	return p, err
}

// SetRetentionPolicy saves the policy with a SettingsChanged event that
// records the old and new values.
func (db *DB) SetRetentionPolicy(ctx context.Context, p app.RetentionPolicy, actor app.Actor) (app.RetentionPolicy, error) {
	if err := p.Normalize(); err != nil {
		return p, err
	}
	old, err := db.RetentionPolicy(ctx)
	if err != nil {
		return p, err
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE workspace_settings SET retain_messages_days = ?, retain_messages_mode = ?,
			retain_attachments_days = ?, purge_deleted_clients_days = ? WHERE id = 1`,
			p.MessagesDays, p.MessagesMode, p.AttachmentsDays, p.DeletedClientsDays); err != nil {
			return fmt.Errorf("save retention policy: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventSettingsChanged, "workspace", db.TenantID, actor,
			map[string]any{"retention": map[string]any{"from": old, "to": p}}))
	})
	return p, err
}

// SweepBatch is how many rows one sweep transaction handles at most, so a
// large workspace never holds its writer for long.
const SweepBatch = 500

// Sweep applies the retention policy in batches of SweepBatch, up to
// maxBatches of them, and records what it removed (counts, not content) in
// the event log. Result.More says work is left for another run.
func (db *DB) Sweep(ctx context.Context, maxBatches int) (app.SweepResult, error) {
	var res app.SweepResult
	p, err := db.RetentionPolicy(ctx)
	if err != nil {
		return res, err
	}
	now := db.Now()
	budget := maxBatches
	// Each step runs its batches while it finds a full batch and budget
	// remains.
	steps := []func() (int, error){
		func() (int, error) { return db.sweepMessages(ctx, p, &res) },
		func() (int, error) { return db.sweepAttachments(ctx, app.Cutoff(now, p.AttachmentsDays), &res) },
		func() (int, error) { return db.sweepDeletedClients(ctx, app.Cutoff(now, p.DeletedClientsDays), &res) },
	}
	for _, step := range steps {
		for budget > 0 {
			n, err := step()
			if err != nil {
				return res, err
			}
			budget--
			if n < SweepBatch {
				break
			}
		}
	}
	res.More = budget == 0
	if err := db.sweepExpired(ctx, &res); err != nil {
		return res, err
	}
	if res.Total() == 0 {
		return res, nil
	}
	return res, db.update(ctx, func(tx *sql.Tx) error {
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventRetentionSwept, "workspace", db.TenantID, app.SystemActor, res))
	})
}

// notHeld selects messages whose client is not on legal hold.
const notHeld = `NOT EXISTS (SELECT 1 FROM chats c JOIN clients k ON k.id = c.client_id WHERE c.id = m.chat_id AND k.legal_hold = 1)`

// sweepMessages deletes or anonymises one batch of messages older than the
// policy's age, oldest first; it returns how many it handled.
func (db *DB) sweepMessages(ctx context.Context, p app.RetentionPolicy, res *app.SweepResult) (int, error) {
	cutoff := app.Cutoff(db.Now(), p.MessagesDays)
	if cutoff.IsZero() {
		return 0, nil
	}
	redact := p.MessagesMode == app.RetainAnonymise
	var files []string
	var n int
	err := db.update(ctx, func(tx *sql.Tx) error {
		ids, err := queryAll(ctx, tx, scanString, `SELECT m.id FROM messages m INDEXED BY messages_age
			WHERE m.redacted_at IS NULL AND m.created_at < ? AND `+notHeld+` ORDER BY m.created_at LIMIT ?`, cutoff, SweepBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		// What retention removes is overwritten, in the file and the
		// search index alike, as an erasure's is.
		restore, err := overwriteDeletes(ctx, tx)
		if err != nil {
			return err
		}
		files, err = purgeMessages(ctx, tx, ids, redact, db.Now())
		if err != nil {
			return err
		}
		return restore()
	})
	if err != nil {
		return 0, err
	}
	db.removeFilesAt(files)
	if redact {
		res.Anonymised += n
	} else {
		res.Messages += n
	}
	res.Attachments += len(files)
	return n, nil
}

// sweepAttachments deletes one batch of attachments older than cutoff
// (their messages stay, saying a file was there).
func (db *DB) sweepAttachments(ctx context.Context, cutoff time.Time, res *app.SweepResult) (int, error) {
	if cutoff.IsZero() {
		return 0, nil
	}
	var ids []string
	err := db.update(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = queryAll(ctx, tx, scanString, `SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id
			WHERE a.created_at < ? AND `+notHeld+` ORDER BY a.created_at LIMIT ?`, cutoff, SweepBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		in, args := inList(ids)
		_, err = tx.ExecContext(ctx, `DELETE FROM attachments WHERE id IN (`+in+`)`, args...) // #nosec G202 -- in is ? placeholders from inList; the ids are bound
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep attachments: %w", err)
	}
	db.removeFilesAt(ids)
	res.Attachments += len(ids)
	return len(ids), nil
}

// deletedClientsPerBatch is how many deleted clients one sweep step
// erases: each is an erasure in its own small transactions.
const deletedClientsPerBatch = 20

// sweepDeletedClients erases clients deleted before cutoff (not merged
// away, not on legal hold, not erased yet), as an erasure request would.
// A client whose erasure was requested is left to its job, which is
// erasing them already. It returns SweepBatch when it filled its batch, so
// the sweep comes back.
func (db *DB) sweepDeletedClients(ctx context.Context, cutoff time.Time, res *app.SweepResult) (int, error) {
	if cutoff.IsZero() {
		return 0, nil
	}
	ids, err := queryAll(ctx, db.reader(), scanString, `SELECT id FROM clients WHERE deleted_at IS NOT NULL AND deleted_at < ?
		AND merged_into IS NULL AND erased_at IS NULL AND legal_hold = 0 AND erasure_requested_at IS NULL
		ORDER BY deleted_at LIMIT ?`, cutoff, deletedClientsPerBatch)
	if err != nil {
		return 0, fmt.Errorf("deleted clients to erase: %w", err)
	}
	for _, id := range ids {
		erased, err := db.purgeClient(ctx, id)
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND && app.ErrorCode(err) != app.ECONFLICT {
			return 0, fmt.Errorf("erase deleted client: %w", err)
		}
		if erased {
			res.Clients++
		}
	}
	if len(ids) == deletedClientsPerBatch {
		return SweepBatch, nil
	}
	return len(ids), nil
}

// sweepExpired removes what has expired whatever the policy: invitations,
// sign-in and password-reset links, sessions; and moves consents past
// their expiry to Expired.
func (db *DB) sweepExpired(ctx context.Context, res *app.SweepResult) error {
	now := db.Now()
	err := db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			count *int
			sql   string
		}{
			{&res.Invites, `DELETE FROM invites WHERE expires_at <= ? AND accepted_at IS NULL`},
			{&res.Sessions, `DELETE FROM sessions WHERE expiry <= ?`},
			{&res.Links, `DELETE FROM login_links WHERE expires_at <= ?`},
			{&res.Links, `DELETE FROM password_resets WHERE expires_at <= ?`},
		} {
			r, err := tx.ExecContext(ctx, q.sql, now)
			if err != nil {
				return fmt.Errorf("remove expired: %w", err)
			}
			n, _ := r.RowsAffected()
			*q.count += int(n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n, err := db.ExpireConsents(ctx)
	res.ConsentsExpired += n
	return err
}

// SetLegalHold puts a client on legal hold (exempt from retention sweeps
// and erasure) or takes them off it, with a LegalHoldChanged event.
func (db *DB) SetLegalHold(ctx context.Context, clientID string, hold bool, actor app.Actor) error {
	now := db.Now()
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := loadClient(ctx, tx, clientID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE clients SET legal_hold = ? WHERE id = ? AND legal_hold != ?`, hold, clientID, hold)
		if err != nil {
			return fmt.Errorf("legal hold: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already so
		}
		if err := touchClient(ctx, tx, clientID, now); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventLegalHoldChanged, "client", clientID, actor,
			map[string]any{"legal_hold": hold}))
	})
}

// LegalHold reports whether a client is on legal hold.
func (db *DB) LegalHold(ctx context.Context, clientID string) (bool, error) {
	var hold bool
	err := db.reader().QueryRowContext(ctx, `SELECT legal_hold FROM clients WHERE id = ?`, clientID).Scan(&hold)
	return hold, notFound(err, "Client not found.")
}
