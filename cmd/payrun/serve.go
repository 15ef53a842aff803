package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/admin"
	"github.com/payrun/payrun/admin/financials"
	"github.com/payrun/payrun/admin/operations"
	"github.com/payrun/payrun/console"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/logging"
	"github.com/payrun/payrun/jobs"
	"github.com/payrun/payrun/metrics"
	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/review"
)

// maxRequestHeaderBytes and the timeouts bound every connection.
const (
	maxRequestHeaderBytes = 64 << 10
	readTimeout           = 30 * time.Second
	writeTimeout          = 60 * time.Second
	shutdownTimeout       = 30 * time.Second
	// metricsRefreshInterval is how often the database-backed gauges and
	// the leader gauge are read again.
	metricsRefreshInterval = time.Minute
)

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the worker: admin API (/v1), finance console (/console/), /metrics, /healthz, /readyz and the scheduled jobs",
		Long: "Run payrun's worker: the admin API under /v1 (OpenAPI at /v1/openapi.json), the finance console under /console/,\n" +
			"/healthz and /readyz,\n" +
			"and the scheduled jobs. Several replicas may run at once. SIGTERM shuts down gracefully.\n" +
			"Refuses to start without PAYRUN_DATA_KEY unless PAYRUN_DEV=1.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd)
			if err != nil {
				return err
			}
			defer s.close()
			logger := a.logger()
			ctx := cmd.Context()
			policy, err := a.policyFrom("")
			if err != nil {
				return err
			}
			var shuttingDown atomic.Bool
			registry := prometheus.NewRegistry()
			serveMetrics := metrics.New(registry)
			var mailer accounts.Mailer
			if a.config.SMTPAddr != "" {
				mailer = accounts.SMTPMailer{Addr: a.config.SMTPAddr, From: a.config.SMTPFrom, User: a.config.SMTPUser, Password: a.config.SMTPPassword}
			}
			api := admin.New(admin.Config{DB: s.db, Mailer: mailer, Clock: a.now, OutDir: a.config.Out, Logger: logger,
				Financials: &financials.Service{DB: s.db, Cycles: s.cycles, Taxes: s.taxes, Clock: a.now, Policy: policy},
				Payouts:    a.exports(s),
				Operations: &operations.Service{DB: s.db, Store: s.cycles, Releaser: func() (*release.Releaser, error) { return a.releaser(s) },
					OutDir: a.config.Out, Clock: a.now, HoldingPeriod: a.config.HoldingPeriod, FXMaxChange: policy.FXMaxChange, Policy: policy}})
			mux := http.NewServeMux()
			mux.Handle("/v1/", api.Handler())
			mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
			mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				fmt.Fprintln(w, "ok")
			})
			mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				if shuttingDown.Load() {
					http.Error(w, "shutting down", http.StatusServiceUnavailable)
					return
				}
				checkCtx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				if err := s.db.PingContext(checkCtx); err != nil {
					http.Error(w, "database unreachable", http.StatusServiceUnavailable)
					return
				}
				if pending, err := migrations.Pending(checkCtx, s.db.DB); err != nil || pending {
					http.Error(w, "migrations pending: run `payrun migrate`", http.StatusServiceUnavailable)
					return
				}
				fmt.Fprintln(w, "ready")
			})
			pool, err := jobs.OpenPool(ctx, a.config.DatabaseURL)
			if err != nil {
				return a.databaseError(err)
			}
			defer pool.Close()
			selected, err := selectJobs(a.jobRuns(s, logger, serveMetrics), a.config.Jobs)
			if err != nil {
				return err
			}
			runs, err := jobs.Standard(instrument(serveMetrics, selected))
			if err != nil {
				return err
			}
			var schedules []console.Schedule
			for _, run := range runs {
				if run.Schedule != "" {
					schedules = append(schedules, console.Schedule{Job: run.Name, Spec: run.Schedule})
				}
			}
			financeConsole, err := console.New(console.Config{API: api, Review: &review.Service{DB: s.db, Clock: a.now},
				Schedules: schedules, Clock: a.now, Logger: logger})
			if err != nil {
				return err
			}
			mux.Handle(console.Prefix, financeConsole.Handler())
			// Catch-up never reaches back before the installation: a new
			// database does not close last month (package jobs, Catch-up).
			installedAt, err := migrations.InstalledAt(ctx, s.db.DB)
			if errors.Is(err, migrations.ErrNotInstalled) {
				// Migrations pending (a replica started before `payrun
				// migrate`): catch up nothing scheduled before now.
				installedAt = a.now()
				logger.Warn("no installation instant in the database (run `payrun migrate`): catching up nothing scheduled before now", "now", installedAt)
			} else if err != nil {
				return err
			}
			worker, err := jobs.NewWorker(jobs.Config{Pool: pool, Jobs: runs, Clock: a.now, Logger: logger,
				MaxWorkers: a.config.JobWorkers, RescueAfter: a.config.JobRescueAfter, InstalledAt: installedAt})
			if err != nil {
				return err
			}
			if err := worker.Start(ctx); err != nil {
				return fmt.Errorf("start jobs: %w", err)
			}
			// Gauges that describe the database (cycle states and totals,
			// job successes) and this replica's leadership, kept fresh.
			go func() {
				ticker := time.NewTicker(metricsRefreshInterval)
				defer ticker.Stop()
				for {
					if err := serveMetrics.Refresh(ctx, s.db); err != nil && ctx.Err() == nil {
						logger.Warn("refreshing metrics", "error", err)
					}
					serveMetrics.SetLeader(worker.IsLeader())
					select {
					case <-ctx.Done():
						return
					case <-ticker.C:
					}
				}
			}()
			defer func() {
				stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
				defer cancel()
				if err := worker.Stop(stopCtx); err != nil {
					logger.Error("stopping jobs", "error", err)
				}
			}()
			if err := db.Warm(ctx, s.db); err != nil {
				return a.databaseError(err)
			}
			listener, err := net.Listen("tcp", a.config.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s (PAYRUN_ADDR): %w", a.config.Addr, err)
			}
			// Request ids and the access log outermost: see logging.Middleware.
			handler := logging.Middleware(logger, metrics.Middleware(serveMetrics, mux, metrics.Route), metrics.Route)
			server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
				MaxHeaderBytes: maxRequestHeaderBytes, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
			logger.Info("payrun serving", "addr", listener.Addr().String(), "version", version)
			fmt.Fprintf(a.stderr, "payrun %s listening on http://%s (admin API /v1, /metrics, /healthz, /readyz)\n", version, listener.Addr())
			served := make(chan error, 1)
			go func() { served <- server.Serve(listener) }()
			select {
			case err := <-served:
				return err
			case <-ctx.Done():
			}
			shuttingDown.Store(true)
			logger.Info("shutting down")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
}

// logger is slog on stderr: JSON when stderr is not a terminal (production,
// and development mode under a supervisor or a test), text on a terminal.
// Lines logged with a request's context carry its request id
// (logging.ContextHandler), and secret-looking values are redacted as
// defence in depth (logging.Redact).
func (a *app) logger() *slog.Logger {
	var handler slog.Handler
	if a.terminal() {
		handler = slog.NewTextHandler(a.stderr, nil)
	} else {
		handler = slog.NewJSONHandler(a.stderr, nil)
	}
	return slog.New(logging.ContextHandler(logging.Redact(handler)))
}

// selectJobs keeps the runs of the jobs named in PAYRUN_JOBS (all when
// names is empty). close-cycle brings the close's tasks with it; every
// replica runs payouts-export, which any replica's API enqueues.
func selectJobs(runs map[string]jobs.RunFunc, names []string) (map[string]jobs.RunFunc, error) {
	if len(names) == 0 {
		return runs, nil
	}
	selected := map[string]jobs.RunFunc{}
	if run := runs[jobs.PayoutsExport]; run != nil {
		selected[jobs.PayoutsExport] = run
	}
	for _, name := range names {
		run, ok := runs[name]
		if !ok {
			known := slices.Sorted(maps.Keys(runs))
			return nil, fmt.Errorf("PAYRUN_JOBS: %q is not a job (jobs: %s)", name, strings.Join(known, ", "))
		}
		selected[name] = run
		if name == jobs.CloseCycle {
			for _, task := range []string{jobs.CloseStart, jobs.CloseShard, jobs.CloseFinish} {
				selected[task] = runs[task]
			}
		}
	}
	return selected, nil
}
