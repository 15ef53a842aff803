package publisher_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// The export as `payrun serve` runs it: StartExport enqueues the
// payouts-export task in the export's transaction (jobs.EnqueueTask), a
// Worker runs RunExport, the export is done with its file; enqueueing it
// again inserts nothing. An attempt that fails marks the export failed
// with the error; the next attempt writes it (attempts 2).
func TestExportJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.NewURL(t)
	w := fixture.On(t, dbtest.Open(t, url))
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("US1", "US", "120.50", "2026-10-20T00:00:00Z")
	w.Earn("US1", "GB", "-3.10", "2026-10-21T00:00:00Z")
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	w.Set("2026-11-20T00:00:00Z")

	enqueue := func(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
		_, err := jobs.EnqueueTask(ctx, tx, jobs.PayoutsExport, id, at)
		return err
	}
	svc := &publisher.Service{DB: w.DB, Store: w.Store, Clock: w.Now, OutDir: t.TempDir(), Enqueue: enqueue,
		Policy: func() (payout.Policy, error) { return payout.DefaultPolicy(), nil }}
	pool, err := jobs.OpenPool(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	list, err := jobs.Standard(map[string]jobs.RunFunc{jobs.PayoutsExport: func(ctx context.Context, o jobs.Occurrence) error {
		_, err := svc.RunExport(ctx, o.Key)
		return err
	}})
	require.NoError(t, err)
	worker, err := jobs.NewWorker(jobs.Config{Pool: pool, Jobs: list, Clock: w.Now})
	require.NoError(t, err)
	require.NoError(t, worker.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = worker.Stop(stopCtx)
	})

	e, err := svc.StartExport(ctx, w.IDs["US1"], publisher.ExportRequest{Kind: "transactions", Format: "xlsx", From: "2026-10", To: "2026-11"}, "user:test")
	require.NoError(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for e.Status != publisher.ExportDone {
		require.True(t, time.Now().Before(deadline), "the job did not finish the export: %+v", e)
		time.Sleep(50 * time.Millisecond)
		e, err = svc.Export(ctx, w.IDs["US1"], e.ID)
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, e.Rows)
	require.Equal(t, 1, e.Attempts)
	require.FileExists(t, e.File)
	// The run is recorded as succeeded just after RunExport returns.
	for runs := 0; runs != 1; {
		require.True(t, time.Now().Before(deadline), "the job's run was not recorded")
		require.NoError(t, w.DB.Get(&runs, `SELECT count(*) FROM job_runs WHERE job = $1 AND occurrence_key = $2 AND outcome = 'succeeded'`,
			jobs.PayoutsExport, e.ID))
		time.Sleep(20 * time.Millisecond)
	}
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	inserted, err := jobs.EnqueueTask(ctx, tx, jobs.PayoutsExport, e.ID, w.Now())
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.False(t, inserted, "a completed export's job is not enqueued again")

	// A failing attempt (the output directory is a file), then a good one.
	blocked := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.WriteFile(blocked, nil, 0o600))
	failing := &publisher.Service{DB: w.DB, Store: w.Store, Clock: w.Now, OutDir: blocked}
	again, err := failing.ExportNow(ctx, w.IDs["US1"], publisher.ExportRequest{Kind: "payments", Format: "csv", From: "2026-10", To: "2026-11"}, "user:test")
	require.Error(t, err)
	failed, err := svc.Export(ctx, w.IDs["US1"], again.ID)
	require.NoError(t, err)
	require.Equal(t, publisher.ExportFailed, failed.Status)
	require.Contains(t, failed.Error, "not a directory")
	_, _, err = svc.OpenExport(ctx, w.IDs["US1"], again.ID)
	require.ErrorIs(t, err, publisher.ErrExportNotReady)
	done, err := svc.RunExport(ctx, again.ID)
	require.NoError(t, err)
	require.Equal(t, publisher.ExportDone, done.Status)
	require.Empty(t, done.Error)
	require.Equal(t, 2, done.Attempts)
}
