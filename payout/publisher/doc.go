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
// in one cell). CSV: the JSON names as header, amounts as the plain decimal
// text of the JSON, times RFC 3339 UTC, text starting with = + - @ (tab, CR)
// prefixed with an apostrophe (reports.CSVText, as the statements). xlsx
// (reports.WriteTable: the workbooks' header style and number formats):
// amounts as numbers, times and dates as dates, text as inline strings,
// which a spreadsheet never evaluates.
package publisher
