package tenantdb

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// chatSelect reads a chat with its client's and assignee's names.
const chatSelect = `SELECT c.seq, c.id, c.client_id, cl.first_name, cl.middle_name, cl.last_name, c.status,
	c.snoozed_until, c.assignee_id, coalesce(u.name, ''), c.unread_count, c.message_count, c.last_message_at,
	c.last_transport, c.last_preview, c.reply_contact_id, c.created_at, coalesce(c.merged_into, '')
	FROM chats c JOIN clients cl ON cl.id = c.client_id LEFT JOIN users u ON u.id = c.assignee_id AND c.assignee_id != ''`

type chatRow struct {
	app.Chat
	seq        int64
	mergedInto string
}

func scanChat(row rowScanner) (chatRow, error) {
	var c chatRow
	var first, middle, last string
	var snoozed sql.NullTime
	err := row.Scan(&c.seq, &c.ID, &c.ClientID, &first, &middle, &last, &c.Status, &snoozed, &c.AssigneeID,
		&c.AssigneeName, &c.UnreadCount, &c.MessageCount, &c.LastMessageAt, &c.LastTransport, &c.LastPreview,
		&c.ReplyContactID, &c.CreatedAt, &c.mergedInto)
	c.ClientName = (&app.Client{FirstName: first, MiddleName: middle, LastName: last}).Name()
	c.SnoozedUntil, c.LastMessageAt, c.CreatedAt = nullTime(snoozed), c.LastMessageAt.UTC(), c.CreatedAt.UTC()
	return c, err
}

// scopeSQL limits a chat query to what scope may see; c is the chats alias
// and cl the clients one.
func scopeSQL(scope app.ChatScope) (string, []any) {
	if scope.All {
		return "1 = 1", nil
	}
	return "(c.assignee_id = ? OR c.assignee_id = '' OR cl.owner_id = ?)", []any{scope.UserID, scope.UserID}
}

func errChatNotFound() error { return app.Errorf(app.ENOTFOUND, "Conversation not found.") }

// loadChat reads a chat that scope may see. A chat folded into another by a
// client merge answers EMOVED with the survivor's chat id.
func loadChat(ctx context.Context, q querier, id string, scope app.ChatScope) (chatRow, error) {
	where, args := scopeSQL(scope)
	c, err := scanChat(q.QueryRowContext(ctx, chatSelect+` WHERE c.id = ? AND `+where, append([]any{id}, args...)...))
	if err != nil {
		return c, notFound(err, "Conversation not found.")
	}
	if c.mergedInto != "" {
		return c, &app.Error{Code: app.EMOVED, Message: "This conversation was merged into another one.", Ref: c.mergedInto}
	}
	return c, nil
}

// ChatByID returns a chat that scope may see, or ENOTFOUND (the same answer
// for another tenant's id, a chat the user may not see, and no chat at all).
func (db *DB) ChatByID(ctx context.Context, id string, scope app.ChatScope) (app.Chat, error) {
	c, err := loadChat(ctx, db.reader(), id, scope)
	return c.Chat, err
}

// ChatOfClient returns the client's chat, or ENOTFOUND when it has none yet.
func (db *DB) ChatOfClient(ctx context.Context, clientID string, scope app.ChatScope) (app.Chat, error) {
	var id string
	err := db.reader().QueryRowContext(ctx, `SELECT id FROM chats WHERE client_id = ?`, clientID).Scan(&id)
	if err != nil {
		return app.Chat{}, notFound(err, "Conversation not found.")
	}
	return db.ChatByID(ctx, id, scope)
}

// StartChat returns the client's chat, creating it (with its ChatStarted
// event) when the client has none. created says which happened.
func (db *DB) StartChat(ctx context.Context, clientID string, scope app.ChatScope, actor app.Actor) (chat app.Chat, created bool, err error) {
	var id string
	err = db.update(ctx, func(tx *sql.Tx) error {
		if err := checkClient(ctx, tx, clientID); err != nil {
			return err
		}
		id, created, err = db.ensureChat(ctx, tx, clientID, actor)
		return err
	})
	if err != nil {
		return app.Chat{}, false, err
	}
	chat, err = db.ChatByID(ctx, id, scope)
	return chat, created, err
}

// ensureChat returns the id of the client's chat, creating it if needed.
// The client must be live (the caller checked).
func (db *DB) ensureChat(ctx context.Context, tx *sql.Tx, clientID string, actor app.Actor) (id string, created bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id FROM chats WHERE client_id = ?`, clientID).Scan(&id)
	if err == nil {
		return id, false, nil
	} else if err != sql.ErrNoRows {
		return "", false, fmt.Errorf("find chat: %w", err)
	}
	id, now := newID(), db.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO chats (id, client_id, last_message_at, created_at) VALUES (?, ?, ?, ?)`,
		id, clientID, now, now); err != nil {
		return "", false, fmt.Errorf("insert chat: %w", err)
	}
	return id, true, db.appendEvent(ctx, tx, app.NewEvent(app.EventChatStarted, "chat", id, actor,
		map[string]any{"client_id": clientID}))
}

// chatCursor is the position after the last chat of a page.
type chatCursor struct {
	at  time.Time
	seq int64
}

func (c chatCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixNano(), 10) + "." + strconv.FormatInt(c.seq, 10)))
}

func parseChatCursor(s string) (chatCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	at, seq, ok := strings.Cut(string(b), ".")
	ns, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if err != nil || !ok || err1 != nil || err2 != nil {
		return chatCursor{}, app.InvalidField("cursor", "The cursor is not valid; start from the first page.")
	}
	return chatCursor{at: time.Unix(0, ns).UTC(), seq: n}, nil
}

// ListChats returns one page of the chats scope may see, most recent
// message first. Every filter walks an index in list order (chats_recent,
// chats_status, chats_assignee, chats_transport, chats_unread) from the
// cursor, so a page costs the same however many chats there are.
func (db *DB) ListChats(ctx context.Context, f app.ChatFilter, scope app.ChatScope) (app.ChatPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	index, where, args := "chats_recent", []string{"c.merged_into IS NULL"}, []any{}
	if f.Unread {
		index, where = "chats_unread", append(where, "c.unread_count > 0")
	}
	if f.Transport != nil {
		index, where, args = "chats_transport", append(where, "c.last_transport = ?"), append(args, *f.Transport)
	}
	if f.Status != nil {
		index, where, args = "chats_status", append(where, "c.status = ?"), append(args, *f.Status)
	}
	if f.AssigneeID != nil {
		index, where, args = "chats_assignee", append(where, "c.assignee_id = ?"), append(args, *f.AssigneeID)
	}
	if f.ClientID != nil {
		index, where, args = "", append(where, "c.client_id = ?"), append(args, *f.ClientID)
	}
	if f.Cursor != "" {
		cur, err := parseChatCursor(f.Cursor)
		if err != nil {
			return app.ChatPage{}, err
		}
		// A row value, not an OR, so SQLite seeks the index to the cursor
		// instead of walking it from the top (deep pages cost as page one).
		where = append(where, "(c.last_message_at, c.seq) < (?, ?)")
		args = append(args, cur.at, cur.seq)
	}
	scopeWhere, scopeArgs := scopeSQL(scope)
	where, args = append(where, scopeWhere), append(args, scopeArgs...)
	from := "FROM chats c"
	if index != "" {
		from = "FROM chats c INDEXED BY " + index
	}
	q := strings.Replace(chatSelect, "FROM chats c", from, 1) + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY c.last_message_at DESC, c.seq DESC LIMIT ?`
	rows, err := queryAll(ctx, db.reader(), scanChat, q, append(args, limit+1)...)
	if err != nil {
		return app.ChatPage{}, fmt.Errorf("list chats: %w", err)
	}
	page := app.ChatPage{Chats: make([]app.Chat, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = chatCursor{at: last.LastMessageAt, seq: last.seq}.String()
			break
		}
		page.Chats = append(page.Chats, r.Chat)
	}
	return page, nil
}

// UnreadChats counts the chats with unread messages that scope may see,
// stopping at 100 (the badge shows "99+").
func (db *DB) UnreadChats(ctx context.Context, scope app.ChatScope) (int, error) {
	where, args := scopeSQL(scope)
	var n int
	err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM chats c INDEXED BY chats_unread
		JOIN clients cl ON cl.id = c.client_id WHERE c.merged_into IS NULL AND c.unread_count > 0 AND `+where+` LIMIT 100)`,
		args...).Scan(&n)
	return n, err
}

// UpdateChat assigns a chat or changes its status, with ChatAssigned and
// ChatStatusChanged events. A snooze needs a time in the future.
func (db *DB) UpdateChat(ctx context.Context, id string, u app.ChatUpdate, scope app.ChatScope, actor app.Actor) (app.Chat, error) {
	err := db.update(ctx, func(tx *sql.Tx) error {
		c, err := loadChat(ctx, tx, id, scope)
		if err != nil {
			return err
		}
		if u.AssigneeID != nil && *u.AssigneeID != c.AssigneeID {
			if err := db.assignChat(ctx, tx, c.Chat, *u.AssigneeID, actor); err != nil {
				return err
			}
		}
		if u.Status != nil {
			return db.setChatStatus(ctx, tx, c.Chat, *u.Status, u.SnoozedUntil, actor)
		}
		return nil
	})
	if err != nil {
		return app.Chat{}, err
	}
	// The new assignee may take the chat out of the actor's sight; the
	// change is made, so read it back without the scope.
	return db.ChatByID(ctx, id, app.ChatScope{All: true})
}

func (db *DB) assignChat(ctx context.Context, tx *sql.Tx, c app.Chat, assigneeID string, actor app.Actor) error {
	name := ""
	if assigneeID != "" {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, assigneeID))
		if err != nil || u.Status != app.UserActive {
			return app.InvalidField("assignee_id", "Choose an active member of the team.")
		}
		name = u.Name
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET assignee_id = ? WHERE id = ?`, assigneeID, c.ID); err != nil {
		return fmt.Errorf("assign chat: %w", err)
	}
	text := "Unassigned"
	if name != "" {
		text = "Assigned to " + name
	}
	if err := db.insertSystemLine(ctx, tx, c.ID, text, actor); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventChatAssigned, "chat", c.ID, actor,
		map[string]any{"client_id": c.ClientID, "from": c.AssigneeID, "to": assigneeID, "to_name": name}))
}

func (db *DB) setChatStatus(ctx context.Context, tx *sql.Tx, c app.Chat, to app.ChatStatus, until *time.Time, actor app.Actor) error {
	now := db.Now()
	var snooze any
	switch to {
	case app.ChatOpen, app.ChatResolved:
	case app.ChatSnoozed:
		if until == nil || !until.After(now) {
			return app.InvalidField("snoozed_until", "Choose a time in the future to snooze until.")
		}
		snooze = until.UTC()
	default:
		return app.InvalidField("status", "Choose open, snoozed or resolved.")
	}
	if to == c.Status && to != app.ChatSnoozed {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET status = ?, snoozed_until = ? WHERE id = ?`, to, snooze, c.ID); err != nil {
		return fmt.Errorf("set chat status: %w", err)
	}
	text := map[app.ChatStatus]string{app.ChatOpen: "Reopened", app.ChatResolved: "Resolved", app.ChatSnoozed: "Snoozed"}[to]
	if err := db.insertSystemLine(ctx, tx, c.ID, text, actor); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventChatStatusChanged, "chat", c.ID, actor,
		map[string]any{"client_id": c.ClientID, "from": c.Status, "to": to, "snoozed_until": snooze}))
}

// insertSystemLine writes a line of the chat's history that Parley itself
// says (assigned, resolved). It neither moves the chat up the list nor
// counts as unread.
func (db *DB) insertSystemLine(ctx context.Context, tx *sql.Tx, chatID, text string, actor app.Actor) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, chat_id, kind, direction, transport, sender_type,
		sender_id, sender_name, body, status, created_at) VALUES (?, ?, 'system', 'out', 'internal', ?, ?, ?, ?, 'received', ?)`,
		newID(), chatID, actorSender(actor), actor.ID, actor.Name, text, db.Now())
	if err != nil {
		return fmt.Errorf("insert system line: %w", err)
	}
	return nil
}

func actorSender(a app.Actor) string {
	switch a.Type {
	case app.ActorUser:
		return app.SenderUser
	case app.ActorToken:
		return app.SenderService
	}
	return app.SenderSystem
}

// MarkChatRead marks the chat's inbound messages read by the team and
// clears its unread count; a chat with nothing unread writes nothing.
func (db *DB) MarkChatRead(ctx context.Context, id string, scope app.ChatScope, actor app.Actor) (int, error) {
	// Most opens find nothing unread: answer those from a reader, without
	// taking the tenant's write lock.
	if c, err := loadChat(ctx, db.reader(), id, scope); err != nil || c.UnreadCount == 0 {
		return 0, err
	}
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		c, err := loadChat(ctx, tx, id, scope)
		if err != nil || c.UnreadCount == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET read_at = ? WHERE chat_id = ? AND direction = 'in'
			AND read_at IS NULL AND kind = 'message'`, db.Now(), id)
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET unread_count = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventChatRead, "chat", id, actor,
			map[string]any{"client_id": c.ClientID, "messages": n}))
	})
	return int(n), err
}

// WakeSnoozedChats reopens the chats whose snooze time has passed.
func (db *DB) WakeSnoozedChats(ctx context.Context) (int, error) {
	var woken int
	err := db.update(ctx, func(tx *sql.Tx) error {
		ids, err := queryAll(ctx, tx, scanString, `SELECT id FROM chats WHERE status = 'snoozed' AND snoozed_until <= ? LIMIT 500`, db.Now())
		if err != nil {
			return err
		}
		for _, id := range ids {
			c, err := loadChat(ctx, tx, id, app.ChatScope{All: true})
			if err != nil {
				return err
			}
			if err := db.setChatStatus(ctx, tx, c.Chat, app.ChatOpen, nil, app.SystemActor); err != nil {
				return err
			}
		}
		woken = len(ids)
		return nil
	})
	return woken, err
}

// ClientOwner returns the id of the client's owner ("" when none).
func (db *DB) ClientOwner(ctx context.Context, clientID string) (string, error) {
	var owner string
	err := db.reader().QueryRowContext(ctx, `SELECT coalesce(owner_id, '') FROM clients WHERE id = ?`, clientID).Scan(&owner)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return owner, err
}
