package reports

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/internal/fielderr"
)

// Limits. Each says where its number comes from.
const (
	// ExcelMaxRows is the most rows a worksheet can have: "Worksheet size:
	// 1,048,576 rows by 16,384 columns" (Microsoft, Excel specifications and
	// limits).
	ExcelMaxRows = 1_048_576
	// ExcelMaxSheetNameLength: a sheet name has at most 31 characters (same
	// source).
	ExcelMaxSheetNameLength = 31
	// ExcelMaxRowHeight is the tallest a row can be, in points: "Row
	// height: 409 points" (same source). excelize refuses a taller row
	// (excelize.ErrMaxRowHeight), and a row is as tall as its wrapped text
	// (textHeight), so the height is capped here (issue 23).
	ExcelMaxRowHeight = 409
	// ExcelMaxCellChars is the most text a cell holds: "Total number of
	// characters that a cell can contain: 32,767 characters" (same source;
	// counted in UTF-16 code units). excelize cuts a longer text silently:
	// payrun never hands it one (splitText, ErrCellTooLong).
	ExcelMaxCellChars = 32_767
	// MaxSheetParts bounds how many parts one logical sheet may be split
	// into: 100 parts hold over 104 million rows, two orders of magnitude
	// above the publishers payrun pays; reaching it means something upstream
	// is looping.
	MaxSheetParts = 100
	// tailRows are reserved at the end of every part for a blank row and the
	// totals row.
	tailRows = 2
)

// MaxSheetRows is the row limit at which a streamed sheet is continued in a
// new part ("Payouts (2)", ...). It is ExcelMaxRows; it is a variable only
// so that tests can lower it.
var MaxSheetRows = ExcelMaxRows

// ErrTooManyRows is returned when a sheet would need more than MaxSheetParts
// parts.
var ErrTooManyRows = errors.New("too many rows")

// ErrCellTooLong is returned (inside a *fielderr.Error naming the column)
// when a text is longer than a cell holds (ExcelMaxCellChars) in a column
// that does not continue it in the rows below: writing it would lose its
// end without a word. Only the Exceptions sheet's Detail continues.
var ErrCellTooLong = errors.New("text longer than a cell holds")

// cellKind says how a column's values are shown.
type cellKind int

const (
	kindText    cellKind = iota
	kindUSD              // any USD amount, shown to the cent (#,##0.00); the cell holds the exact value
	kindSubCent          // sub-cent remainders, shown to the micro-dollar (#,##0.000000)
	kindRate             // 0.30 shown as 30.00%
	kindFX               // exchange rate, 6 decimals
	kindCount            // integer with thousands separator
	kindMinor            // amount in a payout currency: style chosen per row (minorAmount)
	kindTime             // UTC date and time
	kindDate             // date only
)

// Number formats (Excel custom number format codes). "_)" leaves the width
// of a ")" after a number, so that a right-aligned figure does not touch
// the text of the column to its right.
const (
	formatUSD     = `#,##0.00_);-#,##0.00_)`
	formatSubCent = `#,##0.000000_);-#,##0.000000_)`
	formatRate    = `0.00%_)`
	formatFX      = `0.000000_)`
	formatCount   = `#,##0_)`
	formatTime    = `yyyy-mm-dd hh:mm:ss`
	formatDate    = `yyyy-mm-dd`
)

// minorFormats are the formats of amounts with 0 to 3 minor-unit decimals
// (ISO 4217 exponents in use: JPY 0, USD 2, BHD 3).
var minorFormats = [...]string{`#,##0_);-#,##0_)`, `#,##0.0_);-#,##0.0_)`, `#,##0.00_);-#,##0.00_)`, `#,##0.000_);-#,##0.000_)`}

// numberPad is the width "_)" leaves after a number.
const numberPad = 0.6

// The workbooks' font: excelize's default (Calibri 11), named on every
// style. The widths are measured in its metrics (charWidths).
const (
	fontName = "Calibri"
	fontSize = 11
)

// styles are the style ids of one workbook, and what the zip writer must
// correct in its streamed sheets.
type styles struct {
	header, headerRight, title, draftTitle, section, sectionRight, sectionCenter, label, bold, wrap, result int
	// passFormat and failFormat are the conditional formats (dxf ids) that
	// colour a check's result green or red, whatever value a reader
	// recalculates; stripe shades every other row of a table.
	passFormat, failFormat, stripe int
	// left are left-aligned number styles (the summary's header block and
	// rate labels).
	left       map[cellKind]int
	column     map[cellKind]int
	total      map[cellKind]int
	minor      [len(minorFormats)]int
	minorTotal [len(minorFormats)]int
	// document names the workbook in every page's footer ("Payout summary
	// 2026-11").
	document string
	// heads maps each streamed worksheet part ("xl/worksheets/sheet2.xml")
	// to what its opening bytes must say: excelize's StreamWriter writes the
	// sheet's <dimension> and <cols> before any row, so the dimension says
	// "A1" (streaming readers, openpyxl read_only=True, trust it and would
	// see one row) and the widths are not measured yet. The zip writer puts
	// the real ones in their place (see spoolZip).
	heads map[string]sheetHead
}

// sheetHead is what a streamed worksheet's head must say.
type sheetHead struct {
	usedRange string // "A1:Q42"
	cols      string // the <cols> element; "" keeps the one written
}

func newStyles(f *excelize.File) (*styles, error) {
	s := &styles{column: map[cellKind]int{}, total: map[cellKind]int{}, left: map[cellKind]int{}, heads: map[string]sheetHead{}}
	var err error
	add := func(style *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(style)
		return id
	}
	// A slice, not a map: style ids must come out in the same order every
	// time, or the same workbook would not give the same bytes.
	formatOf := []struct {
		kind   cellKind
		format string
	}{
		{kindUSD, formatUSD}, {kindSubCent, formatSubCent}, {kindRate, formatRate}, {kindFX, formatFX},
		{kindCount, formatCount}, {kindTime, formatTime}, {kindDate, formatDate},
	}
	// Every font names Calibri 11, the workbook's default: a font without a
	// name or size is read by LibreOffice as its own default (a serif),
	// wider than the widths were measured for.
	font := func(bold bool, size float64, color string) *excelize.Font {
		return &excelize.Font{Bold: bold, Family: fontName, Size: size, Color: color}
	}
	bold := font(true, fontSize, "")
	topBorder := []excelize.Border{{Type: "top", Color: "000000", Style: 1}}
	// Every cell is aligned to the top, so that a row whose prose wraps
	// onto several lines still reads across.
	top := &excelize.Alignment{Vertical: "top"}
	s.header = add(&excelize.Style{
		Font:      bold,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
	})
	// Over a column of numbers the header is right-aligned, like them.
	s.headerRight = add(&excelize.Style{
		Font:      bold,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
		Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "right", Indent: 1, WrapText: true},
	})
	s.title = add(&excelize.Style{Font: font(true, 14, "")})
	s.draftTitle = add(&excelize.Style{Font: font(true, 14, "C00000")})
	sectionBorder := []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}}
	s.section = add(&excelize.Style{Font: bold, Border: sectionBorder, Alignment: top})
	s.sectionRight = add(&excelize.Style{Font: bold, Border: sectionBorder, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "right", Indent: 1}})
	s.sectionCenter = add(&excelize.Style{Font: bold, Border: sectionBorder, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "center"}})
	s.label = add(&excelize.Style{Font: bold, Border: topBorder, Alignment: top})
	s.bold = add(&excelize.Style{Font: bold, Alignment: top})
	s.wrap = add(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	s.result = add(&excelize.Style{Font: bold, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "center"}})
	s.column[kindText] = s.wrap
	for _, f := range formatOf {
		format := f.format
		s.column[f.kind] = add(&excelize.Style{CustomNumFmt: &format, Alignment: top})
		s.total[f.kind] = add(&excelize.Style{CustomNumFmt: &format, Font: bold, Border: topBorder, Alignment: top})
		if f.kind == kindTime || f.kind == kindDate || f.kind == kindRate {
			s.left[f.kind] = add(&excelize.Style{CustomNumFmt: &format, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "left"}})
		}
	}
	for places, format := range minorFormats {
		format := format
		s.minor[places] = add(&excelize.Style{CustomNumFmt: &format, Alignment: top})
		s.minorTotal[places] = add(&excelize.Style{CustomNumFmt: &format, Font: bold, Border: topBorder, Alignment: top})
	}
	if err != nil {
		return nil, err
	}
	if s.passFormat, err = f.NewConditionalStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "006100"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E2EFDA"}}}); err != nil {
		return nil, err
	}
	if s.failFormat, err = f.NewConditionalStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "C00000"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FCE4E4"}}}); err != nil {
		return nil, err
	}
	if s.stripe, err = f.NewConditionalStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F2F2F2"}}}); err != nil {
		return nil, err
	}
	return s, nil
}

// column describes one column of a streamed sheet. Its width is measured
// (see column.width): there is no fixed width.
type column struct {
	header string
	kind   cellKind
	// total: the totals row sums this column (numeric kinds only).
	total bool
	// prose: free text (reasons, hints, details, addresses) whose width is
	// capped at proseMaxWidth, longer values wrapping; other text columns
	// are capped at maxWidth (0: defaultMaxWidth).
	prose    bool
	maxWidth float64
}

// minorAmount is a cell value in a payout currency, shown with that
// currency's minor-unit decimals.
type minorAmount struct {
	amount decimal.Decimal
	places int32
}

// streamedSheet writes one logical sheet with excelize's StreamWriter,
// continuing in parts ("Payouts (2)") before MaxSheetRows. Every part has
// the header row frozen, measured column widths, number formats, an
// autofilter over header and data and the print setup (header row repeated
// on every page); the last part ends with a totals row over all parts:
// SUBTOTAL formulas whose cached values are the exact (decimal) sums
// computed while streaming.
type streamedSheet struct {
	f       *excelize.File
	styles  *styles
	base    string
	columns []column

	part   int
	name   string
	writer *excelize.StreamWriter
	row    int // last row written in the current part
	// parts are the finished parts (name, last data row), for the totals
	// row's and the summary's formulas.
	parts []sheetPart

	rows    int64   // data rows over all parts
	label   float64 // width of the totals row's label, once written
	sums    []exactSum
	counts  []int64
	meters  []meter
	limits  []float64 // per column: maxTextWidth
	cells   []any
	lastCol string
	// noTotals leaves out the totals row (a plain table: see WriteTable).
	noTotals bool
}

// sheetPart is one finished part of a streamed sheet.
type sheetPart struct {
	name        string
	lastDataRow int // 1 when the part has no data rows
}

func newStreamedSheet(f *excelize.File, st *styles, base string, columns []column) (*streamedSheet, error) {
	lastCol, err := excelize.ColumnNumberToName(len(columns))
	if err != nil {
		return nil, err
	}
	s := &streamedSheet{
		f: f, styles: st, base: base, columns: columns, lastCol: lastCol,
		sums: make([]exactSum, len(columns)), counts: make([]int64, len(columns)),
		meters: make([]meter, len(columns)), limits: make([]float64, len(columns)), cells: make([]any, len(columns)),
	}
	for i, col := range columns {
		s.limits[i] = col.maxTextWidth()
	}
	return s, s.startPart()
}

// partName is the name of part n (1-based) of base.
func partName(base string, n int) string {
	if n == 1 {
		return base
	}
	return fmt.Sprintf("%s (%d)", base, n)
}

func (s *streamedSheet) startPart() error {
	s.part++
	if s.part > MaxSheetParts {
		return fmt.Errorf("reports: sheet %q: more than %d parts of %d rows: %w", s.base, MaxSheetParts, MaxSheetRows, ErrTooManyRows)
	}
	s.name = partName(s.base, s.part)
	if len([]rune(s.name)) > ExcelMaxSheetNameLength {
		return fmt.Errorf("reports: sheet name %q longer than %d characters", s.name, ExcelMaxSheetNameLength)
	}
	if index, _ := s.f.GetSheetIndex(s.name); index < 0 {
		if _, err := s.f.NewSheet(s.name); err != nil {
			return fmt.Errorf("reports: sheet %q: %w", s.name, err)
		}
	}
	if err := printSetup(s.f, s.name, s.styles.document); err != nil {
		return fmt.Errorf("reports: sheet %q print setup: %w", s.name, err)
	}
	writer, err := s.f.NewStreamWriter(s.name)
	if err != nil {
		return fmt.Errorf("reports: sheet %q: %w", s.name, err)
	}
	s.writer = writer
	// The widths are measured while the rows stream and put in place when
	// the workbook is saved (styles.heads); these are the headers' needs,
	// written now so that the sheet has its <cols> element, with the column
	// styles the data cells take.
	for i, col := range s.columns {
		if err := writer.SetColWidth(i+1, i+1, widthFor(headerUnits(col.header, true))); err != nil {
			return err
		}
		if err := writer.SetColStyle(i+1, i+1, s.styles.column[col.kind]); err != nil {
			return err
		}
	}
	if err := writer.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(s.columns))
	for i, col := range s.columns {
		style := s.styles.header
		if col.kind != kindText {
			style = s.styles.headerRight
		}
		header[i] = excelize.Cell{StyleID: style, Value: col.header}
	}
	s.row = 1
	return writer.SetRow("A1", header, excelize.RowOpts{Height: headerHeight})
}

// add writes one data row. values holds, per column: string,
// decimal.Decimal, int, minorAmount, time.Time (zero = empty), or nil.
func (s *streamedSheet) add(values ...any) error {
	if s.row+1 > MaxSheetRows-tailRows {
		if err := s.finishPart(false); err != nil {
			return err
		}
		if err := s.startPart(); err != nil {
			return err
		}
	}
	lines := 1
	for i, value := range values {
		switch v := value.(type) {
		case decimal.Decimal:
			if s.columns[i].total {
				s.sums[i].add(v)
			}
			number := v.InexactFloat64()
			s.meters[i].addNumber(number)
			s.cells[i] = number
		case minorAmount:
			places := v.places
			if places < 0 || int(places) >= len(s.styles.minor) {
				return fmt.Errorf("reports: %d minor-unit decimals not supported", places)
			}
			number := v.amount.InexactFloat64()
			s.meters[i].addMinor(number, int(places))
			s.cells[i] = excelize.Cell{StyleID: s.styles.minor[places], Value: number}
		case int:
			if s.columns[i].total {
				s.counts[i] += int64(v)
			}
			s.meters[i].addNumber(float64(v))
			s.cells[i] = v
		case string:
			if v == "" {
				s.cells[i] = nil // an empty cell, not an empty text
			} else {
				if err := checkCellText(s.columns[i].header, v); err != nil {
					return fmt.Errorf("reports: sheet %q row %d: %w", s.name, s.row+1, err)
				}
				units := s.meters[i].addText(v)
				s.cells[i] = v
				// Text wider than its column's cap makes the column that
				// wide and wraps: the row gets the height of its lines
				// (LibreOffice does not fit the height of a row it reads).
				if limit := s.limits[i]; limit > 0 && widthFor(units) > limit {
					lines = max(lines, wrapLines(v, limit, false))
				}
			}
		case time.Time:
			if v.IsZero() {
				s.cells[i] = nil
			} else {
				s.cells[i] = excelTime(v)
			}
		default:
			s.cells[i] = v
		}
	}
	s.row++
	s.rows++
	cell, err := excelize.CoordinatesToCellName(1, s.row)
	if err != nil {
		return err
	}
	if lines > 1 {
		return s.writer.SetRow(cell, s.cells[:len(values)], excelize.RowOpts{Height: textHeight(lines)})
	}
	return s.writer.SetRow(cell, s.cells[:len(values)])
}

// checkCellText refuses a text longer than a cell holds, which excelize
// would cut short without a word; field names it (a column's header, a
// cell's reference).
func checkCellText(field, text string) error {
	if fitsCell(text, ExcelMaxCellChars) {
		return nil
	}
	return &fielderr.Error{Path: field, Code: fielderr.TooLong, Err: ErrCellTooLong,
		Message: fmt.Sprintf("%d characters, more than the %d an Excel cell holds", utf16Units(text), ExcelMaxCellChars)}
}

// dataRange is column col's (0-based) data rows in part p, qualified with
// the part's sheet name unless local: "'Payouts (2)'!$L$2:$L$9". A part
// without data rows gives its (empty) second row.
func (s *streamedSheet) dataRange(p sheetPart, col int, local bool) string {
	name, _ := excelize.ColumnNumberToName(col + 1)
	last := max(p.lastDataRow, 2)
	ref := fmt.Sprintf("$%s$2:$%s$%d", name, name, last)
	if local {
		return ref
	}
	return quoteSheet(p.name) + "!" + ref
}

// ranges is column col's data ranges over every finished part, sheet
// qualified, comma separated: the arguments of SUM or SUBTOTAL.
func (s *streamedSheet) ranges(col int) string {
	refs := make([]string, len(s.parts))
	for i, p := range s.parts {
		refs[i] = s.dataRange(p, col, false)
	}
	return strings.Join(refs, ",")
}

// each applies a one-range formula (COUNTIF, SUMIFS...) to every part and
// adds the results: build gets the part and returns the formula.
func (s *streamedSheet) each(build func(p sheetPart) string) string {
	terms := make([]string, len(s.parts))
	for i, p := range s.parts {
		terms[i] = build(p)
	}
	return strings.Join(terms, "+")
}

// finishPart ends the current part; the last part gets the totals row.
func (s *streamedSheet) finishPart(last bool) error {
	lastDataRow := s.row
	s.parts = append(s.parts, sheetPart{name: s.name, lastDataRow: lastDataRow})
	lastRow := lastDataRow
	if last && !s.noTotals {
		lastRow = s.row + tailRows
		if err := s.writeTotals(lastRow); err != nil {
			return err
		}
	}
	// Every other data row is shaded, so that a printed row can be
	// followed across the page: one conditional format, nothing per row.
	if lastDataRow >= 3 {
		if err := s.f.SetConditionalFormat(s.name, fmt.Sprintf("A2:%s%d", s.lastCol, lastDataRow), []excelize.ConditionalFormatOptions{
			{Type: "formula", Criteria: "MOD(ROW(),2)=1", Format: &s.styles.stripe},
		}); err != nil {
			return fmt.Errorf("reports: sheet %q shading: %w", s.name, err)
		}
	}
	// The autofilter covers header and data, never the totals row, so that
	// filtering does not hide the totals. Setting it through the File works
	// while streaming: it lands on the worksheet the StreamWriter writes at
	// Flush.
	if err := s.f.AutoFilter(s.name, fmt.Sprintf("A1:%s%d", s.lastCol, lastDataRow), nil); err != nil {
		return fmt.Errorf("reports: sheet %q autofilter: %w", s.name, err)
	}
	if err := printRanges(s.f, s.name, fmt.Sprintf("%s%d", s.lastCol, lastRow), true); err != nil {
		return err
	}
	if err := s.writer.Flush(); err != nil {
		return fmt.Errorf("reports: sheet %q: %w", s.name, err)
	}
	widths, colStyles := make([]float64, len(s.columns)), make([]int, len(s.columns))
	for i, col := range s.columns {
		widths[i], colStyles[i] = col.width(&s.meters[i], true), s.styles.column[col.kind]
	}
	// The totals row's label runs on into the second column when that
	// column has no total (the cell is empty); otherwise the first column
	// holds it.
	if label := widthFor(s.label); s.label > 0 && label > widths[0] && (len(widths) < 2 || s.columns[1].total || label > widths[0]+widths[1]) {
		widths[0] = label
	}
	s.styles.heads[worksheetPart(s.writer.SheetID)] = sheetHead{
		usedRange: fmt.Sprintf("A1:%s%d", s.lastCol, lastRow),
		cols:      colsXML(widths, colStyles),
	}
	return nil
}

// writeTotals writes the totals row at row: per total column a SUBTOTAL(9)
// over the column's data in every part (so a filter shows the total of the
// rows it shows), its cached value the exact sum; the label counts the
// rows the same way.
func (s *streamedSheet) writeTotals(row int) error {
	label := fmt.Sprintf("Total (%d rows)", s.rows)
	labelFormula := fmt.Sprintf(`"Total ("&SUBTOTAL(3,%s)&" rows)"`, s.ranges(0))
	if s.part > 1 {
		label = fmt.Sprintf("Total, all %d parts (%d rows)", s.part, s.rows)
		labelFormula = fmt.Sprintf(`"Total, all %d parts ("&SUBTOTAL(3,%s)&" rows)"`, s.part, s.ranges(0))
	}
	s.label = textUnits(label, true)
	totals := make([]any, len(s.columns))
	totals[0] = excelize.Cell{StyleID: s.styles.label, Formula: labelFormula, Value: label}
	for i, col := range s.columns {
		if i == 0 {
			continue
		}
		totalStyle, ok := s.styles.total[col.kind]
		if !ok {
			totalStyle = s.styles.label
		}
		switch {
		case col.total && col.kind == kindCount:
			totals[i] = excelize.Cell{StyleID: totalStyle, Formula: "SUBTOTAL(9," + s.ranges(i) + ")", Value: s.counts[i]}
			s.meters[i].addNumber(float64(s.counts[i]))
		case col.total:
			sum := s.sums[i].value().InexactFloat64()
			totals[i] = excelize.Cell{StyleID: totalStyle, Formula: "SUBTOTAL(9," + s.ranges(i) + ")", Value: sum}
			s.meters[i].addNumber(sum)
		default:
			totals[i] = excelize.Cell{StyleID: s.styles.label}
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, row)
	if err != nil {
		return err
	}
	return s.writer.SetRow(cell, totals)
}

// worksheetPart is the zip entry of the worksheet with this sheet id: the
// name excelize gives every sheet it creates (NewFile's Sheet1 included).
func worksheetPart(sheetID int) string {
	return fmt.Sprintf("xl/worksheets/sheet%d.xml", sheetID)
}

// close ends the sheet.
func (s *streamedSheet) close() error { return s.finishPart(true) }

// sum returns the exact total of column i.
func (s *streamedSheet) sum(i int) decimal.Decimal { return s.sums[i].value() }

// excelTime shows t in UTC: workbooks carry no time zone, and every time in
// payrun is UTC.
func excelTime(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), time.UTC)
}
