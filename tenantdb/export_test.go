package tenantdb

import (
	"context"
	"database/sql"
)

// ExecForTest runs a raw statement on a tenant's writer, for tests that
// check the schema's own guards.
func ExecForTest(db *DB, stmt string) error {
	return db.update(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(stmt)
		return err
	})
}

// WriterPragmaForTest reads a pragma on a tenant's writer connection.
func WriterPragmaForTest(db *DB, name string) (int, error) {
	var v int
	err := db.update(context.Background(), func(tx *sql.Tx) error {
		return tx.QueryRow(`PRAGMA ` + name).Scan(&v)
	})
	return v, err
}

// CountForTest runs a count query on a tenant's reader.
func CountForTest(db *DB, query string, args ...any) (int, error) {
	var n int
	err := db.reader().QueryRow(query, args...).Scan(&n)
	return n, err
}
