package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// 080 sums the lines already imported into earnings_totals; 090 replaces the
// row-level foreign keys of payouts, cycle_inputs and postings with statement
// checks that refuse the same rows, and stops accounts and cycles from being
// deleted; 210 does the same for the payments' payouts rows. Rolled back,
// the foreign keys return.
func TestTotalsAndStatementReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	database := dbtest.Open(t, url)
	_, err := migrations.UpTo(ctx, database.DB, 70)
	require.NoError(t, err)
	for _, statement := range []string{
		`INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, created_at)
		 VALUES ('A1', 'P1', 'company', 'US', '2026-09-01'), ('A2', 'P2', 'individual', 'DE', '2026-09-01')`,
		`SELECT payrun_ensure_partitions('2026-10-01', '2026-11-01')`,
		`INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type, market,
		                             transaction_at, amount, eligible_at, available_at) VALUES
		 (1, 1, 'app', 't1', 'purchase', 'US', '2026-09-10', 10.5, '2026-10-10', '2026-10-10'),
		 (1, 1, 'app', 't2', 'purchase', 'US', '2026-09-11', 0.25, '2026-10-11', '2026-10-31T23:59:59.999999Z'),
		 (1, 2, 'in_app', 't2', 'purchase', 'DE', '2026-09-11', 4, '2026-10-11', '2026-10-12'),
		 (2, 1, 'app', 't3', 'refund', 'US', '2026-10-02', -1.25, '2026-11-01', '2026-11-01')`,
	} {
		_, err := database.Exec(statement)
		require.NoError(t, err, statement)
	}

	_, err = migrations.Up(ctx, database.DB)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	var totals []string
	require.NoError(t, database.Select(&totals, `
		SELECT concat_ws('|', to_char(month AT TIME ZONE 'UTC', 'YYYY-MM'), account_id, us_sourced, import_id, amount, lines)
		FROM earnings_totals ORDER BY month, account_id, us_sourced, import_id`))
	require.Equal(t, []string{"2026-10|1|t|1|10.750000|2", "2026-10|2|f|1|4.000000|1", "2026-11|1|t|2|-1.250000|1"}, totals)
	require.NoError(t, ledger.VerifyTotals(ctx, database))

	for _, statement := range []string{
		`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES ('2026-11-01', 'closing', '2026-11-01T00:00:00Z', '2026-11-16', '{}', 'test')`,
		`INSERT INTO payout_accounts (account_id, method, currency, holder_name, paypal_email, created_at, created_by)
		 VALUES (1, 'paypal', 'USD', 'A One', 'a1@example.com', '2026-10-01', 'test')`,
	} {
		_, err := database.Exec(statement)
		require.NoError(t, err, statement)
	}
	payout := `INSERT INTO payouts (month, account_id, status, reasons, opening_us, opening_other, new_us, new_other,
		balance_us, balance_other, carried_us, carried_other, payout_account_id) VALUES `
	input := `INSERT INTO cycle_inputs (month, shard, account_id, seller_id, opening_us, opening_other, new_us, new_other,
		account_status, hold_on, agreement_hold, method, currency, bank_country, payout_account_status, tin_match_failed, changes) VALUES `
	refused := map[string]string{
		payout + `('2026-11-01', 1, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, 1), ('2026-11-01', 9, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, NULL)`:                                                       "payouts row (2026-11-01, 9) refers to account 9 that does not exist",
		payout + `('2026-12-01', 1, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, NULL)`:                                                                                                                   "refers to cycle 2026-12-01 that does not exist",
		payout + `('2026-11-01', 2, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, 77)`:                                                                                                                     "refers to payout account 77 that does not exist",
		input + `('2026-11-01', 0, 5, 'A5', 0, 0, 1, 0, 'verified', false, false, '', '', '', '', false, '[]')`:                                                                                    "cycle_inputs row (2026-11-01, 5) refers to account 5 that does not exist",
		input + `('2027-01-01', 0, 1, 'A1', 0, 0, 1, 0, 'verified', false, false, '', '', '', '', false, '[]')`:                                                                                    "refers to cycle 2027-01-01 that does not exist",
		`INSERT INTO postings (transaction_id, ledger_account, amount, posted_at) VALUES (42, 'publisher:1:us', 1, '2026-11-19T08:00:00Z'), (42, 'platform:earnings', -1, '2026-11-19T08:00:00Z')`: "a posting refers to ledger transaction 42, which does not exist",
		`DELETE FROM accounts WHERE id = 2`:      "rows of accounts are never deleted",
		`TRUNCATE accounts CASCADE`:              "rows of accounts are never deleted",
		`DELETE FROM cycles`:                     "rows of cycles are never deleted",
		`UPDATE ledger_balances SET balance = 0`: "ledger_balances changes only through postings",
		`INSERT INTO ledger_balances VALUES ('publisher:1:us', 1) ON CONFLICT DO NOTHING`: "ledger_balances changes only through postings",
		`TRUNCATE ledger_balances`: "ledger_balances changes only through postings",
	}
	for statement, want := range refused {
		_, err := database.Exec(statement)
		require.ErrorContains(t, err, want, statement)
	}
	var payouts, inputs int
	require.NoError(t, database.Get(&payouts, `SELECT count(*) FROM payouts`))
	require.NoError(t, database.Get(&inputs, `SELECT count(*) FROM cycle_inputs`))
	require.Zero(t, payouts+inputs, "a refused statement left rows")
	_, err = database.Exec(payout + `('2026-11-01', 1, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, 1), ('2026-11-01', 2, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, NULL)`)
	require.NoError(t, err, "rows whose references exist")

	// 210: a payment's payouts row is checked per statement, and payouts
	// refuses TRUNCATE.
	payment := `INSERT INTO payments (month, account_id, payment_id, file, method, rail, amount_usd, currency, fx_rate, amount_in_currency) VALUES `
	_, err = database.Exec(payment + `('2026-11-01', 1, 'PAY-1', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1), ('2026-11-01', 3, 'PAY-3', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1)`)
	require.ErrorContains(t, err, "payment PAY-3 refers to payouts row (2026-11-01, 3) that does not exist")
	_, err = database.Exec(payment + `('2026-10-01', 1, 'PAY-1', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1)`)
	require.ErrorContains(t, err, "payment PAY-1 refers to payouts row (2026-10-01, 1)", "same account, another month")
	_, err = database.Exec(payment + `('2026-11-01', 1, 'PAY-1', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1)`)
	require.NoError(t, err, "a payment whose payouts row exists")
	var payments int
	require.NoError(t, database.Get(&payments, `SELECT count(*) FROM payments`))
	require.Equal(t, 1, payments, "a refused statement left rows")
	_, err = database.Exec(`TRUNCATE payouts CASCADE`)
	require.ErrorContains(t, err, "payouts is append-only: TRUNCATE refused")

	// Down to 070: the foreign keys are back and hold.
	_, err = migrations.DownTo(ctx, database.DB, 70)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	_, err = database.Exec(payout + `('2026-11-01', 9, 'held', '{}', 0, 0, 1, 0, 1, 0, 1, 0, NULL)`)
	require.ErrorContains(t, err, "payouts_account_id_fkey")
	_, err = database.Exec(`DELETE FROM accounts WHERE id = 2`)
	require.ErrorContains(t, err, "payouts_account_id_fkey", "070's key protects the payout's account")
	_, err = database.Exec(`INSERT INTO payments (month, account_id, payment_id, file, method, rail, amount_usd, currency, fx_rate, amount_in_currency)
		VALUES ('2026-11-01', 2, 'PAY-2', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1), ('2026-12-01', 1, 'PAY-9', 'f', 'paypal', 'paypal', 1, 'USD', 1, 1)`)
	require.ErrorContains(t, err, "payments_month_account_id_fkey", "003's key on payments is back")
}
