// Package dbtest gives every database test its own freshly migrated Postgres
// database, cloned from a template migrated once per schema version
// (pgtestdb), so tests run in parallel and never see each other's rows.
//
// The server is the one `make db` started (its URL is in .data/database_url)
// or DATABASE_URL. Without either, a test fails — it never skips — and says
// how to get one.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/peterldowns/pgtestdb"

	"github.com/payrun/payrun/internal/config"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/migrations"
)

// HowToGetOne is the advice printed when no database is configured.
const HowToGetOne = "no test database: run `make db` (starts a private Postgres under .data/) or set DATABASE_URL, then run the tests again (`make test` does both)"

// URL returns the server URL the tests use, failing the test when none is
// configured.
func URL(t testing.TB) string {
	t.Helper()
	serverURL := config.DatabaseURL()
	if serverURL == "" {
		t.Fatal(HowToGetOne)
	}
	return serverURL
}

// New returns a connection to a new, migrated, empty database that is
// dropped when the test passes.
func New(t testing.TB) *sqlx.DB {
	t.Helper()
	return Open(t, NewURL(t))
}

// NewURL creates a new migrated database and returns its URL (for tests
// that run the payrun binary against it).
func NewURL(t testing.TB) string {
	t.Helper()
	conf := serverConfig(t, URL(t))
	instance := pgtestdb.Custom(t, conf, migrator{})
	return instance.URL()
}

// EmptyURL creates a new database with no schema at all and returns its URL
// (for tests of the migrations themselves).
func EmptyURL(t testing.TB) string {
	t.Helper()
	conf := serverConfig(t, URL(t))
	return pgtestdb.Custom(t, conf, pgtestdb.NoopMigrator{}).URL()
}

// Open connects to databaseURL with payrun's own connection settings and
// closes the connection at the end of the test.
func Open(t testing.TB, databaseURL string) *sqlx.DB {
	t.Helper()
	database, err := db.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { database.Close() })
	return database
}

func serverConfig(t testing.TB, serverURL string) pgtestdb.Config {
	t.Helper()
	parsed, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	password, _ := parsed.User.Password()
	options := parsed.Query()
	if options.Get("sslmode") == "" {
		options.Set("sslmode", "disable")
	}
	return pgtestdb.Config{
		DriverName: db.DriverName,
		Host:       parsed.Hostname(),
		Port:       parsed.Port(),
		User:       parsed.User.Username(),
		Password:   password,
		Database:   trimSlash(parsed.Path),
		Options:    options.Encode(),
	}
}

func trimSlash(path string) string {
	if len(path) > 0 && path[0] == '/' {
		return path[1:]
	}
	return path
}

// migrator migrates pgtestdb's template with payrun's embedded migrations
// and then River's (package jobs), as `payrun migrate` does.
type migrator struct{}

// Hash keys the template by both schemas, so a new payrun migration or a
// River upgrade rebuilds it.
func (migrator) Hash() (string, error) {
	payrun, err := migrations.Hash()
	if err != nil {
		return "", err
	}
	river, err := jobs.RiverSchemaHash()
	if err != nil {
		return "", err
	}
	return payrun + "+river:" + river, nil
}

func (migrator) Migrate(ctx context.Context, database *sql.DB, conf pgtestdb.Config) error {
	if _, err := migrations.Up(ctx, database); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	// River's driver wants a pgx pool: open a small one on the template.
	pool, err := jobs.OpenPool(ctx, conf.URL())
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	defer pool.Close()
	if _, err := jobs.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	return nil
}
