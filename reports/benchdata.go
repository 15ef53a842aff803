package reports

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// Benchmark data: the cycle workbook's Go benchmarks (bench_test.go) and
// `make bench` (the workbook workload of cmd bench) write the same generated
// rows through WriteCycleWorkbook and through WriteBareWorkbook, the
// baseline. Nothing in payrun itself uses this file.

// BenchPayouts generates n paid publishers of a cycle 2026-11 and the
// summary whose totals match them (the workbook's checks pass): gross from
// 5000.000000 USD up with sub-cents, a 40% US-sourced base, rates 0, 30% and
// 15% in turn, payout currencies USD, EUR and GBP in turn. The same n gives
// the same rows. The rows are held in memory (about 600 bytes each): for
// large n, BenchPayoutStream.
func BenchPayouts(n int) ([]PayoutRow, CycleSummary) {
	rows := make([]PayoutRow, n)
	for i := range rows {
		rows[i] = benchPayout(i)
	}
	return rows, benchSummary(n)
}

// BenchPayoutStream is BenchPayouts' rows generated again, one at a time,
// each time the stream is read: memory stays flat in n. Computing the
// summary generates every row once.
func BenchPayoutStream(n int) (Rows[PayoutRow], CycleSummary) {
	rows := func(yield func(PayoutRow) error) error {
		for i := 0; i < n; i++ {
			if err := yield(benchPayout(i)); err != nil {
				return err
			}
		}
		return nil
	}
	return rows, benchSummary(n)
}

var (
	benchCurrencies = []struct {
		code string
		fx   decimal.Decimal
	}{{"USD", decimal.New(1, 0)}, {"EUR", decimal.New(92, -2)}, {"GBP", decimal.New(79, -2)}}
	benchRates   = []decimal.Decimal{decimal.Zero, decimal.New(30, -2), decimal.New(15, -2)}
	benchUSShare = decimal.New(4, -1)
)

// benchPayout is row i of BenchPayouts.
func benchPayout(i int) PayoutRow {
	gross := decimal.New(int64(5_000_000_000+i*7_919), -6) // 5000.000000 and up, sub-cents
	base := gross.Mul(benchUSShare).Round(6)
	rate := benchRates[i%len(benchRates)]
	withheld := rate.Mul(base).Round(2)
	paid := gross.Sub(withheld).RoundFloor(2)
	currency := benchCurrencies[i%len(benchCurrencies)]
	return PayoutRow{
		SellerID: fmt.Sprintf("S-%07d", i), DisplayName: fmt.Sprintf("Publisher number %d", i), Country: "US",
		Method: "bank", MaskedAccount: "****1234", Currency: currency.code, Gross: gross, USBase: base,
		Rate: rate, RateReason: "w9", Withheld: withheld, PaidUSD: paid, FXRate: currency.fx,
		PaidInCurrency: paid.Mul(currency.fx).RoundFloor(2), PaymentID: fmt.Sprintf("PAY-2026-11-%07d", i), File: "nacha-2026-11.ach",
	}
}

// benchSummary is the summary of rows 0..n-1, their totals added up.
func benchSummary(n int) CycleSummary {
	totals := Totals{Gross: decimal.Zero, USSourced: decimal.Zero, Withheld: decimal.Zero, Paid: decimal.Zero, SubCentCarried: decimal.Zero}
	methods := make([]MethodTotal, len(benchCurrencies))
	for c, currency := range benchCurrencies {
		methods[c] = MethodTotal{Method: "bank", Currency: currency.code, AmountUSD: decimal.Zero, Amount: decimal.Zero}
	}
	rates := make([]RateTotal, len(benchRates))
	for r, rate := range benchRates {
		rates[r] = RateTotal{Rate: rate, Base: decimal.Zero, Withheld: decimal.Zero}
	}
	for i := 0; i < n; i++ {
		row := benchPayout(i)
		totals.Publishers++
		totals.Gross = totals.Gross.Add(row.Gross)
		totals.USSourced = totals.USSourced.Add(row.USBase)
		totals.Withheld = totals.Withheld.Add(row.Withheld)
		totals.Paid = totals.Paid.Add(row.PaidUSD)
		totals.SubCentCarried = totals.SubCentCarried.Add(row.Gross.Sub(row.Withheld).Sub(row.PaidUSD))
		m := &methods[i%len(benchCurrencies)]
		m.Payments++
		m.AmountUSD = m.AmountUSD.Add(row.PaidUSD)
		m.Amount = m.Amount.Add(row.PaidInCurrency)
		r := &rates[i%len(benchRates)]
		r.Recipients++
		r.Base = r.Base.Add(row.USBase)
		r.Withheld = r.Withheld.Add(row.Withheld)
	}
	for _, m := range methods {
		if m.Payments > 0 {
			totals.PaidByMethod = append(totals.PaidByMethod, m)
		}
	}
	for _, r := range rates {
		if r.Recipients > 0 {
			totals.WithheldByRate = append(totals.WithheldByRate, r)
		}
	}
	return CycleSummary{Month: "2026-11", Cutoff: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		PaymentDate: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), State: "closed", Totals: totals}
}

// BenchCycleData is what WriteCycleWorkbook writes for BenchPayouts' rows
// (or BenchPayoutStream's): the payouts and one withholding row per rate.
func BenchCycleData(payouts Rows[PayoutRow], summary CycleSummary) CycleData {
	var withholding []WithholdingRow
	for _, r := range summary.Totals.WithheldByRate {
		withholding = append(withholding, WithholdingRow{Country: "US", Rate: r.Rate, Reason: "mixed", Recipients: r.Recipients, Base: r.Base, Withheld: r.Withheld})
	}
	return CycleData{Payouts: payouts, Withholding: SliceRows(withholding)}
}

// WriteBareWorkbook is the baseline of the cycle workbook: the same rows and
// columns (the payouts sheet's headers, amounts as numbers) through a bare
// excelize StreamWriter on one sheet: no styles, no totals, no checks, no
// other sheets, excelize's own SaveAs.
func WriteBareWorkbook(path string, rows Rows[PayoutRow]) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	header := make([]any, len(payoutColumns))
	for i, c := range payoutColumns {
		header[i] = c.header
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	values := make([]any, len(payoutColumns))
	next := 2
	err = rows(func(r PayoutRow) error {
		values[0], values[1], values[2], values[3], values[4], values[5] =
			r.SellerID, r.DisplayName, r.Country, r.Method, r.MaskedAccount, r.Currency
		values[6], values[7], values[8], values[9] = r.Gross.InexactFloat64(), r.USBase.InexactFloat64(), r.Rate.InexactFloat64(), r.RateReason
		values[10], values[11] = r.Withheld.InexactFloat64(), r.PaidUSD.InexactFloat64()
		values[12] = r.Gross.Sub(r.Withheld).Sub(r.PaidUSD).InexactFloat64()
		values[13], values[14], values[15], values[16] = r.FXRate.InexactFloat64(), r.PaidInCurrency.InexactFloat64(), r.PaymentID, r.File
		cell, err := excelize.CoordinatesToCellName(1, next)
		if err != nil {
			return err
		}
		next++
		return sw.SetRow(cell, values)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}
