package migrations_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// ledgerRows is everything 060 moves, as text, in a fixed order.
type ledgerRows struct {
	Lines, Postings, Balances []string
}

func readLedger(t *testing.T, database *sqlx.DB) ledgerRows {
	t.Helper()
	var rows ledgerRows
	require.NoError(t, database.Select(&rows.Lines, `
		SELECT concat_ws('|', import_id, account_id, revenue_source, transaction_id, transaction_type, market,
		                 transaction_at, amount, eligible_at, available_at)
		FROM earnings_lines ORDER BY transaction_id, revenue_source`))
	require.NoError(t, database.Select(&rows.Postings, `
		SELECT concat_ws('|', transaction_id, ledger_account, amount) FROM postings ORDER BY 1`))
	require.NoError(t, database.Select(&rows.Balances, `
		SELECT concat_ws('|', ledger_account, balance) FROM ledger_balances ORDER BY 1`))
	return rows
}

// 060 on a database with rows: lines in two months and journal entries in
// two months keep every row, key and balance, each in its month's partition,
// and the triggers hold on the partitioned tables. Rolled back, the rows
// return to 001's tables.
func TestPartitionsMigrationKeepsRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	database := dbtest.Open(t, url)
	_, err := migrations.UpTo(ctx, database.DB, 50)
	require.NoError(t, err)

	// One transaction: the journal's deferred check runs at its commit.
	tx, err := database.Beginx()
	require.NoError(t, err)
	defer tx.Rollback()
	for _, statement := range []string{
		`INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, created_at)
		 VALUES ('A1', 'P1', 'company', 'US', '2026-09-01'), ('A2', 'P2', 'individual', 'DE', '2026-09-01')`,
		`INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type, market,
		                             transaction_at, amount, eligible_at, available_at) VALUES
		 (1, 1, 'app', 't1', 'purchase', 'US', '2026-09-10', 10.5, '2026-10-10', '2026-10-10'),
		 (1, 2, 'in_app', 't2', 'purchase', 'DE', '2026-09-11', 4, '2026-10-11', '2026-10-12'),
		 (2, 1, 'app', 't3', 'refund', 'US', '2026-10-02', -1.25, '2026-11-01', '2026-11-05'),
		 (2, 2, 'in_app', 't1', 'adjustment', 'FR', '2026-10-20', 0.000001, '2026-11-19', '2026-11-19')`,
		`INSERT INTO ledger_transactions (id, kind, reference, posted_at) OVERRIDING SYSTEM VALUE
		 VALUES (1, 'earnings_import', 'import:1', '2026-10-12T08:00:00Z')`,
		`INSERT INTO postings VALUES (1, 'publisher:1:us', 10.5), (1, 'publisher:2:other', 4), (1, 'platform:earnings', -14.5)`,
		`INSERT INTO ledger_transactions (id, kind, reference, posted_at) OVERRIDING SYSTEM VALUE
		 VALUES (2, 'earnings_import', 'import:2', '2026-11-19T08:00:00Z')`,
		`INSERT INTO postings VALUES (2, 'publisher:1:us', -1.25), (2, 'publisher:2:other', 0.000001), (2, 'platform:earnings', 1.249999)`,
	} {
		_, err := tx.Exec(statement)
		require.NoError(t, err, statement)
	}
	require.NoError(t, tx.Commit())
	before := readLedger(t, database)
	require.Len(t, before.Lines, 4)
	require.Len(t, before.Postings, 6)
	require.Len(t, before.Balances, 3)

	// Up to 090: 100 moves writing the keys from the trigger to the import.
	_, err = migrations.UpTo(ctx, database.DB, 90)
	require.NoError(t, err)
	// New connections: statements prepared before the migration would see
	// result columns with another collation ("cached plan must not change
	// result type").
	database = dbtest.Open(t, url)
	require.Equal(t, before, readLedger(t, database), "060 changed a row or a balance")

	// Each row in its month's partition; every line has its key.
	var placed []string
	require.NoError(t, database.Select(&placed, `
		SELECT tableoid::regclass || ':' || transaction_id FROM earnings_lines
		UNION ALL SELECT tableoid::regclass || ':' || transaction_id FROM postings
		ORDER BY 1`))
	require.Equal(t, []string{
		"earnings_lines_202610:t1", "earnings_lines_202610:t2", "earnings_lines_202611:t1", "earnings_lines_202611:t3",
		"postings_202610:1", "postings_202610:1", "postings_202610:1",
		"postings_202611:2", "postings_202611:2", "postings_202611:2",
	}, placed)
	var keyless int
	require.NoError(t, database.Get(&keyless, `
		SELECT count(*) FROM earnings_lines e FULL JOIN earnings_keys k USING (transaction_id, revenue_source)
		WHERE e.available_at IS DISTINCT FROM k.available_at`))
	require.Zero(t, keyless, "earnings_keys disagrees with the lines")
	var misdated int
	require.NoError(t, database.Get(&misdated, `
		SELECT count(*) FROM postings p JOIN ledger_transactions t ON t.id = p.transaction_id WHERE p.posted_at <> t.posted_at`))
	require.Zero(t, misdated)

	// The guarantees of 001 on the new tables.
	for statement, want := range map[string]string{
		`UPDATE earnings_lines SET amount = 1`:                           "append-only",
		`DELETE FROM earnings_lines_202610`:                              "append-only",
		`TRUNCATE earnings_lines`:                                        "append-only",
		`TRUNCATE earnings_lines_202611`:                                 "append-only",
		`DELETE FROM earnings_keys`:                                      "append-only",
		`UPDATE postings SET amount = 0.5 WHERE transaction_id = 1`:      "append-only",
		`TRUNCATE postings_202610`:                                       "append-only",
		`INSERT INTO earnings_lines_202610 SELECT * FROM earnings_lines`: "through its parent table",
		`INSERT INTO earnings_lines SELECT import_id, account_id, revenue_source, transaction_id, transaction_type, market,
		        transaction_at, amount, eligible_at, available_at + interval '1 day' FROM earnings_lines WHERE transaction_id = 't2'`: "earnings_keys_pkey",
		`INSERT INTO earnings_lines VALUES (3, 1, 'app', 't9', 'purchase', 'US', '2026-10-01', 0, '2026-10-01', '2026-10-01')`:             "earnings_lines_check2",
		`INSERT INTO earnings_lines VALUES (3, 1, 'app', 't9', 'purchase', 'US', '2001-01-01', 1, '2001-01-01', '2001-01-01')`:             "no partition",
		`INSERT INTO postings (transaction_id, ledger_account, amount, posted_at) VALUES (2, 'publisher:1:us', 1, '2026-11-19T08:00:00Z')`: "does not balance",
	} {
		_, err := database.Exec(statement)
		require.ErrorContains(t, err, want, statement)
	}
	require.Equal(t, before, readLedger(t, database))

	// Down to 050: 001's tables with the same rows.
	_, err = migrations.DownTo(ctx, database.DB, 50)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	require.Equal(t, before, readLedger(t, database), "rolling 060 back changed a row or a balance")
	var partitioned bool
	require.NoError(t, database.Get(&partitioned, `SELECT relkind = 'p' FROM pg_class WHERE relname = 'earnings_lines'`))
	require.False(t, partitioned)
	_, err = database.Exec(`INSERT INTO earnings_lines SELECT * FROM earnings_lines WHERE transaction_id = 't2'`)
	require.ErrorContains(t, err, "earnings_lines_transaction_id_revenue_source_key")
}
