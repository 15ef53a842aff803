// Package ledger is payrun's book of record (SPEC §1–2): publisher accounts,
// earnings lines, and the double-entry journal with its running balances.
//
// # Earnings lines
//
// An earnings line is one sale, refund, chargeback, reversal or adjustment,
// in USD with up to six decimals. Lines are immutable: corrections are new
// adjustment lines; the database refuses UPDATE, DELETE and TRUNCATE.
// (revenue_source, transaction_id) is unique (in earnings_keys, see
// Partitions): [Import] skips a line imported before with the same content
// and refuses one with other content.
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
// # Partitions
//
// earnings_lines is partitioned by the UTC month of available_at and postings
// by the UTC month of posted_at (earnings_lines_YYYYMM, postings_YYYYMM;
// migrations/060_partitions.sql). A close's window [previous cutoff, cutoff)
// is one month of available_at, so it reads one partition, and so do a
// statement's and a report's month ranges; the history stops costing
// anything but disk, and a consumed month can be detached whole.
//
// There is no DEFAULT partition: a row for a month without a partition is an
// error, never a row parked where pruning would miss it. So writers create
// what they need first, through payrun_ensure_partitions(from, to), which
// creates the missing months of both tables. It is idempotent, costs a name
// lookup per month when nothing is missing, and serialises creators on
// [PartitionLockKey]. Creating a partition locks its parent table until the
// creating transaction ends, so creation happens ahead of the writers where
// possible:
//
//   - the maintain-partitions job ensures this month and the next
//     [PartitionMonthsAhead] ([EnsurePartitions], a transaction of its own);
//   - [Import] ensures the months its lines can land in — available_at is
//     between now and now + [FutureTolerance] + [MaxEligibleDelay] (400 days;
//     or the holding period when longer) — in a transaction of its own before
//     its import transaction, then checks them again inside it (the clock may
//     have entered a new month while it waited for [ImportLockKey]);
//   - [Post] ensures the month of its PostedAt in the same round trip as its
//     INSERT; normally a no-op.
//
// A unique index on a partitioned table must contain the partition key, so
// the idempotency key lives in earnings_keys (transaction_id, revenue_source
// → available_at). The import writes it (see Keys); a repeated key raises
// unique_violation as the UNIQUE it replaces did. The import's slow path
// looks a repeated key up there and compares the line in the partition its
// available_at names. Keys compare bytewise (COLLATE "C", as do the lines'
// key columns).
//
// Each posting carries its transaction's posted_at (a trigger checks it), so a
// transaction's postings share one partition and the zero-sum check reads
// only the months of the postings it checks. The zero-sum trigger is a
// statement trigger of the parent, and a statement trigger does not fire for
// a statement naming a partition: partitions (of both tables, alike)
// therefore refuse INSERT and TRUNCATE themselves, and inherit the parents'
// row triggers (no UPDATE, no DELETE).
//
// # Archiving
//
// [DetachPartitions] (`payrun partitions detach --before YYYY-MM`) detaches
// the months of both tables that nothing will read again, as a [Retention]
// rule given by the caller says (the ledger does not read the cycles;
// payout/cycle.Retention is payrun's rule: for lines, every cycle whose
// window reaches into the month is settled; for postings, the month is
// before the oldest unsettled cycle's), all in one
// transaction or none, and renames each to archive_<name>. An archive table
// keeps its rows, stays append-only, and is the operator's to pg_dump and
// drop. ledger_balances does not move: balances are kept, not recomputed
// from postings. earnings_keys keeps the archived keys, so a line imported
// again after its month was archived is refused (it can no longer be
// compared) instead of being paid twice.
//
// # Totals
//
// Beside its lines, an import writes earnings_totals: one row per UTC month
// of available_at, publisher account, part (US-sourced or other) and import,
// with the sum and the count of those lines, in the same transaction
// (migrations/080_earnings_totals.sql). The fast path sums in Go while the
// lines stream into COPY; the slow path sums the lines it inserted. A cycle's
// window [previous cutoff, cutoff) is a run of whole months, so a close sums
// the window's totals — about one row per publisher and import — and never
// reads a line: its cost follows the publishers, not the lines. The lines
// remain the record; [VerifyTotals] recomputes the totals from them (the
// import tests and every simulated cycle run it). Totals of an archived month
// stay, like its keys.
//
// # Keys
//
// Both paths of [Import] write the keys of exactly the lines they write, in
// the same transaction: the fast path spools them to an unlinked temporary
// file (about 45 bytes a line; memory stays flat) while the lines stream
// into COPY, then COPYs them into earnings_keys; the slow path inserts them
// in the statement that inserts its lines. Until migration 100 a statement
// trigger on earnings_lines wrote them from a transition table, so no writer
// could forget them; but with such a trigger Postgres inserts a COPY into a
// partitioned table row by row and captures every row first, which cost
// 1.1 s per million lines. The import is the only writer of earnings lines;
// [VerifyKeys] checks that lines and keys match one to one (the import tests
// and every simulated cycle run it).
//
// # Limits of an import
//
// Every limit names the line and the column that passed it (SPEC §2, §11):
//
//   - a CSV record is at most [MaxRecordBytes] (4 KiB): the logical record,
//     however many physical lines a quoted field spans, counted as the file
//     streams (internal/csvlimit), so memory stays at the import's buffers
//     whatever the file holds — a 512 MB quoted field of short lines took
//     2.3 GB before it was refused; now it is refused after a megabyte;
//   - an amount is at most ±99999999999999.999999 (NUMERIC(20,6): 14 integer
//     digits, 6 decimals); the absolute amounts of one file add up to at most
//     that (so every total the import writes fits), and a file that would take
//     a ledger balance past it is refused on its last line instead of failing
//     with "numeric field overflow";
//   - text (transaction_id) is counted in characters and holds no control
//     character (internal/textcheck) and no invalid UTF-8;
//   - [MaxLinesPerImport] lines.
//
// An import holds [ImportLockKey], which a close waits for, so it must not
// hang on its input: it reads its file through a reader that gives up when
// the context is done (SIGTERM or SIGINT of the CLI, a client gone from the
// admin API) or when the file delivers nothing for
// [ImportOptions].StallTimeout ([DefaultStallTimeout], a minute), even while
// a read blocks in the kernel (standard input, a pipe, a hung mount); and its
// transaction sets idle_in_transaction_session_timeout
// ([ImportOptions].IdleTimeout, [DefaultIdleTimeout]), so the database ends a
// session that sits idle holding the lock. Either way the transaction rolls
// back and the lock is released at once.
//
// # Failure modes
//
// An import is one transaction: a bad line, a conflict, a crash or a cancelled
// context leaves the database exactly as before. Re-running an import is safe.
package ledger
