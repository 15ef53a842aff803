package review

import (
	"fmt"
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/pgbinary"
)

// A code has a bit for each status, method, reason and currency value of
// the cycle, at most 63 (a bigint without its sign); a filter on a value
// without one is left to the probes, and the walk expects it to keep its
// share of the rows.
func TestCodeBitsAndTheWalksMask(t *testing.T) {
	t.Parallel()
	f := &figures{Payouts: 1000, Counts: map[string]map[string]int64{
		dimensionStatus:   {"paid": 700, "held": 120, "carried": 180},
		dimensionMethod:   {"bank": 500, "paypal": 300},
		dimensionReason:   {"payment_hold": 30, "below_threshold": 170},
		dimensionCountry:  {"US": 400, "IS": 1},
		dimensionCurrency: {},
	}}
	for i := 0; i < 60; i++ {
		f.Counts[dimensionCurrency][fmt.Sprintf("C%02d", i)] = 10
	}
	f.bits = codeBits(f)
	require.Len(t, f.bits, maxCodeBits)
	require.Equal(t, []string{"status:carried", "status:held", "status:paid", "method:bank", "method:paypal",
		"reason:below_threshold", "reason:payment_hold", "currency:C00"}, f.bits[:8])
	require.Equal(t, "currency:C55", f.bits[62], "the last currencies have no bit")

	held := dimensionFilter{dimension: dimensionStatus, value: "held"}
	paypal := dimensionFilter{dimension: dimensionMethod, value: "paypal"}
	noBit := dimensionFilter{dimension: dimensionCurrency, value: "C58"}
	require.Equal(t, int64(1<<1|1<<4), f.mask([]dimensionFilter{held, paypal}))
	require.Zero(t, f.mask([]dimensionFilter{noBit}))

	w := chooseWalk(SortPaid, true, []dimensionFilter{held, noBit}, "", f, 51)
	require.NotNil(t, w)
	require.Equal(t, int64(1<<1), w.mask)
	require.InDelta(t, 0.12, w.expected, 1e-9, "held's share, skipped by its bit")
	require.InDelta(t, 0.01, w.share, 1e-9, "C58's share, probed")

	require.Nil(t, chooseWalk(SortPaid, false, nil, "IS", f, 51), "1 row read by its country beats 51,000 probes")
	w = chooseWalk(SortPaid, false, []dimensionFilter{held}, "US", f, 51)
	require.NotNil(t, w, "128 probes beat reading 400 rows")
	require.InDelta(t, 0.4, w.share, 1e-9)
}

// millionths reads PostgreSQL's binary NUMERIC exactly (written here by
// internal/pgbinary, which COPY's tests check against the server), and
// refuses what millionths in an int64 cannot hold.
func TestMillionthsOfABinaryNumeric(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int64{
		"0": 0, "0.000001": 1, "-0.000001": -1, "1": 1_000_000, "-1": -1_000_000, "0.01": 10_000, "12.5": 12_500_000,
		"10000": 10_000_000_000, "123456789.123456": 123_456_789_123_456, "-987654.3": -987_654_300_000,
		"9223372036854.775807": math.MaxInt64, "-9223372036854.775807": -math.MaxInt64, "0.100000": 100_000,
		"100000000.000001": 100_000_000_000_001, "5000.0001": 5_000_000_100,
	} {
		got, ok := millionths(pgbinary.AppendDecimal(nil, decimal.RequireFromString(text))[4:])
		require.True(t, ok, text)
		require.Equal(t, want, got, text)
	}
	for _, text := range []string{"9223372036854.775808", "-9223372036854.775808", "99999999999999.999999", "0.0000001", "1.00000005", "1e30"} {
		_, ok := millionths(pgbinary.AppendDecimal(nil, decimal.RequireFromString(text))[4:])
		require.False(t, ok, text)
	}
	for _, raw := range [][]byte{nil, {0, 1, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0xC0, 0, 0, 0}} {
		_, ok := millionths(raw)
		require.False(t, ok, "%x: cut, or NaN", raw)
	}
	sum, ok := addMillionths(math.MaxInt64, 1)
	require.False(t, ok, "%d", sum)
	sum, ok = addMillionths(math.MinInt64, -1)
	require.False(t, ok, "%d", sum)
	sum, ok = addMillionths(math.MaxInt64, math.MinInt64)
	require.True(t, ok)
	require.EqualValues(t, -1, sum)
}
