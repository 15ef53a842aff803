package main_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// marketplace builds October's activity in a new database and returns its
// URL: publishers paid, held and carried for several reasons.
func marketplace(t *testing.T) (string, *fixture.World) {
	url := dbtest.NewURL(t)
	w := fixture.On(t, dbtest.Open(t, url))
	w.Set("2026-09-15T00:00:00Z")
	for i, o := range []fixture.Publisher{{}, {Country: "DE"}, {Country: "GB", Treaty: true}, {NoTax: true}, {UnverifiedPay: true},
		{Method: payout.PayPal, Country: "DE"}, {}, {Country: "GB"}, {}, {}} {
		w.Publisher("P"+string(rune('A'+i)), o)
	}
	w.Set("2026-10-10T00:00:00Z")
	for i, amount := range []string{"120.004", "150.5", "300", "75", "75", "200", "49.99", "1000", "-30", "65.43"} {
		w.Earn("P"+string(rune('A'+i)), []string{"US", "GB"}[i%2], amount, "2026-10-20T00:00:00Z")
	}
	return url, w
}

func devEnv(url string) []string { return []string{"DATABASE_URL=" + url, "PAYRUN_DEV=1"} }

// A close killed at each named point, then run again, ends with exactly
// the rows, journal and totals of a close that was never interrupted.
func TestCloseKilledAndRestartedEqualsACleanClose(t *testing.T) {
	t.Parallel()
	cleanURL, clean := marketplace(t)
	r := payrunEnv(t, devEnv(cleanURL), "cycle", "close", "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "cycle 2026-11 closed")
	want := clean.Dump()

	for _, point := range []string{"after_start", "mid_batch", "before_batch_commit", "after_batch_commit", "before_finish"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			url, w := marketplace(t)
			crashed := payrunEnv(t, append(devEnv(url), "PAYRUN_FAULT="+point), "cycle", "close", "--month", "2026-11")
			require.Equal(t, 3, crashed.code, "the process died at %s: %s", point, crashed.stderr)
			again := payrunEnv(t, devEnv(url), "cycle", "close", "--month", "2026-11")
			require.Zero(t, again.code, again.stderr)
			require.Contains(t, again.stdout, "closed")
			require.Equal(t, want, w.Dump())
		})
	}
}

// Four processes closing the same month at once: one closes it, the others
// report it already closed, and there is one set of payouts.
func TestRacingCloseProcesses(t *testing.T) {
	t.Parallel()
	url, w := marketplace(t)
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = payrunEnv(t, devEnv(url), "cycle", "close", "--month", "2026-11")
		}()
	}
	wg.Wait()
	closed, already := 0, 0
	for _, r := range results {
		require.Zero(t, r.code, r.stderr)
		switch {
		case strings.Contains(r.stdout, "already closed"):
			already++
		case strings.Contains(r.stdout, "cycle 2026-11 closed"):
			closed++
		}
	}
	require.Equal(t, 1, closed)
	require.Equal(t, 3, already)
	var rows int
	require.NoError(t, w.DB.Get(&rows, `SELECT count(*) FROM payouts`))
	require.Equal(t, 10, rows)
}

func TestCycleCommandsRefuseBadInput(t *testing.T) {
	t.Parallel()
	url, _ := marketplace(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cycle", "close", "--month", "2026-13"}, 2, `month: "2026-13" is not YYYY-MM`},
		{[]string{"cycle", "close", "--month", "2030-01"}, 1, "cutoff has not passed"},
		{[]string{"cycle", "release", "--month", "2026-11"}, 1, "has not been closed"},
		{[]string{"cycle", "approve", "--month", "2026-11"}, 2, "--by is required"},
		{[]string{"hold", "on", "--seller", "NOBODY"}, 1, "unknown seller id"},
	} {
		r := payrunEnv(t, devEnv(url), tc.args...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, tc.args)
	}
	r := payrunEnv(t, []string{"DATABASE_URL=" + url}, "hold", "on", "--seller", "PA")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "PAYRUN_DATA_KEY is not set", "no key, no dev mode: refused")
}
