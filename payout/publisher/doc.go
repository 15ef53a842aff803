// Package publisher is payrun's payouts as a publisher sees them (SPEC
// §7.12): what it earned, what it will be paid and when, why not, and every
// payment and earnings line behind it. It reads; it never writes money.
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
package publisher
