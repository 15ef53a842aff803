package ledger

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkParseLines measures validation and row building per line (no
// database): the Go side of an import.
func BenchmarkParseLines(b *testing.B) {
	opts := GenerateOptions{Seed: 1, Publishers: 1000, Lines: 100_000, Month: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	var file bytes.Buffer
	if err := GenerateEarnings(&file, opts); err != nil {
		b.Fatal(err)
	}
	sellers := map[string]int64{}
	for i := 0; i < opts.Publishers; i++ {
		sellers[GeneratedSellerID(opts.Seed, i)] = int64(i + 1)
	}
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var problems ImportError
		parser, err := newLineParser(bytes.NewReader(file.Bytes()), sellers, 30*24*time.Hour, now, &problems)
		if err != nil {
			b.Fatal(err)
		}
		source := &lineSource{parser: parser, importID: 1, now: now, sums: map[bucket]*amountSum{}}
		if err := source.writeBinary(io.Discard); err != nil {
			b.Fatal(err)
		}
		if problems.Total > 0 {
			b.Fatal(problems.Error())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(opts.Lines), "ns/line")
}
