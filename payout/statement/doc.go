// Package statement writes one publisher's payout statement for one cycle
// (SPEC §2, issue 6 item 2): it reads Postgres and feeds
// reports.WriteStatement, which writes
//
//	<out>/statements/<seller id>/statement-<M>.xlsx
//	<out>/statements/<seller id>/statement-<M>.csv
//
// It is the only place that knows both the schema and the statement's
// types; `payrun statement` (and later the admin API) call Write.
//
// # Which lines a statement lists
//
// No earnings line is ever stamped with a payout (see package ledger): a
// line belongs to the first cycle whose cutoff is after its available_at,
// and the publisher's first paid payout in that cycle or later consumes
// it. A paid payout consumes the whole balance, so the lines a payout of
// cycle M consumed are exactly those with available_at in
// [S, cutoff of M), where S is the cutoff of the publisher's previous paid
// cycle (or the beginning of time). The statement of M lists:
//
//   - every line with available_at in [S, cutoff of M): the lines the cycle
//     considered, including those carried from earlier held or carried
//     cycles; and
//   - every line whose transaction happened before M's cutoff but that was
//     not yet available then (not eligible yet, or imported late): these
//     are earnings the publisher already has that the next cycles will
//     consider. Lines of transactions after the cutoff belong to later
//     statements.
//
// Lines are ordered by available_at, transaction id and revenue source,
// and streamed from a database cursor: memory stays flat in the number of
// lines, except for the one payout's US-sourced amounts that the
// withholding allocation needs (reports.MaxStatementPayoutUSLines).
//
// # Status of a line (SPEC §2)
//
//	unprocessed  available_at ≥ M's cutoff: not in this cycle
//	reserved     in the cycle, but M's decision was held or carried
//	processed    consumed by M's paid payout, payment file not released yet
//	sent         consumed by M's paid payout and released (a payments row)
//	returned     consumed by M's paid payout, and the payment came back
//	             (payout_returns); the amount was credited back to the
//	             balance as non-US earnings (SPEC §6.3)
//
// Statuses are those of today (the payment of M may have been released or
// returned since the close); "reserved" is about M: a reserved line may
// since have been paid by a later cycle, whose statement shows it again as
// processed or sent.
//
// The payout's withholding is spread over its US-sourced lines by
// reports.AllocateWithholding (largest remainder, refunds get 0), so the
// Withheld column sums exactly to the payout's withheld amount.
//
// # Decisions where SPEC is silent
//
//   - A publisher with no payouts row in M (a zero balance, which the close
//     does not evaluate) gets a statement with decision "none" and reason
//     "no_balance" rather than an error: the lines are still worth seeing.
//   - The payout's masked account is shown as the cycle workbook shows it
//     (bank: last four digits; PayPal: the publisher's own e-mail).
//   - Result and the statement's header carry the cycle's payment date and,
//     once released, its settlement date (shown on the statement only when
//     a release on or after the payment date moved it), and the PayPal
//     items of a payment sent as several items, each with its USD share and
//     whether it came back. A line's status is "returned" as soon as one
//     item of its payment came back.
//   - Before release the FX rate of a USD payout is 1 and the amount in the
//     payout currency equals the USD amount; for another currency both are
//     0 until the release converts it.
//   - Both passes over the lines (allocation, then writing) and every other
//     read run in one read-only REPEATABLE READ transaction, so the header,
//     the payout and the lines come from one snapshot.
//
// # Failure modes
//
//   - ledger.ErrUnknownSeller: no account has the seller id.
//   - ErrNotClosed: no cycle for the month, or it is still open or closing.
//   - ErrOutputNotWritable: the output directory cannot be created or
//     written (checked before any query streams).
//   - reports.ErrFileExists: a statement file exists and Overwrite was not
//     asked for (checked for both files before anything is written;
//     neither is then touched).
//   - reports.ErrUnallocatable and the other errors of
//     reports.WriteStatement, and database errors, wrapped. Nothing is
//     published unless both files could be written.
package statement
