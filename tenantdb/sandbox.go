package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"parley/app"
)

// OutboxEntry is a message the sandbox channel carried.
type OutboxEntry struct {
	ID          string
	Key         string
	ChannelID   string
	Transport   app.Transport
	Recipient   string
	Text        string
	Attachments int
	CreatedAt   time.Time
}

// SandboxDeliver puts a message in the sandbox outbox once per key and
// returns its outbox id; a second delivery with the same key returns the
// first one's id, as an idempotent provider would.
func (db *DB) SandboxDeliver(ctx context.Context, out app.Outbound) (string, error) {
	id := "sbx_" + newID()
	err := db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO sandbox_outbox (id, key, channel_id, transport, recipient, body,
			attachments, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET key = key RETURNING id`, id, out.Key, out.Channel.ID, out.Transport, out.To,
			out.Text, len(out.Attachments), db.Now()).Scan(&id)
		if err != nil {
			return fmt.Errorf("sandbox outbox: %w", err)
		}
		return nil
	})
	return id, err
}

// SandboxFind returns the outbox id of the message with key, if delivered.
func (db *DB) SandboxFind(ctx context.Context, key string) (string, bool, error) {
	var id string
	err := db.reader().QueryRowContext(ctx, `SELECT id FROM sandbox_outbox WHERE key = ?`, key).Scan(&id)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return id, err == nil, err
}

// SandboxOutbox returns the newest limit messages of the sandbox outbox.
func (db *DB) SandboxOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return queryAll(ctx, db.reader(), func(row rowScanner) (OutboxEntry, error) {
		var e OutboxEntry
		err := row.Scan(&e.ID, &e.Key, &e.ChannelID, &e.Transport, &e.Recipient, &e.Text, &e.Attachments, &e.CreatedAt)
		e.CreatedAt = e.CreatedAt.UTC()
		return e, err
	}, `SELECT id, key, channel_id, transport, recipient, body, attachments, created_at FROM sandbox_outbox
		ORDER BY seq DESC LIMIT ?`, limit)
}
