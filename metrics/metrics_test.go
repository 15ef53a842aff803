package metrics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payrun/payrun/metrics"
)

// exercise calls every method once, so every payrun metric has a series.
func exercise(m *metrics.Metrics) {
	m.ObserveClose("2026-05", "awaiting_approval", 90*time.Second, metrics.CycleTotals{
		PaidUSD: 1234.5, WithheldUSD: 120.25, HeldUSD: 77, CarriedUSD: 3.5,
		PaidByMethod: map[string]int64{"bank": 7, "paypal": 2},
		HeldCount:    3, CarriedCount: 4,
		HeldByReason: map[string]int64{"account_not_verified": 2, "payment_hold": 1},
	})
	m.ObserveImport(1000, 0)
	m.ObserveImport(0, 12)
	m.ObserveReturns(5)
	m.JobStarted("close-cycle")
	m.JobFinished("close-cycle", metrics.OutcomeSucceeded)
	m.JobStarted("expire-tax-forms")
	m.JobFinished("expire-tax-forms", metrics.OutcomeFailed)
	m.JobStarted("expire-tax-forms")
	m.JobFinished("expire-tax-forms", metrics.OutcomeFailed)
	m.JobStarted("release-payments") // still running
	m.SetLeader(true)
}

// payrunMetrics are the metric families New registers, with their types.
var payrunMetrics = map[string]string{
	"payrun_cycle_close_duration_seconds":        "histogram",
	"payrun_cycle_last_closed_timestamp_seconds": "gauge",
	"payrun_cycle_state":                         "gauge",
	"payrun_payouts":                             "gauge",
	"payrun_cycle_paid_usd":                      "gauge",
	"payrun_cycle_withheld_usd":                  "gauge",
	"payrun_cycle_held_usd":                      "gauge",
	"payrun_cycle_carried_usd":                   "gauge",
	"payrun_held_publishers":                     "gauge",
	"payrun_job_runs_total":                      "counter",
	"payrun_job_last_success_timestamp_seconds":  "gauge",
	"payrun_job_running":                         "gauge",
	"payrun_job_consecutive_failures":            "gauge",
	"payrun_http_requests_total":                 "counter",
	"payrun_http_request_duration_seconds":       "histogram",
	"payrun_earnings_lines_imported_total":       "counter",
	"payrun_earnings_lines_rejected_total":       "counter",
	"payrun_returns_imported_total":              "counter",
	"payrun_leader":                              "gauge",
}

func TestScrapeHasEveryMetricAndPassesPromtool(t *testing.T) {
	t.Parallel()
	m, registry := newMetrics(t)
	exercise(m)
	// One request through the middleware, so the HTTP families have series.
	serveThrough(t, m, "GET", "/healthz")
	body := scrape(t, registry)

	got := families(body)
	for name, kind := range payrunMetrics {
		if got[name] != kind {
			t.Errorf("%s: type %q in the scrape, want %q", name, got[name], kind)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "payrun_") && payrunMetrics[name] == "" {
			t.Errorf("%s is exposed but not in this test's list (and doc.go?)", name)
		}
	}
	// The runtime and process collectors are on the injected registry.
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if got[name] == "" {
			t.Errorf("%s missing: Go runtime or process collector not registered", name)
		}
	}

	// promtool lints names, types, units and help texts.
	out := runPromtool(t, ".", body, "check", "metrics")
	if strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics reports problems:\n%s", out)
	}
}

func TestObserveSetsValues(t *testing.T) {
	t.Parallel()
	m, registry := newMetrics(t)
	exercise(m)
	got := samples(t, scrape(t, registry))
	now := float64(fixedClock.Unix())

	expectSample(t, got, "payrun_cycle_close_duration_seconds_count", 1)
	expectSample(t, got, "payrun_cycle_close_duration_seconds_sum", 90)
	expectSample(t, got, `payrun_cycle_close_duration_seconds_bucket{le="60"}`, 0)
	expectSample(t, got, `payrun_cycle_close_duration_seconds_bucket{le="120"}`, 1)
	expectSample(t, got, "payrun_cycle_last_closed_timestamp_seconds", now)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="awaiting_approval"}`, 1)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="closing"}`, 0)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="open"}`, 0)
	expectSample(t, got, "payrun_cycle_paid_usd", 1234.5)
	expectSample(t, got, "payrun_cycle_withheld_usd", 120.25)
	expectSample(t, got, "payrun_cycle_held_usd", 77)
	expectSample(t, got, "payrun_cycle_carried_usd", 3.5)
	expectSample(t, got, `payrun_payouts{method="bank",status="paid"}`, 7)
	expectSample(t, got, `payrun_payouts{method="paypal",status="paid"}`, 2)
	expectSample(t, got, `payrun_payouts{method="none",status="held"}`, 3)
	expectSample(t, got, `payrun_payouts{method="none",status="carried"}`, 4)
	expectSample(t, got, `payrun_held_publishers{reason="account_not_verified"}`, 2)
	expectSample(t, got, `payrun_held_publishers{reason="payment_hold"}`, 1)
	expectSample(t, got, "payrun_earnings_lines_imported_total", 1000)
	expectSample(t, got, "payrun_earnings_lines_rejected_total", 12)
	expectSample(t, got, "payrun_returns_imported_total", 5)
	expectSample(t, got, `payrun_job_runs_total{job="close-cycle",outcome="succeeded"}`, 1)
	expectSample(t, got, `payrun_job_runs_total{job="expire-tax-forms",outcome="failed"}`, 2)
	expectSample(t, got, `payrun_job_last_success_timestamp_seconds{job="close-cycle"}`, now)
	expectNoSeries(t, got, `payrun_job_last_success_timestamp_seconds{job="expire-tax-forms"}`)
	expectSample(t, got, `payrun_job_consecutive_failures{job="close-cycle"}`, 0)
	expectSample(t, got, `payrun_job_consecutive_failures{job="expire-tax-forms"}`, 2)
	expectSample(t, got, `payrun_job_running{job="close-cycle"}`, 0)
	expectSample(t, got, `payrun_job_running{job="release-payments"}`, 1)
	expectSample(t, got, "payrun_leader", 1)

	// A success ends the failure streak; losing leadership shows.
	m.JobStarted("expire-tax-forms")
	m.JobFinished("expire-tax-forms", metrics.OutcomeSucceeded)
	m.SetLeader(false)
	got = samples(t, scrape(t, registry))
	expectSample(t, got, `payrun_job_consecutive_failures{job="expire-tax-forms"}`, 0)
	expectSample(t, got, `payrun_job_last_success_timestamp_seconds{job="expire-tax-forms"}`, now)
	expectSample(t, got, "payrun_leader", 0)
}

// The next close replaces the previous cycle's figures: a method or reason
// that no longer occurs loses its series rather than keeping a stale value.
func TestObserveCloseReplacesTotals(t *testing.T) {
	t.Parallel()
	m, registry := newMetrics(t)
	exercise(m)
	m.SetCycleState("2026-05", "released")
	m.ObserveClose("2026-06", "closed", time.Second, metrics.CycleTotals{
		PaidUSD: 10, PaidByMethod: map[string]int64{"bank": 1}, HeldByReason: map[string]int64{"tax_profile_missing": 4}, HeldCount: 4,
	})
	got := samples(t, scrape(t, registry))
	expectSample(t, got, "payrun_cycle_paid_usd", 10)
	expectSample(t, got, "payrun_cycle_withheld_usd", 0)
	expectSample(t, got, `payrun_payouts{method="bank",status="paid"}`, 1)
	expectNoSeries(t, got, `payrun_payouts{method="paypal"`)
	expectSample(t, got, `payrun_held_publishers{reason="tax_profile_missing"}`, 4)
	expectNoSeries(t, got, `payrun_held_publishers{reason="payment_hold"}`)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="released"}`, 1)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="awaiting_approval"}`, 0)
	expectSample(t, got, `payrun_cycle_state{month="2026-06",state="closed"}`, 1)
	expectSample(t, got, "payrun_cycle_close_duration_seconds_count", 2)
}

// payrun_cycle_state keeps the newest MaxCycleStateMonths months only, so
// its series do not grow with the age of the installation.
func TestCycleStateMonthsAreBounded(t *testing.T) {
	t.Parallel()
	m, registry := newMetrics(t)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		m.SetCycleState(start.AddDate(0, i, 0).Format("2006-01"), "settled")
	}
	got := samples(t, scrape(t, registry))
	months := map[string]bool{}
	for series := range got {
		if rest, ok := strings.CutPrefix(series, `payrun_cycle_state{month="`); ok {
			months[rest[:len("2006-01")]] = true
		}
	}
	if len(months) != metrics.MaxCycleStateMonths {
		t.Fatalf("%d months have series, want %d: %v", len(months), metrics.MaxCycleStateMonths, months)
	}
	newest := start.AddDate(0, 29, 0)
	for i := range metrics.MaxCycleStateMonths {
		month := newest.AddDate(0, -i, 0).Format("2006-01")
		if !months[month] {
			t.Errorf("month %s lost its series", month)
		}
	}
	expectSample(t, got, fmt.Sprintf(`payrun_cycle_state{month=%q,state="settled"}`, newest.Format("2006-01")), 1)
}

// A nil *Metrics does nothing, so callers without metrics need no guard.
func TestNilMetricsIsANoOp(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.ObserveClose("2026-05", "closed", time.Second, metrics.CycleTotals{})
	m.SetCycleState("2026-05", "closed")
	m.ObserveImport(1, 1)
	m.ObserveReturns(1)
	m.JobStarted("close-cycle")
	m.JobFinished("close-cycle", metrics.OutcomeSucceeded)
	m.SetLeader(true)
	if err := m.Refresh(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}

// New registers on the registry it is given and nowhere else: two servers
// in one process (or parallel tests) each get their own.
func TestNewUsesOnlyTheInjectedRegistry(t *testing.T) {
	t.Parallel()
	first, second := prometheus.NewRegistry(), prometheus.NewRegistry()
	metrics.New(first).SetLeader(true)
	metrics.New(second)
	if got := samples(t, scrape(t, second)); got["payrun_leader"] != 0 {
		t.Errorf("the second registry sees the first's leader gauge")
	}
	defaults, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range defaults {
		if strings.HasPrefix(family.GetName(), "payrun_") {
			t.Errorf("%s registered on the global default registry", family.GetName())
		}
	}
}
