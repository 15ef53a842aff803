package metrics_test

import (
	"encoding/json"
	"testing"

	"github.com/payrun/payrun/metrics"
	"github.com/payrun/payrun/payout"
)

// payrun_held_publishers is labelled by every reason that holds — the rail
// limit's amount_over_rail_limit (SPEC §6.4) included — and by none that
// carries.
func TestHeldPublishersLabelEveryHeldReason(t *testing.T) {
	t.Parallel()
	held := []payout.Reason{payout.AccountNotVerified, payout.AgreementNotAccepted, payout.PaymentHold, payout.NoPayoutAccount,
		payout.PayoutAccountUnverified, payout.TaxProfileMissing, payout.TaxProfileExpired, payout.TaxProfileInvalid, payout.AmountOverRailLimit}
	carried := []payout.Reason{payout.NegativeBalance, payout.ZeroBalance, payout.BelowThreshold}
	byReason := map[string]map[string]any{}
	for _, r := range append(append([]payout.Reason{}, held...), carried...) {
		byReason[string(r)] = map[string]any{"count": 1, "amount": "1"}
	}
	raw, err := json.Marshal(map[string]any{"by_primary_reason": byReason})
	if err != nil {
		t.Fatal(err)
	}
	totals, err := metrics.ParseCycleTotals(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range held {
		if totals.HeldByReason[string(r)] != 1 {
			t.Errorf("held reason %s: %d publishers, want 1", r, totals.HeldByReason[string(r)])
		}
	}
	for _, r := range carried {
		if _, ok := totals.HeldByReason[string(r)]; ok {
			t.Errorf("carry reason %s labels payrun_held_publishers", r)
		}
	}
}
