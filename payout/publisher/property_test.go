package publisher_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
)

// Over simulated months (holds, returns, treaty and foreign publishers,
// refunds, PayPal splits), for every account as of the end: the summary's
// states add up to the ledger balance; its payments are exactly its
// payments rows (the released files' entries, which the simulator checks
// against the files); and each payment's transactions sum to what the
// payout consumed — paid + withheld + the sub-cent it carried, less the
// previous paid payout's remainder and the returns credited in between —
// with their withholding shares summing to the payout's withholding.
func TestPaymentsAndTransactionsAddUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := simulated(t, 7, 60, 4)
	database, clock := s.DB, s.Clock

	svc := &publisher.Service{DB: database, Store: s.Store, Clock: clock.Now, Policy: func() (payout.Policy, error) { return payout.DefaultPolicy(), nil }}
	var ids []int64
	require.NoError(t, database.Select(&ids, `SELECT id FROM accounts ORDER BY id`))
	paymentsSeen := 0
	for _, id := range ids {
		summary, err := svc.Summary(ctx, id)
		require.NoError(t, err)
		require.True(t, summary.Reconciled, "account %d: %+v", id, summary)

		// Every payment, over pages of 2.
		var payments []publisher.Payment
		cursor := ""
		for {
			page, next, err := svc.Payments(ctx, id, publisher.PaymentFilter{}, cursor, 2)
			require.NoError(t, err)
			payments = append(payments, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		var stored []struct {
			PaymentID string          `db:"payment_id"`
			Amount    decimal.Decimal `db:"amount_usd"`
		}
		require.NoError(t, database.Select(&stored, `SELECT payment_id, amount_usd FROM payments WHERE account_id = $1 ORDER BY month DESC`, id))
		require.Len(t, payments, len(stored), "account %d", id)
		for i, p := range payments {
			require.Equal(t, stored[i].PaymentID, p.PaymentID)
			require.Equal(t, stored[i].Amount.StringFixed(2), p.AmountUSD)
		}

		// Every line, over pages of 7; grouped by payment.
		lines := map[string]decimal.Decimal{}
		shares := map[string]decimal.Decimal{}
		count := 0
		cursor = ""
		for {
			page, next, err := svc.Transactions(ctx, id, publisher.TransactionFilter{}, cursor, 7)
			require.NoError(t, err)
			for _, line := range page {
				count++
				if line.PaymentID == "" {
					continue
				}
				lines[line.PaymentID] = lines[line.PaymentID].Add(decimal.RequireFromString(line.Amount))
				if line.Withheld != "" {
					shares[line.PaymentID] = shares[line.PaymentID].Add(decimal.RequireFromString(line.Withheld))
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		var total int
		require.NoError(t, database.Get(&total, `SELECT count(*) FROM earnings_lines WHERE account_id = $1`, id))
		require.Equal(t, total, count, "account %d: every line once", id)

		var paid []struct {
			Month     time.Time       `db:"month"`
			PaymentID string          `db:"payment_id"`
			Paid      decimal.Decimal `db:"paid_usd"`
			Withheld  decimal.Decimal `db:"withheld"`
			Carried   decimal.Decimal `db:"carried"`
			Opening   decimal.Decimal `db:"opening"`
			New       decimal.Decimal `db:"new"`
		}
		require.NoError(t, database.Select(&paid, `SELECT month, payment_id, paid_usd, withheld, carried_us + carried_other AS carried,
			opening_us + opening_other AS opening, new_us + new_other AS new FROM payouts WHERE account_id = $1 AND status = 'paid' ORDER BY month`, id))
		previousRemainder := decimal.Zero
		for _, p := range paid {
			// The payout's balance is what it consumed: its lines, the
			// previous paid payout's remainder and the returns credited
			// since (in the openings of the cycles in between).
			var returnsBetween decimal.Decimal
			require.NoError(t, database.Get(&returnsBetween, `
				SELECT coalesce(sum(r.amount_usd), 0) FROM payout_returns r
				WHERE r.account_id = $1 AND r.recorded_at < (SELECT cutoff FROM cycles WHERE month = $2)
				  AND r.recorded_at >= coalesce((SELECT max(c.cutoff) FROM payouts q JOIN cycles c ON c.month = q.month
				                                 WHERE q.account_id = $1 AND q.status = 'paid' AND q.month < $2), '-infinity')`, id, p.Month))
			consumed := p.Paid.Add(p.Withheld).Add(p.Carried).Sub(previousRemainder).Sub(returnsBetween)
			require.True(t, lines[p.PaymentID].Equal(consumed), "account %d payment %s: lines %s, consumed %s", id, p.PaymentID, lines[p.PaymentID], consumed)
			require.True(t, shares[p.PaymentID].Equal(p.Withheld), "account %d payment %s: shares %s, withheld %s", id, p.PaymentID, shares[p.PaymentID], p.Withheld)
			previousRemainder = p.Carried
			paymentsSeen++
		}
	}
	require.Greater(t, paymentsSeen, 60, "the simulation paid publishers")

	// Year-end data: each account's withholding over its tax years is the
	// withholding of its released payouts; W-8 and W-9 payees land in their
	// forms.
	withForms := 0
	for _, id := range ids {
		years, err := svc.TaxDocuments(ctx, id)
		require.NoError(t, err)
		var want decimal.Decimal
		require.NoError(t, database.Get(&want, `SELECT coalesce(sum(p.withheld), 0) FROM payouts p JOIN cycles c ON c.month = p.month
			WHERE p.account_id = $1 AND p.status = 'paid' AND c.state IN ('released', 'settled')`, id))
		got := decimal.Zero
		for _, year := range years {
			for _, row := range year.Form1042S {
				got = got.Add(decimal.RequireFromString(row.Withheld))
				require.NotContains(t, row.MaskedForeignTIN+row.MaskedUSTIN, "0123456789"[:5], "TINs are masked")
			}
			if year.Form1099 != nil {
				got = got.Add(decimal.RequireFromString(year.Form1099.Withheld))
			}
			withForms++
		}
		require.True(t, want.Equal(got), "account %d: withheld %s in payouts, %s in its tax documents", id, want, got)
	}
	require.Positive(t, withForms)
}
