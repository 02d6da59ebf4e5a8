package tenantdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"parley/app"
)

// Delivery is an outbound message claimed for one send attempt.
type Delivery struct {
	Message app.Message
	Channel app.Channel
	// Attempt numbers this attempt from 1.
	Attempt int
	// Uncertain says an earlier attempt started and never reported back (a
	// crash or a timeout): it may have reached the provider, so the worker
	// asks the provider before sending again.
	Uncertain bool
	// Address is the provider's own id for the client (a Telegram chat id)
	// when an inbound message gave one.
	Address string
	// Email threading: the Message-ID answered, the chat's recent ones and
	// its reply token.
	InReplyTo  string
	References []string
	ReplyToken string
	// OptedOut is set when the client asked (STOP) for no more messages
	// on the contact after this one was queued: it must not go.
	OptedOut bool
	// NoConsent is set for a marketing message whose client does not (or
	// no longer) consent to marketing on its transport.
	NoConsent bool
}

// ErrNotQueued is returned by BeginDelivery for a message that is no longer
// waiting to be sent (sent already, failed, or retried and sent by another
// job): the worker has nothing to do.
var ErrNotQueued = app.Errorf(app.ECONFLICT, "The message is not queued.")

// BeginDelivery counts a send attempt of a queued message and returns what
// the worker needs to make it. The attempt is committed before the provider
// is called, so after a crash the next attempt knows to ask the provider
// first instead of sending blindly.
func (db *DB) BeginDelivery(ctx context.Context, messageID string) (Delivery, error) {
	var d Delivery
	err := db.update(ctx, func(tx *sql.Tx) error {
		m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, messageID))
		if err != nil {
			return notFound(err, "Message not found.")
		}
		if m.Status != app.StatusQueued || m.Kind != app.KindMessage || m.Direction != app.DirectionOut {
			return ErrNotQueued
		}
		if d.Channel, err = db.scanChannel(tx.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ?`, m.ChannelID)); err != nil {
			return fmt.Errorf("message channel: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT attempt_open FROM messages WHERE id = ?`, messageID).Scan(&d.Uncertain); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET send_attempts = send_attempts + 1, attempt_open = 1
			WHERE id = ?`, messageID); err != nil {
			return fmt.Errorf("count attempt: %w", err)
		}
		m.SendAttempts++
		if err := deliveryContext(ctx, tx, m, &d, db.Now()); err != nil {
			return err
		}
		msgs := []app.Message{m}
		err = db.attachFiles(ctx, tx, msgs)
		d.Message, d.Attempt = msgs[0], m.SendAttempts
		return err
	})
	return d, err
}

// UndoAttempt takes back the count of an attempt that did not reach the
// provider: the send waits for the provider's rate limit (uncertain keeps
// what the attempt found, so an earlier attempt cut off is still looked
// up before sending), or the provider asked to slow down (it has not
// taken the message: uncertain is false).
func (db *DB) UndoAttempt(ctx context.Context, messageID string, uncertain bool) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET send_attempts = max(send_attempts - 1, 0), attempt_open = ?
			WHERE id = ? AND status = 'queued'`, uncertain, messageID)
		return err
	})
}

// RecordSent marks a queued message sent with the provider's id for it.
func (db *DB) RecordSent(ctx context.Context, messageID, providerID string) error {
	return db.advance(ctx, messageID, app.StatusReport{ProviderMessageID: providerID, Status: app.StatusSent, At: db.Now()}, app.SystemActor)
}

// RecordSendFailed marks a message failed with a reason the team can read.
func (db *DB) RecordSendFailed(ctx context.Context, messageID, reason string) error {
	return db.advance(ctx, messageID, app.StatusReport{Status: app.StatusFailed, Reason: reason, At: db.Now()}, app.SystemActor)
}

// RecordAttemptFailed closes an attempt that failed for a reason that may
// pass (the provider was down or unreachable): the message stays queued
// for the next attempt, and the channel shows the error. outcomeUnknown
// keeps the attempt open (the request may have reached the provider), so
// the next attempt asks the provider before sending again.
func (db *DB) RecordAttemptFailed(ctx context.Context, messageID, reason string, outcomeUnknown bool) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		var channelID string
		if err := tx.QueryRowContext(ctx, `UPDATE messages SET attempt_open = ? WHERE id = ? RETURNING channel_id`,
			outcomeUnknown, messageID).Scan(&channelID); err != nil {
			return notFound(err, "Message not found.")
		}
		return noteChannelOutcome(ctx, tx, channelID, db.Now(), reason)
	})
}

// ReportStatus applies a provider's status report to the outbound message
// it names. Reports that would move a message backward (they arrive out of
// order) are ignored; a report for an unknown message is ENOTFOUND.
func (db *DB) ReportStatus(ctx context.Context, rep app.StatusReport) error {
	var id string
	err := db.reader().QueryRowContext(ctx, `SELECT id FROM messages WHERE channel_id = ? AND direction = 'out'
		AND provider_message_id = ? AND provider_message_id != ''`, rep.ChannelID, rep.ProviderMessageID).Scan(&id)
	if err != nil {
		return notFound(err, "Message not found.")
	}
	rep.ProviderMessageID = ""
	if rep.At.IsZero() {
		rep.At = db.Now()
	}
	return db.advance(ctx, id, rep, app.SystemActor)
}

// advance moves a message's delivery status forward, filling in the time of
// the step (and those skipped: a "read" implies "delivered"), with a
// MessageStatusChanged event. A step that does not advance writes nothing.
func (db *DB) advance(ctx context.Context, id string, rep app.StatusReport, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		var from app.DeliveryStatus
		var chatID, clientID, channelID string
		err := tx.QueryRowContext(ctx, `SELECT m.status, m.chat_id, c.client_id, m.channel_id FROM messages m
			JOIN chats c ON c.id = m.chat_id WHERE m.id = ?`, id).Scan(&from, &chatID, &clientID, &channelID)
		if err != nil {
			return notFound(err, "Message not found.")
		}
		if !from.Advances(rep.Status) {
			return nil
		}
		at := rep.At.UTC()
		q := `UPDATE messages SET status = ?, failure_reason = ?, attempt_open = 0`
		args := []any{rep.Status, rep.Reason}
		if rep.ProviderMessageID != "" {
			q, args = q+`, provider_message_id = ?`, append(args, rep.ProviderMessageID)
		}
		for _, step := range []struct {
			status app.DeliveryStatus
			column string
		}{{app.StatusSent, "sent_at"}, {app.StatusDelivered, "delivered_at"}, {app.StatusRead, "read_at"}} {
			// A failure fills in no step: the message never got that far.
			if rep.Status != app.StatusFailed && (rep.Status == step.status || step.status.Advances(rep.Status)) {
				q += `, ` + step.column + ` = coalesce(` + step.column + `, ?)`
				args = append(args, at)
			}
		}
		if _, err := tx.ExecContext(ctx, q+` WHERE id = ?`, append(args, id)...); err != nil {
			return fmt.Errorf("advance message: %w", err)
		}
		if rep.Status == app.StatusSent || rep.Status == app.StatusFailed {
			if err := noteChannelOutcome(ctx, tx, channelID, at, rep.Reason); err != nil {
				return err
			}
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventMessageStatus, "chat", chatID, actor, map[string]any{
			"message_id": id, "client_id": clientID, "from": from, "to": rep.Status, "reason": rep.Reason}))
	})
}

// QueuedMessages returns the ids of messages queued before cutoff: the
// reconciler's list of sends that may have lost their job.
func (db *DB) QueuedMessages(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	return queryAll(ctx, db.reader(), scanString, `SELECT id FROM messages INDEXED BY messages_queued
		WHERE status = 'queued' AND created_at < ? ORDER BY created_at LIMIT ?`, cutoff.UTC(), limit)
}

// deliveryContext fills in what a provider needs beyond the message: the
// client's provider address, and for email the thread (the last inbound
// Message-ID, the chat's recent ones, and its reply token).
func deliveryContext(ctx context.Context, tx *sql.Tx, m app.Message, d *Delivery, now time.Time) error {
	if err := tx.QueryRowContext(ctx, `SELECT opted_out_at IS NOT NULL FROM contacts WHERE id = ?`, m.ContactID).Scan(&d.OptedOut); err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("contact opt-out: %w", err)
	}
	if m.Marketing {
		var clientID string
		if err := tx.QueryRowContext(ctx, `SELECT client_id FROM chats WHERE id = ?`, m.ChatID).Scan(&clientID); err != nil {
			return fmt.Errorf("message client: %w", err)
		}
		ok, err := marketingAllowed(ctx, tx, clientID, m.Transport, now)
		if err != nil {
			return err
		}
		d.NoConsent = !ok
	}
	var meta string
	err := tx.QueryRowContext(ctx, `SELECT meta FROM chat_members WHERE chat_id = ? AND kind = 'client' AND contact_id = ?
		AND transport = ? ORDER BY created_at DESC LIMIT 1`, m.ChatID, m.ContactID, m.Transport).Scan(&meta)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("client address: %w", err)
	}
	if meta != "" {
		var fields map[string]any
		if json.Unmarshal([]byte(meta), &fields) == nil {
			d.Address, _ = fields["address"].(string)
		}
	}
	if m.Transport != app.TransportEmail {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT provider_message_id, direction FROM messages WHERE chat_id = ?
		AND transport = 'email' AND provider_message_id != '' AND id != ? ORDER BY seq DESC LIMIT 10`, m.ChatID, m.ID)
	if err != nil {
		return fmt.Errorf("email thread: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var dir app.Direction
		if err := rows.Scan(&id, &dir); err != nil {
			return err
		}
		if d.InReplyTo == "" && dir == app.DirectionIn {
			d.InReplyTo = id
		}
		d.References = append([]string{id}, d.References...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var tok sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT reply_token FROM chats WHERE id = ?`, m.ChatID).Scan(&tok); err != nil {
		return fmt.Errorf("reply token: %w", err)
	}
	if !tok.Valid {
		tok.String = app.NewSecret("")[:16]
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET reply_token = ? WHERE id = ?`, tok.String, m.ChatID); err != nil {
			return fmt.Errorf("reply token: %w", err)
		}
	}
	d.ReplyToken = tok.String
	return nil
}
