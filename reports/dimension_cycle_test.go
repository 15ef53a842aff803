package reports

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/reports/reportstest"
)

// The cycle workbook's sheets, streamed and not, declare their real used
// range, so openpyxl's streaming reader sees every row (regression: every
// <dimension ref> was "A1").
func TestCycleWorkbookDimensionIsTheUsedRange(t *testing.T) {
	path := writeFixture(t, newCycleFixture())
	sheets := reportstest.ReadOnly(t, path)
	require.Len(t, sheets, len(cycleSheets))
	for _, sheet := range sheets {
		require.Len(t, sheet.Rows, sheet.FullRows, "%s: the streaming reader sees every row", sheet.Name)
		require.Greater(t, sheet.FullRows, 3, sheet.Name)
	}
	// Payouts: header, 5 rows, blank, totals; 17 columns (A..Q).
	require.Equal(t, "A1:Q8", reportstest.SheetNamed(t, sheets, "Payouts").Dimension)
}
