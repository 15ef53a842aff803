package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func options() ledger.ImportOptions {
	return ledger.ImportOptions{SourceName: "test.csv", HoldingPeriod: 30 * 24 * time.Hour, Clock: func() time.Time { return now }}
}

func fromString(text string) ledger.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil }
}

// createAccounts adds publishers A1..An (individuals in DE) and returns their ids.
func createAccounts(t *testing.T, database *sqlx.DB, sellers ...string) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, seller := range sellers {
		account, err := ledger.CreateAccount(context.Background(), database, ledger.NewAccount{
			SellerID: seller, Type: ledger.Individual, RegistrationCountry: "DE",
		}, now)
		require.NoError(t, err)
		ids[seller] = account.ID
	}
	return ids
}

// snapshot is everything an import may change, to prove a refused one changed nothing.
type snapshot struct {
	Lines, Imports, Transactions, Postings, Totals, Keys int64
	Balances                                             map[string]string
}

func takeSnapshot(t *testing.T, database *sqlx.DB) snapshot {
	t.Helper()
	var s snapshot
	require.NoError(t, database.QueryRow(`SELECT
		(SELECT count(*) FROM earnings_lines), (SELECT count(*) FROM earnings_imports),
		(SELECT count(*) FROM ledger_transactions), (SELECT count(*) FROM postings),
		(SELECT count(*) FROM earnings_totals), (SELECT count(*) FROM earnings_keys)`).
		Scan(&s.Lines, &s.Imports, &s.Transactions, &s.Postings, &s.Totals, &s.Keys))
	s.Balances = map[string]string{}
	rows, err := database.Query(`SELECT ledger_account, balance::text FROM ledger_balances`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var account, balance string
		require.NoError(t, rows.Scan(&account, &balance))
		s.Balances[account] = balance
	}
	return s
}

// checkLedger verifies the ledger's invariants against the lines themselves:
// every transaction sums to zero, each publisher's two balances equal the sum
// of its lines, platform:earnings is minus the total, and earnings_totals
// sums the lines by month, account, part and import.
func checkLedger(t *testing.T, database *sqlx.DB) {
	t.Helper()
	require.NoError(t, ledger.VerifyTotals(context.Background(), database))
	require.NoError(t, ledger.VerifyKeys(context.Background(), database))
	var unbalanced int
	require.NoError(t, database.Get(&unbalanced, `SELECT count(*) FROM (SELECT transaction_id FROM postings GROUP BY 1 HAVING sum(amount) <> 0) x`))
	require.Zero(t, unbalanced, "unbalanced ledger transactions")
	var mismatches int
	require.NoError(t, database.Get(&mismatches, `
		WITH expected AS (
			SELECT 'publisher:' || account_id || ':' || CASE WHEN market = 'US' THEN 'us' ELSE 'other' END AS ledger_account,
			       sum(amount) AS balance
			FROM earnings_lines GROUP BY 1
			UNION ALL SELECT 'platform:earnings', -coalesce(sum(amount), 0) FROM earnings_lines
		)
		SELECT count(*) FROM expected e FULL JOIN ledger_balances b USING (ledger_account)
		WHERE coalesce(e.balance, 0) <> coalesce(b.balance, 0)`))
	require.Zero(t, mismatches, "ledger_balances disagree with the earnings lines")
	var fromPostings int
	require.NoError(t, database.Get(&fromPostings, `
		SELECT count(*) FROM (SELECT ledger_account, sum(amount) s FROM postings GROUP BY 1) p
		FULL JOIN ledger_balances b USING (ledger_account) WHERE coalesce(p.s, 0) <> coalesce(b.balance, 0)`))
	require.Zero(t, fromPostings, "ledger_balances disagree with the postings")
}

const header = "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount\n"

func TestImportCreditsBalancesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	ids := createAccounts(t, database, "A1", "A2")
	file := header +
		"t1,A1,app,purchase,US,2026-10-01T10:00:00Z,10.123456\n" +
		"t2,A1,app,purchase,DE,2026-10-02T10:00:00Z,5.5\n" +
		"t3,A1,in_app,refund,US,2026-10-03T10:00:00Z,-0.123456\n" +
		"t4,A2,subscription,purchase,JP,2026-10-04T10:00:00Z,7\n" +
		"t1,A2,in_app,purchase,US,2026-10-05T10:00:00Z,1\n" // same id, other source: a different line

	result, err := ledger.Import(ctx, database, fromString(file), options())
	require.NoError(t, err)
	require.Equal(t, int64(5), result.Imported)
	require.Zero(t, result.Skipped)
	require.True(t, decimal.RequireFromString("23.5").Equal(result.Total), result.Total.String())
	checkLedger(t, database)
	before := takeSnapshot(t, database)
	require.Equal(t, "10.000000", before.Balances[ledger.PublisherAccount(ids["A1"], true)])
	require.Equal(t, "5.500000", before.Balances[ledger.PublisherAccount(ids["A1"], false)])
	require.Equal(t, "1.000000", before.Balances[ledger.PublisherAccount(ids["A2"], true)])
	require.Equal(t, "-23.500000", before.Balances[ledger.PlatformEarnings])

	// eligible_at defaults to transaction_at + the holding period.
	var eligible time.Time
	require.NoError(t, database.Get(&eligible, `SELECT eligible_at FROM earnings_lines WHERE transaction_id = 't4'`))
	require.True(t, eligible.Equal(time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)), eligible.String())
	// available_at = max(eligible_at, import time): t4 matured on 2026-11-03,
	// before this import ran, so it became available when imported.
	var available time.Time
	require.NoError(t, database.Get(&available, `SELECT available_at FROM earnings_lines WHERE transaction_id = 't4'`))
	require.True(t, available.Equal(now), available.String())

	// The same file again: everything skipped, nothing written.
	again, err := ledger.Import(ctx, database, fromString(file), options())
	require.NoError(t, err)
	require.Equal(t, ledger.ImportResult{LinesRead: 5, Skipped: 5, Total: decimal.Zero}, again)
	require.Equal(t, before, takeSnapshot(t, database))

	// Old and new lines together: the old are skipped, the new credited.
	more := file + "t5,A2,advertising,purchase,GB,2026-10-06T10:00:00Z,0.000001\n"
	mixed, err := ledger.Import(ctx, database, fromString(more), options())
	require.NoError(t, err)
	require.Equal(t, int64(1), mixed.Imported)
	require.Equal(t, int64(5), mixed.Skipped)
	checkLedger(t, database)
	after := takeSnapshot(t, database)
	require.Equal(t, "7.000001", after.Balances[ledger.PublisherAccount(ids["A2"], false)])

	// A line that matures after the import is available when it matures.
	future := strings.TrimSuffix(header, "\n") + ",eligible_at\nt9,A2,app,purchase,US,2026-11-20T10:00:00Z,3,2026-12-24T00:00:00Z\n"
	_, err = ledger.Import(ctx, database, fromString(future), options())
	require.NoError(t, err)
	require.NoError(t, database.Get(&available, `SELECT available_at FROM earnings_lines WHERE transaction_id = 't9'`))
	require.True(t, available.Equal(time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)), available.String())
	checkLedger(t, database)

	// The totals: one row per month of availability, account, part and
	// import; t9 is December's.
	type total struct {
		Month     time.Time `db:"month"`
		AccountID int64     `db:"account_id"`
		USSourced bool      `db:"us_sourced"`
		Amount    string    `db:"amount"`
		Lines     int64     `db:"lines"`
	}
	var totals []total
	require.NoError(t, database.Select(&totals, `SELECT month, account_id, us_sourced, amount::text AS amount, lines FROM earnings_totals
		WHERE account_id = $1 ORDER BY import_id, month, us_sourced`, ids["A2"]))
	november, december := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range totals {
		totals[i].Month = totals[i].Month.UTC()
	}
	require.Equal(t, []total{
		{november, ids["A2"], false, "7.000000", 1}, {november, ids["A2"], true, "1.000000", 1},
		{november, ids["A2"], false, "0.000001", 1},
		{december, ids["A2"], true, "3.000000", 1},
	}, totals)

	// A total that drifts from its lines is named.
	_, err = database.Exec(`INSERT INTO earnings_totals (month, account_id, us_sourced, import_id, amount, lines) VALUES ('2026-12-01T00:00:00Z', $1, true, 999, 1, 1)`, ids["A2"])
	require.NoError(t, err)
	err = ledger.VerifyTotals(ctx, database)
	require.ErrorIs(t, err, ledger.ErrTotalsDrift)
	require.ErrorContains(t, err, fmt.Sprintf("2026-12, account %d, publisher:%d:us, import 999: the lines sum to 0.000000, the totals say 1.000000", ids["A2"], ids["A2"]))

	// So is a key without its line.
	_, err = database.Exec(`INSERT INTO earnings_keys (transaction_id, revenue_source, available_at) VALUES ('t8', 'app', '2026-12-02T00:00:00Z')`)
	require.NoError(t, err)
	err = ledger.VerifyKeys(ctx, database)
	require.ErrorIs(t, err, ledger.ErrKeysDrift)
	require.ErrorContains(t, err, "app t8: the key (available 2026-12-02T00:00:00Z) has no line")
}

func TestImportRefusesBadFilesAndChangesNothing(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	createAccounts(t, database, "A1")
	_, err := ledger.Import(ctx, database, fromString(header+"old1,A1,app,purchase,US,2026-10-01T10:00:00Z,10\n"), options())
	require.NoError(t, err)
	before := takeSnapshot(t, database)

	good := "ok1,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n"
	for _, tc := range []struct {
		name, file string
		want       []string // each must appear in the error
	}{
		{"empty file", "", []string{"line 1: empty file"}},
		{"header only", header, []string{"line 2: no earnings lines"}},
		{"wrong header", "id,seller,source\n" + good, []string{"line 1: header is"}},
		{"missing column", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z\n", []string{"line 2: 6 fields, want 7"}},
		{"unknown seller", header + good + "x1,NOPE,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{`line 3, column seller_id: unknown seller id "NOPE"`}},
		{"malformed amount", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,1.2.3\n", []string{"line 2, column amount"}},
		{"too many decimals", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,0.0000001\n", []string{"line 2, column amount", "more than 6 decimal places"}},
		{"negative purchase", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,-1\n", []string{"line 2, column amount: a purchase must be positive"}},
		{"positive refund", header + "x1,A1,app,refund,US,2026-10-01T10:00:00Z,1\n", []string{"line 2, column amount: a refund must be negative"}},
		{"bad market", header + "x1,A1,app,purchase,USA,2026-10-01T10:00:00Z,1\n", []string{"line 2, column market"}},
		{"bad source", header + "x1,A1,shop,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"line 2, column revenue_source"}},
		{"bad time", header + "x1,A1,app,purchase,US,2026-10-01 10:00,1\n", []string{"line 2, column transaction_at", "RFC 3339"}},
		{"future time", header + "x1,A1,app,purchase,US,2027-01-01T00:00:00Z,1\n", []string{"line 2, column transaction_at", "in the future"}},
		{"eligible before transaction", strings.TrimSuffix(header, "\n") + ",eligible_at\nx1,A1,app,purchase,US,2026-10-01T10:00:00Z,1,2026-09-01T00:00:00Z\n", []string{"line 2, column eligible_at: before transaction_at"}},
		{"not utf-8", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,1\nx\xff2,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"line 3, column transaction_id: not valid UTF-8"}},
		{"overlong line", header + good + "x" + strings.Repeat("y", 5000) + ",A1\n", []string{"line 3, column transaction_id: record longer than 4096 bytes"}},
		{"quoted field of many short lines", header + good + "x9,A1,\"" + strings.Repeat("ab\n", 2000) + "\",purchase,US,2026-10-01T10:00:00Z,1\n",
			[]string{"line 3, column revenue_source: record longer than 4096 bytes (a quoted field spans"}},
		{"control character in transaction_id", header + "x\u00851,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"line 2, column transaction_id: contains the control character U+0085 at character 2"}},
		{"tab in transaction_id", header + "x\t1,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"line 2, column transaction_id: contains the control character U+0009"}},
		{"transaction_id too long", header + strings.Repeat("é", 129) + ",A1,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"line 2, column transaction_id: longer than 128 characters"}},
		{"amount beyond the ledger", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,100000000000000\n",
			[]string{`line 2, column amount: "100000000000000" is beyond ±99999999999999.999999`}},
		{"amounts adding up beyond the ledger", header + "x1,A1,app,purchase,US,2026-10-01T10:00:00Z,99999999999999.999999\n" +
			"x2,A1,app,refund,DE,2026-10-01T10:00:00Z,-0.000001\n", []string{"line 3, column amount: the file's amounts add up, in absolute value, to more than 99999999999999.999999"}},
		{"duplicate in file", header + good + "x2,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n" + good, []string{"line 4, column transaction_id: duplicate of line 2"}},
		{"conflict with earlier import", header + good + "old1,A1,app,purchase,US,2026-10-01T10:00:00Z,11\n", []string{"line 3, column transaction_id: already imported", "different content"}},
		{"bad quoting", header + good + "\"x3,A1,app,purchase,US,2026-10-01T10:00:00Z,1\n", []string{"malformed CSV"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ledger.Import(ctx, database, fromString(tc.file), options())
			var importErr *ledger.ImportError
			require.ErrorAs(t, err, &importErr)
			for _, want := range tc.want {
				require.Contains(t, err.Error(), want)
			}
			require.Equal(t, before, takeSnapshot(t, database), "a refused import changed the database")
		})
	}
}

func TestImportReportsTheFirstHundredBadRows(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	createAccounts(t, database, "A1")
	var b strings.Builder
	b.WriteString(header)
	for i := 0; i < 250; i++ {
		b.WriteString("x" + string(rune('a'+i%26)) + strings.Repeat("z", i/26) + ",A1,app,purchase,US,2026-10-01T10:00:00Z,-1\n")
	}
	_, err := ledger.Import(context.Background(), database, fromString(b.String()), options())
	var importErr *ledger.ImportError
	require.ErrorAs(t, err, &importErr)
	require.Len(t, importErr.Rows, ledger.MaxReportedErrors)
	require.Equal(t, 250, importErr.Total)
	require.Equal(t, int64(2), importErr.Rows[0].Line)
	require.Equal(t, int64(101), importErr.Rows[99].Line)
	require.Contains(t, err.Error(), "... and 150 more")
}

func TestGeneratedMonthImportsAndBalances(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	opts := ledger.GenerateOptions{Seed: 7, Publishers: 300, Lines: 20_000, Month: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	var accounts, earnings bytes.Buffer
	require.NoError(t, ledger.GenerateAccounts(&accounts, opts))
	require.NoError(t, ledger.GenerateEarnings(&earnings, opts))

	created, skipped, err := ledger.ImportAccounts(ctx, database, bytes.NewReader(accounts.Bytes()), now)
	require.NoError(t, err)
	require.Equal(t, int64(300), created)
	require.Zero(t, skipped)
	created, skipped, err = ledger.ImportAccounts(ctx, database, bytes.NewReader(accounts.Bytes()), now)
	require.NoError(t, err)
	require.Zero(t, created)
	require.Equal(t, int64(300), skipped)

	// Through a real file, as the CLI does.
	path := filepath.Join(t.TempDir(), "earnings.csv")
	require.NoError(t, os.WriteFile(path, earnings.Bytes(), 0o600))
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	var progress []int64
	opt := options()
	opt.Progress = func(lines int64) { progress = append(progress, lines) }
	result, err := ledger.Import(ctx, database, open, opt)
	require.NoError(t, err)
	require.Equal(t, int64(20_000), result.Imported)
	require.NotEmpty(t, progress)
	checkLedger(t, database)

	var sum decimal.Decimal
	require.NoError(t, database.Get(&sum, `SELECT sum(amount) FROM earnings_lines`))
	require.True(t, sum.Equal(result.Total))
	again, err := ledger.Import(ctx, database, open, options())
	require.NoError(t, err)
	require.Equal(t, int64(20_000), again.Skipped)
}
