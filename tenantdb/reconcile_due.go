package tenantdb

import (
	"context"
	"database/sql"
	"time"
)

// ReconcileNever is the due time of a tenant whose file asks nothing of the
// periodic reconciler: it is visited again only once it has been opened
// (and so its due time cleared) by someone else.
var ReconcileNever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// nextDueQueries each return the earliest time one kind of the reconciler's
// work falls due in a tenant file, through the partial index that kind
// already has. A queued message or an erasure is due from when it was
// written: the reconciler's grace is short beside how long a tenant stays
// open, and a visit that comes early finds nothing and costs one open.
var nextDueQueries = []string{
	`SELECT snoozed_until FROM chats WHERE status = 'snoozed' AND snoozed_until IS NOT NULL
		ORDER BY snoozed_until LIMIT 1`,
	`SELECT expires_at FROM consents WHERE state = 'granted' AND expires_at IS NOT NULL
		ORDER BY expires_at LIMIT 1`,
	`SELECT created_at FROM messages INDEXED BY messages_queued WHERE status = 'queued'
		ORDER BY created_at LIMIT 1`,
	`SELECT erasure_requested_at FROM clients INDEXED BY clients_erasure_pending
		WHERE erasure_requested_at IS NOT NULL ORDER BY erasure_requested_at LIMIT 1`,
}

// polledChannelQuery finds a channel the reconciler enqueues a poll for on
// every pass: an active email channel with an IMAP host (the email
// driver's Pollable).
const polledChannelQuery = `SELECT EXISTS (SELECT 1 FROM channels WHERE active = 1 AND type = 'email'
	AND coalesce(json_extract(settings, '$.imap_host'), '') != '')`

// NextDue returns when the tenant next needs the periodic reconciler if it
// stays closed: the earliest snoozed chat's wake-up, consent expiry, queued
// message or pending erasure, or now when a mailbox is polled (every pass).
// It returns ReconcileNever when nothing is pending.
func (db *DB) NextDue(ctx context.Context) (time.Time, error) {
	due := ReconcileNever
	var polled bool
	if err := db.reader().QueryRowContext(ctx, polledChannelQuery).Scan(&polled); err != nil {
		return time.Time{}, err
	}
	if polled {
		return db.Now(), nil
	}
	for _, q := range nextDueQueries {
		var t sql.NullTime
		if err := db.reader().QueryRowContext(ctx, q).Scan(&t); err != nil && err != sql.ErrNoRows {
			return time.Time{}, err
		}
		if t.Valid && t.Time.Before(due) {
			due = t.Time.UTC()
		}
	}
	return due, nil
}

// clearReconcileDue marks tenant id as due now (unknown): it is being
// opened, so what it asks for may change until it is closed again. The
// update skips a row already clear, so reopening writes nothing.
func (c *Control) clearReconcileDue(ctx context.Context, id string) error {
	_, err := c.p.write.ExecContext(ctx, `UPDATE tenants SET reconcile_due_at = NULL
		WHERE id = ? AND reconcile_due_at IS NOT NULL`, id)
	return err
}

// setReconcileDue records when closed tenant id next needs the reconciler.
func (c *Control) setReconcileDue(ctx context.Context, id string, due time.Time) error {
	_, err := c.p.write.ExecContext(ctx, `UPDATE tenants SET reconcile_due_at = ? WHERE id = ?`, due.UTC(), id)
	return err
}

// ReconcileDue returns the ids of active tenants the reconciler must visit
// at now even if closed: those whose due time has passed or is unknown.
func (c *Control) ReconcileDue(ctx context.Context, now time.Time) ([]string, error) {
	return queryAll(ctx, c.p.read, scanString, `SELECT id FROM tenants
		WHERE status = 'active' AND (reconcile_due_at IS NULL OR reconcile_due_at <= ?) ORDER BY slug`, now.UTC())
}

// ReconcileDueAt returns the recorded due time of tenant id; ok is false
// while it is unknown (open, or not closed cleanly since).
func (c *Control) ReconcileDueAt(ctx context.Context, id string) (due time.Time, ok bool, err error) {
	var t sql.NullTime
	err = c.p.read.QueryRowContext(ctx, `SELECT reconcile_due_at FROM tenants WHERE id = ?`, id).Scan(&t)
	return t.Time.UTC(), t.Valid, notFound(err, "Workspace not found.")
}
