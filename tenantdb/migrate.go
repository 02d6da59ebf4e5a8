package tenantdb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migrate applies, in name order, every embedded migration under dir that the
// database has not recorded yet, each in its own transaction. It returns the
// names it applied.
func migrate(ctx context.Context, p *pools, dir string, now time.Time) ([]string, error) {
	if _, err := p.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY,
		applied_at DATETIME NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/"+dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		ok, err := applyMigration(ctx, p, name, now)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", name, err)
		}
		if ok {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

func applyMigration(ctx context.Context, p *pools, name string, now time.Time) (applied bool, err error) {
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return false, err
	}
	err = p.update(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, now.UTC())
		applied = err == nil
		return err
	})
	return applied, err
}
