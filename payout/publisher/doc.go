// Package publisher is payrun's payouts as a publisher sees them (SPEC
// §7.12): what it earned, what it will be paid and when, why not, and every
// payment and earnings line behind it. It reads; it never writes money
// (exports write their own row and file).
//
// # The balance by state
//
// Summary splits the publisher's ledger balance, as of an instant, by what
// happens to each part next. With N the newest closed cycle (its cutoff
// C; none: the beginning of time):
//
//	unprocessed  lines not available yet (available_at ≥ now), by the day
//	             each part becomes available
//	upcoming     lines available since C, and the sub-cent remainder a paid
//	             payout of N left: they enter the next cycle
//	held         what N held, with every reason in SPEC order and its remedy
//	carried      what N carried (below the threshold, or not positive), with
//	             how much more the payable amount needs
//	returned     payments returned since C, with their reasons: credited back,
//	             they enter the next cycle too
//
// These five add up to the publisher's ledger balance (both parts) to the
// micro-dollar: a closed cycle's carried balance is everything available
// before its cutoff less what was paid and withheld, plus the returns
// recorded before it (package ledger). Summary checks it and says so
// (Reconciled). Beside them, outside the balance: in_transit (released
// payments not settled or returned) and the year's sent and withheld.
//
// # The next payment estimate
//
// store.Estimate: the close's own decision (payout.Decide, not a copy) on
// the input the close would freeze for the account, read as of now instead
// of the cutoff. The simulator checks, before every close, that the
// estimate at the cutoff instant equals the close's decision for every
// account.
//
// # Payment statuses
//
//	sent      released, the cycle not settled yet
//	returned  the bank or PayPal sent (some of) it back
//	settled   the cycle settled: the returns window has passed
//
// # Exports
//
// Every payment or every transaction of a month range (at most 24 months;
// transactions by the month of available_at, payments by cycle), as CSV or
// xlsx, with flat memory up to millions of lines: EachTransaction reads one
// snapshot through a server-side cursor, a batch at a time, with the pages'
// states (lineWindows) and withholding shares (one payout's at a time, in
// integers: payoutShares), in the pages' order; EachPayment walks the
// Payments pages.
//
// StartExport records the request (table payout_exports, status queued) and
// enqueues the payouts-export job (package jobs, a task enqueued on demand)
// in one transaction; RunExport, the job's work, streams the file to
// OUT/exports/SELLER/ID.csv|xlsx (0600, directories 0700; published
// atomically), then marks it done with its rows, size and sha256. A done
// export is never written again; one a crash left running is rewritten from
// the start (same bytes: rows as of the request, deterministic writers); an
// attempt that fails marks it failed with the error until a retry runs.
// Export reads the status, OpenExport the file (done only; another
// account's export is unknown). ExportNow does both steps in the calling
// process (`payrun payouts export`).
//
//	queued ──▶ running ──▶ done
//	              │  ▲
//	              ▼  │ retry
//	            failed
//
// Columns are the JSON fields of Payment and Transaction (a payment's items
// in one cell; in the xlsx, a list too long for a row continues in the rows
// below, see below). CSV: the JSON names as header, amounts as the plain
// decimal text of the JSON, times RFC 3339 UTC, text starting with = + - @
// (tab, CR) prefixed with an apostrophe (reports.CSVText, as the
// statements). xlsx (reports.WriteTable: the workbooks' header style and
// number formats): amounts as numbers, times and dates as dates, text as
// inline strings, which a spreadsheet never evaluates.
//
// A payment's items in the xlsx (issue 23, after issue 20). A PayPal
// payment above PayPal's per-item maximum goes out as up to 15,000 items
// (SPEC §6.2), while a workbook row shows at most 27 lines of its Items
// cell (Excel's 409-point row: reports.TableRowLines) and a cell holds at
// most 32,767 characters (reports.ExcelMaxCellChars; the writer refuses a
// longer text with reports.ErrCellTooLong). A payment whose items one row
// shows (some 25 to 40 items, by the length of their ids and amounts) keeps
// its one row, byte for byte as before. A longer list continues in the rows
// right below the payment's, as the cycle workbook's Exceptions sheet
// continues a long Detail: each row holds as many whole items as its Items
// cell shows (measured as the workbook wraps it:
// reports.TableColumn.TextLines), cut only between items, after their "; "
// separator, so that each row starts with an item and the rows' Items, read
// in order and joined, are the list exactly (about 560 rows for 15,000
// items). A continuation row repeats the Payment ID (filtering by it shows
// all of a payment's rows) and leaves every other cell empty: no amount,
// rate, date, method, currency or status.
//
// Counts and totals: the workbook has no totals row; any sum or count over
// a column other than Payment ID and Items (SUM of Amount (USD), COUNT of a
// number column, COUNTA of Cycle or Status, COUNTIF by method or currency)
// counts each payment once, and a row with an empty Cycle is the
// continuation of the payment above it. Export.Rows counts payments, not
// sheet rows, in both formats.
//
// An item too long for a row by itself (a return reason is PayPal's free
// text) is a row of its own, as tall as a row can be and whole in its cell;
// only an item longer than a cell holds is cut inside, between characters.
// Why not a second sheet with a row per item: the Payments sheet stays the
// one table, with the CSV's columns, that a person filters or a program
// reads, the items stay where they always were, and reports.WriteTable
// writes one sheet. The CSV is unchanged: its cells have no limit, and one
// row per payment, its items whole in the items column, stays its contract.
package publisher
