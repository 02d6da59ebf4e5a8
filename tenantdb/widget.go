package tenantdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/app"
)

// The web chat widget. A visitor of the workspace's site is known by a
// random visitor id, which the browser holds only sealed (AES-256-GCM under
// the operator's secret key, bound to this workspace), so it can be neither
// forged nor carried to another workspace. Their first message makes them
// a lead ("Website visitor k3f9q2") with a contact of type website whose
// value is the id; the team's replies to that contact travel by the website
// transport and the visitor reads them in the chat panel.

// WebChatVisitor is a web chat visitor the workspace knows.
type WebChatVisitor struct {
	// ID is the visitor id, the value of their website contact.
	ID        string
	ContactID string
	ClientID  string
	// ChatID is the client's chat ("" until there is one).
	ChatID string
	// Email is the address the visitor last left in the chat panel, ""
	// when none. It is what they typed, whether or not it became a
	// contact of theirs (one another client has is not added).
	Email string
}

// WebChatMessageLimit is the most characters a visitor may send at once.
const WebChatMessageLimit = 5000

// webChatLead is the first name of a visitor's lead until they give
// theirs; the last name is the short visitor id.
const webChatLead = "Website visitor"

// NewWebChatVisitorID returns a fresh visitor id: 128 random bits in
// lower-case base32 (26 characters).
func NewWebChatVisitorID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func (db *DB) visitorAAD() []byte { return []byte("parley web chat visitor\x00" + db.TenantID) }

// SealWebChatVisitor returns the token the visitor's browser keeps: the
// id sealed under the operator's key and bound to this workspace.
func (db *DB) SealWebChatVisitor(id string) (string, error) {
	if db.sealer == nil {
		return "", app.Errorf(app.EUNAVAILABLE, "The chat is not available on this server.")
	}
	return db.sealer.Seal([]byte(id), db.visitorAAD())
}

// OpenWebChatVisitor returns the visitor id a token holds; ok is false for
// a token that is forged, altered, sealed for another workspace or under a
// key the server no longer has.
func (db *DB) OpenWebChatVisitor(token string) (id string, ok bool) {
	if db.sealer == nil || token == "" || len(token) > 256 {
		return "", false
	}
	b, err := db.sealer.Open(token, db.visitorAAD())
	if err != nil {
		return "", false
	}
	in := app.ContactInput{Type: app.ContactWebsite, Value: string(b)}
	if in.NormalizeReceived("visitor", "") != nil || in.Value != string(b) {
		return "", false
	}
	return in.Value, true
}

// WebChatVisitor returns the visitor with id, or ENOTFOUND when they have
// not written yet (or their client was deleted or erased since).
func (db *DB) WebChatVisitor(ctx context.Context, id string) (WebChatVisitor, error) {
	return webChatVisitor(ctx, db.reader(), id)
}

func webChatVisitor(ctx context.Context, q querier, id string) (WebChatVisitor, error) {
	v := WebChatVisitor{ID: id}
	var chatID sql.NullString
	err := q.QueryRowContext(ctx, `SELECT k.id, k.client_id, c.id FROM contacts k
		LEFT JOIN chats c ON c.client_id = k.client_id
		WHERE k.type = ? AND k.value = ? AND k.active = 1`, app.ContactWebsite, id).Scan(&v.ContactID, &v.ClientID, &chatID)
	if err != nil {
		return WebChatVisitor{}, notFound(err, "Visitor not found.")
	}
	v.ChatID = chatID.String
	if v.ChatID == "" {
		return v, nil
	}
	// The address the visitor last left is kept with the note that told the
	// team about it, so retention and erasure remove it with the chat.
	err = q.QueryRowContext(ctx, `SELECT json_extract(meta, '$.webchat_email') FROM messages
		WHERE chat_id = ? AND kind = 'note' AND sender_type = ? AND json_extract(meta, '$.webchat_email') IS NOT NULL
		ORDER BY seq DESC LIMIT 1`, v.ChatID, app.SenderSystem).Scan(&v.Email)
	if err != nil && err != sql.ErrNoRows {
		return WebChatVisitor{}, fmt.Errorf("visitor email: %w", err)
	}
	return v, nil
}

// ensureWebChatVisitor returns the visitor with id, making their lead and
// website contact if they are new.
func (db *DB) ensureWebChatVisitor(ctx context.Context, tx *sql.Tx, id string) (WebChatVisitor, error) {
	v, err := webChatVisitor(ctx, tx, id)
	if app.ErrorCode(err) != app.ENOTFOUND {
		return v, err
	}
	in := app.ContactInput{Type: app.ContactWebsite, Value: id}
	if err := in.NormalizeReceived("visitor", ""); err != nil {
		return WebChatVisitor{}, err
	}
	c, err := db.insertClient(ctx, tx, app.ClientInput{FirstName: webChatLead, LastName: app.ShortVisitorID(id),
		Status: app.ClientLead}, "", false, app.SystemActor)
	if err != nil {
		return WebChatVisitor{}, fmt.Errorf("create visitor lead: %w", err)
	}
	now := db.Now()
	k, err := insertContact(ctx, tx, c.ID, in, "visitor", now)
	if err != nil {
		return WebChatVisitor{}, err
	}
	if err := db.contactChanged(ctx, tx, c.ID, "added", k, app.SystemActor, now); err != nil {
		return WebChatVisitor{}, err
	}
	return WebChatVisitor{ID: id, ContactID: k.ID, ClientID: c.ID}, nil
}

// ReceiveWebChatMessage stores what visitor id wrote in the chat panel: a
// new visitor becomes a lead first. key is the panel's own id for the
// message, so a post retried after a lost answer stores it once
// (duplicate reports that); keys are the visitor's own, so another
// visitor's key never matches.
func (db *DB) ReceiveWebChatMessage(ctx context.Context, id, key, text string) (msg app.Message, v WebChatVisitor, duplicate bool, err error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return msg, v, false, app.InvalidField("text", "Write a message first.")
	case utf8.RuneCountInString(text) > WebChatMessageLimit:
		return msg, v, false, app.InvalidField("text", fmt.Sprintf("Keep it under %d characters, or send it in parts.", WebChatMessageLimit))
	}
	if !validWebChatKey(key) {
		return msg, v, false, app.InvalidField("key", "A message key is 8 to 64 letters, digits, - or _.")
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		v, err = db.ensureWebChatVisitor(ctx, tx, id)
		return err
	})
	if err != nil {
		return msg, v, false, err
	}
	msg, duplicate, err = db.ReceiveWebsiteMessage(ctx, app.WebsiteMessage{
		From: app.ContactInput{Type: app.ContactWebsite, Value: id}, Text: text, Key: id + ":" + key, Source: app.WebsiteChat})
	if err != nil {
		return msg, v, false, err
	}
	v, err = db.WebChatVisitor(ctx, id)
	return msg, v, duplicate, err
}

func validWebChatKey(key string) bool {
	if len(key) < 8 || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// LeaveWebChatEmail records the email a visitor left so the team can
// answer after they have gone, and the name they gave, if any. Anyone can
// type any address, so it is not made one of the lead's contacts: that
// would let a stranger receive what the team answers the address's real
// owner (whose mail, form and portal messages are matched by contact).
// A note in the chat gives the address to the team, who add it (or merge
// with the client who has it) once they trust it. The visitor is told the
// same whatever the address. A lead still named "Website visitor …" takes
// the name given.
func (db *DB) LeaveWebChatEmail(ctx context.Context, id, email, name string) (WebChatVisitor, error) {
	in := app.ContactInput{Type: app.ContactEmail, Value: email}
	var errs error
	if strings.TrimSpace(email) == "" {
		errs = app.InvalidField("email", "Enter your email address.")
	} else if in.Normalize("email", "") != nil {
		errs = app.InvalidField("email", "Enter a valid email address, like anna@example.com.")
	}
	name = strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs = mergeInvalid(errs, app.InvalidField("name", "Use at most 100 characters."))
	}
	if errs != nil {
		return WebChatVisitor{}, errs
	}
	var v WebChatVisitor
	err := db.update(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = db.ensureWebChatVisitor(ctx, tx, id); err != nil {
			return err
		}
		if v.ChatID, _, err = db.ensureChat(ctx, tx, v.ClientID, app.SystemActor); err != nil {
			return err
		}
		note := "The visitor left the email " + in.Value + " so that we can answer there. Nobody has confirmed " +
			"it is theirs: add it to their contacts once you trust it, or ask them in the chat."
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT client_id FROM contacts WHERE type = ? AND value = ? AND active = 1`,
			app.ContactEmail, in.Value).Scan(&owner)
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return fmt.Errorf("find email owner: %w", err)
		case owner != v.ClientID:
			note += " Another client already has this address: if you are sure they are the same person, merge the two clients."
		}
		if name != "" {
			if err := db.renameWebChatLead(ctx, tx, v, name, in.Value); err != nil {
				return err
			}
		}
		v.Email = in.Value
		return db.insertWebChatNote(ctx, tx, v, note)
	})
	return v, err
}

// renameWebChatLead names a visitor's lead by what they gave (their name,
// else their address) while it still has the name Parley made up, so a
// name the team typed is never overwritten.
func (db *DB) renameWebChatLead(ctx context.Context, tx *sql.Tx, v WebChatVisitor, name, email string) error {
	clientID := v.ClientID
	c, err := loadClient(ctx, tx, clientID)
	if err != nil {
		return err
	}
	if c.FirstName != webChatLead || c.MiddleName != "" || c.LastName != app.ShortVisitorID(v.ID) {
		return nil
	}
	before := *c
	if name == "" {
		name = email
	}
	first, last, _ := strings.Cut(name, " ")
	c.FirstName, c.LastName = first, strings.TrimSpace(last)
	now := db.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET first_name = ?, last_name = ?, sort_name = ?, updated_at = ?
		WHERE id = ?`, c.FirstName, c.LastName, sortName(c), now, clientID); err != nil {
		return fmt.Errorf("name visitor lead: %w", err)
	}
	if err := refreshClientSearch(ctx, tx, clientID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventProfileUpdated, "client", clientID, app.SystemActor,
		map[string]any{"changes": profileChanges(&before, c, []string{"first_name", "last_name"}, nil)}))
}

// insertWebChatNote writes an internal note from the web chat in the
// visitor's chat: the team sees it live, the visitor never does.
func (db *DB) insertWebChatNote(ctx context.Context, tx *sql.Tx, v WebChatVisitor, text string) error {
	id, now := newID(), db.Now()
	meta, _ := json.Marshal(map[string]string{"source": string(app.WebsiteChat), "webchat_email": v.Email})
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, chat_id, kind, direction, transport, sender_type,
		sender_name, body, status, meta, created_at) VALUES (?, ?, 'note', 'out', 'internal', ?, 'Web chat', ?, 'received', ?, ?)`,
		id, v.ChatID, app.SenderSystem, text, string(meta), now); err != nil {
		return fmt.Errorf("insert web chat note: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET message_count = message_count + 1 WHERE id = ?`, v.ChatID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventNotePosted, "chat", v.ChatID, app.Actor{Type: app.ActorSystem, Name: "Web chat"},
		map[string]any{"message_id": id, "client_id": v.ClientID, "mentions": []string{}}))
}

// WebChatPage picks which of a visitor's messages to read: the newest
// (both empty), those before the message Before (older history) or those
// after the message After (what a live panel appends).
type WebChatPage struct {
	Before, After string
	Limit         int
}

// WebChatMessages returns the visitor's side of their conversation, oldest
// first: what they wrote in the chat panel and what the team answered
// them there. Internal notes, system lines, messages on the client's other
// contacts (their email, a phone) and failed sends are never part of it.
// more says older messages remain or, for an After page, newer ones.
func (db *DB) WebChatMessages(ctx context.Context, v WebChatVisitor, p WebChatPage) (msgs []app.Message, more bool, err error) {
	if v.ChatID == "" || v.ContactID == "" {
		return []app.Message{}, false, nil
	}
	if p.Limit <= 0 || p.Limit > 100 {
		p.Limit = 30
	}
	where := `m.chat_id = ? AND m.kind = 'message' AND m.contact_id = ? AND m.status != 'failed' AND m.redacted_at IS NULL`
	args := []any{v.ChatID, v.ContactID}
	cursor := p.Before
	if p.After != "" {
		cursor = p.After
	}
	if cursor != "" {
		var seq int64
		err := db.reader().QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ? AND chat_id = ? AND contact_id = ?`,
			cursor, v.ChatID, v.ContactID).Scan(&seq)
		if err == sql.ErrNoRows {
			return nil, false, app.InvalidField("after", "No message of this conversation has that id.")
		} else if err != nil {
			return nil, false, fmt.Errorf("web chat cursor: %w", err)
		}
		if p.After != "" {
			where, args = where+" AND m.seq > ?", append(args, seq)
		} else {
			where, args = where+" AND m.seq < ?", append(args, seq)
		}
	}
	order := "DESC"
	if p.After != "" {
		order = "ASC"
	}
	msgs, err = queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m WHERE `+where+`
		ORDER BY m.seq `+order+` LIMIT ?`, append(args, p.Limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("web chat messages: %w", err)
	}
	if more = len(msgs) > p.Limit; more {
		msgs = msgs[:p.Limit]
	}
	if p.After == "" {
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	if msgs == nil {
		msgs = []app.Message{}
	}
	return msgs, more, db.attachFiles(ctx, db.reader(), msgs)
}
