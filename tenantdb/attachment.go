package tenantdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"parley/app"
)

const attachmentColumns = `id, message_id, filename, content_type, size, sha256`

func scanAttachment(row rowScanner) (app.Attachment, error) {
	var a app.Attachment
	err := row.Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256)
	return a, err
}

// FilesDir is where the tenant's attachments live: a directory next to its
// database file, one file per attachment named by its id.
func (db *DB) FilesDir() string { return strings.TrimSuffix(db.path, ".db") + ".files" }

// storedFile is an upload written to disk, waiting for its row.
type storedFile struct {
	app.Attachment
	path string
}

// storeFiles writes uploads to the tenant's files directory (synced, so a
// committed row never points at a file lost in a crash). The caller removes
// them if the transaction that records them fails.
func (db *DB) storeFiles(uploads []app.Upload) ([]storedFile, error) {
	if len(uploads) == 0 {
		return nil, nil
	}
	dir := db.FilesDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("files directory: %w", err)
	}
	var out []storedFile
	for _, u := range uploads {
		sum := sha256.Sum256(u.Data)
		f := storedFile{Attachment: app.Attachment{ID: newID(), Filename: u.Filename, ContentType: u.ContentType,
			Size: int64(len(u.Data)), SHA256: hex.EncodeToString(sum[:])}}
		f.path = filepath.Join(dir, f.ID)
		if err := writeSynced(f.path, u.Data); err != nil {
			removeFiles(out)
			return nil, fmt.Errorf("store attachment: %w", err)
		}
		out = append(out, f)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	for _, f := range out {
		db.replicateFiles(f.ID)
	}
	return out, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func removeFiles(files []storedFile) {
	for _, f := range files {
		os.Remove(f.path)
	}
}

func insertAttachments(ctx context.Context, tx *sql.Tx, messageID string, files []storedFile, now time.Time) error {
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (id, message_id, filename, content_type, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, f.ID, messageID, f.Filename, f.ContentType, f.Size, f.SHA256, now); err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
	}
	return nil
}

// AttachmentByID returns an attachment of a chat scope may see and the path
// of its bytes.
func (db *DB) AttachmentByID(ctx context.Context, id string, scope app.ChatScope) (app.Attachment, string, error) {
	a, err := scanAttachment(db.reader().QueryRowContext(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ?`, id))
	if err != nil {
		return a, "", notFound(err, "File not found.")
	}
	if _, err := db.MessageByID(ctx, a.MessageID, scope); err != nil {
		return app.Attachment{}, "", app.Errorf(app.ENOTFOUND, "File not found.")
	}
	return a, filepath.Join(db.FilesDir(), filepath.Base(a.ID)), nil
}

// ReadAttachment returns an attachment's bytes (for a provider sending it).
func (db *DB) ReadAttachment(a app.Attachment) ([]byte, error) {
	return os.ReadFile(filepath.Join(db.FilesDir(), filepath.Base(a.ID)))
}
