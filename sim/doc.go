// Package sim drives payrun's real services — the same schema, import,
// close, release and reports — through months of a marketplace with a fake
// clock (SPEC §10), in two modes:
//
//   - Seeded (Run; `payrun simulate --seed S --publishers N --months K`):
//     Populate builds the marketplace (accounts from ledger.GenerateAccounts,
//     then per publisher a status, agreement acceptances, a payout account, a
//     tax form and a hold, each drawn from the seed), and every month imports
//     the sales that mature into it and plays the month's activity (W-9
//     legal-name edits and re-signed forms, expired W-8s renewed, agreement
//     version 3 with late acceptances, payout accounts replaced on the 28th
//     and verified on the 3rd, holds switched at 23:59:59 on the last day and
//     exactly at the cutoff, and on the 18th the bank's ACH return file and
//     PayPal's status file for a share of the previous cycle's payments,
//     whose publishers then give a new payout account) before closing,
//     releasing and reporting.
//   - Scripted (RunScenario; `payrun simulate --scenario FILE --check`): a
//     JSON file of timestamped events, each one operation of payrun's
//     services, and the outcomes expected per cycle and account. The format
//     is in SCENARIOS.md; the stories are in testdata/scenarios/.
//
// Both write, per cycle, <out>/cycles/<M>/result.json, the workbook, the
// payment files and manifest.json.
//
// # Invariants
//
// After every close (CheckClosed) and every release (CheckReleased); the
// first broken one stops the run with an *InvariantError naming the seed:
//
//   - journal_balanced: every ledger transaction's postings sum to zero and
//     every running balance equals the sum of its postings;
//   - conservation (SPEC §1): Σ earnings lines = Σ publisher balances +
//     tax:us_withholding + payments:in_transit + any other (settled or
//     returned) account, to the micro-dollar, and platform:earnings = −Σ lines;
//   - balances_reconcile: per publisher and part (US/other), the ledger
//     balance = what the newest cycle carried + lines available from its
//     cutoff on + returns recorded since;
//   - lines_paid_once: every line has its idempotency key and every key its
//     line (ledger.VerifyKeys); cycle windows are contiguous months; every payouts
//     row's new amounts are exactly its lines with available_at in
//     [previous cutoff, cutoff), its opening amounts exactly the previous
//     cycle's carried amounts (+ returns), and no non-zero balance is missing;
//   - held_unpaid: held and carried rows pay and withhold nothing and keep the
//     balance; a paid row has no reason and, recomputed from the event
//     histories, a verified account, hold off and the verified payout account
//     in force at the cutoff; only paid rows have payments;
//   - withholding: each paid row's rate, reason, base and amount equal
//     tax.Withhold on the stored form history at the cutoff, the cycle's
//     treaty table and payment date, with the US-sourced balance as base; the
//     rest is paid rounded down to the cent, only a sub-cent is carried;
//   - files_match_ledger: the files on disk hash to manifest.json, whose USD
//     total = the journal's payments-in-transit for the cycle = Σ payments =
//     Σ paid payouts;
//   - rerun_changes_nothing: closing again reports AlreadyClosed and leaves
//     the cycle's dump (Dump) identical; releasing again returns the same
//     manifest;
//   - crash_resume_identical: with faults on, each cycle is crashed once at
//     a point of CrashPoints (the close's store.FaultPoints, then the
//     release's release.FaultPoints) drawn from the seed and the month, as a
//     simulated process death or a simulated database error. A crashed close
//     first runs as a dry run (the reference), must leave the cycle unclosed,
//     and after a restart must dump exactly as the reference. A crashed
//     release must leave the cycle unreleased with no payment recorded (or
//     released, when it crashed after the commit), and after a restart every
//     file the crash left behind must be byte for byte what it was.
//
// # Determinism
//
// Every random choice comes from PCG generators seeded from the seed (and
// the month); every instant comes from the Clock, which only moves forward;
// outputs are ordered. The same seed gives the same bytes in every output,
// workbooks included, with or without injected crashes (tests compare the
// output trees byte for byte).
//
// # Failure modes
//
// A scenario event that fails without expect_error stops the run, naming
// the event. An unknown crash point is refused before anything runs.
package sim
