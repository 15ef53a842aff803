package reports

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
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

// cellKind says how a column's values are shown.
type cellKind int

const (
	kindText    cellKind = iota
	kindUSD              // whole cents: #,##0.00
	kindBalance          // ledger precision, sub-cents: #,##0.000000
	kindRate             // 0.30 shown as 30.00%
	kindFX               // exchange rate, 6 decimals
	kindCount            // integer with thousands separator
	kindMinor            // amount in a payout currency: style chosen per row (minorAmount)
	kindTime             // UTC date and time
	kindDate             // date only
)

// Number formats (Excel custom number format codes).
const (
	formatUSD     = `#,##0.00;-#,##0.00`
	formatBalance = `#,##0.000000;-#,##0.000000`
	formatRate    = `0.00%`
	formatFX      = `0.000000`
	formatCount   = `#,##0`
	formatTime    = `yyyy-mm-dd hh:mm:ss`
	formatDate    = `yyyy-mm-dd`
)

// minorFormats are the formats of amounts with 0 to 3 minor-unit decimals
// (ISO 4217 exponents in use: JPY 0, USD 2, BHD 3).
var minorFormats = [...]string{`#,##0`, `#,##0.0`, `#,##0.00`, `#,##0.000`}

// styles are the style ids of one workbook.
type styles struct {
	header, title, draftTitle, section, label, bold, fail, pass int
	column                                                      map[cellKind]int
	total                                                       map[cellKind]int
	minor                                                       [len(minorFormats)]int
	// usedRanges maps each streamed worksheet part ("xl/worksheets/sheet2.xml")
	// to its used range ("A1:Q42"). excelize's StreamWriter writes the
	// sheet's <dimension> when it is created, before any row, so it always
	// says "A1"; streaming readers (openpyxl read_only=True) trust it and
	// would see one row. The zip writer puts the real range in its place
	// (see spoolZip).
	usedRanges map[string]string
}

func newStyles(f *excelize.File) (*styles, error) {
	s := &styles{column: map[cellKind]int{}, total: map[cellKind]int{}, usedRanges: map[string]string{}}
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
		{kindUSD, formatUSD}, {kindBalance, formatBalance}, {kindRate, formatRate}, {kindFX, formatFX},
		{kindCount, formatCount}, {kindTime, formatTime}, {kindDate, formatDate},
	}
	bold := &excelize.Font{Bold: true}
	topBorder := []excelize.Border{{Type: "top", Color: "000000", Style: 1}}
	s.header = add(&excelize.Style{
		Font:      bold,
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
	})
	s.title = add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	s.draftTitle = add(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14, Color: "C00000"}})
	s.section = add(&excelize.Style{Font: bold, Border: []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}}})
	s.label = add(&excelize.Style{Font: bold, Border: topBorder})
	s.bold = add(&excelize.Style{Font: bold})
	s.fail = add(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "C00000"}})
	s.pass = add(&excelize.Style{Font: &excelize.Font{Color: "006100"}})
	for _, f := range formatOf {
		format := f.format
		s.column[f.kind] = add(&excelize.Style{CustomNumFmt: &format})
		s.total[f.kind] = add(&excelize.Style{CustomNumFmt: &format, Font: bold, Border: topBorder})
	}
	for places, format := range minorFormats {
		format := format
		s.minor[places] = add(&excelize.Style{CustomNumFmt: &format})
	}
	return s, err
}

// column describes one column of a streamed sheet.
type column struct {
	header string
	width  float64
	kind   cellKind
	// total: the totals row sums this column (numeric kinds only).
	total bool
}

// minorAmount is a cell value in a payout currency, shown with that
// currency's minor-unit decimals.
type minorAmount struct {
	amount decimal.Decimal
	places int32
}

// streamedSheet writes one logical sheet with excelize's StreamWriter,
// continuing in parts ("Payouts (2)") before MaxSheetRows. Every part has
// the header row frozen, column widths and number formats, and an
// autofilter over header and data; the last part ends with a totals row
// over all parts, computed exactly (in decimal) while streaming.
type streamedSheet struct {
	f       *excelize.File
	styles  *styles
	base    string
	columns []column

	part   int
	name   string
	writer *excelize.StreamWriter
	row    int // last row written in the current part

	rows      int64 // data rows over all parts
	sums      []exactSum
	counts    []int64
	cells     []any
	lastCol   string
	totalText string // label of the totals row; "" = "Total"
}

func newStreamedSheet(f *excelize.File, st *styles, base string, columns []column) (*streamedSheet, error) {
	lastCol, err := excelize.ColumnNumberToName(len(columns))
	if err != nil {
		return nil, err
	}
	s := &streamedSheet{
		f: f, styles: st, base: base, columns: columns, lastCol: lastCol,
		sums: make([]exactSum, len(columns)), counts: make([]int64, len(columns)),
		cells: make([]any, len(columns)),
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
	if _, err := s.f.NewSheet(s.name); err != nil {
		return fmt.Errorf("reports: sheet %q: %w", s.name, err)
	}
	writer, err := s.f.NewStreamWriter(s.name)
	if err != nil {
		return fmt.Errorf("reports: sheet %q: %w", s.name, err)
	}
	s.writer = writer
	for i, col := range s.columns {
		if err := writer.SetColWidth(i+1, i+1, col.width); err != nil {
			return err
		}
		if style, ok := s.styles.column[col.kind]; ok {
			if err := writer.SetColStyle(i+1, i+1, style); err != nil {
				return err
			}
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
		header[i] = excelize.Cell{StyleID: s.styles.header, Value: col.header}
	}
	s.row = 1
	return writer.SetRow("A1", header, excelize.RowOpts{Height: 30})
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
	for i, value := range values {
		switch v := value.(type) {
		case decimal.Decimal:
			if s.columns[i].total {
				s.sums[i].add(v)
			}
			s.cells[i] = v.InexactFloat64()
		case minorAmount:
			places := v.places
			if places < 0 || int(places) >= len(s.styles.minor) {
				return fmt.Errorf("reports: %d minor-unit decimals not supported", places)
			}
			s.cells[i] = excelize.Cell{StyleID: s.styles.minor[places], Value: v.amount.InexactFloat64()}
		case int:
			if s.columns[i].total {
				s.counts[i] += int64(v)
			}
			s.cells[i] = v
		case string:
			if v == "" {
				s.cells[i] = nil // an empty cell, not an empty text
			} else {
				s.cells[i] = v
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
	return s.writer.SetRow(cell, s.cells[:len(values)])
}

// finishPart ends the current part; the last part gets the totals row.
func (s *streamedSheet) finishPart(last bool) error {
	lastDataRow := s.row
	if last {
		label := s.totalText
		if label == "" {
			label = fmt.Sprintf("Total (%d rows)", s.rows)
			if s.part > 1 {
				label = fmt.Sprintf("Total, all %d parts (%d rows)", s.part, s.rows)
			}
		}
		totals := make([]any, len(s.columns))
		totals[0] = excelize.Cell{StyleID: s.styles.label, Value: label}
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
				totals[i] = excelize.Cell{StyleID: totalStyle, Value: s.counts[i]}
			case col.total:
				totals[i] = excelize.Cell{StyleID: totalStyle, Value: s.sums[i].value().InexactFloat64()}
			default:
				totals[i] = excelize.Cell{StyleID: s.styles.label}
			}
		}
		cell, err := excelize.CoordinatesToCellName(1, s.row+tailRows)
		if err != nil {
			return err
		}
		if err := s.writer.SetRow(cell, totals); err != nil {
			return err
		}
	}
	// The autofilter covers header and data, never the totals row, so that
	// filtering does not hide the totals. Setting it through the File works
	// while streaming: it lands on the worksheet the StreamWriter writes at
	// Flush.
	if err := s.f.AutoFilter(s.name, fmt.Sprintf("A1:%s%d", s.lastCol, lastDataRow), nil); err != nil {
		return fmt.Errorf("reports: sheet %q autofilter: %w", s.name, err)
	}
	if err := s.writer.Flush(); err != nil {
		return fmt.Errorf("reports: sheet %q: %w", s.name, err)
	}
	lastRow := lastDataRow
	if last {
		lastRow = s.row + tailRows
	}
	s.styles.usedRanges[worksheetPart(s.writer.SheetID)] = fmt.Sprintf("A1:%s%d", s.lastCol, lastRow)
	return nil
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
