package payout_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
)

// fx_max_change defaults to 10% and is a fraction in (0, 1] with at most 4
// decimals; anything else is refused naming the field.
func TestPolicyFXMaxChange(t *testing.T) {
	t.Parallel()
	policy, err := payout.ReadPolicy(strings.NewReader(`{}`))
	require.NoError(t, err)
	require.Equal(t, "0.1", policy.FXMaxChange.String())
	require.True(t, payout.DefaultPolicy().FXMaxChange.Equal(payout.DefaultFXMaxChange))

	for _, good := range []string{`"0.25"`, `0.05`, `"1"`, `"0.0001"`, `"0.10000"`} {
		policy, err := payout.ReadPolicy(strings.NewReader(`{"fx_max_change": ` + good + `}`))
		require.NoError(t, err, good)
		require.True(t, policy.FXMaxChange.IsPositive(), good)
	}
	for _, bad := range []string{`"0"`, `"-0.1"`, `"1.5"`, `"0.12345"`, `10`} {
		_, err := payout.ReadPolicy(strings.NewReader(`{"fx_max_change": ` + bad + `}`))
		require.ErrorContains(t, err, "fx_max_change", bad)
	}
}
