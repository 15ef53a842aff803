package payout_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax"
)

// SPEC §6.4: an amount over a rail's hard limit that splitting cannot
// serve holds that publisher alone (amount_over_rail_limit, the last held
// reason), at exactly the limit it is paid.
func TestDecideHoldsAnAmountOverTheRailLimit(t *testing.T) {
	t.Parallel()
	usBank := func(s *payout.Snapshot) {}
	eurBank := func(s *payout.Snapshot) {
		s.PayoutAccount = &payout.PayoutAccountState{ID: 7, Method: payout.Bank, Status: payout.Verified, Currency: "EUR", BankCountry: "DE"}
		s.FXRate = d("0.5")
	}
	jpyBank := func(s *payout.Snapshot) {
		s.PayoutAccount = &payout.PayoutAccountState{ID: 7, Method: payout.Bank, Status: payout.Verified, Currency: "JPY", BankCountry: "JP"}
		s.FXRate = d("1000")
	}
	payPalUSD := func(s *payout.Snapshot) {
		s.PayoutAccount = &payout.PayoutAccountState{ID: 7, Method: payout.PayPal, Status: payout.Verified, Currency: "USD", BankCountry: "US"}
	}
	payPalEURNoRate := func(s *payout.Snapshot) {
		s.PayoutAccount = &payout.PayoutAccountState{ID: 7, Method: payout.PayPal, Status: payout.Verified, Currency: "EUR", BankCountry: "DE"}
	}
	for _, c := range []struct {
		name    string
		account func(*payout.Snapshot)
		amount  string
		reasons []payout.Reason
	}{
		{"ACH at its entry maximum", usBank, "99999999.99", nil},
		{"ACH a cent over", usBank, "100000000.00", []payout.Reason{payout.AmountOverRailLimit}},
		{"SEPA at 999,999,999.99 EUR", eurBank, "1999999999.98", nil},
		{"SEPA over it", eurBank, "1999999999.99", nil}, // 999,999,999.995 EUR rounds down to the limit
		{"SEPA a cent over", eurBank, "2000000000.00", []payout.Reason{payout.AmountOverRailLimit}},
		{"pain.001 JPY within 18 digits", jpyBank, "99999999999999.99", nil},
		{"PayPal split into 15,000 items of 20,000.00", payPalUSD, "300000000.00", nil},
		{"PayPal needing 15,001 items", payPalUSD, "300000000.01", []payout.Reason{payout.AmountOverRailLimit}},
		{"PayPal EUR without a rate yet: not judged", payPalEURNoRate, "900000000.00", nil},
	} {
		s := ok()
		c.account(&s)
		s.NewOther = d(c.amount)
		got := decide(t, s)
		require.Equal(t, c.reasons, got.Reasons, c.name)
		if c.reasons == nil {
			require.Equal(t, payout.Paid, got.Status, c.name)
			require.True(t, d(c.amount).Equal(got.Paid), c.name)
		} else {
			require.Equal(t, payout.Held, got.Status, c.name)
			require.True(t, got.Paid.IsZero(), c.name)
			require.True(t, d(c.amount).Equal(got.CarriedOther), "%s: the whole balance is kept", c.name)
		}
	}

	// Recorded with every other failing check, after the tax reasons.
	s := ok()
	s.NewOther = d("100000000.00")
	s.HoldOn = true
	s.Tax = tax.Standing{Status: tax.StatusMissing}
	got := decide(t, s)
	require.Equal(t, []payout.Reason{payout.PaymentHold, payout.TaxProfileMissing, payout.AmountOverRailLimit}, got.Reasons)

	over, detail, err := payout.OverRailLimit(payout.DefaultPolicy(), *ok().PayoutAccount, d("100000000.00"), decimal.NewFromInt(1))
	require.NoError(t, err)
	require.True(t, over)
	require.Equal(t, "100000000.00 USD is over the ach limit of 99999999.99 USD per payment", detail)
}
