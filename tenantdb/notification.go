package tenantdb

import (
	"context"
	"database/sql"
	"fmt"

	"parley/app"
)

// ListNotifications returns the user's newest notifications.
func (db *DB) ListNotifications(ctx context.Context, userID string, limit int) ([]app.Notification, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	ns, err := queryAll(ctx, db.reader(), func(row rowScanner) (app.Notification, error) {
		var n app.Notification
		var read sql.NullTime
		err := row.Scan(&n.ID, &n.Kind, &n.ChatID, &n.MessageID, &n.Text, &n.CreatedAt, &read)
		n.CreatedAt, n.ReadAt = n.CreatedAt.UTC(), nullTime(read)
		return n, err
	}, `SELECT seq, kind, chat_id, message_id, text, created_at, read_at FROM notifications
		WHERE user_id = ? ORDER BY seq DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return ns, nil
}

// UnreadNotifications counts the user's unread notifications, stopping at
// 100 (the badge shows "99+"). It walks the user's newest ones only.
func (db *DB) UnreadNotifications(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM notifications
		WHERE user_id = ? AND read_at IS NULL ORDER BY seq DESC LIMIT 100)`, userID).Scan(&n)
	return n, err
}

// MarkNotificationsRead marks every notification of the user read. It is
// the user's own view state, like a session, so it writes no event.
func (db *DB) MarkNotificationsRead(ctx context.Context, userID string) error {
	if n, err := db.UnreadNotifications(ctx, userID); err != nil || n == 0 {
		return err
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`,
			db.Now(), userID)
		return err
	})
}
