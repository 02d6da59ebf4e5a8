package tenantdb

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"parley/app"
)

// Subject access exports (GDPR art. 15): a request writes a pending row and
// its event; a job builds the archive (BuildExport) under the tenant's
// files directory; the team downloads it (OpenExport, logged) until it
// expires ExportTTL after it was built. The archive is never web-served
// from disk directly: every download goes through OpenExport.

// Export statuses.
const (
	ExportPending = "pending" // requested; the job has not built it yet
	ExportReady   = "ready"   // built; can be downloaded until ExpiresAt
	ExportFailed  = "failed"  // the job gave up; Error says why
	ExportExpired = "expired" // past ExpiresAt; the archive is deleted
)

// ExportTTL is how long a built archive can be downloaded.
const ExportTTL = 7 * 24 * time.Hour

// Export is one subject access request and the state of its archive.
type Export struct {
	ID          string
	ClientID    string
	Status      string
	RequestedBy app.Actor
	CreatedAt   time.Time
	CompletedAt *time.Time
	ExpiresAt   *time.Time
	Size        int64
	SHA256      string
	Error       string
	Downloads   int
}

const exportColumns = `id, client_id, status, actor_type, actor_id, actor_name, created_at, completed_at, expires_at,
	size, sha256, error, downloads`

func scanExport(row rowScanner) (Export, error) {
	var e Export
	var done, exp sql.NullTime
	err := row.Scan(&e.ID, &e.ClientID, &e.Status, &e.RequestedBy.Type, &e.RequestedBy.ID, &e.RequestedBy.Name,
		&e.CreatedAt, &done, &exp, &e.Size, &e.SHA256, &e.Error, &e.Downloads)
	e.CreatedAt, e.CompletedAt, e.ExpiresAt = e.CreatedAt.UTC(), nullTime(done), nullTime(exp)
	return e, err
}

func errExportNotFound() error { return app.Errorf(app.ENOTFOUND, "Export not found.") }

// exportPath is where an export's archive is kept: beside the attachments,
// in a directory no route serves.
func (db *DB) exportPath(id string) string {
	return filepath.Join(db.FilesDir(), "exports", filepath.Base(id)+".zip")
}

// DataSubject is a client as the GDPR requests see them: live or deleted
// (a deleted client's data is still held until it is purged), but not
// merged away (EMOVED names the survivor) or erased (ENOTFOUND).
type DataSubject struct {
	ID        string
	Name      string
	LegalHold bool
	DeletedAt *time.Time
}

func loadSubject(ctx context.Context, q querier, id string) (DataSubject, error) {
	s := DataSubject{ID: id}
	c := &app.Client{}
	var deleted, erased sql.NullTime
	var merged string
	err := q.QueryRowContext(ctx, `SELECT first_name, middle_name, last_name, legal_hold, deleted_at,
		coalesce(merged_into, ''), erased_at FROM clients WHERE id = ?`, id).Scan(&c.FirstName, &c.MiddleName,
		&c.LastName, &s.LegalHold, &deleted, &merged, &erased)
	if err != nil {
		return s, notFound(err, "Client not found.")
	}
	if merged != "" {
		return s, liveClientError(nil, merged)
	}
	if erased.Valid {
		return s, errClientNotFound()
	}
	s.Name, s.DeletedAt = c.Name(), nullTime(deleted)
	return s, nil
}

// DataSubject returns the client whose data a GDPR request is about.
func (db *DB) DataSubject(ctx context.Context, clientID string) (DataSubject, error) {
	return loadSubject(ctx, db.reader(), clientID)
}

// RequestExport records a subject access request for a client, pending
// until BuildExport runs, with an event naming who asked. The caller
// enqueues the job once this has committed.
func (db *DB) RequestExport(ctx context.Context, clientID string, actor app.Actor) (Export, error) {
	e := Export{ID: newID(), ClientID: clientID, Status: ExportPending, RequestedBy: actor, CreatedAt: db.Now()}
	err := db.update(ctx, func(tx *sql.Tx) error {
		if _, err := loadSubject(ctx, tx, clientID); err != nil {
			return err
		}
		// An archive built while the erasure runs would copy what is being
		// erased out of its reach.
		if err := checkNotErasing(ctx, tx, clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO exports (id, client_id, status, actor_type, actor_id, actor_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, clientID, e.Status, actor.Type, actor.ID, actor.Name, e.CreatedAt); err != nil {
			return fmt.Errorf("insert export: %w", err)
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventExportRequested, "client", clientID, actor,
			map[string]any{"export_id": e.ID}))
	})
	return e, err
}

// ExportByID returns an export. One past its expiry is expired first, so
// nobody is shown a download that is no longer there.
func (db *DB) ExportByID(ctx context.Context, id string) (Export, error) {
	e, err := scanExport(db.reader().QueryRowContext(ctx, `SELECT `+exportColumns+` FROM exports WHERE id = ?`, id))
	if err != nil {
		return e, notFound(err, "Export not found.")
	}
	if e.Status == ExportReady && e.ExpiresAt != nil && !db.Now().Before(*e.ExpiresAt) {
		if _, err := db.ExpireExports(ctx); err != nil {
			return e, err
		}
		e.Status = ExportExpired
	}
	return e, nil
}

// ClientExports lists a client's exports, newest first (at most 20).
func (db *DB) ClientExports(ctx context.Context, clientID string) ([]Export, error) {
	if _, err := db.ExpireExports(ctx); err != nil {
		return nil, err
	}
	return queryAll(ctx, db.reader(), scanExport, `SELECT `+exportColumns+` FROM exports WHERE client_id = ?
		ORDER BY created_at DESC, id DESC LIMIT 20`, clientID)
}

// ExpireExports marks the archives past their expiry expired and deletes
// their files; it returns how many.
func (db *DB) ExpireExports(ctx context.Context) (int, error) {
	now := db.Now()
	// A read first: most calls find nothing due and need no write.
	var n int
	err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE status = 'ready' AND expires_at <= ?`, now).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var due []string
	err = db.update(ctx, func(tx *sql.Tx) error {
		var err error
		if due, err = queryAll(ctx, tx, scanString, `SELECT id FROM exports WHERE status = 'ready' AND expires_at <= ?`, now); err != nil || len(due) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE exports SET status = 'expired' WHERE status = 'ready' AND expires_at <= ?`, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire exports: %w", err)
	}
	for _, id := range due {
		os.Remove(db.exportPath(id))
	}
	return len(due), nil
}

// FailExport marks a pending export failed with a reason shown to the team.
func (db *DB) FailExport(ctx context.Context, id, reason string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'failed', error = ?, completed_at = ?
			WHERE id = ? AND status = 'pending'`, reason, db.Now(), id)
		return err
	})
}

// BuildExport builds a pending export's archive and marks it ready; an
// export that is not pending is returned as it is, so a repeated job does
// nothing. ENOTFOUND means the export is gone (its client was erased).
func (db *DB) BuildExport(ctx context.Context, id string) (Export, error) {
	e, err := db.ExportByID(ctx, id)
	if err != nil || e.Status != ExportPending {
		return e, err
	}
	final := db.exportPath(id)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return e, fmt.Errorf("exports directory: %w", err)
	}
	size, sum, err := db.writeArchive(ctx, e, final+".part")
	if err != nil {
		os.Remove(final + ".part")
		return e, err
	}
	if err := os.Rename(final+".part", final); err != nil {
		os.Remove(final + ".part")
		return e, err
	}
	syncDir(filepath.Dir(final))
	now := db.Now()
	expires := now.Add(ExportTTL)
	var n int64
	err = db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'ready', completed_at = ?, expires_at = ?, size = ?,
			sha256 = ? WHERE id = ? AND status = 'pending'`, now, expires, size, sum, id)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil || n == 0 {
		// The client was erased while the archive was being built (its
		// export rows went with it): the archive must not outlive them.
		os.Remove(final)
		if err == nil {
			err = errExportNotFound()
		}
		return e, err
	}
	return db.ExportByID(ctx, id)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// writeArchive writes e's archive to path (synced) and returns its size
// and SHA-256. It reads everything from one snapshot.
func (db *DB) writeArchive(ctx context.Context, e Export, path string) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("create archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	zw := zip.NewWriter(cw)
	tx, err := db.reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback()
	if err := db.writeArchiveEntries(ctx, tx, zw, e); err != nil {
		return 0, "", err
	}
	if err := zw.Close(); err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return cw.n, hex.EncodeToString(h.Sum(nil)), f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// exportScope is what an export covers: the client, the clients merged
// into it, and their chats.
type exportScope struct {
	clients []string
	chats   []string
}

func loadExportScope(ctx context.Context, q querier, clientID string) (exportScope, error) {
	merged, err := queryAll(ctx, q, scanString, `SELECT id FROM clients WHERE merged_into = ? ORDER BY id`, clientID)
	if err != nil {
		return exportScope{}, fmt.Errorf("merged clients: %w", err)
	}
	s := exportScope{clients: append([]string{clientID}, merged...)}
	in, args := inList(s.clients)
	if s.chats, err = queryAll(ctx, q, scanString, `SELECT id FROM chats WHERE client_id IN (`+in+`) ORDER BY seq`, args...); err != nil {
		return s, fmt.Errorf("chats: %w", err)
	}
	return s, nil
}

func (db *DB) writeArchiveEntries(ctx context.Context, tx *sql.Tx, zw *zip.Writer, e Export) error {
	if _, err := loadSubject(ctx, tx, e.ClientID); err != nil {
		return err
	}
	scope, err := loadExportScope(ctx, tx, e.ClientID)
	if err != nil {
		return err
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "README.txt", Method: zip.Deflate, Modified: db.Now()})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, exportReadme); err != nil {
		return err
	}
	files, err := db.writeAttachmentFiles(ctx, tx, zw, scope)
	if err != nil {
		return err
	}
	if w, err = zw.CreateHeader(&zip.FileHeader{Name: "client.json", Method: zip.Deflate, Modified: db.Now()}); err != nil {
		return err
	}
	return db.writeClientJSON(ctx, tx, w, e, scope, files)
}

// writeAttachmentFiles copies the files of the scope's messages into the
// archive and returns, by attachment id, the path each got ("" for a
// file no longer on disk).
func (db *DB) writeAttachmentFiles(ctx context.Context, tx *sql.Tx, zw *zip.Writer, s exportScope) (map[string]string, error) {
	out := map[string]string{}
	if len(s.chats) == 0 {
		return out, nil
	}
	in, args := inList(s.chats)
	type att struct {
		id, name string
		at       time.Time
	}
	atts, err := queryAll(ctx, tx, func(row rowScanner) (a att, err error) {
		return a, row.Scan(&a.id, &a.name, &a.at)
	}, `SELECT a.id, a.filename, a.created_at FROM attachments a JOIN messages m ON m.id = a.message_id
		WHERE m.chat_id IN (`+in+`) ORDER BY a.created_at, a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	for _, a := range atts {
		src, err := os.Open(filepath.Join(db.FilesDir(), filepath.Base(a.id)))
		if errors.Is(err, os.ErrNotExist) {
			out[a.id] = "" // removed by a retention sweep after the row was read
			continue
		} else if err != nil {
			return nil, err
		}
		name := "attachments/" + a.id + "-" + safeFilename(a.name)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.at.UTC()})
		if err == nil {
			_, err = io.Copy(w, src)
		}
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("copy attachment %s: %w", a.id, err)
		}
		out[a.id] = name
	}
	return out, nil
}

// safeFilename keeps a file's name readable in the archive without
// letting it name a directory or carry control characters.
func safeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	name = strings.TrimLeft(name, ".")
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	if name == "" {
		return "file"
	}
	return name
}

// jsonDoc streams a JSON object one member at a time, so a client with
// a long history is never held in memory whole.
type jsonDoc struct {
	w   io.Writer
	n   int
	err error
}

func (d *jsonDoc) raw(s string) {
	if d.err == nil {
		_, d.err = io.WriteString(d.w, s)
	}
}

func (d *jsonDoc) key(k string) {
	if d.n == 0 {
		d.raw("{\n")
	} else {
		d.raw(",\n")
	}
	d.n++
	b, _ := json.Marshal(k)
	d.raw(string(b) + ": ")
}

func (d *jsonDoc) value(v any) {
	if d.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		d.err = err
		return
	}
	d.raw(string(b))
}

// field writes one member.
func (d *jsonDoc) field(k string, v any) {
	d.key(k)
	d.value(v)
}

// rows writes a member that is an array, one element per line, from a query.
func (d *jsonDoc) rows(ctx context.Context, q querier, k string, scan func(rowScanner) (any, error), query string, args ...any) {
	d.key(k)
	d.raw("[")
	if d.err != nil {
		return
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		d.err = fmt.Errorf("export %s: %w", k, err)
		return
	}
	defer rows.Close()
	n := 0
	for rows.Next() && d.err == nil {
		v, err := scan(rows)
		if err != nil {
			d.err = err
			return
		}
		if n > 0 {
			d.raw(",")
		}
		d.raw("\n  ")
		d.value(v)
		n++
	}
	if err := rows.Err(); err != nil && d.err == nil {
		d.err = err
	}
	if n > 0 {
		d.raw("\n")
	}
	d.raw("]")
}

func (d *jsonDoc) close() error {
	d.raw("\n}\n")
	return d.err
}

// The shapes of client.json; README.txt (exportReadme) documents them.
type (
	xActor struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	xCustomValue struct {
		Key   string `json:"key"`
		Label string `json:"label"`
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	xClient struct {
		ID             string          `json:"id"`
		FirstName      string          `json:"first_name"`
		MiddleName     string          `json:"middle_name"`
		LastName       string          `json:"last_name"`
		Gender         string          `json:"gender"`
		BirthDate      string          `json:"birth_date"`
		PassportNumber string          `json:"passport_number"`
		TaxPIN         string          `json:"tax_pin"`
		Comments       string          `json:"comments"`
		Status         string          `json:"status"`
		Owner          *xActor         `json:"owner"`
		Preferences    app.Preferences `json:"preferences"`
		Tags           []string        `json:"tags"`
		CustomFields   []xCustomValue  `json:"custom_fields"`
		LegalHold      bool            `json:"legal_hold"`
		CreatedAt      time.Time       `json:"created_at"`
		UpdatedAt      time.Time       `json:"updated_at"`
		LastActivityAt time.Time       `json:"last_activity_at"`
		DeletedAt      *time.Time      `json:"deleted_at"`
	}
	xContact struct {
		ID         string     `json:"id"`
		Type       string     `json:"type"`
		Value      string     `json:"value"`
		Label      string     `json:"label"`
		Verified   bool       `json:"verified"`
		Active     bool       `json:"active"`
		OptedOutAt *time.Time `json:"opted_out_at"`
		CreatedAt  time.Time  `json:"created_at"`
		UpdatedAt  time.Time  `json:"updated_at"`
	}
	xAddress struct {
		ID         string    `json:"id"`
		Type       string    `json:"type"`
		Label      string    `json:"label"`
		Street     string    `json:"street"`
		City       string    `json:"city"`
		Region     string    `json:"region"`
		PostalCode string    `json:"postal_code"`
		Country    string    `json:"country"`
		IsDefault  bool      `json:"is_default"`
		CreatedAt  time.Time `json:"created_at"`
		UpdatedAt  time.Time `json:"updated_at"`
	}
	xNote struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		Body      string    `json:"body"`
		Pinned    bool      `json:"pinned"`
		Author    xActor    `json:"author"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	xConsent struct {
		Purpose   string     `json:"purpose"`
		Channel   string     `json:"channel"`
		State     string     `json:"state"`
		Source    string     `json:"source"`
		ExpiresAt *time.Time `json:"expires_at"`
		UpdatedAt time.Time  `json:"updated_at"`
	}
	xConsentChange struct {
		ID        string     `json:"id"`
		Purpose   string     `json:"purpose"`
		Channel   string     `json:"channel"`
		From      string     `json:"from_state"`
		To        string     `json:"to_state"`
		Source    string     `json:"source"`
		Actor     xActor     `json:"actor"`
		Note      string     `json:"note"`
		ExpiresAt *time.Time `json:"expires_at"`
		At        time.Time  `json:"at"`
	}
	xChat struct {
		ID            string    `json:"id"`
		Status        string    `json:"status"`
		AssigneeID    string    `json:"assignee_id"`
		MessageCount  int       `json:"message_count"`
		CreatedAt     time.Time `json:"created_at"`
		LastMessageAt time.Time `json:"last_message_at"`
		MergedInto    string    `json:"merged_into"`
	}
	xSender struct {
		Type string          `json:"type"`
		ID   string          `json:"id"`
		Name string          `json:"name"`
		Meta json.RawMessage `json:"meta"`
	}
	xAttachment struct {
		ID          string    `json:"id"`
		Filename    string    `json:"filename"`
		ContentType string    `json:"content_type"`
		Size        int64     `json:"size"`
		SHA256      string    `json:"sha256"`
		CreatedAt   time.Time `json:"created_at"`
		File        string    `json:"file"`
	}
	xMessage struct {
		ID                string          `json:"id"`
		ChatID            string          `json:"chat_id"`
		Kind              string          `json:"kind"`
		Visibility        string          `json:"visibility"`
		Direction         string          `json:"direction"`
		Transport         string          `json:"transport"`
		ChannelID         string          `json:"channel_id"`
		ContactValue      string          `json:"contact_value"`
		Sender            xSender         `json:"sender"`
		Subject           string          `json:"subject"`
		Body              string          `json:"body"`
		HTML              string          `json:"html"`
		Meta              json.RawMessage `json:"meta"`
		Mentions          json.RawMessage `json:"mentions"`
		Marketing         bool            `json:"marketing"`
		TemplateID        string          `json:"template_id"`
		Status            string          `json:"status"`
		FailureReason     string          `json:"failure_reason"`
		ProviderMessageID string          `json:"provider_message_id"`
		CreatedAt         time.Time       `json:"created_at"`
		SentAt            *time.Time      `json:"sent_at"`
		DeliveredAt       *time.Time      `json:"delivered_at"`
		ReadAt            *time.Time      `json:"read_at"`
		RedactedAt        *time.Time      `json:"redacted_at"`
		Attachments       []xAttachment   `json:"attachments"`
	}
	xEvent struct {
		ID            string          `json:"id"`
		Type          string          `json:"type"`
		AggregateType string          `json:"aggregate_type"`
		AggregateID   string          `json:"aggregate_id"`
		Actor         xActor          `json:"actor"`
		OccurredAt    time.Time       `json:"occurred_at"`
		Payload       json.RawMessage `json:"payload"`
	}
)

// exportFormat names the version of client.json's shape.
const exportFormat = "parley.client-export.v1"

func (db *DB) writeClientJSON(ctx context.Context, tx *sql.Tx, w io.Writer, e Export, s exportScope, files map[string]string) error {
	d := &jsonDoc{w: w}
	d.field("format", exportFormat)
	d.field("export_id", e.ID)
	d.field("workspace_id", db.TenantID)
	d.field("generated_at", db.Now())
	clients := make([]xClient, 0, len(s.clients))
	for _, id := range s.clients {
		c, err := exportClient(ctx, tx, id)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	d.field("client", clients[0])
	d.field("merged_clients", clients[1:])
	in, args := inList(s.clients)
	d.rows(ctx, tx, "contacts", func(row rowScanner) (any, error) {
		var c xContact
		var opted sql.NullTime
		err := row.Scan(&c.ID, &c.Type, &c.Value, &c.Label, &c.Verified, &c.Active, &opted, &c.CreatedAt, &c.UpdatedAt)
		c.OptedOutAt, c.CreatedAt, c.UpdatedAt = nullTime(opted), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		return c, err
	}, `SELECT id, type, value, label, verified, active, opted_out_at, created_at, updated_at FROM contacts
		WHERE client_id IN (`+in+`) ORDER BY created_at, id`, args...)
	d.rows(ctx, tx, "addresses", func(row rowScanner) (any, error) {
		var a xAddress
		err := row.Scan(&a.ID, &a.Type, &a.Label, &a.Street, &a.City, &a.Region, &a.PostalCode, &a.Country, &a.IsDefault,
			&a.CreatedAt, &a.UpdatedAt)
		a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
		return a, err
	}, `SELECT id, type, label, street, city, region, postal_code, country, is_default, created_at, updated_at
		FROM addresses WHERE client_id IN (`+in+`) ORDER BY created_at, id`, args...)
	d.rows(ctx, tx, "notes", func(row rowScanner) (any, error) {
		var n xNote
		err := row.Scan(&n.ID, &n.Type, &n.Body, &n.Pinned, &n.Author.ID, &n.Author.Name, &n.CreatedAt, &n.UpdatedAt)
		n.Author.Type, n.CreatedAt, n.UpdatedAt = app.ActorUser, n.CreatedAt.UTC(), n.UpdatedAt.UTC()
		if n.Author.ID == "" {
			n.Author.Type = ""
		}
		return n, err
	}, `SELECT id, type, body, pinned, author_id, author_name, created_at, updated_at FROM notes
		WHERE client_id IN (`+in+`) ORDER BY created_at, id`, args...)
	d.rows(ctx, tx, "consents", func(row rowScanner) (any, error) {
		var c xConsent
		var exp sql.NullTime
		err := row.Scan(&c.Purpose, &c.Channel, &c.State, &c.Source, &exp, &c.UpdatedAt)
		c.ExpiresAt, c.UpdatedAt = nullTime(exp), c.UpdatedAt.UTC()
		return c, err
	}, `SELECT purpose, channel, state, source, expires_at, updated_at FROM consents
		WHERE client_id IN (`+in+`) ORDER BY purpose, channel`, args...)
	d.rows(ctx, tx, "consent_history", func(row rowScanner) (any, error) {
		var c xConsentChange
		var exp sql.NullTime
		err := row.Scan(&c.ID, &c.Purpose, &c.Channel, &c.From, &c.To, &c.Source, &c.Actor.Type, &c.Actor.ID,
			&c.Actor.Name, &c.Note, &exp, &c.At)
		c.ExpiresAt, c.At = nullTime(exp), c.At.UTC()
		return c, err
	}, `SELECT id, purpose, channel, from_state, to_state, source, actor_type, actor_id, actor_name, note, expires_at, at
		FROM consent_changes WHERE client_id IN (`+in+`) ORDER BY seq`, args...)
	d.rows(ctx, tx, "chats", func(row rowScanner) (any, error) {
		var c xChat
		err := row.Scan(&c.ID, &c.Status, &c.AssigneeID, &c.MessageCount, &c.CreatedAt, &c.LastMessageAt, &c.MergedInto)
		c.CreatedAt, c.LastMessageAt = c.CreatedAt.UTC(), c.LastMessageAt.UTC()
		return c, err
	}, `SELECT id, status, assignee_id, message_count, created_at, last_message_at, coalesce(merged_into, '')
		FROM chats WHERE client_id IN (`+in+`) ORDER BY seq`, args...)
	if err := db.writeMessages(ctx, tx, d, s, files); err != nil {
		return err
	}
	events, eargs := exportEventsWhere(s)
	d.rows(ctx, tx, "events", func(row rowScanner) (any, error) {
		var ev xEvent
		var payload string
		err := row.Scan(&ev.ID, &ev.Type, &ev.AggregateType, &ev.AggregateID, &ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Name,
			&ev.OccurredAt, &payload)
		ev.OccurredAt, ev.Payload = ev.OccurredAt.UTC(), json.RawMessage(payload)
		return ev, err
	}, `SELECT id, type, aggregate_type, aggregate_id, actor_type, actor_id, actor_name, occurred_at, payload
		FROM events WHERE `+events+` ORDER BY id`, eargs...)
	return d.close()
}

// exportEventsWhere selects the events about the scope: its clients' own
// and their chats'.
func exportEventsWhere(s exportScope) (string, []any) {
	in, args := inList(s.clients)
	where := `(aggregate_type = 'client' AND aggregate_id IN (` + in + `))`
	if len(s.chats) > 0 {
		cin, cargs := inList(s.chats)
		where += ` OR (aggregate_type = 'chat' AND aggregate_id IN (` + cin + `))`
		args = append(args, cargs...)
	}
	return where, args
}

func exportClient(ctx context.Context, tx *sql.Tx, id string) (xClient, error) {
	var c xClient
	var owner sql.NullString
	var ownerName string
	var deleted sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.first_name, c.middle_name, c.last_name, c.gender, c.birth_date,
		c.passport_number, c.tax_pin, c.comments, c.status, c.owner_id, coalesce(u.name, ''), c.language, c.timezone,
		c.currency, c.preferred_channel, c.legal_hold, c.created_at, c.updated_at, c.last_activity_at, c.deleted_at
		FROM clients c LEFT JOIN users u ON u.id = c.owner_id WHERE c.id = ?`, id).Scan(&c.ID, &c.FirstName,
		&c.MiddleName, &c.LastName, &c.Gender, &c.BirthDate, &c.PassportNumber, &c.TaxPIN, &c.Comments, &c.Status,
		&owner, &ownerName, &c.Preferences.Language, &c.Preferences.Timezone, &c.Preferences.Currency,
		&c.Preferences.Channel, &c.LegalHold, &c.CreatedAt, &c.UpdatedAt, &c.LastActivityAt, &deleted)
	if err != nil {
		return c, fmt.Errorf("export client %s: %w", id, err)
	}
	c.CreatedAt, c.UpdatedAt, c.LastActivityAt, c.DeletedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC(), c.LastActivityAt.UTC(), nullTime(deleted)
	if owner.Valid {
		c.Owner = &xActor{Type: app.ActorUser, ID: owner.String, Name: ownerName}
	}
	if c.Tags, err = queryAll(ctx, tx, scanString, `SELECT tag FROM client_tags WHERE client_id = ? ORDER BY tag`, id); err != nil {
		return c, err
	}
	if c.CustomFields, err = queryAll(ctx, tx, func(row rowScanner) (v xCustomValue, err error) {
		return v, row.Scan(&v.Key, &v.Label, &v.Type, &v.Value)
	}, `SELECT f.key, f.label, f.type, v.value FROM client_custom_values v JOIN custom_fields f ON f.id = v.field_id
		WHERE v.client_id = ? ORDER BY f.position, f.key`, id); err != nil {
		return c, err
	}
	c.Tags, c.CustomFields = nonNilSlice(c.Tags), nonNilSlice(c.CustomFields)
	return c, nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeMessages writes the scope's messages, oldest first, each with its
// attachments and where their files are in the archive.
func (db *DB) writeMessages(ctx context.Context, tx *sql.Tx, d *jsonDoc, s exportScope, files map[string]string) error {
	if len(s.chats) == 0 {
		d.field("messages", []any{})
		return nil
	}
	in, args := inList(s.chats)
	byMessage := map[string][]xAttachment{}
	type att struct {
		msg string
		a   xAttachment
	}
	atts, err := queryAll(ctx, tx, func(row rowScanner) (x att, err error) {
		err = row.Scan(&x.msg, &x.a.ID, &x.a.Filename, &x.a.ContentType, &x.a.Size, &x.a.SHA256, &x.a.CreatedAt)
		x.a.CreatedAt, x.a.File = x.a.CreatedAt.UTC(), files[x.a.ID]
		return x, err
	}, `SELECT a.message_id, a.id, a.filename, a.content_type, a.size, a.sha256, a.created_at FROM attachments a
		JOIN messages m ON m.id = a.message_id WHERE m.chat_id IN (`+in+`) ORDER BY a.created_at, a.id`, args...)
	if err != nil {
		return fmt.Errorf("export attachments: %w", err)
	}
	for _, x := range atts {
		byMessage[x.msg] = append(byMessage[x.msg], x.a)
	}
	d.rows(ctx, tx, "messages", func(row rowScanner) (any, error) {
		var m xMessage
		var senderMeta, meta, mentions string
		var sent, delivered, read, redacted sql.NullTime
		err := row.Scan(&m.ID, &m.ChatID, &m.Kind, &m.Direction, &m.Transport, &m.ChannelID, &m.ContactValue,
			&m.Sender.Type, &m.Sender.ID, &m.Sender.Name, &senderMeta, &m.Subject, &m.Body, &m.HTML, &meta, &mentions,
			&m.Marketing, &m.TemplateID, &m.Status, &m.FailureReason, &m.ProviderMessageID, &m.CreatedAt, &sent,
			&delivered, &read, &redacted)
		m.Sender.Meta, m.Meta, m.Mentions = json.RawMessage(senderMeta), json.RawMessage(meta), json.RawMessage(mentions)
		m.CreatedAt, m.SentAt, m.DeliveredAt, m.ReadAt, m.RedactedAt = m.CreatedAt.UTC(), nullTime(sent),
			nullTime(delivered), nullTime(read), nullTime(redacted)
		m.Visibility = map[string]string{"message": "client", "note": "internal", "system": "system"}[m.Kind]
		m.Attachments = nonNilSlice(byMessage[m.ID])
		return m, err
	}, `SELECT id, chat_id, kind, direction, transport, channel_id, contact_value, sender_type, sender_id, sender_name,
		sender_meta, subject, body, html, meta, mentions, marketing, template_id, status, failure_reason,
		provider_message_id, created_at, sent_at, delivered_at, read_at, redacted_at
		FROM messages WHERE chat_id IN (`+in+`) ORDER BY seq`, args...)
	return d.err
}

// OpenExport opens a ready export's archive for download and records the
// download (who, when) as an event. A pending or failed export answers
// ECONFLICT, an expired one EGONE. The caller closes the file.
func (db *DB) OpenExport(ctx context.Context, id string, actor app.Actor) (Export, *os.File, error) {
	e, err := db.ExportByID(ctx, id)
	if err != nil {
		return e, nil, err
	}
	switch e.Status {
	case ExportPending:
		return e, nil, app.Errorf(app.ECONFLICT, "The export is still being prepared; try again in a moment.")
	case ExportFailed:
		return e, nil, app.Errorf(app.ECONFLICT, "The export failed: %s Request a new one.", e.Error)
	case ExportExpired:
		return e, nil, app.Errorf(app.EGONE, "This export expired and its archive was deleted; request a new one.")
	}
	f, err := os.Open(db.exportPath(id))
	if err != nil {
		return e, nil, fmt.Errorf("open export %s: %w", id, err)
	}
	err = db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE exports SET downloads = downloads + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, app.NewEvent(app.EventExportDownloaded, "client", e.ClientID, actor,
			map[string]any{"export_id": id}))
	})
	if err != nil {
		f.Close()
		return e, nil, err
	}
	e.Downloads++
	return e, f, nil
}

// EachEvent calls fn with every event matching f (its Before and Limit
// are ignored), oldest first, from one snapshot: the audit log export.
func (db *DB) EachEvent(ctx context.Context, f app.EventFilter, fn func(app.Event) error) error {
	where, args := []string{"id > ?"}, []any{""}
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
	tx, err := db.reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const page = 1000
	for {
		evs, err := queryAll(ctx, tx, scanEvent, `SELECT id, type, aggregate_type, aggregate_id, actor_type, actor_id,
			actor_name, occurred_at, payload FROM events WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`,
			append(args, page)...)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if len(evs) < page {
			return nil
		}
		args[0] = evs[len(evs)-1].ID
	}
}

// exportReadme is README.txt in every archive: what each file and field is.
const exportReadme = `Parley: everything held about one client
========================================

This archive answers a subject access request (GDPR article 15). Parley
made it for one client of one workspace at the time given in client.json
("generated_at"). It holds:

  README.txt     this description
  client.json    everything stored about the client, described below
  attachments/   the files sent or received in the client's conversation,
                 each named <attachment id>-<original file name>

client.json is one JSON object in UTF-8. Times are RFC 3339 in UTC; a time
that never happened is null. Ids are opaque strings; one id names one
thing everywhere in the file.

format           "parley.client-export.v1", the version of this layout
export_id        this archive's id
workspace_id     the workspace (the organisation using Parley) holding the data
generated_at     when the archive was made

client           the profile: id, first_name, middle_name, last_name,
                 gender, birth_date (YYYY-MM-DD), passport_number, tax_pin,
                 comments (free text written by the team), status (lead,
                 active, inactive, archived), owner (the team member
                 responsible: type, id, name; null if none), preferences
                 (language, timezone, currency, preferred_channel), tags,
                 custom_fields (fields the workspace defined, each with
                 key, label, type and the client's value), legal_hold (true
                 when the workspace must keep the data for a legal reason),
                 created_at, updated_at, last_activity_at, deleted_at (set
                 when the team deleted the profile and the data is still
                 held until it is purged)
merged_clients   earlier profiles merged into this one (duplicates), each
                 shaped like client; their contacts, notes, consents and
                 messages are listed below with this client's

contacts         how the client is reached: id, type (email, phone,
                 telegram, whatsapp, instagram, other), value, label,
                 verified, active (false once released by a deletion),
                 opted_out_at (when the client replied STOP on it),
                 created_at, updated_at
addresses        id, type (shipping, billing, business, other), label,
                 street, city, region, postal_code, country (ISO 3166
                 code), is_default, created_at, updated_at
notes            what the team wrote about the client: id, type (general,
                 sales, support, compliance), body, pinned, author (the
                 team member: type, id, name), created_at, updated_at

consents         each consent as it stands, per purpose and channel:
                 purpose (marketing, analytics, personalisation or one the
                 workspace defined), channel ("" means every channel),
                 state (not_requested, pending, granted, denied, revoked,
                 expired), source (how it was recorded: team, form,
                 portal, api, import, keyword, retention), expires_at,
                 updated_at
consent_history  every change of a consent, oldest first: id, purpose,
                 channel, from_state, to_state, source, actor (who recorded
                 it: type, id, name), note, expires_at, at

chats            the client's conversation: id, status (open, snoozed,
                 resolved), assignee_id (the team member working it),
                 message_count, created_at, last_message_at, merged_into
                 (set when a merged profile's conversation moved into this
                 client's)
messages         every line of those conversations, oldest first: id,
                 chat_id, kind (message, note, system), visibility
                 ("client": sent to or received from the client;
                 "internal": a note the team wrote for itself, never sent
                 to the client; "system": a line Parley wrote, such as an
                 assignment), direction (in: from the client; out: to the
                 client), transport (email, sms, whatsapp, telegram,
                 instagram, website, phone, internal), channel_id,
                 contact_value (the address it went to or came from),
                 sender (type, id, name, meta), subject, body, html (an
                 email's sanitised HTML part, if any), meta (provider
                 details such as a call's duration or an email's
                 Message-ID), mentions (team members a note mentions),
                 marketing (sent as marketing), template_id, status
                 (queued, sent, delivered, read, failed, received),
                 failure_reason, provider_message_id, created_at, sent_at,
                 delivered_at, read_at, redacted_at (set when a retention
                 policy blanked the message: its text and sender are then
                 empty) and attachments
  attachments    per message: id, filename, content_type, size (bytes),
                 sha256 (of the file's bytes), created_at, file (its path
                 in this archive; "" when the file is no longer held)

events           the workspace's audit trail about the client and their
                 conversation, oldest first: id, type (what happened, for
                 example ClientCreated, NoteAdded, MessageReceived,
                 ConsentChanged, ClientExportRequested), aggregate_type and
                 aggregate_id (the client or conversation it happened to),
                 actor (who did it: a team member "user", an "api_token",
                 Parley itself "system" or the operator "cli"; type, id,
                 name), occurred_at, payload (the details; their keys depend
                 on the type and may repeat values listed above as they were
                 at the time, including earlier versions of notes)
`
