package release_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// SPEC §6.4: an amount over a rail's hard limit that splitting cannot serve
// holds that publisher alone (amount_over_rail_limit); everyone else is
// released. The close converts with the rates loaded before it started.
func TestAnAmountOverTheRailLimitHoldsOnlyItsPublisher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, releaser := lateWorld(t)   // US1, DE1, GB1, PP1, JP1; rates loaded on 4 November
	w.Set("2026-10-11T00:00:00Z") // before the cutoff, like the others
	w.Publisher("HUGE-ACH", fixture.Publisher{})
	w.Publisher("HUGE-EUR", fixture.Publisher{Country: "DE", Treaty: true})
	w.Publisher("HUGE-PP", fixture.Publisher{Method: payout.PayPal})
	w.Earn("HUGE-ACH", "GB", "100000000.00", "2026-10-20T00:00:00Z")  // $99,999,999.99 is the most one ACH entry carries
	w.Earn("HUGE-EUR", "GB", "1083170000.00", "2026-10-20T00:00:00Z") // 1,000,209,178.00 EUR at 0.9234: over 999,999,999.99
	w.Earn("HUGE-PP", "GB", "300000000.01", "2026-10-20T00:00:00Z")   // 15,001 items of at most 20,000.00
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	for _, seller := range []string{"HUGE-ACH", "HUGE-EUR", "HUGE-PP"} {
		row := w.Payout("2026-11", seller)
		require.Equal(t, "held", row.Status, seller)
		require.Equal(t, string(payout.AmountOverRailLimit), row.Reasons, seller)
		require.True(t, row.Paid.IsZero(), seller)
	}
	require.Equal(t, "paid", w.Payout("2026-11", "US1").Status)
	w.Set("2026-11-06T09:30:00Z")
	result, err := releaser.Release(ctx, fixture.Month("2026-11"), "ops")
	require.NoError(t, err, "the others are released")
	require.Len(t, result.Files, 5)
	cycle, err := w.Store.Cycle(ctx, fixture.Month("2026-11"))
	require.NoError(t, err)
	require.Equal(t, store.StateReleased, cycle.State)
	require.Equal(t, int64(3), cycle.Totals.ByReason[string(payout.AmountOverRailLimit)].Count)
}

// A currency whose first rate arrives after the close started is not
// judged by the close (its amount is not known yet, and every shard and a
// resumed close must decide alike): the release then refuses the file that
// cannot carry it, naming the payment. Load a cycle's rates before its close.
func TestARateLoadedAfterTheCloseIsNotJudged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, releaser := lateWorld(t)
	w.Set("2026-10-11T00:00:00Z")
	w.Publisher("HUGE-EUR", fixture.Publisher{Country: "DE", Treaty: true})
	w.Earn("HUGE-EUR", "GB", "1083170000.00", "2026-10-20T00:00:00Z")
	// lateWorld loaded the rates on 4 November; this close started before that.
	w.Set("2026-11-03T06:00:00Z")
	_, err := w.DB.Exec(`UPDATE fx_rates SET loaded_at = '2026-11-05T07:00:00Z'`)
	require.NoError(t, err)
	w.Close("2026-11")
	require.Equal(t, "paid", w.Payout("2026-11", "HUGE-EUR").Status, "no EUR rate before the close: not judged")
	w.Set("2026-11-06T09:30:00Z")
	_, err = releaser.Release(ctx, fixture.Month("2026-11"), "ops")
	require.ErrorContains(t, err, "exceeds the SEPA maximum", "the release names the payment the file cannot carry")
}
