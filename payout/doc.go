// Package payout is the monthly cycle (SPEC §3, §4, §6.1): the pure close
// rules, the policy and calendar of a cycle, and (in package payout/store)
// the payout accounts, holds and the close that streams snapshots out of
// Postgres and writes decisions back.
//
// # The close decision
//
// [Decide] is a pure function of a per-account [Snapshot] taken as of the
// cutoff: no database, no clock, no logging. It applies SPEC §3.2's checks in
// table order and records every one that fails; the first is the primary
// reason. Rows 1-6a hold, rows 7-8 carry:
//
//	1 account status verified              held / account_not_verified
//	2 required agreement accepted          held / agreement_not_accepted
//	3 payment hold off                     held / payment_hold
//	4 a payout account exists              held / no_payout_account
//	5 the payout account is verified       held / payout_account_unverified
//	6 a valid tax profile                  held / tax_profile_missing|expired|invalid
//	6a the payment fits its rail           held / amount_over_rail_limit
//	7 payable amount > 0                   carried / negative_balance|zero_balance
//	8 payable amount >= threshold          carried / below_threshold
//	  all pass                             paid
//
// payable = floor(balance − withholding, 1 cent), withholding =
// round-half-up(rate × max(0, US-sourced balance), 2) from package tax. A paid
// account keeps only the sub-cent remainder (in its non-US part); a held or
// carried account keeps its whole balance, unwithheld.
//
// # Cycle states
//
// CycleState (cyclestate.go) holds the states, their transitions as pure
// functions (Next, CanRelease, Closed, ReleasedOrLater) and the state
// diagram. A closed cycle is immutable: closing it again reports it already
// closed and changes nothing. Rejecting a cycle awaiting approval is not
// implemented (docs/behaviour.md, known differences).
//
// # Who moved a cycle: principals by id (maker-checker)
//
// SPEC §7.8: maker-checker compares principals by id, never by a typed
// name. A cycle records who closed, approved and released it as a
// store.Principal: an operator by its id in the operators table (beside
// the name shown, always "operator:<user name>" read from that table), or
// payrun's own system principal — the scheduled jobs, the simulator's
// bookkeeping, a CLI close or release without --by — which has no id.
//
//   - The CLI's --by names an operator: its user name, compared as
//     store.CanonicalOperatorName says (spaces and an "operator:" prefix
//     dropped, lower case — user names are lower case), looked up in the
//     operators table; a name that is no operator's is refused with an
//     error naming --by, and nothing runs. `cycle approve` requires --by.
//   - The API's approver is the signed-in operator's id; any other kind of
//     principal is refused.
//   - store.Approve takes an operator id and refuses (ErrSameOperator) the
//     operator who closed the cycle and any operator who ran a step of its
//     close (its closing events carry the operator id); the system
//     principal, and an operator without finance_approver, never approve
//     (ErrNotAnApprover). The table refuses an approver id equal to the
//     closer's (cycles_maker_checker, migration 120).
//   - A cycle closed by the system principal (the scheduled close) can be
//     approved by any finance approver: there is no human maker to exclude.
//   - Migration 120 mapped the free-text names recorded before it
//     ("operator:NAME", "cli:NAME" — the CLI's old default, its OS user —
//     or "NAME" of an existing operator) to ids, and withdrew pending
//     approvals that it could not attribute to an operator other than the
//     closer: those cycles wait for a new approval.
//
// # Decisions where SPEC is silent
//
//   - When the tax profile is not payable the rate is unknown; checks 7 and 8
//     are judged at the statutory 30% so the reasons still say whether the
//     balance would clear the threshold. The account is held either way.
//   - Thresholds are in USD, per method and payout currency ("paypal:EUR"),
//     compared with the payable USD amount before any FX conversion.
//   - A payment id is "P" + YYYYMM + the account id (8 digits), 15 characters
//     (a NACHA individual id): stable across re-runs, so files are
//     byte-identical and a resend is recognised.
//   - Agreements (check 2): accounts.AgreementsHold is the one rule, and the
//     close (payout/store) calls it on the catalogue and each account's
//     acceptances rather than restating it in SQL. A required version holds
//     once its grace period (publication + grace days of 24 hours) ended
//     strictly before the cutoff: published at or after the cutoff, or with a
//     grace ending exactly at it, it counts from the next cycle.
//   - Rail limits (SPEC §6.4, row 6a, RailLimit / OverRailLimit): a payment
//     its rail cannot carry even split — more than nacha.MaxEntryAmount on
//     ACH, sepa.MaxSEPAAmount for any EUR bank payment (the debtor account
//     is release configuration, so SEPA or not is not known at the close),
//     18 digits in other pain.001 currencies, more than paypal.BatchLimit
//     items of the PayPal item maximum (a payment's items stay in one
//     request) — holds that publisher alone with AmountOverRailLimit, the
//     last held reason, so the release of everyone else never fails on it.
//     The amount is converted as the release will (rate, then rounded down
//     to the rail's minor unit) with Snapshot.FXRate: the cycle's rate
//     loaded before the close started (payout/store), so every shard and a
//     resumed close decide alike. A currency without such a rate is not
//     judged (its amount is unknown); the release then names a payment
//     its file cannot carry. A rail the currency cannot use at all is not
//     judged either: the release names it, as it always did.
//   - FX rates (SPEC §6.4, payout/release.ImportFXRates): the band
//     (Policy.FXMaxChange, "fx_max_change", default 0.10) is measured from the
//     previous cycle's rate for the currency — the latest earlier month with
//     one, never the rate being replaced — and a move of exactly the band
//     passes. A re-import replaces the rates it lists until the cycle starts
//     closing (replacing within the band needs no confirmation; beyond it,
//     like any load, it does); from then on a different rate is refused and
//     the database refuses updates. Rates are never deleted, and a currency's
//     first rate can still be added after the close for the release.
//
// # Late release: the settlement date
//
// SettlementDate is the one rule for the date every file of a release
// settles on (SPEC §3.1): the scheduled payment date for a release on a
// UTC day before it; for a release on or after it, the next banking day
// after the release's day (BusinessDayFrom: Saturdays, Sundays and the
// policy's holidays skipped). The release time is recorded once, so the
// date — and every file's bytes — is the same on every run. Only the date
// moves: amounts, rates and the treaty rate (in force on the scheduled
// payment date, Calendar.PaymentDate) are the close's. Table-tested at the
// boundaries in settlement_test.go.
//
// # PayPal's per-item maximum
//
// PayPal's Payouts take at most 20,000.00 USD per item, or the equivalent
// (SPEC §6.2). Policy.PayPalItemMaxFor gives the maximum in a currency:
// paypal_item_max[currency] when the policy sets it, else the USD maximum
// (paypal_item_max["USD"], default DefaultPayPalItemMax) converted at the
// cycle's rate and rounded down to the currency's PayPal minor unit, so an
// item never exceeds the USD maximum's worth. SplitPayPalAmount splits a
// payment above it into items of exactly the maximum, then the remainder
// (chosen over equal parts: every item but the last is the maximum, the
// simplest split to audit); the items sum exactly to the payment and each
// is above zero. PayPalItemID numbers them "<payment id>-1", "-2", ...; a
// payment under the maximum is one item under its own payment id, so its
// files are byte-identical to before. The release keeps a payment's items
// in one request (paypal.Item.Group).
package payout
