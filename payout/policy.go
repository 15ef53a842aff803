package payout

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/payout/paypal"
)

// DefaultThreshold is the payout threshold for every method and currency
// (SPEC §3.2: $50.00).
var DefaultThreshold = decimal.RequireFromString("50.00")

// DefaultPayPalItemMax is PayPal's per-item maximum in USD (SPEC §6.2:
// 20,000.00 USD, or its equivalent in the item's currency). A payment above
// it goes out as several items (SplitPayPalAmount).
var DefaultPayPalItemMax = decimal.RequireFromString("20000.00")

// DefaultFXMaxChange is how far a cycle's FX rate may move from the previous
// cycle's rate for the currency without an explicit confirmation (SPEC §6.4:
// 10%).
var DefaultFXMaxChange = decimal.RequireFromString("0.10")

// Policy is the configuration a close applies. A cycle records the policy it
// was closed with, so a re-run or a later look gives the same answers.
type Policy struct {
	// Threshold applies unless Thresholds names the method and currency.
	Threshold decimal.Decimal `json:"threshold"`
	// Thresholds by "method:currency" (e.g. "paypal:EUR"), in USD.
	Thresholds map[string]decimal.Decimal `json:"thresholds,omitempty"`
	// BackupWithholding pays W-9s with a missing or mismatched TIN at 24%
	// instead of holding them (SPEC §5.3).
	BackupWithholding bool `json:"backup_withholding"`
	// Approval turns on maker-checker: a closed cycle waits for a
	// finance_approver other than the closer (SPEC §3.4).
	Approval bool `json:"approval"`
	// CloseDay and CloseHour schedule the close (default the 5th, 06:00 UTC).
	CloseDay  int `json:"close_day"`
	CloseHour int `json:"close_hour"`
	// PaymentDay is the day of the month payments are dated (default 15th),
	// moved to the next business day.
	PaymentDay int `json:"payment_day"`
	// Holidays are bank holidays (YYYY-MM-DD) on which no payment is dated.
	Holidays []string `json:"holidays,omitempty"`
	// FXMaxChange is the band of an FX import (SPEC §6.4), a fraction: a
	// rate that moves more than this from the previous cycle's rate for the
	// currency is loaded only when the operator confirms it (default 0.10).
	FXMaxChange decimal.Decimal `json:"fx_max_change"`
	// PayPalItemMax is PayPal's per-item maximum by currency (SPEC §6.2),
	// e.g. {"USD": "20000.00", "JPY": "3000000"}. A currency it does not
	// name gets the USD maximum (this map's "USD", else
	// DefaultPayPalItemMax) converted at the cycle's rate, rounded down to
	// the currency's PayPal minor unit. Left out of the JSON when empty, so
	// the recorded policy of a cycle that never set it is unchanged.
	PayPalItemMax map[string]decimal.Decimal `json:"paypal_item_max,omitempty"`
}

// DefaultPolicy is SPEC's defaults.
func DefaultPolicy() Policy {
	return Policy{Threshold: DefaultThreshold, CloseDay: 5, CloseHour: 6, PaymentDay: 15, FXMaxChange: DefaultFXMaxChange}
}

// ThresholdFor returns the threshold for a payout method and currency.
func (p Policy) ThresholdFor(method Method, currency string) decimal.Decimal {
	if threshold, ok := p.Thresholds[string(method)+":"+currency]; ok {
		return threshold
	}
	return p.Threshold
}

// Validate checks a policy; errors name the field.
func (p Policy) Validate() error {
	if p.Threshold.IsNegative() || !p.Threshold.Equal(p.Threshold.Round(2)) {
		return fmt.Errorf("threshold: %s is not a non-negative amount in cents", p.Threshold)
	}
	for key, threshold := range p.Thresholds {
		if threshold.IsNegative() || !threshold.Equal(threshold.Round(2)) {
			return fmt.Errorf("thresholds[%s]: %s is not a non-negative amount in cents", key, threshold)
		}
	}
	if p.CloseDay < 1 || p.CloseDay > 28 {
		return fmt.Errorf("close_day: %d is not between 1 and 28", p.CloseDay)
	}
	if p.CloseHour < 0 || p.CloseHour > 23 {
		return fmt.Errorf("close_hour: %d is not between 0 and 23", p.CloseHour)
	}
	if p.PaymentDay < 1 || p.PaymentDay > 28 {
		return fmt.Errorf("payment_day: %d is not between 1 and 28", p.PaymentDay)
	}
	if p.PaymentDay < p.CloseDay {
		return fmt.Errorf("payment_day: %d is before close_day %d", p.PaymentDay, p.CloseDay)
	}
	for _, day := range p.Holidays {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return fmt.Errorf("holidays: %q is not YYYY-MM-DD", day)
		}
	}
	if !p.FXMaxChange.IsPositive() || p.FXMaxChange.GreaterThan(decimal.NewFromInt(1)) || !p.FXMaxChange.Equal(p.FXMaxChange.Round(4)) {
		return fmt.Errorf("fx_max_change: %s is not a fraction above 0 and at most 1 with at most 4 decimals (0.10 is 10%%)", p.FXMaxChange)
	}
	for _, currency := range slices.Sorted(maps.Keys(p.PayPalItemMax)) {
		limit := p.PayPalItemMax[currency]
		places, err := paypal.Decimals(currency)
		if err != nil {
			return fmt.Errorf("paypal_item_max[%s]: %v", currency, err)
		}
		if !limit.IsPositive() || !limit.Equal(limit.Truncate(places)) {
			return fmt.Errorf("paypal_item_max[%s]: %s is not an amount above 0 with at most %d decimals", currency, limit, places)
		}
	}
	return nil
}

// PayPalItemMaxFor is PayPal's per-item maximum in currency (SPEC §6.2): the
// policy's paypal_item_max for the currency when it names one; otherwise
// the USD maximum (paypal_item_max["USD"], default 20,000.00) converted at
// rate (units of currency per USD, the cycle's rate; 1 for USD) and rounded
// down to the currency's PayPal minor unit, so an item never exceeds the
// USD maximum's equivalent.
// Errors: a currency PayPal does not pay in, a rate that is not positive.
func (p Policy) PayPalItemMaxFor(currency string, rate decimal.Decimal) (decimal.Decimal, error) {
	if limit, ok := p.PayPalItemMax[currency]; ok {
		return limit, nil
	}
	places, err := paypal.Decimals(currency)
	if err != nil {
		return decimal.Zero, err
	}
	if !rate.IsPositive() {
		return decimal.Zero, fmt.Errorf("PayPal item maximum in %s: no rate to convert the USD maximum with", currency)
	}
	usd, ok := p.PayPalItemMax["USD"]
	if !ok {
		usd = DefaultPayPalItemMax
	}
	if currency == "USD" {
		return usd, nil
	}
	limit, _ := money.FloorToMinor(usd.Mul(rate), places)
	if !limit.IsPositive() {
		return decimal.Zero, fmt.Errorf("PayPal item maximum in %s: %s USD at %s rounds down to nothing", currency, usd, rate)
	}
	return limit, nil
}

// SplitPayPalAmount splits a payment's amount into PayPal items of at most
// max (SPEC §6.2): as many items of exactly max as fit, then the remainder
// as the last item — the simplest split to audit (every item but the last
// is the maximum). An amount up to max is one item, itself. The items sum
// exactly to amount and each is above zero. amount and max must be
// positive.
func SplitPayPalAmount(amount, max decimal.Decimal) []decimal.Decimal {
	if !amount.GreaterThan(max) || !max.IsPositive() {
		return []decimal.Decimal{amount}
	}
	full := amount.Div(max).Floor()
	count := int(full.IntPart())
	items := make([]decimal.Decimal, 0, count+1)
	for range count {
		items = append(items, max)
	}
	if rest := amount.Sub(max.Mul(full)); rest.IsPositive() {
		items = append(items, rest)
	}
	return items
}

// PayPalItemCount is how many items SplitPayPalAmount makes of amount,
// without making them.
func PayPalItemCount(amount, max decimal.Decimal) int64 {
	if !amount.GreaterThan(max) || !max.IsPositive() {
		return 1
	}
	return amount.Div(max).Ceil().IntPart()
}

// PayPalItemID is the sender_item_id of item n (from 1) of a payment sent
// as several PayPal items: the payment id, "-", n ("P20261100000042-2").
// A payment sent as one item keeps its payment id.
func PayPalItemID(paymentID string, n int) string {
	return paymentID + "-" + strconv.Itoa(n)
}

// ReadPolicy reads a policy file (JSON) over the defaults: fields it leaves
// out keep their default. Unknown fields are an error.
func ReadPolicy(r io.Reader) (Policy, error) {
	policy := DefaultPolicy()
	decoder := json.NewDecoder(r)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&policy); err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	sort.Strings(policy.Holidays)
	return policy, policy.Validate()
}

// Calendar is a cycle's fixed instants (SPEC §3.1).
type Calendar struct {
	Month       time.Time // the first day of the payment month, 00:00 UTC
	Cutoff      time.Time // = Month: facts strictly before it count
	CloseAt     time.Time // the scheduled close
	PaymentDate time.Time // the payment day, moved to a business day
}

// ParseMonth reads "YYYY-MM". Errors name the value.
func ParseMonth(text string) (time.Time, error) {
	month, err := time.Parse("2006-01", text)
	if err != nil {
		return time.Time{}, fmt.Errorf("month: %q is not YYYY-MM", text)
	}
	return month.UTC(), nil
}

// CalendarFor computes the instants of payment month (any instant in it).
func (p Policy) CalendarFor(month time.Time) Calendar {
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Calendar{
		Month:       first,
		Cutoff:      first,
		CloseAt:     first.AddDate(0, 0, p.CloseDay-1).Add(time.Duration(p.CloseHour) * time.Hour),
		PaymentDate: p.BusinessDayFrom(first.AddDate(0, 0, p.PaymentDay-1)),
	}
}

// SettlementDate is the date a cycle's payment files settle when its
// release started at releasedAt (SPEC §3.1), the one rule for every rail:
// the ACH effective entry date, the pain.001 requested execution date and
// the PayPal batch's date.
//
//   - A release on a day before the scheduled payment date settles on the
//     payment date.
//   - A release on or after the payment date (its UTC calendar day)
//     settles on the next banking day after the release's day: the day
//     after it, moved past Saturdays, Sundays and the policy's holidays
//     (BusinessDayFrom).
//
// Only the date moves: amounts, rates and the treaty rate (in force on the
// scheduled payment date) are the close's. The result is a date at 00:00
// UTC, like Calendar.PaymentDate.
func SettlementDate(policy Policy, calendar Calendar, releasedAt time.Time) time.Time {
	u := releasedAt.UTC()
	releaseDay := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	if releaseDay.Before(calendar.PaymentDate) {
		return calendar.PaymentDate
	}
	return policy.BusinessDayFrom(releaseDay.AddDate(0, 0, 1))
}

// BusinessDayFrom returns day, or the next day that is neither a weekend
// nor a configured holiday.
func (p Policy) BusinessDayFrom(day time.Time) time.Time {
	holidays := make(map[string]bool, len(p.Holidays))
	for _, h := range p.Holidays {
		holidays[h] = true
	}
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday || holidays[day.Format(time.DateOnly)] {
		day = day.AddDate(0, 0, 1)
	}
	return day
}

// MonthName formats a payment month as "2026-11".
func MonthName(month time.Time) string { return month.Format("2006-01") }
