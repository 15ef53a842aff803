package release_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/testsupport/fixture"
)

// Rates are plain decimals: digits and an optional '.' between digits, no
// sign or exponent, at most 10 digits on each side, above zero.
func TestParseRate(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"0.9335": "0.9335", " 151.37 ": "151.37", "1": "1", "0001.5": "1.5", "1234567890.0123456789": "1234567890.0123456789",
	} {
		value, problem := release.ParseRate(text)
		require.Empty(t, problem, text)
		require.Equal(t, want, value.String(), text)
	}
	for text, reason := range map[string]string{
		"1e3":           "not a plain decimal",
		"1E-3":          "not a plain decimal",
		"+0.93":         "not a plain decimal",
		"-0.93":         "not a plain decimal",
		".93":           "not a plain decimal",
		"93.":           "not a plain decimal",
		"0.9.3":         "not a plain decimal",
		"1,000.5":       "not a plain decimal",
		"1_000":         "not a plain decimal",
		"0x1F":          "not a plain decimal",
		"NaN":           "not a plain decimal",
		"Infinity":      "not a plain decimal",
		"٣.٥":           "not a plain decimal",
		"0.9 3":         "not a plain decimal",
		"":              "required",
		"0":             "not above zero",
		"0.0000000000":  "not above zero",
		"12345678901":   "more than 10 digits before the '.'",
		"0.12345678901": "more than 10 decimals",
	} {
		_, problem := release.ParseRate(text)
		require.Contains(t, problem, reason, "%q", text)
	}
}

// The contract's "plain decimals" message is the rule: an exponent is
// refused before the database is touched (there is none here), naming the
// line, the column and the reason.
func TestFXImportRefusesAnExponent(t *testing.T) {
	t.Parallel()
	_, err := release.ImportFX(context.Background(), nil, fixture.Month("2026-11"),
		strings.NewReader(release.FXHeader+"\nGBP,0.79,2026-11-04,ECB\nEUR,1e3,2026-11-04,ECB\n"), fixture.At("2026-11-04T12:00:00Z"))
	require.ErrorContains(t, err, `line 3, column rate: "1e3" is not a plain decimal`)
	require.NotContains(t, err.Error(), "line 2")
}

// fxWorld is a November with one EUR payee (DE1: $100 of non-US sales, paid
// in full) and October's rates loaded, nothing closed yet.
func fxWorld(t *testing.T) (*fixture.World, *release.Releaser) {
	t.Helper()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("DE1", fixture.Publisher{Country: "DE"})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("DE1", "FR", "100", "2026-10-20T00:00:00Z")
	result, err := release.ImportFXRates(context.Background(), w.DB, fixture.Month("2026-10"),
		strings.NewReader(release.FXHeader+"\nEUR,0.9335,2026-10-03,ECB\nGBP,0.7911,2026-10-03,ECB\nSEK,10,2026-10-03,ECB\n"), release.FXOptions{Now: w.Now(), By: "cli:fx"})
	require.NoError(t, err)
	require.Equal(t, 3, result.Added)
	return w, &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
}

func fxFile(lines ...string) *strings.Reader {
	return strings.NewReader(release.FXHeader + "\n" + strings.Join(lines, "\n") + "\n")
}

// auditRow is a row of fx_rate_changes.
type auditRow struct {
	Currency      string           `db:"currency"`
	OldRate       *decimal.Decimal `db:"old_rate"`
	OldSource     *string          `db:"old_source"`
	NewRate       decimal.Decimal  `db:"new_rate"`
	NewSource     string           `db:"new_source"`
	PreviousMonth *string          `db:"previous_month"`
	PreviousRate  *decimal.Decimal `db:"previous_rate"`
	Confirmed     bool             `db:"confirmed"`
	ChangedBy     string           `db:"changed_by"`
}

func audits(t *testing.T, w *fixture.World, month string) []auditRow {
	t.Helper()
	var rows []auditRow
	require.NoError(t, w.DB.Select(&rows, `
		SELECT currency, old_rate, old_source, new_rate, new_source, to_char(previous_month, 'YYYY-MM') AS previous_month, previous_rate, confirmed, changed_by
		  FROM fx_rate_changes WHERE month = $1 ORDER BY id`, fixture.Month(month)))
	return rows
}

func rateOf(t *testing.T, w *fixture.World, month, currency string) string {
	t.Helper()
	var rate decimal.Decimal
	require.NoError(t, w.DB.Get(&rate, `SELECT rate FROM fx_rates WHERE month = $1 AND currency = $2`, fixture.Month(month), currency))
	return rate.String()
}

// The story: a 100× typo (93.35 for 0.9335) is refused showing both
// rates, loads only when confirmed, and the mistake is then corrected by a
// re-import — audited before and after — until the cycle closes; after the
// close a replacement is refused naming the cycle's state (and the database
// refuses it too), while the release converts with the corrected rate.
func TestFXRatesCorrectedUntilTheCloseNeverAfter(t *testing.T) {
	t.Parallel()
	w, releaser := fxWorld(t)
	ctx := context.Background()
	month := fixture.Month("2026-11")
	w.Set("2026-11-02T09:00:00Z")

	// The typo, with a sound GBP rate: nothing loads.
	_, err := release.ImportFXRates(ctx, w.DB, month, fxFile("GBP,0.7950,2026-11-01,ECB", "EUR,93.35,2026-11-01,ECB"), release.FXOptions{Now: w.Now(), By: "cli:ann"})
	require.ErrorIs(t, err, release.ErrFXChangeUnconfirmed)
	require.ErrorContains(t, err, "line 3, column rate: EUR 93.35 moves +9900.00% from 2026-10's rate 0.9335")
	require.ErrorContains(t, err, "more than 10.00% (fx_max_change 0.1)")
	require.ErrorContains(t, err, "--confirm-change")
	require.NotContains(t, err.Error(), "GBP")
	var loaded int
	require.NoError(t, w.DB.Get(&loaded, `SELECT count(*) FROM fx_rates WHERE month = $1`, month))
	require.Zero(t, loaded, "all or nothing")
	require.Empty(t, audits(t, w, "2026-11"))

	// Confirmed: loaded and audited as confirmed.
	result, err := release.ImportFXRates(ctx, w.DB, month, fxFile("GBP,0.7950,2026-11-01,ECB", "EUR,93.35,2026-11-01,ECB"),
		release.FXOptions{Now: w.Now(), By: "cli:ann", ConfirmChange: true})
	require.NoError(t, err)
	require.Equal(t, 2, result.Added)
	require.Len(t, result.Changes, 2)
	eur := result.Changes[1]
	require.Equal(t, "EUR", eur.Currency)
	require.Nil(t, eur.Before)
	require.Equal(t, "2026-10", eur.PreviousMonth)
	require.Equal(t, "99", eur.Change.String())
	require.True(t, eur.Confirmed)
	require.False(t, result.Changes[0].Confirmed, "GBP moved within the band")

	// The correction: a re-import replaces EUR; within the band of October's
	// rate it needs no confirmation. GBP is the same: unchanged.
	w.Set("2026-11-03T09:00:00Z")
	result, err = release.ImportFXRates(ctx, w.DB, month, fxFile("EUR,0.9340,2026-11-02,ECB corrected", "GBP,0.7950,2026-11-01,ECB"), release.FXOptions{Now: w.Now(), By: "cli:bob"})
	require.NoError(t, err)
	require.Equal(t, 1, result.Replaced)
	require.Equal(t, 1, result.Unchanged)
	require.Equal(t, "93.35", result.Changes[0].Before.String())
	require.Equal(t, "0.934", rateOf(t, w, "2026-11", "EUR"))
	// Loading the same file again changes nothing and needs nothing.
	result, err = release.ImportFXRates(ctx, w.DB, month, fxFile("EUR,0.9340,2026-11-02,ECB corrected"), release.FXOptions{Now: w.Now()})
	require.NoError(t, err)
	require.Equal(t, release.FXResult{Unchanged: 1, Changes: []release.FXChange{}}, result)

	rows := audits(t, w, "2026-11")
	require.Len(t, rows, 3)
	require.Equal(t, "GBP", rows[0].Currency)
	require.Nil(t, rows[1].OldRate)
	require.Equal(t, "93.35", rows[1].NewRate.String())
	require.True(t, rows[1].Confirmed)
	require.Equal(t, "2026-10", *rows[1].PreviousMonth)
	require.Equal(t, "0.9335", rows[1].PreviousRate.String())
	require.Equal(t, "cli:ann", rows[1].ChangedBy)
	require.Equal(t, "93.35", rows[2].OldRate.String(), "the replacement's before")
	require.Equal(t, "ECB", *rows[2].OldSource)
	require.Equal(t, "0.934", rows[2].NewRate.String(), "and after")
	require.Equal(t, "ECB corrected", rows[2].NewSource)
	require.False(t, rows[2].Confirmed)
	require.Equal(t, "cli:bob", rows[2].ChangedBy)

	// The close: from now on the month's rates are fixed.
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	_, err = release.ImportFXRates(ctx, w.DB, month, fxFile("EUR,0.95,2026-11-04,ECB"), release.FXOptions{Now: w.Now(), ConfirmChange: true})
	require.ErrorIs(t, err, release.ErrFXConflict)
	require.ErrorContains(t, err, "the 2026-11 cycle is closed, so its rates can no longer be replaced")
	require.ErrorContains(t, err, "EUR is 0.934, not 0.95")
	require.Equal(t, "0.934", rateOf(t, w, "2026-11", "EUR"))
	_, err = w.DB.Exec(`UPDATE fx_rates SET rate = 0.95 WHERE month = $1 AND currency = 'EUR'`, month)
	require.ErrorContains(t, err, "fx_rates of 2026-11 are fixed: the cycle is closed")
	_, err = w.DB.Exec(`DELETE FROM fx_rates WHERE month = $1`, month)
	require.ErrorContains(t, err, "fx_rates of 2026-11 are fixed")
	// The same rate again, and a currency's first rate for the month, still
	// load after the close (the release needs a rate per payout currency).
	result, err = release.ImportFXRates(ctx, w.DB, month, fxFile("EUR,0.9340,2026-11-02,ECB corrected", "SEK,10.5,2026-11-04,ECB"), release.FXOptions{Now: w.Now()})
	require.NoError(t, err)
	require.Equal(t, 1, result.Unchanged)
	require.Equal(t, 1, result.Added)
	require.Len(t, audits(t, w, "2026-11"), 4)

	// The release converts $100 with the corrected rate: EUR 93.40.
	w.Set("2026-11-06T07:00:00Z")
	_, err = releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	var payment struct {
		Rate   decimal.Decimal `db:"fx_rate"`
		Amount decimal.Decimal `db:"amount_in_currency"`
	}
	require.NoError(t, w.DB.Get(&payment, `SELECT fx_rate, amount_in_currency FROM payments WHERE account_id = $1`, w.IDs["DE1"]))
	require.Equal(t, "0.934", payment.Rate.String())
	require.Equal(t, "93.4", payment.Amount.String())
}

// The band is measured against the previous cycle's rate (the latest
// earlier month with one), never against the rate being replaced; a move of
// exactly fx_max_change passes, a hair more does not; the policy sets the
// band; a currency's first rate has nothing to compare with.
func TestFXBandBoundaries(t *testing.T) {
	t.Parallel()
	w, _ := fxWorld(t)
	ctx := context.Background()
	month := fixture.Month("2026-11")
	load := func(opts release.FXOptions, lines ...string) (release.FXResult, error) {
		opts.Now = w.Now()
		return release.ImportFXRates(ctx, w.DB, month, fxFile(lines...), opts)
	}
	// October: EUR 0.9335, GBP 0.7911, SEK 10.
	for _, tt := range []struct {
		line   string
		beyond bool
	}{
		{"EUR,1.02685,2026-11-01,ECB", false},  // +10% exactly
		{"EUR,1.0268501,2026-11-01,ECB", true}, // a hair more
		{"EUR,0.84015,2026-11-01,ECB", false},  // -10% exactly
		{"EUR,0.8401499,2026-11-01,ECB", true}, // a hair more
		{"SEK,11.0000000001,2026-11-01,ECB", true},
		{"SEK,9,2026-11-01,ECB", false},
	} {
		_, err := load(release.FXOptions{}, tt.line)
		if tt.beyond {
			require.ErrorIs(t, err, release.ErrFXChangeUnconfirmed, tt.line)
			continue
		}
		require.NoError(t, err, tt.line)
	}
	require.Equal(t, "0.84015", rateOf(t, w, "2026-11", "EUR"))

	// Replacing 0.84015 by 0.80 is a 4.8% move from the month's rate but
	// 14.3% from October's: refused.
	_, err := load(release.FXOptions{}, "EUR,0.80,2026-11-01,ECB")
	require.ErrorContains(t, err, "EUR 0.8 moves -14.30% from 2026-10's rate 0.9335")
	// A wider band in the policy lets it through.
	result, err := load(release.FXOptions{MaxChange: decimal.RequireFromString("0.15")}, "EUR,0.80,2026-11-01,ECB")
	require.NoError(t, err)
	require.Equal(t, 1, result.Replaced)
	require.False(t, result.Changes[0].Confirmed)

	// Every move beyond the band is listed; a first rate (JPY) is not.
	_, err = load(release.FXOptions{}, "JPY,151.37,2026-11-01,BoJ", "GBP,7.911,2026-11-01,ECB", "SEK,1,2026-11-01,ECB")
	require.ErrorContains(t, err, "line 3, column rate: GBP 7.911 moves +900.00% from 2026-10's rate 0.7911")
	require.ErrorContains(t, err, "line 4, column rate: SEK 1 moves -90.00% from 2026-10's rate 10")
	require.NotContains(t, err.Error(), "JPY")

	// December compares with November's rate, or with October's for a
	// currency November has none for (GBP).
	result, err = load(release.FXOptions{}, "JPY,151.37,2026-11-01,BoJ")
	require.NoError(t, err)
	require.Nil(t, result.Changes[0].PreviousRate, "a currency's first rate")
	_, err = release.ImportFXRates(ctx, w.DB, fixture.Month("2026-12"), fxFile("GBP,0.95,2026-12-01,ECB"), release.FXOptions{Now: w.Now()})
	require.ErrorContains(t, err, "GBP 0.95 moves +20.09% from 2026-10's rate 0.7911")
	_, err = release.ImportFXRates(ctx, w.DB, fixture.Month("2026-12"), fxFile("EUR,0.95,2026-12-01,ECB"), release.FXOptions{Now: w.Now()})
	require.ErrorContains(t, err, "EUR 0.95 moves +18.75% from 2026-11's rate 0.8")
}
