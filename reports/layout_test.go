package reports

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestTextUnits(t *testing.T) {
	require.Equal(t, 10.0, textUnits("0123456789", false), "digits are one unit each")
	require.InDelta(t, 7.415, textUnits("Withheld", false), 1e-9)
	require.Greater(t, textUnits("Withheld", true), textUnits("Withheld", false), "bold is wider")
	require.Greater(t, textUnits("WWW", false), textUnits("iii", false))
	require.Equal(t, 4.0, textUnits("日本", false), "wide characters count two")
	require.InDelta(t, 1.687+1.2, textUnits("Mü", false), 1e-9, "a letter outside ASCII counts as a capital")
}

func TestNumberText(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		kind   cellKind
		places int
		want   string
	}{
		{1234567.891, kindUSD, 0, "1,234,567.89"},
		{-20.5, kindUSD, 0, "-20.50"},
		{0.004893, kindSubCent, 0, "0.004893"},
		{0.3, kindRate, 0, "30.00%"},
		{151.234567, kindFX, 0, "151.234567"},
		{151252, kindMinor, 0, "151,252"},
		{8861847.45, kindMinor, 2, "8,861,847.45"},
		{1205, kindCount, 0, "1,205"},
		{2026, kindText, 0, "2026"},
		{0, kindTime, 0, "2006-01-02 15:04:05"},
	} {
		require.Equal(t, tc.want, numberText(tc.v, tc.kind, tc.places), "%v as %d", tc.v, tc.kind)
	}
}

// TestHeaderUnits: a header wraps at spaces onto at most three lines; when
// it takes all three, the last leaves room for the filter button.
func TestHeaderUnits(t *testing.T) {
	one := textUnits("Rate", true)
	require.Equal(t, one, headerUnits("Rate", true), "one line: the button has the lines below")
	require.Equal(t, textUnits("Remainder", true), headerUnits("Remainder carried (USD)", false), "three lines, the longest word")
	require.Equal(t, textUnits("Remainder", true), headerUnits("Remainder carried (USD)", true),
		"on three lines \"(USD)\" and the button fit beside \"Remainder\"")
	require.Equal(t, textUnits("US-sourced", true), headerUnits("US-sourced base (USD)", true))
}

// TestColumnWidthsGolden: the measured widths of every sheet of the four
// workbooks (cycle, statement, 1042-S, 1099), read back by excelize, match
// testdata/widths.golden.json (-update rewrites it after review). The
// widths follow from the fixtures' longest values, their formats, the
// headers and the caps: a change here is a change of layout.
func TestColumnWidthsGolden(t *testing.T) {
	dir := t.TempDir()
	workbooks := map[string]string{"cycle": writeFixture(t, newCycleFixture())}
	workbooks["statement"] = filepath.Join(dir, "statement.xlsx")
	header, lines := statementFixture()
	require.NoError(t, WriteStatement(workbooks["statement"], "", header, SliceRows(lines)))
	workbooks["1042-S"] = filepath.Join(dir, "1042s.xlsx")
	require.NoError(t, Write1042S(workbooks["1042-S"], 2026, SliceRows(form1042SRows())))
	workbooks["1099"] = filepath.Join(dir, "1099.xlsx")
	require.NoError(t, Write1099(workbooks["1099"], 2026, fixtureThresholds, SliceRows(form1099Rows())))

	got := map[string]map[string]map[string]float64{}
	for name, path := range workbooks {
		f, err := excelize.OpenFile(path)
		require.NoError(t, err)
		got[name] = map[string]map[string]float64{}
		for _, sheet := range f.GetSheetList() {
			widths := map[string]float64{}
			dimension, err := f.GetSheetDimension(sheet)
			require.NoError(t, err)
			lastCol, _, err := excelize.CellNameToCoordinates(dimension[strings.Index(dimension, ":")+1:])
			require.NoError(t, err)
			for col := 1; col <= lastCol; col++ {
				letter, _ := excelize.ColumnNumberToName(col)
				width, err := f.GetColWidth(sheet, letter)
				require.NoError(t, err)
				widths[letter] = width
			}
			got[name][sheet] = widths
		}
		require.NoError(t, f.Close())
	}
	body, err := json.MarshalIndent(got, "", " ")
	require.NoError(t, err)
	checkGolden(t, "widths.golden.json", append(body, '\n'))
}

// TestWidthsFitTheValues: every data cell of the fixture's Payouts sheet
// fits its column as measured (no ###, no text cut): the widest value of
// each column, formatted, is narrower than the column less its padding.
func TestWidthsFitTheValues(t *testing.T) {
	fixture := newCycleFixture()
	fixture.payouts[2].MaskedAccount = "a.very.long.paypal.address@sampa-jogos.example.com" // 51 characters, above the cap
	path := writeFixture(t, fixture)
	f, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows(SheetPayouts)
	require.NoError(t, err)
	for col, column := range payoutColumns {
		letter, _ := excelize.ColumnNumberToName(col + 1)
		width, err := f.GetColWidth(SheetPayouts, letter)
		require.NoError(t, err)
		for r, row := range rows[1:] {
			if col >= len(row) || row[col] == "" || (col == 0 && r == len(rows)-2) {
				continue // the totals' label runs on into the empty cell beside it
			}
			units := textUnits(row[col], false)
			if column.kind != kindText {
				units = textUnits(row[col], true) // the totals are bold
			}
			if column.kind == kindText && units > widthFor(defaultMaxWidth) {
				continue
			}
			limit := width - cellPadding
			if column.kind == kindText && column.maxWidth > 0 && width >= column.maxWidth {
				// Capped: longer text wraps (the column's style wraps).
				continue
			}
			require.LessOrEqual(t, units, limit, "%s row %d %q in column %s (%s), width %v", SheetPayouts, r+2, row[col], letter, column.header, width)
		}
	}
	// The long address is capped and wraps instead of widening the page.
	width, err := f.GetColWidth(SheetPayouts, "E")
	require.NoError(t, err)
	require.Equal(t, 44.0, width)
	style, err := f.GetCellStyle(SheetPayouts, "E4")
	require.NoError(t, err)
	s, err := f.GetStyle(style)
	require.NoError(t, err)
	require.True(t, s.Alignment.WrapText, "a capped text column wraps")
}

// TestPrintSetupAndFormulas reads every workbook back with excelize: each
// sheet prints landscape, one page wide, with the footer; tables repeat
// their header row and have a print area; totals and the summary's figures
// are formulas with cached values.
func TestPrintSetupAndFormulas(t *testing.T) {
	dir := t.TempDir()
	cycle := writeFixture(t, newCycleFixture())
	statement := filepath.Join(dir, "statement.xlsx")
	header, lines := statementFixture()
	require.NoError(t, WriteStatement(statement, "", header, SliceRows(lines)))
	form := filepath.Join(dir, "1099.xlsx")
	require.NoError(t, Write1099(form, 2026, fixtureThresholds, SliceRows(form1099Rows())))

	for path, tables := range map[string][]string{
		cycle:     {SheetPayouts, SheetUnpaid, SheetWithholding, SheetFiles, SheetExceptions},
		statement: {SheetLines},
		form:      {Sheet1099},
	} {
		f, err := excelize.OpenFile(path)
		require.NoError(t, err)
		names := map[string]string{}
		for _, dn := range f.GetDefinedName() {
			names[dn.Scope+" "+dn.Name] = dn.RefersTo
		}
		for _, sheet := range f.GetSheetList() {
			layout, err := f.GetPageLayout(sheet)
			require.NoError(t, err)
			require.Equal(t, "landscape", *layout.Orientation, sheet)
			require.Equal(t, 1, *layout.FitToWidth, "%s: one page wide", sheet)
			require.Equal(t, 0, *layout.FitToHeight, "%s: as many pages down as needed", sheet)
			props, err := f.GetSheetProps(sheet)
			require.NoError(t, err)
			require.True(t, *props.FitToPage, "%s: fit to page on", sheet)
			footer, err := f.GetHeaderFooter(sheet)
			require.NoError(t, err)
			require.Contains(t, footer.OddFooter, "&C&8&A&R&8Page &P of &N", sheet)
			require.Contains(t, names, sheet+" _xlnm.Print_Area", sheet)
		}
		for _, sheet := range tables {
			require.Equal(t, quoteSheet(sheet)+"!$1:$1", names[sheet+" _xlnm.Print_Titles"], "%s repeats its header row", sheet)
			dimension, err := f.GetSheetDimension(sheet)
			require.NoError(t, err)
			last := dimension[strings.Index(dimension, ":")+1:]
			require.Equal(t, quoteSheet(sheet)+"!$A$1:"+absolute(last), names[sheet+" _xlnm.Print_Area"], sheet)
			// The totals row: the label counts the rows, each total column sums.
			_, lastRow, err := excelize.CellNameToCoordinates(last)
			require.NoError(t, err)
			label, err := f.GetCellFormula(sheet, fmt.Sprintf("A%d", lastRow))
			require.NoError(t, err)
			require.Contains(t, label, "SUBTOTAL(3,"+quoteSheet(sheet)+"!$A$2:", sheet)
		}
		require.NoError(t, f.Close())
	}

	f, err := excelize.OpenFile(cycle)
	require.NoError(t, err)
	defer f.Close()
	paid, err := f.GetCellFormula(SheetPayouts, "L8")
	require.NoError(t, err)
	require.Equal(t, "SUBTOTAL(9,'Payouts'!$L$2:$L$6)", paid)
	cached, err := f.GetCellValue(SheetPayouts, "L8", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Equal(t, "3027.76", cached, "the total's value is stored with its formula")
	rows, err := f.GetRows(SheetSummary, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	for i, row := range rows {
		if len(row) > 2 && row[0] == labelPaid {
			formula, err := f.GetCellFormula(SheetSummary, fmt.Sprintf("C%d", i+1))
			require.NoError(t, err)
			require.Equal(t, "SUM('Payouts'!$L$2:$L$6)", formula)
			require.Equal(t, "3027.76", row[2])
		}
	}
}
