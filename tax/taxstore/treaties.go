package taxstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrun/payrun/tax"
)

// LoadTreatyTable validates a treaty table (tax.ParseTreatyTable) and stores
// it as a new version; it applies to every cycle whose close is scheduled
// after loadedAt (see TreatyTableAt). Loading the same bytes again changes
// nothing and returns the same version. Errors: *tax.TreatyTableError.
func LoadTreatyTable(ctx context.Context, database *sqlx.DB, body []byte, sourceName, actor string, loadedAt time.Time) (version string, created bool, err error) {
	table, err := tax.ParseTreatyTable(bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	result, err := database.ExecContext(ctx, `
		INSERT INTO treaty_tables (sha256, body, source_name, loaded_at, loaded_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sha256) DO NOTHING`, table.Version(), string(body), sourceName, loadedAt.UTC(), actor)
	if err != nil {
		return "", false, err
	}
	n, err := result.RowsAffected()
	return table.Version(), n == 1, err
}

// TreatyTableAt returns the treaty table in effect at an instant: the newest
// loaded strictly before it, or the table embedded in this release when ops
// loaded none. A cycle asks for the table at its scheduled close time, so a
// close that runs late (catch-up) uses the same table as an on-time one.
func TreatyTableAt(ctx context.Context, database sqlx.QueryerContext, at time.Time) (*tax.TreatyTable, error) {
	var body string
	err := sqlx.GetContext(ctx, database, &body, `
		SELECT body FROM treaty_tables WHERE loaded_at < $1 ORDER BY loaded_at DESC, id DESC LIMIT 1`, at.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return tax.DefaultTreatyTable(), nil
	}
	if err != nil {
		return nil, err
	}
	return tax.ParseTreatyTable(bytes.NewReader([]byte(body)))
}

// TreatyTableByVersion returns a stored or the embedded table by its sha256.
func TreatyTableByVersion(ctx context.Context, database sqlx.QueryerContext, version string) (*tax.TreatyTable, error) {
	if version == tax.DefaultTreatyTable().Version() {
		return tax.DefaultTreatyTable(), nil
	}
	var body string
	if err := sqlx.GetContext(ctx, database, &body, `SELECT body FROM treaty_tables WHERE sha256 = $1`, version); err != nil {
		return nil, err
	}
	return tax.ParseTreatyTable(bytes.NewReader([]byte(body)))
}
