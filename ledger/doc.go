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
// Instead every line carries the id of its import, and import ids grow with
// time: each close records its cutoff and the highest import id it saw (the
// watermark, read under [ImportLockKey] so no import straddles it). A line
// enters cycle M when eligible_at < cutoff(M) and import_id <= watermark(M),
// and did not already qualify for the cycle before. The payout of an account
// in the first cycle, at or after the line's entry, that pays that account
// consumed the line. So a statement finds a payout's lines with a range query,
// and a close reads only the lines that newly entered its window — lines
// eligible during the month, plus lines imported late — never the history.
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
