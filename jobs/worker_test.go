package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// waitFor bounds every wait in these tests.
const waitFor = 10 * time.Second

// fakeClock is the Workers' clock; River's timers stay on real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(value string) *fakeClock { return &fakeClock{now: at(value)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := jobs.OpenPool(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// startWorker starts a Worker on its own pool, as one replica would, and
// stops it at the end of the test unless the test stopped it.
func startWorker(t *testing.T, url string, config jobs.Config) *jobs.Worker {
	t.Helper()
	config.Pool = openPool(t, url)
	if config.Logger == nil {
		config.Logger = testLogger(t)
	}
	worker, err := jobs.NewWorker(jobs.ForTests(config))
	require.NoError(t, err)
	require.NoError(t, worker.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = worker.Stop(ctx)
	})
	return worker
}

func stop(t *testing.T, worker *jobs.Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, worker.Stop(ctx))
}

func eventually(t *testing.T, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, database *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, database.Get(&n, query, args...))
	return n
}

// counterJob's Run adds one to its key's row in test_counter and completes
// in the same transaction (CompleteTx), or leaves completion to the Worker
// when withCompleteTx is false.
func counterJob(pool *pgxpool.Pool, name, schedule string, period func(time.Time) string, withCompleteTx bool) jobs.Job {
	return jobs.Job{
		Name: name, Schedule: schedule, Period: period,
		Run: func(ctx context.Context, occurrence jobs.Occurrence) error {
			// Widen the window in which a duplicate could slip in.
			time.Sleep(30 * time.Millisecond)
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `
					INSERT INTO test_counter (job, key, runs) VALUES ($1, $2, 1)
					ON CONFLICT (job, key) DO UPDATE SET runs = test_counter.runs + 1`,
					occurrence.Name, occurrence.Key); err != nil {
					return err
				}
				if withCompleteTx {
					return jobs.CompleteTx(ctx, tx, occurrence)
				}
				return nil
			})
		},
	}
}

func newDatabase(t *testing.T) (string, *sqlx.DB) {
	t.Helper()
	url := dbtest.NewURL(t)
	database := dbtest.Open(t, url)
	database.MustExec(`CREATE TABLE test_counter (job text, key text, runs integer NOT NULL, PRIMARY KEY (job, key))`)
	return url, database
}

func minuteKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

// (a) Two replicas on one database, the schedule firing every 100 ms and
// both replicas also enqueueing every occurrence by hand (as two leaders, or
// a leader and an operator, would): every occurrence runs exactly once.
func TestTwoWorkersRunEachOccurrenceExactlyOnce(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	clock := newClock("2026-11-23T10:00:30Z")
	jobPool := openPool(t, url)
	config := jobs.WithFireEvery(jobs.Config{
		Jobs:  []jobs.Job{counterJob(jobPool, "count", "* * * * *", minuteKey, true)},
		Clock: clock.Now,
	}, 100*time.Millisecond)
	first := startWorker(t, url, config)
	second := startWorker(t, url, config)

	eventually(t, "a leader", func() bool { return first.IsLeader() || second.IsLeader() })
	require.False(t, first.IsLeader() && second.IsLeader(), "one leader")

	const minutes = 5
	base := clock.Now()
	var inserted atomic.Int64
	for minute := range minutes {
		now := base.Add(time.Duration(minute) * time.Minute)
		clock.Set(now)
		key := minuteKey(now)
		var group sync.WaitGroup
		for _, worker := range []*jobs.Worker{first, second, first, second} {
			group.Go(func() {
				occurrence, didInsert, err := worker.Enqueue(context.Background(), "count", now)
				if err != nil || occurrence.Key != key {
					t.Errorf("enqueue %s: %v (key %q)", key, err, occurrence.Key)
				}
				if didInsert {
					inserted.Add(1)
				}
			})
		}
		group.Wait()
		eventually(t, "run of "+key, func() bool {
			return count(t, database, `SELECT count(*) FROM job_runs WHERE occurrence_key = $1 AND outcome = 'succeeded'`, key) == 1
		})
	}
	// Let the schedule fire a few more times on the last minute.
	time.Sleep(400 * time.Millisecond)
	stop(t, first)
	stop(t, second)

	require.LessOrEqual(t, inserted.Load(), int64(minutes), "at most one insert per occurrence across all enqueues")
	require.Equal(t, minutes, count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'count'`))
	require.Equal(t, 0, count(t, database, `SELECT count(*) FROM test_counter WHERE runs <> 1`), "each occurrence's effect written once")
	require.Equal(t, minutes, count(t, database, `SELECT count(*) FROM job_runs`), "one run per occurrence, none failed")
	require.Equal(t, minutes, count(t, database, `SELECT count(*) FROM river_job WHERE state = 'completed'`))
	runs, err := jobs.List(context.Background(), database, 0)
	require.NoError(t, err)
	require.Len(t, runs, minutes)
	require.Equal(t, minuteKey(base.Add((minutes-1)*time.Minute)), runs[0].Key, "newest first")
	for _, run := range runs {
		require.Equal(t, jobs.OutcomeSucceeded, run.Outcome)
		require.NotNil(t, run.FinishedAt)
		require.Nil(t, run.Error)
	}
}

// (b) Catch-up: the day's occurrence was missed while no worker ran; a
// starting worker runs it once, a restarted one does not run it again —
// neither while River still holds the completed job nor after River's
// retention has deleted it.
func TestCatchUpRunsMissedOccurrenceOnce(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	clock := newClock("2026-11-23T10:00:00Z")
	jobPool := openPool(t, url)
	daily := counterJob(jobPool, "daily", "0 7 * * *", jobs.DayKey, false)

	// probe's key changes with every start: its run shows that the start-up
	// enqueue (one transaction for all jobs) has happened.
	start := func(number int) *jobs.Worker {
		probe := counterJob(jobPool, "probe", "0 0 1 1 *", func(time.Time) string { return fmt.Sprint("start-", number) }, true)
		worker := startWorker(t, url, jobs.Config{Jobs: []jobs.Job{daily, probe}, Clock: clock.Now})
		eventually(t, fmt.Sprint("start-up enqueue of start ", number), func() bool {
			return count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'probe' AND key = $1`, fmt.Sprint("start-", number)) == 1
		})
		return worker
	}
	dailyRuns := func() int {
		return count(t, database, `SELECT coalesce(sum(runs), 0) FROM test_counter WHERE job = 'daily' AND key = '2026-11-23'`)
	}

	worker := start(1)
	eventually(t, "the missed occurrence", func() bool { return dailyRuns() == 1 })
	eventually(t, "its completion", func() bool {
		return count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' = 'daily' AND state = 'completed'`) == 1
	})
	stop(t, worker)
	last, ok, err := jobs.LastSuccess(context.Background(), database, "daily")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, clock.Now(), last)

	// Restart: River's completed job makes the start-up enqueue a no-op.
	worker = start(2)
	time.Sleep(200 * time.Millisecond)
	stop(t, worker)
	require.Equal(t, 1, dailyRuns())
	require.Equal(t, 1, count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' = 'daily'`))

	// River's cleaner deleted the completed job: the occurrence is enqueued
	// again, and the run history stops it from running twice.
	database.MustExec(`DELETE FROM river_job`)
	worker = start(3)
	eventually(t, "the re-enqueued occurrence to be skipped", func() bool {
		return count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' = 'daily' AND state = 'completed'`) == 1
	})
	require.Equal(t, 1, dailyRuns())
	require.Equal(t, 1, count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'daily'`))

	// The next day's occurrence is a new one and runs.
	clock.Set(at("2026-11-24T07:00:05Z"))
	occurrence, inserted, err := worker.Enqueue(context.Background(), "daily", clock.Now())
	require.NoError(t, err)
	require.True(t, inserted)
	require.Equal(t, "2026-11-24", occurrence.Key)
	require.Equal(t, at("2026-11-24T07:00:00Z"), occurrence.ScheduledAt)
	eventually(t, "the next day's run", func() bool {
		return count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'daily' AND key = '2026-11-24'`) == 1
	})
	stop(t, worker)
}

// (c) A failing job is retried with backoff and each failure is recorded;
// one that never succeeds is discarded after MaxAttempts.
func TestFailingJobIsRetriedAndRecorded(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	clock := newClock("2026-11-23T10:00:00Z")
	// A yearly schedule: only the start-up enqueue fires during the test.
	flaky := jobs.Job{Name: "flaky", Schedule: "0 0 1 1 *", Run: func(_ context.Context, occurrence jobs.Occurrence) error {
		if occurrence.Attempt < 3 {
			return fmt.Errorf("boom on attempt %d", occurrence.Attempt)
		}
		return nil
	}}
	broken := jobs.Job{Name: "broken", Schedule: "0 0 1 1 *", Run: func(context.Context, jobs.Occurrence) error {
		panic("always broken")
	}}
	startWorker(t, url, jobs.Config{
		Jobs: []jobs.Job{flaky, broken}, Clock: clock.Now, MaxAttempts: 3,
		RetryBackoff: func(int) time.Duration { return 50 * time.Millisecond },
	})

	eventually(t, "flaky to succeed", func() bool {
		return count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'flaky' AND outcome = 'succeeded'`) == 1
	})
	eventually(t, "broken to be discarded", func() bool {
		return count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' = 'broken' AND state = 'discarded'`) == 1
	})

	var flakyRuns []jobs.Run
	require.NoError(t, database.Select(&flakyRuns, `SELECT id, job, occurrence_key, scheduled_at, attempt, started_at, finished_at, outcome, error FROM job_runs WHERE job = 'flaky' ORDER BY id`))
	require.Len(t, flakyRuns, 3)
	for i, run := range flakyRuns[:2] {
		require.Equal(t, i+1, run.Attempt)
		require.Equal(t, jobs.OutcomeFailed, run.Outcome)
		require.Equal(t, fmt.Sprintf("boom on attempt %d", i+1), *run.Error)
		require.NotNil(t, run.FinishedAt)
	}
	require.Equal(t, 3, flakyRuns[2].Attempt)
	require.Equal(t, jobs.OutcomeSucceeded, flakyRuns[2].Outcome)
	require.Equal(t, "2026-01-01T00:00:00Z", flakyRuns[2].Key, "default key: the scheduled time")

	require.Equal(t, 3, count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'broken' AND outcome = 'failed' AND error LIKE 'panic: always broken%'`))
	require.Equal(t, 0, count(t, database, `SELECT count(*) FROM job_runs WHERE outcome = 'running'`))
	_, ok, err := jobs.LastSuccess(context.Background(), database, "broken")
	require.NoError(t, err)
	require.False(t, ok)

	runs, err := jobs.List(context.Background(), database, 4)
	require.NoError(t, err)
	require.Len(t, runs, 4)
	for i := 1; i < len(runs); i++ {
		require.Greater(t, runs[i-1].ID, runs[i].ID, "newest first")
	}
}

// (d) Stop waits for a running job to finish; one that outlives the shutdown
// timeout is cancelled, recorded as failed, and runs again at the next start.
func TestStopIsGraceful(t *testing.T) {
	t.Parallel()

	t.Run("running job finishes", func(t *testing.T) {
		t.Parallel()
		url, database := newDatabase(t)
		started, release := make(chan struct{}), make(chan struct{})
		slow := jobs.Job{Name: "slow", Schedule: "0 0 1 1 *", Run: func(ctx context.Context, _ jobs.Occurrence) error {
			close(started)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		worker := startWorker(t, url, jobs.Config{Jobs: []jobs.Job{slow}, ShutdownTimeout: waitFor})
		<-started
		stopped := make(chan error, 1)
		go func() { stopped <- worker.Stop(context.Background()) }()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned while the job was running: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		select {
		case err := <-stopped:
			require.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("Stop did not return after the job finished")
		}
		require.Equal(t, 1, count(t, database, `SELECT count(*) FROM job_runs WHERE outcome = 'succeeded'`))
		require.Equal(t, 1, count(t, database, `SELECT count(*) FROM river_job WHERE state = 'completed'`))
	})

	t.Run("stuck job is cancelled and resumed", func(t *testing.T) {
		t.Parallel()
		url, database := newDatabase(t)
		var cooperative atomic.Bool
		started := make(chan struct{}, 2)
		stuck := jobs.Job{Name: "stuck", Schedule: "0 0 1 1 *", Run: func(ctx context.Context, _ jobs.Occurrence) error {
			started <- struct{}{}
			if cooperative.Load() {
				return nil
			}
			<-ctx.Done()
			return ctx.Err()
		}}
		worker := startWorker(t, url, jobs.Config{Jobs: []jobs.Job{stuck}, ShutdownTimeout: 300 * time.Millisecond})
		<-started
		begun := time.Now()
		stop(t, worker)
		require.Less(t, time.Since(begun), 3*time.Second)

		var message string
		require.NoError(t, database.Get(&message, `SELECT error FROM job_runs WHERE job = 'stuck' AND outcome = 'failed'`))
		require.Contains(t, message, context.Canceled.Error())
		var state string
		var attempt int
		require.NoError(t, database.QueryRow(`SELECT state, attempt FROM river_job WHERE args->>'job' = 'stuck'`).Scan(&state, &attempt))
		require.Equal(t, "available", state, "interrupted, not failed: made available again")
		require.Equal(t, 0, attempt, "the interruption used no attempt")

		cooperative.Store(true)
		startWorker(t, url, jobs.Config{Jobs: []jobs.Job{stuck}})
		eventually(t, "the interrupted occurrence to run again", func() bool {
			return count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'stuck' AND outcome = 'succeeded'`) == 1
		})
	})

	t.Run("stop context ends first", func(t *testing.T) {
		t.Parallel()
		url, _ := newDatabase(t)
		started := make(chan struct{})
		stuck := jobs.Job{Name: "stuck", Schedule: "0 0 1 1 *", Run: func(ctx context.Context, _ jobs.Occurrence) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}
		worker := startWorker(t, url, jobs.Config{Jobs: []jobs.Job{stuck}, ShutdownTimeout: time.Hour})
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := worker.Stop(ctx)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	})
}

// testLogger sends River's and the Worker's logs to the test log.
func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("JOBS_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Runs of one job never overlap, even across replicas and for different
// occurrences: the second waits (snoozed, no attempt used) until the first
// has finished.
func TestRunsOfOneJobNeverOverlap(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	clock := newClock("2026-11-23T10:00:00Z")
	var running, most atomic.Int32
	release := make(chan struct{})
	long := jobs.Job{Name: "long", Schedule: "0 7 * * *", Period: jobs.DayKey, Run: func(ctx context.Context, _ jobs.Occurrence) error {
		now := running.Add(1)
		defer running.Add(-1)
		for {
			seen := most.Load()
			if now <= seen || most.CompareAndSwap(seen, now) {
				break
			}
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	config := jobs.WithBusyRetryDelay(jobs.Config{Jobs: []jobs.Job{long}, Clock: clock.Now}, 100*time.Millisecond)
	first := startWorker(t, url, config)
	startWorker(t, url, config)

	// Today's occurrence starts at start-up; yesterday's, enqueued by hand,
	// is free to run on the other replica but must wait.
	eventually(t, "the first run", func() bool { return running.Load() == 1 })
	_, inserted, err := first.Enqueue(context.Background(), "long", at("2026-11-22T08:00:00Z"))
	require.NoError(t, err)
	require.True(t, inserted)
	eventually(t, "the second occurrence to be turned away", func() bool {
		return count(t, database, `SELECT count(*) FROM river_job WHERE args->>'key' = '2026-11-22' AND (metadata->>'snoozes')::int > 0`) == 1
	})
	require.Equal(t, int32(1), most.Load())
	close(release)
	eventually(t, "both runs", func() bool {
		return count(t, database, `SELECT count(*) FROM job_runs WHERE outcome = 'succeeded'`) == 2
	})
	require.Equal(t, int32(1), most.Load(), "never two runs at once")
	require.Equal(t, 0, count(t, database, `SELECT count(*) FROM job_runs WHERE outcome <> 'succeeded'`), "a turned-away occurrence records no run")
}

// Several replicas migrating River's schema at once: one applies every
// migration, the others wait on the lock and apply nothing.
func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	t.Parallel()
	url := dbtest.EmptyURL(t)
	const replicas = 4
	applied := make([]int, replicas)
	errs := make([]error, replicas)
	var group sync.WaitGroup
	for i := range replicas {
		pool := openPool(t, url)
		group.Go(func() { applied[i], errs[i] = jobs.Migrate(context.Background(), pool) })
	}
	group.Wait()
	total := 0
	for i := range replicas {
		require.NoError(t, errs[i])
		total += applied[i]
	}
	database := dbtest.Open(t, url)
	require.Equal(t, count(t, database, `SELECT count(*) FROM river_migration`), total, "each River migration applied once")
	require.Positive(t, total)
	again, err := jobs.Migrate(context.Background(), openPool(t, url))
	require.NoError(t, err)
	require.Zero(t, again)
}

// A replica that does not know a job (an older version in a rolling deploy)
// leaves its occurrences alone instead of failing or cancelling them.
func TestUnknownJobIsLeftForAnotherReplica(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	clock := newClock("2026-11-23T10:00:00Z")
	known := jobs.Job{Name: "known", Schedule: "0 0 1 1 *", Run: noop}
	newer := jobs.Job{Name: "newer", Schedule: "0 7 * * *", Period: jobs.DayKey, Run: noop}
	startWorker(t, url, jobs.Config{Jobs: []jobs.Job{known}, Clock: clock.Now})

	// The newer replica enqueues without running anything itself.
	enqueuer, err := jobs.NewWorker(jobs.Config{Pool: openPool(t, url), Jobs: []jobs.Job{newer}, Clock: clock.Now, Logger: testLogger(t)})
	require.NoError(t, err)
	_, inserted, err := enqueuer.Enqueue(context.Background(), "newer", clock.Now())
	require.NoError(t, err)
	require.True(t, inserted)

	eventually(t, "the unknown job to be snoozed", func() bool {
		return count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' = 'newer' AND state = 'scheduled' AND (metadata->>'snoozes')::int = 1`) == 1
	})
	require.Equal(t, 0, count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'newer'`))
}
