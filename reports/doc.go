// Package reports writes payrun's Excel workbooks and CSV exports: the
// monthly payout summary finance reviews, publisher statements, and the
// year-end 1042-S and 1099 data files.
//
// # What it owns
//
// Only the files. The package is pure with respect to the database and the
// clock: callers pass plain structs and row streams (Rows, a callback
// iterator that a database cursor can feed) and every time shown is passed
// in. It never decides anything about a payout; it shows what the close
// decided, recomputes the totals while streaming, and refuses to write a
// workbook that contradicts itself.
//
// # Files and sheets
//
// WriteCycleWorkbook writes payout-summary-<M>.xlsx (a dry run:
// payout-summary-<M>-DRAFT.xlsx, "DRAFT" in the title; the path's file name
// must be CycleWorkbookName's, so a draft can never take the real name):
//
//   - Summary: month, cutoff, payment date (and, for a cycle released on
//     or after it, "Settles on (released late)": the date every file
//     settles on), state, who closed and approved it and when; totals (publishers, gross, US-sourced base, withheld,
//     paid, sub-cent remainders, held, carried, returns recredited into
//     this cycle, this cycle's payments returned after its release);
//     withheld by rate; paid by method and currency; held and carried by
//     primary reason; the close's checks followed by the writer's own
//     (rounding rules recomputed per payout row, each sheet's figures
//     against payrun's totals, payment files' control totals).
//   - Payouts: Seller ID, Publisher, Country, Method, Account (masked),
//     Currency, Gross (USD), US-sourced base (USD), Rate, Rate reason,
//     Withheld (USD), Paid (USD), Remainder carried (USD), FX rate, Paid
//     (payout currency), Payment ID, File.
//   - Held and carried: Seller ID, Publisher, Country, Status, Balance (USD),
//     Primary reason, All reasons, What unblocks it.
//   - Withholding: Country, Rate, Reason, Recipients, Base (USD), Withheld
//     (USD).
//   - Files: File, Kind, Records, Control total (USD), Currency, Control
//     total (currency), SHA-256.
//   - Exceptions: Kind, Seller ID, Reference, Detail, Amount (USD). Returns
//     have two kinds the Summary counts: ExceptionReturned (a payment of
//     this cycle that came back after the release, recredited for the next
//     cycle) and ExceptionRecredited (an earlier cycle's payment, recredited
//     into this cycle's balances); their rows must add up to
//     Totals.PaymentsReturned and Totals.Returned. Rewriting a released
//     cycle's workbook after a return is imported therefore shows it. A
//     PayPal payment sent as several items (PayPal's per-item maximum) is
//     one row on Payouts and an ExceptionPayPalItems row here listing its
//     items; a return of one item is an ExceptionReturned row of that
//     item alone. A Detail too long for one row continues in the rows
//     below it (see Limits: row height).
//
// WriteStatement writes one publisher's statement for a cycle: sheet
// Statement (header and payment summary block) and sheet Lines (Revenue
// source, Transaction ID, Transaction date (UTC), Market, Transaction type,
// Amount (USD), Eligible at (UTC), Status, Withheld (USD), Payment ID), and
// the same lines as CSV. The payout's withholding is spread over its
// US-sourced lines by AllocateWithholding (largest remainder, weights = the
// positive US amounts, refunds get 0), so the Withheld column sums exactly
// to the payout's withholding (SPEC §1). The line stream is read twice:
// first for the US amounts, then to write.
//
// Write1042S / Write1042SCSV (W-8 recipients, one row per recipient and
// rate, income code 12) and Write1099 / Write1099CSV (W-9 recipients, form
// 1099-K, 1099-MISC or none by Thresholds1099, which the tax package owns)
// write the year-end data (SPEC §5.5).
//
// Every streamed sheet has its header row frozen, an autofilter over header
// and data (not the totals, so filtering never hides them), every other
// data row shaded (one conditional format), real number cells with formats
// and a totals row. A cell holds an IEEE double, as every xlsx number does
// (Excel keeps 15 significant digits): the CSV files carry the exact decimal
// text.
//
// # Money display
//
// Every USD amount is shown to the cent (#,##0.00), amounts in a payout
// currency to that currency's minor unit (JPY #,##0, BHD #,##0.000), rates
// as 0.00%, FX rates to 6 decimals, times as yyyy-mm-dd hh:mm:ss UTC.
// Where sub-cent precision matters the workbook does both, by amount:
//
//   - balances (Gross, US-sourced base, Balance, a statement line's
//     Amount) keep their exact ledger value in the cell and are shown
//     rounded to the cent: the formula bar, a SUM and a copy-paste see the
//     exact value;
//   - the sub-cent remainders themselves (Payouts' Remainder carried, the
//     Summary's Sub-cent remainders carried, a statement's Remainder
//     carried) are a separate 6-decimal column (#,##0.000000), since
//     rounded to the cent they would show 0.00.
//
// So gross = withheld + paid + remainder reads exactly on every payout row.
// Number formats end in "_)", leaving a small gap before the next column.
//
// # Totals and checks are formulas
//
// A totals row is SUBTOTAL(9, range) over its column's data in every part
// of the sheet (the label counts the rows with SUBTOTAL(3, ...)): filtering
// the table shows the total of the rows shown. The Summary's figures are
// SUM, COUNTA, COUNTIFS and SUMIFS over the sheets' data ranges (never
// filtered), the statement's sums SUM over its Lines. Every formula cell
// also stores its value, computed exactly (in decimal) while streaming, so
// a reader that does not recalculate (a viewer, a previewer, openpyxl, a
// PDF converter) shows the right number, and a reviewer can click through
// to the cells behind it.
//
// The writer's checks on the Summary each put a formula over the sheets
// (Workbook) beside payrun's own total (payrun: the close's figures, passed
// in CycleSummary.Totals), their Difference, and a Result formula,
// PASS or FAIL, coloured by conditional formats. Amounts shown to the cent
// pass within half a cent (a spreadsheet adds in binary floating point),
// sub-cent remainders within half a micro-dollar, counts exactly. The
// cached results are the writer's exact comparison; a workbook whose rows
// disagree with the totals is not written at all (ErrTotalsMismatch).
//
// # Layout and printing
//
// Column widths are measured from each column's longest formatted value:
// its header (bold, wrapped onto at most three lines, room left for the
// autofilter's button), every cell as its number format shows it, and the
// totals row, in Calibri 11's character widths (charWidths, the metrics of
// Carlito, which LibreOffice substitutes for Calibri), with padding. Text
// columns are capped (60 characters, 40 for names, prose columns — reasons,
// hints, details, addresses — 48) and wrap beyond the cap; nothing shows
// ### or is cut off. A row whose text wraps is as tall as its lines, 15
// points each (LibreOffice does not fit a row's height itself), up to
// Excel's maximum (see Limits).
//
// The widths cost no second pass over the rows. excelize's StreamWriter
// writes a sheet's <cols> before its first row, so each column keeps a
// meter while the rows stream (the widest text, the largest magnitude: a
// comparison per cell), and when the workbook is saved the zip writer puts
// the measured <cols> in place of the provisional one, as it does for the
// sheet's <dimension> (see spoolZip). The Summary and Statement sheets are
// small: they are built in memory and measured before they are written.
//
// Every sheet prints landscape on US Letter, fit to one page wide and as
// many pages down as needed, with narrow margins; a table repeats its
// header row on every page (Print_Titles); the print area is the used
// range; the footer names the document (cycle, statement or tax year), the
// sheet and "Page N of M". Every font names Calibri 11 explicitly (a style
// without a font name reads as a serif in LibreOffice).
//
// # Limits
//
//   - ExcelMaxRows (1,048,576, Excel specifications and limits): a streamed
//     sheet continues in parts "Payouts (2)", "Payouts (3)"... before it;
//     each part has the header, the last the totals over all parts.
//     MaxSheetRows is the variable the code uses (tests lower it).
//   - MaxSheetParts (100): more is refused with ErrTooManyRows.
//   - ExcelMaxSheetNameLength (31).
//   - MaxStatementPayoutUSLines (5,000,000): the only rows held in memory
//     are one payout's US-sourced amounts, for the allocation.
//   - ExcelMaxRowHeight (409 points, Excel specifications and limits: "Row
//     height: 409 points"), 27 lines of text (issue 23): no row is taller,
//     whatever its text (excelize refuses a taller row, which failed a
//     release's whole workbook). ExcelMaxCellChars (32,767 characters,
//     same source): excelize would cut a longer text short without a word,
//     so payrun never hands it one.
//
// Row height: what a text too long for a 409-point row becomes. The
// Exceptions sheet's Detail is the one text without a bound: payout/
// cyclereport lists a PayPal payment's items there, each with its own
// sender_item_id and amount (and, in another currency, its USD share), and
// a payment may go out as up to 15,000 items (PayPal's batch limit): about
// 50 USD items fill 27 lines at the Detail's width, 500 take about 290
// lines, and about 1,000 are more than a cell holds. Every item stays
// listed, and the writer does not rewrite the caller's text (it would have
// to parse it): a Detail longer than one row shows continues in the rows
// below, each at most 27 lines (splitText). Those rows repeat the Seller
// ID and the Reference, so that sorting or filtering by either keeps them
// together; their Kind is the exception's kind followed by
// ExceptionContinued ("paypal items (continued)"), so that the Summary's
// counts and sums by kind (COUNTIFS, SUMIFS: exact matches) count the
// exception once; their Amount is empty (the sheet's totals row, which
// counts rows, counts them). A row ends after the space that follows an
// item (a word ending in "," or ";", the list's separators) if that leaves
// it at least half full, otherwise after the last word that fits, so an
// item is not split between rows (only a single word longer than a whole
// row is cut inside); the rows' Details, read in order and joined, are the
// Detail exactly: no character is added or dropped. Every other text of
// the cycle workbook, the statement and the year-end files (names,
// reasons, hints, a check's detail) has a bound well inside one row; a
// Table's columns are its caller's (payout/publisher's payments export
// lists a payment's items in its Items column and continues a list too
// long for a row in rows of its own, measured with TableColumn.TextLines
// against TableRowLines). Any text other than the Exceptions' Detail that
// needs more than 27 lines keeps its whole text in its cell (the formula
// bar, a copy or a filter see all of it) in a row 409 points tall, and one
// longer than a cell holds is refused (ErrCellTooLong) rather than cut.
//
// Memory stays flat: rows are never collected (a column's width is a few
// numbers); excelize's StreamWriter keeps at most 16 MB of a sheet in
// memory and spools the rest to a temporary file; the zip is compressed
// into a spool file next to the output, not built in memory as excelize's
// own save does. Measured: peak heap about 60 MB for both 100,000 and
// 1,000,000 payout rows.
//
// # Publishing files
//
// Every file is written under a temporary name in its final directory,
// synced, and then published atomically: readers see the whole file or
// none. An existing file is never replaced unless the caller passes
// Overwrite() (ErrFileExists otherwise, checked before any work and again,
// race-free, by publishing with a hard link): a closed cycle is immutable
// (SPEC §3.4) and its summary may already be approved or forwarded.
// WriteStatement publishes its xlsx and CSV only if both were written.
// Files are created 0600: they carry financial data.
//
// Every worksheet declares its real used range in <dimension ref>
// ("A1:Q42"), which streaming readers (openpyxl read_only=True) trust as
// the sheet's size: excelize's StreamWriter writes it before any row, so
// the spool zip writer puts the range recorded when the sheet was finished
// in its place (and the measured column widths in place of <cols>).
//
// Workbooks are deterministic: the same input gives the same bytes (zip
// entries in a fixed order without timestamps, styles created in a fixed
// order, document times taken from the input).
//
// CSV files are UTF-8, comma-separated, LF line ends, with a header row;
// amounts are plain decimals with fixed places, rates fractions ("0.3000"),
// times RFC 3339 UTC. Text cells starting with = + - @ tab or CR get a
// leading apostrophe so a spreadsheet shows them instead of evaluating them
// (publisher names come from outside). The xlsx files need no such guard:
// text is written as inline strings, never formulas; the only formulas are
// the writer's own, over ranges, with criteria quoted.
//
// # Failure modes
//
//   - ErrTotalsMismatch: the streamed rows do not add up to the summary's
//     totals (a plumbing bug upstream); nothing is written. A payout row
//     breaking a rounding rule is not refused but shown as a FAIL check.
//   - ErrWorkbookName, ErrFileExists, ErrTooManyRows, ErrThresholds.
//   - ErrCellTooLong (in a *fielderr.Error naming the column, code
//     too_long, located by sheet and row): a text longer than
//     ExcelMaxCellChars outside the Exceptions' Detail; nothing is written.
//   - ErrUnallocatable, ErrLinesChanged, ErrStatementTooLarge (statements).
//   - A stream's own error (database, context) is returned wrapped, and
//     nothing is written.
//   - File system errors name the path; no temporary file is left behind.
package reports
