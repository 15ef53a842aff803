package reports

import (
	"time"

	"github.com/shopspring/decimal"
)

// Rows is a stream of rows of one kind. It calls yield once per row, in the
// order the rows should appear, stops at the first error yield returns and
// returns that error (or its own, e.g. a database error). A nil Rows is an
// empty stream.
//
// Rows lets the store feed a writer straight from a database cursor: no
// writer in this package ever holds a whole stream in memory.
type Rows[T any] func(yield func(T) error) error

// each runs rows, treating nil as empty.
func (rows Rows[T]) each(yield func(T) error) error {
	if rows == nil {
		return nil
	}
	return rows(yield)
}

// SliceRows streams the rows of a slice, for tests and for small, bounded
// inputs (payment files, a cycle's exceptions).
func SliceRows[T any](rows []T) Rows[T] {
	return func(yield func(T) error) error {
		for _, row := range rows {
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	}
}

// CycleSummary is the head of a cycle's payout summary: what was decided, by
// whom, and the close's own totals. The writer recomputes the totals from the
// streamed rows and refuses to write a workbook whose rows disagree with
// them (ErrTotalsMismatch).
type CycleSummary struct {
	// Month is the payment month M, "2026-11" (SPEC §3.1).
	Month string
	// Cutoff is M-01T00:00:00Z; PaymentDate the (business-day adjusted)
	// payment date. Both are shown in UTC.
	Cutoff      time.Time
	PaymentDate time.Time
	// SettlementDate, when set and not PaymentDate, is the date the
	// released files settle on: the cycle was released on or after its
	// payment date, so every file settles on the next banking day after the
	// release (payout.SettlementDate). Shown as "Settles on" under the
	// payment date; nil (or PaymentDate) shows nothing more.
	SettlementDate *time.Time
	// State is the cycle's state when the workbook was written
	// ("closed", "awaiting_approval", "released", ...).
	State string
	// Draft marks a dry run (SPEC §3.4): the file is named
	// payout-summary-<M>-DRAFT.xlsx and its title says DRAFT.
	Draft bool
	// ClosedBy and ApprovedBy name the operators (or job) who closed and
	// approved the cycle; empty when not (yet) done.
	ClosedBy   string
	ApprovedBy string
	ClosedAt   *time.Time
	ApprovedAt *time.Time
	Totals     Totals
	// Checks are the close's own reconciliation checks (conservation, files
	// against ledger, ...), shown as given. The writer appends its own.
	Checks []Check
}

// Totals are a cycle's amounts in USD (the book currency) with their counts.
// Every amount is the exact decimal the close computed.
type Totals struct {
	// Publishers is the number of accounts with a non-zero balance the close
	// evaluated (paid + held + carried).
	Publishers int
	// Paid publishers: Gross is the sum of their balances before
	// withholding, USSourced the sum of their withholding bases
	// (max(0, US-sourced balance), SPEC §5.2), Withheld the tax withheld,
	// Paid the amounts paid in USD, and SubCentCarried the sub-cent
	// remainders left in their balances (Gross − Withheld − Paid).
	Gross          decimal.Decimal
	USSourced      decimal.Decimal
	Withheld       decimal.Decimal
	Paid           decimal.Decimal
	SubCentCarried decimal.Decimal
	// WithheldByRate splits USSourced and Withheld by rate, one entry per
	// distinct rate (0% included).
	WithheldByRate []RateTotal
	// PaidByMethod splits the payments by method and payout currency; its
	// Payments sum to the number of paid publishers.
	PaidByMethod []MethodTotal
	// HeldByReason and CarriedByReason count held and carried publishers by
	// primary reason (SPEC §3.2) with the balances they keep.
	HeldByReason    []ReasonTotal
	CarriedByReason []ReasonTotal
	// Returned counts the payments of earlier cycles returned and
	// recredited since the previous cycle (SPEC §6.3): they are in this
	// cycle's opening balances. The Exceptions rows of kind
	// ExceptionRecredited must add up to it.
	Returned CountAmount
	// PaymentsReturned counts this cycle's own payments that came back
	// after its release (recredited to the publishers' balances for the
	// next cycle). The Exceptions rows of kind ExceptionReturned must add up
	// to it.
	PaymentsReturned CountAmount
}

// RateTotal is the withholding at one rate.
type RateTotal struct {
	Rate       decimal.Decimal // 0.30 for 30%
	Recipients int
	Base       decimal.Decimal
	Withheld   decimal.Decimal
}

// MethodTotal is the payments by one method in one payout currency.
type MethodTotal struct {
	Method    string // "bank" or "paypal"
	Currency  string // ISO 4217 payout currency
	Payments  int
	AmountUSD decimal.Decimal
	// Amount is the sum of the converted amounts, in Currency.
	Amount decimal.Decimal
}

// ReasonTotal is the publishers held or carried for one primary reason.
type ReasonTotal struct {
	Reason     string // "payment_hold", "below_threshold", ...
	Publishers int
	Balance    decimal.Decimal
}

// CountAmount is a count with an amount in USD.
type CountAmount struct {
	Count  int
	Amount decimal.Decimal
}

// Check is one reconciliation check shown in the summary.
type Check struct {
	Name   string
	Pass   bool
	Detail string
}

// CycleData streams the rows of a cycle's workbook. Any field may be nil
// (an empty sheet). Each stream is read exactly once, in the order
// Payouts, Unpaid, Withholding, Files, Exceptions.
type CycleData struct {
	Payouts     Rows[PayoutRow]
	Unpaid      Rows[UnpaidRow]
	Withholding Rows[WithholdingRow]
	Files       Rows[FileRow]
	Exceptions  Rows[ExceptionRow]
}

// PayoutRow is one paid publisher.
type PayoutRow struct {
	SellerID    string
	DisplayName string
	Country     string // registration country, ISO 3166-1 alpha-2
	Method      string // "bank" or "paypal"
	// MaskedAccount must already be masked (last 4, SPEC §6.1): this
	// package writes it as given.
	MaskedAccount string
	Currency      string // payout currency (ISO 4217)
	// Gross is the balance paid out before withholding (6 decimals),
	// USBase the withholding base, Rate the withholding rate (0.30 = 30%)
	// chosen for RateReason ("w9", "no_treaty", "treaty:GB", ...).
	Gross      decimal.Decimal
	USBase     decimal.Decimal
	Rate       decimal.Decimal
	RateReason string
	Withheld   decimal.Decimal
	// PaidUSD is the amount paid in USD; FXRate converts it to Currency
	// (1 for USD) and PaidInCurrency is the converted amount, in Currency's
	// minor unit (SPEC §6.4).
	PaidUSD        decimal.Decimal
	FXRate         decimal.Decimal
	PaidInCurrency decimal.Decimal
	PaymentID      string
	File           string // payment file name, empty before release
}

// Unpaid statuses.
const (
	StatusHeld    = "held"
	StatusCarried = "carried"
)

// UnpaidRow is one held or carried publisher.
type UnpaidRow struct {
	SellerID    string
	DisplayName string
	Country     string
	Status      string // StatusHeld or StatusCarried
	// Balance is the whole balance kept for the next cycle (6 decimals).
	Balance decimal.Decimal
	// PrimaryReason is the first failing check; Reasons all of them, in
	// SPEC §3.2's order.
	PrimaryReason string
	Reasons       []string
	// Unblock says what would release the payment; empty means the
	// package's default text for PrimaryReason (see UnblockHint).
	Unblock string
}

// WithholdingRow is the withholding of one country at one rate for one
// reason.
type WithholdingRow struct {
	Country    string
	Rate       decimal.Decimal
	Reason     string
	Recipients int
	Base       decimal.Decimal
	Withheld   decimal.Decimal
}

// FileRow is one file of the cycle's manifest (SPEC §6.2).
type FileRow struct {
	Name            string
	Kind            string // "nacha", "pain.001", "paypal", ...
	SHA256          string
	Records         int
	ControlTotalUSD decimal.Decimal
	Currency        string
	ControlTotal    decimal.Decimal // in Currency
}

// Exception kinds the summary counts (any other kind is listed as given).
const (
	// ExceptionReturned: a payment of this cycle came back after the
	// release (SPEC §6.3); Amount is its USD amount, recredited to the
	// publisher's balance for the next cycle.
	ExceptionReturned = "payment returned"
	// ExceptionRecredited: a payment of an earlier cycle came back before
	// this cycle's cutoff; Amount was recredited into this cycle's opening
	// balance.
	ExceptionRecredited = "return recredited"
	// ExceptionPayPalItems: a PayPal payment above PayPal's per-item
	// maximum went out as several items (SPEC §6.2); Reference is the
	// payment id, Detail lists the items, Amount is the payment's USD
	// amount (the payment is one row on Payouts, as always).
	ExceptionPayPalItems = "paypal items"
)

// ExceptionRow is one thing finance should look at: a return, a failed
// item, a conflict, a check that did not pass.
type ExceptionRow struct {
	Kind      string
	SellerID  string
	Reference string // payment id, transaction id, file name...
	Detail    string
	Amount    decimal.Decimal // USD; zero when not about an amount
}
