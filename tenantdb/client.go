package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"parley/app"
)

// clientColumns are read by scanClient, always with the owner joined as u.
const clientColumns = `c.id, c.first_name, c.middle_name, c.last_name, c.gender, c.birth_date,
	c.passport_number, c.tax_pin, c.comments, c.status, coalesce(c.owner_id, ''), coalesce(u.name, ''),
	c.language, c.timezone, c.currency, c.preferred_channel, c.created_at, c.updated_at,
	c.last_activity_at, c.deleted_at, coalesce(c.merged_into, '')`

const clientFrom = ` FROM clients c LEFT JOIN users u ON u.id = c.owner_id `

// clientRow is a client as stored, with the columns that say whether it is
// still live.
type clientRow struct {
	*app.Client
	deletedAt  *time.Time
	mergedInto string
}

func scanClient(row rowScanner) (clientRow, error) {
	c := &app.Client{}
	var deleted sql.NullTime
	var r clientRow
	err := row.Scan(&c.ID, &c.FirstName, &c.MiddleName, &c.LastName, &c.Gender, &c.BirthDate,
		&c.PassportNumber, &c.TaxPIN, &c.Comments, &c.Status, &c.OwnerID, &c.OwnerName,
		&c.Preferences.Language, &c.Preferences.Timezone, &c.Preferences.Currency, &c.Preferences.Channel,
		&c.CreatedAt, &c.UpdatedAt, &c.LastActivityAt, &deleted, &r.mergedInto)
	c.CreatedAt, c.UpdatedAt, c.LastActivityAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), c.LastActivityAt.UTC()
	c.Tags, c.CustomValues = []string{}, map[string]string{}
	r.Client, r.deletedAt = c, nullTime(deleted)
	return r, err
}

// errClientNotFound is the one answer for a client that does not exist,
// was deleted, or belongs to another tenant (whose file this is not).
func errClientNotFound() error { return app.Errorf(app.ENOTFOUND, "Client not found.") }

// liveClientError is the answer for a client that is no longer live: a
// merged client answers EMOVED with the survivor's id as Ref, a deleted
// one ENOTFOUND. It is nil for a live client.
func liveClientError(deletedAt *time.Time, mergedInto string) error {
	if mergedInto != "" {
		return &app.Error{Code: app.EMOVED, Message: "This client was merged into another one.", Ref: mergedInto}
	}
	if deletedAt != nil {
		return errClientNotFound()
	}
	return nil
}

// checkClient returns nil if id is a live client, or the error loadClient
// would, with one indexed read: for changes to a client's children, which
// need to know the client is there but not what it holds.
func checkClient(ctx context.Context, q querier, id string) error {
	var deleted sql.NullTime
	var merged string
	err := q.QueryRowContext(ctx, `SELECT deleted_at, coalesce(merged_into, '') FROM clients WHERE id = ?`, id).Scan(&deleted, &merged)
	if err != nil {
		return notFound(err, "Client not found.")
	}
	return liveClientError(nullTime(deleted), merged)
}

// loadClient reads a live client with its tags and custom values, or
// answers as checkClient does.
func loadClient(ctx context.Context, q querier, id string) (*app.Client, error) {
	r, err := scanClient(q.QueryRowContext(ctx, `SELECT `+clientColumns+clientFrom+`WHERE c.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "Client not found.")
	}
	if err := liveClientError(r.deletedAt, r.mergedInto); err != nil {
		return nil, err
	}
	c := r.Client
	if c.Tags, err = queryAll(ctx, q, scanString, `SELECT tag FROM client_tags WHERE client_id = ? ORDER BY tag`, id); err != nil {
		return nil, fmt.Errorf("client tags: %w", err)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	rows, err := q.QueryContext(ctx, `SELECT f.key, v.value FROM client_custom_values v
		JOIN custom_fields f ON f.id = v.field_id WHERE v.client_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("client custom values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		c.CustomValues[k] = v
	}
	return c, rows.Err()
}

func scanString(row rowScanner) (s string, err error) { return s, row.Scan(&s) }

// ClientByID returns a live client. A merged client answers EMOVED naming
// the survivor; a deleted or unknown one ENOTFOUND.
func (db *DB) ClientByID(ctx context.Context, id string) (*app.Client, error) {
	return loadClient(ctx, db.reader(), id)
}

// ClientProfile returns a client with its contacts, addresses, notes and the
// workspace's custom fields, read from one snapshot.
func (db *DB) ClientProfile(ctx context.Context, id string) (*app.ClientProfile, error) {
	tx, err := db.reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	p := &app.ClientProfile{}
	if p.Client, err = loadClient(ctx, tx, id); err != nil {
		return nil, err
	}
	if p.Contacts, err = queryAll(ctx, tx, scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE client_id = ? AND active = 1 ORDER BY type, created_at`, id); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	if p.Addresses, err = queryAll(ctx, tx, scanAddress, `SELECT `+addressColumns+` FROM addresses
		WHERE client_id = ? ORDER BY is_default DESC, type, created_at`, id); err != nil {
		return nil, fmt.Errorf("addresses: %w", err)
	}
	if p.Notes, err = queryAll(ctx, tx, scanNote, `SELECT `+noteColumns+` FROM notes
		WHERE client_id = ? ORDER BY pinned DESC, created_at DESC, id DESC`, id); err != nil {
		return nil, fmt.Errorf("notes: %w", err)
	}
	if p.CustomFields, err = listCustomFields(ctx, tx); err != nil {
		return nil, err
	}
	if p.MergedIDs, err = queryAll(ctx, tx, scanString, `SELECT id FROM clients WHERE merged_into = ? ORDER BY id`, id); err != nil {
		return nil, fmt.Errorf("merged clients: %w", err)
	}
	return p, nil
}

// CreateClient validates and saves a new client with its contacts,
// addresses and custom values, in one transaction with its ClientCreated
// event. A contact that another client has is refused with a
// *app.DuplicateContactError naming that client.
func (db *DB) CreateClient(ctx context.Context, in app.ClientInput, actor app.Actor) (*app.Client, error) {
	var id string
	err := db.update(ctx, func(tx *sql.Tx) error {
		country, err := defaultCountry(ctx, tx)
		if err != nil {
			return err
		}
		c, err := db.insertClient(ctx, tx, in, country, true, actor)
		if err != nil {
			return err
		}
		id = c.ID
		return refreshClientSearch(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return db.ClientByID(ctx, id)
}

// insertClient checks a new client and writes it with its children and its
// ClientCreated event, all but its search row: the caller writes that once
// the client is complete. country reads phone numbers without a country code.
// requireFields enforces required custom fields: a client created by an
// inbound message cannot have them yet.
func (db *DB) insertClient(ctx context.Context, tx *sql.Tx, in app.ClientInput, country string, requireFields bool, actor app.Actor) (*app.Client, error) {
	now := db.Now()
	c := &app.Client{ID: newID(), Status: in.Status, Tags: []string{}, CustomValues: map[string]string{},
		CreatedAt: now, UpdatedAt: now, LastActivityAt: now}
	if c.Status == "" {
		c.Status = app.ClientLead
	}
	var errs error
	if !slices.Contains(app.ClientStatuses, c.Status) {
		errs = app.InvalidField("status", "Choose a status: lead, active, inactive or archived.")
	}
	_, err := in.Update().Apply(c, now)
	errs = mergeInvalid(errs, err)
	errs = mergeInvalid(errs, checkOwner(ctx, tx, c.OwnerID))
	_, err = applyCustomValues(ctx, tx, c, in.CustomFields, requireFields)
	errs = mergeInvalid(errs, err)
	for i := range in.Contacts {
		errs = mergeInvalid(errs, in.Contacts[i].Normalize(fmt.Sprintf("contacts.%d", i), country))
	}
	for i := range in.Addresses {
		errs = mergeInvalid(errs, in.Addresses[i].Normalize(fmt.Sprintf("addresses.%d.", i)))
	}
	if errs != nil {
		return nil, errs
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO clients (id, first_name, middle_name, last_name, gender,
		birth_date, passport_number, tax_pin, comments, status, owner_id, language, timezone, currency,
		preferred_channel, sort_name, created_at, updated_at, last_activity_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.FirstName, c.MiddleName, c.LastName, c.Gender, c.BirthDate, c.PassportNumber, c.TaxPIN,
		c.Comments, c.Status, nullString(c.OwnerID), c.Preferences.Language, c.Preferences.Timezone,
		c.Preferences.Currency, c.Preferences.Channel, sortName(c), now, now, now); err != nil {
		return nil, fmt.Errorf("insert client: %w", err)
	}
	if err := writeTags(ctx, tx, c.ID, c.Tags); err != nil {
		return nil, err
	}
	if err := writeCustomValues(ctx, tx, c.ID, c.CustomValues); err != nil {
		return nil, err
	}
	for i, ci := range in.Contacts {
		if _, err := insertContact(ctx, tx, c.ID, ci, fmt.Sprintf("contacts.%d.value", i), now); err != nil {
			return nil, err
		}
	}
	for _, ai := range in.Addresses {
		if _, err := insertAddress(ctx, tx, c.ID, ai, now); err != nil {
			return nil, err
		}
	}
	return c, db.appendEvent(ctx, tx, app.NewEvent(app.EventClientCreated, "client", c.ID, actor, map[string]any{
		"name": c.Name(), "status": c.Status, "contacts": len(in.Contacts), "addresses": len(in.Addresses)}))
}

// UpdateClient changes a client's profile fields and writes one
// ProfileUpdated event listing each changed field's old and new value, and
// a StatusChanged event when the status moved. Nothing changed writes nothing.
func (db *DB) UpdateClient(ctx context.Context, id string, u app.ClientUpdate, actor app.Actor) (*app.Client, error) {
	err := db.update(ctx, func(tx *sql.Tx) error {
		c, err := loadClient(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *c
		before.Tags, before.CustomValues = slices.Clone(c.Tags), maps.Clone(c.CustomValues)
		changed, err := u.Apply(c, db.Now())
		if err == nil && slices.Contains(changed, "owner_id") {
			err = checkOwner(ctx, tx, c.OwnerID)
		}
		customChanged, cerr := applyCustomValues(ctx, tx, c, u.CustomFields, false)
		if err = mergeInvalid(err, cerr); err != nil {
			return err
		}
		if len(changed) == 0 && len(customChanged) == 0 {
			return nil
		}
		now := db.Now()
		if err := writeClientRow(ctx, tx, c, now); err != nil {
			return err
		}
		if i := slices.Index(changed, "status"); i >= 0 {
			changed = slices.Delete(changed, i, i+1)
			if err := db.appendEvent(ctx, tx, app.NewEvent(app.EventStatusChanged, "client", id, actor,
				map[string]any{"from": before.Status, "to": c.Status})); err != nil {
				return err
			}
			if len(changed) == 0 && len(customChanged) == 0 {
				return nil
			}
		}
		if slices.Contains(changed, "tags") {
			if _, err := tx.ExecContext(ctx, `DELETE FROM client_tags WHERE client_id = ?`, id); err != nil {
				return err
			}
			if err := writeTags(ctx, tx, id, c.Tags); err != nil {
				return err
			}
		}
		if len(customChanged) > 0 {
			if err := writeCustomValues(ctx, tx, id, c.CustomValues); err != nil {
				return err
			}
		}
		if slices.ContainsFunc(changed, func(f string) bool { return strings.HasSuffix(f, "_name") }) {
			if err := refreshClientSearch(ctx, tx, id); err != nil {
				return err
			}
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventProfileUpdated, "client", id, actor,
			map[string]any{"changes": profileChanges(&before, c, changed, customChanged)}))
	})
	if err != nil {
		return nil, err
	}
	return db.ClientByID(ctx, id)
}

// writeClientRow stores c's profile fields (not its tags, custom values or
// children) and marks it active at now.
func writeClientRow(ctx context.Context, tx *sql.Tx, c *app.Client, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE clients SET first_name = ?, middle_name = ?, last_name = ?,
		gender = ?, birth_date = ?, passport_number = ?, tax_pin = ?, comments = ?, status = ?, owner_id = ?,
		language = ?, timezone = ?, currency = ?, preferred_channel = ?, sort_name = ?, updated_at = ?,
		last_activity_at = ? WHERE id = ?`, c.FirstName, c.MiddleName, c.LastName, c.Gender, c.BirthDate,
		c.PassportNumber, c.TaxPIN, c.Comments, c.Status, nullString(c.OwnerID), c.Preferences.Language,
		c.Preferences.Timezone, c.Preferences.Currency, c.Preferences.Channel, sortName(c), now, now, c.ID)
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.ID, err)
	}
	return nil
}

// profileChanges lists each changed field with its old and new value.
func profileChanges(before, after *app.Client, fields, custom []string) map[string][2]any {
	out := map[string][2]any{}
	for _, f := range fields {
		out[f] = [2]any{fieldValue(before, f), fieldValue(after, f)}
	}
	for _, k := range custom {
		out["custom_fields."+k] = [2]any{before.CustomValues[k], after.CustomValues[k]}
	}
	return out
}

// fieldValue is the value of a profile field by its name.
func fieldValue(c *app.Client, f string) any {
	switch f {
	case "first_name":
		return c.FirstName
	case "middle_name":
		return c.MiddleName
	case "last_name":
		return c.LastName
	case "gender":
		return c.Gender
	case "birth_date":
		return c.BirthDate
	case "passport_number":
		return c.PassportNumber
	case "tax_pin":
		return c.TaxPIN
	case "comments":
		return c.Comments
	case "owner_id":
		return c.OwnerID
	case "language":
		return c.Preferences.Language
	case "timezone":
		return c.Preferences.Timezone
	case "currency":
		return c.Preferences.Currency
	case "preferred_channel":
		return c.Preferences.Channel
	case "tags":
		return c.Tags
	case "status":
		return c.Status
	}
	return nil
}

// ChangeClientStatus moves a client along its lifecycle, refusing a
// transition the lifecycle does not allow.
func (db *DB) ChangeClientStatus(ctx context.Context, id string, to app.ClientStatus, actor app.Actor) error {
	_, err := db.UpdateClient(ctx, id, app.ClientUpdate{Status: &to}, actor)
	return err
}

// DeleteClient soft-deletes a client: it leaves every list and search, and
// its contact values are free for other clients. The purge comes later,
// with the retention policy.
func (db *DB) DeleteClient(ctx context.Context, id string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		c, err := loadClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := retireClient(ctx, tx, id, db.Now(), ""); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventClientDeleted, "client", id, actor,
			map[string]any{"name": c.Name()}))
	})
}

// retireClient takes a client out of lists and search: deleted, or merged
// into survivor.
func retireClient(ctx context.Context, tx *sql.Tx, id string, now time.Time, survivor string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET deleted_at = ?, updated_at = ?, merged_into = ? WHERE id = ?`,
		now, now, nullString(survivor), id); err != nil {
		return fmt.Errorf("retire client: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET active = 0 WHERE client_id = ?`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM clients_fts WHERE rowid = (SELECT rowid FROM clients WHERE id = ?)`, id)
	return err
}

// touchClient records activity on a client (a contact, address or note changed).
func touchClient(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE clients SET updated_at = ?, last_activity_at = ? WHERE id = ?`, now, now, id)
	return err
}

// checkOwner refuses an owner who is not an active member of this workspace.
func checkOwner(ctx context.Context, q querier, ownerID string) error {
	if ownerID == "" {
		return nil
	}
	var status string
	err := q.QueryRowContext(ctx, `SELECT status FROM users WHERE id = ?`, ownerID).Scan(&status)
	if err == sql.ErrNoRows || (err == nil && status != app.UserActive) {
		return app.InvalidField("owner_id", "Choose an active team member as owner.")
	}
	return err
}

func writeTags(ctx context.Context, tx *sql.Tx, clientID string, tags []string) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_tags (client_id, tag) VALUES (?, ?)`, clientID, t); err != nil {
			return fmt.Errorf("insert tag: %w", err)
		}
	}
	return nil
}

// sortName is the key the list sorts names by: "first last" folded as
// search folds words, so "Über" sorts (and is found by "u") with "Uber".
func sortName(c *app.Client) string {
	return app.Fold(strings.Join(strings.Fields(c.FirstName+" "+c.LastName), " "))
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// ListTags returns the tags in use, for filters (at most 500). It jumps
// from one tag to the next through the tag index, so it costs one lookup
// per distinct tag rather than a scan of every client's tags. A tag left
// only on deleted clients still shows; filtering by it finds no one.
func (db *DB) ListTags(ctx context.Context) ([]string, error) {
	return queryAll(ctx, db.reader(), scanString, `WITH RECURSIVE t (tag) AS (
			SELECT min(tag) FROM client_tags
			UNION ALL
			SELECT (SELECT min(tag) FROM client_tags WHERE tag > t.tag) FROM t WHERE t.tag IS NOT NULL
		) SELECT tag FROM t WHERE tag IS NOT NULL LIMIT 500`)
}
