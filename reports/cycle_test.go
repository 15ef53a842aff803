package reports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var cycleSheets = []string{"Summary", "Payouts", "Held and carried", "Withholding", "Files", "Exceptions"}

// TestCycleWorkbookGolden compares openpyxl's reading of the fixture's
// workbook (sheets, panes, filters, widths, every cell's type, value and
// number format) with testdata/cycle-2026-11.golden.json.
func TestCycleWorkbookGolden(t *testing.T) {
	path := writeFixture(t, newCycleFixture())
	checkGolden(t, "cycle-2026-11.golden.json", dumpWorkbookJSON(t, path))
}

func TestCycleWorkbookSheetsHeadersAndTypes(t *testing.T) {
	path := writeFixture(t, newCycleFixture())
	require.Equal(t, "payout-summary-2026-11.xlsx", filepath.Base(path))
	dump := dumpWorkbook(t, path)
	require.Equal(t, cycleSheets, dump.sheetNames())
	require.Equal(t, "Summary", dump.Active)

	wantHeaders := map[string][]string{
		"Payouts": {"Seller ID", "Publisher", "Country", "Method", "Account", "Currency", "Gross (USD)",
			"US-sourced base (USD)", "Rate", "Rate reason", "Withheld (USD)", "Paid (USD)", "Remainder carried (USD)",
			"FX rate", "Paid (payout currency)", "Payment ID", "File"},
		"Held and carried": {"Seller ID", "Publisher", "Country", "Status", "Balance (USD)", "Primary reason",
			"All reasons", "What unblocks it"},
		"Withholding": {"Country", "Rate", "Reason", "Recipients", "Base (USD)", "Withheld (USD)"},
		"Files":       {"File", "Kind", "Records", "Control total (USD)", "Currency", "Control total (currency)", "SHA-256"},
		"Exceptions":  {"Kind", "Seller ID", "Reference", "Detail", "Amount (USD)"},
	}
	dataRows := map[string]int{"Payouts": 5, "Held and carried": 4, "Withholding": 5, "Files": 5, "Exceptions": 2}
	for name, headers := range wantHeaders {
		sheet := dump.sheet(t, name)
		require.Equal(t, headers, sheet.header(), name)
		require.NotNil(t, sheet.Freeze, "%s: header row frozen", name)
		require.Equal(t, "A2", *sheet.Freeze, name)
		require.NotNil(t, sheet.Autofilter, "%s: autofilter", name)
		lastCol := string(rune('A' + len(headers) - 1))
		require.Equal(t, fmt.Sprintf("$A$1:$%s$%d", lastCol, 1+dataRows[name]), *sheet.Autofilter, name)
		require.Len(t, sheet.Widths, len(headers), "%s: every column has a width", name)
		// Rows: header, data, a blank row, the totals row.
		require.Len(t, sheet.Rows, 1+dataRows[name]+2, name)
		require.Equal(t, fmt.Sprintf("Total (%d rows)", dataRows[name]), sheet.Rows[len(sheet.Rows)-1][0].Value)
	}

	payouts := dump.sheet(t, "Payouts")
	formats := map[string]string{
		"Gross (USD)": formatUSD, "US-sourced base (USD)": formatUSD, "Rate": formatRate,
		"Withheld (USD)": formatUSD, "Paid (USD)": formatUSD, "Remainder carried (USD)": formatSubCent,
		"FX rate": formatFX,
	}
	for header, format := range formats {
		col := payouts.column(t, header)
		for row := 1; row <= 5; row++ {
			c := payouts.cell(row, col)
			require.NotNil(t, c, "%s row %d", header, row)
			require.Equal(t, "n", c.Type, "%s row %d is a number, not text", header, row)
			require.Equal(t, format, c.Format, "%s row %d", header, row)
		}
	}
	// Amounts in payout currencies carry the currency's minor unit.
	paidInCurrency := payouts.column(t, "Paid (payout currency)")
	require.Equal(t, minorFormats[0], payouts.cell(4, paidInCurrency).Format, "JPY has no decimals")
	require.Equal(t, minorFormats[2], payouts.cell(2, paidInCurrency).Format, "EUR has 2")
	// Publisher names are text even when they look like formulas.
	require.Equal(t, "s", payouts.cell(3, payouts.column(t, "Publisher")).Type)
	require.Equal(t, "=Sampa Jogos", payouts.cell(3, payouts.column(t, "Publisher")).Value)
}

// TestCycleWorkbookSummaryMatchesPayouts reads both sheets back and checks
// that the Summary's totals are the sums of the Payouts rows.
func TestCycleWorkbookSummaryMatchesPayouts(t *testing.T) {
	fixture := newCycleFixture()
	dump := dumpWorkbook(t, writeFixture(t, fixture))
	payouts, summary := dump.sheet(t, "Payouts"), dump.sheet(t, "Summary")

	sumColumn := func(header string) decimal.Decimal {
		col := payouts.column(t, header)
		sum := decimal.Zero
		for row := 1; row < len(payouts.Rows)-2; row++ {
			sum = sum.Add(cellDecimal(t, payouts.cell(row, col)))
		}
		return sum
	}
	for _, tc := range []struct{ label, header string }{
		{labelGross, "Gross (USD)"},
		{labelUSBase, "US-sourced base (USD)"},
		{labelWithheld, "Withheld (USD)"},
		{labelPaid, "Paid (USD)"},
		{labelSubCent, "Remainder carried (USD)"},
	} {
		row := summary.labelRow(t, tc.label)
		require.Len(t, row, 3, tc.label)
		require.Equal(t, "n", row[2].Type, tc.label)
		require.True(t, sumColumn(tc.header).Equal(cellDecimal(t, row[2])),
			"%s: summary %v, Payouts rows sum to %s", tc.label, row[2].Value, sumColumn(tc.header))
		// The Payouts totals row says the same.
		total := payouts.Rows[len(payouts.Rows)-1][payouts.column(t, tc.header)]
		require.True(t, sumColumn(tc.header).Equal(cellDecimal(t, total)), tc.header)
	}
	require.Equal(t, float64(len(payouts.Rows)-3), summary.labelRow(t, labelPaid)[1].Value)
	require.Equal(t, 3027.76, summary.labelRow(t, labelPaid)[2].Value)
	require.Equal(t, 87.02, summary.labelRow(t, labelWithheld)[2].Value)
	require.Equal(t, float64(9), summary.labelRow(t, labelPublishers)[1].Value)

	// Every check passed, the close's and the writer's.
	checks := false
	for _, row := range summary.Rows {
		if len(row) > 1 && row[0] != nil && row[0].Value == "Checks" {
			checks = true
			continue
		}
		if checks && len(row) > 1 {
			require.Equal(t, "PASS", row[1].Value, "check %v", row[0].Value)
		}
	}
	require.True(t, checks)
}

// cellDecimal reads a numeric cell back as a decimal (openpyxl gives the
// shortest float text, which is the decimal written).
func cellDecimal(t testing.TB, c *cellDump) decimal.Decimal {
	t.Helper()
	require.NotNil(t, c)
	require.Equal(t, "n", c.Type)
	f, ok := c.Value.(float64)
	require.True(t, ok, "%v", c.Value)
	return decimal.NewFromFloat(f)
}

func TestCycleWorkbookDraft(t *testing.T) {
	fixture := newCycleFixture()
	fixture.summary.Draft = true
	fixture.summary.State = "closing"
	path := writeFixture(t, fixture)
	require.Equal(t, "payout-summary-2026-11-DRAFT.xlsx", filepath.Base(path))
	title := dumpWorkbook(t, path).sheet(t, "Summary").Rows[0][0].Value.(string)
	require.True(t, strings.HasPrefix(title, "DRAFT"), title)

	// A draft can never land under the final name, nor the reverse.
	dir := t.TempDir()
	err := WriteCycleWorkbook(filepath.Join(dir, "payout-summary-2026-11.xlsx"), fixture.summary, fixture.data())
	require.ErrorIs(t, err, ErrWorkbookName)
	fixture.summary.Draft = false
	err = WriteCycleWorkbook(filepath.Join(dir, "payout-summary-2026-11-DRAFT.xlsx"), fixture.summary, fixture.data())
	require.ErrorIs(t, err, ErrWorkbookName)
	requireEmptyDir(t, dir)
}

// TestCycleWorkbookSplitsIntoParts lowers the row limit to 10: each part
// holds 7 data rows (header, blank and totals rows take 3), so 25 payouts
// make Payouts, Payouts (2), (3) and (4), the totals only on the last.
func TestCycleWorkbookSplitsIntoParts(t *testing.T) {
	withRowLimit(t, 10)
	fixture := manyPayouts(25)
	dump := dumpWorkbook(t, writeFixture(t, fixture))
	require.Equal(t, []string{"Summary", "Payouts", "Payouts (2)", "Payouts (3)", "Payouts (4)",
		"Held and carried", "Withholding", "Files", "Exceptions"}, dump.sheetNames())

	paid := decimal.Zero
	seen := 0
	for part, name := range []string{"Payouts", "Payouts (2)", "Payouts (3)", "Payouts (4)"} {
		sheet := dump.sheet(t, name)
		require.Equal(t, "Seller ID", sheet.header()[0], "%s repeats the header", name)
		require.Equal(t, "A2", *sheet.Freeze, name)
		rows := 7
		if part == 3 {
			rows = 4
		}
		require.Equal(t, fmt.Sprintf("$A$1:$Q$%d", 1+rows), *sheet.Autofilter, name)
		require.LessOrEqual(t, len(sheet.Rows), 10, "%s stays within the limit", name)
		col := sheet.column(t, "Paid (USD)")
		for row := 1; row <= rows; row++ {
			seen++
			require.Equal(t, fmt.Sprintf("S-%05d", seen), sheet.cell(row, 0).Value, "rows stay in order")
			paid = paid.Add(cellDecimal(t, sheet.cell(row, col)))
		}
		if part < 3 {
			require.Len(t, sheet.Rows, 1+rows, "%s has no totals row", name)
		} else {
			last := sheet.Rows[len(sheet.Rows)-1]
			require.Equal(t, "Total, all 4 parts (25 rows)", last[0].Value)
			require.True(t, paid.Equal(cellDecimal(t, last[col])))
		}
	}
	require.Equal(t, 25, seen)
	require.True(t, paid.Equal(fixture.summary.Totals.Paid))
}

// manyPayouts is a cycle of n paid US publishers at 0%, $100.00 each.
func manyPayouts(n int) cycleFixture {
	fixture := newCycleFixture()
	fixture.payouts = nil
	for i := 1; i <= n; i++ {
		fixture.payouts = append(fixture.payouts, PayoutRow{
			SellerID: fmt.Sprintf("S-%05d", i), DisplayName: fmt.Sprintf("Publisher %d", i), Country: "US",
			Method: "bank", MaskedAccount: "****1234", Currency: "USD", Gross: d("100.004"), USBase: d("60"),
			Rate: d("0"), RateReason: "w9", Withheld: d("0"), PaidUSD: d("100.00"), FXRate: d("1"),
			PaidInCurrency: d("100.00"), PaymentID: fmt.Sprintf("PAY-%05d", i), File: "nacha-2026-11.ach",
		})
	}
	total := func(s string) decimal.Decimal { return d(s).Mul(decimal.NewFromInt(int64(n))) }
	fixture.summary.Totals.Publishers = n + len(fixture.unpaid)
	fixture.summary.Totals.Gross = total("100.004")
	fixture.summary.Totals.USSourced = total("60")
	fixture.summary.Totals.Withheld = decimal.Zero
	fixture.summary.Totals.Paid = total("100")
	fixture.summary.Totals.SubCentCarried = total("0.004")
	fixture.summary.Totals.WithheldByRate = []RateTotal{{Rate: d("0"), Recipients: n, Base: total("60"), Withheld: decimal.Zero}}
	fixture.summary.Totals.PaidByMethod = []MethodTotal{{Method: "bank", Currency: "USD", Payments: n, AmountUSD: total("100"), Amount: total("100")}}
	fixture.withholding = []WithholdingRow{{Country: "US", Rate: d("0"), Reason: "w9", Recipients: n, Base: total("60"), Withheld: decimal.Zero}}
	fixture.files = []FileRow{{Name: "nacha-2026-11.ach", Kind: "nacha", Records: n, ControlTotalUSD: total("100"), Currency: "USD", ControlTotal: total("100")}}
	return fixture
}

// TestCycleWorkbookDeterministic: the same cycle gives the same bytes (SPEC
// §6.2), whatever order excelize keeps its streamed sheets in.
func TestCycleWorkbookDeterministic(t *testing.T) {
	first, err := os.ReadFile(writeFixture(t, newCycleFixture()))
	require.NoError(t, err)
	for range 3 {
		again, err := os.ReadFile(writeFixture(t, newCycleFixture()))
		require.NoError(t, err)
		require.True(t, bytes.Equal(first, again), "workbook bytes differ between two writes")
	}
}

func TestCycleWorkbookRefusesToOverwrite(t *testing.T) {
	fixture := newCycleFixture()
	path := writeFixture(t, fixture)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	fixture.summary.State = "released"
	err = WriteCycleWorkbook(path, fixture.summary, fixture.data())
	require.ErrorIs(t, err, ErrFileExists)
	require.Contains(t, err.Error(), path)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "the existing workbook is untouched")

	require.NoError(t, WriteCycleWorkbook(path, fixture.summary, fixture.data(), Overwrite()))
	rewritten := dumpWorkbook(t, path).sheet(t, "Summary").labelRow(t, "State")
	require.Equal(t, "released", rewritten[1].Value)
	requireOnly(t, filepath.Dir(path), filepath.Base(path))
}

func TestCycleWorkbookUnwritableDirectory(t *testing.T) {
	fixture := newCycleFixture()
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", CycleWorkbookName("2026-11", false))
	err := WriteCycleWorkbook(missing, fixture.summary, fixture.data())
	require.Error(t, err)
	require.Contains(t, err.Error(), missing)

	if os.Geteuid() != 0 { // root writes anywhere
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		path := filepath.Join(dir, CycleWorkbookName("2026-11", false))
		err := WriteCycleWorkbook(path, fixture.summary, fixture.data())
		require.ErrorIs(t, err, os.ErrPermission)
		require.Contains(t, err.Error(), path)
	}
}

func TestCycleWorkbookTotalsMismatch(t *testing.T) {
	for name, spoil := range map[string]func(*cycleFixture){
		"paid":       func(c *cycleFixture) { c.summary.Totals.Paid = d("3027.75") },
		"publishers": func(c *cycleFixture) { c.summary.Totals.Publishers = 10 },
		"method":     func(c *cycleFixture) { c.summary.Totals.PaidByMethod = c.summary.Totals.PaidByMethod[1:] },
		"held":       func(c *cycleFixture) { c.summary.Totals.HeldByReason[0].Balance = d("95.12") },
		"withholding rows": func(c *cycleFixture) {
			c.withholding = c.withholding[1:]
		},
	} {
		t.Run(name, func(t *testing.T) {
			fixture := newCycleFixture()
			spoil(&fixture)
			dir := t.TempDir()
			err := WriteCycleWorkbook(filepath.Join(dir, CycleWorkbookName("2026-11", false)), fixture.summary, fixture.data())
			require.ErrorIs(t, err, ErrTotalsMismatch)
			requireEmptyDir(t, dir)
		})
	}
}

// TestCycleWorkbookStreamError: a failing stream (a database error) writes
// nothing and is returned.
func TestCycleWorkbookStreamError(t *testing.T) {
	fixture := newCycleFixture()
	broken := errors.New("connection reset")
	data := fixture.data()
	data.Unpaid = func(yield func(UnpaidRow) error) error {
		if err := yield(fixture.unpaid[0]); err != nil {
			return err
		}
		return broken
	}
	dir := t.TempDir()
	err := WriteCycleWorkbook(filepath.Join(dir, CycleWorkbookName("2026-11", false)), fixture.summary, data)
	require.ErrorIs(t, err, broken)
	requireEmptyDir(t, dir)
}

// TestCycleWorkbookFlagsRuleBreaks: a payout row whose withholding breaks
// SPEC §1's rounding is shown, and flagged as a failed check.
func TestCycleWorkbookFlagsRuleBreaks(t *testing.T) {
	fixture := newCycleFixture()
	// 0.30 × 250.05 = 75.015 rounds half up to 75.02; 75.01 is wrong.
	fixture.payouts[2].Withheld = d("75.01")
	fixture.payouts[2].PaidUSD = d("225.09")
	fixture.summary.Totals.Withheld = d("87.01")
	fixture.summary.Totals.Paid = d("3027.77")
	fixture.summary.Totals.WithheldByRate[0].Withheld = d("75.01")
	fixture.summary.Totals.PaidByMethod[0].AmountUSD = d("225.09")
	fixture.withholding[0].Withheld = d("75.01")
	summary := dumpWorkbook(t, writeFixture(t, fixture)).sheet(t, "Summary")
	row := summary.labelRow(t, "Payout rows: withheld = round-half-up(rate × base, 2)")
	require.Equal(t, "FAIL", row[1].Value)
	require.Contains(t, row[5].Value, "S-1003")
	// The files' control totals (3027.76) are not the summary's paid: the
	// check's formula says FAIL, and so does its cached value.
	files := summary.labelRow(t, "Payment files' control totals = paid (USD)")
	require.Equal(t, "FAIL", files[1].Value)
	require.Equal(t, `=IF(ABS(E`+files[1].Formula[len(`=IF(ABS(E`):], files[1].Formula)
	require.Equal(t, 3027.76, files[2].Value, "the files' total, from the Files sheet")
	require.Equal(t, 3027.77, files[3].Value, "payrun's paid")
	require.InDelta(t, -0.01, files[4].Value, 1e-9, "the difference")
}

func TestCycleWorkbookEmptyCycle(t *testing.T) {
	summary := CycleSummary{Month: "2026-12", Cutoff: ts("2026-12-01T00:00:00Z"), PaymentDate: ts("2026-12-15T00:00:00Z"), State: "closed"}
	path := filepath.Join(t.TempDir(), CycleWorkbookName("2026-12", false))
	require.NoError(t, WriteCycleWorkbook(path, summary, CycleData{}))
	dump := dumpWorkbook(t, path)
	require.Equal(t, cycleSheets, dump.sheetNames())
	payouts := dump.sheet(t, "Payouts")
	require.Equal(t, "$A$1:$Q$1", *payouts.Autofilter)
	require.Equal(t, "Total (0 rows)", payouts.Rows[len(payouts.Rows)-1][0].Value)
}

func TestCycleWorkbookRejectsBadMonth(t *testing.T) {
	summary := newCycleFixture().summary
	summary.Month = "2026-13"
	err := WriteCycleWorkbook(filepath.Join(t.TempDir(), "payout-summary-2026-13.xlsx"), summary, CycleData{})
	require.ErrorContains(t, err, "2026-13")
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	requireOnly(t, dir)
}

// requireOnly checks dir holds exactly names: no temporary file left behind.
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if names == nil {
		require.Empty(t, got)
		return
	}
	require.Equal(t, names, got)
}

// CollectChecks hands over exactly the Summary sheet's checks, in order,
// with their results: what the console shows is what the workbook says.
func TestCycleWorkbookCollectChecks(t *testing.T) {
	fixture := newCycleFixture()
	fixture.summary.Checks = append(fixture.summary.Checks, Check{Name: "A close check that failed", Pass: false, Detail: "planted"})
	path := filepath.Join(t.TempDir(), CycleWorkbookName("2026-11", false))
	var collected []Check
	require.NoError(t, WriteCycleWorkbook(path, fixture.summary, fixture.data(), CollectChecks(&collected)))

	summary := dumpWorkbook(t, path).sheet(t, "Summary")
	var fromSheet []Check
	checks := false
	for _, row := range summary.Rows {
		if len(row) > 1 && row[0] != nil && row[0].Value == "Checks" {
			checks = true
			continue
		}
		if checks && len(row) > 1 && row[0] != nil {
			detail := ""
			if len(row) > 5 && row[5] != nil {
				detail, _ = row[5].Value.(string)
			}
			fromSheet = append(fromSheet, Check{Name: row[0].Value.(string), Pass: row[1].Value == "PASS", Detail: detail})
		}
	}
	require.NotEmpty(t, fromSheet)
	require.Equal(t, fromSheet, collected)
	require.Contains(t, collected, Check{Name: "A close check that failed", Pass: false, Detail: "planted"})
}
