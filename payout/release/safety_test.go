package release_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// logBuffer is a log destination goroutines can share.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logged is a context whose logger writes into a buffer.
func logged() (context.Context, *logBuffer) {
	out := &logBuffer{}
	return logging.NewContext(context.Background(), slog.New(slog.NewTextHandler(out, nil))), out
}

// released counts what a cycle's release recorded.
type released struct {
	Payments int `db:"payments"`
	Distinct int `db:"distinct_ids"`
	Files    int `db:"files"`
	Events   int `db:"events"`
}

func countReleased(t *testing.T, w *fixture.World) released {
	t.Helper()
	var c released
	require.NoError(t, w.DB.Get(&c, `SELECT (SELECT count(*) FROM payments WHERE month = $1) AS payments,
		(SELECT count(DISTINCT payment_id) FROM payments WHERE month = $1) AS distinct_ids,
		(SELECT count(*) FROM cycle_files WHERE month = $1) AS files,
		(SELECT count(*) FROM cycle_events WHERE month = $1 AND state = 'released') AS events`, fixture.Month("2026-11")))
	return c
}

// Two releases of one month at once used to meet in a raw duplicate key
// (payments_pkey). Now the second waits for the first under the month's
// release lock, says in the log what it waits for, and then answers
// "already released" with the first one's manifest; one set of payments,
// one set of files.
func TestConcurrentReleaseSaysAlreadyDoneOrInProgress(t *testing.T) {
	t.Parallel()
	month := fixture.Month("2026-11")

	t.Run("the second waits, then finds it done", func(t *testing.T) {
		t.Parallel()
		w, first := closedNovember(t, false)
		importFX(t, w, rates)
		w.Set("2026-11-06T09:30:00Z")
		second := *first
		// The first release stops once it holds the lock and fixed the
		// release time, until the second is seen waiting for it.
		proceed := make(chan struct{})
		started := make(chan struct{})
		first.Fault = func(point string) error {
			if point == "release_started" {
				close(started)
				<-proceed
			}
			return nil
		}
		var firstResult release.Result
		var firstErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			firstResult, firstErr = first.Release(context.Background(), month, "ops")
		}()
		<-started
		ctx, log := logged()
		var secondResult release.Result
		var secondErr error
		secondDone := make(chan struct{})
		go func() {
			defer close(secondDone)
			secondResult, secondErr = second.Release(ctx, month, "ops")
		}()
		require.Eventually(t, func() bool { return strings.Contains(log.String(), "waiting") }, 10*time.Second, 20*time.Millisecond)
		require.Contains(t, log.String(), "the release lock of 2026-11")
		require.Regexp(t, `held by pid \d+`, log.String())
		close(proceed)
		<-done
		<-secondDone
		require.NoError(t, firstErr)
		require.NoError(t, secondErr)
		require.False(t, firstResult.AlreadyReleased)
		require.True(t, secondResult.AlreadyReleased, "the second release reports the first one's work")
		require.Equal(t, firstResult.Files, secondResult.Files)
		require.True(t, firstResult.ReleasedAt.Equal(secondResult.ReleasedAt))
		require.Equal(t, released{Payments: 6, Distinct: 6, Files: 4, Events: 1}, countReleased(t, w))
	})

	t.Run("four at once", func(t *testing.T) {
		t.Parallel()
		w, releaser := closedNovember(t, false)
		importFX(t, w, rates)
		w.Set("2026-11-06T09:30:00Z")
		// A clean release of the same history elsewhere: the bytes to expect.
		cleanWorld, clean := closedNovember(t, false)
		importFX(t, cleanWorld, rates)
		cleanWorld.Set("2026-11-06T09:30:00Z")
		_, err := clean.Release(context.Background(), month, "ops")
		require.NoError(t, err)

		results := make([]release.Result, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := *releaser
				results[i], errs[i] = r.Release(context.Background(), month, "ops")
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range results {
			require.NoError(t, errs[i], "no run fails: the others find the cycle released")
			if !results[i].AlreadyReleased {
				fresh++
			}
			require.Equal(t, results[0].Files, results[i].Files)
		}
		require.Equal(t, 1, fresh, "exactly one run released the cycle")
		require.Equal(t, released{Payments: 6, Distinct: 6, Files: 4, Events: 1}, countReleased(t, w))
		require.Equal(t, readDir(t, release.Directory(clean.Config.OutDir, month)), readDir(t, release.Directory(releaser.Config.OutDir, month)),
			"byte for byte the files of a release that never raced")
	})

	t.Run("a release that bypassed the lock", func(t *testing.T) {
		t.Parallel()
		w, releaser := closedNovember(t, false)
		importFX(t, w, rates)
		w.Set("2026-11-06T09:30:00Z")
		// What an older payrun without the lock would do: release the cycle
		// while this one writes its files.
		releaser.Fault = func(point string) error {
			if point == "after_files_written" {
				_, err := w.DB.Exec(`UPDATE cycles SET state = 'released', released_at = release_started_at WHERE month = $1`, month)
				return err
			}
			return nil
		}
		_, err := releaser.Release(context.Background(), month, "ops")
		require.ErrorIs(t, err, release.ErrReleasedConcurrently)
		require.NotContains(t, err.Error(), "duplicate key")
		require.Zero(t, countReleased(t, w).Payments, "nothing of the losing run recorded")
	})
}

// Re-running a release after a payment file was altered on disk used to
// report success. It now compares every file with the manifest's sha256 and
// refuses, rewriting nothing; a missing file is written again from the
// ledger, byte for byte.
func TestReleaseRerunRefusesTamperedFile(t *testing.T) {
	t.Parallel()
	w, releaser := closedNovember(t, false)
	importFX(t, w, rates)
	w.Set("2026-11-06T09:30:00Z")
	ctx := context.Background()
	month := fixture.Month("2026-11")
	first, err := releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	dir := release.Directory(releaser.Config.OutDir, month)
	original := readDir(t, dir)

	// One changed digit in the ACH file: refused, named, left as found.
	ach := filepath.Join(dir, "ach-2026-11.txt")
	tampered := bytes.Replace(original["ach-2026-11.txt"], []byte("0000012050"), []byte("0000092050"), 1)
	require.NotEqual(t, original["ach-2026-11.txt"], tampered, "the test changes an amount")
	require.NoError(t, os.WriteFile(ach, tampered, 0o640))
	w.Set("2026-11-07T00:00:00Z")
	_, err = releaser.Release(ctx, month, "ops")
	require.ErrorIs(t, err, release.ErrTampered)
	require.ErrorContains(t, err, "ach-2026-11.txt has sha256")
	require.ErrorContains(t, err, first.Files[0].SHA256)
	body, err := os.ReadFile(ach)
	require.NoError(t, err)
	require.Equal(t, tampered, body, "nothing rewritten over the evidence")
	require.Equal(t, released{Payments: 6, Distinct: 6, Files: 4, Events: 1}, countReleased(t, w))

	// After investigation the bad copy is removed: releasing again writes
	// it from the ledger, the manifest's bytes.
	require.NoError(t, os.Remove(ach))
	again, err := releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	require.True(t, again.AlreadyReleased)
	require.Equal(t, []string{"ach-2026-11.txt"}, again.Rewritten)
	require.Equal(t, original, readDir(t, dir))

	// manifest.json is checked as well.
	manifest := filepath.Join(dir, "manifest.json")
	require.NoError(t, os.WriteFile(manifest, bytes.Replace(original["manifest.json"], []byte(first.Files[1].SHA256), []byte(strings.Repeat("0", 64)), 1), 0o640))
	_, err = releaser.Release(ctx, month, "ops")
	require.ErrorIs(t, err, release.ErrTampered)
	require.ErrorContains(t, err, "manifest.json differs")
	require.NoError(t, os.Remove(manifest))
	_, err = releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	require.Equal(t, original, readDir(t, dir))
}

// The release records the releasing operator by id, under its canonical name.
func TestReleaseRecordsTheOperatorByID(t *testing.T) {
	t.Parallel()
	w, releaser := closedNovember(t, false)
	importFX(t, w, rates)
	w.Set("2026-11-06T09:30:00Z")
	ctx := context.Background()
	month := fixture.Month("2026-11")
	id := w.Operator("relea.ser", accounts.RoleOps)
	_, err := releaser.ReleaseAs(ctx, month, store.Principal{OperatorID: id, Name: "typed by hand"})
	require.NoError(t, err)
	cycle, err := w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, "operator:relea.ser", cycle.ReleasedBy)
	require.Equal(t, id, cycle.ReleasedByOperatorID)
	_, err = releaser.ReleaseAs(ctx, month, store.Principal{OperatorID: 999999})
	require.ErrorIs(t, err, store.ErrUnknownOperator)
}
