// Package returns imports the payments that came back (SPEC §6.3): ACH
// return files from the bank and PayPal item statuses, and the ACH prenotes
// the bank returned (SPEC §6.1).
//
// # What it owns
//
// [Import] and what a return changes, nothing else: the file formats are
// payout/nacha's ([nacha.ReadReturns]) and payout/paypal's
// ([paypal.ParseStatuses], [paypal.Status.IsReturn]); the next close reads
// the returns it records (payout/store's snapshot query puts payout_returns
// rows recorded in the cycle's window into the opening non-US balance).
//
// # Formats
//
// Detected from the first significant byte: "1" (a NACHA file header) is
// an ACH return file, "{" the PayPal Payouts batch-details JSON (GET
// /v1/payments/payouts/{id}), anything else the PayPal status CSV
// (sender_item_id,transaction_status,amount,currency,time_processed[,reason]).
// At most [MaxFileBytes] are read.
//
// # Matching rules
//
//   - ACH: the entry's individual identification number is the payment id
//     (payments.payment_id); the payment must have gone by ACH, the
//     addenda's original entry trace number must be the trace it went out
//     with (payments.trace, unique per cycle only, hence the id first), and
//     the return's amount must be the amount sent. An individual id that is
//     a prenote's (prenotes.individual_id, "PRE" + 12 digits) matches that
//     prenote instead: same trace, amount zero. The same entry returned
//     twice in one file is a bad record.
//   - PayPal: sender_item_id is the payment id; the payment must have gone
//     by PayPal, in the status's currency, for the status's amount. A
//     payment sent as several items (PayPal's per-item maximum, SPEC §6.2)
//     is matched item by item: sender_item_id is the item's
//     ("<payment id>-<n>", payment_items), the amount the item's; a status
//     naming such a payment's own id is a bad record naming its items. Every
//     record is matched, returns or not: a status for a payment payrun never
//     sent means the file is not ours.
//   - Which PayPal statuses are returns is [paypal.Status.IsReturn] at the
//     clock's now: FAILED, RETURNED, BLOCKED, REFUNDED, REVERSED, DENIED, and
//     UNCLAIMED processed more than 30 days ago. The others (SUCCESS,
//     PENDING, ONHOLD, a younger UNCLAIMED) are skipped and counted.
//
// # What a return changes
//
// All in one transaction for the whole file, after every record matched:
//
//   - a payout_returns row (month, account, amount_usd = the payment's USD
//     amount — for an item, the item's USD share and item_id —, reason = the R-code or PayPal status, source "ach"/"paypal",
//     returned_at, recorded_at = the clock's now, plus payment_id,
//     original_trace, source_file and detail = addenda information or PayPal
//     reason). The next close adds amount_usd to the account's opening
//     non-US balance: the money was already withheld on, so it is never
//     withheld again;
//   - a reversing journal entry ([LedgerKind], reference = payment id, or
//     the item's id for an item):
//     payments:in_transit −amount, publisher:<id>:other +amount. The
//     withholding stays withheld;
//   - the payout account that was paid moves verified → needs_update with
//     the reason, so no further payment goes to it until a new payout
//     account is verified. If it is already needs_update or rejected,
//     nothing is recorded for it;
//   - a returned prenote: a prenote_returns row, and the payout account
//     moves to rejected with the return code (from pending_verification, or
//     from verified when the return came after the waiting period).
//
// Importing the same return again changes nothing: payout_returns is
// unique per payment (month, account_id) for whole payments and per
// item_id for items (migration 150), prenote_returns UNIQUE (prenote_id);
// both are counted as duplicates. Several items of one payment can come
// back, each once; the payout account moves to needs_update at the first. Nothing is retried automatically: the next
// cycle pays the balance with a new payment id.
//
// # Failure modes
//
//   - A file that cannot be read (truncated, mis-blocked, bad control
//     totals, unknown status, ...): *FileError naming the line or JSON item
//     and field, wrapping [ErrRefused] and the parser's error
//     (*nacha.ParseError, paypal.ErrStatusSyntax, *paypal.RecordError).
//   - A record that does not match (unknown payment or prenote, another
//     trace, amount or currency, the wrong rail): *FileError listing every
//     problem (up to 100), each with its line (ACH: the entry's line, or
//     its addenda's for the trace; CSV: the line) or JSON item and field.
//   - Either way the whole file is refused and nothing is changed. A
//     database error rolls everything back too.
//
// Imports serialise on an advisory transaction lock, and payout accounts
// are locked in id order, as payout/store locks them for verification.
package returns
