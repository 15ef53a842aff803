package cycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout/cycle"
)

func TestCloseKeysRoundTrip(t *testing.T) {
	oct, nov := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	month, until, _, err := cycle.ParseCloseKey(cycle.CloseKey(oct, nov), false)
	require.NoError(t, err)
	require.Equal(t, []time.Time{oct, nov}, []time.Time{month, until})
	_, _, shard, err := cycle.ParseCloseKey(cycle.ShardKey(oct, nov, 7), true)
	require.NoError(t, err)
	require.Equal(t, 7, shard)
	for _, bad := range []struct {
		key   string
		shard bool
	}{{"2026-10", false}, {"2026-10/2026-11/3", false}, {"2026-10/2026-11", true}, {"2026-13/2026-11", false}, {"2026-10/2026-11/-1", true}, {"2026-10/2026-11/x", true}} {
		_, _, _, err := cycle.ParseCloseKey(bad.key, bad.shard)
		require.Error(t, err, bad.key)
		require.Contains(t, err.Error(), bad.key)
	}
}
