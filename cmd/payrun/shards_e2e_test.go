package main_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/testsupport/fixture"
)

// closeJobs are the jobs the sharded-close replicas run: the close and its
// tasks, and nothing that would move the cycle on (release-payments).
const closeJobs = "PAYRUN_JOBS=close-cycle"

// replica starts `payrun serve` on url with env added; the test kills it at
// the end if it is still running. The database counts as installed long ago,
// so the start-up catch-up closes the marketplace's months.
func replica(t *testing.T, url string, env ...string) *exec.Cmd {
	t.Helper()
	installedLongAgo(t, url)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "PAYRUN_DEV=1", "PAYRUN_ADDR="+freePort(t), "PAYRUN_OUT="+cmd.Dir,
		closeJobs, "PAYRUN_CLOSE_SHARDS=4", "PAYRUN_JOB_WORKERS=1", "PAYRUN_JOB_RESCUE_AFTER=10s")
	cmd.Env = append(cmd.Env, env...)
	var logs strings.Builder
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("replica log:\n%s", logs.String())
		}
	})
	return cmd
}

// waitClosed waits until no cycle is open or closing and the catch-up has
// closed at least one, then returns the world's dump.
func waitClosed(t *testing.T, w *fixture.World, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var closed, pending int
		require.NoError(t, w.DB.Get(&closed, `SELECT count(*) FROM cycles WHERE state = 'closed'`))
		require.NoError(t, w.DB.Get(&pending, `SELECT count(*) FROM cycles WHERE state IN ('open', 'closing')`))
		var finishes int
		require.NoError(t, w.DB.Get(&finishes, `SELECT count(*) FROM job_runs WHERE job = 'close-finish' AND outcome = 'succeeded'`))
		if closed > 0 && pending == 0 && finishes == closed {
			return w.Dump()
		}
		require.True(t, time.Now().Before(deadline), "cycles not closed within %s (%d closed, %d pending)", within, closed, pending)
		time.Sleep(200 * time.Millisecond)
	}
}

// The scheduled close fans out into shard jobs on River. Whatever the number
// of worker replicas, and when a replica dies in the middle of a shard, the
// result is byte-identical to one worker's, every shard runs to success
// exactly once, and the killed shard is rescued and finished by another.
func TestShardedCloseOnAnyNumberOfWorkers(t *testing.T) {
	t.Parallel()
	oneURL, one := marketplace(t)
	scheduled := replica(t, oneURL)
	want := waitClosed(t, one, 60*time.Second)

	for _, workers := range []int{2, 4} {
		t.Run(strings.Repeat("w", workers), func(t *testing.T) {
			t.Parallel()
			url, w := marketplace(t)
			for range workers {
				replica(t, url)
			}
			require.Equal(t, want, waitClosed(t, w, 60*time.Second), "%d workers", workers)
			requireOneSuccessPerStep(t, w)
		})
	}

	// The same data closed by the CLI (payout/cycle's Close, shards closed
	// by one process) gives the scheduled close's rows, journal and totals,
	// month by month, and both write each month's workbook.
	t.Run("the CLI's close", func(t *testing.T) {
		t.Parallel()
		var months []string
		require.NoError(t, one.DB.Select(&months, `SELECT to_char(month, 'YYYY-MM') FROM cycles ORDER BY month`))
		require.NotEmpty(t, months)
		url, w := marketplace(t)
		out := t.TempDir()
		for _, month := range months {
			r := payrunEnv(t, append(devEnv(url), "PAYRUN_OUT="+out), "cycle", "close", "--month", month, "--shards", "4")
			require.Zero(t, r.code, r.stderr)
			require.Contains(t, r.stdout, "cycle "+month+" closed")
			m, err := payout.ParseMonth(month)
			require.NoError(t, err)
			for _, dir := range []string{out, scheduled.Dir} {
				require.FileExists(t, cyclereport.Path(dir, m, false))
			}
		}
		require.Equal(t, want, w.Dump(), "the CLI's close differs from the scheduled close")
	})

	t.Run("killed mid-shard", func(t *testing.T) {
		t.Parallel()
		url, w := marketplace(t)
		doomed := replica(t, url, "PAYRUN_FAULT=mid_batch")
		err := doomed.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "the doomed replica dies at its first batch")
		require.Equal(t, 3, exit.ExitCode())
		var stuck int
		require.NoError(t, w.DB.Get(&stuck, `SELECT count(*) FROM river_job WHERE state = 'running' AND args->>'job' = 'close-shard'`))
		require.Equal(t, 1, stuck, "the dead replica left its shard running")

		replica(t, url)
		require.Equal(t, want, waitClosed(t, w, 120*time.Second))
		requireOneSuccessPerStep(t, w)
		var abandoned int
		require.NoError(t, w.DB.Get(&abandoned, `
			SELECT count(*) FROM job_runs WHERE job = 'close-shard' AND outcome = 'failed' AND error LIKE 'abandoned%'`))
		require.Equal(t, 1, abandoned, "the killed run is recorded as abandoned")
	})
}

func requireOneSuccessPerStep(t *testing.T, w *fixture.World) {
	t.Helper()
	var steps []struct {
		Job   string `db:"job"`
		Count int    `db:"count"`
	}
	require.NoError(t, w.DB.Select(&steps, `
		SELECT job, count(*) FROM job_runs WHERE outcome = 'succeeded' GROUP BY job, occurrence_key ORDER BY job`))
	shards := 0
	for _, step := range steps {
		require.Equal(t, 1, step.Count, "%s succeeded more than once for one key", step.Job)
		if step.Job == "close-shard" {
			shards++
		}
	}
	var cycles int
	require.NoError(t, w.DB.Get(&cycles, `SELECT count(*) FROM cycles`))
	require.Equal(t, 4*cycles, shards, "one shard run per shard and cycle")
}
