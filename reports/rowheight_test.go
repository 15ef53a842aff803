package reports

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/internal/fielderr"
)

// Issue 23: a PayPal payment sent as hundreds of items made its Exceptions
// row (one wrapped line per line of its item list) taller than Excel's 409
// points, excelize refused the row, and the release wrote no workbook.

// payPalItemsDetail is an ExceptionPayPalItems Detail as payout/cyclereport
// writes it: the payment, then every item with its amount.
func payPalItemsDetail(paymentID string, items int) (string, decimal.Decimal) {
	amount := d("20000.00").Mul(decimal.NewFromInt(int64(items - 1))).Add(d("1234.56"))
	list := make([]string, items)
	for i := range list {
		item := "20000.00"
		if i == items-1 {
			item = "1234.56"
		}
		list[i] = fmt.Sprintf("%s-%d %s USD", paymentID, i+1, item)
	}
	return fmt.Sprintf("%s USD sent as %d PayPal items (PayPal's per-item maximum) in paypal-2026-11-1.json: %s",
		amount.StringFixed(2), items, strings.Join(list, ", ")), amount
}

// exceptionRow is one Exceptions row as read back.
type exceptionRow struct {
	row                                   int
	kind, seller, reference, detail, amnt string
	height                                float64
}

// readExceptions reads the Exceptions sheet's data rows back with excelize
// (the totals row left out), with each row's height.
func readExceptions(t *testing.T, f *excelize.File) []exceptionRow {
	t.Helper()
	rows, err := f.GetRows(SheetExceptions, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	require.Equal(t, []string{"Kind", "Seller ID", "Reference", "Detail", "Amount (USD)"}, rows[0])
	var out []exceptionRow
	for i, cells := range rows[1:] {
		if len(cells) == 0 || strings.HasPrefix(cells[0], "Total") {
			continue
		}
		cells = append(cells, make([]string, 5)...)
		height, err := f.GetRowHeight(SheetExceptions, i+2)
		require.NoError(t, err)
		out = append(out, exceptionRow{row: i + 2, kind: cells[0], seller: cells[1], reference: cells[2],
			detail: cells[3], amnt: cells[4], height: height})
	}
	return out
}

// requireRowsFitExcel checks every row of every sheet of the workbook at
// path is at most ExcelMaxRowHeight tall and every text at most
// ExcelMaxCellChars long.
func requireRowsFitExcel(t *testing.T, f *excelize.File) {
	t.Helper()
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		require.NoError(t, err)
		for r, cells := range rows {
			height, err := f.GetRowHeight(sheet, r+1)
			require.NoError(t, err)
			require.LessOrEqual(t, height, float64(ExcelMaxRowHeight), "%s row %d", sheet, r+1)
			for c, text := range cells {
				require.LessOrEqual(t, utf16Units(text), ExcelMaxCellChars, "%s row %d column %d", sheet, r+1, c+1)
			}
		}
	}
}

// TestExceptionsRowOfAPayPalPaymentOfManyItemsFitsExcelsRowHeight: the
// workbook is written, no row is taller than Excel allows, and the item
// list is whole: its rows' Details, in order, are the Detail, every row
// tall enough for its lines. 500 items need about 300 lines; 15,000 (the
// most one PayPal request carries, so the most one payment can be split
// into) are over 500,000 characters, 15 times what one cell holds.
func TestExceptionsRowOfAPayPalPaymentOfManyItemsFitsExcelsRowHeight(t *testing.T) {
	for _, items := range []int{500, 15_000} {
		t.Run(fmt.Sprint(items), func(t *testing.T) {
			const paymentID = "P20261100000003"
			detail, amount := payPalItemsDetail(paymentID, items)
			width := exceptionColumns[exceptionDetail].maxTextWidth()
			require.Greater(t, rowHeight*wrapLines(detail, width, false), ExcelMaxRowHeight, "the case of issue 23")

			fixture := newCycleFixture()
			// A return whose detail is long too: its continuation rows must
			// not count as returns on the Summary.
			recredited := &fixture.exceptions[0]
			recredited.Detail = strings.Repeat("ACH return R03: no account/unable to locate account, addenda repeated. ", 60)
			fixture.exceptions = append(fixture.exceptions, ExceptionRow{Kind: ExceptionPayPalItems, SellerID: "S-1003",
				Reference: paymentID, Detail: detail, Amount: amount})
			path := writeFixture(t, fixture)

			f, err := excelize.OpenFile(path)
			require.NoError(t, err)
			defer func() { _ = f.Close() }()
			requireRowsFitExcel(t, f)
			columnWidth, err := f.GetColWidth(SheetExceptions, "D")
			require.NoError(t, err)
			require.Equal(t, width, columnWidth)

			byReference := map[string][]exceptionRow{}
			for _, r := range readExceptions(t, f) {
				byReference[r.reference] = append(byReference[r.reference], r)
			}
			for _, want := range fixture.exceptions {
				rows := byReference[want.Reference]
				require.NotEmpty(t, rows, want.Reference)
				var got strings.Builder
				for i, r := range rows {
					kind := want.Kind
					if i > 0 {
						kind += ExceptionContinued
						require.Empty(t, r.amnt, "row %d: the amount is on the first row only", r.row)
					}
					require.Equal(t, kind, r.kind, "row %d", r.row)
					require.Equal(t, want.SellerID, r.seller, "row %d", r.row)
					require.NotEmpty(t, r.detail, "row %d", r.row)
					// Every line of the row's text shows: the row is as tall
					// as its lines.
					lines := wrapLines(r.detail, columnWidth, false)
					require.LessOrEqual(t, lines, maxRowLines, "row %d", r.row)
					if lines > 1 {
						require.Equal(t, float64(rowHeight*lines), r.height, "row %d", r.row)
					}
					got.WriteString(r.detail)
				}
				require.Equal(t, want.Detail, got.String(), "%s: the Detail, whole and in order", want.Reference)
				if !want.Amount.IsZero() {
					first, err := decimal.NewFromString(rows[0].amnt)
					require.NoError(t, err)
					require.True(t, want.Amount.Equal(first), "%s: amount %s", want.Reference, rows[0].amnt)
				}
			}
			payment := byReference[paymentID]
			require.Greater(t, len(payment), 1, "the item list continues below")
			for i, r := range payment[1:] {
				// No item is split between rows: each row after the first
				// starts with an item's id, each before it ends with one.
				require.True(t, strings.HasPrefix(r.detail, paymentID+"-"), "row %d: %.40q", r.row, r.detail)
				require.True(t, strings.HasSuffix(payment[i].detail, " USD, "), "row %d", payment[i].row)
			}
			t.Logf("%d items, %d characters: %d rows", items, len(detail), len(payment))

			// The Summary's figures by kind, recalculated, are still
			// payrun's: one return recredited, 150.00.
			summary, err := f.GetRows(SheetSummary, excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			for r, cells := range summary {
				if len(cells) == 0 || cells[0] != labelReturned {
					continue
				}
				for col, want := range map[string]string{"B": "1", "C": "150"} {
					cell := fmt.Sprintf("%s%d", col, r+1)
					formula, err := f.GetCellFormula(SheetSummary, cell)
					require.NoError(t, err)
					require.Contains(t, formula, "Exceptions")
					got, err := f.CalcCellValue(SheetSummary, cell, excelize.Options{RawCellValue: true})
					require.NoError(t, err)
					require.Equal(t, want, got, "%s: %s", cell, formula)
				}
			}
		})
	}
}

// TestLongTextElsewhereIsCappedAtExcelsRowHeight: outside the Exceptions'
// Detail a text too long for a 409-point row stays whole in its cell (the
// formula bar and a copy see it all) in a row 409 points tall, on a
// streamed sheet (Held and carried) and on a grid sheet (Summary).
func TestLongTextElsewhereIsCappedAtExcelsRowHeight(t *testing.T) {
	fixture := newCycleFixture()
	long := strings.Repeat("Ask the publisher to submit a new W-8BEN-E with a valid foreign TIN. ", 80)
	fixture.unpaid[0].Unblock = long
	fixture.summary.Checks[0].Detail = long
	f, err := excelize.OpenFile(writeFixture(t, fixture))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	requireRowsFitExcel(t, f)
	for _, sheet := range []string{SheetUnpaid, SheetSummary} {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		require.NoError(t, err)
		found := false
		for r, cells := range rows {
			for _, text := range cells {
				if text != long {
					continue
				}
				found = true
				height, err := f.GetRowHeight(sheet, r+1)
				require.NoError(t, err)
				require.Equal(t, float64(ExcelMaxRowHeight), height, "%s row %d", sheet, r+1)
			}
		}
		require.True(t, found, "%s holds the whole text", sheet)
	}
}

// TestTextLongerThanACellIsRefused: excelize would cut a text longer than
// ExcelMaxCellChars short without a word. Where it does not continue (every
// column but the Exceptions' Detail) the write fails naming the field, and
// nothing is written.
func TestTextLongerThanACellIsRefused(t *testing.T) {
	tooLong := strings.Repeat("Publisher ", ExcelMaxCellChars/10+1)
	requireTooLong := func(t *testing.T, err error, field string) {
		t.Helper()
		require.ErrorIs(t, err, ErrCellTooLong)
		var fieldErr *fielderr.Error
		require.True(t, errors.As(err, &fieldErr), "%v", err)
		require.Equal(t, field, fieldErr.Path)
		require.Equal(t, fielderr.TooLong, fieldErr.Code)
		require.Contains(t, err.Error(), fmt.Sprintf("%d characters, more than the 32767", utf16Units(tooLong)))
	}
	t.Run("payouts", func(t *testing.T) {
		fixture := newCycleFixture()
		fixture.payouts[1].DisplayName = tooLong
		dir := t.TempDir()
		err := WriteCycleWorkbook(filepath.Join(dir, CycleWorkbookName("2026-11", false)), fixture.summary, fixture.data())
		requireTooLong(t, err, "Publisher")
		require.ErrorContains(t, err, `sheet "Payouts" row 3`)
		requireEmptyDir(t, dir)
	})
	t.Run("summary", func(t *testing.T) {
		fixture := newCycleFixture()
		fixture.summary.Checks[0].Detail = tooLong
		dir := t.TempDir()
		err := WriteCycleWorkbook(filepath.Join(dir, CycleWorkbookName("2026-11", false)), fixture.summary, fixture.data())
		require.ErrorIs(t, err, ErrCellTooLong)
		require.ErrorContains(t, err, `sheet "Summary"`)
		requireEmptyDir(t, dir)
	})
	t.Run("table", func(t *testing.T) {
		table := Table{Sheet: "Payments", Document: "S-1 payments", Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			Columns: []TableColumn{{Header: "Payment ID"}, {Header: "Items", Prose: true}}}
		err := WriteTable(io.Discard, t.TempDir(), table, SliceRows([][]any{{"P1", "one item"}, {"P2", tooLong}}))
		requireTooLong(t, err, "Items")
	})
	// An emoji counts two, as Excel counts it: 16,384 of them are one unit
	// too many.
	emoji := strings.Repeat("💶", ExcelMaxCellChars/2+1)
	require.Equal(t, ExcelMaxCellChars+1, utf16Units(emoji))
	require.Error(t, checkCellText("x", emoji))
	require.NoError(t, checkCellText("x", emoji[:len(emoji)-len("💶")]))
}

func TestTextHeight(t *testing.T) {
	for lines, want := range map[int]float64{1: 15, 2: 30, 27: 405, 28: 409, 300: 409, 1 << 40: 409} {
		require.Equal(t, want, textHeight(lines), "%d lines", lines)
	}
	require.Equal(t, 27, maxRowLines)
}

// TestSplitText: the pieces, concatenated, are the text; each fits a row
// (lines) and a cell (characters); none is empty (but the one piece of an
// empty text); a piece ends after the white space following a word unless
// a single word (or run of white space) fills it; and each piece is as
// long as it can be, or ends a list's item and is as long as it can be in
// whole items.
func TestSplitText(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		word := rapid.OneOf(
			rapid.StringMatching(`[a-zA-Z0-9.,()'-]{1,12}`),
			rapid.StringMatching(`[0-9]{1,300}`), // longer than a line, or than a row
			rapid.SampledFrom([]string{"Müller", "日本語のテキスト", "💶💶", "§", "\u200b", "P20261100000003-12"}),
		)
		space := rapid.SampledFrom([]string{" ", " ", " ", "  ", "\n", "\t ", " \u00a0"})
		var b strings.Builder
		if rapid.Bool().Draw(t, "leading space") {
			b.WriteString(space.Draw(t, "lead"))
		}
		for i, n := 0, rapid.IntRange(0, 400).Draw(t, "words"); i < n; i++ {
			if i > 0 {
				b.WriteString(space.Draw(t, "space"))
			}
			b.WriteString(word.Draw(t, "word"))
		}
		if rapid.Bool().Draw(t, "trailing space") {
			b.WriteString(space.Draw(t, "trail"))
		}
		text := b.String()
		width := rapid.SampledFrom([]float64{0.5, 6, 12.5, 48, 64}).Draw(t, "width")
		maxLines := rapid.IntRange(1, 30).Draw(t, "lines")
		maxChars := rapid.IntRange(4, 400).Draw(t, "chars")

		pieces := splitText(text, width, maxLines, maxChars)
		require.Equal(t, text, strings.Join(pieces, ""))
		_, room := newLineFiller(width, false)
		cut := 0 // where the piece ends in text
		for i, piece := range pieces {
			if text != "" {
				require.NotEmpty(t, piece, "piece %d", i)
			}
			require.True(t, utf8.ValidString(piece), "piece %d cut inside a character", i)
			require.LessOrEqual(t, utf16Units(piece), maxChars, "piece %d", i)
			if room {
				require.LessOrEqual(t, wrapLines(piece, width, false), maxLines, "piece %d", i)
			}
			cut += len(piece)
			if i+1 < len(pieces) {
				// As long as it can be. Cut inside a segment (a word or a
				// run of white space longer than a piece): not one
				// character more fits. Cut between two segments: the next
				// one does not fit whole, or the piece ends a list's item
				// and does not fit with the words up to the next one's end.
				rest := text[cut:]
				fitsWith := func(more string) bool {
					longer := piece + more
					return utf16Units(longer) <= maxChars && (!room || wrapLines(longer, width, false) <= maxLines)
				}
				if strings.TrimRightFunc(piece, unicode.IsSpace) == piece || whiteSpaceLength(rest) > 0 {
					require.False(t, fitsWith(rest[:utf8.RuneLen([]rune(rest)[0])]), "piece %d: cut inside, could have taken more", i)
					continue
				}
				segment := func(from int) int { // where the segment at rest[from:] ends
					end := from + wordLength(rest[from:])
					return end + whiteSpaceLength(rest[end:])
				}
				if !fitsWith(rest[:segment(0)]) {
					continue
				}
				last := strings.TrimRightFunc(piece, unicode.IsSpace)
				require.True(t, strings.HasSuffix(last, ",") || strings.HasSuffix(last, ";"),
					"piece %d could have taken %q", i, rest[:segment(0)])
				item := 0 // the next list item's end in rest, or rest's end
				for item < len(rest) {
					end := item + wordLength(rest[item:])
					item = segment(item)
					if end > 0 && (rest[end-1] == ',' || rest[end-1] == ';') {
						break
					}
				}
				require.False(t, fitsWith(rest[:item]), "piece %d could have taken the next item %q", i, rest[:item])
			}
		}
		if len(text) <= maxChars && (!room || wrapLines(text, width, false) <= maxLines) {
			require.Equal(t, []string{text}, pieces, "a text that fits is one piece")
		}
	})
}
