package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/jobs"
)

// A task enqueued from outside any job run (an API request's transaction,
// no Worker at hand): nothing when the transaction rolls back; once it
// commits, a Worker that registers the task runs it once, recorded in
// job_runs, and enqueueing the same key again inserts nothing. A name that
// is not a task is refused.
func TestEnqueueTaskFromOutsideARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, database := newDatabase(t)
	pool := openPool(t, url)
	var mu sync.Mutex
	ran := map[string]int{}
	startWorker(t, url, jobs.Config{Jobs: []jobs.Job{{Name: jobs.PayoutsExport, Task: true,
		Run: func(ctx context.Context, o jobs.Occurrence) error {
			mu.Lock()
			defer mu.Unlock()
			ran[o.Key]++
			return nil
		}}}})
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	enqueue := func(key string, commit bool) bool {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		inserted, err := jobs.EnqueueTask(ctx, tx, jobs.PayoutsExport, key, now)
		require.NoError(t, err)
		if commit {
			require.NoError(t, tx.Commit(ctx))
		}
		return inserted
	}

	require.True(t, enqueue("ROLLEDBACK", false))
	require.True(t, enqueue("EXPORT1", true))
	eventually(t, "the task's run", func() bool {
		return count(t, database, `SELECT count(*) FROM job_runs WHERE job = $1 AND occurrence_key = 'EXPORT1' AND outcome = 'succeeded'`, jobs.PayoutsExport) == 1
	})
	require.False(t, enqueue("EXPORT1", true), "completed: not inserted again")
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	require.Equal(t, map[string]int{"EXPORT1": 1}, ran)
	mu.Unlock()
	require.Zero(t, count(t, database, `SELECT count(*) FROM river_job WHERE args->>'key' = 'ROLLEDBACK'`))
	var scheduled time.Time
	require.NoError(t, database.Get(&scheduled, `SELECT scheduled_at FROM job_runs WHERE occurrence_key = 'EXPORT1'`))
	require.True(t, scheduled.Equal(now), "the occurrence is scheduled at the request's time: %s", scheduled)

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := jobs.EnqueueTask(ctx, tx, jobs.CloseCycle, "2026-11", now)
		return err
	})
	require.ErrorIs(t, err, jobs.ErrUnknownJob)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := jobs.EnqueueTask(ctx, tx, jobs.PayoutsExport, "", now)
		return err
	})
	require.ErrorIs(t, err, jobs.ErrBadJob)
}
