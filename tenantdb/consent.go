package tenantdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"parley/app"
)

const consentColumns = `client_id, purpose, channel, state, source, expires_at, updated_at`

func scanConsent(row rowScanner) (app.Consent, error) {
	var c app.Consent
	var exp sql.NullTime
	err := row.Scan(&c.ClientID, &c.Purpose, &c.Channel, &c.State, &c.Source, &exp, &c.UpdatedAt)
	c.ExpiresAt, c.UpdatedAt = nullTime(exp), c.UpdatedAt.UTC()
	return c, err
}

const consentChangeColumns = `id, purpose, channel, from_state, to_state, source, actor_type, actor_id, actor_name, note, expires_at, at`

func scanConsentChange(row rowScanner) (app.ConsentChange, error) {
	var c app.ConsentChange
	var exp sql.NullTime
	err := row.Scan(&c.ID, &c.Purpose, &c.Channel, &c.From, &c.To, &c.Source, &c.Actor.Type, &c.Actor.ID, &c.Actor.Name,
		&c.Note, &exp, &c.At)
	c.ExpiresAt, c.At = nullTime(exp), c.At.UTC()
	return c, err
}

// ClientConsents returns a live client's consents (by purpose, then
// channel) and their history, newest first.
func (db *DB) ClientConsents(ctx context.Context, clientID string) ([]app.Consent, []app.ConsentChange, error) {
	if _, err := loadClient(ctx, db.reader(), clientID); err != nil {
		return nil, nil, err
	}
	cs, err := queryAll(ctx, db.reader(), scanConsent, `SELECT `+consentColumns+` FROM consents WHERE client_id = ?
		ORDER BY purpose, channel`, clientID)
	if err != nil {
		return nil, nil, err
	}
	hist, err := queryAll(ctx, db.reader(), scanConsentChange, `SELECT `+consentChangeColumns+` FROM consent_changes
		WHERE client_id = ? ORDER BY seq DESC LIMIT 500`, clientID)
	return cs, hist, err
}

// RecordConsent moves one of a client's consents to a new state, along
// the consent state machine, with its immutable change record and a
// ConsentChanged event (purpose, channel and states; no personal data).
func (db *DB) RecordConsent(ctx context.Context, clientID string, in app.ConsentInput, actor app.Actor) (app.Consent, error) {
	now := db.Now()
	if err := in.Normalize(now); err != nil {
		return app.Consent{}, err
	}
	var out app.Consent
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := loadClient(ctx, tx, clientID); err != nil {
			return err
		}
		var err error
		out, err = recordConsent(ctx, tx, clientID, in, actor, now)
		if err != nil {
			return err
		}
		if err := touchClient(ctx, tx, clientID, now); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventConsentChanged, "client", clientID, actor,
			map[string]any{"purpose": in.Purpose, "channel": in.Channel, "state": in.State, "source": in.Source}))
	})
	return out, err
}

// recordConsent checks the move and writes the state and its change.
func recordConsent(ctx context.Context, tx *sql.Tx, clientID string, in app.ConsentInput, actor app.Actor, now time.Time) (app.Consent, error) {
	cur, err := scanConsent(tx.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE client_id = ? AND purpose = ? AND channel = ?`, clientID, in.Purpose, in.Channel))
	if err == sql.ErrNoRows {
		cur = app.Consent{State: app.ConsentNotRequested}
	} else if err != nil {
		return app.Consent{}, fmt.Errorf("current consent: %w", err)
	}
	if !cur.State.CanMove(in.State) {
		return app.Consent{}, app.InvalidField("state", fmt.Sprintf("A consent that is %s cannot become %s.",
			cur.State.Label(), app.ConsentState(in.State).Label()))
	}
	c := app.Consent{ClientID: clientID, Purpose: in.Purpose, Channel: in.Channel, State: in.State, Source: in.Source,
		ExpiresAt: in.ExpiresAt, UpdatedAt: now}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_id, purpose, channel) DO UPDATE SET state = excluded.state, source = excluded.source,
		expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		clientID, c.Purpose, c.Channel, c.State, c.Source, utcPtr(c.ExpiresAt), now); err != nil {
		return app.Consent{}, fmt.Errorf("save consent: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_changes (id, client_id, purpose, channel, from_state, to_state,
		source, actor_type, actor_id, actor_name, note, expires_at, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		newID(), clientID, c.Purpose, c.Channel, cur.State, c.State, c.Source, actor.Type, actor.ID, actor.Name, in.Note,
		utcPtr(c.ExpiresAt), now); err != nil {
		return app.Consent{}, fmt.Errorf("record consent change: %w", err)
	}
	return c, nil
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// ConsentsByPurpose lists the consents to a purpose in one state (granted
// to marketing, say), oldest change first, for a segment or an audit.
func (db *DB) ConsentsByPurpose(ctx context.Context, purpose app.ConsentPurpose, state app.ConsentState, limit int) ([]app.Consent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, db.reader(), scanConsent, `SELECT `+consentColumns+` FROM consents
		WHERE purpose = ? AND state = ? ORDER BY updated_at LIMIT ?`, purpose, state, limit)
}

// marketingAllowed reports whether a client consents to marketing on a
// transport now: the consent for that channel decides when there is one,
// else the consent for every channel.
func marketingAllowed(ctx context.Context, q querier, clientID string, t app.Transport, now time.Time) (bool, error) {
	cs, err := queryAll(ctx, q, scanConsent, `SELECT `+consentColumns+` FROM consents WHERE client_id = ? AND purpose = ?
		AND channel IN (?, '') ORDER BY channel DESC`, clientID, app.PurposeMarketing, t)
	if err != nil || len(cs) == 0 {
		return false, err
	}
	return cs[0].Allows(now), nil // the channel's own row sorts before ''
}

// ExpireConsents moves grants past their expiry to Expired, each with its
// change record, and returns how many.
func (db *DB) ExpireConsents(ctx context.Context) (int, error) {
	now := db.Now()
	n := 0
	err := db.update(ctx, func(tx *sql.Tx) error {
		due, err := queryAll(ctx, tx, scanConsent, `SELECT `+consentColumns+` FROM consents
			WHERE state = 'granted' AND expires_at IS NOT NULL AND expires_at <= ? LIMIT 500`, now)
		if err != nil {
			return err
		}
		for _, c := range due {
			in := app.ConsentInput{Purpose: c.Purpose, Channel: c.Channel, State: app.ConsentExpired, Source: app.SourceRetention}
			if _, err := recordConsent(ctx, tx, c.ClientID, in, app.SystemActor, now); err != nil {
				return err
			}
			if err := db.appendEvent(ctx, tx, app.NewEvent(app.EventConsentChanged, "client", c.ClientID, app.SystemActor,
				map[string]any{"purpose": c.Purpose, "channel": c.Channel, "state": app.ConsentExpired, "source": app.SourceRetention})); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// suppressionHash keys a contact value in the suppression list: salted per
// workspace, so the list neither holds the value nor matches another
// workspace's.
func suppressionHash(ctx context.Context, q querier, t app.ContactType, value string) (string, error) {
	var salt string
	if err := q.QueryRowContext(ctx, `SELECT suppression_salt FROM workspace_settings WHERE id = 1`).Scan(&salt); err != nil {
		return "", fmt.Errorf("suppression salt: %w", err)
	}
	// A phone number and its WhatsApp are one person's one number.
	if t == app.ContactWhatsApp {
		t = app.ContactPhone
	}
	sum := sha256.Sum256([]byte(salt + "\x00" + string(t) + "\x00" + value))
	return hex.EncodeToString(sum[:]), nil
}

// suppress adds (stop) or removes (start) a contact value on the
// suppression list.
func suppress(ctx context.Context, tx *sql.Tx, k app.Contact, stop bool, now time.Time) error {
	h, err := suppressionHash(ctx, tx, k.Type, k.Value)
	if err != nil {
		return err
	}
	if !stop {
		_, err = tx.ExecContext(ctx, `DELETE FROM suppressions WHERE hash = ?`, h)
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO suppressions (hash, type, reason, created_at) VALUES (?, ?, 'opted out', ?)`,
		h, k.Type, now)
	return err
}

// suppressed reports whether a contact value is on the suppression list.
func suppressed(ctx context.Context, q querier, t app.ContactType, value string) (bool, error) {
	h, err := suppressionHash(ctx, q, t, value)
	if err != nil {
		return false, err
	}
	var n int
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE hash = ?`, h).Scan(&n)
	return n > 0, err
}
