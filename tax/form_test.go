package tax

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
)

// fieldsOf returns the fields a validation error names, or nil for no error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var validation *fielderr.List
	require.True(t, errors.As(err, &validation), "want *fielderr.List, got %T: %v", err, err)
	fields := make([]string, len(validation.Fields))
	for i, f := range validation.Fields {
		fields[i] = f.Path
	}
	return fields
}

func TestValidateAcceptsGoodForms(t *testing.T) {
	usCitizenAbroad := w9Individual()
	usCitizenAbroad.ResidenceCountry = "FR"
	usCitizenAbroad.PermanentAddress.Country = "FR"

	residentAlien := w9Individual()
	residentAlien.CitizenshipCountry = "IN"
	residentAlien.TIN, residentAlien.TINKind = "912-70-3456", TINITIN

	soleProprietorEIN := w9Individual()
	soleProprietorEIN.EntityType = EntitySoleProprietor
	soleProprietorEIN.TIN, soleProprietorEIN.TINKind = "10-1234567", TINEIN

	appliedFor := w9Individual()
	appliedFor.TIN, appliedFor.TINKind, appliedFor.TINAppliedFor = "", "", true

	treatyForeignTINOnly := withTreaty(w8ben("DE"), "0")
	treatyNoTINAtAll := withTreaty(w8ben("GB"), "0")
	treatyNoTINAtAll.ForeignTIN = ""

	w8benWithITIN := w8ben("JP")
	w8benWithITIN.TIN, w8benWithITIN.TINKind = "912503456", TINITIN

	w8beneWithEIN := withTreaty(w8bene("AU"), "0.05")
	w8beneWithEIN.TIN, w8beneWithEIN.TINKind = "98-7654321", TINEIN

	lowerCase := w8ben("de")
	lowerCase.Form = "w-8ben"

	maxRate := withTreaty(w8ben("BR"), "0.30")
	signedToday := w9Individual()
	signedToday.SignedOn = date(2026, time.September, 10)
	oldestW8 := w8ben("DE")
	oldestW8.SignedOn = date(2023, time.January, 1)
	oldW9 := w9Individual()
	oldW9.SignedOn = date(2000, time.January, 1)

	for name, s := range map[string]Submission{
		"W-9 individual":                     w9Individual(),
		"W-9 corporation":                    w9Corporation(),
		"W-9 US citizen abroad":              usCitizenAbroad,
		"W-9 resident alien with ITIN":       residentAlien,
		"W-9 sole proprietor with EIN":       soleProprietorEIN,
		"W-9 TIN applied for":                appliedFor,
		"W-8BEN":                             w8ben("DE"),
		"W-8BEN treaty, foreign TIN only":    treatyForeignTINOnly,
		"W-8BEN treaty, no TIN at all":       treatyNoTINAtAll,
		"W-8BEN with ITIN":                   w8benWithITIN,
		"W-8BEN-E":                           w8bene("DE"),
		"W-8BEN-E treaty with EIN":           w8beneWithEIN,
		"lower-case codes":                   lowerCase,
		"claimed rate 0.30":                  maxRate,
		"signed today":                       signedToday,
		"W-8 signed 2023-01-01, valid 2026":  oldestW8,
		"W-9 signed 2000-01-01 never expire": oldW9,
	} {
		require.NoError(t, s.Validate(today), name)
	}
}

func TestValidateRefuses(t *testing.T) {
	type change func(s *Submission)
	for _, tc := range []struct {
		name   string
		base   Submission
		change change
		fields []string
		reason string // part of the error text
	}{
		{"US resident on a W-8BEN", w8ben("DE"), func(s *Submission) {
			s.ResidenceCountry, s.PermanentAddress.Country = "US", "US"
		}, []string{"form"}, "form: a US resident is a US person and files a W-9, not a W-8BEN"},
		{"US citizen abroad on a W-8BEN", w8ben("DE"), func(s *Submission) { s.CitizenshipCountry = "US" },
			[]string{"form"}, "a US citizen is a US person and files a W-9"},
		{"non-US individual on a W-9", w9Individual(), func(s *Submission) {
			s.ResidenceCountry, s.CitizenshipCountry = "DE", "DE"
		}, []string{"form"}, "non-US individual (resident in DE, citizen of DE) files a W-8BEN"},
		{"non-US entity on a W-9", w9Corporation(), func(s *Submission) { s.ResidenceCountry = "GB" },
			[]string{"form"}, "non-US entity (GB) files a W-8BEN-E"},
		{"corporation on a W-8BEN", w8bene("DE"), func(s *Submission) { s.Form = FormW8BEN },
			[]string{"form"}, "a W-8BEN is for individuals"},
		{"individual on a W-8BEN-E", w8ben("DE"), func(s *Submission) { s.Form = FormW8BENE },
			[]string{"form"}, "a W-8BEN-E is for entities"},
		{"US entity on a W-8BEN-E", w8bene("DE"), func(s *Submission) {
			s.ResidenceCountry, s.PermanentAddress.Country = "US", "US"
		}, []string{"form"}, "a US entity is a US person"},
		{"unknown form", w9Individual(), func(s *Submission) { s.Form = "W-8ECI" },
			[]string{"form"}, "must be one of W-9, W-8BEN, W-8BEN-E"},
		{"treaty country is not residence", withTreaty(w8ben("DE"), "0"), func(s *Submission) { s.Treaty.Country = "FR" },
			[]string{"treaty.country"}, "treaty.country: must equal residence_country (DE)"},
		{"treaty on a W-9", w9Individual(), func(s *Submission) { s.Treaty = &TreatyClaim{Country: "US", IncomeCode: "12"} },
			[]string{"treaty"}, "only possible on a W-8BEN or W-8BEN-E"},
		{"treaty income code", withTreaty(w8ben("DE"), "0"), func(s *Submission) { s.Treaty.IncomeCode = "10" },
			[]string{"treaty.income_code"}, "must be 12"},
		{"treaty income code missing", withTreaty(w8ben("DE"), "0"), func(s *Submission) { s.Treaty.IncomeCode = "" },
			[]string{"treaty.income_code"}, "required"},
		{"treaty rate above 30%", withTreaty(w8ben("DE"), "0.31"), nil,
			[]string{"treaty.rate"}, "between 0 and 0.30"},
		{"treaty rate negative", withTreaty(w8ben("DE"), "-0.01"), nil,
			[]string{"treaty.rate"}, "between 0 and 0.30"},
		{"treaty country not a code", withTreaty(w8ben("DE"), "0"), func(s *Submission) { s.Treaty.Country = "UK" },
			[]string{"treaty.country"}, `"UK" is not an ISO 3166-1 alpha-2 country code`},
		{"W-9 without TIN", w9Individual(), func(s *Submission) { s.TIN, s.TINKind = "", "" },
			[]string{"tin"}, "required on a W-9"},
		{"W-9 SSN area 666", w9Individual(), func(s *Submission) { s.TIN = "666-12-3456" },
			[]string{"tin"}, "tin: SSN area 666 is never issued"},
		{"W-9 individual with EIN", w9Individual(), func(s *Submission) { s.TIN, s.TINKind = "12-3456789", TINEIN },
			[]string{"tin_kind"}, "ein for entity type individual on a W-9 (allowed: ssn, itin)"},
		{"W-9 corporation with SSN", w9Corporation(), func(s *Submission) { s.TIN, s.TINKind = "123-45-6789", TINSSN },
			[]string{"tin_kind"}, "allowed: ein"},
		{"W-9 EIN with bad prefix", w9Corporation(), func(s *Submission) { s.TIN = "07-1234567" },
			[]string{"tin"}, "EIN prefix 07 is not assigned"},
		{"TIN without kind", w9Individual(), func(s *Submission) { s.TINKind = "" },
			[]string{"tin_kind"}, "required when a tin is given"},
		{"kind without TIN", w8ben("DE"), func(s *Submission) { s.TINKind = TINITIN },
			[]string{"tin_kind"}, "given without a tin"},
		{"unknown TIN kind", w9Individual(), func(s *Submission) { s.TINKind = "passport" },
			[]string{"tin_kind"}, "must be one of ssn, itin, ein"},
		{"TIN in a strange layout", w9Individual(), func(s *Submission) { s.TIN = "1234-56-789" },
			[]string{"tin"}, "must be 9 digits"},
		{"applied for with a TIN", w9Individual(), func(s *Submission) { s.TINAppliedFor = true },
			[]string{"tin_applied_for"}, "must be false when a tin is given"},
		{"applied for on a W-8", w8ben("DE"), func(s *Submission) { s.TINAppliedFor = true },
			[]string{"tin_applied_for"}, "only a W-9"},
		{"W-8BEN-E with ITIN", w8bene("DE"), func(s *Submission) { s.TIN, s.TINKind = "912-70-3456", TINITIN },
			[]string{"tin_kind"}, "allowed: ein"},
		{"W-8BEN with EIN", w8ben("DE"), func(s *Submission) { s.TIN, s.TINKind = "12-3456789", TINEIN },
			[]string{"tin_kind"}, "allowed: ssn, itin"},
		{"foreign TIN on a W-9", w9Individual(), func(s *Submission) { s.ForeignTIN = "DE123" },
			[]string{"foreign_tin"}, "a W-9 has no foreign TIN"},
		{"foreign TIN too long", w8ben("DE"), func(s *Submission) { s.ForeignTIN = strings.Repeat("1", 51) },
			[]string{"foreign_tin"}, "longer than 50 characters"},
		{"individual without citizenship", w8ben("DE"), func(s *Submission) { s.CitizenshipCountry = "" },
			[]string{"citizenship_country"}, "required"},
		{"corporation with citizenship", w8bene("DE"), func(s *Submission) { s.CitizenshipCountry = "DE" },
			[]string{"citizenship_country"}, "only individuals have a citizenship"},
		{"bad residence code", w8ben("DE"), func(s *Submission) { s.ResidenceCountry = "XK" },
			[]string{"residence_country"}, `"XK" is not an ISO 3166-1 alpha-2 country code`},
		{"W-8 address outside residence", w8ben("DE"), func(s *Submission) { s.PermanentAddress.Country = "AT" },
			[]string{"permanent_address.country"}, "in the country of residence (DE)"},
		{"address incomplete", w9Individual(), func(s *Submission) { s.PermanentAddress = Address{Line2: "Apt 4"} },
			[]string{"permanent_address.line1", "permanent_address.city", "permanent_address.country"}, "required"},
		{"legal name blank", w9Individual(), func(s *Submission) { s.LegalName = "  " },
			[]string{"legal_name"}, "legal_name: required"},
		{"legal name with control character", w9Individual(), func(s *Submission) { s.LegalName = "Jane\x00Doe" },
			[]string{"legal_name"}, "control characters"},
		{"legal name too long", w9Individual(), func(s *Submission) { s.LegalName = strings.Repeat("a", 201) },
			[]string{"legal_name"}, "longer than 200"},
		{"unknown entity type", w9Individual(), func(s *Submission) { s.EntityType = "llc" },
			[]string{"entity_type"}, "must be one of"},
		{"signer missing", w9Individual(), func(s *Submission) { s.SignerName = "" },
			[]string{"signer_name"}, "required"},
		{"signed tomorrow", w9Individual(), func(s *Submission) { s.SignedOn = date(2026, time.September, 11) },
			[]string{"signed_on"}, "2026-09-11 is after today (2026-09-10)"},
		{"signed in 1999", w9Individual(), func(s *Submission) { s.SignedOn = date(1999, time.December, 31) },
			[]string{"signed_on"}, "before 2000-01-01"},
		{"signed with a time of day", w9Individual(), func(s *Submission) {
			s.SignedOn = time.Date(2026, time.September, 4, 13, 0, 0, 0, time.UTC)
		}, []string{"signed_on"}, "must be a date"},
		{"signature missing", w9Individual(), func(s *Submission) { s.SignedOn = time.Time{} },
			[]string{"signed_on"}, "required"},
		{"W-8 already expired", w8ben("DE"), func(s *Submission) { s.SignedOn = date(2022, time.December, 31) },
			[]string{"signed_on"}, "a W-8BEN signed in 2022 expired at the end of 2025"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.base
			if tc.base.Treaty != nil {
				claim := *tc.base.Treaty
				s.Treaty = &claim
			}
			if tc.change != nil {
				tc.change(&s)
			}
			err := s.Validate(today)
			require.Equal(t, tc.fields, fieldsOf(t, err))
			require.ErrorContains(t, err, tc.reason)
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	s := withTreaty(w8ben("DE"), "0")
	s.TIN, s.TINKind = "666-12-3456", TINSSN
	s.Treaty.Country = "FR"
	require.EqualError(t, s.Validate(today),
		"tax form: tin: SSN area 666 is never issued; treaty.country: must equal residence_country (DE)")

	empty := Submission{}
	require.Equal(t, []string{
		"form", "legal_name", "entity_type", "residence_country",
		"permanent_address.line1", "permanent_address.city", "permanent_address.country",
		"signer_name", "signed_on",
	}, fieldsOf(t, empty.Validate(today)))

	var validation *fielderr.List
	require.ErrorAs(t, empty.Validate(today), &validation)
	require.True(t, validation.Has("signer_name"))
	require.False(t, validation.Has("tin"))
	require.Equal(t, fielderr.Required, validation.Fields[0].Code)

	// Codes say what kind of problem; the TIN's sentinel stays reachable.
	err := s.Validate(today)
	require.ErrorAs(t, err, &validation)
	require.Equal(t, []string{fielderr.Invalid, fielderr.Inconsistent}, []string{validation.Fields[0].Code, validation.Fields[1].Code})
	s.TIN = "12-34"
	require.ErrorIs(t, s.Validate(today), ErrTINFormat)
}

func TestValidateDoesNotChangeSubmission(t *testing.T) {
	s := withTreaty(w8ben("de"), "0")
	s.TIN, s.TINKind = "912-70-3456", TINITIN
	require.NoError(t, s.Validate(today))
	require.Equal(t, "912-70-3456", s.TIN)
	require.Equal(t, "de", s.Treaty.Country)

	n := s.Normalize()
	require.Equal(t, "912703456", n.TIN)
	require.Equal(t, "DE", n.ResidenceCountry)
	require.Equal(t, "DE", n.Treaty.Country)
	require.Equal(t, "de", s.Treaty.Country, "Normalize copies the treaty claim")
}

func TestSubmissionJSON(t *testing.T) {
	s := withTreaty(w8ben("DE"), "0.05").Normalize()
	data, err := json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(data), `"signed_on":"2026-09-04"`)
	require.Contains(t, string(data), `"rate":"0.05"`)
	require.Contains(t, string(data), `"legal_name":"Erika Mustermann"`)
	require.Contains(t, string(data), `"treaty":{"country":"DE","article":"12","income_code":"12","rate":"0.05"}`)

	var back Submission
	require.NoError(t, json.Unmarshal(data, &back))
	require.True(t, back.Treaty.Rate.Equal(s.Treaty.Rate))
	back.Treaty.Rate = s.Treaty.Rate
	require.Equal(t, s, back)

	input := `{"form":"W-9","legal_name":"Jane","entity_type":"individual","residence_country":"us",
		"citizenship_country":"US","permanent_address":{"line1":"1 Main St","city":"X","country":"US"},
		"tin":"123-45-6789","tin_kind":"ssn","signer_name":"Jane","signed_on":"2026-09-04"}`
	var fromAPI Submission
	require.NoError(t, json.Unmarshal([]byte(input), &fromAPI))
	require.Equal(t, date(2026, time.September, 4), fromAPI.SignedOn)
	require.NoError(t, fromAPI.Validate(today))

	require.ErrorContains(t, json.Unmarshal([]byte(`{"form":"W-9","tinkind":"ssn"}`), &fromAPI), "tinkind")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"signed_on":"2026-13-01"}`), &fromAPI), "signed_on")

	var rfc Submission
	require.NoError(t, json.Unmarshal([]byte(`{"signed_on":"2026-09-04T00:00:00+00:00"}`), &rfc))
	require.Equal(t, date(2026, time.September, 4), rfc.SignedOn)
}

func TestRecordJSONKeepsEverything(t *testing.T) {
	r := record(w9Individual(), time.Date(2026, time.September, 4, 10, 30, 0, 0, time.UTC))
	r.TINMatchFailed = true
	data, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(data), `"submitted_at":"2026-09-04T10:30:00Z"`)
	require.Contains(t, string(data), `"tin_match_failed":true`)
	var back Record
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, r, back)
}

func TestLogsNeverShowTheTIN(t *testing.T) {
	var out strings.Builder
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	r := record(w9Individual(), today)
	logger.Info("form", "record", r, "submission", w8ben("DE"))
	require.NotContains(t, out.String(), "123456789")
	require.NotContains(t, out.String(), "12345678901")
	require.Contains(t, out.String(), `"tin":"*****6789"`)
	require.Contains(t, out.String(), `"submitted_at"`)
}

func TestTINFormatCheckedWhateverTheForm(t *testing.T) {
	s := w9Individual()
	s.Form = ""
	s.TIN = "666-12-3456"
	require.Equal(t, []string{"form", "tin"}, fieldsOf(t, s.Validate(today)))
}
