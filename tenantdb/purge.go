package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// purgeMessages deletes the messages with the given ids, or with redact
// blanks what they said and who said it (keeping that they happened),
// together with their attachments and the notifications that quoted them,
// and brings their chats' counters and previews up to date. It returns
// the attachment files to remove once the transaction has committed
// (removeFilesAt): a rolled-back purge must not have lost them.
func purgeMessages(ctx context.Context, tx *sql.Tx, ids []string, redact bool, now time.Time) (files []string, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := inList(ids)
	atts, err := queryAll(ctx, tx, scanString, `SELECT id FROM attachments WHERE message_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("attachments to purge: %w", err)
	}
	chats, err := queryAll(ctx, tx, scanString, `SELECT DISTINCT chat_id FROM messages WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("chats to refresh: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM attachments WHERE message_id IN (` + in + `)`,
		`DELETE FROM notifications WHERE message_id IN (` + in + `)`,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("purge: %w", err)
		}
	}
	if redact {
		// #nosec G202 -- in is ? placeholders from inList; the ids are bound
		_, err = tx.ExecContext(ctx, `UPDATE messages SET body = '', subject = '', html = '', meta = '{}', sender_name = '',
			sender_meta = '{}', contact_value = '', mentions = '[]', redacted_at = ? WHERE id IN (`+in+`)`,
			append([]any{now}, args...)...)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (`+in+`)`, args...) // #nosec G202 -- in is ? placeholders from inList; the ids are bound
	}
	if err != nil {
		return nil, fmt.Errorf("purge messages: %w", err)
	}
	if err := refreshChats(ctx, tx, chats); err != nil {
		return nil, err
	}
	return atts, nil
}

// refreshChats recounts chats after messages left them, and shows as
// their preview the newest message that still says something.
func refreshChats(ctx context.Context, tx *sql.Tx, chatIDs []string) error {
	for _, id := range chatIDs {
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET
			message_count = (SELECT count(*) FROM messages WHERE chat_id = ?1),
			unread_count = (SELECT count(*) FROM messages WHERE chat_id = ?1 AND direction = 'in' AND read_at IS NULL
				AND kind = 'message' AND json_extract(meta, '$.automatic') IS NOT 'true'),
			last_preview = coalesce((SELECT substr(body, 1, 140) FROM messages WHERE chat_id = ?1 AND redacted_at IS NULL
				AND kind != 'note' ORDER BY seq DESC LIMIT 1), '')
			WHERE id = ?1`, id); err != nil {
			return fmt.Errorf("refresh chat: %w", err)
		}
	}
	return nil
}

// removeFilesAt removes attachment files by id from the tenant's files
// directory (after the rows are gone for good), and from the replica.
func (db *DB) removeFilesAt(ids []string) {
	for _, id := range ids {
		os.Remove(filepath.Join(db.FilesDir(), filepath.Base(id)))
		db.replicateFiles(filepath.Base(id))
	}
}

// inList returns "?, ?, ?" and the arguments for an IN clause.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", "), args
}
