package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/sim"
)

// seeded runs a seeded simulation on a new database into outDir.
func seeded(t *testing.T, seed uint64, publishers, months int, outDir string, faults sim.Faults) []sim.CycleReport {
	t.Helper()
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := services(t, first.AddDate(0, -4, 0))
	var log bytes.Buffer
	reports, err := sim.Run(context.Background(), s, sim.Options{Seed: seed, Publishers: publishers, Months: months, FirstMonth: first,
		Policy: payout.DefaultPolicy(), OutDir: outDir, Release: testRelease, Faults: faults}, &log)
	require.NoError(t, err, "seed %d", seed)
	require.Len(t, reports, months)
	if faults.Point != "" {
		require.Contains(t, log.String(), "injected", "a cycle was crashed at %s", faults.Point)
	}
	return reports
}

// readTree reads every file under dir, by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[rel] = body
		return err
	}))
	return files
}

// requireSameTree fails on the first file that differs between two output
// directories, byte for byte.
func requireSameTree(t *testing.T, want, got string) {
	t.Helper()
	a, b := readTree(t, want), readTree(t, got)
	require.NotEmpty(t, a)
	names := func(m map[string][]byte) []string {
		var list []string
		for k := range m {
			list = append(list, k)
		}
		return list
	}
	require.ElementsMatch(t, names(a), names(b), "the same files")
	for name, body := range a {
		require.True(t, bytes.Equal(body, b[name]), "%s differs", name)
	}
}

// The same seed gives the same bytes in every output: result.json, the
// workbooks (xlsx), the payment files and the manifests.
func TestSameSeedSameBytes(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	seeded(t, 11, 60, 3, first, sim.Faults{})
	seeded(t, 11, 60, 3, second, sim.Faults{})
	requireSameTree(t, first, second)
	xlsx, err := filepath.Glob(filepath.Join(first, "cycles", "*", "*.xlsx"))
	require.NoError(t, err)
	require.Len(t, xlsx, 3, "one workbook per cycle, compared above")
}

// The seeded sweep: several seeds × 12 months of a few hundred publishers,
// every close crashed once at a point drawn from the seed and restarted,
// every invariant checked after every close and release. A failure names
// its seed; `payrun simulate --seed S --faults` replays it.
func TestSeededSweep(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			t.Parallel()
			reports := seeded(t, seed, 200, 12, t.TempDir(), sim.Faults{Enabled: true})
			paid := 0
			for _, r := range reports {
				paid += int(r.Totals.Paid.Count)
				require.Equal(t, "released", r.State)
			}
			require.Greater(t, paid, 12*100, "most publishers are paid most months")
		})
	}
}

// The invariant checks catch a payout that breaks the rules: a hold
// switched on before the cutoff, recorded after the close (as a buggy close
// that ignored it would have seen), makes the paid publisher a held one
// that was paid.
func TestInvariantsCatchAHeldPublisherPaid(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := services(t, first.AddDate(0, -4, 0))
	ctx := context.Background()
	_, err := sim.Run(ctx, s, sim.Options{Seed: 9, Publishers: 30, Months: 1, FirstMonth: first, Policy: payout.DefaultPolicy(),
		OutDir: t.TempDir(), Release: testRelease}, nil)
	require.NoError(t, err)
	require.NoError(t, sim.CheckClosed(ctx, s, 9, first))
	_, err = s.DB.Exec(`INSERT INTO payment_hold_events (account_id, hold_on, at, actor)
		SELECT account_id, true, '2026-10-20T00:00:00Z', 'test' FROM payouts WHERE month = $1 AND status = 'paid' ORDER BY account_id LIMIT 1`, first)
	require.NoError(t, err)
	err = sim.CheckClosed(ctx, s, 9, first)
	var broken *sim.InvariantError
	require.ErrorAs(t, err, &broken)
	require.Equal(t, sim.InvariantHeldUnpaid, broken.Invariant)
	require.Contains(t, err.Error(), "seed 9: cycle 2026-11: invariant held_unpaid broken")
	require.Contains(t, err.Error(), "paid while its payment hold was on at the cutoff")
}

// The crash sweep: a close or a release crashed at every named point
// (sim.CrashPoints: the close's, then the release's) and restarted writes
// exactly what an uninterrupted one writes — the same payouts, the same
// journal (checked in the run against a dry run of the close), every file a
// crashed release left behind unchanged, one payment per paid payout
// (files_match_ledger), and the same workbooks, payment files, manifests
// and result.json (checked here against a clean run, byte for byte).
func TestCrashSweep(t *testing.T) {
	t.Parallel()
	clean := t.TempDir()
	seeded(t, 5, 100, 3, clean, sim.Faults{})
	for _, point := range sim.CrashPoints {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			crashed := t.TempDir()
			seeded(t, 5, 100, 3, crashed, sim.Faults{Point: point})
			requireSameTree(t, clean, crashed)
		})
	}
}

// A scenario crashed at every point, close and release, meets the same
// expectations and writes the same bytes as without the crash.
func TestScenarioCrashSweep(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"threshold_boundaries.json", "returned_ach_payment.json"} {
		t.Run(strings.TrimSuffix(file, ".json"), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "scenarios", file)
			clean := t.TempDir()
			require.Empty(t, runScenario(t, path, clean, sim.Faults{}).Diffs)
			for i, point := range sim.CrashPoints {
				t.Run(strconv.Itoa(i)+"-"+point, func(t *testing.T) {
					t.Parallel()
					crashed := t.TempDir()
					outcome, log := runScenarioLogged(t, path, crashed, sim.Faults{Point: point})
					require.Empty(t, outcome.Diffs)
					require.Contains(t, log, "injected", "a cycle was crashed at %s", point)
					requireSameTree(t, clean, crashed)
				})
			}
		})
	}
}
