package reports

import (
	"path/filepath"
	"testing"
)

// The benchmarks write the same 100,000 payout rows of 17 columns twice:
// once through WriteCycleWorkbook (styles, totals, checks, six sheets,
// deterministic atomic save) and once with a bare excelize StreamWriter
// (values only, excelize's own SaveAs). The rows and the bare writer are in
// benchdata.go, shared with `make bench`, whose workbook workload reports the
// ratio at 100k and 1M rows; the target is ≤ 1.3×. Run with -benchmem:
// memory per row stays flat because every sheet is streamed.

const benchRows = 100_000

func BenchmarkCycleWorkbook100k(b *testing.B) {
	rows, summary := BenchPayouts(benchRows)
	path := filepath.Join(b.TempDir(), CycleWorkbookName(summary.Month, false))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := WriteCycleWorkbook(path, summary, BenchCycleData(SliceRows(rows), summary), Overwrite()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}

// BenchmarkBareStreamWriter100k is the baseline: the same rows and columns
// through a bare StreamWriter, no styles, no totals, excelize's SaveAs.
func BenchmarkBareStreamWriter100k(b *testing.B) {
	rows, _ := BenchPayouts(benchRows)
	path := filepath.Join(b.TempDir(), "bare.xlsx")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := WriteBareWorkbook(path, SliceRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}
