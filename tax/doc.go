// Package tax owns payrun's US tax rules for publishers (SPEC §5): what a tax
// form must contain, which form fits whom, US TIN format checks, a profile's
// status over time, the treaty table, and the withholding rate and amount of
// a payout.
//
// Everything here is pure: plain structs in, plain values out, no database,
// no clock (the caller passes "today", the cutoff and the payment date), no
// I/O beyond the io.Reader a treaty table is parsed from. Storing forms,
// running TIN matching and deciding holds belong to the callers (the admin
// API, the store, payout.Decide).
//
// # Forms (form.go, tin.go)
//
// A [Submission] is one W-9, W-8BEN or W-8BEN-E. [Submission.Validate] lists
// every problem in a *fielderr.List (internal/fielderr) keyed by JSON path,
// each with a code (required, country, inconsistent, ...):
//
//   - The form fits the person (SPEC §5.1): a W-9 for US persons — resident
//     in the US (for an entity: organised there) or an individual who is a US
//     citizen wherever they live; a W-8BEN for non-US individuals; a W-8BEN-E
//     for non-US entities. A US resident or US citizen on a W-8BEN is refused
//     with a reason saying which form to file. Individuals and sole
//     proprietors are natural persons; every other entity type is an entity.
//   - Required: legal name, entity type, residence country and (natural
//     persons only) citizenship, ISO 3166-1 alpha-2 (the 249 officially
//     assigned codes, country.go); permanent address line 1, city, country;
//     signer name; signature date. On a W-8 the permanent address is in the
//     residence country (IRS W-8BEN line 3, W-8BEN-E line 6).
//   - US TIN (tin.go; 9 digits, dashes accepted as 123-45-6789 or 12-3456789,
//     stored without them): a W-9 needs one — SSN or ITIN for an individual,
//     SSN, ITIN or EIN for a sole proprietor or disregarded entity (its owner's
//     number or its own EIN, IRS W-9 instructions), EIN for other entities —
//     unless tin_applied_for is set (the W-9's "Applied For"). On a W-8 it is
//     optional (SSN/ITIN on a W-8BEN line 5, EIN on a W-8BEN-E line 9a); a
//     foreign TIN is optional; a treaty claim does not need a US TIN (SPEC
//     §5.1). Format rules: SSN area 000, 666, 900-999, group 00 and serial
//     0000 are never issued (SSA); an ITIN starts with 9 with group 50-65,
//     70-88, 90-92 or 94-99 (IRS); an EIN starts with an assigned IRS campus
//     prefix (IRS "Valid EIN Prefixes").
//   - A treaty claim is on a W-8 only, names the residence country (SPEC
//     §5.3), income code 12 (SPEC §5.4: the only income payrun pays), and a
//     rate in [0, 0.30].
//   - The signature date is a date (00:00 UTC), not after today's UTC date,
//     not before 2000-01-01, and a W-8 must not already be expired on the day
//     it is submitted.
//
// Validate checks [Submission.Normalize]d values (trimmed, upper-case
// country codes, TIN digits); callers store the normalised submission.
// In JSON, signed_on is "YYYY-MM-DD" and unknown fields are refused.
//
// # Status (status.go)
//
// A profile's history is its [Record]s (every form submitted, with the instant
// it was received and the TIN matching result) and its [Change]s (edits of the
// legal name or TIN without a new form). [StatusAt] evaluates it at an
// instant — for a cycle, its cutoff:
//
//	no record submitted strictly before the instant      → missing
//	newest such record failed TIN matching                → invalid
//	newest is a W-9, name/TIN changed since it was signed → invalid (until a new W-9)
//	newest is a W-9 without a TIN (applied for)           → invalid (backup withholding may pay it)
//	newest is a W-8 signed in year Y, instant ≥ Jan 1 Y+4 → expired
//	otherwise                                             → valid
//
// Invariants: a form submitted at or after the instant never counts at it
// (SPEC §3.2); the newest form replaces every older one; the status at an
// instant depends only on records and changes before it, so a close gives the
// same answer whenever it runs, provided the caller sets TINMatchFailed only
// from results known before the cutoff.
//
// # Treaty table (treaty.go, treaties.csv)
//
// treaties.csv, embedded, holds the income-code-12 rates of IRS Tax Treaty
// Table 1 / Publication 515 with an inclusive date range and a source per row
// (SPEC §5.4). [ParseTreatyTable] validates any table (ops may load a newer
// one) and names line and column of every problem; [TreatyTable.Version] is
// the sha256 of its bytes. [TreatyTable.Lookup] distinguishes a rate in force
// on the payment date, a country and income code with rows but none in force
// that day (treaty_not_in_force: Hungary from 2024-01-01), and no rows at all
// (no_treaty_country: Brazil, Singapore).
//
// # Withholding (withholding.go)
//
// [Rate] and [Withhold] apply SPEC §5.3 to a profile's status and form on a
// payment date: W-9 0%; W-9 with a missing or mismatched TIN 24% backup
// withholding when [Policy].BackupWithholding, held otherwise; W-8 30%, or the
// treaty table's rate in force on the payment date for a treaty claim, 30%
// when there is no treaty or it is not in force. Withholding = round-half-up
// (rate × max(0, US-sourced base), 2) with money.RoundHalfUp (SPEC §1, §5.2).
// Invariants: 0 ≤ amount ≤ round(0.30 × base); the rate is 0, 0.24, 0.30 or
// a rate of the table; [Payable] is false exactly when Rate returns
// [ErrNotPayable].
//
// # Decisions where SPEC is silent
//
//   - The treaty rate applied is the table's, never the rate written on the
//     form: the table is the reviewed source, a form's rate is the publisher's
//     reading of it, and withholding too little is the withholding agent's
//     liability. A claim with a higher rate than the table's still gets the
//     table's rate.
//   - The table keys on country and income code: a country with rows only for
//     other income codes is no_treaty_country for code 12.
//   - treaties.csv rows start on 2020-01-01, the start of the period the
//     table vouches for, not the treaties' entry into force; every rate listed
//     was in force before then. An earlier payment date gets 30%
//     (treaty_not_in_force) rather than a rate nobody checked. Only rates
//     known with confidence are listed; a missing treaty country gets 30%,
//     over-withholding rather than under-withholding.
//   - A W-9 may be signed with the TIN "applied for" (IRS W-9 instructions);
//     that is SPEC §5.3's "valid W-9 with missing TIN": status invalid, paid
//     at 24% only with Policy.BackupWithholding, held otherwise.
//   - Backup withholding depends on the form alone (a W-9 whose TIN is missing
//     or failed matching): when such a W-9 is also invalid for a name or TIN
//     change, it is still paid at 24% under the backup policy, which is what
//     the IRS prescribes for an uncertified TIN. Any other invalid W-9 (name
//     or TIN changed, TIN present and matched) is held.
//   - A change of name or TIN invalidates a W-9 until a new W-9, even when a
//     later change restores the old value. Case and spacing of a name do not
//     count as a change. A change's empty field means "not changed".
//     Changes do not affect W-8s (they expire instead).
//   - The newest submitted form counts even if an older form would have been
//     valid (SPEC §5.1 "the newest valid one counts": submissions that fail
//     Validate are never stored, so the newest stored form is the newest
//     valid one). Ties on SubmittedAt go to the later record in the slice.
//   - A W-8 that failed TIN matching is invalid (held); backup withholding is
//     for W-9s only. Invalid takes precedence over expired.
//   - Residence in a US territory (PR, GU, VI, AS, MP, UM) is not US
//     residence here; a US citizen living there files a W-9 by citizenship.
//   - "Today" for the signature date is the UTC date: a publisher east of UTC
//     signing just after local midnight must send the UTC date.
//   - A treaty table with no rows is refused: it would withhold 30% from all.
package tax
