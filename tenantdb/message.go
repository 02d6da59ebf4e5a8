package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app"
)

const messageColumns = `m.id, m.chat_id, m.kind, m.direction, m.transport, m.channel_id, m.contact_id, m.contact_value,
	m.sender_type, m.sender_id, m.sender_name, m.sender_meta, m.body, m.template_id, m.marketing, m.mentions,
	m.status, m.failure_reason, m.provider_message_id, m.send_attempts, m.created_at, m.sent_at, m.delivered_at, m.read_at,
	m.subject, m.meta, m.html != ''`

func scanMessage(row rowScanner) (app.Message, error) { return scanMessageWith(row) }

// scanMessageWith scans a message followed by the extra columns.
func scanMessageWith(row rowScanner, extra ...any) (app.Message, error) {
	var m app.Message
	var meta, mentions, details string
	var sent, delivered, read sql.NullTime
	err := row.Scan(append([]any{&m.ID, &m.ChatID, &m.Kind, &m.Direction, &m.Transport, &m.ChannelID, &m.ContactID,
		&m.ContactValue, &m.Sender.Type, &m.Sender.ID, &m.Sender.Name, &meta, &m.Text, &m.TemplateID, &m.Marketing,
		&mentions, &m.Status, &m.FailureReason, &m.ProviderMessageID, &m.SendAttempts, &m.CreatedAt, &sent, &delivered,
		&read, &m.Subject, &details, &m.HasHTML}, extra...)...)
	if err != nil {
		return m, err
	}
	if details != "{}" {
		_ = json.Unmarshal([]byte(details), &m.Meta) // written by us as a JSON object of strings
	}
	if meta != "{}" {
		_ = json.Unmarshal([]byte(meta), &m.Sender.Meta) // written by us as a JSON object
	}
	if mentions != "[]" {
		_ = json.Unmarshal([]byte(mentions), &m.Mentions)
	}
	m.CreatedAt, m.SentAt, m.DeliveredAt, m.ReadAt = m.CreatedAt.UTC(), nullTime(sent), nullTime(delivered), nullTime(read)
	m.Attachments = []app.Attachment{}
	return m, nil
}

func errMessageNotFound() error { return app.Errorf(app.ENOTFOUND, "Message not found.") }

// MessageByID returns a message of a chat that scope may see.
func (db *DB) MessageByID(ctx context.Context, id string, scope app.ChatScope) (app.Message, error) {
	m, err := scanMessage(db.reader().QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, id))
	if err != nil {
		return m, notFound(err, "Message not found.")
	}
	if _, err := loadChat(ctx, db.reader(), m.ChatID, scope); err != nil {
		return app.Message{}, errMessageNotFound()
	}
	msgs := []app.Message{m}
	return msgs[0], db.attachFiles(ctx, db.reader(), msgs)
}

// ListMessages returns up to limit messages of a chat, oldest first, that
// come before the message with id before (the newest when empty); more says
// older ones remain.
func (db *DB) ListMessages(ctx context.Context, chatID string, scope app.ChatScope, before string, limit int) (msgs []app.Message, more bool, err error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if _, err := loadChat(ctx, db.reader(), chatID, scope); err != nil {
		return nil, false, err
	}
	where, args := "m.chat_id = ?", []any{chatID}
	if before != "" {
		var seq int64
		if err := db.reader().QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ? AND chat_id = ?`, before, chatID).Scan(&seq); err != nil {
			return nil, false, app.InvalidField("before", "No message of this conversation has that id.")
		}
		where, args = where+" AND m.seq < ?", append(args, seq)
	}
	msgs, err = queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m WHERE `+where+`
		ORDER BY m.seq DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("list messages: %w", err)
	}
	if more = len(msgs) > limit; more {
		msgs = msgs[:limit]
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, more, db.attachFiles(ctx, db.reader(), msgs)
}

// MessagesAfter returns the chat's messages written after the message with
// id after, oldest first (at most 200): what a live view appends.
func (db *DB) MessagesAfter(ctx context.Context, chatID string, scope app.ChatScope, after string) ([]app.Message, error) {
	if _, err := loadChat(ctx, db.reader(), chatID, scope); err != nil {
		return nil, err
	}
	var seq int64
	if err := db.reader().QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ? AND chat_id = ?`, after, chatID).Scan(&seq); err != nil {
		return nil, app.InvalidField("after", "No message of this conversation has that id.")
	}
	msgs, err := queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m WHERE m.chat_id = ?
		AND m.seq > ? ORDER BY m.seq LIMIT 200`, chatID, seq)
	if err != nil {
		return nil, fmt.Errorf("messages after: %w", err)
	}
	return msgs, db.attachFiles(ctx, db.reader(), msgs)
}

// attachFiles fills in the attachments of msgs with one query.
func (db *DB) attachFiles(ctx context.Context, q querier, msgs []app.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	byID := make(map[string]int, len(msgs))
	args := make([]any, len(msgs))
	for i, m := range msgs {
		byID[m.ID], args[i] = i, m.ID
	}
	as, err := queryAll(ctx, q, scanAttachment, `SELECT `+attachmentColumns+` FROM attachments WHERE message_id IN (?`+
		strings.Repeat(", ?", len(msgs)-1)+`) ORDER BY id`, args...)
	for _, a := range as {
		i := byID[a.MessageID]
		msgs[i].Attachments = append(msgs[i].Attachments, a)
	}
	return err
}

// preview is the start of a message's text for the chat list.
func preview(text string, files int) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" && files > 0 {
		return "Attachment"
	}
	if utf8.RuneCountInString(text) > 120 {
		text = string([]rune(text)[:119]) + "…"
	}
	return text
}

// SendMessage writes a message from the team into a chat: to the client
// (status queued, for the delivery worker) or, with in.Note, an internal
// note. The message, its attachments, the chat's counters, the template's
// use count and the event commit together; the caller enqueues delivery
// after the commit.
func (db *DB) SendMessage(ctx context.Context, chatID string, in app.SendInput, scope app.ChatScope, actor app.Actor) (app.Message, error) {
	if err := in.Normalize(); err != nil {
		return app.Message{}, err
	}
	var files []storedFile
	for i := range in.Uploads {
		if err := app.CheckUpload(&in.Uploads[i], "attachments"); err != nil {
			return app.Message{}, err
		}
	}
	id := newID()
	err := db.update(ctx, func(tx *sql.Tx) error {
		c, err := loadChat(ctx, tx, chatID, scope)
		if err != nil {
			return err
		}
		if err := checkNotErasing(ctx, tx, c.ClientID); err != nil {
			return err
		}
		if in.Note {
			return db.insertChatNote(ctx, tx, c.Chat, id, in.Text, actor)
		}
		if files, err = db.storeFiles(in.Uploads); err != nil {
			return err
		}
		return db.insertOutbound(ctx, tx, c.Chat, id, in, files, actor)
	})
	if err != nil {
		removeFiles(files)
		return app.Message{}, err
	}
	return db.MessageByID(ctx, id, app.ChatScope{All: true})
}

// insertOutbound writes a queued message to the client through the chosen
// (or the default) contact and the channel that carries its transport.
func (db *DB) insertOutbound(ctx context.Context, tx *sql.Tx, c app.Chat, id string, in app.SendInput, files []storedFile, actor app.Actor) error {
	contact, err := replyContact(ctx, tx, c, in.ContactID)
	if err != nil {
		return err
	}
	transport := app.TransportFor(contact.Type)
	ch, err := db.channelFor(ctx, tx, transport, contact.ID, in.ChannelID)
	if err != nil {
		return err
	}
	now := db.Now()
	if err := checkCanMessage(ctx, tx, contact, ch, now); err != nil {
		return err
	}
	if in.Marketing {
		ok, err := marketingAllowed(ctx, tx, c.ClientID, transport, now)
		if err != nil {
			return err
		}
		if !ok {
			return app.InvalidField("marketing", "This client has not consented to marketing on "+transport.Label()+
				": send it as a normal reply, or record their consent on their profile first.")
		}
	}
	subject, err := replySubject(ctx, tx, c.ID, transport, in.Subject)
	if err != nil {
		return err
	}
	if in.TemplateID != "" {
		res, err := tx.ExecContext(ctx, `UPDATE templates SET uses = uses + 1, last_used_at = ? WHERE id = ?`, now, in.TemplateID)
		if err != nil {
			return fmt.Errorf("count template use: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return app.InvalidField("template_id", "Template not found.")
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, chat_id, kind, direction, transport, channel_id,
		contact_id, contact_value, sender_type, sender_id, sender_name, body, template_id, marketing, status, subject, created_at)
		VALUES (?, ?, 'message', 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
		id, c.ID, transport, ch.ID, contact.ID, contact.Value, actorSender(actor), actor.ID, actor.Name,
		in.Text, in.TemplateID, in.Marketing, subject, now); err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if err := insertAttachments(ctx, tx, id, files, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET last_message_at = ?, last_transport = ?, last_preview = ?,
		message_count = message_count + 1 WHERE id = ?`, now, transport, preview(in.Text, len(files)), c.ID); err != nil {
		return fmt.Errorf("update chat: %w", err)
	}
	if actor.Type == app.ActorUser {
		if err := addMember(ctx, tx, c.ID, member{kind: "user", userID: actor.ID}, now); err != nil {
			return err
		}
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventMessageQueued, "chat", c.ID, actor, map[string]any{
		"message_id": id, "client_id": c.ClientID, "transport": transport, "channel_id": ch.ID,
		"template_id": in.TemplateID, "attachments": len(files), "marketing": in.Marketing}))
}

// replyContact returns the client's contact to send through: the one asked
// for, else the one the client last wrote from, else their first contact
// that something can be sent to (their preferred transport first).
func replyContact(ctx context.Context, tx *sql.Tx, c app.Chat, asked string) (app.Contact, error) {
	contacts, err := queryAll(ctx, tx, scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE client_id = ? AND active = 1 ORDER BY created_at, id`, c.ClientID)
	if err != nil {
		return app.Contact{}, fmt.Errorf("client contacts: %w", err)
	}
	var preferred string
	if err := tx.QueryRowContext(ctx, `SELECT preferred_channel FROM clients WHERE id = ?`, c.ClientID).Scan(&preferred); err != nil {
		return app.Contact{}, fmt.Errorf("client preferred channel: %w", err)
	}
	var first, pref *app.Contact
	for i, k := range contacts {
		usable := app.TransportFor(k.Type) != ""
		switch {
		case asked != "" && k.ID == asked && usable:
			return k, nil
		case asked != "" || !usable:
		case k.ID == c.ReplyContactID:
			return k, nil
		case pref == nil && string(app.TransportFor(k.Type)) == preferred:
			pref = &contacts[i]
		case first == nil:
			first = &contacts[i]
		}
	}
	switch {
	case asked != "":
		return app.Contact{}, app.InvalidField("contact_id", "Choose one of this client's contacts (email, phone or messenger).")
	case pref != nil:
		return *pref, nil
	case first != nil:
		return *first, nil
	}
	return app.Contact{}, app.InvalidField("contact_id",
		"This client has no contact Parley can send to: add an email, phone or messenger contact to their profile.")
}

// insertChatNote writes an internal note, resolving its @mentions to active
// users and notifying each of them (but not the author).
func (db *DB) insertChatNote(ctx context.Context, tx *sql.Tx, c app.Chat, id, text string, actor app.Actor) error {
	users, err := queryAll(ctx, tx, scanUser, `SELECT `+userColumns+` FROM users WHERE status = 'active'`)
	if err != nil {
		return err
	}
	mentioned := []string{}
	for _, h := range app.MentionHandles(text) {
		for _, u := range users {
			if app.MentionHandle(u) == h {
				mentioned = append(mentioned, u.ID)
			}
		}
	}
	b, _ := json.Marshal(mentioned)
	now := db.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, chat_id, kind, direction, transport, sender_type,
		sender_id, sender_name, body, mentions, status, created_at) VALUES (?, ?, 'note', 'out', 'internal', ?, ?, ?, ?, ?, 'received', ?)`,
		id, c.ID, actorSender(actor), actor.ID, actor.Name, text, string(b), now); err != nil {
		return fmt.Errorf("insert note: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET message_count = message_count + 1 WHERE id = ?`, c.ID); err != nil {
		return err
	}
	for _, uid := range mentioned {
		if uid == actor.ID {
			continue
		}
		if err := notify(ctx, tx, uid, "mention", c.ID, id, actor.Name+" mentioned you: "+preview(text, 0), now); err != nil {
			return err
		}
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventNotePosted, "chat", c.ID, actor, map[string]any{
		"message_id": id, "client_id": c.ClientID, "mentions": mentioned}))
}

func notify(ctx context.Context, tx *sql.Tx, userID, kind, chatID, messageID, text string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO notifications (user_id, kind, chat_id, message_id, text, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, userID, kind, chatID, messageID, text, now)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// member is a chat participant to record.
type member struct {
	kind, userID, contactID, transport, service string
	meta                                        map[string]string
}

// addMember records a participant once; its creation time never changes.
func addMember(ctx context.Context, tx *sql.Tx, chatID string, m member, now time.Time) error {
	meta := "{}"
	if len(m.meta) > 0 {
		b, _ := json.Marshal(m.meta)
		meta = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO chat_members (id, chat_id, kind, user_id, contact_id, transport, service, meta, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		newID(), chatID, m.kind, m.userID, m.contactID, m.transport, m.service, meta, now)
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

// ChatMember is a participant of a chat as the API shows it.
type ChatMember struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	UserID    string            `json:"user_id,omitempty"`
	ContactID string            `json:"contact_id,omitempty"`
	Transport string            `json:"transport,omitempty"`
	Service   string            `json:"service,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// ChatMembers lists a chat's participants, oldest first.
func (db *DB) ChatMembers(ctx context.Context, chatID string) ([]ChatMember, error) {
	return queryAll(ctx, db.reader(), func(row rowScanner) (ChatMember, error) {
		var m ChatMember
		var meta string
		err := row.Scan(&m.ID, &m.Kind, &m.UserID, &m.ContactID, &m.Transport, &m.Service, &meta, &m.CreatedAt)
		if meta != "{}" {
			_ = json.Unmarshal([]byte(meta), &m.Meta)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		return m, err
	}, `SELECT id, kind, user_id, contact_id, transport, service, meta, created_at FROM chat_members
		WHERE chat_id = ? ORDER BY created_at, id`, chatID)
}

// RetryMessage queues a failed message again, with its reason cleared.
func (db *DB) RetryMessage(ctx context.Context, id string, scope app.ChatScope, actor app.Actor) (app.Message, error) {
	err := db.update(ctx, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, id))
		if err != nil {
			return notFound(err, "Message not found.")
		}
		c, err := loadChat(ctx, tx, m.ChatID, scope)
		if err != nil {
			return errMessageNotFound()
		}
		if !m.Retryable() {
			return app.Errorf(app.ECONFLICT, "Only a failed message can be sent again.")
		}
		if err := checkNotErasing(ctx, tx, c.ClientID); err != nil {
			return err
		}
		// send_attempts stays: a failed attempt's outcome may be unknown, so
		// the worker still asks the provider before sending again.
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'queued', failure_reason = '' WHERE id = ?`, id); err != nil {
			return fmt.Errorf("retry message: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventMessageStatus, "chat", c.ID, actor, map[string]any{
			"message_id": id, "client_id": c.ClientID, "from": m.Status, "to": app.StatusQueued, "retry": true}))
	})
	if err != nil {
		return app.Message{}, err
	}
	return db.MessageByID(ctx, id, app.ChatScope{All: true})
}

// SearchMessages finds messages and notes whose text has every word of q
// (as word prefixes), in chats scope may see, newest first. Walking the
// full-text index by rowid (never ranking every match) keeps a common word
// as fast as a rare one. before is the id of the last hit of the previous
// page.
func (db *DB) SearchMessages(ctx context.Context, q string, scope app.ChatScope, before string, limit int) (hits []app.MessageSearchHit, next string, err error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	match, words := messageSearchQuery(q)
	if match == "" {
		return nil, "", nil
	}
	where, args := scopeSQL(scope)
	args = append([]any{match}, args...)
	if before != "" {
		where, args = where+` AND f.rowid < (SELECT seq FROM messages WHERE id = ?)`, append(args, before)
	}
	rows, err := db.reader().QueryContext(ctx, `SELECT `+messageColumns+`, cl.first_name, cl.middle_name, cl.last_name
		FROM messages_fts f JOIN messages m ON m.seq = f.rowid JOIN chats c ON c.id = m.chat_id
		JOIN clients cl ON cl.id = c.client_id
		WHERE messages_fts MATCH ? AND m.kind != 'system' AND `+where+` ORDER BY f.rowid DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("search messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h app.MessageSearchHit
		var first, middle, last string
		if h.Message, err = scanMessageWith(rows, &first, &middle, &last); err != nil {
			return nil, "", err
		}
		h.ClientName = (&app.Client{FirstName: first, MiddleName: middle, LastName: last}).Name()
		h.Snippet = app.Snippet(h.Message.Text, words, 24)
		if h.Snippet == "" {
			h.Snippet = preview(h.Message.Text, 0)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(hits) > limit {
		hits = hits[:limit]
		next = hits[limit-1].Message.ID
	}
	return hits, next, nil
}

// messageSearchQuery quotes each word of q as an FTS5 prefix query, so
// FTS5 syntax typed by a user is only ever text; words are folded for
// marking matches.
func messageSearchQuery(q string) (match string, words []string) {
	var parts []string
	for _, w := range app.SearchWords(q) {
		words = append(words, w)
		parts = append(parts, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
	}
	return strings.Join(parts, " "), words
}

// MessageHTML returns an email's sanitised HTML part ("" when it had none),
// for a message scope may see.
func (db *DB) MessageHTML(ctx context.Context, id string, scope app.ChatScope) (app.Message, string, error) {
	m, err := db.MessageByID(ctx, id, scope)
	if err != nil {
		return m, "", err
	}
	var html string
	err = db.reader().QueryRowContext(ctx, `SELECT html FROM messages WHERE id = ?`, id).Scan(&html)
	return m, html, err
}
