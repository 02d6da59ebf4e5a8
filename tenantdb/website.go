package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

// WebsiteChannel returns the workspace's built-in website channel, making
// it on first use. Every workspace has exactly one: messages from the
// contact form, the web chat and the customer portal arrive through it,
// and the team's replies in those conversations go out through it (to the
// visitor's chat panel or the portal).
func (db *DB) WebsiteChannel(ctx context.Context) (app.Channel, error) {
	c, err := db.scanChannel(db.reader().QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels
		WHERE type = ? AND deleted_at IS NULL ORDER BY created_at LIMIT 1`, app.ChannelWebsite))
	if err == nil {
		return c, nil
	} else if err != sql.ErrNoRows {
		return app.Channel{}, fmt.Errorf("website channel: %w", err)
	}
	var id string
	err = db.update(ctx, func(tx *sql.Tx) error {
		// Checked again under the write lock: two first messages at once
		// must not make two channels.
		err := tx.QueryRowContext(ctx, `SELECT id FROM channels WHERE type = ? AND deleted_at IS NULL
			ORDER BY created_at LIMIT 1`, app.ChannelWebsite).Scan(&id)
		if err != sql.ErrNoRows {
			return err
		}
		id = newID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO channels (id, type, name, settings, created_at) VALUES (?, ?, ?, '{}', ?)`,
			id, app.ChannelWebsite, "Website", db.Now()); err != nil {
			return fmt.Errorf("insert website channel: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChannelConnected, "channel", id, app.SystemActor,
			map[string]any{"type": app.ChannelWebsite, "name": "Website"}))
	})
	if err != nil {
		return app.Channel{}, err
	}
	return db.scanChannel(db.reader().QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ?`, id))
}

// ReceiveWebsiteMessage stores a message a customer wrote on the public
// site: the client is found by the contact given (or created as a lead,
// named as they typed), and the message lands in their one chat with
// transport website, unread for the team, who see it live. The same Key
// twice stores one message (duplicate reports it).
//
// The team's answer goes out by the contact's own transport, as always:
// to the email given in the contact form or used to sign in to the portal
// (the portal shows every reply, whatever its transport), and to a web
// chat visitor's own contact in the chat panel.
func (db *DB) ReceiveWebsiteMessage(ctx context.Context, in app.WebsiteMessage) (msg app.Message, duplicate bool, err error) {
	if strings.TrimSpace(in.Key) == "" {
		return app.Message{}, false, app.InvalidField("key", "A website message needs a key.")
	}
	ch, err := db.WebsiteChannel(ctx)
	if err != nil {
		return app.Message{}, false, err
	}
	meta := map[string]string{"source": string(in.Source)}
	return db.ReceiveMessage(ctx, app.InboundMessage{
		ChannelID:         ch.ID,
		From:              in.From,
		Transport:         app.TransportWebsite,
		SenderName:        in.Name,
		Subject:           in.Subject,
		Text:              in.Text,
		Uploads:           in.Uploads,
		ProviderMessageID: string(in.Source) + ":" + in.Key,
		Meta:              meta,
	})
}
