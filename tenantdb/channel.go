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

const channelColumns = `id, type, name, settings, active, created_at, last_inbound_at, last_outbound_at, last_error, last_error_at`

func scanChannel(row rowScanner) (app.Channel, error) {
	var c app.Channel
	var settings string
	var in, out, errAt sql.NullTime
	err := row.Scan(&c.ID, &c.Type, &c.Name, &settings, &c.Active, &c.CreatedAt, &in, &out, &c.LastError, &errAt)
	c.Settings, c.CreatedAt = json.RawMessage(settings), c.CreatedAt.UTC()
	c.LastInboundAt, c.LastOutboundAt, c.LastErrorAt = nullTime(in), nullTime(out), nullTime(errAt)
	return c, err
}

// ListChannels returns the workspace's channels, oldest first.
func (db *DB) ListChannels(ctx context.Context) ([]app.Channel, error) {
	return queryAll(ctx, db.reader(), scanChannel, `SELECT `+channelColumns+` FROM channels ORDER BY created_at, id`)
}

// ChannelByID returns a channel, or ENOTFOUND.
func (db *DB) ChannelByID(ctx context.Context, id string) (app.Channel, error) {
	c, err := scanChannel(db.reader().QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ?`, id))
	return c, notFound(err, "Channel not found.")
}

// ConnectChannel adds a channel of type typ with its settings, with a
// ChannelConnected event (which names the channel but never its settings:
// they may hold credentials).
func (db *DB) ConnectChannel(ctx context.Context, typ app.ChannelType, name string, settings any, actor app.Actor) (app.Channel, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return app.Channel{}, app.InvalidField("name", "Name the channel (up to 80 characters).")
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return app.Channel{}, err
	}
	c := app.Channel{ID: newID(), Type: typ, Name: name, Settings: b, Active: true, CreatedAt: db.Now()}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO channels (id, type, name, settings, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.Type, c.Name, string(b), c.CreatedAt); err != nil {
			return fmt.Errorf("insert channel: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelConnected, "channel", c.ID, actor,
			map[string]any{"type": typ, "name": name}))
	})
	return c, err
}

// UpdateChannel renames a channel, changes its settings or turns it on or off.
func (db *DB) UpdateChannel(ctx context.Context, id, name string, settings any, active bool, actor app.Actor) error {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return app.InvalidField("name", "Name the channel (up to 80 characters).")
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE channels SET name = ?, settings = ?, active = ? WHERE id = ?`, name, string(b), active, id)
		if err != nil {
			return fmt.Errorf("update channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.Errorf(app.ENOTFOUND, "Channel not found.")
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelChanged, "channel", id, actor,
			map[string]any{"name": name, "active": active}))
	})
}

// channelFor returns the active channel that carries transport t: the
// oldest real provider first, the sandbox last.
func channelFor(ctx context.Context, q querier, t app.Transport) (app.Channel, error) {
	chs, err := queryAll(ctx, q, scanChannel, `SELECT `+channelColumns+` FROM channels WHERE active = 1
		ORDER BY type = 'sandbox', created_at`)
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
