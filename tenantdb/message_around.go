package tenantdb

import (
	"context"
	"fmt"

	"parley/app"
)

// MessagesAround returns the page of a chat's history that holds the
// message with id: up to before older messages, the message itself and up
// to after newer ones, oldest first. older and newer say more messages
// remain on either side. A search hit opens the chat here.
func (db *DB) MessagesAround(ctx context.Context, chatID string, scope app.ChatScope, id string, before, after int) (msgs []app.Message, older, newer bool, err error) {
	if _, err := loadChat(ctx, db.reader(), chatID, scope); err != nil {
		return nil, false, false, err
	}
	seq, err := messageSeq(ctx, db, chatID, id)
	if err != nil {
		return nil, false, false, err
	}
	olderRows, err := queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m
		WHERE m.chat_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, chatID, seq, before+1)
	if err != nil {
		return nil, false, false, fmt.Errorf("older messages: %w", err)
	}
	// The message itself comes first here, so after+2 tells whether more follow.
	newerRows, err := queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m
		WHERE m.chat_id = ? AND m.seq >= ? ORDER BY m.seq LIMIT ?`, chatID, seq, after+2)
	if err != nil {
		return nil, false, false, fmt.Errorf("newer messages: %w", err)
	}
	if older = len(olderRows) > before; older {
		olderRows = olderRows[:before]
	}
	if newer = len(newerRows) > after+1; newer {
		newerRows = newerRows[:after+1]
	}
	msgs = make([]app.Message, 0, len(olderRows)+len(newerRows))
	for i := len(olderRows) - 1; i >= 0; i-- {
		msgs = append(msgs, olderRows[i])
	}
	msgs = append(msgs, newerRows...)
	return msgs, older, newer, db.attachFiles(ctx, db.reader(), msgs)
}

// OutboundSince returns the newest limit messages the team sent in a chat
// from the message with id from on (all of them when from is empty), newest
// first: the ones whose delivery ticks a live view may have to redraw.
func (db *DB) OutboundSince(ctx context.Context, chatID string, scope app.ChatScope, from string, limit int) ([]app.Message, error) {
	if _, err := loadChat(ctx, db.reader(), chatID, scope); err != nil {
		return nil, err
	}
	var seq int64
	if from != "" {
		var err error
		if seq, err = messageSeq(ctx, db, chatID, from); err != nil {
			return nil, err
		}
	}
	msgs, err := queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m INDEXED BY messages_chat
		WHERE m.chat_id = ? AND m.seq >= ? AND m.kind = 'message' AND m.direction = 'out' ORDER BY m.seq DESC LIMIT ?`,
		chatID, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("outbound since: %w", err)
	}
	return msgs, nil
}

// messageSeq returns the position of a message in its chat, or ENOTFOUND
// when the chat has no message with that id.
func messageSeq(ctx context.Context, db *DB, chatID, id string) (int64, error) {
	var seq int64
	err := db.reader().QueryRowContext(ctx, `SELECT seq FROM messages WHERE id = ? AND chat_id = ?`, id, chatID).Scan(&seq)
	return seq, notFound(err, "Message not found.")
}
