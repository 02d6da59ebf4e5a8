package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"parley/app"
)

const channelColumns = `id, type, name, settings, active, created_at, last_inbound_at, last_outbound_at, last_error, last_error_at, secrets`

// scanChannel reads a channel and opens its sealed credentials. A channel
// whose credentials this server cannot decrypt (another key) comes back
// without them and says so in LastError, so the settings page shows it
// and sending through it fails with that reason instead of a provider's.
func (db *DB) scanChannel(row rowScanner) (app.Channel, error) {
	var c app.Channel
	var settings, sealed string
	var in, out, errAt sql.NullTime
	err := row.Scan(&c.ID, &c.Type, &c.Name, &settings, &c.Active, &c.CreatedAt, &in, &out, &c.LastError, &errAt, &sealed)
	if err != nil {
		return c, err
	}
	c.Settings, c.CreatedAt = json.RawMessage(withoutBaseURL(settings, db.allowBaseURL)), c.CreatedAt.UTC()
	c.LastInboundAt, c.LastOutboundAt, c.LastErrorAt = nullTime(in), nullTime(out), nullTime(errAt)
	if sealed == "" {
		return c, nil
	}
	secrets, err := db.openSecrets(c.ID, sealed)
	if err != nil {
		c.LastError = "The credentials cannot be decrypted with this server's secret keys: enter them again."
		c.SecretsUnreadable = true
		return c, nil
	}
	c.Secrets = secrets
	return c, nil
}

// withoutBaseURL drops a channel's api_base_url unless the operator allows
// it: providers are then only ever called on their own hosts.
func withoutBaseURL(settings string, allowed bool) string {
	if allowed || !strings.Contains(settings, `"api_base_url"`) {
		return settings
	}
	var m map[string]any
	if json.Unmarshal([]byte(settings), &m) != nil {
		return settings
	}
	delete(m, "api_base_url")
	b, _ := json.Marshal(m)
	return string(b)
}

func (db *DB) secretsAAD(channelID string) []byte {
	return []byte("parley channel secrets\x00" + db.TenantID + "\x00" + channelID)
}

func (db *DB) openSecrets(channelID, sealed string) (map[string]string, error) {
	if db.sealer == nil {
		return nil, ErrUnsealable
	}
	b, err := db.sealer.Open(sealed, db.secretsAAD(channelID))
	if err != nil {
		return nil, err
	}
	var m map[string]string
	return m, json.Unmarshal(b, &m)
}

func (db *DB) sealSecrets(channelID string, secrets map[string]string) (string, error) {
	if len(secrets) == 0 {
		return "", nil
	}
	if db.sealer == nil {
		return "", app.Errorf(app.EUNAVAILABLE, "This Parley server has no secret key to encrypt credentials with: the operator sets PARLEY_SECRET_KEY.")
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return "", err
	}
	return db.sealer.Seal(b, db.secretsAAD(channelID))
}

// ListChannels returns the workspace's channels (not removed ones), oldest
// first.
func (db *DB) ListChannels(ctx context.Context) ([]app.Channel, error) {
	return queryAll(ctx, db.reader(), db.scanChannel, `SELECT `+channelColumns+` FROM channels
		WHERE deleted_at IS NULL ORDER BY created_at, id`)
}

// ChannelByID returns a channel that was not removed, or ENOTFOUND.
func (db *DB) ChannelByID(ctx context.Context, id string) (app.Channel, error) {
	c, err := db.scanChannel(db.reader().QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels
		WHERE id = ? AND deleted_at IS NULL`, id))
	return c, notFound(err, "Channel not found.")
}

// ConnectChannel adds a channel of type typ with its settings and sealed
// secrets, with a ChannelConnected event (which names the channel but never
// its settings). id may be given (the web layer needs it first, for the
// webhook URL in the settings); "" makes a new one.
func (db *DB) ConnectChannel(ctx context.Context, typ app.ChannelType, name string, settings any, secrets map[string]string, actor app.Actor) (app.Channel, error) {
	return db.ConnectChannelID(ctx, newID(), typ, name, settings, secrets, actor)
}

// NewChannelID returns an id for a channel about to be connected.
func NewChannelID() string { return newID() }

// ConnectChannelID is ConnectChannel with the channel's id chosen first.
func (db *DB) ConnectChannelID(ctx context.Context, id string, typ app.ChannelType, name string, settings any, secrets map[string]string, actor app.Actor) (app.Channel, error) {
	name, err := app.CheckChannelName(name)
	if err != nil {
		return app.Channel{}, err
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return app.Channel{}, err
	}
	sealed, err := db.sealSecrets(id, secrets)
	if err != nil {
		return app.Channel{}, err
	}
	c := app.Channel{ID: id, Type: typ, Name: name, Settings: b, Secrets: secrets, Active: true, CreatedAt: db.Now()}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO channels (id, type, name, settings, secrets, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Type, c.Name, string(b), sealed, c.CreatedAt); err != nil {
			return fmt.Errorf("insert channel: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelConnected, "channel", c.ID, actor,
			map[string]any{"type": typ, "name": name}))
	})
	return c, err
}

// UpdateChannel renames a channel, replaces its settings and secrets (nil
// secrets keep the stored ones) or turns it on or off. The event names
// which settings changed, never their values.
func (db *DB) UpdateChannel(ctx context.Context, id, name string, settings any, secrets map[string]string, active bool, actor app.Actor) error {
	name, err := app.CheckChannelName(name)
	if err != nil {
		return err
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		q, args := `UPDATE channels SET name = ?, settings = ?, active = ?`, []any{name, string(b), active}
		if secrets != nil {
			sealed, err := db.sealSecrets(id, secrets)
			if err != nil {
				return err
			}
			q, args = q+`, secrets = ?, last_error = ''`, append(args, sealed)
		}
		if err := refuseBuiltIn(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q+` WHERE id = ? AND deleted_at IS NULL`, append(args, id)...)
		if err != nil {
			return fmt.Errorf("update channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "Channel not found.")
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelChanged, "channel", id, actor,
			map[string]any{"name": name, "active": active, "credentials_changed": secrets != nil}))
	})
}

// DeleteChannel removes a channel: it stops sending and receiving and its
// credentials are erased; its messages keep their history. Queued messages
// on it fail with a reason the team can read.
func (db *DB) DeleteChannel(ctx context.Context, id string, actor app.Actor) error {
	now := db.Now()
	return db.update(ctx, func(tx *sql.Tx) error {
		if err := refuseBuiltIn(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE channels SET active = 0, secrets = '', deleted_at = ?
			WHERE id = ? AND deleted_at IS NULL`, now, id)
		if err != nil {
			return fmt.Errorf("remove channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "Channel not found.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'failed', attempt_open = 0,
			failure_reason = 'The channel was removed before the message was sent.'
			WHERE channel_id = ? AND status = 'queued'`, id); err != nil {
			return fmt.Errorf("fail queued messages: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelChanged, "channel", id, actor,
			map[string]any{"removed": true}))
	})
}

// refuseBuiltIn refuses to change or remove the website channel: the
// public site's contact form, web chat and portal depend on it.
func refuseBuiltIn(ctx context.Context, tx *sql.Tx, id string) error {
	var typ app.ChannelType
	err := tx.QueryRowContext(ctx, `SELECT type FROM channels WHERE id = ?`, id).Scan(&typ)
	if err == nil && typ == app.ChannelWebsite {
		return app.Errorf(app.ECONFLICT, "The website channel is built in: it carries your help center's messages and cannot be changed or removed.")
	} else if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("channel type: %w", err)
	}
	return nil
}

// SetChannelCursor saves a poller's position after what it fetched is
// stored.
func (db *DB) SetChannelCursor(ctx context.Context, id, cursor string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE channels SET cursor = ? WHERE id = ?`, cursor, id)
		return err
	})
}

// ChannelCursor returns a poller's saved position.
func (db *DB) ChannelCursor(ctx context.Context, id string) (string, error) {
	var cur string
	err := db.reader().QueryRowContext(ctx, `SELECT cursor FROM channels WHERE id = ?`, id).Scan(&cur)
	return cur, notFound(err, "Channel not found.")
}

// NoteChannelError records a channel's last error outside a send (a failed
// poll, a webhook that could not be registered).
func (db *DB) NoteChannelError(ctx context.Context, id, reason string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return noteChannelOutcome(ctx, tx, id, db.Now(), reason)
	})
}

// receiptAge is how long a webhook digest is kept: longer than any
// provider's retries.
const receiptAge = 7 * 24 * time.Hour

// WebhookSeen reports whether the channel already handled a request with
// this digest (an exact replay).
func (db *DB) WebhookSeen(ctx context.Context, channelID, digest string) (bool, error) {
	var n int
	err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM webhook_receipts WHERE channel_id = ? AND digest = ?`,
		channelID, digest).Scan(&n)
	return n > 0, err
}

// RecordWebhook remembers a handled request's digest (after what it
// carried is stored) and forgets week-old ones.
func (db *DB) RecordWebhook(ctx context.Context, channelID, digest string) error {
	now := db.Now()
	return db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_receipts (channel_id, digest, received_at)
			VALUES (?, ?, ?)`, channelID, digest, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM webhook_receipts WHERE received_at < ?`, now.Add(-receiptAge))
		return err
	})
}

// channelFor returns the channel a message of transport t to contact goes
// through: the one asked for, else the one the contact last wrote in on,
// else the oldest active real provider, the sandbox last.
func (db *DB) channelFor(ctx context.Context, q querier, t app.Transport, contactID, asked string) (app.Channel, error) {
	if asked != "" {
		c, err := db.scanChannel(q.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels
			WHERE id = ? AND deleted_at IS NULL`, asked))
		if err != nil {
			return app.Channel{}, notFound(err, "Channel not found.")
		}
		if !c.Active || !c.Serves(t) {
			return app.Channel{}, app.InvalidField("channel_id", "The channel "+c.Name+" cannot send "+t.Label()+" messages.")
		}
		return c, nil
	}
	if contactID != "" {
		c, err := db.scanChannel(q.QueryRowContext(ctx, `SELECT `+prefixed("ch.", channelColumns)+` FROM messages m
			JOIN channels ch ON ch.id = m.channel_id
			WHERE m.contact_id = ? AND m.direction = 'in' AND m.transport = ? AND ch.active = 1 AND ch.deleted_at IS NULL
			ORDER BY m.seq DESC LIMIT 1`, contactID, t))
		if err == nil && c.Serves(t) {
			return c, nil
		} else if err != nil && err != sql.ErrNoRows {
			return app.Channel{}, fmt.Errorf("conversation channel: %w", err)
		}
	}
	chs, err := queryAll(ctx, q, db.scanChannel, `SELECT `+channelColumns+` FROM channels WHERE active = 1
		AND deleted_at IS NULL ORDER BY type = 'sandbox', created_at`)
	if err != nil {
		return app.Channel{}, err
	}
	for _, c := range chs {
		if c.Serves(t) {
			return c, nil
		}
	}
	return app.Channel{}, app.InvalidField("contact_id", "No channel can send "+t.Label()+
		" messages yet: an admin connects one in Settings → Channels.")
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// noteChannelOutcome records a channel's last outbound time or last error.
func noteChannelOutcome(ctx context.Context, tx *sql.Tx, channelID string, now time.Time, sendErr string) error {
	var err error
	if sendErr == "" {
		_, err = tx.ExecContext(ctx, `UPDATE channels SET last_outbound_at = ? WHERE id = ?`, now, channelID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE channels SET last_error = ?, last_error_at = ? WHERE id = ?`, sendErr, now, channelID)
	}
	return err
}
