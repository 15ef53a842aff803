package money

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
)

// LedgerScale is the number of decimal places the ledger keeps (NUMERIC(20,6)):
// revenue shares produce fractions of a cent (SPEC §1).
const LedgerScale = 6

// MaxLedgerAmount bounds a single ledger amount: NUMERIC(20,6) holds 14 integer
// digits.
var MaxLedgerAmount = decimal.RequireFromString("99999999999999.999999")

// CentScale is the number of decimal places of USD, the book currency.
const CentScale = 2

// Zero is the zero amount, named for readability at call sites.
var Zero = decimal.Zero

// ErrAmountSyntax is returned by ParseAmount for text that is not a plain
// decimal number.
var ErrAmountSyntax = errors.New("not a decimal number")

// ErrAmountScale is returned by ParseAmount for more decimals than the ledger keeps.
var ErrAmountScale = fmt.Errorf("more than %d decimal places", LedgerScale)

// ErrAmountRange is returned by ParseAmount for amounts NUMERIC(20,6) cannot hold.
var ErrAmountRange = errors.New("out of range")

// ParseAmount reads a ledger amount written as a plain decimal ("-12.345678").
// It refuses exponents, thousands separators, NaN, more than LedgerScale
// decimals and amounts beyond MaxLedgerAmount.
// Errors: ErrAmountSyntax, ErrAmountScale, ErrAmountRange.
func ParseAmount(text string) (decimal.Decimal, error) {
	if !plainDecimal(text) {
		return decimal.Zero, ErrAmountSyntax
	}
	if dot := strings.IndexByte(text, '.'); dot >= 0 && len(text)-dot-1 > LedgerScale {
		return decimal.Zero, ErrAmountScale
	}
	amount, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Zero, ErrAmountSyntax
	}
	if amount.Abs().GreaterThan(MaxLedgerAmount) {
		return decimal.Zero, ErrAmountRange
	}
	return amount, nil
}

// plainDecimal accepts an optional sign, digits, and an optional fraction:
// "-1", "0.5", "12.000001". Not "1e5", ".5", "1.", "+-1" or "".
func plainDecimal(text string) bool {
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		i++
	}
	start := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(text) {
		return true
	}
	if text[i] != '.' {
		return false
	}
	i++
	fractionStart := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	return i == len(text) && i > fractionStart
}

// RoundHalfUp rounds to places decimals, halves away from zero
// (12.345 → 12.35, -12.345 → -12.35). SPEC §1: withholding =
// round-half-up(rate × base, 2). Withholding bases are never negative, where
// "half up" and "half away from zero" agree.
func RoundHalfUp(amount decimal.Decimal, places int32) decimal.Decimal {
	return amount.Round(places)
}

// FloorToMinor rounds down (toward negative infinity) to places decimals and
// returns the rounded amount and the remainder left behind, which is always in
// [0, 10^-places). SPEC §1: amount paid = payable rounded down to the cent; the
// remainder stays in the balance.
func FloorToMinor(amount decimal.Decimal, places int32) (rounded, remainder decimal.Decimal) {
	rounded = amount.RoundFloor(places)
	return rounded, amount.Sub(rounded)
}

// Allocate splits total (which must be a multiple of 10^-places) over parts in
// proportion to weights with the largest-remainder method: each part gets its
// proportional share rounded toward zero, then the units left over go one each
// to the parts with the largest remainders (ties to the earlier part). The
// parts always sum exactly to total and carry its sign. Zero or mixed-sign
// weights: weights are taken by absolute value; if they are all zero the
// total goes to the first part.
func Allocate(total decimal.Decimal, weights []decimal.Decimal, places int32) []decimal.Decimal {
	parts := make([]decimal.Decimal, len(weights))
	if len(weights) == 0 {
		return parts
	}
	for i := range parts {
		parts[i] = decimal.Zero
	}
	sumWeights := decimal.Zero
	for _, w := range weights {
		sumWeights = sumWeights.Add(w.Abs())
	}
	if sumWeights.IsZero() {
		parts[0] = total
		return parts
	}
	unit := decimal.New(1, -places)
	negative := total.IsNegative()
	absTotal := total.Abs()
	type share struct {
		index     int
		remainder decimal.Decimal
	}
	shares := make([]share, len(weights))
	allocated := decimal.Zero
	for i, w := range weights {
		// DivRound with ample extra digits: only the ordering of remainders
		// depends on them, never the sum.
		exact := absTotal.Mul(w.Abs()).DivRound(sumWeights, places+16)
		floor := exact.RoundFloor(places)
		parts[i] = floor
		allocated = allocated.Add(floor)
		shares[i] = share{index: i, remainder: exact.Sub(floor)}
	}
	left := absTotal.Sub(allocated).Div(unit).IntPart()
	sort.SliceStable(shares, func(a, b int) bool {
		return shares[a].remainder.GreaterThan(shares[b].remainder)
	})
	// Each floor loses less than one unit, so fewer than len(parts) units are left.
	for k := int64(0); k < left; k++ {
		i := shares[k].index
		parts[i] = parts[i].Add(unit)
	}
	if negative {
		for i := range parts {
			parts[i] = parts[i].Neg()
		}
	}
	return parts
}
