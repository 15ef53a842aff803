package publisher_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/testsupport/fixture"
)

func service(w *fixture.World) *publisher.Service {
	return &publisher.Service{DB: w.DB, Store: w.Store, Clock: w.Now,
		Policy: func() (payout.Policy, error) { return payout.DefaultPolicy(), nil }}
}

// A small marketplace after one close: each publisher's balance splits into
// the states the package doc names, the parts add up to its ledger balance,
// and the estimate taken at the cutoff, before the close, was the close's
// decision for every account.
func TestSummaryStatesAndEstimate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("PAY", fixture.Publisher{})
	w.Publisher("HOLD", fixture.Publisher{Country: "GB", NoTax: true})
	w.Publisher("SMALL", fixture.Publisher{})
	w.Publisher("FUT", fixture.Publisher{Country: "DE"})
	w.Publisher("NONE", fixture.Publisher{})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("PAY", "US", "120.004", "2026-10-20T00:00:00Z")
	w.Earn("HOLD", "GB", "80", "2026-10-20T00:00:00Z")
	w.Earn("SMALL", "US", "10", "2026-10-20T00:00:00Z")
	w.Earn("FUT", "DE", "30", "2026-12-10T00:00:00Z")
	w.Earn("FUT", "DE", "5.5", "2026-12-10T12:00:00Z")
	w.Earn("FUT", "US", "7", "2026-12-20T00:00:00Z")

	// The estimate at the cutoff instant, taken before the close.
	w.Set("2026-11-05T06:00:00Z")
	cutoff := fixture.At("2026-11-01T00:00:00Z")
	estimates := map[string]publisher.NextPayment{}
	svc := service(w)
	for seller := range w.IDs {
		summary, err := svc.SummaryAt(ctx, w.IDs[seller], cutoff)
		require.NoError(t, err)
		require.True(t, summary.Reconciled, seller)
		require.Equal(t, "2026-11", summary.NextPayment.Cycle)
		estimates[seller] = summary.NextPayment
	}
	w.Close("2026-11")
	for seller, estimate := range estimates {
		var rows []fixture.PayoutRow
		require.NoError(t, w.DB.Select(&rows, `SELECT status, array_to_string(reasons, ',') AS reasons, balance_us + balance_other AS balance,
			paid_usd, withheld, carried_us + carried_other AS carried FROM payouts WHERE month = '2026-11-01' AND account_id = $1`, w.IDs[seller]))
		if len(rows) == 0 {
			require.Equal(t, "none", estimate.Status, "%s: the close did not evaluate it", seller)
			continue
		}
		row := rows[0]
		require.Equal(t, row.Status, estimate.Status, seller)
		require.Equal(t, row.Reasons, joinReasons(estimate.Reasons), seller)
		require.Equal(t, row.Paid.StringFixed(2), map[bool]string{true: estimate.PayableUSD, false: "0.00"}[row.Status == "paid"], seller)
		require.Equal(t, row.Withheld.StringFixed(2), estimate.Withheld, seller)
		require.True(t, row.Balance.Equal(decimal.RequireFromString(estimate.Balance)), seller)
	}

	// Later: a new line for PAY, nothing else changes.
	w.Set("2026-11-10T00:00:00Z")
	w.Earn("PAY", "US", "60", "2026-11-12T00:00:00Z")
	w.Set("2026-11-20T00:00:00Z")
	get := func(seller string) publisher.Summary {
		summary, err := svc.Summary(ctx, w.IDs[seller])
		require.NoError(t, err)
		require.True(t, summary.Reconciled, "%s: %+v", seller, summary)
		require.Equal(t, seller, summary.SellerID)
		return summary
	}

	pay := get("PAY")
	require.Equal(t, "60.004", pay.Balance)
	require.Equal(t, "60.004", pay.Upcoming.Amount, "the new line and the sub-cent remainder of the paid payout")
	require.Equal(t, "0.004", pay.Upcoming.Remainder)
	require.EqualValues(t, 1, pay.Upcoming.Lines)
	require.Equal(t, "2026-11-01T00:00:00Z", pay.Upcoming.Since)
	require.Equal(t, "0.00", pay.Held.Amount)
	require.Equal(t, "paid", pay.NextPayment.Status)
	require.Equal(t, "60.00", pay.NextPayment.PayableUSD)
	require.Equal(t, "2026-12", pay.NextPayment.Cycle)
	require.Equal(t, "2026-12-15", pay.NextPayment.PaymentDate)
	require.Equal(t, "bank", pay.NextPayment.Method)
	require.Equal(t, "USD", pay.NextPayment.Currency)
	require.Equal(t, "60.00", pay.NextPayment.Payable)

	hold := get("HOLD")
	require.Equal(t, "80.00", hold.Held.Amount)
	require.Equal(t, "2026-11", hold.Held.Cycle)
	require.Equal(t, []publisher.ReasonView{{Reason: "tax_profile_missing", Held: true, Remedy: payout.TaxProfileMissing.Remedy()}}, hold.Held.Reasons)
	require.Equal(t, "held", hold.NextPayment.Status)
	require.Equal(t, "80.00", hold.NextPayment.PayableUSD, "no US-sourced sales: nothing withheld even at the statutory rate")

	small := get("SMALL")
	require.Equal(t, "10.00", small.Carried.Amount)
	require.Equal(t, "below_threshold", small.Carried.Reasons[0].Reason)
	require.Equal(t, "50.00", small.Carried.Threshold)
	require.Equal(t, "40.00", small.Carried.Needed)

	fut := get("FUT")
	require.Equal(t, "42.50", fut.Unprocessed.Amount)
	require.Equal(t, []publisher.UnprocessedPart{{AvailableOn: "2026-12-10", Amount: "35.50", Lines: 2}, {AvailableOn: "2026-12-20", Amount: "7.00", Lines: 1}},
		fut.Unprocessed.Parts)
	require.Equal(t, "none", fut.NextPayment.Status, "nothing is available yet")

	none := get("NONE")
	require.Equal(t, "0.00", none.Balance)
	require.Equal(t, "none", none.NextPayment.Status)

	_, err := svc.Summary(ctx, 999999)
	require.ErrorIs(t, err, publisher.ErrUnknownAccount)
}

func joinReasons(reasons []publisher.ReasonView) string {
	out := ""
	for i, r := range reasons {
		if i > 0 {
			out += ","
		}
		out += r.Reason
	}
	return out
}
