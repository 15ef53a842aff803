package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/payout/store"
)

// Invariants of the publisher payouts view (SPEC §7.12).
const (
	// InvariantEstimateIsClose: the next payment estimate of every account,
	// taken at the cutoff instant before the close, is the close's decision.
	InvariantEstimateIsClose = "estimate_equals_close"
	// InvariantSummaryReconciles: every account's summary states add up to
	// its ledger balance (after every close and release).
	InvariantSummaryReconciles = "summary_reconciles"
)

// ViewSample bounds how many accounts the two invariants above check per
// cycle: every account of a marketplace up to that size (the tests and the
// scenarios), a sample drawn from the seed and the month beyond it (the
// demo's 1,200 publishers, the long sweep), so that the per-account reads
// (a few milliseconds each) do not dominate a large simulation.
const ViewSample = 300

// sampled lists the accounts the view invariants check for month.
func (c *Cycler) sampled(ctx context.Context, month time.Time) ([]int64, error) {
	var ids []int64
	if err := c.S.DB.SelectContext(ctx, &ids, `SELECT id FROM accounts ORDER BY id`); err != nil {
		return nil, err
	}
	if len(ids) <= ViewSample {
		return ids, nil
	}
	r := rand.New(rand.NewPCG(c.Seed, uint64(month.Unix())^0x76696577))
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:ViewSample]
	slices.Sort(ids)
	return ids, nil
}

// estimates takes the sampled accounts' estimates of month as of its
// cutoff.
func (c *Cycler) estimates(ctx context.Context, month time.Time) (map[int64]store.Estimate, error) {
	cutoff := c.Policy.CalendarFor(month).Cutoff
	ids, err := c.sampled(ctx, month)
	if err != nil {
		return nil, err
	}
	estimates := make(map[int64]store.Estimate, len(ids))
	for _, id := range ids {
		estimate, err := c.S.Store.Estimate(ctx, id, cutoff, c.Policy)
		if err != nil {
			return nil, fmt.Errorf("estimate of account %d: %w", id, err)
		}
		estimates[id] = estimate
	}
	return estimates, nil
}

// checkEstimates compares the estimates with the payouts rows the close of
// month wrote: an account is evaluated exactly when it has a row, with the
// same status, reasons and amounts.
func (c *Cycler) checkEstimates(ctx context.Context, month time.Time, estimates map[int64]store.Estimate) error {
	checker := checker{s: c.S, seed: c.Seed, month: month}
	type row struct {
		AccountID  int64           `db:"account_id"`
		Status     string          `db:"status"`
		Reasons    string          `db:"reasons"`
		BalanceUS  decimal.Decimal `db:"balance_us"`
		Other      decimal.Decimal `db:"balance_other"`
		Withheld   decimal.Decimal `db:"withheld"`
		Paid       decimal.Decimal `db:"paid_usd"`
		CarriedUS  decimal.Decimal `db:"carried_us"`
		CarriedOth decimal.Decimal `db:"carried_other"`
		RateReason string          `db:"rate_reason"`
	}
	var rows []row
	if err := c.S.DB.SelectContext(ctx, &rows, `SELECT account_id, status, array_to_string(reasons, ',') AS reasons, balance_us, balance_other,
		withheld, paid_usd, carried_us, carried_other, rate_reason FROM payouts WHERE month = $1`, month); err != nil {
		return err
	}
	decided := make(map[int64]row, len(rows))
	for _, r := range rows {
		if _, sampled := estimates[r.AccountID]; sampled {
			decided[r.AccountID] = r
		}
	}
	for id, e := range estimates {
		r, ok := decided[id]
		if ok != e.Evaluated {
			return checker.broken(InvariantEstimateIsClose, "account %d: estimated evaluated=%t, the close wrote a row: %t", id, e.Evaluated, ok)
		}
		if !ok {
			continue
		}
		d := e.Decision
		reasons := make([]string, len(d.Reasons))
		for i, reason := range d.Reasons {
			reasons[i] = string(reason)
		}
		got := fmt.Sprintf("%s [%s] %s/%s withheld %s paid %s carried %s/%s %q", d.Status, strings.Join(reasons, ","), d.BalanceUS, d.BalanceOther,
			d.Withheld.StringFixed(2), d.Paid.StringFixed(2), d.CarriedUS, d.CarriedOther, d.RateReason)
		want := fmt.Sprintf("%s [%s] %s/%s withheld %s paid %s carried %s/%s %q", r.Status, r.Reasons, r.BalanceUS, r.Other,
			r.Withheld.StringFixed(2), r.Paid.StringFixed(2), r.CarriedUS, r.CarriedOth, r.RateReason)
		if got != want {
			return checker.broken(InvariantEstimateIsClose, "account %d: the estimate at the cutoff said %s, the close decided %s", id, got, want)
		}
	}
	if len(decided) != countEvaluated(estimates) {
		return checker.broken(InvariantEstimateIsClose, "the close decided %d accounts, the estimates evaluated %d", len(decided), countEvaluated(estimates))
	}
	return nil
}

func countEvaluated(estimates map[int64]store.Estimate) int {
	n := 0
	for _, e := range estimates {
		if e.Evaluated {
			n++
		}
	}
	return n
}

// checkSummaries requires every account's payouts summary, as of now, to
// reconcile with its ledger balance.
func (c *Cycler) checkSummaries(ctx context.Context, month time.Time) error {
	checker := checker{s: c.S, seed: c.Seed, month: month}
	svc := &publisher.Service{DB: c.S.DB, Store: c.S.Store, Clock: c.S.Clock.Now,
		Policy: func() (payout.Policy, error) { return c.Policy, nil }}
	ids, err := c.sampled(ctx, month)
	if err != nil {
		return err
	}
	for _, id := range ids {
		summary, err := svc.Summary(ctx, id)
		if err != nil {
			return fmt.Errorf("summary of account %d: %w", id, err)
		}
		if !summary.Reconciled {
			return checker.broken(InvariantSummaryReconciles, "account %d (%s): unprocessed %s + upcoming %s + held %s + carried %s + returned %s is not the ledger balance %s",
				id, summary.SellerID, summary.Unprocessed.Amount, summary.Upcoming.Amount, summary.Held.Amount, summary.Carried.Amount,
				summary.Returned.Amount, summary.Balance)
		}
	}
	return nil
}
