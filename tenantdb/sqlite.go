// Package tenantdb holds every database file of Parley: the control DB (tenant
// registry, placement, custom domains) and the per-tenant SQLite files with
// their manager, migrations and queries.
package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"parley/app"
)

// MinSQLiteVersion is the oldest SQLite Parley runs on: older releases carry
// the WAL-reset bug that can corrupt a database under concurrent checkpoints.
const MinSQLiteVersion = "3.51.3"

// defaultCacheKiB keeps each connection's page cache small so that a thousand
// open tenants fit in memory.
const defaultCacheKiB = 1024

// dsn builds a modernc.org/sqlite DSN with Parley's pragmas. The writer uses
// BEGIN IMMEDIATE so that a transaction takes the write lock up front and
// never fails half-way with SQLITE_BUSY on upgrade.
func dsn(path string, readOnly bool, cacheKiB int) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(wal)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "synchronous(normal)")
	q.Add("_pragma", "foreign_keys(on)")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
	q.Set("_time_format", "sqlite")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		// Deleted content is zeroed inside the pages a write touches anyway
		// (FAST costs CPU, no extra I/O), so a deleted note or retention-swept
		// message does not linger in the file's free space. Erasure goes
		// further and zeroes whole freed pages (overwriteDeletes).
		q.Add("_pragma", "secure_delete(fast)")
	}
	return "file:" + path + "?" + q.Encode()
}

// pools is a SQLite file opened as one writer connection and a small read pool.
type pools struct {
	write *sql.DB
	read  *sql.DB
}

func openPools(ctx context.Context, path string, readConns, cacheKiB int) (*pools, error) {
	w, err := sql.Open("sqlite", dsn(path, false, cacheKiB))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	// Touch the writer first: it creates the file and switches it to WAL
	// before any read-only connection looks at it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true, cacheKiB))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxIdleTime(2 * time.Minute)
	return &pools{write: w, read: r}, nil
}

func (p *pools) close() error {
	return errors.Join(p.read.Close(), p.write.Close())
}

// update runs fn in a write transaction and commits it if fn returns nil.
func (p *pools) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := p.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CheckSQLiteVersion returns an error when the linked SQLite is older than MinSQLiteVersion.
func CheckSQLiteVersion(ctx context.Context) (string, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "", err
	}
	if compareVersions(v, MinSQLiteVersion) < 0 {
		return v, fmt.Errorf("SQLite %s is linked but Parley needs %s or later", v, MinSQLiteVersion)
	}
	return v, nil
}

// compareVersions compares dotted numeric versions: -1, 0 or 1.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// newID returns a new opaque, time-sortable id.
func newID() string { return ulid.Make().String() }

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// notFound turns sql.ErrNoRows into an ENOTFOUND error with msg.
func notFound(err error, msg string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return app.Errorf(app.ENOTFOUND, "%s", msg)
	}
	return err
}

// nullTime converts a sql.NullTime into a *time.Time.
func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// querier is what both a pool (*sql.DB) and a transaction (*sql.Tx) offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queryAll runs query on db (a pool or a transaction) and scans every row with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
