package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNotInstalled is InstalledAt's error on a database whose schema predates
// migration 140 (or has none): `payrun migrate` has not run there.
var ErrNotInstalled = errors.New("the database has no installation instant: run `payrun migrate`")

// InstalledAt returns the instant the database became payrun's (migration
// 140_installation.sql): during the `payrun migrate` that created the schema,
// or, for a database older than that migration, when it ran. No scheduled
// job is caught up for an occurrence at or before it.
func InstalledAt(ctx context.Context, db *sql.DB) (time.Time, error) {
	var installed time.Time
	err := db.QueryRowContext(ctx, `SELECT installed_at FROM installation`).Scan(&installed)
	if err != nil {
		var exists bool
		if checkErr := db.QueryRowContext(ctx, `SELECT to_regclass('installation') IS NOT NULL`).Scan(&exists); checkErr == nil && !exists {
			return time.Time{}, ErrNotInstalled
		}
		if errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, ErrNotInstalled
		}
		return time.Time{}, fmt.Errorf("installation instant: %w", err)
	}
	return installed.UTC(), nil
}
