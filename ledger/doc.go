// Package ledger is payrun's book of record (SPEC §1–2): publisher accounts,
// earnings lines, and the double-entry journal with its running balances.
//
// # Earnings lines
//
// An earnings line is one sale, refund, chargeback, reversal or adjustment,
// in USD with up to six decimals. Lines are immutable: corrections are new
// adjustment lines; the database refuses UPDATE, DELETE and TRUNCATE.
// (revenue_source, transaction_id) is unique: [Import] skips a line imported
// before with the same content and refuses one with other content.
//
// # Linking lines to payouts without rewriting them
//
// A close must say which lines each payout consumed, but updating ten million
// rows to stamp a payout id on them would cost minutes and gigabytes of WAL.
// Instead each line carries available_at = max(eligible_at, the instant its
// import ran): the moment it was both payable and known to payrun. A line
// enters exactly one cycle, the first whose cutoff is after available_at, and
// the first payout of its publisher in that cycle or later consumes it. So a
// close reads one range of available_at — [previous cutoff, cutoff) — never
// the history; a statement finds a payout's lines with a range query; and a
// line imported late (an old sale found after its cycle closed) simply joins
// the next cycle instead of being lost or rewriting a closed one.
//
// The import reads its clock only once it holds [ImportLockKey] (shared), and
// a close takes the lock exclusively before reading, so an import can never
// commit lines stamped before a cutoff once a close has read past it.
//
// # The journal
//
// A ledger transaction is a set of postings that sum to zero. Ledger accounts
// are addresses:
//
//	publisher:<account id>:us      what payrun owes a publisher, US-sourced part
//	publisher:<account id>:other   ... and the rest (SPEC §3.2)
//	platform:earnings              the source of all earnings (its balance is
//	                               minus everything ever credited)
//
// Later stages add tax:us_withholding and payments:in_transit. An import posts
// one transaction: each publisher's two parts are credited with the sum of its
// new lines, and platform:earnings is debited with the total, so the journal
// grows with the number of publishers, not lines.
//
// The database enforces the zero sum after every INSERT statement into
// postings and at commit (at least two postings per transaction), and keeps
// ledger_balances in the same trigger, so a balance can never drift from its
// postings (see package migrations). [Post] checks the sum in Go first, to
// fail with a clear error before touching the database.
//
// # Failure modes
//
// An import is one transaction: a bad line, a conflict, a crash or a cancelled
// context leaves the database exactly as before. Re-running an import is safe.
package ledger
