package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// october builds a month with one publisher per outcome of SPEC §3.2.
func october(w *fixture.World) {
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})                                        // W-9: paid 0%
	w.Publisher("BR1", fixture.Publisher{Country: "DE"})                           // W-8 without treaty: 30%
	w.Publisher("GB1", fixture.Publisher{Country: "GB", Treaty: true})             // treaty 0%
	w.Publisher("HOLD", fixture.Publisher{})                                       // hold on
	w.Publisher("NOPAY", fixture.Publisher{NoPayout: true})                        // no payout account
	w.Publisher("PEND", fixture.Publisher{UnverifiedPay: true})                    // payout account pending
	w.Publisher("NOTAX", fixture.Publisher{NoTax: true})                           // no tax form
	w.Publisher("SMALL", fixture.Publisher{})                                      // below threshold
	w.Publisher("NEG", fixture.Publisher{})                                        // negative balance
	w.Publisher("MANY", fixture.Publisher{NoTax: true, NoPayout: true})            // several reasons
	w.Publisher("PAYPAL", fixture.Publisher{Method: payout.PayPal, Country: "DE"}) // PayPal, W-8 30%
	_, err := w.Store.SetHold(context.Background(), w.IDs["HOLD"], true, "holder")
	require.NoError(w.T(), err)
	_, err = w.Store.SetHold(context.Background(), w.IDs["MANY"], true, "holder")
	require.NoError(w.T(), err)

	w.Set("2026-10-10T00:00:00Z")
	w.Earn("US1", "US", "120.004", "2026-10-20T00:00:00Z")
	w.Earn("BR1", "US", "100", "2026-10-20T00:00:00Z")
	w.Earn("BR1", "FR", "50.5", "2026-10-20T00:00:00Z")
	w.Earn("GB1", "US", "300", "2026-10-20T00:00:00Z")
	w.Earn("HOLD", "GB", "500", "2026-10-20T00:00:00Z")
	w.Earn("NOPAY", "GB", "75", "2026-10-20T00:00:00Z")
	w.Earn("PEND", "GB", "75", "2026-10-20T00:00:00Z")
	w.Earn("NOTAX", "GB", "75", "2026-10-20T00:00:00Z")
	w.Earn("SMALL", "GB", "49.999999", "2026-10-20T00:00:00Z")
	w.Earn("NEG", "GB", "10", "2026-10-20T00:00:00Z")
	w.Earn("NEG", "GB", "-30", "2026-10-21T00:00:00Z")
	w.Earn("MANY", "JP", "20", "2026-10-20T00:00:00Z")
	w.Earn("PAYPAL", "US", "200", "2026-10-20T00:00:00Z")
	// Not yet available at the November cutoff: belongs to December.
	w.Earn("US1", "US", "1000", "2026-11-03T00:00:00Z")
}

func TestCloseDecidesEveryAccountAndPostsBalancedEntries(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	october(w)
	w.Set("2026-11-05T06:00:00Z")
	result := w.Close("2026-11")
	require.Equal(t, store.StateClosed, result.State)
	require.False(t, result.AlreadyClosed)

	for seller, want := range map[string]fixture.PayoutRow{
		"US1":    {Status: "paid", Reasons: "", Balance: d("120.004"), Paid: d("120.00"), Withheld: d("0"), Carried: d("0.004"), Reason: "w9"},
		"BR1":    {Status: "paid", Reasons: "", Balance: d("150.5"), Paid: d("120.50"), Withheld: d("30.00"), Carried: d("0"), Reason: "w8_no_treaty"},
		"GB1":    {Status: "paid", Reasons: "", Balance: d("300"), Paid: d("300.00"), Withheld: d("0"), Carried: d("0"), Reason: "treaty:GB:12"},
		"HOLD":   {Status: "held", Reasons: "payment_hold", Balance: d("500"), Carried: d("500")},
		"NOPAY":  {Status: "held", Reasons: "no_payout_account", Balance: d("75"), Carried: d("75")},
		"PEND":   {Status: "held", Reasons: "payout_account_unverified", Balance: d("75"), Carried: d("75")},
		"NOTAX":  {Status: "held", Reasons: "tax_profile_missing", Balance: d("75"), Carried: d("75")},
		"SMALL":  {Status: "carried", Reasons: "below_threshold", Balance: d("49.999999"), Carried: d("49.999999")},
		"NEG":    {Status: "carried", Reasons: "negative_balance", Balance: d("-20"), Carried: d("-20")},
		"MANY":   {Status: "held", Reasons: "payment_hold,no_payout_account,tax_profile_missing,below_threshold", Balance: d("20"), Carried: d("20")},
		"PAYPAL": {Status: "paid", Reasons: "", Balance: d("200"), Paid: d("140.00"), Withheld: d("60.00"), Carried: d("0"), Reason: "w8_no_treaty"},
	} {
		got := w.Payout("2026-11", seller)
		require.Equal(t, want.Status, got.Status, seller)
		require.Equal(t, want.Reasons, got.Reasons, seller)
		require.True(t, want.Balance.Equal(got.Balance), "%s balance %s", seller, got.Balance)
		require.True(t, want.Paid.Equal(got.Paid), "%s paid %s", seller, got.Paid)
		require.True(t, want.Withheld.Equal(got.Withheld), "%s withheld %s", seller, got.Withheld)
		require.True(t, want.Carried.Equal(got.Carried), "%s carried %s", seller, got.Carried)
		require.Equal(t, want.Reason, got.Reason, seller)
	}
	totals := result.Totals
	require.Equal(t, int64(11), totals.Accounts)
	require.True(t, d("680.50").Equal(totals.Paid.Amount), totals.Paid.Amount.String())
	require.True(t, d("90.00").Equal(totals.Withheld))
	require.True(t, totals.LedgerInTransit.Equal(totals.Paid.Amount))

	// The journal: publisher balances are exactly what was not paid out.
	var earnings, publishers, withheld, inTransit decimal.Decimal
	require.NoError(t, w.DB.QueryRow(`SELECT
		(SELECT sum(amount) FROM earnings_lines),
		(SELECT sum(balance) FROM ledger_balances WHERE ledger_account LIKE 'publisher:%'),
		(SELECT balance FROM ledger_balances WHERE ledger_account = 'tax:us_withholding'),
		(SELECT balance FROM ledger_balances WHERE ledger_account = 'payments:in_transit')`).Scan(&earnings, &publishers, &withheld, &inTransit))
	require.True(t, earnings.Equal(publishers.Add(withheld).Add(inTransit)), "conservation: %s = %s + %s + %s", earnings, publishers, withheld, inTransit)
	require.True(t, d("90").Equal(withheld))
	require.True(t, d("680.50").Equal(inTransit))

	// Closing again changes nothing and says so.
	before := w.Dump()
	again := w.Close("2026-11")
	require.True(t, again.AlreadyClosed)
	require.Equal(t, before, w.Dump())
}

func TestHoldAndPayoutAccountChangesCountAsOfTheCutoff(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("LATE", fixture.Publisher{})
	w.Publisher("EDGE", fixture.Publisher{})
	w.Publisher("MOVER", fixture.Publisher{})
	w.Set("2026-10-10T00:00:00Z")
	for _, seller := range []string{"LATE", "EDGE", "MOVER"} {
		w.Earn(seller, "GB", "100", "2026-10-20T00:00:00Z")
	}
	// A hold switched on one second before the cutoff holds this cycle.
	w.Set("2026-10-31T23:59:59Z")
	_, err := w.Store.SetHold(context.Background(), w.IDs["LATE"], true, "publisher")
	require.NoError(t, err)
	// At exactly the cutoff, it only holds the next one.
	w.Set("2026-11-01T00:00:00Z")
	_, err = w.Store.SetHold(context.Background(), w.IDs["EDGE"], true, "publisher")
	require.NoError(t, err)
	// A payout account changed on the 28th is not verified at the cutoff.
	w.Set("2026-10-28T12:00:00Z")
	newAccount := w.PayoutAccount("MOVER", "US", payout.Bank)

	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	require.Equal(t, "held", w.Payout("2026-11", "LATE").Status)
	require.Equal(t, "paid", w.Payout("2026-11", "EDGE").Status)
	mover := w.Payout("2026-11", "MOVER")
	require.Equal(t, "held", mover.Status)
	require.Equal(t, "payout_account_unverified", mover.Reasons)

	// Verified in November: December pays the whole amount due, to the new account.
	w.Set("2026-11-03T00:00:00Z")
	require.NoError(t, w.Store.RecordVerification(context.Background(), newAccount, payout.Verified, "", "ops"))
	w.Set("2026-11-10T00:00:00Z")
	w.Earn("MOVER", "GB", "10", "2026-11-20T00:00:00Z")
	w.Earn("EDGE", "GB", "60", "2026-11-20T00:00:00Z")
	w.Set("2026-12-05T06:00:00Z")
	w.Close("2026-12")
	december := w.Payout("2026-12", "MOVER")
	require.Equal(t, "paid", december.Status)
	require.True(t, d("110").Equal(december.Paid), december.Paid.String())
	var paidTo int64
	require.NoError(t, w.DB.Get(&paidTo, `SELECT payout_account_id FROM payouts WHERE month = '2026-12-01' AND account_id = $1`, w.IDs["MOVER"]))
	require.Equal(t, newAccount, paidTo)
	require.Equal(t, "held", w.Payout("2026-12", "EDGE").Status, "EDGE's hold counts from December")
}

func TestCarriedBalancesOpenTheNextCycle(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("A", fixture.Publisher{})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("A", "GB", "30.005", "2026-10-20T00:00:00Z")
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	require.Equal(t, "carried", w.Payout("2026-11", "A").Status)
	// A line imported late, with an eligible_at long past, joins the next cycle.
	w.Earn("A", "GB", "25", "2026-10-01T00:00:00Z")
	w.Set("2026-12-05T06:00:00Z")
	w.Close("2026-12")
	december := w.Payout("2026-12", "A")
	require.Equal(t, "paid", december.Status)
	require.True(t, d("55.00").Equal(december.Paid))
	require.True(t, d("0.005").Equal(december.Carried))
	w.Set("2027-01-05T06:00:00Z")
	w.Close("2027-01")
	var rows int
	require.NoError(t, w.DB.Get(&rows, `SELECT count(*) FROM payouts WHERE month = '2027-01-01'`))
	require.Equal(t, 1, rows, "the sub-cent remainder is carried again, never lost")
	require.True(t, d("0.005").Equal(w.Payout("2027-01", "A").Carried))
}

func TestCloseRefusesOutOfOrderAndFutureMonths(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	october(w)
	w.Set("2026-10-31T23:59:59Z")
	_, err := w.TryClose("2026-11")
	require.ErrorIs(t, err, store.ErrFutureMonth)
	w.Set("2027-01-05T06:00:00Z")
	w.Close("2026-11")
	_, err = w.TryClose("2027-01")
	require.ErrorIs(t, err, store.ErrPreviousOpen)
	w.Close("2026-12")
	_, err = w.TryClose("2026-10")
	require.ErrorIs(t, err, store.ErrLaterCycle)
	var cycles int
	require.NoError(t, w.DB.Get(&cycles, `SELECT count(*) FROM cycles`))
	require.Equal(t, 2, cycles)
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	october(w)
	w.Set("2026-11-05T06:00:00Z")
	before := w.Dump()
	result := w.Close("2026-11", func(o *store.CloseOptions) { o.DryRun = true; o.BatchSize = 3 })
	require.True(t, result.DryRun)
	require.True(t, d("680.50").Equal(result.Totals.Paid.Amount))
	require.Equal(t, before, w.Dump())
}

// A crash at any point of the close, then a new close, ends exactly where an
// uninterrupted close does: same payouts, same journal, same totals.
func TestCrashAtAnyPointResumesToTheSameResult(t *testing.T) {
	t.Parallel()
	clean := fixture.New(t)
	october(clean)
	clean.Set("2026-11-05T06:00:00Z")
	clean.Close("2026-11", func(o *store.CloseOptions) { o.BatchSize = 2 })
	want := clean.Dump()

	for _, point := range store.FaultPoints {
		for _, occurrence := range []int{1, 3} {
			t.Run(point, func(t *testing.T) {
				t.Parallel()
				w := fixture.New(t)
				october(w)
				w.Set("2026-11-05T06:00:00Z")
				crash := errors.New("crash at " + point)
				seen := 0
				_, err := w.TryClose("2026-11", func(o *store.CloseOptions) {
					o.BatchSize = 2
					o.Fault = func(p string) error {
						if p == point {
							seen++
							if seen == occurrence {
								return crash
							}
						}
						return nil
					}
				})
				if point == "after_start" || point == "before_finish" {
					if occurrence > 1 {
						require.NoError(t, err) // those points come once
						require.Equal(t, want, w.Dump())
						return
					}
				}
				require.ErrorIs(t, err, crash)
				result := w.Close("2026-11", func(o *store.CloseOptions) { o.BatchSize = 2 })
				require.Equal(t, store.StateClosed, result.State)
				require.Equal(t, want, w.Dump())
			})
		}
	}
}

// Two closes of the same month at the same moment produce one result.
func TestConcurrentClosesProduceOneResult(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	w := fixture.On(t, database)
	october(w)
	w.Set("2026-11-05T06:00:00Z")
	var wg sync.WaitGroup
	results := make([]store.CloseResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = w.TryClose("2026-11", func(o *store.CloseOptions) { o.BatchSize = 2 })
		}()
	}
	wg.Wait()
	closedNow := 0
	for i := range results {
		require.NoError(t, errs[i])
		if !results[i].AlreadyClosed {
			closedNow++
		}
		require.True(t, d("680.50").Equal(results[i].Totals.Paid.Amount))
	}
	require.Equal(t, 1, closedNow)
	var rows int
	require.NoError(t, database.Get(&rows, `SELECT count(*) FROM payouts`))
	require.Equal(t, 11, rows)
}

// The result of a close does not depend on how many workers close its
// shards, nor on whether they run inside one Close or as separate steps:
// byte-identical payouts, journal, balances and totals.
func TestShardedCloseIsTheSameWithAnyNumberOfWorkers(t *testing.T) {
	t.Parallel()
	dump := func(close func(w *fixture.World)) string {
		w := fixture.New(t)
		october(w)
		w.Set("2026-11-05T06:00:00Z")
		close(w)
		var inputs, shards int
		require.NoError(t, w.DB.Get(&inputs, `SELECT count(*) FROM cycle_inputs`))
		require.NoError(t, w.DB.Get(&shards, `SELECT count(DISTINCT shard) FROM cycle_inputs`))
		require.Equal(t, 11, inputs, "every account with a balance is frozen once")
		require.Greater(t, shards, 1, "the accounts spread over several shards")
		return w.Dump()
	}
	want := dump(func(w *fixture.World) {
		w.Close("2026-11", func(o *store.CloseOptions) { o.BatchSize = 2; o.Shards = 4; o.Workers = 1 })
	})
	for _, workers := range []int{2, 4} {
		got := dump(func(w *fixture.World) {
			w.Close("2026-11", func(o *store.CloseOptions) { o.BatchSize = 2; o.Shards = 4; o.Workers = workers })
		})
		require.Equal(t, want, got, "%d workers", workers)
	}
	// As separate steps, every shard at once (what the job queue does),
	// each shard closed twice: exactly one shard sees every shard done.
	got := dump(func(w *fixture.World) {
		ctx := context.Background()
		month, err := payout.ParseMonth("2026-11")
		require.NoError(t, err)
		options := store.CloseOptions{Month: month, Policy: payout.DefaultPolicy(), Actor: "test", BatchSize: 2, Shards: 4}
		started, err := w.Store.StartClose(ctx, options)
		require.NoError(t, err)
		require.Equal(t, []int{0, 1, 2, 3}, started.Pending)
		_, err = w.Store.FinishClose(ctx, options.Month, options)
		require.ErrorIs(t, err, store.ErrShardsPending)
		var lastOnes atomic.Int32
		options.ShardDone = func(ctx context.Context, tx pgx.Tx, allDone bool) error {
			if allDone {
				lastOnes.Add(1)
			}
			return nil
		}
		var wg sync.WaitGroup
		for _, shard := range append(started.Pending, started.Pending...) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				require.NoError(t, w.Store.CloseShard(ctx, options.Month, shard, options))
			}()
		}
		wg.Wait()
		require.EqualValues(t, 1, lastOnes.Load())
		require.ErrorIs(t, w.Store.CloseShard(ctx, options.Month, 9, options), store.ErrBadShard)
		result, err := w.Store.FinishClose(ctx, options.Month, options)
		require.NoError(t, err)
		require.Equal(t, store.StateClosed, result.State)
		again, err := w.Store.FinishClose(ctx, options.Month, options)
		require.NoError(t, err)
		require.True(t, again.AlreadyClosed)
	})
	require.Equal(t, want, got, "separate steps")
}

func TestShardOfSpreadsAccountsEvenly(t *testing.T) {
	t.Parallel()
	counts := make([]int, 8)
	for id := int64(1); id <= 80_000; id++ {
		shard := store.ShardOf(id, 8)
		require.Equal(t, shard, store.ShardOf(id, 8))
		counts[shard]++
	}
	for shard, n := range counts {
		require.InDelta(t, 10_000, n, 500, "shard %d", shard)
	}
	require.Zero(t, store.ShardOf(12345, 1))
}
