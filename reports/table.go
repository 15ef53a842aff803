package reports

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// A Table is a plain list streamed to one worksheet: a header row, then one
// row per record, with the workbooks' header style, number formats,
// measured widths, frozen header, autofilter and print setup, and no title
// or totals row — the shape of an export that a person filters or a
// program reads (payout/publisher's exports). Parts beyond MaxSheetRows
// continue in "Sheet (2)", ... like every streamed sheet.
type Table struct {
	// Sheet names the worksheet (at most 31 characters).
	Sheet string
	// Document names the workbook in its properties and page footers.
	Document string
	// Created is the document's creation time: given, so the same rows
	// give the same bytes.
	Created time.Time
	Columns []TableColumn
}

// TableColumn is one column of a Table.
type TableColumn struct {
	Header string
	Kind   ColumnKind
	// Prose: free text whose width is capped lower and which wraps.
	Prose bool
}

// ColumnKind says how a Table column's values are shown.
type ColumnKind int

// Column kinds, and the values a row holds for each (nil or "" is an empty
// cell in every kind):
const (
	TextColumn    ColumnKind = iota // string; bool shows TRUE/FALSE
	USDColumn                       // decimal.Decimal, shown to the cent, the cell holding the exact value
	SubCentColumn                   // decimal.Decimal, shown to the micro-dollar
	RateColumn                      // decimal.Decimal fraction, 0.30 shown as 30.00%
	FXColumn                        // decimal.Decimal exchange rate, 6 decimals
	CountColumn                     // int
	TimeColumn                      // time.Time (zero: empty), shown in UTC
	DateColumn                      // time.Time (zero: empty), the date
	MinorColumn                     // MinorAmount: an amount in a payout currency
)

var columnKinds = [...]cellKind{
	TextColumn: kindText, USDColumn: kindUSD, SubCentColumn: kindSubCent, RateColumn: kindRate, FXColumn: kindFX,
	CountColumn: kindCount, TimeColumn: kindTime, DateColumn: kindDate, MinorColumn: kindMinor,
}

// MinorAmount is a MinorColumn value: amount shown with places decimals
// (the currency's minor unit, 0..3).
func MinorAmount(amount decimal.Decimal, places int32) any {
	return minorAmount{amount: amount, places: places}
}

// WriteTable streams rows into a workbook written to w, spooling the sheet
// and the zip in spoolDir (files removed before it returns). Each row holds
// one value per column, of its kind's type. Memory stays flat whatever the
// number of rows (see the package doc). The caller publishes w (e.g. with
// internal/atomicfile). Text is written as inline strings, never formulas,
// so a value starting with = + - @ shows as typed.
func WriteTable(w io.Writer, spoolDir string, table Table, rows Rows[[]any]) error {
	if len(table.Columns) == 0 {
		return errors.New("reports: a table needs columns")
	}
	columns := make([]column, len(table.Columns))
	for i, c := range table.Columns {
		if c.Kind < 0 || int(c.Kind) >= len(columnKinds) {
			return fmt.Errorf("reports: column %q: unknown kind %d", c.Header, c.Kind)
		}
		columns[i] = column{header: c.Header, kind: columnKinds[c.Kind], prose: c.Prose}
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	st.document = table.Document
	// The first part takes the place of the default sheet.
	if err := f.SetSheetName("Sheet1", table.Sheet); err != nil {
		return err
	}
	sheet, err := newStreamedSheet(f, st, table.Sheet, columns)
	if err != nil {
		return err
	}
	sheet.noTotals = true
	if err := rows.each(func(row []any) error {
		if len(row) != len(columns) {
			return fmt.Errorf("reports: table %q: a row of %d values for %d columns", table.Sheet, len(row), len(columns))
		}
		return sheet.add(row...)
	}); err != nil {
		return fmt.Errorf("reports: %s: %w", table.Document, err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	created := table.Created.UTC().Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{Creator: "payrun", Title: table.Document, Created: created, Modified: created}); err != nil {
		return err
	}
	return writeWorkbook(f, st, w, spoolDir)
}

// CSVText is a CSV text cell as every payrun CSV writes it: a value starting
// with =, +, -, @, tab or carriage return gets a leading apostrophe, so a
// spreadsheet shows it instead of evaluating it (see csvText).
func CSVText(s string) string { return csvText(s) }
