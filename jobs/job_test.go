package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/jobs"
)

func at(value string) time.Time {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPreviousFire(t *testing.T) {
	t.Parallel()
	for _, test := range []struct {
		name, expression, now, want string
	}{
		{"close day exactly", jobs.CloseCycleSchedule, "2026-11-05T06:00:00Z", "2026-11-05T06:00:00Z"},
		{"close day a minute early", jobs.CloseCycleSchedule, "2026-11-05T05:59:00Z", "2026-10-05T06:00:00Z"},
		{"after the close day", jobs.CloseCycleSchedule, "2026-11-23T12:00:00Z", "2026-11-05T06:00:00Z"},
		{"across a year end", jobs.CloseCycleSchedule, "2027-01-02T00:00:00Z", "2026-12-05T06:00:00Z"},
		{"year end after January", jobs.YearEndTaxReportsSchedule, "2026-03-01T00:00:00Z", "2026-01-15T08:00:00Z"},
		{"year end before its day", jobs.YearEndTaxReportsSchedule, "2026-01-10T00:00:00Z", "2025-01-15T08:00:00Z"},
		{"daily before its hour", jobs.ReleasePaymentsSchedule, "2026-11-23T06:59:59Z", "2026-11-22T07:00:00Z"},
		{"every minute", "* * * * *", "2026-11-23T10:00:30Z", "2026-11-23T10:00:00Z"},
		{"every five minutes", "*/5 * * * *", "2026-11-23T10:03:00Z", "2026-11-23T10:00:00Z"},
		{"leap day", "0 0 29 2 *", "2027-06-01T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"descriptor", "@monthly", "2026-11-23T10:00:00Z", "2026-11-01T00:00:00Z"},
		{"other time zone in, UTC out", jobs.CloseCycleSchedule, "2026-11-05T07:30:00+01:00", "2026-11-05T06:00:00Z"},
	} {
		t.Run(test.name, func(t *testing.T) {
			got, ok := jobs.PreviousFire(test.expression, at(test.now))
			require.True(t, ok)
			require.Equal(t, at(test.want), got)
			require.Equal(t, time.UTC, got.Location())
		})
	}
}

// previousFire is the latest fire at or before t: it is a fire, it is not
// after t, and the next fire after it is after t.
func TestPreviousFireProperty(t *testing.T) {
	t.Parallel()
	expressions := []string{
		jobs.CloseCycleSchedule, jobs.ReleasePaymentsSchedule, jobs.YearEndTaxReportsSchedule,
		"* * * * *", "*/7 3-5 * * 1-5", "15 10 1,15 * *", "0 0 29 2 *",
	}
	rapid.Check(t, func(t *rapid.T) {
		expression := rapid.SampledFrom(expressions).Draw(t, "expression")
		now := time.Unix(rapid.Int64Range(946684800, 4102444800).Draw(t, "unix"), 0).UTC()
		schedule, err := jobs.ParseSchedule("property", expression)
		require.NoError(t, err)
		fire, ok := jobs.PreviousFire(expression, now)
		require.True(t, ok)
		require.False(t, fire.After(now))
		require.Equal(t, fire, schedule.Next(fire.Add(-time.Second)), "a fire time")
		next := schedule.Next(fire)
		require.True(t, next.IsZero() || next.After(now), "the latest one (zero: none within cron's five-year horizon)")
	})
}

func TestPeriodKeys(t *testing.T) {
	t.Parallel()
	now := at("2026-11-23T23:30:00-05:00") // already the 24th in UTC
	require.Equal(t, "2026-11", jobs.MonthKey(now))
	require.Equal(t, "2026-11-24", jobs.DayKey(now))
	require.Equal(t, "2026", jobs.YearKey(now))
	require.Equal(t, "2026-11-24T04:30:00Z", jobs.TimeKey(now))
}

func noop(context.Context, jobs.Occurrence) error { return nil }

func TestStandardJobs(t *testing.T) {
	t.Parallel()
	all := map[string]jobs.RunFunc{}
	for _, name := range []string{jobs.CloseCycle, jobs.ReleasePayments, jobs.VerifyPayoutAccounts, jobs.ExpireTaxForms, jobs.ExpireInvitations, jobs.KeyExpiry, jobs.YearEndTaxReports} {
		all[name] = noop
	}
	list, err := jobs.Standard(all)
	require.NoError(t, err)
	require.Len(t, list, 7)
	_, err = jobs.ApplySchedules(list, nil)
	require.NoError(t, err, "every default schedule parses")
	require.Equal(t, jobs.CloseCycle, list[0].Name)
	require.Equal(t, "0 6 5 * *", list[0].Schedule)

	some, err := jobs.Standard(map[string]jobs.RunFunc{jobs.CloseCycle: noop})
	require.NoError(t, err)
	require.Len(t, some, 1, "jobs without a Run are left out")

	_, err = jobs.Standard(map[string]jobs.RunFunc{"close-cylce": noop})
	require.ErrorIs(t, err, jobs.ErrUnknownJob)
	require.ErrorContains(t, err, "close-cylce")
}

// (e) A bad cron expression is refused, naming the job.
func TestBadScheduleNamesTheJob(t *testing.T) {
	t.Parallel()
	list, err := jobs.Standard(map[string]jobs.RunFunc{jobs.CloseCycle: noop, jobs.KeyExpiry: noop})
	require.NoError(t, err)
	for _, expression := range []string{"", "0 6 5 *", "61 * * * *", "0 6 5 * * *", "bogus", "CRON_TZ=Europe/Berlin 0 6 5 * *", "@every 1h", "0 0 30 2 *"} {
		_, err := jobs.ApplySchedules(list, map[string]string{jobs.KeyExpiry: expression})
		require.ErrorIs(t, err, jobs.ErrBadSchedule, expression)
		require.ErrorContains(t, err, `"key-expiry"`, expression)
	}

	_, err = jobs.ApplySchedules(list, map[string]string{"no-such-job": "0 1 * * *"})
	require.ErrorIs(t, err, jobs.ErrUnknownJob)
	require.ErrorContains(t, err, "no-such-job")

	// NewWorker refuses it before touching the database (the pool is lazy
	// and points nowhere).
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/nothing?connect_timeout=1")
	require.NoError(t, err)
	defer pool.Close()
	_, err = jobs.NewWorker(jobs.Config{Pool: pool, Jobs: list, Schedules: map[string]string{jobs.CloseCycle: "0 6 32 * *"}})
	require.ErrorIs(t, err, jobs.ErrBadSchedule)
	require.ErrorContains(t, err, `"close-cycle"`)

	_, err = jobs.NewWorker(jobs.Config{Pool: pool, Jobs: []jobs.Job{{Name: "x-1", Schedule: "0 1 * * *"}}})
	require.ErrorIs(t, err, jobs.ErrBadJob)
	require.ErrorContains(t, err, `"x-1"`)
}

func TestCompleteTxOutsideAWorker(t *testing.T) {
	t.Parallel()
	err := jobs.CompleteTx(context.Background(), nil, jobs.Occurrence{Name: "x", Key: "k"})
	require.True(t, errors.Is(err, jobs.ErrNotRunning))
}
