package ledger_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// The zero sum and append-only rules hold in the database itself, whatever
// code writes to it: these statements bypass package ledger on purpose.
func TestDatabaseEnforcesTheJournalRules(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	exec := func(statements ...string) error {
		tx, err := database.Beginx()
		require.NoError(t, err)
		defer tx.Rollback()
		for _, statement := range statements {
			if _, err := tx.Exec(statement); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	require.NoError(t, exec(`SELECT payrun_ensure_partitions('2026-11-01', '2026-11-01')`))
	newTx := `INSERT INTO ledger_transactions (id, kind, reference, posted_at) OVERRIDING SYSTEM VALUE VALUES (100, 'test', 'r', '2026-11-23T12:00:00Z')`
	const columns = `INSERT INTO postings (transaction_id, ledger_account, amount, posted_at) VALUES `

	require.ErrorContains(t, exec(newTx,
		columns+`(100, 'publisher:1:us', 10, '2026-11-23T12:00:00Z'), (100, 'platform:earnings', -9.99, '2026-11-23T12:00:00Z')`),
		"does not balance")
	require.ErrorContains(t, exec(newTx,
		columns+`(100, 'publisher:1:us', 10, '2026-11-23T12:00:00Z')`,
		columns+`(100, 'platform:earnings', -10, '2026-11-23T12:00:00Z')`),
		"does not balance", "each statement must leave the transaction balanced")
	require.ErrorContains(t, exec(newTx), "fewer than two postings")
	// A posting dated otherwise than its transaction would sit in another
	// month's partition.
	require.ErrorContains(t, exec(newTx,
		columns+`(100, 'publisher:1:us', 10, '2026-11-23T12:00:00Z'), (100, 'platform:earnings', -10, '2026-11-24T12:00:00Z')`),
		"has posted_at")
	// The partitions refuse writes that bypass the parent's triggers.
	require.ErrorContains(t, exec(newTx,
		`INSERT INTO postings_202611 (transaction_id, ledger_account, amount, posted_at) VALUES (100, 'publisher:1:us', 10, '2026-11-23T12:00:00Z'), (100, 'platform:earnings', -9, '2026-11-23T12:00:00Z')`),
		"through its parent table")
	require.NoError(t, exec(newTx, columns+`(100, 'publisher:1:us', 10, '2026-11-23T12:00:00Z'), (100, 'platform:earnings', -10, '2026-11-23T12:00:00Z')`))

	for _, statement := range []string{
		`UPDATE postings SET amount = 11 WHERE ledger_account = 'publisher:1:us'`,
		`DELETE FROM postings`,
		`TRUNCATE postings CASCADE`,
		`TRUNCATE postings_202611`,
		`DELETE FROM postings_202611`,
		`UPDATE ledger_transactions SET reference = 'x'`,
		`DELETE FROM ledger_transactions`,
		`UPDATE ledger_balances SET balance = 0`,
		`INSERT INTO ledger_balances VALUES ('publisher:9:us', 5)`,
	} {
		require.ErrorContains(t, exec(statement), "payrun:", statement)
	}

	var balance decimal.Decimal
	require.NoError(t, database.Get(&balance, `SELECT balance FROM ledger_balances WHERE ledger_account = 'publisher:1:us'`))
	require.True(t, balance.Equal(decimal.NewFromInt(10)))

	// Post refuses an unbalanced entry before the database sees it.
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			_, err := ledger.Post(ctx, tx, ledger.Transaction{Kind: "test", Reference: "u", PostedAt: now, Postings: []ledger.Posting{
				{LedgerAccount: "publisher:1:us", Amount: decimal.NewFromInt(1)},
				{LedgerAccount: ledger.PlatformEarnings, Amount: decimal.NewFromInt(-2)},
			}})
			return err
		})
	})
	require.ErrorIs(t, err, ledger.ErrUnbalanced)
}

func TestEarningsLinesAreAppendOnly(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	_, err := ledger.Import(context.Background(), database, fromString(header+"t1,A1,app,purchase,US,2026-10-01T10:00:00Z,10\n"), options())
	require.NoError(t, err)
	_, err = database.Exec(`UPDATE earnings_lines SET amount = 1`)
	require.ErrorContains(t, err, "append-only")
	_, err = database.Exec(`DELETE FROM earnings_lines`)
	require.ErrorContains(t, err, "append-only")
	_, err = database.Exec(`UPDATE accounts SET seller_id = 'B1'`)
	require.ErrorContains(t, err, "immutable")
}

func TestCreateAccountAssignsIDs(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	first, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{Type: ledger.Company, RegistrationCountry: "GB", DisplayName: "Contoso"}, now)
	require.NoError(t, err)
	second, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{Type: ledger.Individual, RegistrationCountry: "US"}, now)
	require.NoError(t, err)
	require.Regexp(t, `^S\d{9}$`, first.SellerID)
	require.NotEqual(t, first.SellerID, second.SellerID)
	require.NotEqual(t, first.PublisherID, second.PublisherID)

	_, err = ledger.CreateAccount(ctx, database, ledger.NewAccount{SellerID: first.SellerID, Type: ledger.Company, RegistrationCountry: "GB"}, now)
	require.ErrorIs(t, err, ledger.ErrAccountExists)
	for field, account := range map[string]ledger.NewAccount{
		"account_type":         {Type: "shop", RegistrationCountry: "GB"},
		"registration_country": {Type: ledger.Company, RegistrationCountry: "UK"},
		"seller_id":            {SellerID: "bad id!", Type: ledger.Company, RegistrationCountry: "GB"},
	} {
		_, err := ledger.CreateAccount(ctx, database, account, now)
		var fieldErr *fielderr.Error
		require.ErrorAs(t, err, &fieldErr)
		require.Equal(t, field, fieldErr.Path)
	}
	found, err := ledger.AccountBySellerID(ctx, database, first.SellerID)
	require.NoError(t, err)
	require.Equal(t, first.PublisherID, found.PublisherID)
	_, err = ledger.AccountBySellerID(ctx, database, "nobody")
	require.ErrorIs(t, err, ledger.ErrUnknownSeller)
}
