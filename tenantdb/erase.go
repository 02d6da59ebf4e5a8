package tenantdb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// Erasure (GDPR art. 17) removes everything held about a client from the
// live file, overwriting what it deletes, and leaves a blank row
// (erased_at set) in its place. Why a blank row rather than none: chats, contacts and clients
// merged into this one reference clients(id), and the anonymised events
// still name the id; a tombstone keeps every reference valid, makes a
// second request answer "not found" like any unknown id, and holds
// nothing about the person (id, status and creation time only).
//
// Erasing a long history takes minutes, so it is asked for and done in two
// steps, as exports are: RequestErasure commits the request (who asked,
// when; the client leaves the app at once) and the caller then enqueues a
// job that calls CompleteErasure. River lives in another database, so a
// lost enqueue is repaired by looking for PendingErasures.
//
// Consents and their history are deleted too: they are personal data,
// and with no contact left nothing can be sent that they would govern.
// What survives, on purpose: the suppression list (salted hashes of
// opted-out contact values, so a re-imported number stays opted out), and
// the anonymised events, which keep that a consent changed, to which state,
// for which purpose and when, without saying whose. A workspace that must
// keep the data itself puts the client on legal hold, which refuses erasure.

// Erasure counts what erasing a client removed.
type Erasure struct {
	ClientID string    `json:"client_id"`
	ErasedAt time.Time `json:"erased_at"`
	// MergedClients counts profiles merged into the client earlier, erased
	// with it.
	MergedClients  int `json:"merged_clients"`
	Contacts       int `json:"contacts"`
	Addresses      int `json:"addresses"`
	Notes          int `json:"notes"`
	CustomValues   int `json:"custom_values"`
	Tags           int `json:"tags"`
	Consents       int `json:"consents"`
	ConsentChanges int `json:"consent_changes"`
	Chats          int `json:"chats"`
	Messages       int `json:"messages"`
	Attachments    int `json:"attachments"`
	Exports        int `json:"exports"`
	// Events counts the events anonymised.
	Events int `json:"events_anonymised"`
}

// ErasureRequest is an erasure asked for and not done yet.
type ErasureRequest struct {
	ClientID    string
	RequestedAt time.Time
	RequestedBy app.Actor
}

// eraseBatch bounds the ids of one statement (SQLite's variable limit).
const eraseBatch = 500

// Batch sizes of an erasure's small transactions. Deleting a message
// takes 5-10 ms in a large workspace (its words leave the search index
// for good, not just marked deleted), so a batch holds the writer for a
// few tenths of a second and other writes go between batches.
const (
	messageBatch = 50
	eventBatch   = 1000
)

// errLegalHold is the answer for erasing a client on legal hold.
func errLegalHold() error {
	return app.Errorf(app.ECONFLICT, "This client is on legal hold: their data must be kept, so it cannot be erased. Lift the hold first.")
}

// errErasing is the answer for writing to the conversation of a client
// whose erasure is under way.
func errErasing() error {
	return app.Errorf(app.ECONFLICT, "This client's data is being erased: nothing more can be sent to them or added to their conversation.")
}

// erasingReason is why a message queued to a client whose erasure was
// requested is not sent.
const erasingReason = "Not sent: the client's data is being erased."

// checkNotErasing refuses (errErasing) a message or note to a client whose
// erasure was requested. Their contacts are released by the request, but
// saying why beats "no contact".
func checkNotErasing(ctx context.Context, q querier, clientID string) error {
	var pending bool
	err := q.QueryRowContext(ctx, `SELECT erasure_requested_at IS NOT NULL FROM clients WHERE id = ?`, clientID).Scan(&pending)
	if err != nil {
		return notFound(err, "Client not found.")
	}
	if pending {
		return errErasing()
	}
	return nil
}

// RequestErasure records that a client is to be erased, once they may be
// (erasable: ECONFLICT on legal hold, EMOVED when merged away, ENOTFOUND
// when erased or unknown), and answers with the request; the caller
// enqueues the job (CompleteErasure) after this has committed. In the same
// transaction the client leaves the app as a deleted client does (out of
// lists and search, contacts released, their profile answering "not
// found"), their queued messages fail instead of going out, and an
// app.EventClientErasureStarted event records who asked and when. Asking
// again while the erasure is pending answers the first request and writes
// nothing.
func (db *DB) RequestErasure(ctx context.Context, clientID string, actor app.Actor) (ErasureRequest, error) {
	var req ErasureRequest
	err := db.update(ctx, func(tx *sql.Tx) error {
		var err error
		req, err = db.requestErasure(ctx, tx, clientID, actor)
		return err
	})
	return req, err
}

func (db *DB) requestErasure(ctx context.Context, tx *sql.Tx, clientID string, actor app.Actor) (ErasureRequest, error) {
	if req, ok, err := pendingErasure(ctx, tx, clientID); err != nil || ok {
		return req, err
	}
	scope, err := erasable(ctx, tx, clientID)
	if err != nil {
		return ErasureRequest{}, err
	}
	req := ErasureRequest{ClientID: clientID, RequestedAt: db.Now(), RequestedBy: actor}
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET deleted_at = coalesce(deleted_at, ?1), updated_at = ?1,
		erasure_requested_at = ?1, erasure_requested_by_type = ?2, erasure_requested_by_id = ?3,
		erasure_requested_by_name = ?4 WHERE id = ?5`, req.RequestedAt, actor.Type, actor.ID, actor.Name, clientID); err != nil {
		return req, fmt.Errorf("request erasure: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET active = 0 WHERE client_id = ?`, clientID); err != nil {
		return req, fmt.Errorf("release contacts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM clients_fts WHERE rowid = (SELECT seq FROM clients WHERE id = ?)`, clientID); err != nil {
		return req, fmt.Errorf("client search: %w", err)
	}
	messages, err := db.holdBackQueued(ctx, tx, scope, clientID)
	if err != nil {
		return req, err
	}
	return req, db.appendEvent(ctx, tx, app.NewEvent(app.EventClientErasureStarted, "client", clientID, actor,
		map[string]any{"messages": messages}))
}

// holdBackQueued fails the messages still queued to the scope's clients
// (their send jobs then find nothing to send) and returns how many
// messages the erasure will remove.
func (db *DB) holdBackQueued(ctx context.Context, tx *sql.Tx, scope exportScope, clientID string) (int, error) {
	if len(scope.chats) == 0 {
		return 0, nil
	}
	in, args := inList(scope.chats)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE chat_id IN (`+in+`)`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages: %w", err)
	}
	type queued struct{ id, chatID string }
	rows, err := queryAll(ctx, tx, func(r rowScanner) (q queued, err error) { return q, r.Scan(&q.id, &q.chatID) },
		`SELECT id, chat_id FROM messages WHERE chat_id IN (`+in+`) AND status = 'queued' AND direction = 'out'`, args...)
	if err != nil {
		return 0, fmt.Errorf("queued messages: %w", err)
	}
	for _, m := range rows {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'failed', failure_reason = ?, attempt_open = 0
			WHERE id = ?`, erasingReason, m.id); err != nil {
			return 0, fmt.Errorf("hold back message: %w", err)
		}
		if err := db.appendEvent(ctx, tx, app.NewEvent(app.EventMessageStatus, "chat", m.chatID, app.SystemActor, map[string]any{
			"message_id": m.id, "client_id": clientID, "from": app.StatusQueued, "to": app.StatusFailed,
			"reason": erasingReason})); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// pendingErasure reads the client's erasure request; ok is false when
// there is none (never asked, or done: the request is cleared with the
// rest of the row).
func pendingErasure(ctx context.Context, q querier, clientID string) (req ErasureRequest, ok bool, err error) {
	var at sql.NullTime
	req.ClientID = clientID
	err = q.QueryRowContext(ctx, `SELECT erasure_requested_at, erasure_requested_by_type, erasure_requested_by_id,
		erasure_requested_by_name FROM clients WHERE id = ?`, clientID).Scan(&at, &req.RequestedBy.Type,
		&req.RequestedBy.ID, &req.RequestedBy.Name)
	if err == sql.ErrNoRows || (err == nil && !at.Valid) {
		return ErasureRequest{}, false, nil
	} else if err != nil {
		return ErasureRequest{}, false, fmt.Errorf("erasure request: %w", err)
	}
	req.RequestedAt = at.Time.UTC()
	return req, true, nil
}

// PendingErasures returns the clients whose erasure was requested before
// cutoff and is not done, oldest first: the reconciler's list of erasures
// whose job may have been lost.
func (db *DB) PendingErasures(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	return queryAll(ctx, db.reader(), scanString, `SELECT id FROM clients INDEXED BY clients_erasure_pending
		WHERE erasure_requested_at IS NOT NULL AND erasure_requested_at < ? ORDER BY erasure_requested_at LIMIT ?`,
		cutoff.UTC(), limit)
}

// EraseClient irreversibly erases a client (live or deleted) and the
// profiles merged into it, at once: RequestErasure (which refuses as it
// says) then CompleteErasure, for a caller that can wait minutes. People's
// requests go through a job instead.
func (db *DB) EraseClient(ctx context.Context, clientID string, actor app.Actor) (Erasure, error) {
	if _, err := db.RequestErasure(ctx, clientID, actor); err != nil {
		return Erasure{}, err
	}
	return db.CompleteErasure(ctx, clientID)
}

// purgeClient erases a deleted client for the retention sweep, as the
// system, unless someone asked for their erasure meanwhile: that
// request's job is erasing them, and the log says who asked. erased says
// whether the sweep did it.
func (db *DB) purgeClient(ctx context.Context, clientID string) (erased bool, err error) {
	err = db.update(ctx, func(tx *sql.Tx) error {
		if _, pending, err := pendingErasure(ctx, tx, clientID); err != nil || pending {
			return err
		}
		erased = true
		_, err := db.requestErasure(ctx, tx, clientID, app.SystemActor)
		return err
	})
	if err != nil || !erased {
		return false, err
	}
	_, err = db.CompleteErasure(ctx, clientID)
	return err == nil, err
}

// CompleteErasure carries out a requested erasure: the client and the
// profiles merged into it are erased, then their attachment files and
// export archives removed. ENOTFOUND means there is nothing to do: the
// erasure is done already, or was never requested.
//
// A long history must not hold the workspace's writer for minutes, so the
// work goes in steps, each of small transactions: the messages are
// deleted, the events anonymised, then one transaction erases the rest and
// records app.EventClientErased (by whoever asked), then the client search
// index is compacted. Cancelling ctx stops the work between transactions;
// what was erased stays erased, and completing again finishes the job.
func (db *DB) CompleteErasure(ctx context.Context, clientID string) (Erasure, error) {
	req, ok, err := pendingErasure(ctx, db.reader(), clientID)
	if err != nil {
		return Erasure{}, err
	}
	if !ok {
		if _, err := loadSubject(ctx, db.reader(), clientID); err != nil {
			return Erasure{}, err
		}
		return Erasure{}, app.Errorf(app.ENOTFOUND, "No erasure was requested for this client.")
	}
	var done Erasure
	if err := db.deleteConversations(ctx, clientID, &done); err != nil {
		return Erasure{}, err
	}
	if err := db.anonymiseAllEvents(ctx, clientID, &done); err != nil {
		return Erasure{}, err
	}
	var res Erasure
	var files, exports []string
	err = db.update(ctx, func(tx *sql.Tx) error {
		var err error
		res, files, exports, err = db.eraseClient(ctx, tx, clientID, req.RequestedBy, done)
		return err
	})
	if err != nil {
		return Erasure{}, err
	}
	db.removeFilesAt(files)
	for _, id := range exports {
		os.Remove(db.exportPath(id))
		os.Remove(db.exportPath(id) + ".part") // an archive being built
	}
	// The client is erased: the compaction that makes their old search
	// entries unreadable runs to the end even if ctx ends, as nothing would
	// come back to it.
	if err := db.compactClientSearch(context.WithoutCancel(ctx)); err != nil {
		return res, fmt.Errorf("client erased, but compacting the search index failed: %w", err)
	}
	return res, nil
}

// erasable checks that a client may be erased and returns what the
// erasure covers.
func erasable(ctx context.Context, q querier, clientID string) (exportScope, error) {
	if _, err := loadSubject(ctx, q, clientID); err != nil {
		return exportScope{}, err
	}
	scope, err := loadExportScope(ctx, q, clientID)
	if err != nil {
		return scope, err
	}
	in, args := inList(scope.clients)
	var held int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE legal_hold = 1 AND id IN (`+in+`)`, args...).Scan(&held); err != nil {
		return scope, err
	}
	if held > 0 {
		return scope, errLegalHold()
	}
	return scope, nil
}

// deleteConversations deletes the messages of a client's conversations
// (with their files, notifications and sandbox copies) messageBatch at a
// time, each batch in its own transaction with overwriting deletes,
// counting them in done.
func (db *DB) deleteConversations(ctx context.Context, clientID string, done *Erasure) error {
	for {
		var ids, files []string
		err := db.update(ctx, func(tx *sql.Tx) (err error) {
			scope, err := erasable(ctx, tx, clientID)
			if err != nil || len(scope.chats) == 0 {
				return err
			}
			in, args := inList(scope.chats)
			if ids, err = queryAll(ctx, tx, scanString, `SELECT id FROM messages WHERE chat_id IN (`+in+`) ORDER BY seq LIMIT ?`,
				append(args, messageBatch)...); err != nil || len(ids) == 0 {
				return err
			}
			files, err = purgeSecurely(ctx, tx, ids, db.Now())
			return err
		})
		if err != nil {
			return err
		}
		db.removeFilesAt(files)
		done.Messages, done.Attachments = done.Messages+len(ids), done.Attachments+len(files)
		if len(ids) < messageBatch {
			return nil
		}
	}
}

// purgeSecurely deletes messages as purgeMessages does, with their sandbox
// outbox copies, overwriting what it deletes.
func purgeSecurely(ctx context.Context, tx *sql.Tx, ids []string, now time.Time) (files []string, err error) {
	restore, err := overwriteDeletes(ctx, tx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := restore(); err == nil {
			err = rerr
		}
	}()
	for batch := range slices.Chunk(ids, eraseBatch) {
		in, args := inList(batch)
		if _, err := tx.ExecContext(ctx, `DELETE FROM sandbox_outbox WHERE key IN (`+in+`)`, args...); err != nil { // #nosec G202 -- in is ? placeholders from inList; the keys are bound
			return nil, fmt.Errorf("erase outbox: %w", err)
		}
		f, err := purgeMessages(ctx, tx, batch, false, now)
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, nil
}

// anonymiseAllEvents anonymises the events about a client eventBatch at
// a time, counting them in done.
func (db *DB) anonymiseAllEvents(ctx context.Context, clientID string, done *Erasure) error {
	for {
		n := 0
		err := db.update(ctx, func(tx *sql.Tx) error {
			scope, err := erasable(ctx, tx, clientID)
			if err == nil {
				n, err = anonymiseEvents(ctx, tx, scope, db.Now(), eventBatch)
			}
			return err
		})
		if err != nil {
			return err
		}
		done.Events += n
		if n < eventBatch {
			return nil
		}
	}
}

// compactClientSearch merges the client search index's segments, a few
// pages per transaction, until one is left. Deleting a search row only
// marks its words deleted in older segments, where the earlier versions
// of an erased client's row (before a rename, a removed contact or note)
// still lie; merging everything drops them for good.
func (db *DB) compactClientSearch(ctx context.Context) error {
	for {
		var done bool
		err := db.update(ctx, func(tx *sql.Tx) error {
			var before, after int64
			if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO clients_fts (clients_fts, rank) VALUES ('merge', -64)`); err != nil {
				return err
			}
			err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after)
			done = after-before < 2 // SQLite's documented sign that no work was left
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// eraseClient erases inside tx what is left of a client (done counts what
// the earlier steps erased; a message or event that came since is erased
// here), records app.EventClientErased by actor (who asked for the
// erasure), and returns the attachment files and export archives to remove
// once tx has committed.
func (db *DB) eraseClient(ctx context.Context, tx *sql.Tx, clientID string, actor app.Actor, done Erasure) (res Erasure, files, exports []string, err error) {
	scope, err := erasable(ctx, tx, clientID)
	if err != nil {
		return res, nil, nil, err
	}
	in, args := inList(scope.clients)
	now := db.Now()
	res = Erasure{ClientID: clientID, ErasedAt: now, MergedClients: len(scope.clients) - 1}
	restore, err := overwriteDeletes(ctx, tx)
	if err != nil {
		return res, nil, nil, err
	}
	defer func() {
		if rerr := restore(); err == nil {
			err = rerr
		}
	}()
	if files, err = eraseConversations(ctx, tx, scope, &res, now); err != nil {
		return res, nil, nil, err
	}
	res.Messages, res.Attachments = res.Messages+done.Messages, res.Attachments+done.Attachments
	if err := keepOptOuts(ctx, tx, in, args, now); err != nil {
		return res, nil, nil, err
	}
	for _, c := range []struct {
		n     *int
		table string
	}{
		{&res.Contacts, "contacts"}, {&res.Addresses, "addresses"}, {&res.Notes, "notes"},
		{&res.CustomValues, "client_custom_values"}, {&res.Tags, "client_tags"}, {&res.Consents, "consents"},
		{&res.ConsentChanges, "consent_changes"},
	} {
		if *c.n, err = execCount(ctx, tx, `DELETE FROM `+c.table+` WHERE client_id IN (`+in+`)`, args...); err != nil {
			return res, nil, nil, fmt.Errorf("erase %s: %w", c.table, err)
		}
	}
	// Portal sign-in rows hold only ids and times, but they would still
	// say when the person used the portal.
	for _, table := range []string{"portal_links", "portal_sessions"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE client_id IN (`+in+`)`, args...); err != nil { // #nosec G202 -- table is from the constant list above; in is ? placeholders from inList
			return res, nil, nil, fmt.Errorf("erase %s: %w", table, err)
		}
	}
	if exports, err = queryAll(ctx, tx, scanString, `SELECT id FROM exports WHERE client_id IN (`+in+`)`, args...); err != nil {
		return res, nil, nil, err
	}
	if res.Exports, err = execCount(ctx, tx, `DELETE FROM exports WHERE client_id IN (`+in+`)`, args...); err != nil {
		return res, nil, nil, err
	}
	if err := blankClients(ctx, tx, in, args, now); err != nil {
		return res, nil, nil, err
	}
	if res.Events, err = anonymiseEvents(ctx, tx, scope, now, -1); err != nil {
		return res, nil, nil, err
	}
	res.Events += done.Events
	counts, _ := json.Marshal(res)
	var payload map[string]any
	_ = json.Unmarshal(counts, &payload)
	delete(payload, "client_id")
	delete(payload, "erased_at")
	return res, files, exports, db.appendEvent(ctx, tx, app.NewEvent(app.EventClientErased, "client", clientID, actor, payload))
}

// overwriteDeletes makes the rest of the transaction overwrite what it
// deletes: SQLite zeroes freed cells and pages (secure_delete) and the
// message index removes entries instead of adding delete markers
// (FTS5 secure-delete). restore puts both back as they were.
func overwriteDeletes(ctx context.Context, tx *sql.Tx) (restore func() error, err error) {
	var pragma int
	if err := tx.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&pragma); err != nil {
		return nil, fmt.Errorf("read secure_delete: %w", err)
	}
	var fts int
	err = tx.QueryRowContext(ctx, `SELECT coalesce((SELECT v FROM messages_fts_config WHERE k = 'secure-delete'), 0)`).Scan(&fts)
	if err != nil {
		return nil, fmt.Errorf("read message index config: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = 1`); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1)`); err != nil {
		return nil, fmt.Errorf("message index secure-delete: %w", err)
	}
	return func() error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', ?)`, fts); err != nil {
			return err
		}
		// The pragma reads 2 for FAST but only takes that as the word.
		mode := strconv.Itoa(pragma)
		if pragma == 2 {
			mode = "fast"
		}
		_, err := tx.ExecContext(ctx, `PRAGMA secure_delete = `+mode) // #nosec G202 -- mode is an integer or "fast"; PRAGMA takes no placeholders
		return err
	}, nil
}

// eraseConversations deletes the scope's chats with what is left in them
// (the messages that came during the erasure), their notifications and
// members.
func eraseConversations(ctx context.Context, tx *sql.Tx, s exportScope, res *Erasure, now time.Time) ([]string, error) {
	if len(s.chats) == 0 {
		return nil, nil
	}
	in, args := inList(s.chats)
	msgs, err := queryAll(ctx, tx, scanString, `SELECT id FROM messages WHERE chat_id IN (`+in+`) ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("messages to erase: %w", err)
	}
	files, err := purgeSecurely(ctx, tx, msgs, now)
	if err != nil {
		return nil, err
	}
	res.Messages, res.Attachments = len(msgs), len(files)
	for _, q := range []string{
		`DELETE FROM notifications WHERE chat_id IN (` + in + `)`,
		`DELETE FROM chat_members WHERE chat_id IN (` + in + `)`,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("erase chats: %w", err)
		}
	}
	if res.Chats, err = execCount(ctx, tx, `DELETE FROM chats WHERE id IN (`+in+`)`, args...); err != nil {
		return nil, fmt.Errorf("erase chats: %w", err)
	}
	return files, nil
}

// keepOptOuts puts every opted-out contact of the clients on the
// suppression list before the contacts go, so an erased client who said
// STOP is not messaged again if their number comes back.
func keepOptOuts(ctx context.Context, tx *sql.Tx, in string, args []any, now time.Time) error {
	optedOut, err := queryAll(ctx, tx, scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE opted_out_at IS NOT NULL AND client_id IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("opted-out contacts: %w", err)
	}
	for _, k := range optedOut {
		if err := suppress(ctx, tx, k, true, now); err != nil {
			return err
		}
	}
	return nil
}

// blankClients empties the clients' rows, leaving id, status and creation
// time, and takes them out of search. A merged profile forgets which
// client it became: that link is about the person too. The erasure request
// goes as well (the event log keeps who asked and when), which marks the
// erasure done.
func blankClients(ctx context.Context, tx *sql.Tx, in string, args []any, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM clients_fts WHERE rowid IN (SELECT seq FROM clients WHERE id IN (`+in+`))`, args...); err != nil { // #nosec G202 -- in is ? placeholders from inList; the ids are bound
		return fmt.Errorf("erase client search: %w", err)
	}
	// #nosec G202 -- in is ? placeholders from inList; the ids are bound
	_, err := tx.ExecContext(ctx, `UPDATE clients SET first_name = '', middle_name = '', last_name = '', gender = '',
		birth_date = '', passport_number = '', tax_pin = '', comments = '', owner_id = NULL, language = '', timezone = '',
		currency = '', preferred_channel = '', sort_name = '', deleted_at = coalesce(deleted_at, ?1), updated_at = ?1,
		last_activity_at = created_at, merged_into = NULL, erased_at = ?1, erasure_requested_at = NULL,
		erasure_requested_by_type = '', erasure_requested_by_id = '', erasure_requested_by_name = '' WHERE id IN (`+in+`)`, append([]any{now}, args...)...)
	if err != nil {
		return fmt.Errorf("blank clients: %w", err)
	}
	return nil
}

func execCount(ctx context.Context, tx *sql.Tx, q string, args ...any) (int, error) {
	r, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// anonymiseEvents blanks the personal data in up to limit (-1: all)
// events about the scope (the clients' own and their chats'): see
// anonymisePayload. A system actor's name goes too (an inbound message
// names the client as its actor); a team member's, a token's and the
// operator's stay.
func anonymiseEvents(ctx context.Context, tx *sql.Tx, s exportScope, now time.Time, limit int) (int, error) {
	where, args := exportEventsWhere(s)
	type row struct{ id, actorType, actorName, payload string }
	rows, err := queryAll(ctx, tx, func(r rowScanner) (x row, err error) {
		return x, r.Scan(&x.id, &x.actorType, &x.actorName, &x.payload)
	}, `SELECT id, actor_type, actor_name, payload FROM events WHERE (`+where+`) AND redacted_at IS NULL LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return 0, fmt.Errorf("events to anonymise: %w", err)
	}
	for _, r := range rows {
		name := r.actorName
		if !slices.Contains([]string{app.ActorUser, app.ActorToken, app.ActorCLI}, r.actorType) {
			name = ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET payload = ?, actor_name = ?, redacted_at = ? WHERE id = ?`,
			string(anonymisePayload([]byte(r.payload))), name, now, r.id); err != nil {
			return 0, fmt.Errorf("anonymise event %s: %w", r.id, err)
		}
	}
	return len(rows), nil
}

// erasedText replaces every string an anonymised event may not keep.
const erasedText = "[erased]"

var (
	// idValue is one of Parley's ids (a ULID).
	idValue = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)
	// tokenValue is a code word such as a status or a type.
	tokenValue = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// enumKeys name the payload members whose values are code words (a
// status, a type, a consent's purpose), kept when they look like one.
var enumKeys = map[string]bool{"type": true, "status": true, "state": true, "purpose": true, "channel": true,
	"source": true, "action": true, "transport": true, "direction": true, "kind": true, "from": true, "to": true,
	"role": true}

// anonymisePayload keeps an event payload's shape, numbers, booleans,
// member names, Parley ids under id members and code words under enumKeys,
// and replaces every other string (names, contact values, note texts,
// dates of birth, tags) with "[erased]". The object gains "erased": true.
func anonymisePayload(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []byte(`{"erased":true}`)
	}
	v = scrub("", v)
	if m, ok := v.(map[string]any); ok {
		m["erased"] = true
	}
	out, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"erased":true}`)
	}
	return out
}

func scrub(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = scrub(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = scrub(key, e) // a list's items are what its member names
		}
		return x
	case string:
		idKey := key == "id" || strings.HasSuffix(key, "_id") || strings.HasSuffix(key, "ID")
		if x == "" || (idKey && idValue.MatchString(x)) || (enumKeys[key] && tokenValue.MatchString(x)) {
			return x
		}
		return erasedText
	}
	return v // numbers, booleans, null
}
