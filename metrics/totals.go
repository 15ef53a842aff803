package metrics

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/payout"
)

// CycleTotals are the figures of one closed cycle the metrics show. It is
// a plain struct rather than store.Totals so that the store (and the jobs
// that close cycles) can depend on this package, not the reverse; build it
// from the JSON the close writes to cycles.totals with ParseCycleTotals.
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

// bucketJSON is store.Bucket as it is marshalled.
type bucketJSON struct {
	Count  int64           `json:"count"`
	Amount decimal.Decimal `json:"amount"`
}

// totalsJSON is the part of store.Totals (as stored in cycles.totals) the
// metrics read. A test marshals a store.Totals and parses it back, so a
// renamed field fails there rather than silently reading zero.
type totalsJSON struct {
	Paid     bucketJSON            `json:"paid"`
	Withheld decimal.Decimal       `json:"withheld"`
	Held     bucketJSON            `json:"held"`
	Carried  bucketJSON            `json:"carried"`
	ByMethod map[string]bucketJSON `json:"paid_by_method"` // keyed "method:currency"
	ByReason map[string]bucketJSON `json:"by_primary_reason"`
}

// ParseCycleTotals reads the totals JSON a close stores in cycles.totals
// (json.Marshal of store.Totals).
// Errors: the JSON is malformed.
func ParseCycleTotals(raw []byte) (CycleTotals, error) {
	var stored totalsJSON
	if err := json.Unmarshal(raw, &stored); err != nil {
		return CycleTotals{}, fmt.Errorf("metrics: cycle totals: %w", err)
	}
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
	return totals, nil
}
