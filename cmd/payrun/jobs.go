package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/metrics"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cycle"
	"github.com/payrun/payrun/payout/prenote"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/tax/yearend"
)

// jobRuns are the work of the scheduled jobs (SPEC §8), wired to the same
// services the CLI uses. Each is idempotent: a re-run of an occurrence finds
// its work done and does nothing.
func (a *app) jobRuns(s *services, logger *slog.Logger, m *metrics.Metrics) map[string]jobs.RunFunc {
	return withRunLogger(logger, map[string]jobs.RunFunc{
		// The close is a chain of steps (payout/cycle): each step says which
		// follow it, and they are enqueued in the transaction that completes
		// the step, so the next steps exist exactly when this one is done.
		jobs.CloseCycle: func(ctx context.Context, o jobs.Occurrence) error {
			until, err := payout.ParseMonth(o.Key)
			if err != nil {
				return err
			}
			next, err := a.cycles(s).ScheduledClose(ctx, until)
			if err != nil {
				return err
			}
			return a.completeEnqueuing(ctx, s, o, next)
		},
		jobs.CloseStart: func(ctx context.Context, o jobs.Occurrence) error {
			options, err := a.closeOptions()
			if err != nil {
				return err
			}
			started, next, err := a.cycles(s).StartStep(ctx, o.Key, options)
			if err != nil {
				logging.FromContext(ctx).Error("cycle close failed to start", "cycle", o.Key, "error", err)
				return err
			}
			if started.Closed != nil {
				logging.FromContext(ctx).Info("cycle closed", "cycle", started.Closed.Month, "state", started.Closed.State, "already_closed", true)
			} else {
				logging.FromContext(ctx).Info("cycle close started", "cycle", started.Month, "shards", started.Shards, "pending", len(started.Pending))
			}
			return a.completeEnqueuing(ctx, s, o, next)
		},
		jobs.CloseShard: func(ctx context.Context, o jobs.Occurrence) error {
			options, err := a.closeOptions()
			if err != nil {
				return err
			}
			// The transaction marking the shard done also completes this run
			// and, for the last shard, enqueues the finish.
			return a.cycles(s).ShardStep(ctx, o.Key, options, func(ctx context.Context, tx pgx.Tx, next cycle.Next) error {
				return enqueueTx(ctx, tx, o, next)
			})
		},
		jobs.CloseFinish: func(ctx context.Context, o jobs.Occurrence) error {
			options, err := a.closeOptions()
			if err != nil {
				return err
			}
			closed, next, err := a.cycles(s).FinishStep(ctx, o.Key, options)
			if err != nil {
				logging.FromContext(ctx).Error("cycle close failed", "cycle", o.Key, "error", err)
				return err
			}
			result := closed.CloseResult
			if !result.AlreadyClosed && !closed.StartedAt.IsZero() {
				m.ObserveClose(result.Month, result.State, a.now().Sub(closed.StartedAt), metrics.TotalsOf(result.Totals))
			}
			logging.FromContext(ctx).Info("cycle closed", "cycle", result.Month, "state", result.State, "already_closed", result.AlreadyClosed,
				"shards", result.Shards, "paid", result.Totals.Paid.Count, "paid_usd", result.Totals.Paid.Amount.StringFixed(2))
			return a.completeEnqueuing(ctx, s, o, next)
		},
		jobs.ReleasePayments: func(ctx context.Context, o jobs.Occurrence) error {
			months, err := a.cycles(s).Releasable(ctx)
			if err != nil {
				return err
			}
			var failures []error
			for _, month := range months {
				result, err := a.cycles(s).Release(ctx, month, store.SystemPrincipal("job:"+jobs.ReleasePayments))
				if err != nil {
					logging.FromContext(ctx).Error("cycle release failed", "cycle", payout.MonthName(month), "error", err)
					failures = append(failures, fmt.Errorf("release %s: %w", payout.MonthName(month), err))
					continue
				}
				logging.FromContext(ctx).Info("cycle released", "cycle", result.Month, "files", len(result.Files))
			}
			settled, err := a.cycles(s).Settle(ctx, "job:"+jobs.ReleasePayments)
			if err != nil {
				failures = append(failures, err)
			}
			for _, month := range settled {
				logging.FromContext(ctx).Info("cycle settled", "cycle", payout.MonthName(month))
			}
			return errors.Join(failures...)
		},
		jobs.VerifyPayoutAccounts: func(ctx context.Context, o jobs.Occurrence) error {
			releaser, err := a.releaser(s)
			if err != nil {
				return err
			}
			result, err := prenote.Run(ctx, s.db, s.sealer, a.now, releaser.Config.Originator, a.config.Out, prenote.DefaultBankingDays)
			if err != nil {
				return err
			}
			logging.FromContext(ctx).Info("prenotes", "file", result.File, "sent", result.Sent, "verified", len(result.Verified), "refused", len(result.Refused))
			return nil
		},
		jobs.YearEndTaxReports: func(ctx context.Context, o jobs.Occurrence) error {
			// In January, the data of the year that just ended.
			year := o.ScheduledAt.Year() - 1
			_, err := yearend.Write(ctx, s.db, s.taxes, yearend.Options{Year: year, Dir: filepath.Join(a.config.Out, "tax", strconv.Itoa(year)),
				Thresholds: yearend.DefaultThresholds(), Overwrite: true})
			if err == nil {
				logging.FromContext(ctx).Info("year-end tax data written", "year", year)
			}
			return err
		},
		jobs.ExpireInvitations: func(ctx context.Context, o jobs.Occurrence) error {
			n, err := accounts.ExpireInvitations(ctx, s.db, a.now())
			logging.FromContext(ctx).Info("invitations expired", "count", n)
			return err
		},
		jobs.ExpireTaxForms: func(ctx context.Context, o jobs.Occurrence) error {
			// Status is computed from the signature date, so nothing needs
			// marking: the job reports W-8s that expire within 90 days.
			expiring, err := taxstore.ExpiringW8s(ctx, s.db, a.now(), 90)
			logging.FromContext(ctx).Info("tax forms expiring within 90 days", "count", expiring)
			return err
		},
		jobs.KeyExpiry: func(ctx context.Context, o jobs.Occurrence) error {
			expiring, err := accounts.ExpiringKeys(ctx, s.db, a.now(), 30)
			logging.FromContext(ctx).Info("app keys expiring within 30 days", "count", expiring)
			return err
		},
		jobs.MaintainPartitions: a.maintainPartitions(s),
		// An export an API request enqueued (publisher.Service.StartExport).
		jobs.PayoutsExport: func(ctx context.Context, o jobs.Occurrence) error {
			e, err := a.exports(s).RunExport(ctx, o.Key)
			if err == nil {
				logging.FromContext(ctx).Info("payouts export written", "export", e.ID, "seller", e.SellerID, "kind", e.Kind,
					"format", e.Format, "rows", e.Rows, "bytes", e.Size)
			}
			return err
		},
	})
}

// withRunLogger gives every run a logger (logging.FromContext) whose lines
// carry the job, the occurrence key and the attempt, like the worker's own
// lines about the run.
func withRunLogger(logger *slog.Logger, runs map[string]jobs.RunFunc) map[string]jobs.RunFunc {
	wrapped := make(map[string]jobs.RunFunc, len(runs))
	for name, run := range runs {
		wrapped[name] = func(ctx context.Context, o jobs.Occurrence) error {
			runLogger := logger.With("job", name, "key", o.Key, "attempt", o.Attempt)
			return run(logging.NewContext(ctx, runLogger), o)
		}
	}
	return wrapped
}

// instrument counts every job run in the metrics: running, outcome, last
// success, consecutive failures.
func instrument(m *metrics.Metrics, runs map[string]jobs.RunFunc) map[string]jobs.RunFunc {
	wrapped := make(map[string]jobs.RunFunc, len(runs))
	for name, run := range runs {
		wrapped[name] = func(ctx context.Context, o jobs.Occurrence) error {
			m.JobStarted(name)
			err := run(ctx, o)
			outcome := metrics.OutcomeSucceeded
			if err != nil {
				outcome = metrics.OutcomeFailed
			}
			m.JobFinished(name, outcome)
			return err
		}
	}
	return wrapped
}

// closeOptions are the options every step of a scheduled close uses.
func (a *app) closeOptions() (store.CloseOptions, error) {
	policy, err := a.policyFrom("")
	if err != nil {
		return store.CloseOptions{}, err
	}
	return store.CloseOptions{Policy: policy, Actor: "job:" + jobs.CloseCycle, Shards: a.config.CloseShards, Fault: faultFromEnv()}, nil
}

// closeJobs are the jobs that run the close's steps.
var closeJobs = map[cycle.Step]string{cycle.StepStart: jobs.CloseStart, cycle.StepShard: jobs.CloseShard, cycle.StepFinish: jobs.CloseFinish}

// enqueueTx enqueues, in tx, the steps that follow run o (one job per key)
// and completes o.
func enqueueTx(ctx context.Context, tx pgx.Tx, o jobs.Occurrence, next cycle.Next) error {
	for _, key := range next.Keys {
		if _, err := jobs.EnqueueTx(ctx, tx, o, closeJobs[next.Step], key); err != nil {
			return err
		}
	}
	return jobs.CompleteTx(ctx, tx, o)
}

// completeEnqueuing enqueues the steps that follow run o and completes it
// in one transaction: the next steps exist exactly when this one is done.
func (a *app) completeEnqueuing(ctx context.Context, s *services, o jobs.Occurrence, next cycle.Next) error {
	return db.WithPgx(ctx, s.db, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error { return enqueueTx(ctx, tx, o, next) })
	})
}

// cycles is the cycle's application layer over this command's services.
func (a *app) cycles(s *services) *cycle.Service {
	return &cycle.Service{DB: s.db, Store: s.cycles, Releaser: func() (*release.Releaser, error) { return a.releaser(s) }, OutDir: a.config.Out}
}

func (a *app) jobsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Scheduled jobs: their runs and outcomes"}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List job runs, newest first, with outcome and error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			database, err := a.openDB(cmd)
			if err != nil {
				return err
			}
			defer database.Close()
			runs, err := jobs.List(cmd.Context(), database, limit)
			if err != nil {
				return err
			}
			if a.jsonOutput {
				return a.printJSON(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintln(a.stdout, "no job runs yet (payrun serve runs the jobs)")
			}
			for _, r := range runs {
				finished := "running"
				if r.FinishedAt != nil {
					finished = r.FinishedAt.Format(time.RFC3339)
				}
				problem := ""
				if r.Error != nil {
					problem = *r.Error
				}
				fmt.Fprintf(a.stdout, "%-24s %-12s %-10s started %s finished %s attempt %d %s\n", r.Job, r.Key, r.Outcome,
					r.StartedAt.Format(time.RFC3339), finished, r.Attempt, problem)
			}
			return nil
		},
	}
	list.Flags().IntVar(&limit, "limit", 50, "how many runs")
	a.addJSONFlag(list)
	cmd.AddCommand(list)
	return cmd
}
