package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Layout: column widths measured from what the cells show, and the print
// setup every sheet gets. See the package doc, "Layout and printing".

// charWidths are the advance widths of the printable ASCII characters
// (U+0020..U+007E) in Calibri 11, the workbooks' font, in units of the
// width of "0" — the unit of an xlsx column width. They were read from
// Carlito (Regular and Bold), which is metric-compatible with Calibri:
// same advances, so the numbers hold for Excel (Calibri) and LibreOffice
// (Carlito, installed by `make deps`) alike.
var charWidths = [2][95]float64{{ // regular
	0.446, 0.643, 0.791, 0.983, 1.0, 1.41, 1.346, 0.435, 0.598, 0.598, 0.983, 0.983, 0.492, 0.604, 0.498, 0.762,
	1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.528, 0.528, 0.983, 0.983, 0.983, 0.914,
	1.764, 1.142, 1.073, 1.052, 1.214, 0.963, 0.907, 1.245, 1.229, 0.497, 0.629, 1.025, 0.829, 1.687, 1.274, 1.306,
	1.019, 1.328, 1.071, 0.907, 0.961, 1.266, 1.119, 1.755, 1.024, 0.961, 0.924, 0.605, 0.762, 0.605, 0.983, 0.983,
	0.574, 0.945, 1.037, 0.834, 1.037, 0.982, 0.602, 0.929, 1.037, 0.453, 0.472, 0.897, 0.453, 1.576, 1.037, 1.04,
	1.037, 1.037, 0.688, 0.772, 0.661, 1.037, 0.891, 1.41, 0.855, 0.893, 0.779, 0.62, 0.908, 0.62, 0.983,
}, { // bold
	0.446, 0.643, 0.865, 0.983, 1.0, 1.438, 1.39, 0.461, 0.615, 0.615, 0.983, 0.983, 0.509, 0.604, 0.527, 0.848,
	1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.544, 0.544, 0.983, 0.983, 0.983, 0.914,
	1.773, 1.196, 1.106, 1.044, 1.244, 0.962, 0.906, 1.257, 1.245, 0.526, 0.653, 1.079, 0.834, 1.724, 1.3, 1.334,
	1.05, 1.354, 1.111, 0.933, 0.977, 1.288, 1.167, 1.788, 1.087, 1.025, 0.943, 0.641, 0.848, 0.641, 0.983, 0.983,
	0.592, 0.974, 1.059, 0.826, 1.059, 0.993, 0.624, 0.935, 1.059, 0.485, 0.504, 0.947, 0.485, 1.605, 1.059, 1.061,
	1.059, 1.059, 0.701, 0.787, 0.684, 1.059, 0.934, 1.47, 0.907, 0.934, 0.784, 0.678, 0.937, 0.678, 0.983,
}}

// Width rules, in units of the width of "0".
const (
	// cellPadding is the room a cell leaves around its text (Excel: 5 px of
	// 7 per unit) with a little to spare.
	cellPadding = 1.3
	// renderSlack covers renderers that lay text out a few percent wider
	// than the font's advances (hinting, LibreOffice's own metrics).
	renderSlack = 1.04
	// filterButton is the autofilter's drop-down button, which covers the
	// bottom right of every header cell.
	filterButton = 2.4
	// headerLines: header cells wrap onto at most this many lines; the
	// header row is that many lines high (15 points each).
	headerLines  = 3
	headerHeight = 15 * headerLines
	// defaultMaxWidth caps a text column; longer values wrap.
	defaultMaxWidth = 60
	// proseMaxWidth caps a prose column (reasons, hints, details,
	// addresses); longer values wrap.
	proseMaxWidth = 48
	// headerIndent is the indent of a right-aligned header (one level).
	headerIndent = 1.2
	// minWidth: no column narrower than this.
	minWidth = 6
)

// textUnits is how wide s is in bold or regular Calibri 11, in units of the
// width of "0". Characters outside ASCII count as a capital letter, East
// Asian wide ones as two digits.
func textUnits(s string, bold bool) float64 {
	table := &charWidths[0]
	if bold {
		table = &charWidths[1]
	}
	units := 0.0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b < 0x7f {
				units += table[b-0x20]
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case isWide(r):
			units += 2
		case r == '×' || r == '≤' || r == '≥' || r == '≠' || r == '−':
			units += 0.983 // like + and =
		case r == '…':
			units += 1.4
		case r == '§':
			units += 0.95
		default:
			units += 1.2
		}
	}
	return units
}

// isWide: East Asian wide and full-width characters.
func isWide(r rune) bool {
	return (r >= 0x1100 && r <= 0x115f) || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) ||
		(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) ||
		(r >= 0xffe0 && r <= 0xffe6) || (r >= 0x20000 && r <= 0x3fffd)
}

// widthFor is the column width that shows text of units without clipping
// (and a number without ###).
func widthFor(units float64) float64 {
	return math.Ceil((units*renderSlack+cellPadding)*4) / 4
}

// headerUnits is the room a header cell needs: bold, wrapped at spaces
// onto at most headerLines lines. The autofilter's button sits at the
// bottom right of the cell: when the header takes every line, the last one
// leaves room for it.
func headerUnits(header string, filter bool) float64 {
	words := strings.Fields(header)
	if len(words) == 0 {
		return 0
	}
	widths := make([]float64, len(words))
	for i, w := range words {
		widths[i] = textUnits(w, true)
	}
	space := textUnits(" ", true)
	line := func(from, to int) float64 { // words[from:to] on one line
		u := 0.0
		for i := from; i < to; i++ {
			u += widths[i]
			if i > from {
				u += space
			}
		}
		return u
	}
	// best is the narrowest width that sets the words on exactly lines
	// lines.
	best := func(lines int) float64 {
		if lines > len(words) {
			return math.Inf(1)
		}
		var split func(from, left int) float64
		split = func(from, left int) float64 {
			if left == 1 {
				u := line(from, len(words))
				if filter && lines == headerLines {
					u += filterButton
				}
				return u
			}
			narrowest := math.Inf(1)
			for to := from + 1; to <= len(words)-left+1; to++ {
				narrowest = min(narrowest, max(line(from, to), split(to, left-1)))
			}
			return narrowest
		}
		return split(0, lines)
	}
	narrowest := math.Inf(1)
	for lines := 1; lines <= headerLines; lines++ {
		narrowest = min(narrowest, best(lines))
	}
	return narrowest
}

// numberText is how Excel shows v in a column of kind: the text whose width
// the column must hold. places is the decimals of kindMinor.
func numberText(v float64, kind cellKind, places int) string {
	negative := v < 0
	v = math.Abs(v)
	var text string
	switch kind {
	case kindRate:
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	case kindFX:
		text = strconv.FormatFloat(v, 'f', 6, 64)
	case kindCount:
		text = groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case kindSubCent:
		text = groupThousands(strconv.FormatFloat(v, 'f', 6, 64))
	case kindMinor:
		text = groupThousands(strconv.FormatFloat(v, 'f', places, 64))
	case kindTime:
		return "2006-01-02 15:04:05"
	case kindDate:
		return "2006-01-02"
	case kindText: // a number in a text column (the tax year): General
		text = strconv.FormatFloat(v, 'f', -1, 64)
	default: // kindUSD
		text = groupThousands(strconv.FormatFloat(v, 'f', 2, 64))
	}
	if negative {
		text = "-" + text
	}
	return text
}

// groupThousands puts a comma between every three digits of the integer
// part of a plain decimal text ("1234567.5" → "1,234,567.5").
func groupThousands(text string) string {
	integer, fraction, _ := strings.Cut(text, ".")
	if len(integer) <= 3 {
		return text
	}
	var b strings.Builder
	for i, c := range integer {
		if i > 0 && (len(integer)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if fraction != "" {
		b.WriteByte('.')
		b.WriteString(fraction)
	}
	return b.String()
}

// meter measures one column while its rows stream: the widest text, and for
// numbers the largest magnitude (formatted once, at the end). It costs a
// comparison or two per cell and holds nothing.
type meter struct {
	text     float64 // widest text, in units
	bold     float64 // widest bold text (totals row)
	maxAbs   float64 // largest magnitude of a number
	negative bool
	places   int // kindMinor: the most decimals seen
	numbers  bool
}

// addText measures s and returns its width.
func (m *meter) addText(s string) float64 {
	u := textUnits(s, false)
	if u > m.text {
		m.text = u
	}
	return u
}

func (m *meter) addNumber(v float64) {
	m.numbers = true
	if v < 0 {
		m.negative = true
		v = -v
	}
	if v > m.maxAbs {
		m.maxAbs = v
	}
}

func (m *meter) addMinor(v float64, places int) {
	m.addNumber(v)
	m.places = max(m.places, places)
}

// units is the widest value the column showed, numbers formatted as kind.
func (m *meter) units(kind cellKind) float64 {
	units := max(m.text, m.bold)
	if m.numbers {
		v := m.maxAbs
		if m.negative {
			v = -v
		}
		// A total is shown bold; digits are as wide bold as regular, the
		// separators slightly wider: measure bold, to be safe.
		units = max(units, textUnits(numberText(v, kind, m.places), true)+numberPad)
	}
	if kind == kindTime || kind == kindDate {
		units = max(units, textUnits(numberText(0, kind, 0), true))
	}
	return units
}

// maxTextWidth is the width a text column never exceeds (its values wrap
// beyond it); 0 for other kinds.
func (c column) maxTextWidth() float64 {
	switch {
	case c.kind != kindText:
		return 0
	case c.maxWidth > 0:
		return c.maxWidth
	case c.prose:
		return proseMaxWidth
	}
	return defaultMaxWidth
}

// wrapLines is how many lines text takes in a column width wide, wrapped
// at spaces (a word wider than the column is broken, as LibreOffice and
// Excel break it).
func wrapLines(text string, width float64, bold bool) int {
	filler, ok := newLineFiller(width, bold)
	if !ok {
		return 1
	}
	for _, word := range strings.Fields(text) {
		filler.add(textUnits(word, bold))
	}
	return filler.lines
}

// lineFiller sets words one after the other on the lines of a column, as
// wrapLines counts them: splitText uses the same steps, so that what it cuts
// is what wrapLines measures.
type lineFiller struct {
	room, space float64 // a line's room and a space's width, in units
	lines       int
	used        float64 // of the last line
}

// newLineFiller is an empty cell of a column width wide; ok is false when
// the column leaves no room for text (every text then counts one line).
func newLineFiller(width float64, bold bool) (filler lineFiller, ok bool) {
	room := (width - cellPadding) / renderSlack
	return lineFiller{room: room, space: textUnits(" ", bold), lines: 1}, room > 0
}

// add sets the next word, w units wide.
func (f *lineFiller) add(w float64) {
	switch {
	case f.used > 0 && f.used+f.space+w <= f.room:
		f.used += f.space + w
	case f.used == 0 && w <= f.room:
		f.used = w
	default:
		if f.used > 0 {
			f.lines++
		}
		for w > f.room { // broken across lines
			f.lines++
			w -= f.room
		}
		f.used = w
	}
}

// maxRowLines is how many lines of text the tallest row Excel allows shows
// (27 of 15 points in 409 points).
const maxRowLines = ExcelMaxRowHeight / rowHeight

// textHeight is the height of a row whose text takes lines lines: 15
// points a line, at most ExcelMaxRowHeight (excelize refuses a taller row,
// and so does Excel).
func textHeight(lines int) float64 {
	return min(float64(rowHeight)*float64(lines), ExcelMaxRowHeight)
}

// utf16Units is how long text is as Excel counts a cell's characters: in
// UTF-16 code units (a character outside the Basic Multilingual Plane, an
// emoji, counts two).
func utf16Units(text string) int {
	n := 0
	for _, r := range text {
		n += utf16.RuneLen(r) // invalid UTF-8 comes as U+FFFD: 1
	}
	return n
}

// fitsCell: text fits one cell (at most maxChars UTF-16 units). A UTF-16
// unit takes at least one byte of UTF-8, so a short text is not counted.
func fitsCell(text string, maxChars int) bool {
	return len(text) <= maxChars || utf16Units(text) <= maxChars
}

// splitText cuts text into pieces that each wrap onto at most maxLines
// lines in a column width wide (as wrapLines counts them) and hold at most
// maxChars UTF-16 units; the pieces, concatenated in order, are text, and
// none is empty. A text that fits (the empty text too) is its own one
// piece. A piece ends after the white space that follows a word, so the
// next one starts with a word: after the last word that ends a list's item
// (a word ending in "," or ";") if that keeps the piece at least half as
// long as it could be, otherwise after the last word that fits. Only a
// word (or a run of white space) too long for a whole piece is cut inside,
// between characters. A segment is read only as far as a piece
// can reach (3 × maxChars bytes), so a text without spaces costs no more
// than one with.
func splitText(text string, width float64, maxLines, maxChars int) []string {
	if fitsCell(text, maxChars) && wrapLines(text, width, false) <= maxLines {
		return []string{text}
	}
	first, ok := newLineFiller(width, false)
	var pieces []string
	start, end := 0, 0 // the piece being filled: text[start:end]
	filler, chars := first, 0
	// listBreak is where the piece would end after its last word that
	// ends a list's item ("20000.00 USD," or "...;"), 0 if none.
	listBreak := 0
	for end < len(text) {
		// The next segment: white space (only at the start of text or of a
		// piece cut inside white space), a word, the white space after it.
		// It is looked for only as far as a piece can reach: maxChars UTF-16
		// units are at most 3 × maxChars bytes of UTF-8.
		window := text[end:min(len(text), end+3*maxChars+1)]
		wordStart := whiteSpaceLength(window)
		wordEnd := wordStart + wordLength(window[wordStart:])
		next := wordEnd + whiteSpaceLength(window[wordEnd:])
		if next < len(window) || end+len(window) == len(text) { // the whole segment
			grown := filler
			if ok && wordEnd > wordStart {
				grown.add(textUnits(window[wordStart:wordEnd], false))
			}
			segmentChars := utf16Units(window[:next])
			if (!ok || grown.lines <= maxLines) && chars+segmentChars <= maxChars {
				filler, chars, end = grown, chars+segmentChars, end+next
				if wordEnd > wordStart && (window[wordEnd-1] == ',' || window[wordEnd-1] == ';') {
					listBreak = end
				}
				continue
			}
		}
		switch {
		case end == start:
			// The segment alone does not fit a piece: cut it inside, as
			// late as it fits (its first character always does).
			end += longestFit(text[end:], first, ok, maxLines, maxChars)
		case listBreak > start && listBreak-start >= (end-start)/2:
			// Rather after a list's item than inside the next one, if the
			// piece stays at least half as long: the words after it start
			// the next piece.
			end = listBreak
		}
		pieces = append(pieces, text[start:end])
		start, filler, chars, listBreak = end, first, 0, 0
	}
	if end > start {
		pieces = append(pieces, text[start:end])
	}
	return pieces
}

// longestFit is the length of the longest prefix of text's first segment
// (white space, a word, white space), cut between characters, that fits an
// empty piece: at most maxLines lines as wrapLines counts them (filler: the
// empty cell; ok: it has room) and maxChars UTF-16 units; at least its
// first character. The word's width is added up character by character in
// textUnits' order, so it is the width wrapLines measures.
func longestFit(text string, filler lineFiller, ok bool, maxLines, maxChars int) int {
	best, chars, units, lines := 0, 0, 0.0, 1
	seenWord, wordDone := false, false
	for i, size := 0, 0; i < len(text); i += size {
		var r rune
		r, size = utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			wordDone = seenWord
		} else {
			if wordDone {
				break // the next segment
			}
			seenWord = true
			units += textUnits(text[i:i+size], false)
			if ok {
				word := filler
				word.add(units)
				lines = word.lines
			}
		}
		chars += utf16.RuneLen(r)
		if chars > maxChars || (ok && lines > maxLines) {
			break
		}
		best = i + size
	}
	if best == 0 && len(text) > 0 {
		_, best = utf8.DecodeRuneInString(text)
	}
	return best
}

// whiteSpaceLength is the length of text's leading white space, as
// strings.Fields sees it; wordLength of its leading word.
func whiteSpaceLength(text string) int {
	for i, r := range text {
		if !unicode.IsSpace(r) {
			return i
		}
	}
	return len(text)
}

func wordLength(text string) int {
	for i, r := range text {
		if unicode.IsSpace(r) {
			return i
		}
	}
	return len(text)
}

// width is the column's width: what its header and values need, at most
// its cap (longer text wraps).
func (c column) width(m *meter, filter bool) float64 {
	headerNeeds := headerUnits(c.header, filter)
	if c.kind != kindText {
		headerNeeds += headerIndent // right-aligned, indented (styles.headerRight)
	}
	header := widthFor(headerNeeds)
	values := widthFor(m.units(c.kind))
	if limit := c.maxTextWidth(); limit > 0 {
		values = min(values, limit)
	}
	return max(minWidth, header, values)
}

// colsXML is the <cols> element of a sheet with these widths and column
// styles (0: none).
func colsXML(widths []float64, styles []int) string {
	var b strings.Builder
	b.WriteString("<cols>")
	for i, w := range widths {
		fmt.Fprintf(&b, `<col min="%d" max="%d" width="%s" customWidth="1"`, i+1, i+1, strconv.FormatFloat(w, 'f', -1, 64))
		if styles[i] != 0 {
			fmt.Fprintf(&b, ` style="%d"`, styles[i])
		}
		b.WriteString("/>")
	}
	b.WriteString("</cols>")
	return b.String()
}

// Print setup (the same on every sheet): landscape US Letter, as many pages
// down as needed but one page wide, narrow margins, and a footer naming the
// document, the sheet and "Page N of M". Tables repeat their header row on
// every page; the print area is the used range.
const (
	paperLetter = 1 // ECMA-376 ST_PaperSize: US Letter 8.5 × 11 in
)

// printSetup sets sheet's page setup; call it before the sheet's
// StreamWriter is created (the fit-to-page flag lives in <sheetPr>, which
// the StreamWriter writes first).
func printSetup(f *excelize.File, sheet, document string) error {
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	size, orientation, wide, tall := paperLetter, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &size, Orientation: &orientation,
		FitToWidth: &wide, FitToHeight: &tall}); err != nil {
		return err
	}
	side, top, bottom, header, footer := 0.4, 0.5, 0.6, 0.25, 0.25
	centered := true
	if err := f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &top, Bottom: &bottom,
		Header: &header, Footer: &footer, Horizontally: &centered}); err != nil {
		return err
	}
	return f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: footerText(document)})
}

// maxFooterDocument bounds the document's name in the footer (a footer holds
// at most 255 characters).
const maxFooterDocument = 120

// footerText is the footer: the document left, the sheet's name centred
// (&A), "Page N of M" right, in 8 points. An ampersand in the document's
// name is doubled ("&&"), so it is shown rather than read as a code.
func footerText(document string) string {
	if r := []rune(document); len(r) > maxFooterDocument {
		document = string(r[:maxFooterDocument-1]) + "…"
	}
	document = strings.ReplaceAll(document, "&", "&&")
	return "&L&8" + document + "&C&8&A&R&8Page &P of &N"
}

// printRanges names the sheet's print area (its used range) and, for a
// table, its header row as the rows repeated on every printed page.
func printRanges(f *excelize.File, sheet, lastCell string, titleRow bool) error {
	quoted := quoteSheet(sheet)
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area", RefersTo: quoted + "!$A$1:" + absolute(lastCell),
		Scope: sheet}); err != nil {
		return fmt.Errorf("reports: sheet %q print area: %w", sheet, err)
	}
	if titleRow {
		if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: quoted + "!$1:$1",
			Scope: sheet}); err != nil {
			return fmt.Errorf("reports: sheet %q print titles: %w", sheet, err)
		}
	}
	return nil
}

// quoteSheet is a sheet name as a formula writes it: 'Held and carried'.
func quoteSheet(sheet string) string {
	return "'" + strings.ReplaceAll(sheet, "'", "''") + "'"
}

// absolute turns "Q42" into "$Q$42".
func absolute(cell string) string {
	i := strings.IndexAny(cell, "0123456789")
	if i <= 0 {
		return cell
	}
	return "$" + cell[:i] + "$" + cell[i:]
}
