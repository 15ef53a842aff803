package money

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestRoundHalfUpBoundaries(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"12.345", "12.35"}, {"12.344999", "12.34"}, {"0.005", "0.01"}, {"0.004999", "0"},
		{"0", "0"}, {"-12.345", "-12.35"}, {"29.999999", "30"}, {"15.015", "15.02"},
	} {
		require.True(t, d(tc.want).Equal(RoundHalfUp(d(tc.in), 2)), "RoundHalfUp(%s)", tc.in)
	}
}

func TestFloorToMinorKeepsRemainder(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		paid   string
		rest   string
	}{
		{"50.009999", 2, "50.00", "0.009999"},
		{"49.999999", 2, "49.99", "0.009999"},
		{"50", 2, "50", "0"},
		{"1234.5", 0, "1234", "0.5"},
		{"1.23456", 3, "1.234", "0.00056"},
		{"-0.001", 2, "-0.01", "0.009"},
	} {
		paid, rest := FloorToMinor(d(tc.in), tc.places)
		require.True(t, d(tc.paid).Equal(paid), "paid for %s: %s", tc.in, paid)
		require.True(t, d(tc.rest).Equal(rest), "remainder for %s: %s", tc.in, rest)
	}
}

func TestParseAmount(t *testing.T) {
	ok := map[string]string{"1": "1", "-0.5": "-0.5", "+12.000001": "12.000001", "0.000000": "0"}
	for in, want := range ok {
		got, err := ParseAmount(in)
		require.NoError(t, err, in)
		require.True(t, d(want).Equal(got), in)
	}
	bad := map[string]error{
		"": ErrAmountSyntax, "1e5": ErrAmountSyntax, ".5": ErrAmountSyntax, "1.": ErrAmountSyntax,
		"1,000.00": ErrAmountSyntax, "NaN": ErrAmountSyntax, " 1": ErrAmountSyntax,
		"0.0000001": ErrAmountScale, "100000000000000": ErrAmountRange,
	}
	for in, want := range bad {
		_, err := ParseAmount(in)
		require.ErrorIs(t, err, want, in)
	}
}

func TestAllocateExample(t *testing.T) {
	// 10.00 over three equal weights: 3.34 + 3.33 + 3.33.
	parts := Allocate(d("10.00"), []decimal.Decimal{d("1"), d("1"), d("1")}, 2)
	require.Equal(t, []string{"3.34", "3.33", "3.33"}, texts(parts))
	// Withholding 30.00 over lines of 60 and 40: proportional exactly.
	parts = Allocate(d("30.00"), []decimal.Decimal{d("60"), d("40")}, 2)
	require.Equal(t, []string{"18", "12"}, texts(parts))
	parts = Allocate(d("-0.05"), []decimal.Decimal{d("1"), d("1")}, 2)
	require.Equal(t, []string{"-0.03", "-0.02"}, texts(parts))
}

func texts(parts []decimal.Decimal) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.String()
	}
	return out
}

// TestAllocateSumsExactly is the conservation property: whatever the weights,
// the parts sum to the total and each part is within one unit of its exact share.
func TestAllocateSumsExactly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		places := int32(rapid.IntRange(0, 3).Draw(t, "places"))
		total := decimal.New(rapid.Int64Range(-1_000_000_00, 1_000_000_00).Draw(t, "total"), -places)
		n := rapid.IntRange(1, 40).Draw(t, "n")
		weights := make([]decimal.Decimal, n)
		for i := range weights {
			weights[i] = decimal.New(rapid.Int64Range(0, 10_000_000_000).Draw(t, "w"), -6)
		}
		parts := Allocate(total, weights, places)
		sum := decimal.Zero
		for _, p := range parts {
			sum = sum.Add(p)
			require.True(t, p.Equal(p.Round(places)), "part %s has more than %d decimals", p, places)
		}
		require.True(t, sum.Equal(total), "parts sum to %s, want %s", sum, total)
	})
}

func TestMinorUnit(t *testing.T) {
	for cur, want := range map[string]int32{"USD": 2, "JPY": 0, "BHD": 3, "EUR": 2} {
		got, err := MinorUnit(cur)
		require.NoError(t, err)
		require.Equal(t, want, got, cur)
	}
	_, err := MinorUnit("XXX")
	require.ErrorContains(t, err, "XXX")
}
