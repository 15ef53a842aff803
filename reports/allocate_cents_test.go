package reports

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// requireSameAllocation checks AllocateWithholdingCents against
// AllocateWithholding on the same lines: the same nil, the same cents.
func requireSameAllocation(t require.TestingT, withheldCents int64, amountsMicro []int64) {
	amounts := make([]decimal.Decimal, len(amountsMicro))
	for i, a := range amountsMicro {
		amounts[i] = decimal.New(a, -6)
	}
	want := AllocateWithholding(decimal.New(withheldCents, -2), amounts)
	got := AllocateWithholdingCents(withheldCents, amountsMicro)
	if want == nil {
		require.Nil(t, got, "withheld %d cents over %d lines: the decimal allocation refuses", withheldCents, len(amountsMicro))
		return
	}
	require.NotNil(t, got, "withheld %d cents over %d lines", withheldCents, len(amountsMicro))
	require.Len(t, got, len(want))
	for i := range want {
		if !want[i].Equal(decimal.New(got[i], -2)) {
			require.Failf(t, "parts differ", "line %d (amount %d micro, withheld %d cents over %d lines): decimal %s, cents %d",
				i, amountsMicro[i], withheldCents, len(amountsMicro), want[i], got[i])
		}
	}
}

func TestAllocateWithholdingCentsExamples(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withheld int64
		amounts  []int64
		want     []int64
	}{
		// TestAllocateWithholdingExamples, in cents and micro-dollars.
		{"proportional", 3000, []int64{60_000_000, 40_000_000}, []int64{1800, 1200}},
		{"largest remainder", 1000, []int64{1_000_000, 1_000_000, 1_000_000}, []int64{334, 333, 333}},
		{"refund gets nothing", 1500, []int64{60_000_000, -10_000_000, 0, 40_000_000}, []int64{900, 0, 0, 600}},
		{"sub-cent lines", 1, []int64{4000, 6000}, []int64{0, 1}},
		{"nothing withheld", 0, []int64{12_500_000, -3_000_000}, []int64{0, 0}},
		{"no lines, nothing withheld", 0, nil, []int64{}},
		{"nothing positive, nothing withheld", 0, []int64{-1, 0}, []int64{0, 0}},
		// 10^16/2^17 ends in exactly .5: the share rounds half up to 18
		// decimals (76293945312.5 → ...313 of 10^-16 cents) and wins the tie.
		{"exact half", 1, []int64{1, 131_071}, []int64{0, 1}},
		{"ties to the earlier line", 2, []int64{5, 1, 5, 5}, []int64{1, 0, 1, 0}},
		// Σ = 2·10^16 micro-dollars: the shares are w/2 in 10^-16 cents, the
		// first's 3999999999999999.5 rounds up to tie with the second's
		// 4000000000000000, and the tie goes to the first.
		{"half rounds up into a tie", 1, []int64{8e15 - 1, 8e15, 4e15 + 1}, []int64{1, 0, 0}},
		{"half rounds up into a tie, huge sum", 1, []int64{8e18 - 1000, 8e18, 4e18 + 1000}, []int64{1, 0, 0}},
		// Over 2^64 micro-dollars in all: the big-integer path.
		{"huge sum", 1001, []int64{math.MaxInt64, math.MaxInt64, 1, math.MaxInt64 / 3}, []int64{429, 429, 0, 143}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AllocateWithholdingCents(tc.withheld, tc.amounts)
			require.NotNil(t, got)
			require.Equal(t, tc.want, got)
			requireSameAllocation(t, tc.withheld, tc.amounts)
		})
	}
	// What AllocateWithholding refuses.
	require.Nil(t, AllocateWithholdingCents(100, []int64{-5_000_000}), "withheld with no positive line")
	require.Nil(t, AllocateWithholdingCents(100, nil))
	require.Nil(t, AllocateWithholdingCents(-100, []int64{5_000_000}))
	requireSameAllocation(t, 100, []int64{-5_000_000})
	requireSameAllocation(t, 100, nil)
	requireSameAllocation(t, -100, []int64{5_000_000})
}

// TestAllocateWithholdingCentsEqualsDecimal: AllocateWithholdingCents gives
// AllocateWithholding's parts, to the cent, for any lines: up to 2000 of
// them, amounts of every magnitude the int64 micro-dollars hold (refunds
// and zeros too), withholding from none to huge, and shapes that make
// remainders tie (equal amounts, a few distinct amounts, amounts summing to
// a power of two, where shares end in exact halves, and halves that round
// up into a tie: halfTies).
func TestAllocateWithholdingCentsEqualsDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 2000).Draw(t, "lines")
		amounts := make([]int64, n)
		shape := rapid.IntRange(0, 7).Draw(t, "shape")
		switch shape {
		case 0: // ledger-like: cents and fractions, one refund in ten
			for i := range amounts {
				amounts[i] = rapid.Int64Range(1, 50_000_000).Draw(t, "amount")
				if rapid.IntRange(0, 9).Draw(t, "refund") == 0 {
					amounts[i] = -rapid.Int64Range(0, 5_000_000).Draw(t, "refund amount")
				}
			}
		case 1: // any int64: very large and very small mixed, negatives, zeros
			for i := range amounts {
				switch rapid.IntRange(0, 4).Draw(t, "magnitude") {
				case 0:
					amounts[i] = rapid.Int64Range(-10, 10).Draw(t, "amount")
				case 1:
					amounts[i] = rapid.Int64Range(math.MaxInt64/4, math.MaxInt64).Draw(t, "amount")
				case 2:
					amounts[i] = rapid.Int64Range(math.MinInt64, 0).Draw(t, "amount")
				default:
					amounts[i] = rapid.Int64().Draw(t, "amount")
				}
			}
		case 2: // equal amounts: every remainder ties
			a := rapid.Int64Range(-1, 1_000_000_000).Draw(t, "amount")
			for i := range amounts {
				amounts[i] = a
			}
		case 3: // a few distinct amounts: remainders tie in groups
			values := rapid.SliceOfN(rapid.Int64Range(-3, 3_000_000), 1, 4).Draw(t, "values")
			for i := range amounts {
				amounts[i] = values[rapid.IntRange(0, len(values)-1).Draw(t, "value")]
			}
		case 4: // positive amounts summing to 2^k (k >= 17): shares in exact halves of 10^-18
			k := rapid.IntRange(17, 40).Draw(t, "k")
			left := int64(1) << k
			for i := range amounts {
				if i == n-1 {
					amounts[i] = left
					break
				}
				amounts[i] = rapid.Int64Range(0, left).Draw(t, "amount")
				left -= amounts[i]
			}
		case 5: // mostly zeros and refunds, a few positive lines
			for i := range amounts {
				amounts[i] = -rapid.Int64Range(0, 3).Draw(t, "amount")
				if rapid.IntRange(0, 50).Draw(t, "positive") == 0 {
					amounts[i] = rapid.Int64Range(1, 1_000_000_000_000).Draw(t, "amount")
				}
			}
		case 6: // huge lines, sums over 2^64: the big-integer path
			for i := range amounts {
				amounts[i] = rapid.Int64Range(-1_000_000, math.MaxInt64).Draw(t, "amount")
			}
		}
		if shape == 7 {
			withheld, amounts := halfTies(t)
			requireSameAllocation(t, withheld, amounts)
			return
		}
		var withheld int64
		switch rapid.IntRange(0, 3).Draw(t, "withheld size") {
		case 0:
			withheld = rapid.Int64Range(0, 100).Draw(t, "withheld cents")
		case 1:
			withheld = rapid.Int64Range(0, 10_000_000).Draw(t, "withheld cents")
		case 2:
			withheld = rapid.Int64Range(0, 1_000_000_000_000_000).Draw(t, "withheld cents")
		default:
			withheld = rapid.Int64Range(-5, math.MaxInt64).Draw(t, "withheld cents")
		}
		requireSameAllocation(t, withheld, amounts)
	})
}

// halfTies builds lines where rounding halves up decides who gets the
// cents. p pairs of lines 2c-1, 2c, one line F, some refunds, summing to
// S = 2·10^16·T micro-dollars for T cents withheld, so that each line's
// share is w/2 in 10^-16 cents: the pair's are c-0.5 (rounded up to c) and
// c, with c = 10^16·k/(2p) below a cent, F's is whole cents plus a
// remainder below c, and k cents are left for the 2p lines tied at c: the
// first k of them get one, as the stable sort gives them. (Rounding the
// halves down would give the pairs' second lines the cents first.)
func halfTies(t *rapid.T) (int64, []int64) {
	const unit = 10_000_000_000_000_000
	p := rapid.Int64Range(1, 1000).Draw(t, "pairs")
	g := gcd(2*p, unit)
	step := 2 * p / g // k must be a multiple of it for c to be whole
	j := rapid.Int64Range(1, max(1, (2*p-1)/step)).Draw(t, "j")
	k := step * j
	c := unit / g * j
	withheld := k + rapid.Int64Range(0, 400).Draw(t, "more cents")
	var amounts []int64
	for range p {
		amounts = append(amounts, 2*c-1, 2*c)
		for rapid.IntRange(0, 9).Draw(t, "refund") == 0 {
			amounts = append(amounts, -rapid.Int64Range(0, 1000).Draw(t, "refund"))
		}
	}
	f := 2*unit*(withheld-k) + p
	at := rapid.IntRange(0, len(amounts)).Draw(t, "F at")
	amounts = append(amounts[:at], append([]int64{f}, amounts[at:]...)...)
	return withheld, amounts
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// BenchmarkAllocateWithholding: one payout's 400k US-sourced lines (the
// issue's 1M-line payout), as decimals and as integers.
func BenchmarkAllocateWithholding(b *testing.B) {
	const n = 400_000
	amounts := make([]int64, n)
	decimals := make([]decimal.Decimal, n)
	var positive int64
	for i := range amounts {
		amounts[i] = int64(i%20_000_000+1) * 7
		if i%20 == 19 {
			amounts[i] = -int64(i % 99)
		}
		decimals[i] = decimal.New(amounts[i], -6)
		positive += max(amounts[i], 0)
	}
	withheld := positive * 3 / 10 / 10_000 // 30%, in cents
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			AllocateWithholding(decimal.New(withheld, -2), decimals)
		}
	})
	b.Run("cents", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			AllocateWithholdingCents(withheld, amounts)
		}
	})
}
