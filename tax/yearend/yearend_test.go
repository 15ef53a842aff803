package yearend_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/reports/reportstest"
	"github.com/payrun/payrun/tax/yearend"
	"github.com/payrun/payrun/testsupport/fixture"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Full TINs of the world: the fixture's W-9 SSN and W8X's foreign TIN.
const (
	fullUSTIN      = "123456789"
	fullForeignTIN = "DE98765432101"
)

// taxYearWorld builds 2026 with four recipients, paid in the October and
// November cycles (released), and a December cycle closed but not released
// (not paid yet: not in the year's data):
//
//	W8N  W-8BEN, no treaty: 30%
//	W8T  W-8BEN, German treaty claim: 0%
//	W8X  W-8BEN without treaty in October (30%), with one from November (0%)
//	W9   W-9: 0%, US and non-US sales
func taxYearWorld(t *testing.T) *fixture.World {
	t.Helper()
	ctx := context.Background()
	w := fixture.New(t)
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
	closeAndRelease := func(month, closeAt, releaseAt string) {
		w.Set(closeAt)
		w.Close(month)
		w.Set(releaseAt)
		_, err := releaser.Release(ctx, fixture.Month(month), "ops")
		require.NoError(t, err)
	}
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("W8N", fixture.Publisher{Country: "DE", Method: payout.PayPal})
	w.Publisher("W8T", fixture.Publisher{Country: "DE", Method: payout.PayPal, Treaty: true})
	w.Publisher("W8X", fixture.Publisher{Country: "DE", Method: payout.PayPal})
	w.Publisher("W9", fixture.Publisher{})
	w.Earn("W8N", "US", "150.005", "2026-09-20T00:00:00Z") // withheld round(45.0015) = 45.00
	w.Earn("W8T", "US", "200.00", "2026-09-20T00:00:00Z")
	w.Earn("W8X", "US", "100.00", "2026-09-20T00:00:00Z") // withheld 30.00
	w.Earn("W9", "US", "300.00", "2026-09-20T00:00:00Z")
	w.Earn("W9", "GB", "20.00", "2026-09-20T00:00:00Z")
	closeAndRelease("2026-10", "2026-10-05T06:00:00Z", "2026-10-06T09:00:00Z")

	w.Set("2026-10-10T00:00:00Z")
	treaty := fixture.TaxForm("DE", true)
	treaty.ForeignTIN = fullForeignTIN
	_, err := w.Taxes.Submit(ctx, w.IDs["W8X"], treaty, "test", w.Now())
	require.NoError(t, err)
	w.Earn("W8N", "US", "99.995", "2026-10-20T00:00:00Z") // withheld round(29.9985) = 30.00
	w.Earn("W8N", "GB", "10.00", "2026-10-20T00:00:00Z")
	w.Earn("W8T", "US", "80.00", "2026-10-20T00:00:00Z")
	w.Earn("W8X", "US", "90.00", "2026-10-20T00:00:00Z")
	w.Earn("W9", "US", "120.00", "2026-10-20T00:00:00Z")
	w.Earn("W9", "US", "-20.00", "2026-10-21T00:00:00Z")
	closeAndRelease("2026-11", "2026-11-05T06:00:00Z", "2026-11-06T09:00:00Z")

	w.Set("2026-11-10T00:00:00Z")
	w.Earn("W8N", "US", "100.00", "2026-11-20T00:00:00Z")
	w.Set("2026-12-05T06:00:00Z")
	w.Close("2026-12")
	require.Equal(t, "paid", w.Payout("2026-12", "W8N").Status, "December paid W8N, but is not released")
	return w
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	records, err := csv.NewReader(file).ReadAll()
	require.NoError(t, err)
	return records
}

// payoutSums adds up the paid payouts of released 2026 cycles of sellers.
func payoutSums(t *testing.T, w *fixture.World, sellers ...string) (base, withheld decimal.Decimal) {
	t.Helper()
	var sums struct {
		Base     decimal.Decimal `db:"base"`
		Withheld decimal.Decimal `db:"withheld"`
	}
	require.NoError(t, w.DB.Get(&sums, `
		SELECT coalesce(sum(p.withholding_base), 0) AS base, coalesce(sum(p.withheld), 0) AS withheld
		FROM payouts p JOIN cycles c ON c.month = p.month JOIN accounts a ON a.id = p.account_id
		WHERE p.status = 'paid' AND c.state = 'released' AND extract(year FROM c.payment_date) = 2026
		  AND a.seller_id = ANY ($1)`, sellers))
	return sums.Base, sums.Withheld
}

func TestYearEnd(t *testing.T) {
	t.Parallel()
	w := taxYearWorld(t)
	ctx := context.Background()
	dir := t.TempDir()
	result, err := yearend.Write(ctx, w.DB, nil, yearend.Options{Year: 2026, Dir: dir, Thresholds: yearend.DefaultThresholds()})
	require.NoError(t, err)
	require.Empty(t, result.TINFile)
	require.Equal(t, []string{filepath.Join(dir, "1042-S-2026.xlsx"), filepath.Join(dir, "1042-S-2026.csv"),
		filepath.Join(dir, "1099-2026.xlsx"), filepath.Join(dir, "1099-2026.csv")}, result.Files)

	// 1042-S: a row per W-8 recipient and rate.
	records := readCSV(t, filepath.Join(dir, "1042-S-2026.csv"))
	require.Equal(t, []string{"Tax year", "Seller ID", "Recipient name", "Country", "Address", "US TIN (masked)", "Foreign TIN (masked)",
		"Entity type", "Income code", "Gross US-sourced paid (USD)", "Rate", "Withheld (USD)", "Reason"}, records[0])
	type row struct{ seller, gross, rate, withheld, reason, foreignTIN string }
	var rows []row
	for _, r := range records[1:] {
		require.Equal(t, "2026", r[0])
		require.Equal(t, "12", r[8], "income code 12, other royalties")
		require.Equal(t, "DE", r[3])
		require.Equal(t, "individual", r[7])
		require.Equal(t, "Street 1, City, DE", r[4])
		rows = append(rows, row{r[1], r[9], r[10], r[11], r[12], r[6]})
	}
	require.Equal(t, []row{
		{"W8N", "250.00", "0.3000", "75.00", "w8_no_treaty", ""},
		{"W8T", "280.00", "0.0000", "0.00", "treaty:DE:12", ""},
		{"W8X", "90.00", "0.0000", "0.00", "treaty:DE:12", "*****2101"},
		{"W8X", "100.00", "0.3000", "30.00", "w8_no_treaty", ""}, // October: the first form counted
	}, rows, "December (closed, not released) is not in 2026's data")
	base, withheld := payoutSums(t, w, "W8N", "W8T", "W8X")
	require.True(t, base.Equal(result.Form1042S.Gross), "1042-S gross %s = payouts %s", result.Form1042S.Gross, base)
	require.True(t, withheld.Equal(result.Form1042S.Withheld), "1042-S withheld %s = payouts %s", result.Form1042S.Withheld, withheld)
	require.Equal(t, 4, result.Form1042S.Rows)
	require.Equal(t, 3, result.Form1042S.Recipients)

	// 1099: W9's US-sourced 300 + (120 − 20), two US sales.
	records = readCSV(t, filepath.Join(dir, "1099-2026.csv"))
	require.Equal(t, [][]string{
		{"Tax year", "Seller ID", "Recipient name", "TIN (masked)", "Address", "Transactions", "Gross paid (USD)", "Backup withholding (USD)", "Form"},
		{"2026", "W9", "Test Person", "*****6789", "1 Main St, Springfield, IL 62701, US", "2", "400.00", "0.00", "1099-MISC"},
	}, records)
	base, withheld = payoutSums(t, w, "W9")
	require.True(t, base.Equal(result.Form1099.Gross) && withheld.Equal(result.Form1099.Withheld))

	// The workbooks hold the CSV's rows, read by openpyxl's streaming reader.
	for _, files := range [][2]string{{"1042-S-2026.xlsx", "1042-S-2026.csv"}, {"1099-2026.xlsx", "1099-2026.csv"}} {
		sheets := reportstest.ReadOnly(t, filepath.Join(dir, files[0]))
		require.Len(t, sheets, 1)
		csvRecords := readCSV(t, filepath.Join(dir, files[1]))
		// header + rows + blank + totals
		require.Len(t, sheets[0].Rows, len(csvRecords)+2, files[0])
		for i, record := range csvRecords[1:] {
			cells := sheets[0].Rows[i+1]
			require.Equal(t, record[1], *cells[1], "%s row %d seller", files[0], i+1)
			grossColumn := 9
			if files[0] == "1099-2026.xlsx" {
				grossColumn = 6
			}
			require.True(t, d(record[grossColumn]).Equal(d(*cells[grossColumn])), "%s row %d gross", files[0], i+1)
		}
	}

	// Deterministic: the same data written again gives the same bytes.
	again := t.TempDir()
	_, err = yearend.Write(ctx, w.DB, nil, yearend.Options{Year: 2026, Dir: again, Thresholds: yearend.DefaultThresholds()})
	require.NoError(t, err)
	for _, name := range []string{"1042-S-2026.xlsx", "1042-S-2026.csv", "1099-2026.xlsx", "1099-2026.csv"} {
		first, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		second, err := os.ReadFile(filepath.Join(again, name))
		require.NoError(t, err)
		require.Equal(t, first, second, name)
	}

	// Existing files are refused unless overwriting.
	_, err = yearend.Write(ctx, w.DB, nil, yearend.Options{Year: 2026, Dir: dir, Thresholds: yearend.DefaultThresholds()})
	require.ErrorIs(t, err, reports.ErrFileExists)
	_, err = yearend.Write(ctx, w.DB, nil, yearend.Options{Year: 2026, Dir: dir, Thresholds: yearend.DefaultThresholds(), Overwrite: true})
	require.NoError(t, err)

	// A year with no payments: headers and totals only.
	empty, err := yearend.Write(ctx, w.DB, nil, yearend.Options{Year: 2025, Dir: t.TempDir(), Thresholds: yearend.DefaultThresholds()})
	require.NoError(t, err)
	require.Zero(t, empty.Form1042S.Rows)
	require.Len(t, readCSV(t, empty.Files[1]), 1)
}

func TestYearEndFullTINs(t *testing.T) {
	t.Parallel()
	w := taxYearWorld(t)
	dir := t.TempDir()
	result, err := yearend.Write(context.Background(), w.DB, w.Taxes, yearend.Options{Year: 2026, Dir: dir,
		Thresholds: yearend.DefaultThresholds(), FullTINs: true})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "tins-2026-UNMASKED.csv"), result.TINFile)
	info, err := os.Stat(result.TINFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	records := readCSV(t, result.TINFile)
	require.Equal(t, []string{"Tax year", "Seller ID", "Form", "Form ID", "Recipient name", "US TIN", "Foreign TIN"}, records[0])
	bySeller := map[string][]string{}
	for _, r := range records[1:] {
		bySeller[r[1]] = append(bySeller[r[1]], r[2]+" "+r[5]+" "+r[6])
	}
	require.Equal(t, []string{"W-9 " + fullUSTIN + " "}, bySeller["W9"])
	require.Equal(t, []string{"W-8BEN  ", "W-8BEN  " + fullForeignTIN}, bySeller["W8X"], "both forms that counted for W8X")
	require.Equal(t, 5, result.TINRecords)

	// The data files carry masked TINs only.
	for _, path := range result.Files {
		body := fileText(t, path)
		for _, full := range []string{fullUSTIN, fullForeignTIN} {
			require.NotContains(t, body, full, "%s holds a full TIN", filepath.Base(path))
		}
	}
	require.Contains(t, fileText(t, filepath.Join(dir, "1099-2026.csv")), "*****6789")
}

// fileText is a file's text; for a workbook, every cell openpyxl reads.
func fileText(t *testing.T, path string) string {
	t.Helper()
	if strings.HasSuffix(path, ".xlsx") {
		var b strings.Builder
		for _, sheet := range reportstest.ReadOnly(t, path) {
			for _, row := range sheet.Rows {
				for _, cell := range row {
					if cell != nil {
						b.WriteString(*cell + "\n")
					}
				}
			}
		}
		return b.String()
	}
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(body)
}

func TestYearEndRefusals(t *testing.T) {
	t.Parallel()
	w := fixture.New(t)
	_, err := yearend.Write(context.Background(), w.DB, nil, yearend.Options{Year: 1999, Dir: t.TempDir()})
	require.ErrorIs(t, err, yearend.ErrYear)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	_, err = yearend.Write(context.Background(), w.DB, nil, yearend.Options{Year: 2026, Dir: blocker})
	require.ErrorIs(t, err, yearend.ErrOutputNotWritable)
	_, err = yearend.Write(context.Background(), w.DB, nil, yearend.Options{Year: 2026, Dir: t.TempDir(),
		Thresholds: reports.Thresholds1099{KGross: d("-1")}})
	require.ErrorIs(t, err, reports.ErrThresholds)
}
