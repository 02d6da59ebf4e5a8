package tenantdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// consentCursor is the position after the last consent of a page: its
// Since, client and channel.
type consentCursor struct {
	Since    int64  `json:"t"`
	ClientID string `json:"c"`
	Channel  string `json:"ch"`
}

func (c consentCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseConsentCursor(s string) (consentCursor, error) {
	var c consentCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ClientID == "" {
		return c, app.InvalidField("cursor", "This page cursor is not valid; start from the first page.")
	}
	return c, nil
}

// consentBranch is one index walk of a purpose query: the consents its
// conditions select, ordered by since (the time they took their state).
type consentBranch struct {
	index string
	since string
	where []string
	args  []any
}

// query reads one page of the branch from the cursor, live clients only.
// The cursor is a row value of the index's own columns, so SQLite seeks
// to it rather than reading the pages before.
func (b consentBranch) query(channel *app.Transport, cur *consentCursor, limit int) (string, []any) {
	where, args := slices.Clone(b.where), slices.Clone(b.args)
	if channel != nil {
		where, args = append(where, "s.channel = ?"), append(args, *channel)
	}
	if cur != nil {
		where = append(where, "("+b.since+", s.client_id, s.channel) < (?, ?, ?)")
		args = append(args, time.Unix(0, cur.Since).UTC(), cur.ClientID, cur.Channel)
	}
	return `SELECT s.client_id, s.purpose, s.channel, s.state, s.source, s.expires_at, s.updated_at,
		k.first_name, k.middle_name, k.last_name, ` + b.since + ` AS since
		FROM consents s INDEXED BY ` + b.index + ` JOIN clients k ON k.id = s.client_id
		WHERE ` + strings.Join(where, " AND ") + ` AND k.deleted_at IS NULL
		ORDER BY since DESC, s.client_id DESC, s.channel DESC LIMIT ?`, append(args, limit)
}

func scanClientConsent(row rowScanner) (app.ClientConsent, error) {
	var c app.ClientConsent
	var exp sql.NullTime
	var first, middle, last string
	err := row.Scan(&c.ClientID, &c.Purpose, &c.Channel, &c.State, &c.Source, &exp, &c.UpdatedAt,
		&first, &middle, &last, &c.Since)
	c.ExpiresAt, c.UpdatedAt, c.Since = nullTime(exp), c.UpdatedAt.UTC(), c.Since.UTC()
	c.ClientName = (&app.Client{FirstName: first, MiddleName: middle, LastName: last}).Name()
	return c, err
}

// ListConsents returns one page of the live clients' consents that f
// selects, the most recent first. A page walks consents_by_purpose in that
// order from its cursor (checking the channel in the index), so a deep
// page costs what the first does. States are as they hold now: Granted
// leaves out the grants past their expiry that the daily sweep has not
// recorded yet, and Expired finds them too (through consents_expiring, as
// of their expiry), merged into one order.
func (db *DB) ListConsents(ctx context.Context, f app.ConsentFilter) (app.ConsentPage, error) {
	if err := f.Normalize(); err != nil {
		return app.ConsentPage{}, err
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var cur *consentCursor
	if f.Cursor != "" {
		c, err := parseConsentCursor(f.Cursor)
		if err != nil {
			return app.ConsentPage{}, err
		}
		cur = &c
	}
	now := db.Now()
	main := consentBranch{index: "consents_by_purpose", since: "s.updated_at",
		where: []string{"s.purpose = ?", "s.state = ?"}, args: []any{f.Purpose, f.State}}
	if f.State == app.ConsentGranted {
		main.where, main.args = append(main.where, "(s.expires_at IS NULL OR s.expires_at > ?)"), append(main.args, now)
	}
	q, args := main.query(f.Channel, cur, limit+1)
	if f.State == app.ConsentExpired {
		lapsed := consentBranch{index: "consents_expiring", since: "s.expires_at",
			where: []string{"s.state = 'granted'", "s.expires_at IS NOT NULL", "s.expires_at <= ?", "s.purpose = ?"},
			args:  []any{now, f.Purpose}}
		lq, largs := lapsed.query(f.Channel, cur, limit+1)
		// Output columns 1, 3 and 11 are the client, the channel and since.
		q = `SELECT * FROM (` + q + `) UNION ALL SELECT * FROM (` + lq + `) ORDER BY 11 DESC, 1 DESC, 3 DESC LIMIT ?`
		args = append(append(args, largs...), limit+1)
	}
	rows, err := queryAll(ctx, db.reader(), scanClientConsent, q, args...)
	if err != nil {
		return app.ConsentPage{}, fmt.Errorf("list consents: %w", err)
	}
	page := app.ConsentPage{Consents: rows}
	if len(rows) > limit {
		page.Consents = rows[:limit]
		last := rows[limit-1]
		page.Next = consentCursor{Since: last.Since.UnixNano(), ClientID: last.ClientID, Channel: string(last.Channel)}.String()
	}
	for i := range page.Consents {
		page.Consents[i].State = page.Consents[i].StateAt(now)
	}
	return page, nil
}

// consentCounts are the clients counted per purpose and state, and per
// purpose in any state (consenting).
type consentCounts struct {
	states     map[app.ConsentPurpose]map[app.ConsentState]int
	consenting map[app.ConsentPurpose]int
}

func newConsentCounts() consentCounts {
	return consentCounts{states: map[app.ConsentPurpose]map[app.ConsentState]int{}, consenting: map[app.ConsentPurpose]int{}}
}

func (c consentCounts) add(p app.ConsentPurpose, st app.ConsentState, n int) {
	if c.states[p] == nil {
		c.states[p] = map[app.ConsentState]int{}
	}
	c.states[p][st] += n
}

// CountConsents tallies the live clients' consents by purpose and state as
// they hold now, on one channel (AnyChannel: the consents given for every
// channel) or, with channel nil, on any. Every purpose ever recorded is
// listed, with zeros where nobody counts.
//
// The bulk is counted from the indexes alone as stored, each client once
// (consents_by_state is in client order within a state; the table in
// purpose order within a client). The few clients whose stored consents
// do not say how they hold now (deleted ones, and those with a grant past
// its expiry that the sweep has not recorded yet) are then read one by
// one, taken out of the stored counts and, if live, put back as they hold.
func (db *DB) CountConsents(ctx context.Context, channel *app.Transport) (app.ConsentSummary, error) {
	var out app.ConsentSummary
	if channel != nil && !app.IsConsentChannel(*channel) {
		return out, app.InvalidField("channel", "Choose a channel (email, sms, whatsapp, telegram, instagram, website, phone), or all for the consents given for every channel.")
	}
	tx, err := db.reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return out, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE deleted_at IS NULL`).Scan(&out.Clients); err != nil {
		return out, fmt.Errorf("count clients: %w", err)
	}
	// Skips from one purpose to the next through the index, however many
	// consents each has.
	purposes, err := queryAll(ctx, tx, scanString, `WITH RECURSIVE p (purpose) AS (
			SELECT min(purpose) FROM consents
			UNION ALL SELECT (SELECT min(purpose) FROM consents WHERE purpose > p.purpose) FROM p WHERE p.purpose IS NOT NULL)
		SELECT purpose FROM p WHERE purpose IS NOT NULL`)
	if err != nil {
		return out, fmt.Errorf("consent purposes: %w", err)
	}
	counts, err := storedConsentCounts(ctx, tx, channel)
	if err != nil {
		return out, err
	}
	if err := db.recountConsents(ctx, tx, counts, channel); err != nil {
		return out, err
	}
	for _, p := range purposes {
		counts.add(app.ConsentPurpose(p), app.ConsentNotRequested, 0)
	}
	for _, p := range sortedPurposes(counts.states) {
		states := map[app.ConsentState]int{app.ConsentNotRequested: out.Clients - counts.consenting[p]}
		for _, st := range app.ConsentStates {
			states[st] = counts.states[p][st]
		}
		out.Purposes = append(out.Purposes, app.ConsentTally{Purpose: p, States: states})
	}
	return out, nil
}

// onChannel is the condition and arguments that keep a count to one
// channel's consents (none for any channel).
func onChannel(column string, channel *app.Transport) (string, []any) {
	if channel == nil {
		return "", nil
	}
	return " AND " + column + " = ?", []any{*channel}
}

// storedConsentCounts counts every client (deleted ones too) per purpose
// and stored state, and per purpose, from the indexes alone.
func storedConsentCounts(ctx context.Context, tx *sql.Tx, channel *app.Transport) (consentCounts, error) {
	c := newConsentCounts()
	on, args := onChannel("channel", channel)
	// #nosec G202 -- on is a constant column name and a ? placeholder from onChannel
	rows, err := tx.QueryContext(ctx, `SELECT purpose, state, count(DISTINCT client_id) FROM consents INDEXED BY consents_by_state
		WHERE state != 'not_requested'`+on+` GROUP BY purpose, state`, args...)
	if err != nil {
		return c, fmt.Errorf("count consents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p app.ConsentPurpose
		var st app.ConsentState
		var n int
		if err := rows.Scan(&p, &st, &n); err != nil {
			return c, err
		}
		c.add(p, st, n)
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	consenting, err := queryAll(ctx, tx, func(row rowScanner) (purposeCount, error) {
		var pc purposeCount
		return pc, row.Scan(&pc.purpose, &pc.n)
	}, `SELECT purpose, count(*) FROM (SELECT DISTINCT client_id, purpose FROM consents
		WHERE state != 'not_requested'`+on+`) GROUP BY purpose`, args...)
	if err != nil {
		return c, fmt.Errorf("count consenting clients: %w", err)
	}
	for _, pc := range consenting {
		c.consenting[pc.purpose] = pc.n
	}
	return c, nil
}

type purposeCount struct {
	purpose app.ConsentPurpose
	n       int
}

// recountConsents corrects stored counts for the clients whose stored
// consents do not say how they hold now: deleted clients go, and a
// client with a grant past its expiry counts as expired (unless they
// hold another grant).
func (db *DB) recountConsents(ctx context.Context, tx *sql.Tx, c consentCounts, channel *app.Transport) error {
	now := db.Now()
	on, args := onChannel("s.channel", channel)
	// #nosec G202 -- on is a constant column name and a ? placeholder from onChannel
	rows, err := tx.QueryContext(ctx, `SELECT s.client_id, s.purpose, s.state, s.expires_at, k.deleted_at IS NULL
		FROM consents s JOIN clients k ON k.id = s.client_id
		WHERE s.client_id IN (SELECT id FROM clients WHERE deleted_at IS NOT NULL
			UNION SELECT client_id FROM consents INDEXED BY consents_expiring
				WHERE state = 'granted' AND expires_at IS NOT NULL AND expires_at <= ?)
		AND s.state != 'not_requested'`+on, append([]any{now}, args...)...)
	if err != nil {
		return fmt.Errorf("recount consents: %w", err)
	}
	defer rows.Close()
	type key struct {
		purpose app.ConsentPurpose
		state   app.ConsentState
		client  string
	}
	stored, holds := map[key]bool{}, map[key]bool{}
	for rows.Next() {
		var k app.Consent
		var exp sql.NullTime
		var live bool
		if err := rows.Scan(&k.ClientID, &k.Purpose, &k.State, &exp, &live); err != nil {
			return err
		}
		k.ExpiresAt = nullTime(exp)
		stored[key{k.Purpose, k.State, k.ClientID}] = true
		stored[key{k.Purpose, "", k.ClientID}] = true
		if live {
			holds[key{k.Purpose, k.StateAt(now), k.ClientID}] = true
			holds[key{k.Purpose, "", k.ClientID}] = true
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k := range stored {
		if k.state == "" {
			c.consenting[k.purpose]--
		} else {
			c.add(k.purpose, k.state, -1)
		}
	}
	for k := range holds {
		if k.state == "" {
			c.consenting[k.purpose]++
		} else {
			c.add(k.purpose, k.state, 1)
		}
	}
	return nil
}

// sortedPurposes lists the built-in purposes in their order, then the
// workspace's own by name.
func sortedPurposes[T any](m map[app.ConsentPurpose]T) []app.ConsentPurpose {
	var own []app.ConsentPurpose
	for p := range m {
		if !slices.Contains(app.ConsentPurposes, p) {
			own = append(own, p)
		}
	}
	slices.Sort(own)
	return append(slices.Clone(app.ConsentPurposes), own...)
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
