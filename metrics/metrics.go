package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/payrun/payrun/payout"
)

// Namespace prefixes every payrun metric.
const Namespace = "payrun"

// MaxCycleStateMonths bounds payrun_cycle_state: only the newest months
// keep a series (a year of monthly cycles plus the one being closed), so the
// label set stops growing with the age of the installation.
const MaxCycleStateMonths = 13

// CycleStates are the states of a cycle (SPEC §3.4), in lifecycle order;
// payrun_cycle_state has one series per month and state.
var CycleStates = func() []string {
	states := make([]string, len(payout.CycleStates))
	for i, s := range payout.CycleStates {
		states[i] = string(s)
	}
	return states
}()

// Job outcomes as recorded in job_runs.outcome.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Method labels of payrun_payouts for payouts that are not paid, and of
// payrun_http_* for request methods outside the standard set.
const (
	MethodNone  = "none"
	MethodOther = "other"
)

// closeDurationBuckets span a small test cycle (a second) to a large one
// close to the close-cycle job's 4 h timeout.
var closeDurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}

// Metrics are payrun's Prometheus metrics, registered on one injected
// registry. All methods are safe for concurrent use; a nil *Metrics is a
// no-op, so code paths without metrics (CLI commands, tests) need no guard.
type Metrics struct {
	clock func() time.Time

	closeDuration     prometheus.Histogram
	lastClosed        prometheus.Gauge
	cycleState        *prometheus.GaugeVec
	payouts           *prometheus.GaugeVec
	paidUSD           prometheus.Gauge
	withheldUSD       prometheus.Gauge
	heldUSD           prometheus.Gauge
	carriedUSD        prometheus.Gauge
	heldPublishers    *prometheus.GaugeVec
	jobRuns           *prometheus.CounterVec
	jobLastSuccess    *prometheus.GaugeVec
	jobRunning        *prometheus.GaugeVec
	jobFailuresInARow *prometheus.GaugeVec
	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	linesImported     prometheus.Counter
	linesRejected     prometheus.Counter
	returnsImported   prometheus.Counter
	leader            prometheus.Gauge

	mu     sync.Mutex
	months map[string]string // month → current state, for payrun_cycle_state
}

// Option configures New.
type Option func(*Metrics)

// WithClock sets the clock behind the timestamps the metrics record (job
// successes, closes); the default is time.Now.
func WithClock(clock func() time.Time) Option {
	return func(m *Metrics) { m.clock = clock }
}

// New creates payrun's metrics and registers them, with the Go runtime and
// process collectors, on registry (never the global default registry, so
// tests and several servers in one process each get their own). It panics
// if registry already holds any of them, as prometheus.MustRegister does.
func New(registry prometheus.Registerer, options ...Option) *Metrics {
	m := &Metrics{clock: time.Now, months: map[string]string{}}
	for _, option := range options {
		option(m)
	}
	m.closeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "cycle_close_duration_seconds",
		Help:    "Duration of cycle closes that finished (closed or awaiting approval).",
		Buckets: closeDurationBuckets,
	})
	m.lastClosed = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_last_closed_timestamp_seconds",
		Help: "Unix time the newest cycle was closed; 0 if none ever was.",
	})
	m.cycleState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_state",
		Help: "1 for the current state of the cycle of month (YYYY-MM), 0 for the other states; the newest 13 months.",
	}, []string{"month", "state"})
	m.payouts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "payouts",
		Help: "Payouts of the newest closed cycle by status (paid, held, carried) and method (bank, paypal; none when not paid).",
	}, []string{"status", "method"})
	m.paidUSD = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_paid_usd",
		Help: "USD paid by the newest closed cycle.",
	})
	m.withheldUSD = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_withheld_usd",
		Help: "US tax withheld (USD) by the newest closed cycle.",
	})
	m.heldUSD = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_held_usd",
		Help: "Balances held (USD) by the newest closed cycle.",
	})
	m.carriedUSD = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "cycle_carried_usd",
		Help: "Balances carried to the next cycle (USD, not held) by the newest closed cycle.",
	})
	m.heldPublishers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "held_publishers",
		Help: "Publishers held by the newest closed cycle, by primary reason.",
	}, []string{"reason"})
	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "job_runs_total",
		Help: "Job runs finished in this process, by job and outcome (succeeded, failed).",
	}, []string{"job", "outcome"})
	m.jobLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "job_last_success_timestamp_seconds",
		Help: "Unix time of the last successful run of job (by any replica, as of the last refresh).",
	}, []string{"job"})
	m.jobRunning = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "job_running",
		Help: "Runs of job in progress in this process.",
	}, []string{"job"})
	m.jobFailuresInARow = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "job_consecutive_failures",
		Help: "Failed runs of job since its last success.",
	}, []string{"job"})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by route template, method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time to serve HTTP requests, by route template and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	m.linesImported = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "earnings_lines_imported_total",
		Help: "Earnings lines imported (new lines committed).",
	})
	m.linesRejected = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "earnings_lines_rejected_total",
		Help: "Earnings lines rejected as invalid by imports (their files imported nothing).",
	})
	m.returnsImported = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "returns_imported_total",
		Help: "Returned payments recorded from return files.",
	})
	m.leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "leader",
		Help: "1 when this replica is the elected jobs leader, else 0.",
	})
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.closeDuration, m.lastClosed, m.cycleState, m.payouts,
		m.paidUSD, m.withheldUSD, m.heldUSD, m.carriedUSD, m.heldPublishers,
		m.jobRuns, m.jobLastSuccess, m.jobRunning, m.jobFailuresInARow,
		m.httpRequests, m.httpDuration,
		m.linesImported, m.linesRejected, m.returnsImported, m.leader,
	)
	return m
}

// ObserveClose records a close that finished: its duration, the cycle's new
// state (closed or awaiting_approval), the close time (now) and the cycle's
// totals, which replace those of the previous closed cycle. month is
// "YYYY-MM".
func (m *Metrics) ObserveClose(month, state string, duration time.Duration, totals CycleTotals) {
	if m == nil {
		return
	}
	m.closeDuration.Observe(duration.Seconds())
	m.lastClosed.Set(unixSeconds(m.clock()))
	m.SetCycleState(month, state)
	m.setTotals(totals)
}

// SetCycleState records that the cycle of month ("YYYY-MM") is now in
// state (one of CycleStates): after a close starts, an approval, a release
// or a settlement. Only the newest MaxCycleStateMonths months keep series.
func (m *Metrics) SetCycleState(month, state string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.months[month] = state
	m.writeCycleStatesLocked()
}

// writeCycleStatesLocked drops the months beyond the newest
// MaxCycleStateMonths and writes the series of the others. m.mu is held.
func (m *Metrics) writeCycleStatesLocked() {
	months := make([]string, 0, len(m.months))
	for month := range m.months {
		months = append(months, month)
	}
	sort.Strings(months) // "YYYY-MM" sorts chronologically
	for len(months) > MaxCycleStateMonths {
		old := months[0]
		months = months[1:]
		delete(m.months, old)
		m.cycleState.DeletePartialMatch(prometheus.Labels{"month": old})
	}
	for _, month := range months {
		current := m.months[month]
		for _, state := range CycleStates {
			value := 0.0
			if state == current {
				value = 1
			}
			m.cycleState.WithLabelValues(month, state).Set(value)
		}
	}
}

// setTotals replaces the last closed cycle's figures.
func (m *Metrics) setTotals(totals CycleTotals) {
	m.paidUSD.Set(totals.PaidUSD)
	m.withheldUSD.Set(totals.WithheldUSD)
	m.heldUSD.Set(totals.HeldUSD)
	m.carriedUSD.Set(totals.CarriedUSD)
	m.payouts.Reset()
	for method, count := range totals.PaidByMethod {
		m.payouts.WithLabelValues("paid", method).Set(float64(count))
	}
	m.payouts.WithLabelValues("held", MethodNone).Set(float64(totals.HeldCount))
	m.payouts.WithLabelValues("carried", MethodNone).Set(float64(totals.CarriedCount))
	m.heldPublishers.Reset()
	for reason, count := range totals.HeldByReason {
		m.heldPublishers.WithLabelValues(reason).Set(float64(count))
	}
}

// ObserveImport records a finished earnings import: lines imported (new
// lines committed) and lines rejected as invalid.
func (m *Metrics) ObserveImport(imported, rejected int64) {
	if m == nil {
		return
	}
	if imported > 0 {
		m.linesImported.Add(float64(imported))
	}
	if rejected > 0 {
		m.linesRejected.Add(float64(rejected))
	}
}

// ObserveReturns records returned payments recorded from a return file.
func (m *Metrics) ObserveReturns(returns int64) {
	if m == nil || returns <= 0 {
		return
	}
	m.returnsImported.Add(float64(returns))
}

// JobStarted records that a run of job started in this process. Pair it
// with JobFinished (defer it).
func (m *Metrics) JobStarted(job string) {
	if m == nil {
		return
	}
	m.jobRunning.WithLabelValues(job).Inc()
}

// JobFinished records the end of a run of job started with JobStarted;
// outcome is OutcomeSucceeded or OutcomeFailed. A success stamps
// payrun_job_last_success_timestamp_seconds and resets the failure streak.
func (m *Metrics) JobFinished(job, outcome string) {
	if m == nil {
		return
	}
	m.jobRunning.WithLabelValues(job).Dec()
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	switch outcome {
	case OutcomeSucceeded:
		m.jobLastSuccess.WithLabelValues(job).Set(unixSeconds(m.clock()))
		m.jobFailuresInARow.WithLabelValues(job).Set(0)
	case OutcomeFailed:
		m.jobFailuresInARow.WithLabelValues(job).Inc()
	}
}

// SetLeader records whether this replica is the elected jobs leader.
func (m *Metrics) SetLeader(leader bool) {
	if m == nil {
		return
	}
	if leader {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// unixSeconds is t as fractional Unix seconds.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
