package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"parley/app"
)

const addressColumns = `id, client_id, type, label, street, city, region, postal_code, country, is_default, created_at, updated_at`

func scanAddress(row rowScanner) (app.Address, error) {
	var a app.Address
	err := row.Scan(&a.ID, &a.ClientID, &a.Type, &a.Label, &a.Street, &a.City, &a.Region, &a.PostalCode,
		&a.Country, &a.IsDefault, &a.CreatedAt, &a.UpdatedAt)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// insertAddress adds a normalised address. The first address of a type is
// that type's default; a new default takes the mark from the old one.
func insertAddress(ctx context.Context, tx *sql.Tx, clientID string, in app.AddressInput, now time.Time) (app.Address, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM addresses WHERE client_id = ? AND type = ?`,
		clientID, in.Type).Scan(&n); err != nil {
		return app.Address{}, err
	}
	a := app.Address{ID: newID(), ClientID: clientID, Type: in.Type, Label: in.Label, Street: in.Street,
		City: in.City, Region: in.Region, PostalCode: in.PostalCode, Country: in.Country,
		IsDefault: in.IsDefault || n == 0, CreatedAt: now, UpdatedAt: now}
	if a.IsDefault {
		if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 0 WHERE client_id = ? AND type = ?`,
			clientID, a.Type); err != nil {
			return a, err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO addresses (`+addressColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, a.Type, a.Label, a.Street, a.City, a.Region, a.PostalCode, a.Country, a.IsDefault, now, now)
	if err != nil {
		return a, fmt.Errorf("insert address: %w", err)
	}
	return a, nil
}

// AddAddress validates and adds an address to a client.
func (db *DB) AddAddress(ctx context.Context, clientID string, in app.AddressInput, actor app.Actor) (app.Address, error) {
	var a app.Address
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := checkClient(ctx, tx, clientID); err != nil {
			return err
		}
		if err := in.Normalize(""); err != nil {
			return err
		}
		now := db.Now()
		var err error
		if a, err = insertAddress(ctx, tx, clientID, in, now); err != nil {
			return err
		}
		return db.addressChanged(ctx, tx, clientID, "added", a, actor, now)
	})
	return a, err
}

// SetDefaultAddress makes an address the default of its type.
func (db *DB) SetDefaultAddress(ctx context.Context, clientID, addressID string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		a, err := clientAddress(ctx, tx, clientID, addressID)
		if err != nil || a.IsDefault {
			return err
		}
		now := db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 0 WHERE client_id = ? AND type = ?`, clientID, a.Type); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 1, updated_at = ? WHERE id = ?`, now, a.ID); err != nil {
			return err
		}
		return db.addressChanged(ctx, tx, clientID, "made_default", a, actor, now)
	})
}

// RemoveAddress removes an address; if it was its type's default, the
// oldest remaining address of that type becomes the default.
func (db *DB) RemoveAddress(ctx context.Context, clientID, addressID string, actor app.Actor) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		a, err := clientAddress(ctx, tx, clientID, addressID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM addresses WHERE id = ?`, a.ID); err != nil {
			return err
		}
		if a.IsDefault {
			if _, err := tx.ExecContext(ctx, `UPDATE addresses SET is_default = 1 WHERE id = (SELECT id FROM addresses
				WHERE client_id = ? AND type = ? ORDER BY created_at LIMIT 1)`, clientID, a.Type); err != nil {
				return err
			}
		}
		return db.addressChanged(ctx, tx, clientID, "removed", a, actor, db.Now())
	})
}

func clientAddress(ctx context.Context, tx *sql.Tx, clientID, addressID string) (app.Address, error) {
	if err := checkClient(ctx, tx, clientID); err != nil {
		return app.Address{}, err
	}
	a, err := scanAddress(tx.QueryRowContext(ctx, `SELECT `+addressColumns+` FROM addresses WHERE id = ? AND client_id = ?`,
		addressID, clientID))
	return a, notFound(err, "Address not found.")
}

func (db *DB) addressChanged(ctx context.Context, tx *sql.Tx, clientID, action string, a app.Address, actor app.Actor, now time.Time) error {
	if err := touchClient(ctx, tx, clientID, now); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(app.EventAddressChanged, "client", clientID, actor,
		map[string]any{"action": action, "address_id": a.ID, "type": a.Type, "lines": a.Lines()}))
}
