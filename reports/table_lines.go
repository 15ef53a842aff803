package reports

// TableRowLines is the most lines of text a row shows: 15 points a line in
// the tallest row Excel allows (ExcelMaxRowHeight). A Table row whose text
// wraps onto more lines is that tall and no taller: its text stays whole in
// the cell but cannot all be seen. A caller that continues a long text in
// the rows below (payout/publisher's payments export) measures its pieces
// with TableColumn.TextLines.
const TableRowLines = maxRowLines

// TextLines is how many lines text wraps onto in column c of a Table: at the
// column's cap (a text column's, a prose column's narrower one), as
// WriteTable counts them to set the row's height. A text no wider than the
// cap, and any value of a column that is not text, is one line.
func (c TableColumn) TextLines(text string) int {
	if c.Kind < 0 || int(c.Kind) >= len(columnKinds) {
		return 1
	}
	limit := column{header: c.Header, kind: columnKinds[c.Kind], prose: c.Prose}.maxTextWidth()
	if limit <= 0 || widthFor(textUnits(text, false)) <= limit {
		return 1
	}
	return wrapLines(text, limit, false)
}
