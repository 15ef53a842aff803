package reports

import (
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestExactSumMatchesDecimal: the fast path never changes a total.
func TestExactSumMatchesDecimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var sum exactSum
		want := decimal.Zero
		for range rapid.IntRange(0, 50).Draw(t, "n") {
			var d decimal.Decimal
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				d = decimal.New(rapid.Int64().Draw(t, "any"), int32(rapid.IntRange(-9, 3).Draw(t, "exp")))
			case 1:
				d = decimal.New(rapid.Int64Range(math.MaxInt64-10, math.MaxInt64).Draw(t, "huge"), -6)
			default:
				d = decimal.New(rapid.Int64Range(-1e12, 1e12).Draw(t, "amount"), int32(rapid.IntRange(-6, 0).Draw(t, "exp")))
			}
			sum.add(d)
			want = want.Add(d)
		}
		require.True(t, want.Equal(sum.value()), "sum %s, want %s", sum.value(), want)
	})
}
