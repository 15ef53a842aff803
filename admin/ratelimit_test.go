package admin

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRateLimiterMemoryIsBounded: a flood of fresh keys (addresses, names)
// never grows a bucket table past its cap, idle keys go first, and a busy
// key's bucket survives the flood of idle ones.
func TestRateLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	l := newLimiter(2, time.Second, 100)
	for i := range 10000 {
		ok, _ := l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
		require.True(t, ok)
		require.LessOrEqual(t, l.size(), 100)
	}

	// Idle keys (refilled buckets) are dropped as new keys come, before
	// the cap is reached.
	l = newLimiter(2, time.Second, 100)
	for i := range 50 {
		l.allow(fmt.Sprint("idle-", i), now)
	}
	later := now.Add(time.Minute)
	for i := range 50 {
		l.allow(fmt.Sprint("new-", i), later)
	}
	require.LessOrEqual(t, l.size(), 50+4, "idle keys went as new ones came")

	// An empty bucket stays empty while other keys come and go (it is
	// recently used, so the least recently used keys go first).
	l = newLimiter(2, time.Minute, 100)
	for range 2 {
		ok, _ := l.allow("attacker", now)
		require.True(t, ok)
	}
	for i := range 1000 {
		ok, wait := l.allow("attacker", now)
		require.False(t, ok)
		require.Equal(t, time.Minute, wait)
		l.allow(fmt.Sprint("other-", i), now)
	}
	ok, _ := l.allow("attacker", now.Add(time.Minute))
	require.True(t, ok, "refilled after one interval")
}

func TestLimiterRefillsAndReportsTheWait(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	l := newLimiter(3, 10*time.Second, 10)
	for range 3 {
		ok, _ := l.allow("k", now)
		require.True(t, ok)
	}
	ok, wait := l.allow("k", now.Add(4*time.Second))
	require.False(t, ok)
	require.Equal(t, 6*time.Second, wait)
	ok, _ = l.allow("k", now.Add(10*time.Second))
	require.True(t, ok)
	// A clock going back refills nothing and takes nothing away.
	ok, _ = l.allow("k", now)
	require.False(t, ok)
}

func TestClientAddress(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"192.0.2.7:51234":                        "192.0.2.7",
		"[::ffff:192.0.2.7]:443":                 "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":             "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":                      "fe80::/64",
		"not an address":                         "not an address",
	} {
		require.Equal(t, want, clientAddress(remote), remote)
	}
}
