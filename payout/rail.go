package payout

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/paypal"
	"github.com/payrun/payrun/payout/sepa"
)

// Rails (the payments table's rail column).
const (
	RailACH    = "ach"
	RailSEPA   = "sepa" // every pain.001 payment, SEPA or cross-border
	RailPayPal = "paypal"
)

// RailOf is the rail that pays a payout account: ACH for US bank accounts,
// pain.001 for other bank accounts, PayPal.
func RailOf(account PayoutAccountState) string {
	switch {
	case account.Method == PayPal:
		return RailPayPal
	case account.BankCountry == "US":
		return RailACH
	default:
		return RailSEPA
	}
}

// RailMinorUnit is the decimals an amount in currency has on the rail that
// pays account: PayPal takes no decimals for HUF, JPY and TWD (although ISO
// 4217 gives HUF and TWD two); banks take the ISO 4217 minor unit.
func RailMinorUnit(account PayoutAccountState) (int32, error) {
	if account.Method == PayPal {
		return paypal.Decimals(account.Currency)
	}
	return money.MinorUnit(account.Currency)
}

// RailLimit is a hard limit on one payment that splitting cannot serve
// (SPEC §6.4), in the payout currency:
//
//   - ACH (US bank accounts, USD): $99,999,999.99 per entry
//     (nacha.MaxEntryAmount, the 10-digit amount field);
//   - pain.001 in EUR: 999,999,999.99 per transfer (sepa.MaxSEPAAmount,
//     the EPC maximum; applied to every EUR bank payment, SEPA or not,
//     since the debtor's account is the release's configuration);
//   - pain.001 in other currencies: 18 digits (ISO 20022 totalDigits);
//   - PayPal: the per-item maximum is served by splitting (SPEC §6.2), but
//     one payment's items go in one request of at most paypal.BatchLimit
//     (15,000) items, so at most 15,000 × the item maximum
//     (Policy.PayPalItemMaxFor).
//
// rate is the cycle's FX rate for the account's currency (units per USD; 1
// for USD). ok is false when the limit is not known yet: a PayPal currency
// whose item maximum is the USD one converted, without a rate.
func RailLimit(policy Policy, account PayoutAccountState, rate decimal.Decimal) (limit decimal.Decimal, ok bool, err error) {
	places, err := RailMinorUnit(account)
	if err != nil {
		return decimal.Zero, false, err
	}
	switch RailOf(account) {
	case RailACH:
		return nacha.MaxEntryAmount, true, nil
	case RailSEPA:
		if account.Currency == "EUR" {
			return sepa.MaxSEPAAmount, true, nil
		}
		// The largest amount of 18 digits with places of them decimals.
		return decimal.New(1, sepa.MaxAmountDigits-places).Sub(decimal.New(1, -places)), true, nil
	default:
		if _, set := policy.PayPalItemMax[account.Currency]; !set && account.Currency != "USD" && !rate.IsPositive() {
			return decimal.Zero, false, nil
		}
		itemMax, err := policy.PayPalItemMaxFor(account.Currency, rate)
		if err != nil {
			return decimal.Zero, false, err
		}
		return itemMax.Mul(decimal.NewFromInt(paypal.BatchLimit)), true, nil
	}
}

// OverRailLimit reports whether a payment of paidUSD to account, converted
// at rate and rounded down to the rail's minor unit as the release will
// convert it, is more than RailLimit allows (SPEC §6.4), and says by how
// much. A currency other than USD without a rate (zero) is not judged: its
// amount is not known yet.
func OverRailLimit(policy Policy, account PayoutAccountState, paidUSD, rate decimal.Decimal) (bool, string, error) {
	if account.Currency == "USD" {
		rate = decimal.NewFromInt(1)
	}
	if !rate.IsPositive() {
		return false, "", nil
	}
	limit, ok, err := RailLimit(policy, account, rate)
	if err != nil || !ok {
		return false, "", err
	}
	places, err := RailMinorUnit(account)
	if err != nil {
		return false, "", err
	}
	amount, _ := money.FloorToMinor(paidUSD.Mul(rate), places)
	if !amount.GreaterThan(limit) {
		return false, "", nil
	}
	return true, fmt.Sprintf("%s %s is over the %s limit of %s %s per payment", amount.StringFixed(places), account.Currency,
		RailOf(account), limit.StringFixed(places), account.Currency), nil
}

// CurrencyPlaces is the decimals an amount in currency is paid with on
// method's rail: PayPal takes none for some currencies ISO 4217 gives two
// (HUF, TWD); banks take the ISO minor unit.
// Errors: a currency the rail or payrun does not support.
func CurrencyPlaces(method Method, currency string) (int32, error) {
	if method == PayPal {
		return paypal.Decimals(currency)
	}
	return money.MinorUnit(currency)
}

// ConvertDown converts a USD amount at rate (units per USD) into currency
// on method's rail, rounded down to the rail's minor unit: payrun never
// sends more than the USD it debited. The release and the publisher's
// payment estimate both convert with it.
func ConvertDown(usd, rate decimal.Decimal, method Method, currency string) (decimal.Decimal, error) {
	places, err := CurrencyPlaces(method, currency)
	if err != nil {
		return decimal.Zero, err
	}
	amount, _ := money.FloorToMinor(usd.Mul(rate), places)
	return amount, nil
}
