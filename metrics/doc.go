// Package metrics owns payrun's Prometheus metrics (SPEC §9): what the
// worker exposes on /metrics, the HTTP middleware that counts requests, and
// Refresh, which reads the gauges that describe the database back from it.
// The alert rules over these metrics are deploy/prometheus/alerts.yml (unit
// tested by alerts_test.yml), the dashboard deploy/grafana/payrun.json; the
// tests of this package run promtool on both and on a real scrape.
//
// # Ownership and invariants
//
//   - One registry, injected: New registers everything on the
//     prometheus.Registerer it is given (never the global default), with
//     the Go runtime and process collectors, so tests and several servers
//     in one process never collide.
//   - Labels are bounded. Routes are templates (/v1/accounts/{seller_id}),
//     never raw paths; a request no router matched is "other"; methods
//     outside the standard ones are "other"; no seller id, account or
//     amount is ever a label. Months keep series for the newest
//     MaxCycleStateMonths cycles only.
//   - Names follow Prometheus conventions: the payrun_ prefix, base units
//     last (_seconds, _usd), _total on counters, Unix times as
//     _timestamp_seconds.
//   - Process and database: counters, payrun_job_running and payrun_leader
//     describe this process; the cycle and job gauges describe the database
//     and are set by the code that changes it (ObserveClose, JobFinished)
//     and by Refresh, which makes them right after a restart and the same
//     on every replica. Alerts therefore take max() over replicas.
//   - A nil *Metrics is a no-op: code paths without metrics need no guard.
//
// # Failure modes
//
// New panics when a metric is already registered on the registry (a
// programming error). Refresh returns database errors and changes nothing
// then; the gauges keep their last values. Nothing in this package blocks
// the work it observes.
//
// # Metrics
//
//	name                                        type       labels               meaning
//	payrun_cycle_close_duration_seconds         histogram  -                    duration of finished closes
//	payrun_cycle_last_closed_timestamp_seconds  gauge      -                    Unix time of the newest close (0: none seen)
//	payrun_cycle_state                          gauge      month, state         1 for the cycle's current state, 0 for the others
//	payrun_payouts                              gauge      status, method       payouts of the newest closed cycle (method "none" unless paid)
//	payrun_cycle_paid_usd                       gauge      -                    USD paid by the newest closed cycle
//	payrun_cycle_withheld_usd                   gauge      -                    US tax withheld by it
//	payrun_cycle_held_usd                       gauge      -                    balances it held
//	payrun_cycle_carried_usd                    gauge      -                    balances it carried (not held)
//	payrun_held_publishers                      gauge      reason               publishers it held, by primary reason
//	payrun_job_runs_total                       counter    job, outcome         runs finished here (succeeded, failed)
//	payrun_job_last_success_timestamp_seconds   gauge      job                  Unix time of the job's last success (any replica)
//	payrun_job_running                          gauge      job                  runs in progress here
//	payrun_job_consecutive_failures             gauge      job                  failed runs since the last success
//	payrun_http_requests_total                  counter    route, method, code  requests served
//	payrun_http_request_duration_seconds        histogram  route, method        time to serve them
//	payrun_earnings_lines_imported_total        counter    -                    earnings lines imported
//	payrun_earnings_lines_rejected_total        counter    -                    earnings lines rejected as invalid
//	payrun_returns_imported_total               counter    -                    returned payments recorded
//	payrun_leader                               gauge      -                    1 when this replica is the jobs leader
//
// plus go_* and process_* from the runtime and process collectors, and
// promhttp_metric_handler_errors_total from the /metrics handler.
//
// The job label names a payrun job, which clashes with the `job` target
// label Prometheus adds: scrape payrun with honor_labels: true (as
// deploy/prometheus/prometheus.yml does), or Prometheus renames it to
// exported_job and the job alerts see nothing.
//
// # Wiring
//
//	registry := prometheus.NewRegistry()
//	m := metrics.New(registry)
//	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
//	server.Handler = metrics.Middleware(m, mux, metrics.Route)
//	m.Refresh(ctx, db) // at start, after a close, then every minute
//
// The close calls ObserveClose with ParseCycleTotals of the JSON it writes
// to cycles.totals and SetCycleState on approval and release; imports call
// ObserveImport and ObserveReturns; the job worker brackets each run with
// JobStarted and JobFinished and reports leadership with SetLeader.
package metrics
