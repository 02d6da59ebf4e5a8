package tenantdb

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"parley/app"
)

// The customer portal's sign-in (magic links) and sessions.
//
// A request for a link (RequestPortalLink) is throttled per address and
// per client IP, counted in portal_link_requests so the limits survive a
// restart, and it writes the same rows and takes the same time whether or
// not the address is a client's: only a known address adds a link row.
// The mail job then issues the link (IssuePortalLink makes the secret and
// keeps its hash: the secret lives only in the email) and records how it
// went. Opening the link and pressing Sign in (ConsumePortalLink) uses it
// up and starts a session whose token, too, is stored only as a hash.
//
// Every portal query below takes the session's client id: a client's
// messages, files and exports are found through their own chat and id
// only, so another client's ids answer exactly like ids that do not exist.

// PortalLinkRequest is someone asking for a sign-in link.
type PortalLinkRequest struct {
	// Email is the address typed, normalised (app.ContactInput).
	Email string
	// IP is the client address the request came from.
	IP string
	// Origin is the scheme and host the link should lead back to.
	Origin string
	// SiteName is the workspace's public name, for the email.
	SiteName string
}

// PortalThrottled is the refusal of a link request over a limit.
type PortalThrottled struct {
	Err        *app.Error
	RetryAfter time.Duration
}

func (e *PortalThrottled) Error() string { return e.Err.Error() }
func (e *PortalThrottled) Unwrap() error { return e.Err }

// errPortalLinkGone is the one answer for a link that is unknown, used,
// expired, or whose address no longer belongs to a live client.
func errPortalLinkGone() error {
	return app.Errorf(app.EGONE, "This link has expired or was already used.")
}

// errPortalSessionEnded is the answer for a token that names no live session.
func errPortalSessionEnded() error {
	return app.Errorf(app.EUNAUTHORIZED, "Your session has ended. Ask for a new sign-in link.")
}

// errPortalAccountChanged is the answer for a session whose client was
// merged, deleted or erased, or whose address was taken off the profile.
func errPortalAccountChanged() error {
	return app.Errorf(app.EGONE, "You were signed out because your account details changed. Ask for a new sign-in link.")
}

// portalCleanupAge is how long ended links, sessions and throttle rows are
// kept; they are deleted a batch at a time as new requests come in.
const portalCleanupAge = 24 * time.Hour

// portalHash is a salted hash of a value (an address, an IP) for the
// throttle log: the workspace's own salt, so the log neither holds the
// value nor matches another workspace's.
func portalHash(ctx context.Context, q querier, kind, value string) (string, error) {
	var salt string
	if err := q.QueryRowContext(ctx, `SELECT portal_salt FROM workspace_settings WHERE id = 1`).Scan(&salt); err != nil {
		return "", fmt.Errorf("portal salt: %w", err)
	}
	m := hmac.New(sha256.New, []byte(salt))
	m.Write([]byte("parley portal throttle\x00" + kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// RequestPortalLink records a request for a sign-in link and returns its
// id, which the caller hands to the mail job whatever the address: the job
// finds a link to send only when the address was a live client's email
// contact. Over a limit it returns a *PortalThrottled (ERATELIMITED) and
// records nothing.
func (db *DB) RequestPortalLink(ctx context.Context, in PortalLinkRequest) (string, error) {
	id, now := newID(), db.Now()
	err := db.update(ctx, func(tx *sql.Tx) error {
		emailHash, err := portalHash(ctx, tx, "email", in.Email)
		if err != nil {
			return err
		}
		ipHash, err := portalHash(ctx, tx, "ip", in.IP)
		if err != nil {
			return err
		}
		if err := portalThrottle(ctx, tx, "email_hash", emailHash, app.PortalLinksPerEmail, app.PortalEmailWindow, now,
			"Several sign-in links were asked for this address in the last minutes. Use the newest one you received, or try again in %s."); err != nil {
			return err
		}
		if err := portalThrottle(ctx, tx, "ip_hash", ipHash, app.PortalLinksPerIP, app.PortalIPWindow, now,
			"Too many sign-in links were asked for from your network. Try again in %s."); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_link_requests (id, email_hash, ip_hash, created_at)
			VALUES (?, ?, ?, ?)`, id, emailHash, ipHash, now); err != nil {
			return fmt.Errorf("insert link request: %w", err)
		}
		if err := cleanPortalRows(ctx, tx, now); err != nil {
			return err
		}
		var contactID, clientID string
		err = tx.QueryRowContext(ctx, `SELECT k.id, k.client_id FROM contacts k JOIN clients c ON c.id = k.client_id
			WHERE k.type = 'email' AND k.value = ? AND k.active = 1
			AND c.deleted_at IS NULL AND c.merged_into IS NULL AND c.erased_at IS NULL`, in.Email).Scan(&contactID, &clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // not a client's address: the same answer, no link
		} else if err != nil {
			return fmt.Errorf("find portal contact: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_links (id, client_id, contact_id, origin, site_name,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, id, clientID, contactID, in.Origin, in.SiteName,
			now, now.Add(app.PortalLinkTTL)); err != nil {
			return fmt.Errorf("insert portal link: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPortalLinkRequested, "client", clientID, app.SystemActor,
			map[string]any{"link_id": id, "contact_id": contactID}))
	})
	return id, err
}

// portalThrottle refuses a request when column already has limit requests
// with value within window.
func portalThrottle(ctx context.Context, tx *sql.Tx, column, value string, limit int, window time.Duration, now time.Time, msg string) error {
	times, err := queryAll(ctx, tx, func(row rowScanner) (t time.Time, err error) { return t, row.Scan(&t) },
		`SELECT created_at FROM portal_link_requests WHERE `+column+` = ? AND created_at > ? ORDER BY created_at LIMIT ?`,
		value, now.Add(-window), limit)
	if err != nil {
		return fmt.Errorf("portal throttle: %w", err)
	}
	if len(times) < limit {
		return nil
	}
	wait := times[0].Add(window).Sub(now)
	minutes := int(math.Ceil(wait.Minutes()))
	when := fmt.Sprintf("%d minutes", minutes)
	if minutes <= 1 {
		when = "a minute"
	}
	return &PortalThrottled{Err: app.Errorf(app.ERATELIMITED, msg, when), RetryAfter: wait}
}

// cleanPortalRows deletes a batch of throttle rows, links and sessions
// that ended more than portalCleanupAge ago.
func cleanPortalRows(ctx context.Context, tx *sql.Tx, now time.Time) error {
	old := now.Add(-portalCleanupAge)
	for _, q := range []string{
		`DELETE FROM portal_link_requests WHERE id IN (SELECT id FROM portal_link_requests WHERE created_at < ? LIMIT 100)`,
		`DELETE FROM portal_links WHERE id IN (SELECT id FROM portal_links WHERE expires_at < ? LIMIT 100)`,
		`DELETE FROM portal_sessions WHERE id IN (SELECT id FROM portal_sessions WHERE expires_at < ? LIMIT 100)`,
	} {
		if _, err := tx.ExecContext(ctx, q, old); err != nil {
			return fmt.Errorf("clean portal rows: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id IN (SELECT id FROM portal_sessions
		WHERE revoked_at < ? OR last_seen_at < ? LIMIT 100)`, old, old.Add(-app.PortalSessionIdle))
	return err
}

// portalContact returns the email address of a contact that is still an
// active email contact of clientID, a live client, with the client's
// first name; ok is false otherwise.
func portalContact(ctx context.Context, q querier, clientID, contactID string) (email, firstName string, ok bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT k.value, c.first_name FROM contacts k JOIN clients c ON c.id = k.client_id
		WHERE k.id = ? AND k.client_id = ? AND k.type = 'email' AND k.active = 1
		AND c.deleted_at IS NULL AND c.merged_into IS NULL AND c.erased_at IS NULL`, contactID, clientID).Scan(&email, &firstName)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	return email, firstName, err == nil, err
}

// IssuePortalLink makes the secret of the link requested as id and keeps
// its hash, replacing any earlier one: the mail job calls it for each
// attempt, and only the link of the last attempt works. ENOTFOUND means
// the request named no client (nothing to send); EGONE that the link
// expired, was used, or its address is no longer the client's.
func (db *DB) IssuePortalLink(ctx context.Context, id string) (app.PortalLinkMail, error) {
	var m app.PortalLinkMail
	err := db.update(ctx, func(tx *sql.Tx) error {
		var contactID, origin string
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT client_id, contact_id, origin, site_name, expires_at, used_at
			FROM portal_links WHERE id = ?`, id).Scan(&m.ClientID, &contactID, &origin, &m.SiteName, &m.ExpiresAt, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return app.Errorf(app.ENOTFOUND, "No sign-in link was made for this request.")
		} else if err != nil {
			return fmt.Errorf("read portal link: %w", err)
		}
		m.ExpiresAt = m.ExpiresAt.UTC()
		if used.Valid || !db.Now().Before(m.ExpiresAt) {
			return errPortalLinkGone()
		}
		email, first, ok, err := portalContact(ctx, tx, m.ClientID, contactID)
		if err != nil {
			return err
		} else if !ok {
			return errPortalLinkGone()
		}
		secret := app.NewSecret("ppl_")
		if _, err := tx.ExecContext(ctx, `UPDATE portal_links SET secret_hash = ? WHERE id = ?`, app.HashSecret(secret), id); err != nil {
			return fmt.Errorf("issue portal link: %w", err)
		}
		m.LinkID, m.To, m.FirstName = id, email, first
		m.URL = origin + "/portal/login/" + secret
		return nil
	})
	return m, err
}

// RecordPortalLinkSent records that the link requested as id was mailed,
// and how ("email" through a mailbox, or "sandbox").
func (db *DB) RecordPortalLinkSent(ctx context.Context, id, via string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx, `UPDATE portal_links SET sent_at = ?, sent_via = ? WHERE id = ? RETURNING client_id`,
			db.Now(), via, id).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // cleaned up since: nothing to record
		} else if err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPortalLinkSent, "client", clientID, app.SystemActor,
			map[string]any{"link_id": id, "via": via}))
	})
}

// RecordPortalLinkFailed records that the link requested as id could not
// be mailed, with the reason the team reads on the client's timeline.
func (db *DB) RecordPortalLinkFailed(ctx context.Context, id, reason string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx, `SELECT client_id FROM portal_links WHERE id = ?`, id).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPortalLinkFailed, "client", clientID, app.SystemActor,
			map[string]any{"link_id": id, "reason": reason}))
	})
}

// PortalMailChannel returns the channel sign-in links are mailed through:
// the workspace's first active email channel whose credentials this
// server can read, else its first active sandbox channel (the link lands
// in that sandbox's outbox). ok is false when there is neither; the link
// then goes to the sandbox outbox without a channel.
func (db *DB) PortalMailChannel(ctx context.Context) (ch app.Channel, ok bool, err error) {
	chs, err := db.ListChannels(ctx)
	if err != nil {
		return app.Channel{}, false, err
	}
	for _, t := range []app.ChannelType{app.ChannelEmail, app.ChannelSandbox} {
		for _, c := range chs {
			if c.Type == t && c.Active && !c.SecretsUnreadable {
				return c, true, nil
			}
		}
	}
	return app.Channel{}, false, nil
}

// PortalLink is a sign-in link as its confirmation page shows it.
type PortalLink struct {
	Email     string
	ExpiresAt time.Time
}

// PortalLinkBySecret returns the link with secret if it can still be
// used, without using it up (mail scanners open links), or EGONE.
func (db *DB) PortalLinkBySecret(ctx context.Context, secret string) (PortalLink, error) {
	var l PortalLink
	var clientID, contactID string
	err := db.reader().QueryRowContext(ctx, `SELECT client_id, contact_id, expires_at FROM portal_links
		WHERE secret_hash = ? AND used_at IS NULL AND expires_at > ?`, app.HashSecret(secret), db.Now()).Scan(&clientID, &contactID, &l.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return l, errPortalLinkGone()
	} else if err != nil {
		return l, err
	}
	email, _, ok, err := portalContact(ctx, db.reader(), clientID, contactID)
	if err != nil {
		return l, err
	} else if !ok {
		return l, errPortalLinkGone()
	}
	l.Email, l.ExpiresAt = email, l.ExpiresAt.UTC()
	return l, nil
}

// PortalSession is a signed-in client.
type PortalSession struct {
	ID        string
	ClientID  string
	ContactID string
	// Email is the address the client signed in with: their replies come
	// from it.
	Email      string
	ClientName string
	FirstName  string
	// Timezone is the client's preferred time zone (IANA), "" if none.
	Timezone   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// ConsumePortalLink uses up the link with secret and starts a portal
// session, returning it with its token (stored only as a hash). The
// client's other unused links stop working, and the session whose token
// is replacing (the browser's earlier one, if any) is revoked. A link that
// cannot be used answers EGONE.
func (db *DB) ConsumePortalLink(ctx context.Context, secret, replacing string) (PortalSession, string, error) {
	token := app.NewSecret("pps_")
	now := db.Now()
	s := PortalSession{ID: newID(), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(app.PortalSessionLifetime)}
	err := db.update(ctx, func(tx *sql.Tx) error {
		var linkID string
		err := tx.QueryRowContext(ctx, `UPDATE portal_links SET used_at = ?
			WHERE secret_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING id, client_id, contact_id`,
			now, app.HashSecret(secret), now).Scan(&linkID, &s.ClientID, &s.ContactID)
		if errors.Is(err, sql.ErrNoRows) {
			return errPortalLinkGone()
		} else if err != nil {
			return fmt.Errorf("use portal link: %w", err)
		}
		email, _, ok, err := portalContact(ctx, tx, s.ClientID, s.ContactID)
		if err != nil {
			return err
		} else if !ok {
			return errPortalLinkGone()
		}
		s.Email = email
		c := &app.Client{ID: s.ClientID}
		if err := tx.QueryRowContext(ctx, `SELECT first_name, middle_name, last_name FROM clients WHERE id = ?`,
			s.ClientID).Scan(&c.FirstName, &c.MiddleName, &c.LastName); err != nil {
			return err
		}
		s.ClientName, s.FirstName = c.Name(), c.FirstName
		// One link signs in once: the client's other links still in the
		// mail stop working now.
		if _, err := tx.ExecContext(ctx, `UPDATE portal_links SET expires_at = ? WHERE client_id = ? AND used_at IS NULL
			AND expires_at > ?`, now, s.ClientID, now); err != nil {
			return err
		}
		if replacing != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE portal_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`,
				now, app.HashSecret(replacing)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO portal_sessions (id, token_hash, client_id, contact_id, link_id,
			created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, app.HashSecret(token), s.ClientID,
			s.ContactID, linkID, now, now, s.ExpiresAt); err != nil {
			return fmt.Errorf("insert portal session: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPortalSignedIn, "client", s.ClientID, app.ClientActor(c),
			map[string]any{"session_id": s.ID, "contact_id": s.ContactID}))
	})
	if err != nil {
		return PortalSession{}, "", err
	}
	return s, token, nil
}

// PortalSessionByToken returns the live session with token. A token that
// is unknown, revoked or past its idle or absolute expiry answers
// EUNAUTHORIZED; a session whose client is no longer live (merged,
// deleted, erased) or whose address left the profile answers EGONE, and
// the caller ends it.
func (db *DB) PortalSessionByToken(ctx context.Context, token string) (PortalSession, error) {
	var s PortalSession
	var revoked sql.NullTime
	err := db.reader().QueryRowContext(ctx, `SELECT id, client_id, contact_id, created_at, last_seen_at, expires_at, revoked_at
		FROM portal_sessions WHERE token_hash = ?`, app.HashSecret(token)).Scan(&s.ID, &s.ClientID, &s.ContactID,
		&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return s, errPortalSessionEnded()
	} else if err != nil {
		return s, fmt.Errorf("read portal session: %w", err)
	}
	now := db.Now()
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	if revoked.Valid || !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(app.PortalSessionIdle)) {
		return s, errPortalSessionEnded()
	}
	email, _, ok, err := portalContact(ctx, db.reader(), s.ClientID, s.ContactID)
	if err != nil {
		return s, err
	} else if !ok {
		return s, errPortalAccountChanged()
	}
	c := &app.Client{ID: s.ClientID}
	if err := db.reader().QueryRowContext(ctx, `SELECT first_name, middle_name, last_name, timezone FROM clients WHERE id = ?`,
		s.ClientID).Scan(&c.FirstName, &c.MiddleName, &c.LastName, &s.Timezone); err != nil {
		return s, err
	}
	s.Email, s.ClientName, s.FirstName = email, c.Name(), c.FirstName
	return s, nil
}

// portalTouchEvery is how stale a session's last_seen_at may be before a
// page view writes it: idle expiry is counted in hours, so page views need
// not turn into writes.
const portalTouchEvery = time.Minute

// TouchPortalSession records a page view of the session, at most once a
// minute.
func (db *DB) TouchPortalSession(ctx context.Context, s PortalSession) error {
	now := db.Now()
	if now.Sub(s.LastSeenAt) < portalTouchEvery {
		return nil
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE portal_sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL`, now, s.ID)
		return err
	})
}

// EndPortalSession revokes the session with token. signOut says the
// client asked (recorded as an event); otherwise the session ended because
// the account changed, which the event log already tells.
func (db *DB) EndPortalSession(ctx context.Context, token string, signOut bool) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		var id, clientID string
		err := tx.QueryRowContext(ctx, `UPDATE portal_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL
			RETURNING id, client_id`, db.Now(), app.HashSecret(token)).Scan(&id, &clientID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !signOut) {
			return nil
		} else if err != nil {
			return err
		}
		c := &app.Client{ID: clientID}
		if err := tx.QueryRowContext(ctx, `SELECT first_name, middle_name, last_name FROM clients WHERE id = ?`,
			clientID).Scan(&c.FirstName, &c.MiddleName, &c.LastName); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventPortalSignedOut, "client", clientID, app.ClientActor(c),
			map[string]any{"session_id": id}))
	})
}

// PortalLastSignIn returns when the client last signed in to the portal,
// or nil if they never did (or the event log no longer says).
func (db *DB) PortalLastSignIn(ctx context.Context, clientID string) (*time.Time, error) {
	var at time.Time
	err := db.reader().QueryRowContext(ctx, `SELECT occurred_at FROM events WHERE aggregate_type = 'client'
		AND aggregate_id = ? AND type = ? ORDER BY id DESC LIMIT 1`, clientID, app.EventPortalSignedIn).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	at = at.UTC()
	return &at, nil
}

// portalVisible is what of a chat a client sees: messages to and from
// them, not internal notes or the team's system lines, and not a reply
// whose send failed (it never reached them, and may have been held back,
// a marketing message without consent).
const portalVisible = `m.kind = 'message' AND NOT (m.direction = 'out' AND m.status = 'failed')`

// portalChat returns the id of the client's chat, "" when they have none.
func portalChat(ctx context.Context, q querier, clientID string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM chats WHERE client_id = ? AND merged_into IS NULL`, clientID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// portalSeq returns the position of a message of chatID the client sees,
// or ENOTFOUND: a cursor naming another client's message, a note or
// nothing at all gets one answer.
func portalSeq(ctx context.Context, q querier, chatID, messageID string) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT m.seq FROM messages m WHERE m.id = ? AND m.chat_id = ? AND `+portalVisible,
		messageID, chatID).Scan(&seq)
	return seq, notFound(err, "Message not found.")
}

// PortalMessages returns up to limit messages of the client's
// conversation that they may see, oldest first, before the message with
// id before (the newest when empty); more says older ones remain.
func (db *DB) PortalMessages(ctx context.Context, clientID, before string, limit int) (msgs []app.Message, more bool, err error) {
	if limit <= 0 || limit > 100 {
		limit = 30
	}
	chatID, err := portalChat(ctx, db.reader(), clientID)
	if err != nil || chatID == "" {
		if err == nil && before != "" {
			err = errMessageNotFound()
		}
		return nil, false, err
	}
	where, args := `m.chat_id = ? AND `+portalVisible, []any{chatID}
	if before != "" {
		seq, err := portalSeq(ctx, db.reader(), chatID, before)
		if err != nil {
			return nil, false, err
		}
		where, args = where+` AND m.seq < ?`, append(args, seq)
	}
	msgs, err = queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m WHERE `+where+`
		ORDER BY m.seq DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("portal messages: %w", err)
	}
	if more = len(msgs) > limit; more {
		msgs = msgs[:limit]
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, more, db.attachFiles(ctx, db.reader(), msgs)
}

// PortalMessagesAfter returns the messages the client may see written
// after the message with id after (from the start when empty), oldest
// first, at most 100: what the conversation page appends as it polls.
func (db *DB) PortalMessagesAfter(ctx context.Context, clientID, after string) ([]app.Message, error) {
	chatID, err := portalChat(ctx, db.reader(), clientID)
	if err != nil || chatID == "" {
		if err == nil && after != "" {
			err = errMessageNotFound()
		}
		return nil, err
	}
	var seq int64
	if after != "" {
		if seq, err = portalSeq(ctx, db.reader(), chatID, after); err != nil {
			return nil, err
		}
	}
	msgs, err := queryAll(ctx, db.reader(), scanMessage, `SELECT `+messageColumns+` FROM messages m
		WHERE m.chat_id = ? AND m.seq > ? AND `+portalVisible+` ORDER BY m.seq LIMIT 100`, chatID, seq)
	if err != nil {
		return nil, fmt.Errorf("portal messages after: %w", err)
	}
	return msgs, db.attachFiles(ctx, db.reader(), msgs)
}

// PortalAttachment returns a file of a message of the client's own chat
// that they may see, with the path of its bytes; anything else (another
// client's file, a file of a failed reply, no file) is ENOTFOUND.
func (db *DB) PortalAttachment(ctx context.Context, clientID, id string) (app.Attachment, string, error) {
	a, err := scanAttachment(db.reader().QueryRowContext(ctx, `SELECT a.id, a.message_id, a.filename, a.content_type,
		a.size, a.sha256 FROM attachments a JOIN messages m ON m.id = a.message_id JOIN chats c ON c.id = m.chat_id
		WHERE a.id = ? AND c.client_id = ? AND c.merged_into IS NULL AND `+portalVisible, id, clientID))
	if err != nil {
		return app.Attachment{}, "", notFound(err, "File not found.")
	}
	return a, filepath.Join(db.FilesDir(), filepath.Base(a.ID)), nil
}
