package tenantdb

import (
	"context"
	"database/sql"
	"time"
)

// DB is a handle to one tenant's SQLite file. Every query of tenant data
// takes one, so no query can run without naming its tenant.
type DB struct {
	TenantID string
	path     string
	p        *pools
	now      func() time.Time
	// Applied lists the migrations applied when this handle was opened.
	Applied []string
	// committed is called after every committed write (the manager's
	// commit hooks: live updates read the new events).
	committed func(tenantID string)
	// sealer encrypts channel credentials; nil refuses to store any.
	sealer *Sealer
	// allowBaseURL honours channels' api_base_url (ManagerConfig).
	allowBaseURL bool
	// files ships the files written to and removed from FilesDir to the
	// replica; nil when nothing is replicated.
	files *fileReplication
}

// Now returns the current time in UTC from the injected clock.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Path returns the tenant file's path on disk.
func (db *DB) Path() string { return db.path }

// update runs fn in a write transaction on the tenant's single writer.
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.p.update(ctx, fn); err != nil {
		return err
	}
	if db.committed != nil {
		db.committed(db.TenantID)
	}
	return nil
}

// reader returns the tenant's read-only pool.
func (db *DB) reader() *sql.DB { return db.p.read }
