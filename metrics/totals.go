package metrics

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
)

// CycleTotals are the figures of one closed cycle the metrics show, from
// the close's store.Totals (TotalsOf) or the JSON of them stored in
// cycles.totals (ParseCycleTotals). The metrics sit above the domain, so
// they read the store's type itself.
type CycleTotals struct {
	PaidUSD     float64
	WithheldUSD float64
	HeldUSD     float64
	CarriedUSD  float64
	// PaidByMethod counts paid payouts by method (bank, paypal).
	PaidByMethod map[string]int64
	HeldCount    int64
	CarriedCount int64
	// HeldByReason counts held publishers by primary reason.
	HeldByReason map[string]int64
}

// ParseCycleTotals reads the totals JSON a close stores in cycles.totals
// (json.Marshal of store.Totals).
// Errors: the JSON is malformed.
func ParseCycleTotals(raw []byte) (CycleTotals, error) {
	var stored store.Totals
	if err := json.Unmarshal(raw, &stored); err != nil {
		return CycleTotals{}, fmt.Errorf("metrics: cycle totals: %w", err)
	}
	return TotalsOf(stored), nil
}

// TotalsOf is what the metrics show of a cycle's totals.
func TotalsOf(stored store.Totals) CycleTotals {
	totals := CycleTotals{
		PaidUSD:      stored.Paid.Amount.InexactFloat64(),
		WithheldUSD:  stored.Withheld.InexactFloat64(),
		HeldUSD:      stored.Held.Amount.InexactFloat64(),
		CarriedUSD:   stored.Carried.Amount.InexactFloat64(),
		PaidByMethod: map[string]int64{},
		HeldCount:    stored.Held.Count,
		CarriedCount: stored.Carried.Count,
		HeldByReason: map[string]int64{},
	}
	for key, bucket := range stored.ByMethod {
		method, _, _ := strings.Cut(key, ":")
		if method == "" {
			method = MethodNone
		}
		totals.PaidByMethod[method] += bucket.Count
	}
	for reason, bucket := range stored.ByReason {
		if !payout.Reason(reason).Held() || bucket.Count == 0 {
			continue
		}
		if reason == "" {
			reason = "unknown"
		}
		totals.HeldByReason[reason] += bucket.Count
	}
	return totals
}
