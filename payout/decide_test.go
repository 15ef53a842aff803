package payout_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var november = payout.DefaultPolicy().CalendarFor(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))

func record(form tax.Form, country string, treaty bool) *tax.Record {
	s := tax.Submission{Form: form, LegalName: "Someone", ResidenceCountry: country, SignedOn: time.Date(2026, 9, 4, 0, 0, 0, 0, time.UTC)}
	if form == tax.FormW9 {
		s.TIN, s.TINKind, s.EntityType = "123456789", tax.TINSSN, tax.EntityIndividual
	} else {
		s.EntityType = tax.EntityIndividual
	}
	if treaty {
		s.Treaty = &tax.TreatyClaim{Country: country, Article: "12", IncomeCode: "12", Rate: decimal.Zero}
	}
	return &tax.Record{Submission: s, SubmittedAt: time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)}
}

func valid(rec *tax.Record) tax.Standing {
	return tax.Standing{Status: tax.StatusValid, Record: rec}
}

// ok is an account that passes every check: paid in full.
func ok() payout.Snapshot {
	return payout.Snapshot{
		AccountID: 1, SellerID: "S1",
		OpeningUS: decimal.Zero, OpeningOther: decimal.Zero, NewUS: decimal.Zero, NewOther: d("100"),
		AccountStatus: payout.AccountVerified,
		PayoutAccount: &payout.PayoutAccountState{ID: 7, Method: payout.Bank, Status: payout.Verified, Currency: "USD", BankCountry: "US"},
		Tax:           valid(record(tax.FormW9, "US", false)),
	}
}

func decide(t *testing.T, s payout.Snapshot) payout.Decision {
	t.Helper()
	decision, err := payout.Decide(november, payout.DefaultPolicy(), tax.DefaultTreatyTable(), s)
	require.NoError(t, err)
	return decision
}

func TestDecideEveryRowOfTheTable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  func(*payout.Snapshot)
		status  payout.Status
		reasons []payout.Reason
	}{
		{"all pass", func(*payout.Snapshot) {}, payout.Paid, nil},
		{"1 account not verified", func(s *payout.Snapshot) { s.AccountStatus = "pending" }, payout.Held, []payout.Reason{payout.AccountNotVerified}},
		{"2 agreement not accepted", func(s *payout.Snapshot) { s.AgreementHold = true }, payout.Held, []payout.Reason{payout.AgreementNotAccepted}},
		{"3 payment hold", func(s *payout.Snapshot) { s.HoldOn = true }, payout.Held, []payout.Reason{payout.PaymentHold}},
		{"4 no payout account", func(s *payout.Snapshot) { s.PayoutAccount = nil }, payout.Held, []payout.Reason{payout.NoPayoutAccount}},
		{"5 payout account pending", func(s *payout.Snapshot) { s.PayoutAccount.Status = payout.PendingVerification }, payout.Held, []payout.Reason{payout.PayoutAccountUnverified}},
		{"5 payout account needs update", func(s *payout.Snapshot) { s.PayoutAccount.Status = payout.NeedsUpdate }, payout.Held, []payout.Reason{payout.PayoutAccountUnverified}},
		{"6 tax profile missing", func(s *payout.Snapshot) { s.Tax = tax.Standing{Status: tax.StatusMissing} }, payout.Held, []payout.Reason{payout.TaxProfileMissing}},
		{"6 tax profile expired", func(s *payout.Snapshot) {
			s.Tax = tax.Standing{Status: tax.StatusExpired, Record: record(tax.FormW8BEN, "DE", false)}
		}, payout.Held, []payout.Reason{payout.TaxProfileExpired}},
		{"6 tax profile invalid", func(s *payout.Snapshot) {
			s.Tax = tax.Standing{Status: tax.StatusInvalid, Record: record(tax.FormW9, "US", false)}
		}, payout.Held, []payout.Reason{payout.TaxProfileInvalid}},
		{"7 negative balance", func(s *payout.Snapshot) { s.NewOther = d("-12.50") }, payout.Carried, []payout.Reason{payout.NegativeBalance}},
		{"7 zero balance from offsetting parts", func(s *payout.Snapshot) { s.NewUS, s.NewOther = d("-5"), d("5") }, payout.Carried, []payout.Reason{payout.ZeroBalance}},
		{"7 sub-cent balance pays nothing", func(s *payout.Snapshot) { s.NewOther = d("0.004") }, payout.Carried, []payout.Reason{payout.ZeroBalance}},
		{"8 below threshold", func(s *payout.Snapshot) { s.NewOther = d("49.999999") }, payout.Carried, []payout.Reason{payout.BelowThreshold}},
		{"several reasons, table order", func(s *payout.Snapshot) {
			s.AccountStatus, s.HoldOn, s.PayoutAccount, s.NewOther = "pending", true, nil, d("20")
		}, payout.Held, []payout.Reason{payout.AccountNotVerified, payout.PaymentHold, payout.NoPayoutAccount, payout.BelowThreshold}},
		{"held and carried reasons together: held", func(s *payout.Snapshot) {
			s.HoldOn, s.NewOther = true, d("-3")
		}, payout.Held, []payout.Reason{payout.PaymentHold, payout.NegativeBalance}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok()
			tc.change(&s)
			decision := decide(t, s)
			require.Equal(t, tc.status, decision.Status)
			require.Equal(t, tc.reasons, decision.Reasons)
			if tc.status != payout.Paid {
				require.True(t, decision.Paid.IsZero())
				require.True(t, decision.Withheld.IsZero(), "held and carried balances stay unwithheld")
				require.True(t, decision.CarriedUS.Equal(decision.BalanceUS))
				require.True(t, decision.CarriedOther.Equal(decision.BalanceOther))
			}
		})
	}
}

// The threshold compares the payable amount after withholding, rounded down
// to the cent: with 30% withheld on US sales, 71.42 pays 49.99 (carried),
// 71.43 pays exactly 50.00 (paid), 71.44 pays 50.01.
func TestThresholdBoundariesAfterWithholding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		us, other, withheld, paid, carriedOther string
		status                                  payout.Status
	}{
		{"71.42", "0", "0", "0", "0", payout.Carried},
		{"71.43", "0", "21.43", "50.00", "0", payout.Paid},
		{"71.44", "0", "21.43", "50.01", "0", payout.Paid},
		{"71.43", "0.009999", "21.43", "50.00", "0.009999", payout.Paid},
		{"71.425", "0", "21.43", "0", "0", payout.Carried}, // 21.4275 → 21.43 → payable 49.995 → 49.99
	} {
		s := ok()
		s.Tax = valid(record(tax.FormW8BEN, "BR", false)) // no treaty: 30%
		s.NewUS, s.NewOther = d(tc.us), d(tc.other)
		decision := decide(t, s)
		require.Equal(t, tc.status, decision.Status, "US %s", tc.us)
		require.True(t, d(tc.paid).Equal(decision.Paid), "paid %s for US %s", decision.Paid, tc.us)
		if tc.status == payout.Paid {
			require.True(t, d(tc.withheld).Equal(decision.Withheld), "withheld %s", decision.Withheld)
			require.Equal(t, "w8_no_treaty", decision.RateReason)
			require.True(t, d(tc.carriedOther).Equal(decision.CarriedOther))
			require.True(t, decision.CarriedUS.IsZero())
		} else {
			require.Equal(t, []payout.Reason{payout.BelowThreshold}, decision.Reasons)
		}
	}
}

func TestWithholdingOnlyOnUSSales(t *testing.T) {
	t.Parallel()
	s := ok()
	s.Tax = valid(record(tax.FormW8BEN, "GB", true))
	s.NewUS, s.NewOther = d("100"), d("100")
	decision := decide(t, s)
	require.Equal(t, "treaty:GB:12", decision.RateReason)
	require.True(t, decision.Withheld.IsZero())
	require.True(t, d("200").Equal(decision.Paid))

	s.Tax = valid(record(tax.FormW8BEN, "IN", true))
	decision = decide(t, s)
	require.True(t, d("15.00").Equal(decision.Withheld), "15%% of the US part only")
	require.True(t, d("185.00").Equal(decision.Paid))

	// A negative US part offsets other earnings and is not withheld.
	s.NewUS, s.NewOther = d("-20"), d("100")
	decision = decide(t, s)
	require.True(t, decision.Withheld.IsZero())
	require.True(t, decision.WithholdingBase.IsZero())
	require.True(t, d("80").Equal(decision.Paid))
}

func TestPerMethodThreshold(t *testing.T) {
	t.Parallel()
	policy := payout.DefaultPolicy()
	policy.Thresholds = map[string]decimal.Decimal{"paypal:USD": d("10.00")}
	s := ok()
	s.NewOther = d("20")
	s.PayoutAccount.Method = payout.PayPal
	decision, err := payout.Decide(november, policy, tax.DefaultTreatyTable(), s)
	require.NoError(t, err)
	require.Equal(t, payout.Paid, decision.Status)
	s.PayoutAccount.Method = payout.Bank
	decision, err = payout.Decide(november, policy, tax.DefaultTreatyTable(), s)
	require.NoError(t, err)
	require.Equal(t, []payout.Reason{payout.BelowThreshold}, decision.Reasons)
}

// Whatever the snapshot, the decision conserves money to the micro-dollar,
// pays only whole cents at or above the threshold, and pays nothing when any
// check fails.
func TestDecideConservesMoney(t *testing.T) {
	t.Parallel()
	standings := []tax.Standing{
		valid(record(tax.FormW9, "US", false)), valid(record(tax.FormW8BEN, "BR", false)),
		valid(record(tax.FormW8BEN, "IN", true)), valid(record(tax.FormW8BEN, "GB", true)),
		{Status: tax.StatusMissing}, {Status: tax.StatusExpired, Record: record(tax.FormW8BEN, "DE", false)},
	}
	amount := func(t *rapid.T, label string) decimal.Decimal {
		return decimal.New(rapid.Int64Range(-50_000_000, 500_000_000).Draw(t, label), -6)
	}
	rapid.Check(t, func(t *rapid.T) {
		s := ok()
		s.OpeningUS, s.OpeningOther, s.NewUS, s.NewOther = amount(t, "ou"), amount(t, "oo"), amount(t, "nu"), amount(t, "no")
		s.HoldOn = rapid.Bool().Draw(t, "hold")
		s.Tax = standings[rapid.IntRange(0, len(standings)-1).Draw(t, "tax")]
		decision, err := payout.Decide(november, payout.DefaultPolicy(), tax.DefaultTreatyTable(), s)
		require.NoError(t, err)
		in := decision.BalanceUS.Add(decision.BalanceOther)
		out := decision.Paid.Add(decision.Withheld).Add(decision.CarriedUS).Add(decision.CarriedOther)
		require.True(t, in.Equal(out), "in %s, out %s", in, out)
		if decision.Status == payout.Paid {
			require.Empty(t, decision.Reasons)
			require.True(t, decision.Paid.GreaterThanOrEqual(payout.DefaultThreshold))
			require.True(t, decision.Paid.Equal(decision.Paid.Truncate(2)))
			require.True(t, decision.CarriedOther.GreaterThanOrEqual(decimal.Zero) && decision.CarriedOther.LessThan(d("0.01")))
			require.True(t, decision.Withheld.LessThanOrEqual(decision.WithholdingBase.Mul(d("0.30")).Round(2)))
		} else {
			require.NotEmpty(t, decision.Reasons)
			require.True(t, decision.Paid.IsZero())
		}
		require.Equal(t, s.HoldOn, contains(decision.Reasons, payout.PaymentHold))
	})
}

func contains(reasons []payout.Reason, r payout.Reason) bool {
	for _, x := range reasons {
		if x == r {
			return true
		}
	}
	return false
}

func TestCalendar(t *testing.T) {
	t.Parallel()
	policy := payout.DefaultPolicy()
	c := policy.CalendarFor(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	require.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), c.Cutoff)
	require.Equal(t, time.Date(2026, 11, 5, 6, 0, 0, 0, time.UTC), c.CloseAt)
	require.Equal(t, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), c.PaymentDate, "15 Nov 2026 is a Sunday")
	policy.Holidays = []string{"2026-11-16"}
	require.Equal(t, time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC), policy.CalendarFor(c.Month).PaymentDate)
	require.Equal(t, time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), policy.CalendarFor(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)).PaymentDate)
	require.Equal(t, "P20261100000042", payout.PaymentID(c.Month, 42))
}
