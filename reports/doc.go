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
//   - Summary: month, cutoff, payment date, state, who closed and approved
//     it and when; totals (publishers, gross, US-sourced base, withheld,
//     paid, sub-cent remainders, held, carried, returned); withheld by rate;
//     paid by method and currency; held and carried by primary reason; the
//     close's checks followed by the writer's own (rounding rules recomputed
//     per payout row, sheets adding up, payment files' control totals).
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
//   - Exceptions: Kind, Seller ID, Reference, Detail, Amount (USD).
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
// and data (not the totals, so filtering never hides them), column widths,
// real number cells with formats (#,##0.00 for whole-cent USD,
// #,##0.000000 for balances with sub-cents, 0.00% for rates, the payout
// currency's minor unit for converted amounts, yyyy-mm-dd hh:mm:ss UTC for
// times) and a totals row whose sums are exact decimals computed while
// streaming. A cell holds an IEEE double, as every xlsx number does (Excel
// keeps 15 significant digits): the CSV files carry the exact decimal text.
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
//
// Memory stays flat: rows are never collected; excelize's StreamWriter
// keeps at most 16 MB of a sheet in memory and spools the rest to a
// temporary file; the zip is compressed into a spool file next to the
// output, not built in memory as excelize's own save does. Measured: peak
// heap about 60 MB for both 100,000 and 1,000,000 payout rows.
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
// in its place; sheets written cell by cell set it as they grow.
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
// text is written as inline strings, never formulas.
//
// # Failure modes
//
//   - ErrTotalsMismatch: the streamed rows do not add up to the summary's
//     totals (a plumbing bug upstream); nothing is written. A payout row
//     breaking a rounding rule is not refused but shown as a FAIL check.
//   - ErrWorkbookName, ErrFileExists, ErrTooManyRows, ErrThresholds.
//   - ErrUnallocatable, ErrLinesChanged, ErrStatementTooLarge (statements).
//   - A stream's own error (database, context) is returned wrapped, and
//     nothing is written.
//   - File system errors name the path; no temporary file is left behind.
package reports
