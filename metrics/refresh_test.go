package metrics_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/metrics"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// storeTotals is a cycle's totals as the close computes them.
func storeTotals() store.Totals {
	return store.Totals{
		Accounts: 12,
		Paid:     store.Bucket{Count: 6, Amount: decimal.RequireFromString("1500.10")},
		Withheld: decimal.RequireFromString("90.30"),
		Held:     store.Bucket{Count: 3, Amount: decimal.RequireFromString("400.00")},
		Carried:  store.Bucket{Count: 3, Amount: decimal.RequireFromString("12.34")},
		ByMethod: map[string]store.Bucket{
			"bank:USD":   {Count: 4, Amount: decimal.RequireFromString("1000.10")},
			"bank:EUR":   {Count: 1, Amount: decimal.RequireFromString("300")},
			"paypal:USD": {Count: 1, Amount: decimal.RequireFromString("200")},
		},
		ByReason: map[string]store.Bucket{
			"account_not_verified": {Count: 2, Amount: decimal.RequireFromString("300")},
			"tax_profile_missing":  {Count: 1, Amount: decimal.RequireFromString("100")},
			"below_threshold":      {Count: 2, Amount: decimal.RequireFromString("12.34")},
			"zero_balance":         {Count: 1, Amount: decimal.Zero},
		},
	}
}

// ParseCycleTotals reads what the close stores in cycles.totals (a
// marshalled store.Totals): a renamed JSON field fails here.
func TestParseCycleTotalsReadsStoreTotals(t *testing.T) {
	t.Parallel()
	raw, err := json.Marshal(storeTotals())
	if err != nil {
		t.Fatal(err)
	}
	got, err := metrics.ParseCycleTotals(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.CycleTotals{
		PaidUSD: 1500.10, WithheldUSD: 90.30, HeldUSD: 400, CarriedUSD: 12.34,
		PaidByMethod: map[string]int64{"bank": 5, "paypal": 1},
		HeldCount:    3, CarriedCount: 3,
		// Carry reasons (below_threshold, zero_balance) are not holds.
		HeldByReason: map[string]int64{"account_not_verified": 2, "tax_profile_missing": 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ParseCycleTotals:\n got %+v\nwant %+v", got, want)
	}
	if _, err := metrics.ParseCycleTotals([]byte(`{"paid": 3}`)); err == nil {
		t.Errorf("malformed totals parsed without an error")
	}
}

// After a restart, Refresh rebuilds the database gauges from the cycles
// and job_runs tables.
func TestRefreshReadsTheDatabase(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	totals, err := json.Marshal(storeTotals())
	if err != nil {
		t.Fatal(err)
	}
	closedAt := time.Date(2026, 5, 5, 6, 42, 0, 0, time.UTC)
	for _, cycle := range []struct {
		month, state string
		totals       []byte
		closedAt     *time.Time
	}{
		{"2026-03-01", "settled", []byte(`{"paid": {"count": 1, "amount": "1"}}`), ptr(closedAt.AddDate(0, -2, 0))},
		{"2026-04-01", "released", totals, &closedAt},
		{"2026-05-01", "closing", nil, nil},
	} {
		month, err := time.Parse(time.DateOnly, cycle.month)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, `
			INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256, totals, closed_at, closed_by)
			VALUES ($1, $2, $3, $4, '{}', 'test', $5, $6, CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE 'ops' END)`,
			month, cycle.state, month.AddDate(0, 1, 0), month.AddDate(0, 1, 14), nullJSON(cycle.totals), cycle.closedAt)
		if err != nil {
			t.Fatalf("insert cycle %s: %v", cycle.month, err)
		}
	}
	at := func(day, hour int) time.Time { return time.Date(2026, 5, day, hour, 0, 0, 0, time.UTC) }
	for _, run := range []struct {
		job     string
		day     int
		outcome string
	}{
		{"close-cycle", 4, "failed"},
		{"close-cycle", 5, "succeeded"},
		{"expire-tax-forms", 3, "succeeded"},
		{"expire-tax-forms", 4, "failed"},
		{"expire-tax-forms", 5, "failed"},
		{"key-expiry", 5, "failed"},
		{"release-payments", 5, "running"},
	} {
		var finished *time.Time
		var message *string
		if run.outcome != "running" {
			finished = ptr(at(run.day, 7))
		}
		if run.outcome == "failed" {
			message = ptr("boom")
		}
		_, err := db.ExecContext(ctx, `
			INSERT INTO job_runs (job, occurrence_key, scheduled_at, river_job_id, attempt, started_at, finished_at, outcome, error)
			VALUES ($1, $2, $3, 1, 1, $3, $4, $5, $6)`,
			run.job, fmt.Sprintf("2026-05-%02d", run.day), at(run.day, 6), finished, run.outcome, message)
		if err != nil {
			t.Fatalf("insert job run: %v", err)
		}
	}

	m, registry := newMetrics(t)
	// Stale values from before the refresh are replaced.
	m.ObserveClose("2025-01", "closed", time.Minute, metrics.CycleTotals{PaidByMethod: map[string]int64{"paypal": 99}})
	if err := m.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	got := samples(t, scrape(t, registry))

	expectSample(t, got, `payrun_cycle_state{month="2026-03",state="settled"}`, 1)
	expectSample(t, got, `payrun_cycle_state{month="2026-04",state="released"}`, 1)
	expectSample(t, got, `payrun_cycle_state{month="2026-04",state="closed"}`, 0)
	expectSample(t, got, `payrun_cycle_state{month="2026-05",state="closing"}`, 1)
	expectNoSeries(t, got, `payrun_cycle_state{month="2025-01"`)
	expectSample(t, got, "payrun_cycle_last_closed_timestamp_seconds", float64(closedAt.Unix()))
	// The newest cycle with totals is April.
	expectSample(t, got, "payrun_cycle_paid_usd", 1500.10)
	expectSample(t, got, "payrun_cycle_withheld_usd", 90.30)
	expectSample(t, got, "payrun_cycle_held_usd", 400)
	expectSample(t, got, "payrun_cycle_carried_usd", 12.34)
	expectSample(t, got, `payrun_payouts{method="bank",status="paid"}`, 5)
	expectSample(t, got, `payrun_payouts{method="paypal",status="paid"}`, 1)
	expectSample(t, got, `payrun_payouts{method="none",status="held"}`, 3)
	expectSample(t, got, `payrun_payouts{method="none",status="carried"}`, 3)
	expectSample(t, got, `payrun_held_publishers{reason="account_not_verified"}`, 2)
	expectSample(t, got, `payrun_held_publishers{reason="tax_profile_missing"}`, 1)
	expectNoSeries(t, got, `payrun_held_publishers{reason="below_threshold"}`)

	expectSample(t, got, `payrun_job_last_success_timestamp_seconds{job="close-cycle"}`, float64(at(5, 7).Unix()))
	expectSample(t, got, `payrun_job_last_success_timestamp_seconds{job="expire-tax-forms"}`, float64(at(3, 7).Unix()))
	expectNoSeries(t, got, `payrun_job_last_success_timestamp_seconds{job="key-expiry"}`)
	expectSample(t, got, `payrun_job_consecutive_failures{job="close-cycle"}`, 0)
	expectSample(t, got, `payrun_job_consecutive_failures{job="expire-tax-forms"}`, 2)
	expectSample(t, got, `payrun_job_consecutive_failures{job="key-expiry"}`, 1)
	// Process-local gauges are not the database's to set.
	expectNoSeries(t, got, `payrun_job_running{`)

	// A failing refresh changes nothing.
	if _, err := db.ExecContext(ctx, `UPDATE cycles SET totals = '{"paid": 3}' WHERE month = '2026-04-01'`); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(ctx, db); err == nil {
		t.Fatal("Refresh with malformed totals: no error")
	}
	expectSample(t, samples(t, scrape(t, registry)), "payrun_cycle_paid_usd", 1500.10)
}

func ptr[T any](v T) *T { return &v }

// nullJSON is raw as a jsonb parameter, NULL when empty.
func nullJSON(raw []byte) any {
	if raw == nil {
		return nil
	}
	return string(raw)
}
