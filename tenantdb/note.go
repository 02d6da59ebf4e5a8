package tenantdb

import (
	"context"
	"database/sql"
	"fmt"

	"parley/app"
)

const noteColumns = `id, client_id, type, body, pinned, author_id, author_name, created_at, updated_at`

func scanNote(row rowScanner) (app.Note, error) {
	var n app.Note
	err := row.Scan(&n.ID, &n.ClientID, &n.Type, &n.Body, &n.Pinned, &n.AuthorID, &n.AuthorName, &n.CreatedAt, &n.UpdatedAt)
	n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	return n, err
}

// AddNote adds a note to a client, written by actor.
func (db *DB) AddNote(ctx context.Context, clientID string, in app.NoteInput, actor app.Actor) (app.Note, error) {
	var n app.Note
	if err := in.Normalize(); err != nil {
		return n, err
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := checkClient(ctx, tx, clientID); err != nil {
			return err
		}
		var err error
		if n, err = db.insertNote(ctx, tx, clientID, in, actor); err != nil {
			return err
		}
		return refreshClientSearch(ctx, tx, clientID)
	})
	return n, err
}

// insertNote writes a normalised note with its NoteAdded event and the
// client's activity, all but the client's search row, which the caller
// rewrites.
func (db *DB) insertNote(ctx context.Context, tx *sql.Tx, clientID string, in app.NoteInput, actor app.Actor) (app.Note, error) {
	now := db.Now()
	n := app.Note{ID: newID(), ClientID: clientID, Type: in.Type, Body: in.Body, Pinned: in.Pinned,
		AuthorID: actor.ID, AuthorName: actor.Name, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notes (`+noteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.ClientID, n.Type, n.Body, n.Pinned, n.AuthorID, n.AuthorName, now, now); err != nil {
		return n, fmt.Errorf("insert note: %w", err)
	}
	if err := touchClient(ctx, tx, clientID, now); err != nil {
		return n, err
	}
	return n, db.appendEvent(ctx, tx, app.NewEvent(app.EventNoteAdded, "client", clientID, actor, map[string]any{
		"note_id": n.ID, "type": n.Type, "pinned": n.Pinned, "body": n.Body}))
}

// EditNote changes a note's text, type or pin. The event keeps the text as
// it was, so the log holds every version. Only the author may, unless
// anyNote (the actor's role manages clients).
func (db *DB) EditNote(ctx context.Context, clientID, noteID string, in app.NoteInput, actor app.Actor, anyNote bool) (app.Note, error) {
	var n app.Note
	if err := in.Normalize(); err != nil {
		return n, err
	}
	err := db.update(ctx, func(tx *sql.Tx) error {
		old, err := clientNote(ctx, tx, clientID, noteID)
		if err != nil {
			return err
		}
		if !old.MayChange(actor, anyNote) {
			return app.ErrNoteNotYours()
		}
		n = old
		n.Type, n.Body, n.Pinned = in.Type, in.Body, in.Pinned
		if n == old {
			return nil
		}
		n.UpdatedAt = db.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE notes SET type = ?, body = ?, pinned = ?, updated_at = ? WHERE id = ?`,
			n.Type, n.Body, n.Pinned, n.UpdatedAt, n.ID); err != nil {
			return err
		}
		payload := map[string]any{"note_id": n.ID, "type": n.Type, "pinned": n.Pinned}
		if n.Body != old.Body {
			payload["body"], payload["previous_body"] = n.Body, old.Body
		}
		return db.noteChanged(ctx, tx, clientID, app.EventNoteEdited, actor, payload)
	})
	return n, err
}

// DeleteNote removes a note; its text stays in the event log. Only the
// author may, unless anyNote (the actor's role manages clients).
func (db *DB) DeleteNote(ctx context.Context, clientID, noteID string, actor app.Actor, anyNote bool) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		n, err := clientNote(ctx, tx, clientID, noteID)
		if err != nil {
			return err
		}
		if !n.MayChange(actor, anyNote) {
			return app.ErrNoteNotYours()
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM notes WHERE id = ?`, n.ID); err != nil {
			return err
		}
		return db.noteChanged(ctx, tx, clientID, app.EventNoteDeleted, actor, map[string]any{
			"note_id": n.ID, "type": n.Type, "previous_body": n.Body})
	})
}

func clientNote(ctx context.Context, tx *sql.Tx, clientID, noteID string) (app.Note, error) {
	if err := checkClient(ctx, tx, clientID); err != nil {
		return app.Note{}, err
	}
	n, err := scanNote(tx.QueryRowContext(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = ? AND client_id = ?`, noteID, clientID))
	return n, notFound(err, "Note not found.")
}

func (db *DB) noteChanged(ctx context.Context, tx *sql.Tx, clientID, typ string, actor app.Actor, payload map[string]any) error {
	if err := touchClient(ctx, tx, clientID, db.Now()); err != nil {
		return err
	}
	if err := refreshClientSearch(ctx, tx, clientID); err != nil {
		return err
	}
	return db.appendEvent(ctx, tx, app.NewEvent(typ, "client", clientID, actor, payload))
}
