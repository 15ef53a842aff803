package publisher

import (
	"hash/maphash"
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestCentsText: centsText writes what decimal.New(cents, -2).StringFixed(2)
// does, the withheld text the keyed allocation gave.
func TestCentsText(t *testing.T) {
	for _, cents := range []int64{0, 1, 9, 10, 99, 100, 101, 12345, -1, -5, -100, -12345, math.MaxInt64, math.MinInt64 + 1, math.MinInt64} {
		require.Equal(t, decimal.New(cents, -2).StringFixed(2), centsText(cents), "%d cents", cents)
	}
	rapid.Check(t, func(t *rapid.T) {
		cents := rapid.Int64().Draw(t, "cents")
		require.Equal(t, decimal.New(cents, -2).StringFixed(2), centsText(cents))
	})
}

// TestCentsOf: whole cents that int64 holds, nothing else.
func TestCentsOf(t *testing.T) {
	for text, want := range map[string]int64{"0": 0, "30.00": 3000, "0.01": 1, "-1.5": -150, "92233720368547758.07": math.MaxInt64} {
		cents, ok := centsOf(decimal.RequireFromString(text))
		require.True(t, ok, text)
		require.Equal(t, want, cents, text)
	}
	for _, text := range []string{"0.001", "1.005", "92233720368547758.08", "1e30"} {
		_, ok := centsOf(decimal.RequireFromString(text))
		require.False(t, ok, text)
	}
}

// TestPayoutSharesTake: the shares go out last first, each to the line
// whose key it was computed for; another line gets none.
func TestPayoutSharesTake(t *testing.T) {
	seed := maphash.MakeSeed()
	keys := []uint32{lineHash(seed, "a", "app"), lineHash(seed, "b", "app"), lineHash(seed, "c", "app")}
	p := &payoutShares{cents: []int64{1, 2, 3}, keys: keys, next: 1} // "c" is after the export's end
	_, ok := p.take(lineHash(seed, "c", "app"))
	require.False(t, ok, "not the line expected")
	cents, ok := p.take(lineHash(seed, "b", "app"))
	require.True(t, ok)
	require.EqualValues(t, 2, cents)
	cents, ok = p.take(lineHash(seed, "a", "app"))
	require.True(t, ok)
	require.EqualValues(t, 1, cents)
	_, ok = p.take(lineHash(seed, "a", "app"))
	require.False(t, ok, "no line left")
	require.NotEqual(t, lineHash(seed, "ab", "c"), lineHash(seed, "a", "bc"), "the key's parts are separated")
}
