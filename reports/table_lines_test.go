package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// TableColumn.TextLines counts what WriteTable gives a row: a written
// Table's rows are 15 points a line of their tallest text as TextLines
// counts it, at most ExcelMaxRowHeight (TableRowLines lines).
func TestTableColumnTextLines(t *testing.T) {
	require.Equal(t, 27, TableRowLines)
	columns := []TableColumn{{Header: "Text"}, {Header: "Prose", Prose: true}, {Header: "Amount", Kind: USDColumn}}
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("P20261100000042-17 20000.00 USD; ", n)) }
	rows := [][]any{
		{"short", "short", decimal.RequireFromString("1.00")},
		{words(2), words(2), nil},
		{words(3), "", nil},
		{"", words(30), nil},
		{words(10), words(10), nil},
		{"", words(200), nil},
		{strings.Repeat("W", 400), "", nil},
	}
	var book bytes.Buffer
	require.NoError(t, WriteTable(&book, t.TempDir(), Table{Sheet: "T", Document: "t", Created: time.Unix(0, 0), Columns: columns},
		SliceRows(rows)))
	f, err := excelize.OpenReader(&book)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	sawWrapped, sawCapped := false, false
	for i, row := range rows {
		lines := 1
		for c, value := range row {
			if text, ok := value.(string); ok {
				lines = max(lines, columns[c].TextLines(text))
			}
		}
		require.Equal(t, 1, columns[2].TextLines(words(200)), "not a text column")
		height, err := f.GetRowHeight("T", i+2)
		require.NoError(t, err)
		if lines == 1 {
			require.Equal(t, float64(rowHeight), height, "row %d", i+2)
			continue
		}
		sawWrapped = true
		sawCapped = sawCapped || lines > TableRowLines
		require.Equal(t, textHeight(lines), height, "row %d: %d lines", i+2, lines)
	}
	require.True(t, sawWrapped && sawCapped)
	require.Greater(t, columns[1].TextLines(words(10)), columns[0].TextLines(words(10)), "prose wraps narrower")
}
