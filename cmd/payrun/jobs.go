package main

import (
	"context"
	"encoding/json"
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
	"github.com/payrun/payrun/internal/metrics"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/prenote"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax/yearend"
)

// jobRuns are the work of the scheduled jobs (SPEC §8), wired to the same
// services the CLI uses. Each is idempotent: a re-run of an occurrence finds
// its work done and does nothing.
func (a *app) jobRuns(s *services, logger *slog.Logger, m *metrics.Metrics) map[string]jobs.RunFunc {
	return withRunLogger(logger, map[string]jobs.RunFunc{
		jobs.CloseCycle: func(ctx context.Context, o jobs.Occurrence) error {
			month, err := payout.ParseMonth(o.Key)
			if err != nil {
				return err
			}
			policy, err := a.policyFrom("")
			if err != nil {
				return err
			}
			// Catch up: close every earlier month still open, in order.
			months, err := monthsToClose(ctx, s, month)
			if err != nil {
				return err
			}
			for _, month := range months {
				start := time.Now()
				result, err := s.cycles.Close(ctx, store.CloseOptions{Month: month, Policy: policy, Actor: "job:" + jobs.CloseCycle,
					Report: func(ctx context.Context, q store.Querier) error {
						_, err := cyclereport.Write(ctx, q, a.config.Out, month, false)
						return err
					}})
				if err != nil {
					logging.FromContext(ctx).Error("cycle close failed", "cycle", payout.MonthName(month), "error", err)
					return fmt.Errorf("close %s: %w", payout.MonthName(month), err)
				}
				if !result.AlreadyClosed {
					if body, err := json.Marshal(result.Totals); err == nil {
						if totals, err := metrics.ParseCycleTotals(body); err == nil {
							m.ObserveClose(result.Month, result.State, time.Since(start), totals)
						}
					}
				}
				logging.FromContext(ctx).Info("cycle closed", "cycle", result.Month, "state", result.State, "already_closed", result.AlreadyClosed,
					"paid", result.Totals.Paid.Count, "paid_usd", result.Totals.Paid.Amount.StringFixed(2))
			}
			return nil
		},
		jobs.ReleasePayments: func(ctx context.Context, o jobs.Occurrence) error {
			var months []time.Time
			if err := s.db.SelectContext(ctx, &months, `
				SELECT month FROM cycles WHERE state = 'closed' OR (state = 'awaiting_approval' AND approved_at IS NOT NULL) ORDER BY month`); err != nil {
				return err
			}
			var failures []error
			for _, month := range months {
				result, err := a.releaseCycle(ctx, s, month, "job:"+jobs.ReleasePayments)
				if err != nil {
					logging.FromContext(ctx).Error("cycle release failed", "cycle", payout.MonthName(month), "error", err)
					failures = append(failures, fmt.Errorf("release %s: %w", payout.MonthName(month), err))
					continue
				}
				logging.FromContext(ctx).Info("cycle released", "cycle", result.Month, "files", len(result.Files))
			}
			settled, err := s.cycles.Settle(ctx, "job:"+jobs.ReleasePayments)
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
			var expiring int
			now := a.now()
			err := s.db.GetContext(ctx, &expiring, `
				SELECT count(*) FROM (SELECT DISTINCT ON (account_id) account_id, form, (submission->>'signed_on')::date AS signed
				                      FROM tax_forms ORDER BY account_id, submitted_at DESC, id DESC) f
				WHERE f.form <> 'W-9' AND make_date(extract(year FROM f.signed)::int + 4, 1, 1) BETWEEN $1::date AND ($1::date + 90)`, now)
			logging.FromContext(ctx).Info("tax forms expiring within 90 days", "count", expiring)
			return err
		},
		jobs.KeyExpiry: func(ctx context.Context, o jobs.Occurrence) error {
			var expiring int
			now := a.now()
			err := s.db.GetContext(ctx, &expiring, `SELECT count(*) FROM app_keys WHERE removed_at IS NULL AND expires_at BETWEEN $1 AND $2`, now, now.AddDate(0, 0, 30))
			logging.FromContext(ctx).Info("app keys expiring within 30 days", "count", expiring)
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

// monthsToClose lists the months a close-cycle occurrence must close, in
// order: the occurrence's month, preceded by every month after the newest
// closed cycle (a catch-up after downtime).
func monthsToClose(ctx context.Context, s *services, month time.Time) ([]time.Time, error) {
	var newest *time.Time
	if err := s.db.GetContext(ctx, &newest, `SELECT max(month) FROM cycles WHERE state NOT IN ('open', 'closing')`); err != nil {
		return nil, err
	}
	if newest == nil || !newest.Before(month) {
		return []time.Time{month}, nil
	}
	var months []time.Time
	for m := newest.AddDate(0, 1, 0); !m.After(month); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	return months, nil
}

// releaseCycle releases a cycle and rewrites its workbook with the files.
func (a *app) releaseCycle(ctx context.Context, s *services, month time.Time, actor string) (release.Result, error) {
	releaser, err := a.releaser(s)
	if err != nil {
		return release.Result{}, err
	}
	result, err := releaser.Release(ctx, month, actor)
	if err != nil {
		return result, err
	}
	err = db.WithPgx(ctx, s.db, func(conn *pgx.Conn) error {
		_, err := cyclereport.Write(ctx, conn, a.config.Out, month, false)
		return err
	})
	return result, err
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
