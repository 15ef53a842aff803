package payout

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/tax"
)

// Status is what the close decided for one account.
type Status string

// Statuses (SPEC §3.2).
const (
	Paid    Status = "paid"
	Held    Status = "held"
	Carried Status = "carried"
)

// Reason is one failing check of SPEC §3.2.
type Reason string

// Reasons in the order of SPEC §3.2's table: the first failing one is the
// primary reason.
const (
	AccountNotVerified      Reason = "account_not_verified"
	AgreementNotAccepted    Reason = "agreement_not_accepted"
	PaymentHold             Reason = "payment_hold"
	NoPayoutAccount         Reason = "no_payout_account"
	PayoutAccountUnverified Reason = "payout_account_unverified"
	TaxProfileMissing       Reason = "tax_profile_missing"
	TaxProfileExpired       Reason = "tax_profile_expired"
	TaxProfileInvalid       Reason = "tax_profile_invalid"
	// AmountOverRailLimit: the payment is more than its rail can carry in
	// one payment and splitting cannot serve it (SPEC §6.4, RailLimit). The
	// last held reason: the publisher alone is held, never the release.
	AmountOverRailLimit Reason = "amount_over_rail_limit"
	NegativeBalance     Reason = "negative_balance"
	ZeroBalance         Reason = "zero_balance"
	BelowThreshold      Reason = "below_threshold"
)

// Reasons lists every reason in SPEC §3.2's order, the order every summary
// (the CLI, the workbook, metrics) shows them in. The held reasons come
// first, then the carried ones.
var Reasons = []Reason{AccountNotVerified, AgreementNotAccepted, PaymentHold, NoPayoutAccount, PayoutAccountUnverified,
	TaxProfileMissing, TaxProfileExpired, TaxProfileInvalid, AmountOverRailLimit, NegativeBalance, ZeroBalance, BelowThreshold}

// Held reports whether a reason holds the balance (a check before the
// amount failed: status held) rather than carries it (the amount is not
// positive or under the threshold: status carried). This is the one place
// the rule is written; the close, the CLI, the metrics and the workbook ask it.
func (r Reason) Held() bool {
	switch r {
	case NegativeBalance, ZeroBalance, BelowThreshold:
		return false
	}
	return true
}

// Order is the reason's place in Reasons (len(Reasons) for an unknown one,
// so unknown reasons sort last).
func (r Reason) Order() int {
	for i, known := range Reasons {
		if known == r {
			return i
		}
	}
	return len(Reasons)
}

// Method is how a payout account is paid.
type Method string

// Methods (SPEC §6.1).
const (
	Bank   Method = "bank"
	PayPal Method = "paypal"
)

// Payout account verification states (SPEC §6.1).
const (
	PendingVerification = "pending_verification"
	Verified            = "verified"
	Rejected            = "rejected"
	NeedsUpdate         = "needs_update"
)

// AccountVerified is the account status that lets an account be paid (§7.1).
const AccountVerified = "verified"

// PayoutAccountState is the payout account in force at the cutoff.
type PayoutAccountState struct {
	ID          int64
	Method      Method
	Status      string // its verification state as of the cutoff
	Currency    string
	BankCountry string
}

// Snapshot is everything the close knows about one account as of the cutoff.
type Snapshot struct {
	AccountID int64
	SellerID  string
	// Opening balances carried out of the previous cycle (plus returned
	// payments credited back, in the other part), and the lines that became
	// available in this cycle's window, each split US-sourced / other.
	OpeningUS, OpeningOther decimal.Decimal
	NewUS, NewOther         decimal.Decimal
	AccountStatus           string // newest account status before the cutoff
	AgreementHold           bool   // a required agreement is past its grace period and not accepted
	HoldOn                  bool   // the payment hold switch at the cutoff
	PayoutAccount           *PayoutAccountState
	Tax                     tax.Standing
	// FXRate is the cycle's rate for the payout account's currency as the
	// close found it (units per USD; zero when none was loaded before the
	// close started; ignored for USD). Only the rail limit reads it.
	FXRate decimal.Decimal
}

// Decision is the close's verdict on one account, with every amount it
// posts. Invariant: BalanceUS + BalanceOther = Paid + Withheld + CarriedUS +
// CarriedOther, to the micro-dollar.
type Decision struct {
	AccountID       int64
	Status          Status
	Reasons         []Reason // every failing check, in table order
	OpeningUS       decimal.Decimal
	OpeningOther    decimal.Decimal
	NewUS           decimal.Decimal
	NewOther        decimal.Decimal
	BalanceUS       decimal.Decimal
	BalanceOther    decimal.Decimal
	WithholdingBase decimal.Decimal
	Rate            decimal.Decimal
	RateReason      string
	Withheld        decimal.Decimal
	Paid            decimal.Decimal // USD, whole cents
	CarriedUS       decimal.Decimal
	CarriedOther    decimal.Decimal
	PayoutAccount   *PayoutAccountState
	Threshold       decimal.Decimal // the threshold that applied
	// Payable is the amount checks 7 and 8 judged: balance − withholding
	// (at the statutory 30% when the tax profile is not payable), rounded
	// down to the cent. It equals Paid for a paid account; for a carried
	// one, Threshold − Payable is what the balance still needs.
	Payable decimal.Decimal
	// JudgedRate, JudgedReason and JudgedWithholding are the withholding
	// Payable was judged with: a paid account's Rate, RateReason and
	// Withheld; for a held or carried one, what paying it would withhold
	// (nothing is withheld from a balance that is kept).
	JudgedRate        decimal.Decimal
	JudgedReason      string
	JudgedWithholding decimal.Decimal
}

// StatutoryJudgement is the JudgedReason of an account whose tax profile is
// not payable: checks 7 and 8 judge it at the statutory rate.
const StatutoryJudgement = "statutory_rate_no_valid_tax_profile"

// PrimaryReason is the first failing check, or "" for a paid account.
func (d Decision) PrimaryReason() Reason {
	if len(d.Reasons) == 0 {
		return ""
	}
	return d.Reasons[0]
}

// Decide applies SPEC §3.2 to one account. It is pure: the same inputs give
// the same decision, whenever and wherever it runs.
//
//   - Every failing check is recorded in table order; rows 1-6 hold, rows 7-8
//     carry. After row 6 comes the rail limit (SPEC §6.4): a payable amount
//     that its payout account's rail cannot carry in one payment, even
//     split (OverRailLimit), holds with AmountOverRailLimit.
//   - The payable amount is balance − withholding, rounded down to the cent;
//     withholding = round-half-up(rate × max(0, US-sourced balance), 2) at the
//     rate of the tax package for the payment date.
//   - When the tax profile is not payable, the rate is unknown; checks 7 and 8
//     are then judged at the statutory 30% (what a payee without a valid form
//     would be withheld), so the reasons still show whether the balance would
//     clear the threshold. Such an account is held anyway.
//   - Held and carried accounts keep their whole balance, unwithheld, split as
//     it was. A paid account keeps only the sub-cent remainder, in its other
//     part (the US part was fully withheld on).
func Decide(calendar Calendar, policy Policy, treaties *tax.TreatyTable, s Snapshot) (Decision, error) {
	d, err := decide(calendar, policy, treaties, s)
	if err != nil {
		return d, err
	}
	if err := d.conserved(); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// ErrNotConserved: a decision would invent or lose money. It can only come
// from a bug; Decide asserts the invariant on every decision it returns,
// and the close fails rather than post one.
var ErrNotConserved = errors.New("decision does not conserve the balance")

// conserved checks the decision's invariant: BalanceUS + BalanceOther =
// Paid + Withheld + CarriedUS + CarriedOther, exactly, with nothing paid or
// withheld below zero.
func (d Decision) conserved() error {
	in := d.BalanceUS.Add(d.BalanceOther)
	out := d.Paid.Add(d.Withheld).Add(d.CarriedUS).Add(d.CarriedOther)
	if !in.Equal(out) || d.Paid.IsNegative() || d.Withheld.IsNegative() {
		return fmt.Errorf("%w: account %d: balance %s, paid %s + withheld %s + carried %s + %s = %s",
			ErrNotConserved, d.AccountID, in, d.Paid, d.Withheld, d.CarriedUS, d.CarriedOther, out)
	}
	return nil
}

func decide(calendar Calendar, policy Policy, treaties *tax.TreatyTable, s Snapshot) (Decision, error) {
	d := Decision{
		AccountID:     s.AccountID,
		OpeningUS:     s.OpeningUS,
		OpeningOther:  s.OpeningOther,
		NewUS:         s.NewUS,
		NewOther:      s.NewOther,
		BalanceUS:     s.OpeningUS.Add(s.NewUS),
		BalanceOther:  s.OpeningOther.Add(s.NewOther),
		PayoutAccount: s.PayoutAccount,
		Rate:          decimal.Zero,
		Withheld:      decimal.Zero,
		Paid:          decimal.Zero,
	}
	total := d.BalanceUS.Add(d.BalanceOther)
	if s.AccountStatus != AccountVerified {
		d.Reasons = append(d.Reasons, AccountNotVerified)
	}
	if s.AgreementHold {
		d.Reasons = append(d.Reasons, AgreementNotAccepted)
	}
	if s.HoldOn {
		d.Reasons = append(d.Reasons, PaymentHold)
	}
	switch {
	case s.PayoutAccount == nil:
		d.Reasons = append(d.Reasons, NoPayoutAccount)
	case s.PayoutAccount.Status != Verified:
		d.Reasons = append(d.Reasons, PayoutAccountUnverified)
	}
	taxPolicy := tax.Policy{BackupWithholding: policy.BackupWithholding}
	base := decimal.Max(decimal.Zero, d.BalanceUS)
	var withholding tax.Withholding
	if tax.Payable(s.Tax.Status, s.Tax.Record, taxPolicy) {
		var err error
		withholding, err = tax.Withhold(s.Tax.Status, s.Tax.Record, treaties, calendar.PaymentDate, d.BalanceUS, taxPolicy)
		if err != nil {
			return Decision{}, fmt.Errorf("account %d: withholding: %w", s.AccountID, err)
		}
	} else {
		reason := Reason(s.Tax.Status.HoldReason())
		if reason == "" {
			reason = TaxProfileInvalid
		}
		d.Reasons = append(d.Reasons, reason)
		withholding = tax.Withholding{Rate: tax.StatutoryRate, Base: base, Amount: money.RoundHalfUp(tax.StatutoryRate.Mul(base), money.CentScale),
			Reason: StatutoryJudgement}
	}
	method, currency := Method(""), "USD"
	if s.PayoutAccount != nil {
		method, currency = s.PayoutAccount.Method, s.PayoutAccount.Currency
	}
	d.Threshold = policy.ThresholdFor(method, currency)
	payable, _ := money.FloorToMinor(total.Sub(withholding.Amount), money.CentScale)
	d.Payable = payable
	d.JudgedRate, d.JudgedReason, d.JudgedWithholding = withholding.Rate, withholding.Reason, withholding.Amount
	if s.PayoutAccount != nil && payable.IsPositive() {
		// A currency the rail cannot pay in at all is not judged here: the
		// release names it, as it always did.
		if over, _, err := OverRailLimit(policy, *s.PayoutAccount, payable, s.FXRate); err == nil && over {
			d.Reasons = append(d.Reasons, AmountOverRailLimit)
		}
	}
	switch {
	case payable.IsNegative():
		d.Reasons = append(d.Reasons, NegativeBalance)
	case payable.IsZero():
		d.Reasons = append(d.Reasons, ZeroBalance)
	case payable.LessThan(d.Threshold):
		d.Reasons = append(d.Reasons, BelowThreshold)
	}
	if len(d.Reasons) > 0 {
		d.Status = Carried
		if d.Reasons[0].Held() {
			d.Status = Held
		}
		d.CarriedUS, d.CarriedOther = d.BalanceUS, d.BalanceOther
		return d, nil
	}
	d.Status = Paid
	d.WithholdingBase = withholding.Base
	d.Rate = withholding.Rate
	d.RateReason = withholding.Reason
	d.Withheld = withholding.Amount
	d.Paid = payable
	d.CarriedUS = decimal.Zero
	d.CarriedOther = total.Sub(d.Withheld).Sub(d.Paid)
	return d, nil
}

// PaymentID is the stable id of an account's payment in a cycle: the same on
// every run, so files are byte-identical and a resend is recognised. It is
// "P" + YYYYMM + the account id in 8 digits: 15 characters, the width of a
// NACHA entry's individual id.
func PaymentID(month time.Time, accountID int64) string {
	return fmt.Sprintf("P%s%08d", month.Format("200601"), accountID)
}
