package publisher

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// TestExportSharesAreTheStatements: a publisher with 30% withheld from two
// paid payouts of a few thousand lines (many of equal amounts, so the
// largest remainders tie, and refunds) and an upcoming month. Every line's
// withheld share, in an export of any month range (ranges that end inside
// a payout's window too) and on the transactions pages, is the statement's:
// reports.AllocateWithholding over the payout's US-sourced lines' decimal
// amounts. lineStates hands out the export's ordered shares without a miss
// in the export's order, and falls back to the keyed shares (the same) in
// any other.
func TestExportSharesAreTheStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := dbtest.New(t)
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	now := time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cycles := &store.Store{DB: database, Sealer: sealer, Clock: clock}
	account, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{SellerID: "SHARES", Type: ledger.Individual,
		RegistrationCountry: "GB", DisplayName: "Shares"}, now)
	require.NoError(t, err)
	require.NoError(t, cycles.SetAccountStatus(ctx, account.ID, "verified", "test"))
	view, err := cycles.SetPayoutAccount(ctx, account.ID, payout.AccountInput{Method: payout.PayPal, HolderName: "Shares",
		Currency: "USD", PayPalEmail: "shares@example.com"}, "test")
	require.NoError(t, err)
	require.NoError(t, cycles.RecordVerification(ctx, view.ID, payout.Verified, "", "test"))
	_, err = (&taxstore.Store{DB: database, Sealer: sealer}).Submit(ctx, account.ID, fixture.TaxForm("GB", false), "test", now)
	require.NoError(t, err)
	// September paid by October's cycle; October's lines carried by
	// November's (a threshold above the balance), paid with November's by
	// December's: that payout's window spans two months. December's lines
	// are upcoming.
	first := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	const months = 4
	for i := range months {
		month := first.AddDate(0, i, 0)
		if i > 0 {
			now = month.AddDate(0, 0, 4).Add(6 * time.Hour)
			policy := payout.DefaultPolicy()
			if i == 2 {
				policy.Threshold = decimal.New(1, 9)
			}
			_, err := cycles.Close(ctx, store.CloseOptions{Month: month, Policy: policy, Actor: "test"})
			require.NoError(t, err)
		}
		now = month
		_, err := ledger.Import(ctx, database, tiedLines(i, 1500, month), ledger.ImportOptions{SourceName: "test",
			HoldingPeriod: 30 * 24 * time.Hour, Clock: clock})
		require.NoError(t, err)
	}
	now = first.AddDate(0, months-1, 19)
	asOf := now

	// The statement's shares, from the decimal amounts.
	tx, err := database.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	windows, err := lineWindows(ctx, tx, account.ID, asOf)
	require.NoError(t, err)
	want := map[string]string{}
	var paid []window
	for _, w := range windows {
		if w.paymentID == "" {
			continue
		}
		paid = append(paid, w)
		var lines []struct {
			ID     string          `db:"transaction_id"`
			Source string          `db:"revenue_source"`
			Amount decimal.Decimal `db:"amount"`
		}
		require.NoError(t, tx.SelectContext(ctx, &lines, `
			SELECT transaction_id, revenue_source, amount FROM earnings_lines
			WHERE account_id = $1 AND available_at >= $2 AND available_at < $3 AND market = 'US'
			ORDER BY available_at, transaction_id, revenue_source`, account.ID, w.from, w.to))
		amounts := make([]decimal.Decimal, len(lines))
		for i, l := range lines {
			amounts[i] = l.Amount
		}
		parts := reports.AllocateWithholding(w.withheld, amounts)
		require.NotNil(t, parts)
		for i, l := range lines {
			want[l.ID+"\x00"+l.Source] = parts[i].StringFixed(2)
		}
		require.True(t, w.withheld.IsPositive(), "payout %s withholds", w.paymentID)
		t.Logf("payout %s: [%s, %s), %d US-sourced lines, %s withheld", w.paymentID, w.from, w.to, len(lines), w.withheld)

		// The keyed allocation, in integers, is the decimal one.
		shares, err := allocation(ctx, tx, account.ID, w)
		require.NoError(t, err)
		decimalShares, err := decimalAllocation(ctx, tx, account.ID, w)
		require.NoError(t, err)
		require.Equal(t, decimalShares, shares)
	}
	require.Len(t, paid, 2)
	require.True(t, first.AddDate(0, 3, 0).Equal(paid[1].to), "the second payout's window ends %s", paid[1].to)
	require.NoError(t, tx.Rollback())

	// Amounts in micro-dollars, NULL (the decimal allocation) beyond int64.
	var micros []sql.NullInt64
	require.NoError(t, database.SelectContext(ctx, &micros, `SELECT `+microAmount+` FROM (VALUES ('9223372036854.775807'::numeric(20, 6)),
		('9223372036854.775808'), ('-9223372036854.775807'), ('99999999999999.999999'), ('-0.000001'), ('12.5')) AS v (amount)`))
	require.Equal(t, []sql.NullInt64{{Int64: math.MaxInt64, Valid: true}, {}, {Int64: -math.MaxInt64, Valid: true}, {},
		{Int64: -1, Valid: true}, {Int64: 12_500_000, Valid: true}}, micros)

	svc := &Service{DB: database, Store: cycles, Clock: clock}
	names := []string{"2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01"}
	cut := 0
	for i, from := range names {
		for _, to := range names[i:] {
			start, end, err := exportMonths(from, to)
			require.NoError(t, err)
			for _, w := range paid {
				if w.from.Before(end) && end.Before(w.to) && start.Before(end) {
					cut++
				}
			}
			err = svc.EachTransaction(ctx, account.ID, from, to, asOf, func(line Transaction) error {
				if line.PaymentID != "" && line.USSourced {
					key := line.TransactionID + "\x00" + line.RevenueSource
					if want[key] != line.Withheld {
						return fmt.Errorf("%s..%s: line %q: withheld %s, the statement's %s", from, to, key, line.Withheld, want[key])
					}
				}
				return nil
			})
			require.NoError(t, err)
		}
	}
	require.Positive(t, cut, "some exports end inside a payout's window")

	// The pages (the cache's keyed shares).
	cursor, seen := "", 0
	for {
		page, next, err := svc.Transactions(ctx, account.ID, TransactionFilter{}, cursor, MaxPageSize)
		require.NoError(t, err)
		for _, line := range page {
			if line.PaymentID != "" && line.USSourced {
				require.Equal(t, want[line.TransactionID+"\x00"+line.RevenueSource], line.Withheld)
				seen++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, want, seen)

	// lineStates directly: the lines of October (the second payout's
	// window goes on into November) in the export's order, then in others.
	for _, order := range []string{lineOrder, "available_at, transaction_id, revenue_source", "md5(transaction_id)"} {
		tx, err := database.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		require.NoError(t, err)
		windows, err := lineWindows(ctx, tx, account.ID, asOf)
		require.NoError(t, err)
		start, end := first.AddDate(0, 1, 0), first.AddDate(0, 2, 0)
		rows, err := tx.QueryxContext(ctx, `SELECT `+lineColumns+` FROM earnings_lines
			WHERE account_id = $1 AND available_at >= $2 AND available_at < $3 ORDER BY `+order, account.ID, start, end)
		require.NoError(t, err)
		var lines []Transaction
		for rows.Next() {
			line, err := scanLine(rows)
			require.NoError(t, err)
			lines = append(lines, line)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		states := &lineStates{tx: tx, accountID: account.ID, windows: windows, end: end, seed: maphash.MakeSeed()}
		given := 0
		for i := range lines {
			require.NoError(t, states.fill(ctx, &lines[i]))
			if lines[i].PaymentID != "" && lines[i].USSourced {
				require.Equal(t, want[lines[i].TransactionID+"\x00"+lines[i].RevenueSource], lines[i].Withheld, "order %s", order)
				given++
			}
		}
		require.Positive(t, given)
		if order == lineOrder {
			require.Zero(t, states.misses, "the export's order")
		} else {
			require.Positive(t, states.misses, "order %s", order)
		}
		require.NoError(t, tx.Rollback())
	}
}

// tiedLines is a month of the test publisher's lines: batch numbers its
// ids, available over the month; 60% US-sourced, one in twenty a refund,
// one in four exactly 1.00 (equal weights: their remainders tie).
func tiedLines(batch, n int, month time.Time) ledger.Opener {
	return func() (io.ReadCloser, error) {
		r, w := io.Pipe()
		go func() {
			out := bufio.NewWriterSize(w, 1<<16)
			random := rand.New(rand.NewPCG(uint64(batch), 11))
			markets := []string{"US", "US", "US", "GB", "DE"}
			fmt.Fprintln(out, "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount,eligible_at")
			days := month.AddDate(0, 1, 0).Sub(month)
			for i := 0; i < n; i++ {
				kind, amount := "purchase", fmt.Sprintf("%d.%06d", random.IntN(20), 1+random.IntN(999_999))
				switch {
				case i%20 == 19:
					kind, amount = "refund", fmt.Sprintf("-0.%02d", 1+random.IntN(99))
				case i%4 == 0:
					amount = "1.00"
				}
				eligible := month.Add(time.Duration(random.Int64N(int64(days - time.Hour)))).Truncate(time.Hour)
				fmt.Fprintf(out, "t%d-%05d,SHARES,app,%s,%s,%s,%s,%s\n", batch, i, kind, markets[random.IntN(len(markets))],
					month.Add(-time.Hour).Format(time.RFC3339), amount, eligible.Format(time.RFC3339))
			}
			w.CloseWithError(out.Flush())
		}()
		return r, nil
	}
}
