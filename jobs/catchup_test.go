package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/jobs"
)

// Item 6: catch-up never reaches back before the installation. A Worker
// started ten minutes after `payrun migrate` created the database runs
// neither the monthly close of the 5th before it, nor January's yearly job,
// nor the day's 05:00 job: all were scheduled before the installation. After
// a downtime that spans the next 5th, the one occurrence missed after the
// installation is caught up at start-up (the yearly one, still from before
// the installation, is not).
func TestCatchUpNeverBeforeInstallation(t *testing.T) {
	t.Parallel()
	url, database := newDatabase(t)
	installed := at("2026-12-03T18:00:00Z")
	clock := newClock("2026-12-03T18:10:30Z")
	jobPool := openPool(t, url)
	monthly := counterJob(jobPool, "monthly", "0 6 5 * *", jobs.MonthKey, false)
	yearly := counterJob(jobPool, "yearly", "0 8 15 1 *", jobs.YearKey, false)
	daily := counterJob(jobPool, "daily", "0 5 * * *", jobs.DayKey, false)
	// probe fires every minute: its start-up occurrence (after the
	// installation) shows that the start-up enqueue has happened.
	probe := counterJob(jobPool, "probe", "* * * * *", minuteKey, true)
	config := jobs.Config{Jobs: []jobs.Job{monthly, yearly, daily, probe}, Clock: clock.Now, InstalledAt: installed}

	// What start-up will do, without doing it.
	quiet, err := jobs.NewWorker(jobs.Config{Pool: jobPool, Jobs: []jobs.Job{monthly, yearly, daily}, Clock: clock.Now, InstalledAt: installed})
	require.NoError(t, err)
	plan, err := quiet.CatchUpPlan(context.Background())
	require.NoError(t, err)
	require.Empty(t, plan.Due)
	require.Equal(t, "nothing to catch up: installed at 2026-12-03T18:00:00Z", plan.Message())
	require.Equal(t, []string{"daily 2026-12-03 2026-12-03T05:00:00Z", "monthly 2026-11 2026-11-05T06:00:00Z", "yearly 2026 2026-01-15T08:00:00Z"},
		keys(plan.BeforeInstallation))

	worker := startWorker(t, url, config)
	eventually(t, "the start-up enqueue", func() bool {
		return count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'probe' AND key = '2026-12-03T18:10'`) == 1
	})
	time.Sleep(200 * time.Millisecond)
	stop(t, worker)
	require.Zero(t, count(t, database, `SELECT count(*) FROM test_counter WHERE job <> 'probe'`), "nothing from before the installation ran")
	require.Zero(t, count(t, database, `SELECT count(*) FROM river_job WHERE args->>'job' <> 'probe'`), "nor was it enqueued")
	require.Zero(t, count(t, database, `SELECT count(*) FROM job_runs WHERE scheduled_at <= $1`, installed))

	// Every replica was down over the next 5th: its close and that day's
	// 05:00 run are caught up; January 2026's yearly run is still before
	// the installation.
	clock.Set(at("2027-01-05T06:30:30Z"))
	plan, err = quiet.CatchUpPlan(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"daily 2027-01-05 2027-01-05T05:00:00Z", "monthly 2027-01 2027-01-05T06:00:00Z"}, keys(plan.Due))
	require.Equal(t, []string{"yearly 2026 2026-01-15T08:00:00Z"}, keys(plan.BeforeInstallation))
	require.Equal(t, "catching up missed occurrences: daily 2027-01-05 (scheduled 2027-01-05T05:00:00Z), monthly 2027-01 (scheduled 2027-01-05T06:00:00Z)",
		plan.Message())

	worker = startWorker(t, url, config)
	eventually(t, "the missed close", func() bool {
		return count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'monthly' AND occurrence_key = '2027-01' AND outcome = 'succeeded'`) == 1
	})
	eventually(t, "the missed daily run", func() bool {
		return count(t, database, `SELECT count(*) FROM job_runs WHERE job = 'daily' AND occurrence_key = '2027-01-05' AND outcome = 'succeeded'`) == 1
	})
	stop(t, worker)
	require.Zero(t, count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'yearly'`))
	require.Equal(t, 1, count(t, database, `SELECT count(*) FROM test_counter WHERE job = 'monthly'`), "only the month after the installation")

	// Once run, a start-up has nothing more to catch up.
	plan, err = quiet.CatchUpPlan(context.Background())
	require.NoError(t, err)
	require.Empty(t, plan.Due)
	require.Equal(t, []string{"daily 2027-01-05 2027-01-05T05:00:00Z", "monthly 2027-01 2027-01-05T06:00:00Z"}, keys(plan.Done))

	// Without an installation instant (InstalledAt zero) nothing is
	// limited, as before.
	unlimited, err := jobs.NewWorker(jobs.Config{Pool: jobPool, Jobs: []jobs.Job{yearly}, Clock: clock.Now})
	require.NoError(t, err)
	plan, err = unlimited.CatchUpPlan(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"yearly 2026 2026-01-15T08:00:00Z"}, keys(plan.Due))
}

// keys names occurrences as "job key scheduled-at".
func keys(occurrences []jobs.Occurrence) []string {
	names := []string{}
	for _, o := range occurrences {
		names = append(names, o.Name+" "+o.Key+" "+o.ScheduledAt.UTC().Format(time.RFC3339))
	}
	return names
}
