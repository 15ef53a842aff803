package reports_test

import (
	"archive/zip"
	"io"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/reports/reportstest"
)

// Regression: every sheet's <dimension ref> was written as "A1", so
// openpyxl's streaming reader (read_only=True), which trusts it, saw one row
// per sheet. The used range must be the real one, for streamed sheets
// (header, data, blank, totals) and for the summary sheets alike.
func TestDimensionIsTheUsedRange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := decimal.RequireFromString
	when := time.Date(2026, 9, 3, 10, 0, 0, 0, time.UTC)

	var lines []reports.StatementLine
	for i := 0; i < 7; i++ {
		lines = append(lines, reports.StatementLine{RevenueSource: "app", TransactionID: "T-" + string(rune('a'+i)), TransactionAt: when,
			Market: "US", TransactionType: "purchase", Amount: d("10.50"), EligibleAt: when.AddDate(0, 0, 30), Status: reports.LineSent, PaymentID: "PAY-1"})
	}
	header := reports.StatementHeader{SellerID: "S1", DisplayName: "S1", Month: "2026-11", Cutoff: when, PaymentDate: when, Status: "paid",
		Payout: &reports.PayoutRow{SellerID: "S1", Currency: "USD", Gross: d("73.50"), USBase: d("73.50"), Rate: d("0.30"), Withheld: d("22.05"),
			PaidUSD: d("51.45"), FXRate: d("1"), PaidInCurrency: d("51.45"), PaymentID: "PAY-1"}, PaymentStatus: reports.LineSent, GeneratedAt: when}
	statement := filepath.Join(dir, "statement.xlsx")
	require.NoError(t, reports.WriteStatement(statement, "", header, reports.SliceRows(lines)))

	var rows []reports.Form1042SRow
	for i := 0; i < 5; i++ {
		rows = append(rows, reports.Form1042SRow{SellerID: "S" + string(rune('1'+i)), RecipientName: "R", Country: "DE",
			Gross: d("100"), Rate: d("0.30"), Withheld: d("30"), Reason: "w8_no_treaty"})
	}
	form := filepath.Join(dir, "1042s.xlsx")
	require.NoError(t, reports.Write1042S(form, 2026, reports.SliceRows(rows)))

	for path, want := range map[string]map[string]string{
		// Lines: header + 7 lines + blank + totals = 10 rows, 10 columns.
		statement: {"Lines": "A1:J10"},
		// 1042-S: header + 5 rows + blank + totals, 13 columns.
		form: {"1042-S": "A1:M8"},
	} {
		sheets := reportstest.ReadOnly(t, path)
		for _, sheet := range sheets {
			require.NotEqual(t, "A1:A1", sheet.Dimension, "%s %s", filepath.Base(path), sheet.Name)
			require.Len(t, sheet.Rows, sheet.FullRows, "%s %s: the streaming reader sees every row", filepath.Base(path), sheet.Name)
			if ref, ok := want[sheet.Name]; ok {
				require.Equal(t, ref, sheet.Dimension, sheet.Name)
			}
		}
		require.Equal(t, len(sheets), len(dimensions(t, path)), "one <dimension> per sheet")
	}
	lineSheet := reportstest.SheetNamed(t, reportstest.ReadOnly(t, statement), "Lines")
	require.Len(t, lineSheet.Rows, 10)
	require.Equal(t, "T-g", *lineSheet.Rows[7][1])
}

var dimensionPattern = regexp.MustCompile(`<dimension ref="([A-Z0-9:]+)"`)

// dimensions returns the raw <dimension ref> of every worksheet part.
func dimensions(t *testing.T, path string) map[string]string {
	t.Helper()
	archive, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer archive.Close()
	out := map[string]string{}
	for _, entry := range archive.File {
		if matched, _ := filepath.Match("xl/worksheets/sheet*.xml", entry.Name); !matched {
			continue
		}
		r, err := entry.Open()
		require.NoError(t, err)
		body, err := io.ReadAll(r)
		require.NoError(t, err)
		m := dimensionPattern.FindSubmatch(body)
		require.NotNil(t, m, "%s has no <dimension>", entry.Name)
		out[entry.Name] = string(m[1])
	}
	return out
}
