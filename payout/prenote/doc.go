// Package prenote verifies US bank payout accounts with ACH prenotes (SPEC
// §6.1): a zero-dollar entry sent to the account; if the bank does not
// return it within the waiting period, the account is real and open.
//
// # What it owns
//
// The prenotes table (one row per prenoted payout account, ever), the daily
// prenote file, and the verified transitions after the waiting period.
// Returned prenotes come in with the other ACH returns through
// payout/returns, which matches them by [IndividualID] and trace and
// rejects the account.
//
// # States
//
//	pending_verification ──prenote sent──▶ (waiting: still pending_verification)
//	        │                                   │                     │
//	        │ details cannot be                 │ bankingDays with    │ prenote returned
//	        │ written as ACH                    │ no return           │ (returns.Import)
//	        ▼                                   ▼                     ▼
//	    rejected                            verified ──late return──▶ rejected
//
// # The daily file
//
// [Run], once a day (the verify-payout-accounts job, or `payrun prenote
// run`), in one transaction:
//
//   - Candidates: the current (newest) payout account of each publisher
//     account, if it is a US bank account, its newest status is
//     pending_verification, and it has no prenote. A superseded account is
//     never paid, so it is never prenoted.
//   - The file <out>/prenotes/prenote-YYYY-MM-DD.txt ([Path]): PPD batch for
//     individuals then CCD for companies, each by payout account id;
//     transaction code 23 (checking) or 33 (savings), amount zero, the
//     routing number and the account number opened with the sealing context
//     payout/store uses, the holder's name, individual id "PRE" + 12 digits.
//     File creation = the start of the run day (UTC), effective entry date =
//     the next banking day, file ID modifier A. Each prenote is recorded
//     with its file, day and trace before the file is written (after the
//     commit, through a temporary file and a rename).
//   - Exactly once: if the day already has prenotes, the run rebuilds the
//     file from those rows and checks every trace comes out the same: the
//     same bytes, and no account gets a second prenote (prenotes is UNIQUE
//     on the payout account). Accounts set after a day's file went out wait
//     for the next day's file: a file may already have been sent, so it
//     never grows.
//   - Verification: every prenoted account still pending_verification with
//     no prenote return, whose prenote went out at least bankingDays
//     banking days before the clock's day, becomes verified (actor
//     "prenote"). Banking days are Monday to Friday ([BankingDaysBetween]):
//     a Friday prenote verifies on Wednesday with the default 3.
//
// # Limits
//
// [DefaultBankingDays] 3 (SPEC §6.1), at most [MaxBankingDays];
// [MaxPrenotesPerFile] entries a day, the rest go the next day.
//
// # Failure modes
//
//   - Bad originator configuration or banking days: [ErrBadConfig], nothing
//     done.
//   - A payout account whose details the ACH writer refuses (a field
//     error, *fielderr.Error): it is rejected with the reason and reported in
//     Result.Refused; the others go out.
//   - The file cannot be written: the error is returned, the prenotes stay
//     recorded, and a re-run the same day writes the same file. payrun
//     cannot know whether a file was transmitted: the directory is the
//     outbox.
//   - Bank holidays are not known here: they count as banking days, which
//     at worst verifies an account a day early.
//   - Runs serialise on an advisory transaction lock; payout accounts are
//     locked in id order before they are verified, and their state read
//     again, so a prenote return imported meanwhile wins.
package prenote
