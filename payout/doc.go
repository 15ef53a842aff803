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
// reason. Rows 1-6 hold, rows 7-8 carry:
//
//	1 account status verified              held / account_not_verified
//	2 required agreement accepted          held / agreement_not_accepted
//	3 payment hold off                     held / payment_hold
//	4 a payout account exists              held / no_payout_account
//	5 the payout account is verified       held / payout_account_unverified
//	6 a valid tax profile                  held / tax_profile_missing|expired|invalid
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
//	open ──close──▶ closing ──all batches committed──▶ closed ──(approval on)──▶ awaiting_approval
//	                  │  ▲                               │                            │   │
//	                  └──┘ crash: the next close          │ release                    │   │ reject
//	                     resumes after the last           ▼                   approve   ▼   ▼
//	                     committed batch              released ◀──────────────────────┘  closing*
//	                                                      │
//	                                                      ▼ returns window passed
//	                                                   settled
//
// (*) a rejected cycle is reopened: its payouts are reversed and it can be
// closed again. A closed cycle is otherwise immutable: closing it again
// reports ErrCycleClosed and changes nothing.
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
package payout
