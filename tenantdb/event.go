package tenantdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"parley/app"
)

// appendEvent writes ev to the event log inside tx, the transaction of the
// change it describes. It fills in the id and time.
func (db *DB) appendEvent(ctx context.Context, tx *sql.Tx, ev app.Event) error {
	ev.ID = newID()
	ev.OccurredAt = db.Now()
	if len(ev.Payload) == 0 {
		ev.Payload = []byte(`{}`)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events
		(id, type, aggregate_type, aggregate_id, actor_type, actor_id, actor_name, occurred_at, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.Type, ev.AggregateType, ev.AggregateID, ev.Actor.Type, ev.Actor.ID, ev.Actor.Name,
		ev.OccurredAt, string(ev.Payload))
	if err != nil {
		return fmt.Errorf("append event %s: %w", ev.Type, err)
	}
	return nil
}

// ListEvents returns events matching f, newest first. Limit defaults to 50.
func (db *DB) ListEvents(ctx context.Context, f app.EventFilter) ([]app.Event, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.ActorID != nil {
		where, args = append(where, "actor_id = ?"), append(args, *f.ActorID)
	}
	if f.Type != nil {
		where, args = append(where, "type = ?"), append(args, *f.Type)
	}
	if f.From != nil {
		where, args = append(where, "occurred_at >= ?"), append(args, f.From.UTC())
	}
	if f.To != nil {
		where, args = append(where, "occurred_at < ?"), append(args, f.To.UTC())
	}
	if f.Before != nil {
		where, args = append(where, "id < ?"), append(args, *f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	evs, err := queryAll(ctx, db.reader(), scanEvent, `SELECT id, type, aggregate_type, aggregate_id, actor_type,
		actor_id, actor_name, occurred_at, payload FROM events WHERE `+strings.Join(where, " AND ")+`
		ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

func scanEvent(row rowScanner) (app.Event, error) {
	var ev app.Event
	var payload string
	err := row.Scan(&ev.ID, &ev.Type, &ev.AggregateType, &ev.AggregateID, &ev.Actor.Type,
		&ev.Actor.ID, &ev.Actor.Name, &ev.OccurredAt, &payload)
	ev.OccurredAt = ev.OccurredAt.UTC()
	ev.Payload = []byte(payload)
	return ev, err
}

// EventsAfter returns up to limit events written after the event with
// rowid after, oldest first, with the rowid of the last one (after itself
// when there are none). The rowid follows commit order, which event ids
// (made from the clock) may not: the live feed reads by rowid.
func (db *DB) EventsAfter(ctx context.Context, after int64, limit int) ([]app.Event, int64, error) {
	rows, err := db.reader().QueryContext(ctx, `SELECT rowid, id, type, aggregate_type, aggregate_id, actor_type,
		actor_id, actor_name, occurred_at, payload FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?`, after, limit)
	if err != nil {
		return nil, after, fmt.Errorf("events after: %w", err)
	}
	defer rows.Close()
	var evs []app.Event
	for rows.Next() {
		var ev app.Event
		var payload string
		if err := rows.Scan(&after, &ev.ID, &ev.Type, &ev.AggregateType, &ev.AggregateID, &ev.Actor.Type,
			&ev.Actor.ID, &ev.Actor.Name, &ev.OccurredAt, &payload); err != nil {
			return nil, after, err
		}
		ev.OccurredAt, ev.Payload = ev.OccurredAt.UTC(), []byte(payload)
		evs = append(evs, ev)
	}
	return evs, after, rows.Err()
}

// LastEventRowID returns the rowid of the newest event (0 when none).
func (db *DB) LastEventRowID(ctx context.Context) (int64, error) {
	var id int64
	err := db.reader().QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM events`).Scan(&id)
	return id, err
}
