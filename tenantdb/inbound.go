package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parley/app"
)

// maxInboundText caps what is kept of one inbound message; a customer's
// words are never refused for length, only cut at a size no chat needs.
const maxInboundText = 64 << 10

// maxInboundHTML caps an email's kept HTML part.
const maxInboundHTML = 512 << 10

// ReceiveMessage is the inbound path every provider shares: it drops a
// message it has seen (by the provider's id), finds the client by the
// sender's contact or creates one, then writes the chat (if new), the
// member, the message, the unread count, notifications and the
// MessageReceived event in one transaction. duplicate reports a message
// that was already received; msg is then the first copy.
func (db *DB) ReceiveMessage(ctx context.Context, in app.InboundMessage) (msg app.Message, duplicate bool, err error) {
	if strings.TrimSpace(in.ProviderMessageID) == "" {
		return app.Message{}, false, app.InvalidField("provider_message_id", "Give the provider's id of the message.")
	}
	// Control characters (the search marks among them) are dropped; line
	// breaks and tabs stay.
	in.Text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(strings.ReplaceAll(in.Text, "\r\n", "\n"), "\uFFFD"))
	in.Text = strings.TrimSpace(in.Text)
	if len(in.Text) > maxInboundText {
		in.Text = strings.ToValidUTF8(in.Text[:maxInboundText], "") + "…"
	}
	in.Subject = strings.Join(strings.Fields(strings.ToValidUTF8(in.Subject, "\uFFFD")), " ")
	if utf8.RuneCountInString(in.Subject) > 300 {
		in.Subject = string([]rune(in.Subject)[:300]) + "…"
	}
	if len(in.HTML) > maxInboundHTML {
		in.HTML = "" // the text part is kept; a page this large is not a message to read in a chat
	}
	if in.Text == "" && len(in.Uploads) == 0 {
		return app.Message{}, false, app.InvalidField("text", "The message has no text and no files.")
	}
	for i := range in.Uploads {
		if err := app.CheckUpload(&in.Uploads[i], "attachments"); err != nil {
			return app.Message{}, false, err
		}
	}
	if in.Transport == "" {
		in.Transport = app.TransportFor(in.From.Type)
	}
	if in.Transport == "" {
		return app.Message{}, false, app.InvalidField("from.type", "Messages come from an email, phone, WhatsApp, Telegram or Instagram contact.")
	}
	var id string
	var files []storedFile
	err = db.update(ctx, func(tx *sql.Tx) error {
		// provider_message_id != '' lets SQLite use the partial index
		// messages_provider; without it this is a scan of every message.
		dir := app.DirectionIn
		if in.Direction == app.DirectionOut {
			dir = app.DirectionOut // a logged outgoing call
		}
		err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE channel_id = ? AND direction = ?
			AND provider_message_id = ? AND provider_message_id != ''`, in.ChannelID, dir, in.ProviderMessageID).Scan(&id)
		if err == nil {
			duplicate = true
			return nil
		} else if err != sql.ErrNoRows {
			return fmt.Errorf("dedupe inbound: %w", err)
		}
		var active bool
		if err := tx.QueryRowContext(ctx, `SELECT active FROM channels WHERE id = ?`, in.ChannelID).Scan(&active); err != nil || !active {
			return app.Errorf(app.ENOTFOUND, "Channel not found.")
		}
		country, err := defaultCountry(ctx, tx)
		if err != nil {
			return err
		}
		if err := in.From.NormalizeReceived("from", country); err != nil {
			return err
		}
		contact, clientName, err := db.threadSender(ctx, tx, in)
		if err != nil {
			return err
		}
		if files, err = db.storeFiles(in.Uploads); err != nil {
			return err
		}
		id = newID()
		return db.insertInbound(ctx, tx, id, in, contact, clientName, files)
	})
	if err != nil {
		removeFiles(files)
		return app.Message{}, false, err
	}
	msg, err = db.MessageByID(ctx, id, app.ChatScope{All: true})
	return msg, duplicate, err
}

// findOrCreateSender returns the live contact the message came from. A
// number known as the client's phone also matches their WhatsApp (and the
// other way round), so one person never becomes two clients; the new
// transport is added to their profile. An unknown sender becomes a new lead.
func (db *DB) findOrCreateSender(ctx context.Context, tx *sql.Tx, in app.InboundMessage) (app.Contact, string, error) {
	types := []app.ContactType{in.From.Type}
	if in.From.Type == app.ContactPhone || in.From.Type == app.ContactWhatsApp {
		types = []app.ContactType{in.From.Type, app.ContactPhone, app.ContactWhatsApp}
	}
	var found *app.Contact
	for _, t := range types {
		k, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts
			WHERE type = ? AND value = ? AND active = 1`, t, in.From.Value))
		if err == nil {
			found = &k
			break
		} else if err != sql.ErrNoRows {
			return app.Contact{}, "", fmt.Errorf("find sender: %w", err)
		}
	}
	now := db.Now()
	if found != nil && found.Type == in.From.Type {
		c, err := loadClient(ctx, tx, found.ClientID)
		if err != nil {
			return app.Contact{}, "", err
		}
		return *found, c.Name(), nil
	}
	if found != nil {
		k, err := insertContact(ctx, tx, found.ClientID, in.From, "from", now)
		if err != nil {
			return app.Contact{}, "", err
		}
		if err := db.contactChanged(ctx, tx, found.ClientID, "added", k, app.SystemActor, now); err != nil {
			return app.Contact{}, "", err
		}
		c, err := loadClient(ctx, tx, found.ClientID)
		if err != nil {
			return app.Contact{}, "", err
		}
		return k, c.Name(), refreshClientSearch(ctx, tx, c.ID)
	}
	name := strings.TrimSpace(in.SenderName)
	if name == "" {
		name = in.From.Value
	}
	first, last, _ := strings.Cut(name, " ")
	if len([]rune(first)) > 100 {
		first = string([]rune(first)[:100])
	}
	if len([]rune(last)) > 100 {
		last = ""
	}
	c, err := db.insertClient(ctx, tx, app.ClientInput{FirstName: first, LastName: last, Status: app.ClientLead,
		Contacts: []app.ContactInput{in.From}}, "", false, app.SystemActor)
	if err != nil {
		return app.Contact{}, "", fmt.Errorf("create client for sender: %w", err)
	}
	if err := refreshClientSearch(ctx, tx, c.ID); err != nil {
		return app.Contact{}, "", err
	}
	k, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE client_id = ?`, c.ID))
	return k, c.Name(), err
}

// insertInbound writes the message and everything it changes in its chat.
func (db *DB) insertInbound(ctx context.Context, tx *sql.Tx, id string, in app.InboundMessage, k app.Contact, clientName string, files []storedFile) error {
	chatID, _, err := db.ensureChat(ctx, tx, k.ClientID, app.SystemActor)
	if err != nil {
		return err
	}
	c, err := loadChat(ctx, tx, chatID, app.ChatScope{All: true})
	if err != nil {
		return err
	}
	now := db.Now()
	if k.ID != "" {
		if err := addMember(ctx, tx, chatID, member{kind: "client", contactID: k.ID, transport: string(in.Transport),
			meta: in.SenderMeta}, now); err != nil {
			return err
		}
	}
	senderName := strings.TrimSpace(in.SenderName)
	if senderName == "" {
		senderName = clientName
	}
	// A call the business made is logged as going out, from the system; it
	// is not the client's message to answer.
	direction, senderType, status := app.DirectionIn, "client", app.StatusReceived
	if in.Direction == app.DirectionOut {
		direction, senderType, status, senderName = app.DirectionOut, "system", app.StatusSent, "Call log"
	}
	details := in.Meta
	if in.Automatic {
		details = maps.Clone(details)
		if details == nil {
			details = map[string]string{}
		}
		details["automatic"] = "true"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, chat_id, kind, direction, transport, channel_id,
		contact_id, contact_value, sender_type, sender_id, sender_name, sender_meta, body, status, provider_message_id,
		subject, html, meta, created_at)
		VALUES (?, ?, 'message', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, chatID, direction, in.Transport, in.ChannelID, k.ID, k.Value, senderType, k.ClientID, senderName,
		jsonObject(in.SenderMeta), in.Text, status, in.ProviderMessageID, in.Subject, in.HTML, jsonObject(details), now); err != nil {
		return fmt.Errorf("insert inbound message: %w", err)
	}
	if err := insertAttachments(ctx, tx, id, files, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET last_inbound_at = ? WHERE id = ?`, now, in.ChannelID); err != nil {
		return err
	}
	if err := applyOptOut(ctx, db, tx, k, in.OptOut, now); err != nil {
		return err
	}
	payload := map[string]any{"message_id": id, "client_id": k.ClientID, "transport": in.Transport, "channel_id": in.ChannelID,
		"attachments": len(files)}
	if in.Automatic {
		payload["automatic"] = true
	}
	if direction == app.DirectionOut {
		payload["direction"] = direction
	}
	event := app.NewEvent(app.EventMessageReceived, "chat", chatID, app.Actor{Type: app.ActorSystem, Name: clientName}, payload)
	// An email's preview is its new words, not the history it quotes.
	shown := in.Text
	if in.Transport == app.TransportEmail {
		shown, _ = app.SplitQuoted(in.Text)
	}
	// Only the client's own words ask for an answer: an auto-reply or a
	// logged outgoing call is kept in the chat without counting as unread,
	// notifying anyone or reopening the chat.
	if in.Automatic || direction == app.DirectionOut {
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET message_count = message_count + 1, last_message_at = ?,
			last_transport = ?, last_preview = ? WHERE id = ?`, now, in.Transport, preview(shown, len(files)), chatID); err != nil {
			return fmt.Errorf("update chat: %w", err)
		}
		return db.appendEvent(ctx, tx, event)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET unread_count = unread_count + 1, message_count = message_count + 1,
		last_message_at = ?, last_transport = ?, last_preview = ?, reply_contact_id = coalesce(nullif(?, ''), reply_contact_id)
		WHERE id = ?`, now, in.Transport, preview(shown, len(files)), k.ID, chatID); err != nil {
		return fmt.Errorf("update chat: %w", err)
	}
	if c.Status != app.ChatOpen {
		if err := db.setChatStatus(ctx, tx, c.Chat, app.ChatOpen, nil, app.SystemActor); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET last_activity_at = ? WHERE id = ?`, now, k.ClientID); err != nil {
		return err
	}
	if err := notifyNewMessage(ctx, tx, c.Chat, id, clientName+": "+preview(shown, len(files)), now); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, event)
}

// jsonObject encodes a map of strings as a JSON object ("{}" when empty).
func jsonObject(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// applyOptOut records a client's STOP (or START) on the contact they wrote
// from, with an event; the message itself is kept like any other.
func applyOptOut(ctx context.Context, db *DB, tx *sql.Tx, k app.Contact, change app.OptOutChange, now time.Time) error {
	if change == "" || k.ID == "" {
		return nil
	}
	var at any
	if change == app.OptOutStop {
		at = now
	}
	res, err := tx.ExecContext(ctx, `UPDATE contacts SET opted_out_at = ?, updated_at = ? WHERE id = ?
		AND (opted_out_at IS NULL) = ?`, at, now, k.ID, change == app.OptOutStop)
	if err != nil {
		return fmt.Errorf("record opt-out: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already in that state
	}
	if err := suppress(ctx, tx, k, change == app.OptOutStop, now); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventContactOptOut, "client", k.ClientID, app.SystemActor,
		map[string]any{"contact_id": k.ID, "type": k.Type, "opted_out": change == app.OptOutStop}))
}

// notifyNewMessage tells the chat's assignee of a new message or, when the
// chat is unassigned, everyone who works conversations.
func notifyNewMessage(ctx context.Context, tx *sql.Tx, c app.Chat, messageID, text string, now time.Time) error {
	if c.AssigneeID != "" {
		return notify(ctx, tx, c.AssigneeID, "message", c.ID, messageID, text, now)
	}
	users, err := queryAll(ctx, tx, scanUser, `SELECT `+userColumns+` FROM users WHERE status = 'active'`)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Role.Can(app.PermWorkConversations) {
			if err := notify(ctx, tx, u.ID, "message", c.ID, messageID, text, now); err != nil {
				return err
			}
		}
	}
	return nil
}
