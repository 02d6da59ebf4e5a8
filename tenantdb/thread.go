package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

// threadSender returns the contact an inbound message is filed under. Email
// replies are threaded first by Parley's reply token, then by the
// Message-IDs they answer, so a reply lands in its conversation even when a
// colleague of the client sends it from another address; everything else
// (and mail that threads nowhere) goes by the sender, whose one chat holds
// every subject.
func (db *DB) threadSender(ctx context.Context, tx *sql.Tx, in app.InboundMessage) (app.Contact, string, error) {
	clientID, err := threadClient(ctx, tx, in)
	if err != nil || clientID == "" {
		if err != nil {
			return app.Contact{}, "", err
		}
		return db.findOrCreateSender(ctx, tx, in)
	}
	c, err := loadClient(ctx, tx, clientID)
	if err != nil {
		return app.Contact{}, "", err
	}
	k, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE type = ? AND value = ? AND active = 1 AND client_id = ?`, in.From.Type, in.From.Value, clientID))
	switch {
	case err == sql.ErrNoRows:
		// An address that is not the client's (a colleague on copy, or
		// anyone who has a forwarded copy of the thread) joins the thread
		// under its address alone: it is not added to the client's
		// contacts and does not become where replies go, so quoting a
		// thread is never a way to take it over. The team can add it.
		return app.Contact{ClientID: clientID, Type: in.From.Type, Value: in.From.Value}, c.Name(), nil
	case err != nil:
		return app.Contact{}, "", fmt.Errorf("find sender: %w", err)
	}
	return k, c.Name(), nil
}

// threadClient finds the client whose conversation an email answers: by
// reply token, then by the newest known Message-ID among its references.
// "" means no thread matched.
func threadClient(ctx context.Context, tx *sql.Tx, in app.InboundMessage) (string, error) {
	if in.Transport != app.TransportEmail {
		return "", nil
	}
	var clientID string
	if tok := strings.TrimSpace(in.ReplyToken); tok != "" {
		err := tx.QueryRowContext(ctx, `SELECT coalesce(m.client_id, c.client_id) FROM chats c
			LEFT JOIN chats m ON m.id = c.merged_into WHERE c.reply_token = ?`, tok).Scan(&clientID)
		if err == nil {
			return clientID, nil
		} else if err != sql.ErrNoRows {
			return "", fmt.Errorf("thread by token: %w", err)
		}
	}
	refs := in.References
	if len(refs) > 20 {
		refs = refs[:20]
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		err := tx.QueryRowContext(ctx, `SELECT coalesce(mc.client_id, c.client_id) FROM messages m
			JOIN chats c ON c.id = m.chat_id LEFT JOIN chats mc ON mc.id = c.merged_into
			WHERE m.provider_message_id = ? AND m.provider_message_id != '' AND m.transport = 'email' LIMIT 1`, ref).Scan(&clientID)
		if err == nil {
			return clientID, nil
		} else if err != sql.ErrNoRows {
			return "", fmt.Errorf("thread by references: %w", err)
		}
	}
	return "", nil
}
