package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"parley/app"
)

const contactColumns = `id, client_id, type, value, label, verified, created_at, updated_at, opted_out_at`

func scanContact(row rowScanner) (app.Contact, error) {
	var c app.Contact
	var optedOut sql.NullTime
	err := row.Scan(&c.ID, &c.ClientID, &c.Type, &c.Value, &c.Label, &c.Verified, &c.CreatedAt, &c.UpdatedAt, &optedOut)
	c.CreatedAt, c.UpdatedAt, c.OptedOutAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), nullTime(optedOut)
	return c, err
}

// insertContact adds a normalised contact to a client. A value that another
// live client has is refused with a *app.DuplicateContactError; one the same
// client has already is refused as invalid.
func insertContact(ctx context.Context, tx *sql.Tx, clientID string, in app.ContactInput, field string, now time.Time) (app.Contact, error) {
	c := app.Contact{ID: newID(), ClientID: clientID, Type: in.Type, Value: in.Value, Label: in.Label,
		Verified: in.Verified, CreatedAt: now, UpdatedAt: now}
	var ownerID, ownerFirst, ownerLast string
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.first_name, c.last_name FROM contacts k
		JOIN clients c ON c.id = k.client_id WHERE k.type = ? AND k.value = ? AND k.active = 1`,
		in.Type, in.Value).Scan(&ownerID, &ownerFirst, &ownerLast)
	switch {
	case err == nil && ownerID == clientID:
		return c, app.InvalidField(field, "This client already has this "+in.Type.Label()+" contact.")
	case err == nil:
		name := (&app.Client{FirstName: ownerFirst, LastName: ownerLast}).Name()
		return c, &app.DuplicateContactError{Field: field, Type: in.Type, Value: in.Value, ClientID: ownerID, ClientName: name}
	case err != sql.ErrNoRows:
		return c, fmt.Errorf("find contact owner: %w", err)
	}
	// A value that once opted out (its client since erased, or merged)
	// stays opted out when it comes back.
	isSuppressed, err := suppressed(ctx, tx, c.Type, c.Value)
	if err != nil {
		return c, err
	}
	if isSuppressed {
		c.OptedOutAt = &now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO contacts (id, client_id, type, value, label, verified, created_at, updated_at, opted_out_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.ClientID, c.Type, c.Value, c.Label, c.Verified, now, now, utcPtr(c.OptedOutAt))
	if err != nil {
		return c, fmt.Errorf("insert contact: %w", err)
	}
	return c, nil
}

// AddContact normalises and adds a contact to a client, with its
// ContactInfoChanged event.
func (db *DB) AddContact(ctx context.Context, clientID string, in app.ContactInput, actor app.Actor) (app.Contact, error) {
	var c app.Contact
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := checkClient(ctx, tx, clientID); err != nil {
			return err
		}
		country, err := defaultCountry(ctx, tx)
		if err != nil {
			return err
		}
		if err := in.Normalize("contact", country); err != nil {
			return err
		}
		now := db.Now()
		if c, err = insertContact(ctx, tx, clientID, in, "contact.value", now); err != nil {
			return err
		}
		return db.contactChanged(ctx, tx, clientID, "added", c, actor, now)
	})
	return c, err
}

// RemoveContact removes a client's contact, with its ContactInfoChanged event.
func (db *DB) RemoveContact(ctx context.Context, clientID, contactID string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		if err := checkClient(ctx, tx, clientID); err != nil {
			return err
		}
		c, err := scanContact(tx.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts
			WHERE id = ? AND client_id = ? AND active = 1`, contactID, clientID))
		if err != nil {
			return notFound(err, "Contact not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, contactID); err != nil {
			return err
		}
		return db.contactChanged(ctx, tx, clientID, "removed", c, actor, db.Now())
	})
}

func (db *DB) contactChanged(ctx context.Context, tx *sql.Tx, clientID, action string, c app.Contact, actor app.Actor, now time.Time) error {
	if err := touchClient(ctx, tx, clientID, now); err != nil {
		return err
	}
	if err := refreshClientSearch(ctx, tx, clientID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventContactInfoChanged, "client", clientID, actor,
		map[string]any{"action": action, "contact_id": c.ID, "type": c.Type, "value": c.Value, "label": c.Label}))
}
