package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/config"
	"github.com/payrun/payrun/internal/db"
)

// Warm leaves the pool holding its idle connections, open and unused. It
// only connects, so it runs against the configured server's database (the
// harness that creates databases, testsupport/dbtest, sits above internal/).
func TestWarmOpensTheIdleConnections(t *testing.T) {
	t.Parallel()
	url := config.DatabaseURL()
	if url == "" {
		t.Fatal("no test database: run `make db` (starts a private Postgres under .data/) or set DATABASE_URL, then run the tests again (`make test` does both)")
	}
	database, err := db.Open(context.Background(), url)
	require.NoError(t, err)
	defer database.Close()
	require.Equal(t, 1, database.Stats().OpenConnections, "Open pings with one connection")
	require.NoError(t, db.Warm(context.Background(), database))
	stats := database.Stats()
	require.Equal(t, db.IdleConnections, stats.OpenConnections)
	require.Equal(t, db.IdleConnections, stats.Idle)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, db.Warm(cancelled, database), context.Canceled)
}
