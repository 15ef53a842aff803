package tax

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/internal/money"
)

// Cycle 2026-11: cutoff 2026-11-01, payment date 2026-11-16 (the 15th is a Sunday).
var (
	cutoff      = date(2026, time.November, 1)
	paymentDate = date(2026, time.November, 16)
	submitted   = time.Date(2026, time.September, 4, 9, 0, 0, 0, time.UTC)
)

// TestSpecRateTable walks every row of SPEC §5.3 from a form's history to
// the amount withheld.
func TestSpecRateTable(t *testing.T) {
	appliedFor := w9Individual()
	appliedFor.TIN, appliedFor.TINKind, appliedFor.TINAppliedFor = "", "", true
	matchFailed := record(w9Individual(), submitted)
	matchFailed.TINMatchFailed = true
	backup := Policy{BackupWithholding: true}
	hold := Policy{}

	for _, tc := range []struct {
		name   string
		record Record
		policy Policy
		base   string
		rate   string
		amount string
		reason string
		err    error
	}{
		{"valid W-9", record(w9Individual(), submitted), hold, "1000.00", "0", "0", ReasonW9, nil},
		{"valid W-9 of a corporation", record(w9Corporation(), submitted), hold, "1000.00", "0", "0", ReasonW9, nil},
		{"W-9 TIN applied for, backup", record(appliedFor, submitted), backup, "1000.00", "0.24", "240.00", ReasonBackupWithholding, nil},
		{"W-9 TIN applied for, hold", record(appliedFor, submitted), hold, "1000.00", "", "", "", ErrNotPayable},
		{"W-9 TIN match failed, backup", matchFailed, backup, "333.335", "0.24", "80.00", ReasonBackupWithholding, nil},
		{"W-9 TIN match failed, hold", matchFailed, hold, "1000.00", "", "", "", ErrNotPayable},
		{"W-8BEN no treaty", record(w8ben("DE"), submitted), hold, "1000.00", "0.30", "300.00", ReasonW8NoTreaty, nil},
		{"W-8BEN-E no treaty", record(w8bene("DE"), submitted), hold, "100.015", "0.30", "30.00", ReasonW8NoTreaty, nil},
		{"W-8BEN no treaty, backup policy is irrelevant", record(w8ben("DE"), submitted), backup, "10", "0.30", "3.00", ReasonW8NoTreaty, nil},
		{"treaty GB", record(withTreaty(w8ben("GB"), "0"), submitted), hold, "1000.00", "0", "0", "treaty:GB:12", nil},
		{"treaty DE entity", record(withTreaty(w8bene("DE"), "0"), submitted), hold, "1000.00", "0", "0", "treaty:DE:12", nil},
		{"treaty AU", record(withTreaty(w8ben("AU"), "0.05"), submitted), hold, "333.33", "0.05", "16.67", "treaty:AU:12", nil},
		{"treaty CN", record(withTreaty(w8bene("CN"), "0.10"), submitted), hold, "1234.565", "0.10", "123.46", "treaty:CN:12", nil},
		{"treaty IN", record(withTreaty(w8ben("IN"), "0.15"), submitted), hold, "0.03", "0.15", "0.00", "treaty:IN:12", nil},
		{"claimed rate above the table's", record(withTreaty(w8ben("JP"), "0.10"), submitted), hold, "100", "0", "0", "treaty:JP:12", nil},
		{"claimed rate below the table's", record(withTreaty(w8ben("IN"), "0"), submitted), hold, "100", "0.15", "15.00", "treaty:IN:12", nil},
		{"treaty claim, BR has no treaty", record(withTreaty(w8ben("BR"), "0.10"), submitted), hold, "1000.00", "0.30", "300.00", ReasonNoTreatyCountry, nil},
		{"treaty claim, SG has no treaty", record(withTreaty(w8bene("SG"), "0"), submitted), hold, "1000.00", "0.30", "300.00", ReasonNoTreatyCountry, nil},
		{"treaty claim, HU no longer in force", record(withTreaty(w8ben("HU"), "0"), submitted), hold, "1000.00", "0.30", "300.00", ReasonTreatyNotInForce, nil},
		{"negative US base", record(w8ben("DE"), submitted), hold, "-50.00", "0.30", "0", ReasonW8NoTreaty, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.record.Validate(today), "fixtures are valid forms")
			status, rec := StatusAt([]Record{tc.record}, nil, cutoff)
			got, err := Withhold(status, rec, DefaultTreatyTable(), paymentDate, dec(tc.base), tc.policy)
			require.Equal(t, tc.err == nil, Payable(status, rec, tc.policy))
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.True(t, dec(tc.rate).Equal(got.Rate), "rate %s", got.Rate)
			require.True(t, dec(tc.amount).Equal(got.Amount), "amount %s", got.Amount)
			require.Equal(t, tc.reason, got.Reason)
		})
	}
}

func TestHungaryTreatyEnds(t *testing.T) {
	rec := record(withTreaty(w8ben("HU"), "0"), date(2023, time.June, 1))
	rec.SignedOn = date(2023, time.May, 30)

	status, form := StatusAt([]Record{rec}, nil, date(2023, time.December, 1))
	got, err := Withhold(status, form, DefaultTreatyTable(), date(2023, time.December, 15), dec("1000"), Policy{})
	require.NoError(t, err)
	require.True(t, got.Rate.IsZero())
	require.True(t, got.Amount.IsZero())
	require.Equal(t, "treaty:HU:12", got.Reason)

	status, form = StatusAt([]Record{rec}, nil, date(2024, time.January, 1))
	got, err = Withhold(status, form, DefaultTreatyTable(), date(2024, time.January, 15), dec("1000"), Policy{})
	require.NoError(t, err)
	require.True(t, dec("0.30").Equal(got.Rate))
	require.True(t, dec("300").Equal(got.Amount))
	require.Equal(t, ReasonTreatyNotInForce, got.Reason)
}

func TestHeldStatusesAreNotPayable(t *testing.T) {
	w8 := record(w8ben("DE"), submitted)
	renamed := []Change{{At: submitted.Add(time.Hour), LegalName: "Someone Else"}}
	w9 := record(w9Individual(), submitted)
	for name, tc := range map[string]struct {
		records []Record
		changes []Change
		at      time.Time
		status  Status
	}{
		"missing":                 {nil, nil, cutoff, StatusMissing},
		"submitted at the cutoff": {[]Record{record(w8ben("DE"), cutoff)}, nil, cutoff, StatusMissing},
		"expired W-8":             {[]Record{w8}, nil, date(2030, time.January, 1), StatusExpired},
		"W-9 renamed":             {[]Record{w9}, renamed, cutoff, StatusInvalid},
	} {
		status, rec := StatusAt(tc.records, tc.changes, tc.at)
		require.Equal(t, tc.status, status, name)
		for _, policy := range []Policy{{}, {BackupWithholding: true}} {
			require.False(t, Payable(status, rec, policy), name)
			_, err := Withhold(status, rec, DefaultTreatyTable(), paymentDate, dec("100"), policy)
			require.ErrorIs(t, err, ErrNotPayable, name)
			require.ErrorContains(t, err, string(tc.status), name)
		}
	}
}

func TestWithholdNeedsATableForATreatyClaim(t *testing.T) {
	status, rec := StatusAt([]Record{record(withTreaty(w8ben("GB"), "0"), submitted)}, nil, cutoff)
	_, err := Withhold(status, rec, nil, paymentDate, dec("100"), Policy{})
	require.ErrorIs(t, err, ErrNoTreatyTable)

	// Without a claim, no table is needed.
	status, rec = StatusAt([]Record{record(w8ben("GB"), submitted)}, nil, cutoff)
	_, err = Withhold(status, rec, nil, paymentDate, dec("100"), Policy{})
	require.NoError(t, err)
}

func TestWithholdRoundsHalfUpOnce(t *testing.T) {
	status, rec := StatusAt([]Record{record(w8ben("DE"), submitted)}, nil, cutoff)
	for base, want := range map[string]string{
		"0.05":            "0.02", // 0.015 → 0.02
		"0.01":            "0",    // 0.003 → 0.00
		"1.05":            "0.32", // 0.315 → 0.32
		"0":               "0",
		"-0.01":           "0",
		"12345678.999999": "3703703.70",
	} {
		got, err := Withhold(status, rec, DefaultTreatyTable(), paymentDate, dec(base), Policy{})
		require.NoError(t, err)
		require.True(t, dec(want).Equal(got.Amount), "base %s: %s", base, got.Amount)
		require.True(t, decimal.Max(decimal.Zero, dec(base)).Equal(got.Base))
	}
}

// genRecord draws a form that passed validation, possibly with a treaty
// claim for any country (in the table or not) and a TIN match failure.
func genRecord(t *rapid.T) Record {
	var s Submission
	countries := []string{"GB", "DE", "HU", "AU", "CN", "IN", "BR", "SG", "FR", "JP"}
	switch rapid.IntRange(0, 3).Draw(t, "form") {
	case 0:
		s = w9Individual()
		if rapid.Bool().Draw(t, "tin applied for") {
			s.TIN, s.TINKind, s.TINAppliedFor = "", "", true
		}
	case 1:
		s = w9Corporation()
	case 2:
		s = w8ben(rapid.SampledFrom(countries).Draw(t, "country"))
	default:
		s = w8bene(rapid.SampledFrom(countries).Draw(t, "country"))
	}
	if s.Form.IsW8() && rapid.Bool().Draw(t, "treaty") {
		s = withTreaty(s, decimal.New(int64(rapid.IntRange(0, 30).Draw(t, "claimed")), -2).String())
	}
	s.SignedOn = date(rapid.IntRange(2015, 2030).Draw(t, "signed year"), time.March, 1)
	r := record(s, s.SignedOn.Add(time.Hour))
	r.TINMatchFailed = rapid.IntRange(0, 9).Draw(t, "match") == 0
	return r
}

func genBase(t *rapid.T) decimal.Decimal {
	return decimal.New(rapid.Int64Range(-10_000_000_000_000, 10_000_000_000_000).Draw(t, "base micro-dollars"), -6)
}

func TestWithholdProperties(t *testing.T) {
	table := DefaultTreatyTable()
	tableRates := map[string]bool{"0": true, "0.24": true, "0.3": true}
	for _, row := range table.Rows() {
		tableRates[row.Rate.String()] = true
	}
	rapid.Check(t, func(t *rapid.T) {
		rec := genRecord(t)
		at := date(rapid.IntRange(2015, 2035).Draw(t, "cutoff year"), time.Month(rapid.IntRange(1, 12).Draw(t, "cutoff month")), 1)
		payment := at.AddDate(0, 0, rapid.IntRange(0, 30).Draw(t, "payment day"))
		policy := Policy{BackupWithholding: rapid.Bool().Draw(t, "backup")}
		base := genBase(t)

		status, form := StatusAt([]Record{rec}, nil, at)
		got, err := Withhold(status, form, table, payment, base, policy)
		if err != nil {
			require.ErrorIs(t, err, ErrNotPayable)
			require.False(t, Payable(status, form, policy))
			return
		}
		require.True(t, Payable(status, form, policy))

		require.False(t, got.Amount.IsNegative(), "amount %s", got.Amount)
		if !base.IsPositive() {
			require.True(t, got.Amount.IsZero(), "base %s amount %s", base, got.Amount)
		}
		ceiling := money.RoundHalfUp(StatutoryRate.Mul(decimal.Max(decimal.Zero, base)), 2)
		require.False(t, got.Amount.GreaterThan(ceiling), "amount %s above 30%% of %s", got.Amount, base)
		require.True(t, got.Amount.Equal(got.Amount.Round(2)), "whole cents")
		require.True(t, tableRates[got.Rate.String()], "rate %s", got.Rate)
		require.True(t, got.Amount.Equal(money.RoundHalfUp(got.Rate.Mul(got.Base), 2)))
		require.NotEmpty(t, got.Reason)

		switch {
		case got.Reason == ReasonBackupWithholding:
			require.True(t, BackupWithholdingRate.Equal(got.Rate))
			require.True(t, policy.BackupWithholding)
			require.Equal(t, FormW9, form.Form)
		case form.Form == FormW9:
			require.Equal(t, ReasonW9, got.Reason)
			require.True(t, got.Rate.IsZero())
		default:
			require.Equal(t, StatusValid, status)
			if got.Reason != TreatyReason(form.ResidenceCountry, "12") {
				require.True(t, StatutoryRate.Equal(got.Rate), "reason %s rate %s", got.Reason, got.Rate)
			}
		}
	})
}

// TestWithholdIsMonotonicInBase: more US-sourced earnings never withhold less.
func TestWithholdIsMonotonicInBase(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rec := genRecord(t)
		status, form := StatusAt([]Record{rec}, nil, rec.SubmittedAt.Add(time.Hour))
		policy := Policy{BackupWithholding: true}
		a, b := genBase(t), genBase(t)
		if a.GreaterThan(b) {
			a, b = b, a
		}
		low, err := Withhold(status, form, DefaultTreatyTable(), paymentDate, a, policy)
		if errors.Is(err, ErrNotPayable) {
			return
		}
		require.NoError(t, err)
		high, err := Withhold(status, form, DefaultTreatyTable(), paymentDate, b, policy)
		require.NoError(t, err)
		require.False(t, low.Amount.GreaterThan(high.Amount))
	})
}
