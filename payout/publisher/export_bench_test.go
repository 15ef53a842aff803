package publisher_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// BenchmarkExportTransactions streams every line of one publisher with a
// large history into a CSV and a workbook: PAYRUN_BENCH_EXPORT_LINES lines
// (default 200,000), PAYRUN_BENCH_EXPORT_LINES_PER_MONTH a month (default
// linesPerMonth: the publisher with 100k lines in a month), every
// month but the last paid by a closed cycle with 30% withheld from the
// US-sourced lines (60% of them), the last upcoming. Both at 1,000,000 is
// the largest payout: 1M lines paid by one payout (the month after is
// empty).
// Beside -benchmem it reports the lines a second, the peak Go heap sampled
// while exporting and the process's peak RSS over the timed runs (VmHWM,
// reset before them where Linux allows): the target is flat memory,
// RSS under 150 MB, up to 1M lines. Memory is bounded by one payout's
// lines (its allocation), not by the export's.
func BenchmarkExportTransactions(b *testing.B) {
	const linesPerMonth = 100_000
	lines := 200_000
	if text := os.Getenv("PAYRUN_BENCH_EXPORT_LINES"); text != "" {
		n, err := strconv.Atoi(text)
		require.NoError(b, err)
		lines = n
	}
	ctx := context.Background()
	database := dbtest.New(b)
	sealer, err := secret.FromConfig("", true)
	require.NoError(b, err)
	now := time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cycles := &store.Store{DB: database, Sealer: sealer, Clock: clock}

	// A UK publisher paid by PayPal in USD, without a treaty claim: 30% of
	// its US-sourced lines withheld.
	account, err := ledger.CreateAccount(ctx, database, ledger.NewAccount{SellerID: "BENCH", Type: ledger.Individual,
		RegistrationCountry: "GB", DisplayName: "Bench"}, now)
	require.NoError(b, err)
	require.NoError(b, cycles.SetAccountStatus(ctx, account.ID, "verified", "bench"))
	view, err := cycles.SetPayoutAccount(ctx, account.ID, payout.AccountInput{Method: payout.PayPal, HolderName: "Bench",
		Currency: "USD", PayPalEmail: "bench@example.com"}, "bench")
	require.NoError(b, err)
	require.NoError(b, cycles.RecordVerification(ctx, view.ID, payout.Verified, "", "bench"))
	_, err = (&taxstore.Store{DB: database, Sealer: sealer}).Submit(ctx, account.ID, fixture.TaxForm("GB", false), "bench", now)
	require.NoError(b, err)

	// perMonth a month from September 2026 (at least two months, the last
	// with what is left, maybe none), each month closed on the 5th of the
	// next but the last.
	perMonth := linesPerMonth
	if text := os.Getenv("PAYRUN_BENCH_EXPORT_LINES_PER_MONTH"); text != "" {
		n, err := strconv.Atoi(text)
		require.NoError(b, err)
		require.Positive(b, n)
		perMonth = n
	}
	months := max(2, (lines+perMonth-1)/perMonth)
	first := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	started := time.Now()
	for i := range months {
		month := first.AddDate(0, i, 0)
		if i > 0 {
			now = month.AddDate(0, 0, 4).Add(6 * time.Hour)
			_, err := cycles.Close(ctx, store.CloseOptions{Month: month, Policy: payout.DefaultPolicy(), Actor: "bench"})
			require.NoError(b, err)
		}
		now = month
		if n := min(perMonth, lines-i*perMonth); n > 0 {
			_, err := ledger.Import(ctx, database, generatedLines(i, n, month), ledger.ImportOptions{SourceName: "bench",
				HoldingPeriod: 30 * 24 * time.Hour, Clock: clock})
			require.NoError(b, err)
		}
	}
	var paid int
	require.NoError(b, database.Get(&paid, `SELECT count(*) FROM payouts WHERE account_id = $1 AND status = 'paid' AND withheld > 0`, account.ID))
	require.Equal(b, months-1, paid, "every month but the last paid, with withholding")
	var largest int
	require.NoError(b, database.Get(&largest, `
		SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM earnings_lines l JOIN payouts p ON p.account_id = l.account_id
		JOIN cycles c ON c.month = p.month WHERE l.account_id = $1 AND l.available_at < c.cutoff
		AND l.available_at >= coalesce((SELECT max(c2.cutoff) FROM payouts p2 JOIN cycles c2 ON c2.month = p2.month
			WHERE p2.account_id = p.account_id AND p2.month < p.month AND p2.status = 'paid'), '-infinity') GROUP BY p.month) t`, account.ID))
	b.Logf("%d lines over %d months set up in %s; the largest payout has %d lines", lines, months, time.Since(started).Round(time.Second), largest)
	last := first.AddDate(0, months-1, 0)
	now = last.AddDate(0, 0, 19)
	request := publisher.ExportRequest{Kind: publisher.ExportTransactions, From: payout.MonthName(first), To: payout.MonthName(last)}

	for _, format := range []string{publisher.ExportCSV, publisher.ExportXLSX} {
		b.Run(format, func(b *testing.B) {
			svc := &publisher.Service{DB: database, Store: cycles, Clock: clock, OutDir: b.TempDir()}
			resetPeakRSS()
			peak := sampleHeap()
			var rows, size int64
			for b.Loop() {
				request.Format = format
				e, err := svc.ExportNow(ctx, account.ID, request, "bench")
				require.NoError(b, err)
				require.EqualValues(b, lines, e.Rows)
				rows, size = e.Rows, e.Size
				require.NoError(b, os.Remove(e.File))
			}
			heap := peak()
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
			if rss := peakRSS(); rss > 0 {
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
			}
			b.ReportMetric(float64(size)/(1<<20), "file-MB")
		})
	}
}

// generatedLines is month's share of the bench publisher's lines: batch
// numbers its ids, available over the month; 60% US-sourced, one in
// twenty a refund.
func generatedLines(batch, n int, month time.Time) ledger.Opener {
	return func() (io.ReadCloser, error) {
		r, w := io.Pipe()
		go func() {
			out := bufio.NewWriterSize(w, 1<<16)
			random := rand.New(rand.NewPCG(uint64(batch), 7))
			markets := []string{"US", "US", "US", "GB", "DE"}
			fmt.Fprintln(out, "transaction_id,seller_id,revenue_source,transaction_type,market,transaction_at,amount,eligible_at")
			days := month.AddDate(0, 1, 0).Sub(month)
			for i := 0; i < n; i++ {
				kind, amount := "purchase", fmt.Sprintf("%d.%06d", random.IntN(20), 1+random.IntN(999_999))
				if i%20 == 19 {
					kind, amount = "refund", fmt.Sprintf("-0.%02d", 1+random.IntN(99))
				}
				eligible := month.Add(time.Duration(random.Int64N(int64(days - time.Hour)))).Truncate(time.Second)
				fmt.Fprintf(out, "b%d-%08d,BENCH,app,%s,%s,%s,%s,%s\n", batch, i, kind, markets[random.IntN(len(markets))],
					month.Add(-time.Hour).Format(time.RFC3339), amount, eligible.Format(time.RFC3339))
			}
			w.CloseWithError(out.Flush())
		}()
		return r, nil
	}
}

// sampleHeap samples the Go heap in use every 5 ms until the returned
// function is called, which returns the highest sample.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(done)
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// resetPeakRSS resets the process's VmHWM (Linux: clear_refs 5); best
// effort, after a GC so the setup's garbage is returned first.
func resetPeakRSS() {
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is the process's VmHWM in bytes (0 where /proc has none).
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
