package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two `payrun cycle release` processes at once used to end with one of them
// exiting 1 on a raw duplicate key (payments_pkey); re-running a release
// after a payment file was altered reported success. Now both processes
// exit 0 — one released, the other says the cycle was already released —
// and a re-run refuses an altered file, naming it.
func TestConcurrentReleaseProcessesAndATamperedFile(t *testing.T) {
	t.Parallel()
	url, w := marketplace(t)
	out := t.TempDir()
	// Released before the payment date (a late release: late_release.json, TestReleaseOnEveryDayFromTheCloseToTheNextMonth).
	env := append(devEnv(url), "PAYRUN_OUT="+out, "PAYRUN_NOW=2026-11-06T09:30:00Z")
	r := payrunEnv(t, env, "cycle", "close", "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	rates := filepath.Join(t.TempDir(), "rates.csv")
	require.NoError(t, os.WriteFile(rates, []byte("currency,rate,date,source\nEUR,0.9234,2026-11-04,ECB\nGBP,0.7911,2026-11-04,ECB\n"), 0o600))
	r = payrunEnv(t, env, "fx", "import", rates, "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)

	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = payrunEnv(t, env, "cycle", "release", "--month", "2026-11")
		}()
	}
	wg.Wait()
	fresh, already := 0, 0
	for _, r := range results {
		require.Zero(t, r.code, "both runs succeed: %s", r.stderr)
		require.NotContains(t, r.stderr, "duplicate key")
		switch {
		case strings.Contains(r.stdout, "cycle 2026-11 released"):
			fresh++
		case strings.Contains(r.stdout, "cycle 2026-11 was already released"):
			already++
		}
	}
	require.Equal(t, 1, fresh, "%+v", results)
	require.Equal(t, 1, already, "%+v", results)
	var payments, paid int
	require.NoError(t, w.DB.Get(&payments, `SELECT count(*) FROM payments`))
	require.NoError(t, w.DB.Get(&paid, `SELECT count(*) FROM payouts WHERE status = 'paid'`))
	require.Equal(t, paid, payments, "one payment per paid payout")

	// An altered payment file: the re-run refuses it and leaves it as found.
	ach := filepath.Join(out, "cycles", "2026-11", "ach-2026-11.txt")
	body, err := os.ReadFile(ach)
	require.NoError(t, err)
	altered := bytes.Replace(body, []byte("PA"), []byte("PX"), 1)
	require.NoError(t, os.WriteFile(ach, altered, 0o640))
	r = payrunEnv(t, env, "cycle", "release", "--month", "2026-11")
	require.Equal(t, 1, r.code, r.stdout)
	require.Contains(t, r.stderr, "a released file differs from its manifest")
	require.Contains(t, r.stderr, "ach-2026-11.txt has sha256")
	now, err := os.ReadFile(ach)
	require.NoError(t, err)
	require.Equal(t, altered, now)
}
