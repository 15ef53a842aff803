package reports

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// The benchmarks write the same 100,000 payout rows of 17 columns twice:
// once through WriteCycleWorkbook (styles, totals, checks, six sheets,
// deterministic atomic save) and once with a bare excelize StreamWriter
// (values only, excelize's own SaveAs). `make bench` reports the ratio;
// the target is ≤ 1.3×. Run with -benchmem: memory per row stays flat
// because every sheet is streamed.

const benchRows = 100_000

// benchPayouts is a generated row set, built once, outside the timing.
func benchPayouts(n int) ([]PayoutRow, CycleSummary) {
	rows := make([]PayoutRow, n)
	methods := map[string]*MethodTotal{}
	rates := map[string]*RateTotal{}
	totals := Totals{Gross: decimal.Zero, USSourced: decimal.Zero, Withheld: decimal.Zero, Paid: decimal.Zero, SubCentCarried: decimal.Zero}
	currencies := []struct {
		code string
		fx   decimal.Decimal
	}{{"USD", d("1")}, {"EUR", d("0.92")}, {"GBP", d("0.79")}}
	rateOf := []decimal.Decimal{d("0"), d("0.30"), d("0.15")}
	for i := range rows {
		gross := decimal.New(int64(5_000_000_000+i*7_919), -6) // 5000.000000 and up, sub-cents
		base := gross.Mul(d("0.4")).Round(6)
		rate := rateOf[i%len(rateOf)]
		withheld := rate.Mul(base).Round(2)
		paid := gross.Sub(withheld).RoundFloor(2)
		currency := currencies[i%len(currencies)]
		inCurrency := paid.Mul(currency.fx).RoundFloor(2)
		rows[i] = PayoutRow{
			SellerID: fmt.Sprintf("S-%07d", i), DisplayName: fmt.Sprintf("Publisher number %d", i), Country: "US",
			Method: "bank", MaskedAccount: "****1234", Currency: currency.code, Gross: gross, USBase: base,
			Rate: rate, RateReason: "w9", Withheld: withheld, PaidUSD: paid, FXRate: currency.fx,
			PaidInCurrency: inCurrency, PaymentID: fmt.Sprintf("PAY-2026-11-%07d", i), File: "nacha-2026-11.ach",
		}
		totals.Publishers++
		totals.Gross = totals.Gross.Add(gross)
		totals.USSourced = totals.USSourced.Add(base)
		totals.Withheld = totals.Withheld.Add(withheld)
		totals.Paid = totals.Paid.Add(paid)
		totals.SubCentCarried = totals.SubCentCarried.Add(gross.Sub(withheld).Sub(paid))
		m := methods[currency.code]
		if m == nil {
			m = &MethodTotal{Method: "bank", Currency: currency.code, AmountUSD: decimal.Zero, Amount: decimal.Zero}
			methods[currency.code] = m
		}
		m.Payments++
		m.AmountUSD = m.AmountUSD.Add(paid)
		m.Amount = m.Amount.Add(inCurrency)
		r := rates[rate.String()]
		if r == nil {
			r = &RateTotal{Rate: rate, Base: decimal.Zero, Withheld: decimal.Zero}
			rates[rate.String()] = r
		}
		r.Recipients++
		r.Base = r.Base.Add(base)
		r.Withheld = r.Withheld.Add(withheld)
	}
	for _, m := range methods {
		totals.PaidByMethod = append(totals.PaidByMethod, *m)
	}
	for _, r := range rates {
		totals.WithheldByRate = append(totals.WithheldByRate, *r)
	}
	summary := CycleSummary{Month: "2026-11", Cutoff: ts("2026-11-01T00:00:00Z"), PaymentDate: ts("2026-11-16T00:00:00Z"),
		State: "closed", Totals: totals}
	return rows, summary
}

func benchWithholding(summary CycleSummary) []WithholdingRow {
	var rows []WithholdingRow
	for _, r := range summary.Totals.WithheldByRate {
		rows = append(rows, WithholdingRow{Country: "US", Rate: r.Rate, Reason: "mixed", Recipients: r.Recipients, Base: r.Base, Withheld: r.Withheld})
	}
	return rows
}

func BenchmarkCycleWorkbook100k(b *testing.B) {
	rows, summary := benchPayouts(benchRows)
	data := CycleData{Payouts: SliceRows(rows), Withholding: SliceRows(benchWithholding(summary))}
	path := filepath.Join(b.TempDir(), CycleWorkbookName(summary.Month, false))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := WriteCycleWorkbook(path, summary, data, Overwrite()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}

// BenchmarkBareStreamWriter100k is the baseline: the same rows and columns
// through a bare StreamWriter, no styles, no totals, excelize's SaveAs.
func BenchmarkBareStreamWriter100k(b *testing.B) {
	rows, _ := benchPayouts(benchRows)
	path := filepath.Join(b.TempDir(), "bare.xlsx")
	header := make([]any, len(payoutColumns))
	for i, c := range payoutColumns {
		header[i] = c.header
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f := excelize.NewFile()
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			b.Fatal(err)
		}
		if err := sw.SetRow("A1", header); err != nil {
			b.Fatal(err)
		}
		values := make([]any, len(payoutColumns))
		for i, r := range rows {
			values[0], values[1], values[2], values[3], values[4], values[5] =
				r.SellerID, r.DisplayName, r.Country, r.Method, r.MaskedAccount, r.Currency
			values[6], values[7], values[8], values[9] = r.Gross.InexactFloat64(), r.USBase.InexactFloat64(), r.Rate.InexactFloat64(), r.RateReason
			values[10], values[11] = r.Withheld.InexactFloat64(), r.PaidUSD.InexactFloat64()
			values[12] = r.Gross.Sub(r.Withheld).Sub(r.PaidUSD).InexactFloat64()
			values[13], values[14], values[15], values[16] = r.FXRate.InexactFloat64(), r.PaidInCurrency.InexactFloat64(), r.PaymentID, r.File
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := sw.SetRow(cell, values); err != nil {
				b.Fatal(err)
			}
		}
		if err := sw.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.SaveAs(path); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
}
