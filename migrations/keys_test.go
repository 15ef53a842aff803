package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// 100 hands writing earnings_keys from the lines' trigger to the import,
// drops the BRIN index and checks the market by bytes. The keys written
// before stay; the market check refuses what the regular expression refused;
// rolled back, the trigger writes the keys again.
func TestImportWritesKeysMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	database := dbtest.Open(t, url)
	_, err := migrations.UpTo(ctx, database.DB, 90)
	require.NoError(t, err)
	insertLine := func(transactionID, market string) error {
		_, err := database.Exec(`INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type,
		                             market, transaction_at, amount, eligible_at, available_at)
		                         VALUES (1, 1, 'app', $1, 'purchase', $2, '2026-10-01', 1, '2026-10-10', '2026-10-10')`, transactionID, market)
		return err
	}
	_, err = database.Exec(`SELECT payrun_ensure_partitions('2026-10-01', '2026-10-01')`)
	require.NoError(t, err)
	require.NoError(t, insertLine("t1", "US"))
	require.NoError(t, ledger.VerifyKeys(ctx, database), "090's trigger wrote t1's key")

	_, err = migrations.Up(ctx, database.DB)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	require.NoError(t, ledger.VerifyKeys(ctx, database), "100 kept the keys")
	for _, market := range []string{"us", "U1", "USA", "U", "ÜS"} {
		require.ErrorContains(t, insertLine("bad", market), "earnings_lines_market_check", "market %q", market)
	}
	var brin int
	require.NoError(t, database.Get(&brin, `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'earnings_lines%' AND indexdef LIKE '%USING brin%'`))
	require.Zero(t, brin)

	// The trigger is gone: a line written without the import has no key,
	// and VerifyKeys names it.
	require.NoError(t, insertLine("t2", "DE"))
	err = ledger.VerifyKeys(ctx, database)
	require.ErrorIs(t, err, ledger.ErrKeysDrift)
	require.ErrorContains(t, err, "app t2: its line has no key")

	_, err = migrations.DownTo(ctx, database.DB, 90)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	require.NoError(t, insertLine("t3", "FR"))
	var keys []string
	require.NoError(t, database.Select(&keys, `SELECT transaction_id FROM earnings_keys ORDER BY 1`))
	require.Equal(t, []string{"t1", "t3"}, keys, "rolled back, the trigger writes the keys again")
	require.ErrorContains(t, insertLine("bad", "us"), "earnings_lines_market_check")
}
