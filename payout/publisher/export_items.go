package publisher

import (
	"io"
	"unicode/utf16"

	"github.com/payrun/payrun/reports"
)

// A payment's items in the workbook: one row shows at most
// reports.TableRowLines lines of its Items cell and a cell holds at most
// reports.ExcelMaxCellChars characters, while a PayPal payment above
// PayPal's per-item maximum goes out as up to 15,000 items (a batch's
// limit, paypal.BatchLimit; SPEC §6.2): about 560 rows of at most 27
// lines. See the package doc (Exports).

// paymentItems is the Items column's index in paymentColumns (and in a
// paymentCells row).
const paymentItems = 17

// itemsColumn is the Items column as the workbook lays it out.
var itemsColumn = tableColumns(paymentColumns)[paymentItems]

// writePaymentsTable streams the payments each gives into a payments
// workbook written to w (reports.WriteTable), spooled in spoolDir: a row per
// payment, continued in the rows below when its items do not fit one
// (paymentRows). It returns how many payments it wrote: a payment counts
// once, however many rows its items take, as in the CSV.
func writePaymentsTable(w io.Writer, spoolDir string, table reports.Table, each func(func(Payment) error) error) (int64, error) {
	var payments int64
	err := reports.WriteTable(w, spoolDir, table, func(yield func([]any) error) error {
		return each(func(p Payment) error {
			rows, err := paymentRows(p)
			if err != nil {
				return err
			}
			payments++
			for _, row := range rows {
				if err := yield(row); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return payments, err
}

// paymentRows is p's workbook rows: its paymentCells row, whose Items cell
// holds itemsText(p) whole when one row shows it (every payment but a PayPal
// payment of dozens of items: the same row as before continuation rows
// existed), otherwise the first of itemPieces; then a continuation row for
// each other piece, holding p's Payment ID, the piece in Items, and nothing
// else (no amount, date, status: every column but Payment ID and Items
// counts and sums the payment once).
func paymentRows(p Payment) ([][]any, error) {
	cells, err := paymentCells(p)
	if err != nil {
		return nil, err
	}
	if text, _ := cells[paymentItems].(string); fitsItemsRow(text) {
		return [][]any{cells}, nil
	}
	pieces := itemPieces(itemTexts(p))
	rows := make([][]any, len(pieces))
	cells[paymentItems] = pieces[0]
	rows[0] = cells
	for i, piece := range pieces[1:] {
		row := make([]any, len(paymentColumns))
		row[0], row[paymentItems] = p.PaymentID, piece
		rows[i+1] = row
	}
	return rows, nil
}

// fitsItemsRow: text fits one Items cell (at most reports.ExcelMaxCellChars
// UTF-16 units) and shows whole in one row (at most reports.TableRowLines
// lines, wrapped as the workbook wraps it).
func fitsItemsRow(text string) bool {
	return utf16Len(text) <= reports.ExcelMaxCellChars && itemsColumn.TextLines(text) <= reports.TableRowLines
}

// itemPieces cuts a payment's items (itemTexts) into the Items cells of its
// rows, in order: each piece holds as many whole items as fit one row
// (fitsItemsRow), each item followed by itemsSeparator but the last, so the
// pieces joined are itemsText exactly and each continuation starts with an
// item. A piece is cut only between items: an item that does not fit a row
// by itself (a return reason of hundreds of words; PayPal's reason is free
// text) is a piece of its own, shown as tall as a row can be and whole in
// its cell, and only an item longer than a cell holds is cut inside, between
// characters, into cells as full as they hold (cutCell). Never empty: no
// items make one empty piece.
func itemPieces(items []string) []string {
	var pieces []string
	piece := ""
	for i, item := range items {
		if i < len(items)-1 {
			item += itemsSeparator
		}
		if grown := piece + item; fitsItemsRow(grown) {
			piece = grown
			continue
		}
		if piece != "" {
			pieces = append(pieces, piece)
		}
		piece = item
		if fitsItemsRow(piece) {
			continue
		}
		// Alone and still too long for a row: its own piece (or pieces).
		pieces = append(pieces, cutCell(piece, reports.ExcelMaxCellChars)...)
		piece = ""
	}
	if piece != "" || len(pieces) == 0 {
		pieces = append(pieces, piece)
	}
	return pieces
}

// cutCell cuts text between characters into pieces of at most maxChars
// UTF-16 units (a character outside the Basic Multilingual Plane counts
// two, as Excel counts it; it is never cut in half), each as long as it
// can be; joined, they are text.
func cutCell(text string, maxChars int) []string {
	var pieces []string
	start, units := 0, 0
	for i, r := range text {
		n := utf16.RuneLen(r) // invalid UTF-8 comes as U+FFFD: 1
		if units+n > maxChars {
			pieces = append(pieces, text[start:i])
			start, units = i, 0
		}
		units += n
	}
	return append(pieces, text[start:])
}

// utf16Len is text's length as Excel counts a cell's characters: in UTF-16
// code units.
func utf16Len(text string) int {
	n := 0
	for _, r := range text {
		n += utf16.RuneLen(r)
	}
	return n
}
