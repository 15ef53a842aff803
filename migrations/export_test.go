package migrations

import (
	"context"
	"database/sql"
	"fmt"
)

// UpTo applies the migrations up to and including version, for tests of a
// migration on rows written in the schema before it.
func UpTo(ctx context.Context, db *sql.DB, version int64) (int, error) {
	provider, err := newProvider(db)
	if err != nil {
		return 0, err
	}
	results, err := provider.UpTo(ctx, version)
	if err != nil {
		return len(results), fmt.Errorf("migrate up to %d: %w", version, err)
	}
	return len(results), nil
}

// DownTo rolls back the migrations after version.
func DownTo(ctx context.Context, db *sql.DB, version int64) (int, error) {
	provider, err := newProvider(db)
	if err != nil {
		return 0, err
	}
	results, err := provider.DownTo(ctx, version)
	if err != nil {
		return len(results), fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return len(results), nil
}
