package tax

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/money"
)

// Statutory rates. Read-only: never assign to them.
var (
	// StatutoryRate is the 30% withheld on US-source royalties paid to a
	// foreign person without a treaty rate (IRC §§1441, 1442; IRS
	// Publication 515), and the highest rate payrun ever withholds.
	StatutoryRate = decimal.RequireFromString("0.30")
	// BackupWithholdingRate is the 24% backup withholding rate on payments
	// to US persons with a missing or incorrect TIN (IRC §3406(a)(1)).
	BackupWithholdingRate = decimal.RequireFromString("0.24")
)

// Withholding reasons, as recorded on a payout and shown in summaries.
// A treaty rate's reason is TreatyReason(country, incomeCode), "treaty:GB:12".
const (
	ReasonW9                = "w9"
	ReasonBackupWithholding = "backup_withholding"
	ReasonW8NoTreaty        = "w8_no_treaty"
	ReasonNoTreatyCountry   = string(NoTreatyCountry)
	ReasonTreatyNotInForce  = string(TreatyNotInForce)
)

// TreatyReason is the withholding reason of a treaty rate: "treaty:GB:12".
func TreatyReason(country, incomeCode string) string {
	return "treaty:" + country + ":" + incomeCode
}

// ErrNotPayable: the profile's status does not allow a payment (SPEC §3.2,
// check 6); such a publisher is held before withholding is computed.
var ErrNotPayable = errors.New("tax profile does not allow payment")

// ErrNoTreatyTable: a treaty claim needs a treaty table and none was given.
var ErrNoTreatyTable = errors.New("no treaty table to look the treaty claim up in")

// Policy is the configuration of the withholding rules.
type Policy struct {
	// BackupWithholding pays W-9 publishers whose TIN is missing (applied
	// for) or failed IRS TIN matching with 24% backup withholding, instead of
	// holding them (SPEC §5.3; default off: hold).
	BackupWithholding bool
}

// Withholding is the tax withheld from one payout.
type Withholding struct {
	// Rate is the rate applied, whatever the base.
	Rate decimal.Decimal
	// Base is the withholding base: max(0, US-sourced balance) (SPEC §5.2).
	Base decimal.Decimal
	// Amount is round-half-up(Rate × Base, 2) (SPEC §1).
	Amount decimal.Decimal
	// Reason says where the rate comes from (ReasonW9, TreatyReason, ...).
	Reason string
}

// backupCase reports whether rec is a W-9 that backup withholding is for: its
// TIN is missing or failed IRS TIN matching.
func backupCase(status Status, rec *Record) bool {
	return rec != nil && rec.Form == FormW9 && (status == StatusValid || status == StatusInvalid) &&
		(rec.TIN == "" || rec.TINMatchFailed)
}

// Payable reports whether a publisher whose profile has this status and
// form may be paid: the profile is valid, or (with policy.BackupWithholding)
// it is a W-9 whose TIN is missing or failed matching. It agrees with Rate:
// Payable is false exactly when Rate returns ErrNotPayable.
func Payable(status Status, rec *Record, policy Policy) bool {
	if backupCase(status, rec) {
		return policy.BackupWithholding
	}
	return status == StatusValid && rec != nil
}

// Rate decides the withholding rate of a payment made on paymentDate to a
// publisher whose profile, as of the cycle's cutoff, has status and the form
// rec (from StatusAt), following SPEC §5.3:
//
//	W-9, valid                                     0%    w9
//	W-9, TIN missing or failed matching            24%   backup_withholding (policy.BackupWithholding)
//	W-8, no treaty claim                           30%   w8_no_treaty
//	W-8, treaty claim, table row in force          row   treaty:CC:NN
//	W-8, treaty claim, country not in the table    30%   no_treaty_country
//	W-8, treaty claim, no row in force that day    30%   treaty_not_in_force
//
// The treaty rate is the table's, looked up by the claim's country and income
// code on the payment date; the rate written on the form is not used.
// Errors: ErrNotPayable (wrapped, naming the status) for any other status,
// ErrNoTreatyTable for a treaty claim with a nil table.
func Rate(status Status, rec *Record, table *TreatyTable, paymentDate time.Time, policy Policy) (decimal.Decimal, string, error) {
	if !Payable(status, rec, policy) {
		return decimal.Zero, "", fmt.Errorf("%w: status %s", ErrNotPayable, status)
	}
	if backupCase(status, rec) {
		return BackupWithholdingRate, ReasonBackupWithholding, nil
	}
	switch {
	case rec.Form == FormW9:
		return decimal.Zero, ReasonW9, nil
	case !rec.Form.IsW8():
		return decimal.Zero, "", fmt.Errorf("%w: unknown form %q", ErrNotPayable, rec.Form)
	case rec.Treaty == nil:
		return StatutoryRate, ReasonW8NoTreaty, nil
	case table == nil:
		return decimal.Zero, "", ErrNoTreatyTable
	}
	row, result := table.Lookup(rec.Treaty.Country, rec.Treaty.IncomeCode, paymentDate)
	if result != TreatyInForce {
		return StatutoryRate, string(result), nil
	}
	return row.Rate, TreatyReason(row.Country, row.IncomeCode), nil
}

// Withhold computes the withholding of one payout: the Rate, applied to the
// base max(0, usBase) — the US-sourced part of the balance (SPEC §5.2) — and
// rounded half up to the cent with money.RoundHalfUp (SPEC §1). The amount is
// never negative and never more than the rounded 30% of the base.
// Errors: those of Rate.
func Withhold(status Status, rec *Record, table *TreatyTable, paymentDate time.Time, usBase decimal.Decimal, policy Policy) (Withholding, error) {
	rate, reason, err := Rate(status, rec, table, paymentDate, policy)
	if err != nil {
		return Withholding{}, err
	}
	base := decimal.Max(decimal.Zero, usBase)
	return Withholding{
		Rate:   rate,
		Base:   base,
		Amount: money.RoundHalfUp(rate.Mul(base), money.CentScale),
		Reason: reason,
	}, nil
}
