package taxstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/internal/secret"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
	"github.com/payrun/payrun/testsupport/dbtest"
)

func day(year int, month time.Month, d int) time.Time {
	return time.Date(year, month, d, 0, 0, 0, 0, time.UTC)
}

func w8ben(country string) tax.Submission {
	return tax.Submission{
		Form: tax.FormW8BEN, LegalName: "Erika Mustermann", EntityType: tax.EntityIndividual,
		ResidenceCountry: country, CitizenshipCountry: country,
		PermanentAddress: tax.Address{Line1: "Hauptstrasse 1", City: "Berlin", PostalCode: "10115", Country: country},
		ForeignTIN:       "12345678901", SignerName: "Erika Mustermann", SignedOn: day(2026, 9, 4),
	}
}

func w9(name, tin string) tax.Submission {
	return tax.Submission{
		Form: tax.FormW9, LegalName: name, EntityType: tax.EntityIndividual, ResidenceCountry: "US", CitizenshipCountry: "US",
		PermanentAddress: tax.Address{Line1: "1 Main St", City: "Springfield", Region: "IL", PostalCode: "62701", Country: "US"},
		TIN:              tin, TINKind: tax.TINSSN, SignerName: name, SignedOn: day(2026, 9, 4),
	}
}

func setup(t *testing.T) (*taxstore.Store, *sqlx.DB, int64) {
	t.Helper()
	database := dbtest.New(t)
	sealer, err := secret.FromConfig("", true)
	require.NoError(t, err)
	account, err := ledger.CreateAccount(context.Background(), database, ledger.NewAccount{Type: ledger.Individual, RegistrationCountry: "DE"}, day(2026, 1, 1))
	require.NoError(t, err)
	return &taxstore.Store{DB: database, Sealer: sealer}, database, account.ID
}

func TestSubmitSealsTINsAndStatusFollowsTheCutoff(t *testing.T) {
	t.Parallel()
	store, database, accountID := setup(t)
	ctx := context.Background()
	submitted := time.Date(2026, 9, 10, 8, 0, 0, 0, time.UTC)

	claim := w8ben("DE")
	claim.Treaty = &tax.TreatyClaim{Country: "DE", Article: "12", IncomeCode: "12", Rate: decimal.Zero}
	view, err := store.Submit(ctx, accountID, claim, "erika", submitted)
	require.NoError(t, err)
	require.Equal(t, "*****8901", view.ForeignTIN)

	// The foreign TIN is nowhere in the clear.
	var dump string
	require.NoError(t, database.Get(&dump, `SELECT string_agg(t::text, '|') FROM tax_forms t`))
	require.NotContains(t, dump, "12345678901")

	standing, form, err := store.StandingAt(ctx, accountID, submitted)
	require.NoError(t, err)
	require.Equal(t, tax.StatusMissing, standing.Status, "a form received at the cutoff instant does not count")
	require.Nil(t, form)
	standing, form, err = store.StandingAt(ctx, accountID, submitted.Add(time.Nanosecond*1000))
	require.NoError(t, err)
	require.Equal(t, tax.StatusValid, standing.Status)
	require.Equal(t, "12", form.Treaty.IncomeCode)
	standing, _, err = store.StandingAt(ctx, accountID, day(2030, 1, 1))
	require.NoError(t, err)
	require.Equal(t, tax.StatusExpired, standing.Status, "W-8 signed 2026 expires 2030-01-01")
	_, tinForeign, err := store.Reveal(ctx, form.ID)
	require.NoError(t, err)
	require.Equal(t, "12345678901", tinForeign)
}

func TestRefusedFormsStoreNothing(t *testing.T) {
	t.Parallel()
	store, database, accountID := setup(t)
	ctx := context.Background()
	usResident := w8ben("US")
	usResident.PermanentAddress.Country = "US"
	_, err := store.Submit(ctx, accountID, usResident, "x", day(2026, 9, 10))
	var validation *fielderr.List
	require.ErrorAs(t, err, &validation)
	require.Contains(t, err.Error(), "W-9")

	wrongTreaty := w8ben("DE")
	wrongTreaty.Treaty = &tax.TreatyClaim{Country: "FR", IncomeCode: "12", Rate: decimal.Zero}
	_, err = store.Submit(ctx, accountID, wrongTreaty, "x", day(2026, 9, 10))
	require.ErrorAs(t, err, &validation)
	require.True(t, validation.Has("treaty.country"))

	_, err = store.Submit(ctx, 99999, w8ben("DE"), "x", day(2026, 9, 10))
	require.ErrorIs(t, err, taxstore.ErrUnknownAccount)

	var count int
	require.NoError(t, database.Get(&count, `SELECT count(*) FROM tax_forms`))
	require.Zero(t, count)
}

func TestW9InvalidatedByNameChangeUntilResigned(t *testing.T) {
	t.Parallel()
	store, _, accountID := setup(t)
	ctx := context.Background()
	_, err := store.Submit(ctx, accountID, w9("Jane Public", "123-45-6789"), "jane", day(2026, 9, 10))
	require.NoError(t, err)
	status := func(at time.Time) tax.Status {
		standing, _, err := store.StandingAt(ctx, accountID, at)
		require.NoError(t, err)
		return standing.Status
	}
	require.Equal(t, tax.StatusValid, status(day(2026, 10, 1)))
	require.NoError(t, store.ChangeProfile(ctx, accountID, "Jane Doe", "", "jane", day(2026, 10, 5)))
	require.Equal(t, tax.StatusValid, status(day(2026, 10, 5)), "the change counts only after it is made")
	require.Equal(t, tax.StatusInvalid, status(day(2026, 11, 1)))
	require.NoError(t, store.ChangeProfile(ctx, accountID, "", "123-45-6780", "jane", day(2026, 11, 2)))
	_, err = store.Submit(ctx, accountID, w9("Jane Doe", "123-45-6780"), "jane", day(2026, 11, 10))
	require.NoError(t, err)
	require.Equal(t, tax.StatusValid, status(day(2026, 12, 1)), "a new W-9 restores it")

	require.NoError(t, store.RecordTINMatch(ctx, accountID, false, "irs", day(2026, 12, 3)))
	require.Equal(t, tax.StatusValid, status(day(2026, 12, 3)))
	require.Equal(t, tax.StatusInvalid, status(day(2027, 1, 1)), "TIN matching failed before the cutoff")

	history, err := store.History(ctx, accountID)
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.Equal(t, "*****6780", history[0].TINMasked)
}

func TestTreatyTablesAreVersionedByLoadTime(t *testing.T) {
	t.Parallel()
	_, database, _ := setup(t)
	ctx := context.Background()
	bad := "country,income_code,rate,effective_from,effective_to,source\nGB,12,0.5,2020-01-01,,x\n"
	_, _, err := taxstore.LoadTreatyTable(ctx, database, []byte(bad), "bad.csv", "ops", day(2026, 10, 1))
	require.ErrorContains(t, err, "line 2")
	require.ErrorContains(t, err, "rate")

	newer := "country,income_code,rate,effective_from,effective_to,source\nGB,12,0,2020-01-01,,IRS Table 1\nBR,12,0.15,2026-01-01,,hypothetical new treaty\n"
	loadedAt := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	version, created, err := taxstore.LoadTreatyTable(ctx, database, []byte(newer), "treaties-2026-11.csv", "ops", loadedAt)
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := taxstore.LoadTreatyTable(ctx, database, []byte(newer), "treaties-2026-11.csv", "ops", loadedAt.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, version, again)

	before, err := taxstore.TreatyTableAt(ctx, database, loadedAt)
	require.NoError(t, err)
	require.Equal(t, tax.DefaultTreatyTable().Version(), before.Version(), "a table counts only after it was loaded")
	after, err := taxstore.TreatyTableAt(ctx, database, time.Date(2026, 11, 5, 6, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, version, after.Version())
	row, result := after.Lookup("BR", "12", day(2026, 11, 16))
	require.Equal(t, tax.TreatyInForce, result)
	require.True(t, row.Rate.Equal(decimal.RequireFromString("0.15")))
	byVersion, err := taxstore.TreatyTableByVersion(ctx, database, version)
	require.NoError(t, err)
	require.Equal(t, version, byVersion.Version())
}

// What a decision reads of a stored form, taken out of the submission by
// Postgres (DecisionColumns), is what decoding the whole submission gives
// (Row.Record): the same standing and the same withholding, for forms
// stored by Submit and for stored JSON that Submit does not write (a signed_on
// with a time, a treaty claim without a country, an explicit null).
func TestDecisionFieldsMatchTheDecodedSubmission(t *testing.T) {
	t.Parallel()
	store, database, accountID := setup(t)
	ctx := context.Background()
	submitted := time.Date(2026, 9, 10, 8, 0, 0, 0, time.UTC)
	claim := w8ben("DE")
	claim.Treaty = &tax.TreatyClaim{Country: "DE", Article: "12", IncomeCode: "12", Rate: decimal.Zero}
	unicode := w9(`  Zoë "Z" O'Brien-Ünsal\ Jr  `, "123-45-6789")
	noTIN := w9("Jane Public", "")
	noTIN.TINAppliedFor, noTIN.TINKind = true, ""
	for _, s := range []tax.Submission{w8ben("DE"), claim, w8ben("FR"), w9("Jane Public", "123-45-6789"), unicode, noTIN} {
		_, err := store.Submit(ctx, accountID, s, "test", submitted)
		require.NoError(t, err)
		submitted = submitted.Add(time.Hour)
	}
	for _, body := range []string{
		`{"form": "W-8BEN", "legal_name": "A", "signed_on": "2022-06-30T23:30:00-02:00", "treaty": {"country": "DE", "income_code": "12"}}`,
		`{"form": "W-8BEN", "legal_name": "B", "signed_on": "2026-01-02T00:00:00Z", "treaty": {"income_code": "12"}}`,
		`{"form": "W-8BEN-E", "legal_name": "C", "signed_on": "", "treaty": null}`,
		`{"form": "W-9", "legal_name": "D \u00e9\n", "signed_on": "2026-09-04"}`,
	} {
		_, err := database.ExecContext(ctx, `INSERT INTO tax_forms (account_id, form, submission, submitted_at, submitted_by)
			VALUES ($1, $2::jsonb->>'form', $2, $3, 'test')`, accountID, body, submitted)
		require.NoError(t, err)
		submitted = submitted.Add(time.Hour)
	}
	rows, err := database.QueryContext(ctx, `SELECT f.id, f.submission, coalesce(f.tin_digest, ''::bytea), f.submitted_at, `+
		taxstore.DecisionColumns("f")+` FROM tax_forms f ORDER BY f.id`)
	require.NoError(t, err)
	defer rows.Close()
	treaties := tax.DefaultTreatyTable()
	forms := 0
	for rows.Next() {
		var row taxstore.Row
		var fields taxstore.DecisionFields
		require.NoError(t, rows.Scan(&row.ID, &row.Submission, &row.TINDigest, &row.SubmittedAt, &fields.Form, &fields.LegalName,
			&fields.SignedOn, &fields.Treaty, &fields.TreatyCountry, &fields.TreatyIncome, &fields.TINDigest))
		fields.ID, fields.SubmittedAt = row.ID, row.SubmittedAt
		for _, failed := range []bool{false, true} {
			row.TINMatchFailed, fields.TINMatchFailed = failed, failed
			decoded, err := row.Record()
			require.NoError(t, err)
			extracted, err := fields.Record()
			require.NoError(t, err)
			require.Equal(t, decoded.Form, extracted.Form, "form %d", row.ID)
			require.Equal(t, decoded.LegalName, extracted.LegalName, "form %d", row.ID)
			require.True(t, decoded.SignedOn.Equal(extracted.SignedOn), "form %d: signed on %s, extracted %s", row.ID, decoded.SignedOn, extracted.SignedOn)
			require.Equal(t, decoded.TIN, extracted.TIN, "form %d", row.ID)
			require.Equal(t, decoded.Treaty == nil, extracted.Treaty == nil, "form %d: treaty claim", row.ID)
			if decoded.Treaty != nil {
				require.Equal(t, decoded.Treaty.Country, extracted.Treaty.Country, "form %d", row.ID)
				require.Equal(t, decoded.Treaty.IncomeCode, extracted.Treaty.IncomeCode, "form %d", row.ID)
			}
			changes := []tax.Change{{At: row.SubmittedAt.Add(time.Minute), LegalName: "Someone Else"}}
			for _, at := range []time.Time{day(2026, 12, 1), day(2030, 1, 1), day(2027, 1, 1)} {
				for _, c := range [][]tax.Change{nil, changes} {
					want := tax.StandingAt([]tax.Record{decoded}, c, at)
					got := tax.StandingAt([]tax.Record{extracted}, c, at)
					require.Equal(t, want.Status, got.Status, "form %d at %s", row.ID, at)
					require.Equal(t, want.Cause, got.Cause, "form %d at %s", row.ID, at)
					for _, backup := range []bool{false, true} {
						policy := tax.Policy{BackupWithholding: backup}
						require.Equal(t, tax.Payable(want.Status, want.Record, policy), tax.Payable(got.Status, got.Record, policy))
						w, wantErr := tax.Withhold(want.Status, want.Record, treaties, day(2026, 12, 15), decimal.RequireFromString("1234.56"), policy)
						g, gotErr := tax.Withhold(got.Status, got.Record, treaties, day(2026, 12, 15), decimal.RequireFromString("1234.56"), policy)
						require.Equal(t, wantErr == nil, gotErr == nil, "form %d", row.ID)
						require.Equal(t, w.Reason, g.Reason, "form %d", row.ID)
						require.True(t, w.Amount.Equal(g.Amount) && w.Rate.Equal(g.Rate), "form %d", row.ID)
					}
				}
			}
		}
		forms++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 10, forms)
}
