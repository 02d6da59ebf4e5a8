package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"parley/app"
)

// MergeClients merges the client in.OtherID into survivorID, in one
// transaction with one ClientMerged event. The survivor keeps its fields,
// takes the other's where in.TakeOther names them or where its own are
// empty, and receives the other's contacts, addresses, notes, tags and
// custom values. The other client stays as a row pointing at the survivor,
// so its links redirect and its events join the survivor's timeline; the
// event log itself is never rewritten.
func (db *DB) MergeClients(ctx context.Context, survivorID string, in app.MergeInput, actor app.Actor) (*app.Client, error) {
	if in.OtherID == "" {
		return nil, app.InvalidField("other_id", "Choose the client to merge into this one.")
	}
	if in.OtherID == survivorID {
		return nil, app.InvalidField("other_id", "A client cannot be merged with itself.")
	}
	for _, f := range in.TakeOther {
		if !slices.Contains(app.MergeFields, f) && !strings.HasPrefix(f, "custom_fields.") && f != "tags" {
			return nil, app.InvalidField("take_other", "There is no field “"+f+"” to take.")
		}
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		s, err := loadClient(ctx, tx, survivorID)
		if err != nil {
			return err
		}
		o, err := loadClient(ctx, tx, in.OtherID)
		switch app.ErrorCode(err) {
		case "":
		case app.ENOTFOUND:
			return app.InvalidField("other_id", "Client not found.")
		case app.EMOVED:
			return app.InvalidField("other_id", "That client was already merged into another one.")
		default:
			return err
		}
		merged := mergedProfile(s, o, in.TakeOther)
		if err := checkMerged(ctx, tx, s, merged); err != nil {
			return err
		}
		now := db.Now()
		if err := writeClientRow(ctx, tx, merged, now); err != nil {
			return err
		}
		moved, err := moveChildren(ctx, tx, o.ID, s.ID)
		if err != nil {
			return err
		}
		if moved["messages"], err = db.mergeChats(ctx, tx, o.ID, s.ID, actor); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_tags WHERE client_id = ?`, s.ID); err != nil {
			return err
		}
		if err := writeTags(ctx, tx, s.ID, merged.Tags); err != nil {
			return err
		}
		if err := writeCustomValues(ctx, tx, s.ID, merged.CustomValues); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM client_tags WHERE client_id = ?`,
			`DELETE FROM client_custom_values WHERE client_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, o.ID); err != nil {
				return err
			}
		}
		// Clients merged into the other earlier now point at the survivor, so
		// a chain of merges always resolves in one step.
		if _, err := tx.ExecContext(ctx, `UPDATE clients SET merged_into = ? WHERE merged_into = ?`, s.ID, o.ID); err != nil {
			return err
		}
		if err := retireClient(ctx, tx, o.ID, now, s.ID); err != nil {
			return err
		}
		if err := refreshClientSearch(ctx, tx, s.ID); err != nil {
			return err
		}
		// The event keeps what the merge overwrote and the merged client as
		// it was, so nothing the two held is lost from the history.
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventClientMerged, "client", s.ID, actor, map[string]any{
			"survivor_id": s.ID, "merged_id": o.ID, "merged_name": o.Name(), "took_other": in.TakeOther,
			"moved": moved, "changes": mergeChanges(s, merged), "merged_client": o}))
	})
	if err != nil {
		return nil, err
	}
	return db.ClientByID(ctx, survivorID)
}

// checkMerged holds a merge to the rules every other change keeps: the
// status moves only as the lifecycle allows, the owner is an active team
// member, and the tags fit.
func checkMerged(ctx context.Context, tx *sql.Tx, s, merged *app.Client) error {
	if merged.Status != s.Status {
		if err := s.Status.CheckTransition(merged.Status); err != nil {
			return app.InvalidField("take_other", "Keep this client's status: "+app.ErrorMessage(err))
		}
	}
	if merged.OwnerID != s.OwnerID {
		if err := checkOwner(ctx, tx, merged.OwnerID); err != nil {
			return app.InvalidField("take_other", "Keep this client's owner: the other's is no longer an active team member.")
		}
	}
	if len(merged.Tags) > app.MaxTags {
		return app.InvalidField("tags", fmt.Sprintf("Together they have %d tags; a client can have at most %d. Remove some first.",
			len(merged.Tags), app.MaxTags))
	}
	return nil
}

// mergeChanges lists the survivor's fields that the merge changed, with
// their old and new values.
func mergeChanges(s, merged *app.Client) map[string][2]any {
	var fields, custom []string
	for _, f := range append(slices.Clone(app.MergeFields), "tags") {
		if !reflect.DeepEqual(fieldValue(s, f), fieldValue(merged, f)) {
			fields = append(fields, f)
		}
	}
	for k, v := range merged.CustomValues {
		if s.CustomValues[k] != v {
			custom = append(custom, k)
		}
	}
	return profileChanges(s, merged, fields, custom)
}

// mergedProfile is the survivor's profile after a merge with other.
func mergedProfile(s, o *app.Client, takeOther []string) *app.Client {
	m := *s
	take := func(field string, dst *string, theirs string) {
		if slices.Contains(takeOther, field) || (*dst == "" && theirs != "") {
			*dst = theirs
		}
	}
	take("first_name", &m.FirstName, o.FirstName)
	take("middle_name", &m.MiddleName, o.MiddleName)
	take("last_name", &m.LastName, o.LastName)
	take("gender", &m.Gender, o.Gender)
	take("birth_date", &m.BirthDate, o.BirthDate)
	take("passport_number", &m.PassportNumber, o.PassportNumber)
	take("tax_pin", &m.TaxPIN, o.TaxPIN)
	take("comments", &m.Comments, o.Comments)
	take("owner_id", &m.OwnerID, o.OwnerID)
	take("language", &m.Preferences.Language, o.Preferences.Language)
	take("timezone", &m.Preferences.Timezone, o.Preferences.Timezone)
	take("currency", &m.Preferences.Currency, o.Preferences.Currency)
	take("preferred_channel", &m.Preferences.Channel, o.Preferences.Channel)
	if slices.Contains(takeOther, "status") {
		m.Status = o.Status
	}
	if m.FirstName == "" {
		m.FirstName = s.FirstName // the first name is required; never take an empty one
	}
	m.Tags = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(s.Tags), o.Tags...))))
	m.CustomValues = map[string]string{}
	for k, v := range s.CustomValues {
		m.CustomValues[k] = v
	}
	for k, v := range o.CustomValues {
		if m.CustomValues[k] == "" || slices.Contains(takeOther, "custom_fields."+k) {
			m.CustomValues[k] = v
		}
	}
	return &m
}

// moveChildren gives the other client's contacts, addresses and notes to
// the survivor and counts them. An address the other had as a default stays
// one only where the survivor has no default of that type.
func moveChildren(ctx context.Context, tx *sql.Tx, otherID, survivorID string) (map[string]int64, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 0 WHERE client_id = ? AND type IN
		(SELECT type FROM addresses WHERE client_id = ? AND is_default = 1)`, otherID, survivorID); err != nil {
		return nil, fmt.Errorf("merge address defaults: %w", err)
	}
	moved := map[string]int64{}
	for _, table := range []string{"contacts", "addresses", "notes"} {
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET client_id = ? WHERE client_id = ?`, survivorID, otherID) // #nosec G202 -- table is from the constant list above
		if err != nil {
			return nil, fmt.Errorf("move %s: %w", table, err)
		}
		moved[table], _ = res.RowsAffected()
	}
	return moved, nil
}

// ClientTimeline returns a page of a client's events, newest first,
// including the events of clients merged into it. next is the Before of
// the following page, "" on the last.
func (db *DB) ClientTimeline(ctx context.Context, clientID string, f app.TimelineFilter) (events []app.Event, next string, err error) {
	if err := checkClient(ctx, db.reader(), clientID); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 30
	}
	// One IN list (not an OR) so each id is an index lookup, not a scan of
	// every client event.
	where := `aggregate_type = 'client' AND aggregate_id IN (SELECT ? UNION ALL SELECT id FROM clients WHERE merged_into = ?)`
	args := []any{clientID, clientID}
	if f.Type != "" {
		where, args = where+" AND type = ?", append(args, f.Type)
	}
	if f.Before != "" {
		where, args = where+" AND id < ?", append(args, f.Before)
	}
	events, err = queryAll(ctx, db.reader(), scanEvent, `SELECT id, type, aggregate_type, aggregate_id, actor_type,
		actor_id, actor_name, occurred_at, payload FROM events WHERE `+where+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("client timeline: %w", err)
	}
	if len(events) > limit {
		events = events[:limit]
		next = events[limit-1].ID
	}
	return events, next, nil
}

// mergeChats folds the other client's chat into the survivor's (creating
// that if the survivor had none): messages and members move, history stays
// ordered by time (messages are read in insertion order), unread and
// message counts add up, and the newer chat's latest message heads the
// list. The other chat keeps its row, redirecting to the survivor's.
func (db *DB) mergeChats(ctx context.Context, tx *sql.Tx, otherID, survivorID string, actor app.Actor) (int64, error) {
	var otherChat string
	err := tx.QueryRowContext(ctx, `SELECT id FROM chats WHERE client_id = ? AND merged_into IS NULL`, otherID).Scan(&otherChat)
	if err == sql.ErrNoRows {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("find merged chat: %w", err)
	}
	survivorChat, _, err := db.ensureChat(ctx, tx, survivorID, actor)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE messages SET chat_id = ? WHERE chat_id = ?`, survivorChat, otherChat)
	if err != nil {
		return 0, fmt.Errorf("move messages: %w", err)
	}
	moved, _ := res.RowsAffected()
	for _, q := range []string{
		`UPDATE OR IGNORE chat_members SET chat_id = ? WHERE chat_id = ?`,
		`DELETE FROM chat_members WHERE chat_id = ?2 AND ?1 != ?2`,
		`UPDATE notifications SET chat_id = ? WHERE chat_id = ?`,
		// The newer chat's summary heads the list; counts add up; the
		// survivor keeps its assignee, or takes the other's.
		`UPDATE chats SET
			unread_count = chats.unread_count + o.unread_count,
			message_count = chats.message_count + o.message_count,
			assignee_id = CASE WHEN chats.assignee_id = '' THEN o.assignee_id ELSE chats.assignee_id END,
			status = CASE WHEN o.unread_count > 0 THEN 'open' ELSE chats.status END,
			snoozed_until = CASE WHEN o.unread_count > 0 THEN NULL ELSE chats.snoozed_until END,
			last_transport = CASE WHEN o.last_message_at > chats.last_message_at THEN o.last_transport ELSE chats.last_transport END,
			last_preview = CASE WHEN o.last_message_at > chats.last_message_at THEN o.last_preview ELSE chats.last_preview END,
			reply_contact_id = CASE WHEN o.last_message_at > chats.last_message_at OR chats.reply_contact_id = ''
				THEN o.reply_contact_id ELSE chats.reply_contact_id END,
			last_message_at = max(chats.last_message_at, o.last_message_at)
			FROM (SELECT * FROM chats WHERE id = ?2) AS o WHERE chats.id = ?1`,
		`UPDATE chats SET merged_into = ?1, unread_count = 0, message_count = 0 WHERE id = ?2`,
	} {
		if _, err := tx.ExecContext(ctx, q, survivorChat, otherChat); err != nil {
			return 0, fmt.Errorf("merge chats: %w", err)
		}
	}
	return moved, db.appendEvent(ctx, tx, app.NewEvent(app.EventChatMerged, "chat", survivorChat, actor,
		map[string]any{"client_id": survivorID, "merged_chat_id": otherChat, "merged_client_id": otherID, "messages": moved}))
}
