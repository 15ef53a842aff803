package reports

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// gridSheet is a small sheet laid out row by row (Summary, Statement): its
// rows are built in memory first, so that its column widths can be measured
// before its StreamWriter writes the first row. It is written with a
// StreamWriter, like the tables, because only the StreamWriter stores a
// formula together with a numeric cached value (excelize's SetCellFormula
// makes every cached value text).
type gridSheet struct {
	f     *excelize.File
	st    *styles
	name  string
	rows  [][]gridCell
	style map[int]excelize.RowOpts // row (1-based) → its options
	// wrapAt caps a column (0-based) at this width; its text cells wrap.
	wrapAt map[int]float64
	// results are the cells of checks' results (column, row), coloured PASS
	// green and FAIL red by conditional formats.
	results [][2]int
}

// gridCell is one cell: a value (string, float64, int, int64, time.Time;
// nil leaves the cell empty) or a formula with its cached value, a style,
// and how its value is shown (for the width).
type gridCell struct {
	value   any
	formula string
	style   int
	kind    cellKind
	places  int // kindMinor
	bold    bool
	// spill: a title that may run over the empty cells to its right; it
	// does not widen its column.
	spill bool
}

func newGridSheet(f *excelize.File, st *styles, name string) *gridSheet {
	return &gridSheet{f: f, st: st, name: name, style: map[int]excelize.RowOpts{}, wrapAt: map[int]float64{}}
}

// line appends a row and returns its number.
func (g *gridSheet) line(cells ...gridCell) int {
	g.rows = append(g.rows, cells)
	return len(g.rows)
}

// blank appends an empty row.
func (g *gridSheet) blank() { g.rows = append(g.rows, nil) }

// next is the number the next row will have.
func (g *gridSheet) next() int { return len(g.rows) + 1 }

// cellRef is the A1 reference of column col (0-based) in row.
func cellRef(col, row int) string {
	name, _ := excelize.ColumnNumberToName(col + 1)
	return fmt.Sprintf("%s%d", name, row)
}

// Cell constructors.

// text is plain text, aligned to the top like every other cell (and
// wrapped, should its column be capped).
func (g *gridSheet) text(v string) gridCell { return gridCell{value: v, style: g.st.wrap} }
func (g *gridSheet) bold(v string) gridCell { return gridCell{value: v, style: g.st.bold, bold: true} }
func (g *gridSheet) section(v string) gridCell {
	return gridCell{value: v, style: g.st.section, bold: true}
}

// sectionRight heads a column of numbers; sectionCenter the checks' results.
func (g *gridSheet) sectionRight(v string) gridCell {
	return gridCell{value: v, style: g.st.sectionRight, bold: true}
}
func (g *gridSheet) sectionCenter(v string) gridCell {
	return gridCell{value: v, style: g.st.sectionCenter, bold: true}
}
func (g *gridSheet) label(v string) gridCell {
	return gridCell{value: v, style: g.st.label, bold: true}
}

// amount is a number shown as kind (kindUSD, kindSubCent, kindRate,
// kindFX), from a formula when one is given.
func (g *gridSheet) amount(d decimal.Decimal, kind cellKind, formula string) gridCell {
	return gridCell{value: d.InexactFloat64(), formula: formula, style: g.st.column[kind], kind: kind}
}

// total is a bold amount or count with a rule above it.
func (g *gridSheet) total(value any, kind cellKind, formula string) gridCell {
	if d, ok := value.(decimal.Decimal); ok {
		value = d.InexactFloat64()
	}
	return gridCell{value: value, formula: formula, style: g.st.total[kind], kind: kind, bold: true}
}

func (g *gridSheet) count(n int, formula string) gridCell {
	return gridCell{value: n, formula: formula, style: g.st.column[kindCount], kind: kindCount}
}

func (g *gridSheet) minor(d decimal.Decimal, places int32, formula string) gridCell {
	return gridCell{value: d.InexactFloat64(), formula: formula, style: g.st.minor[places], kind: kindMinor, places: int(places)}
}

// when is a date or a time, left-aligned like the text values beside it.
func (g *gridSheet) when(t *time.Time, kind cellKind) gridCell {
	if t == nil || t.IsZero() {
		return gridCell{}
	}
	return gridCell{value: excelTime(*t), style: g.st.left[kind], kind: kind}
}

// rate is a rate as a row's label, left-aligned.
func (g *gridSheet) rate(d decimal.Decimal) gridCell {
	return gridCell{value: d.InexactFloat64(), style: g.st.left[kindRate], kind: kindRate}
}

// result is a check's PASS or FAIL: a formula when the check compares the
// sheets with payrun's figure, its cached value what payrun found.
func (g *gridSheet) result(pass bool, formula string) gridCell {
	value := "FAIL"
	if pass {
		value = "PASS"
	}
	return gridCell{value: value, formula: formula, style: g.st.result, bold: true}
}

// units is how wide c shows.
func (c gridCell) units(st *styles) float64 {
	switch v := c.value.(type) {
	case string:
		if c.style == st.sectionRight {
			return textUnits(v, c.bold) + headerIndent
		}
		return textUnits(v, c.bold)
	case float64:
		return textUnits(numberText(v, c.kind, c.places), true) + numberPad // digits are as wide bold
	case int:
		return textUnits(numberText(float64(v), kindCount, 0), true) + numberPad
	case int64:
		return textUnits(numberText(float64(v), kindCount, 0), true) + numberPad
	case time.Time:
		return textUnits(numberText(0, c.kind, 0), true)
	}
	return 0
}

// write measures the columns, streams the rows and sets the print setup.
func (g *gridSheet) write() error {
	columns := 0
	for _, row := range g.rows {
		columns = max(columns, len(row))
	}
	widths := make([]float64, columns)
	for _, row := range g.rows {
		for i, c := range row {
			if c.spill || c.value == nil {
				continue
			}
			widths[i] = max(widths[i], widthFor(c.units(g.st)))
		}
	}
	for i := range widths {
		if limit, ok := g.wrapAt[i]; ok {
			widths[i] = min(widths[i], limit)
		}
		widths[i] = max(widths[i], minWidth)
	}
	if err := printSetup(g.f, g.name, g.st.document); err != nil {
		return fmt.Errorf("reports: sheet %q print setup: %w", g.name, err)
	}
	writer, err := g.f.NewStreamWriter(g.name)
	if err != nil {
		return fmt.Errorf("reports: sheet %q: %w", g.name, err)
	}
	for i, w := range widths {
		if err := writer.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	lastCol := 1
	for r, row := range g.rows {
		if len(row) == 0 {
			continue
		}
		values := make([]any, len(row))
		for i, c := range row {
			style := c.style
			if _, wraps := g.wrapAt[i]; wraps && style == 0 {
				if _, isText := c.value.(string); isText {
					style = g.st.wrap
				}
			}
			if text, isText := c.value.(string); isText && text == "" {
				c.value = nil // an empty cell, not an empty text
			} else if isText {
				if err := checkCellText(cellRef(i, r+1), text); err != nil {
					return fmt.Errorf("reports: sheet %q: %w", g.name, err)
				}
			}
			if c.value == nil && style == 0 {
				continue
			}
			values[i] = excelize.Cell{StyleID: style, Formula: c.formula, Value: c.value}
			lastCol = max(lastCol, i+1)
		}
		var opts []excelize.RowOpts
		if o, ok := g.style[r+1]; ok {
			opts = append(opts, o)
		} else if lines := g.lines(r, widths); lines > 1 {
			// LibreOffice does not fit the height of a row it reads.
			opts = append(opts, excelize.RowOpts{Height: textHeight(lines)})
		}
		if err := writer.SetRow(cellRef(0, r+1), values, opts...); err != nil {
			return err
		}
	}
	for _, ref := range runs(g.results) {
		if err := g.f.SetConditionalFormat(g.name, ref, []excelize.ConditionalFormatOptions{
			{Type: "cell", Criteria: "==", Format: &g.st.failFormat, Value: `"FAIL"`},
			{Type: "cell", Criteria: "==", Format: &g.st.passFormat, Value: `"PASS"`},
		}); err != nil {
			return fmt.Errorf("reports: sheet %q: %w", g.name, err)
		}
	}
	for _, row := range g.pageBreaks(widths) {
		if err := writer.InsertPageBreak(cellRef(0, row)); err != nil {
			return err
		}
	}
	last := cellRef(max(lastCol, len(widths))-1, max(len(g.rows), 1))
	if err := printRanges(g.f, g.name, last, false); err != nil {
		return err
	}
	if err := writer.Flush(); err != nil {
		return fmt.Errorf("reports: sheet %q: %w", g.name, err)
	}
	g.st.heads[worksheetPart(writer.SheetID)] = sheetHead{usedRange: "A1:" + last}
	return nil
}

// runs joins cells into ranges of consecutive rows of one column: "B49:B64".
func runs(cells [][2]int) []string {
	var out []string
	for i := 0; i < len(cells); {
		j := i
		for j+1 < len(cells) && cells[j+1][0] == cells[i][0] && cells[j+1][1] == cells[j][1]+1 {
			j++
		}
		ref := cellRef(cells[i][0], cells[i][1])
		if j > i {
			ref += ":" + cellRef(cells[j][0], cells[j][1])
		}
		out = append(out, ref)
		i = j + 1
	}
	return out
}

// Page geometry of printSetup, in points: landscape US Letter less the
// margins, and the height of a row of Calibri 11.
const (
	printableWidth  = (11 - 2*0.4) * 72
	printableHeight = (8.5 - 0.5 - 0.6) * 72
	rowHeight       = 15
	// pointsPerUnit: a column width unit is the width of "0" in Calibri 11,
	// 7 pixels at 96 dpi.
	pointsPerUnit = 7 * 0.75
)

// pageBreaks keeps each block of rows (rows between blank rows) on one
// printed page where it can: it estimates the page's scale from the widths
// (fit to one page wide) and its height in rows (wrapped text counted line
// by line), and breaks before a block that would not fit on what is left
// of the page. It returns the rows that start a page.
func (g *gridSheet) pageBreaks(widths []float64) []int {
	total := 0.0
	for _, w := range widths {
		total += w
	}
	scale := min(1, printableWidth/(total*pointsPerUnit))
	capacity := printableHeight / scale * 0.95 // a little to spare
	height := func(r int) float64 {
		if o, ok := g.style[r+1]; ok && o.Height > 0 {
			return o.Height
		}
		return textHeight(g.lines(r, widths))
	}
	var breaks []int
	used := 0.0
	for start := 0; start < len(g.rows); {
		end := start + 1 // the block: up to the next blank row, that included
		for end < len(g.rows) && len(g.rows[end-1]) != 0 {
			end++
		}
		block := 0.0
		for r := start; r < end; r++ {
			block += height(r)
		}
		if used > 0 && used+block > capacity && block <= capacity {
			breaks = append(breaks, start+1)
			used = 0
		}
		used += block
		for used > capacity { // a block longer than a page: the printer breaks it
			used -= capacity
		}
		start = end
	}
	return breaks
}

// lines is how many lines row r (0-based) takes: its wrapping cells'.
func (g *gridSheet) lines(r int, widths []float64) int {
	lines := 1
	for i, c := range g.rows[r] {
		if text, ok := c.value.(string); ok && i < len(widths) && !c.spill {
			if _, wraps := g.wrapAt[i]; wraps {
				lines = max(lines, wrapLines(text, widths[i], c.bold))
			}
		}
	}
	return lines
}
