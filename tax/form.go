package tax

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
)

// Form is the IRS form a tax profile is built on.
type Form string

// The forms payrun accepts (SPEC §5.1).
const (
	// FormW9 is for US persons: US citizens, US residents and US entities.
	FormW9 Form = "W-9"
	// FormW8BEN is for non-US individuals.
	FormW8BEN Form = "W-8BEN"
	// FormW8BENE is for non-US entities.
	FormW8BENE Form = "W-8BEN-E"
)

// Valid reports whether f is one of the three forms.
func (f Form) Valid() bool {
	return f == FormW9 || f == FormW8BEN || f == FormW8BENE
}

// IsW8 reports whether f is a W-8 (a certificate of foreign status), which
// expires, may carry a treaty claim, and is withheld on at 30% by default.
func (f Form) IsW8() bool {
	return f == FormW8BEN || f == FormW8BENE
}

// EntityType is the tax classification of the person the form is about.
type EntityType string

// Entity types. Individual and sole proprietor are natural persons; every
// other type is an entity.
const (
	EntityIndividual     EntityType = "individual"
	EntitySoleProprietor EntityType = "sole_proprietor"
	EntityCorporation    EntityType = "corporation"
	EntityPartnership    EntityType = "partnership"
	// EntityDisregarded is an entity disregarded as separate from its owner
	// (for example a single-member LLC).
	EntityDisregarded EntityType = "disregarded"
	EntityTrust       EntityType = "trust"
	EntityEstate      EntityType = "estate"
	EntityGovernment  EntityType = "government"
	// EntityTaxExempt is a tax-exempt organisation (for example a 501(c)
	// organisation or its foreign equivalent).
	EntityTaxExempt EntityType = "tax_exempt_organization"
)

// Valid reports whether t is a known entity type.
func (t EntityType) Valid() bool {
	switch t {
	case EntityIndividual, EntitySoleProprietor, EntityCorporation, EntityPartnership,
		EntityDisregarded, EntityTrust, EntityEstate, EntityGovernment, EntityTaxExempt:
		return true
	}
	return false
}

// NaturalPerson reports whether t is a human being (individual or sole
// proprietor), who has a citizenship and files a W-8BEN rather than a W-8BEN-E.
func (t EntityType) NaturalPerson() bool {
	return t == EntityIndividual || t == EntitySoleProprietor
}

// IncomeCodeOtherRoyalties is the Form 1042-S income code of app and software
// sales, "other royalties" (SPEC §5.4), the only income type payrun pays.
const IncomeCodeOtherRoyalties = "12"

// Limits on free text (STYLE: a limit on everything). These are payrun's own
// bounds, chosen well above any real name or address line and small enough
// for a database column and a 1042-S/1099 data export.
const (
	// MaxTextLength bounds names, address lines and the treaty article, in
	// characters.
	MaxTextLength = 200
	// MaxForeignTINLength bounds a foreign TIN, in characters; national TINs
	// are far shorter (the longest common ones are about 20 characters).
	MaxForeignTINLength = 50
)

// EarliestSignature is the earliest signature date payrun accepts: anything
// earlier is a typing mistake, not a form someone kept for decades.
var EarliestSignature = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country"`
}

// TreatyClaim is a claim of a reduced rate under an income tax treaty (W-8BEN
// Part II, W-8BEN-E Part III). Rate is what the form claims; withholding uses
// the rate of the treaty table in force on the payment date, never this one
// (see the package documentation).
type TreatyClaim struct {
	Country    string          `json:"country"`
	Article    string          `json:"article,omitempty"`
	IncomeCode string          `json:"income_code"`
	Rate       decimal.Decimal `json:"rate"`
}

// Submission is one tax form as the publisher filled it in.
//
// TIN is the US TIN: 9 digits, accepted with dashes (123-45-6789 or
// 12-3456789) and stored without them (Normalize). TINAppliedFor is the W-9's
// "Applied For": a US person waiting for a TIN may sign a W-9 without one;
// such a form is payable only with backup withholding (SPEC §5.3).
// SignedOn is a date: a time.Time at 00:00 UTC, written "2026-09-04" in JSON.
type Submission struct {
	Form               Form         `json:"form"`
	LegalName          string       `json:"legal_name"`
	EntityType         EntityType   `json:"entity_type"`
	ResidenceCountry   string       `json:"residence_country"`
	CitizenshipCountry string       `json:"citizenship_country,omitempty"`
	PermanentAddress   Address      `json:"permanent_address"`
	TIN                string       `json:"tin,omitempty"`
	TINKind            TINKind      `json:"tin_kind,omitempty"`
	TINAppliedFor      bool         `json:"tin_applied_for,omitempty"`
	ForeignTIN         string       `json:"foreign_tin,omitempty"`
	Treaty             *TreatyClaim `json:"treaty,omitempty"`
	SignerName         string       `json:"signer_name"`
	SignedOn           time.Time    `json:"signed_on"`
}

// USPerson reports whether the submission describes a US person for US tax
// purposes as far as payrun can tell: resident in the US (for an entity: organised
// there), or an individual with US citizenship.
func (s Submission) USPerson() bool {
	n := s.Normalize()
	return n.ResidenceCountry == CountryUS ||
		(n.EntityType.NaturalPerson() && n.CitizenshipCountry == CountryUS)
}

// Normalize returns a copy with surrounding spaces trimmed, country codes in
// upper case, the form in upper case, entity type and TIN kind in lower case,
// the US TIN without dashes (when it has a layout NormalizeTIN accepts), and
// a SignedOn that is midnight UTC in another location as a UTC time.
// It never changes the receiver, and is what gets stored after Validate.
func (s Submission) Normalize() Submission {
	n := s
	n.Form = Form(strings.ToUpper(strings.TrimSpace(string(s.Form))))
	n.LegalName = strings.TrimSpace(s.LegalName)
	n.EntityType = EntityType(strings.ToLower(strings.TrimSpace(string(s.EntityType))))
	n.ResidenceCountry = normalizeCountry(s.ResidenceCountry)
	n.CitizenshipCountry = normalizeCountry(s.CitizenshipCountry)
	n.PermanentAddress = Address{
		Line1:      strings.TrimSpace(s.PermanentAddress.Line1),
		Line2:      strings.TrimSpace(s.PermanentAddress.Line2),
		City:       strings.TrimSpace(s.PermanentAddress.City),
		Region:     strings.TrimSpace(s.PermanentAddress.Region),
		PostalCode: strings.TrimSpace(s.PermanentAddress.PostalCode),
		Country:    normalizeCountry(s.PermanentAddress.Country),
	}
	n.TIN = strings.TrimSpace(s.TIN)
	if digits, err := NormalizeTIN(n.TIN); err == nil {
		n.TIN = digits
	}
	n.TINKind = TINKind(strings.ToLower(strings.TrimSpace(string(s.TINKind))))
	n.ForeignTIN = strings.TrimSpace(s.ForeignTIN)
	if s.Treaty != nil {
		claim := *s.Treaty
		claim.Country = normalizeCountry(claim.Country)
		claim.Article = strings.TrimSpace(claim.Article)
		claim.IncomeCode = strings.TrimSpace(claim.IncomeCode)
		n.Treaty = &claim
	}
	n.SignerName = strings.TrimSpace(s.SignerName)
	if !s.SignedOn.IsZero() && s.SignedOn.Equal(dateOf(s.SignedOn)) {
		n.SignedOn = dateOf(s.SignedOn)
	}
	return n
}

// LogValue keeps TINs out of logs (SPEC §11): slog shows the form with its
// US and foreign TINs masked to their last four characters.
func (s Submission) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("form", string(s.Form)),
		slog.String("entity_type", string(s.EntityType)),
		slog.String("residence_country", s.ResidenceCountry),
		slog.String("tin", MaskTIN(s.TIN)),
		slog.String("foreign_tin", MaskTIN(s.ForeignTIN)),
		slog.Bool("treaty_claim", s.Treaty != nil),
		slog.String("signed_on", formatDate(s.SignedOn)),
	)
}

func normalizeCountry(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// FormSubject names a submission in the message of its *fielderr.List:
// "tax form: tin: SSN area 666 is never issued; ...".
const FormSubject = "tax form"

// problems collects field errors while a submission is checked. Paths are
// JSON names, dotted for nested fields ("treaty.country").
type problems struct{ fielderr.List }

func (p *problems) add(field, code, format string, args ...any) {
	p.Addf(field, code, format, args...)
}

// text checks a free-text field: required or not, at most limit characters,
// no control characters.
func (p *problems) text(field, value string, required bool, limit int) {
	switch {
	case value == "":
		if required {
			p.add(field, fielderr.Required, "required")
		}
	case utf8.RuneCountInString(value) > limit:
		p.add(field, fielderr.TooLong, "longer than %d characters", limit)
	case !utf8.ValidString(value) || strings.IndexFunc(value, unicode.IsControl) >= 0:
		p.add(field, fielderr.Character, "contains control characters or invalid UTF-8")
	}
}

// country checks a required ISO 3166-1 alpha-2 code and reports whether it
// is valid.
func (p *problems) country(field, code string) bool {
	switch {
	case code == "":
		p.add(field, fielderr.Required, "required")
	case !ValidCountry(code):
		p.add(field, fielderr.Country, "%q is not an ISO 3166-1 alpha-2 country code", code)
	default:
		return true
	}
	return false
}

// Validate checks the submission as of today (only its date in UTC counts)
// and returns nil or a *fielderr.List (subject FormSubject) listing every
// problem, by JSON path. It checks the normalised submission (Normalize), so
// lower-case country codes and TINs with dashes are accepted; store
// s.Normalize(). Validate never changes s.
//
// The rules are those of SPEC §5.1 and the IRS instructions for each form:
// the form fits the person (a W-9 for US persons, a W-8BEN for non-US
// individuals, a W-8BEN-E for non-US entities), required fields are present,
// the TIN has the right kind and format, a treaty claim names the country of
// residence, and the signature date is neither in the future nor implausibly
// old, nor so old that a W-8 would already have expired.
func (s Submission) Validate(today time.Time) error {
	n := s.Normalize()
	var p problems

	formOK := n.Form.Valid()
	switch {
	case n.Form == "":
		p.add("form", fielderr.Required, "required")
	case !formOK:
		p.add("form", fielderr.Invalid, "must be one of W-9, W-8BEN, W-8BEN-E")
	}
	p.text("legal_name", n.LegalName, true, MaxTextLength)

	entityOK := n.EntityType.Valid()
	switch {
	case n.EntityType == "":
		p.add("entity_type", fielderr.Required, "required")
	case !entityOK:
		p.add("entity_type", fielderr.Invalid, "must be one of individual, sole_proprietor, corporation, partnership, "+
			"disregarded, trust, estate, government, tax_exempt_organization")
	}
	natural := n.EntityType.NaturalPerson()

	residenceOK := p.country("residence_country", n.ResidenceCountry)
	citizenshipOK := true
	switch {
	case natural:
		citizenshipOK = p.country("citizenship_country", n.CitizenshipCountry)
	case entityOK && n.CitizenshipCountry != "":
		p.add("citizenship_country", fielderr.Inconsistent, "only individuals have a citizenship; leave it empty for entity type %s", n.EntityType)
	}

	address := n.PermanentAddress
	p.text("permanent_address.line1", address.Line1, true, MaxTextLength)
	p.text("permanent_address.line2", address.Line2, false, MaxTextLength)
	p.text("permanent_address.city", address.City, true, MaxTextLength)
	p.text("permanent_address.region", address.Region, false, MaxTextLength)
	p.text("permanent_address.postal_code", address.PostalCode, false, MaxTextLength)
	addressCountryOK := p.country("permanent_address.country", address.Country)

	if formOK && entityOK && residenceOK && citizenshipOK {
		p.formFit(n)
	}
	// IRS W-8BEN line 3 and W-8BEN-E line 6: the permanent residence address
	// is in the country where the person is resident for income tax.
	if formOK && n.Form.IsW8() && residenceOK && addressCountryOK && address.Country != n.ResidenceCountry {
		p.add("permanent_address.country", fielderr.Inconsistent, "on a %s the permanent address is in the country of residence (%s)",
			n.Form, n.ResidenceCountry)
	}

	p.tin(n, formOK && entityOK)
	if formOK && n.ForeignTIN != "" {
		if n.Form == FormW9 {
			p.add("foreign_tin", fielderr.Inconsistent, "a W-9 has no foreign TIN; leave it empty")
		} else {
			p.text("foreign_tin", n.ForeignTIN, false, MaxForeignTINLength)
		}
	}

	if n.Treaty != nil {
		p.treaty(n, formOK, residenceOK)
	}

	p.text("signer_name", n.SignerName, true, MaxTextLength)
	p.signature(n, formOK, today)

	p.Subject = FormSubject
	return p.Err()
}

// formFit checks that the form is the one the person must file (SPEC §5.1).
func (p *problems) formFit(n Submission) {
	natural := n.EntityType.NaturalPerson()
	switch n.Form {
	case FormW9:
		if !n.USPerson() {
			if natural {
				p.add("form", fielderr.Inconsistent, "a W-9 is for US persons; a non-US individual (resident in %s, citizen of %s) files a W-8BEN",
					n.ResidenceCountry, n.CitizenshipCountry)
			} else {
				p.add("form", fielderr.Inconsistent, "a W-9 is for US persons; a non-US entity (%s) files a W-8BEN-E", n.ResidenceCountry)
			}
		}
	case FormW8BEN:
		switch {
		case !natural:
			p.add("form", fielderr.Inconsistent, "a W-8BEN is for individuals; entity type %s files a W-8BEN-E (or a W-9 if it is a US entity)",
				n.EntityType)
		case n.ResidenceCountry == CountryUS:
			p.add("form", fielderr.Inconsistent, "a US resident is a US person and files a W-9, not a W-8BEN")
		case n.CitizenshipCountry == CountryUS:
			p.add("form", fielderr.Inconsistent, "a US citizen is a US person and files a W-9, not a W-8BEN, wherever they live")
		}
	case FormW8BENE:
		switch {
		case natural:
			p.add("form", fielderr.Inconsistent, "a W-8BEN-E is for entities; an individual files a W-8BEN (or a W-9 if a US person)")
		case n.ResidenceCountry == CountryUS:
			p.add("form", fielderr.Inconsistent, "a US entity is a US person and files a W-9, not a W-8BEN-E")
		}
	}
}

// tin checks the US TIN and its kind, and, when the form and entity type are
// known (formKnown), the kind and "Applied For" against them.
func (p *problems) tin(n Submission, formKnown bool) {
	if n.TIN == "" {
		switch {
		case n.TINKind != "":
			p.add("tin_kind", fielderr.Inconsistent, "given without a tin")
		case formKnown && n.Form == FormW9 && !n.TINAppliedFor:
			p.add("tin", fielderr.Required, "required on a W-9 (or tin_applied_for when the TIN has been applied for)")
		}
	} else {
		switch {
		case n.TINKind == "":
			p.add("tin_kind", fielderr.Required, "required when a tin is given (ssn, itin or ein)")
		case !n.TINKind.Valid():
			p.Add(&fielderr.Error{Path: "tin_kind", Code: fielderr.Invalid, Message: ErrTINKind.Error(), Err: ErrTINKind})
		default:
			if err := ValidateTIN(n.TINKind, n.TIN); err != nil {
				p.Add(fielderr.At("tin", err))
			}
			if allowed := allowedTINKinds(n.Form, n.EntityType); formKnown && !containsKind(allowed, n.TINKind) {
				p.add("tin_kind", fielderr.Inconsistent, "%s for entity type %s on a %s (allowed: %s)",
					n.TINKind, n.EntityType, n.Form, kindList(allowed))
			}
		}
		if n.TINAppliedFor {
			p.add("tin_applied_for", fielderr.Inconsistent, "must be false when a tin is given")
		}
	}
	if formKnown && n.TINAppliedFor && n.Form != FormW9 {
		p.add("tin_applied_for", fielderr.Inconsistent, "only a W-9 can be signed with the TIN applied for")
	}
}

// allowedTINKinds is the US TIN kinds a form accepts for an entity type:
//   - W-9 (IRS W-9 instructions, Part I): an individual gives an SSN or ITIN;
//     a sole proprietor or a disregarded entity gives its owner's SSN/ITIN or
//     an EIN; every other entity gives an EIN.
//   - W-8BEN line 5: SSN or ITIN. W-8BEN-E line 9a: EIN.
func allowedTINKinds(form Form, entity EntityType) []TINKind {
	switch {
	case form == FormW8BEN:
		return []TINKind{TINSSN, TINITIN}
	case form == FormW8BENE:
		return []TINKind{TINEIN}
	case entity == EntityIndividual:
		return []TINKind{TINSSN, TINITIN}
	case entity == EntitySoleProprietor || entity == EntityDisregarded:
		return []TINKind{TINSSN, TINITIN, TINEIN}
	default:
		return []TINKind{TINEIN}
	}
}

func containsKind(kinds []TINKind, kind TINKind) bool {
	for _, k := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func kindList(kinds []TINKind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// treaty checks a treaty claim (SPEC §5.3: the treaty country is the country
// of residence; §5.4: app and software sales are income code 12).
func (p *problems) treaty(n Submission, formOK, residenceOK bool) {
	if formOK && !n.Form.IsW8() {
		p.add("treaty", fielderr.Inconsistent, "a treaty claim is only possible on a W-8BEN or W-8BEN-E")
		return
	}
	claim := n.Treaty
	if p.country("treaty.country", claim.Country) && residenceOK && claim.Country != n.ResidenceCountry {
		p.add("treaty.country", fielderr.Inconsistent, "must equal residence_country (%s)", n.ResidenceCountry)
	}
	p.text("treaty.article", claim.Article, false, MaxTextLength)
	switch {
	case claim.IncomeCode == "":
		p.add("treaty.income_code", fielderr.Required, "required")
	case claim.IncomeCode != IncomeCodeOtherRoyalties:
		p.add("treaty.income_code", fielderr.Invalid, "must be %s (other royalties): the only income payrun pays", IncomeCodeOtherRoyalties)
	}
	if claim.Rate.IsNegative() || claim.Rate.GreaterThan(StatutoryRate) {
		p.add("treaty.rate", fielderr.Range, "must be between 0 and %s", StatutoryRate.StringFixed(2))
	}
}

// signature checks the signature date: a date, not after today (UTC), not
// before EarliestSignature, and for a W-8 not already expired.
func (p *problems) signature(n Submission, formOK bool, today time.Time) {
	signed := n.SignedOn
	todayDate := dateOf(today)
	switch {
	case signed.IsZero():
		p.add("signed_on", fielderr.Required, "required")
	case !signed.Equal(dateOf(signed)):
		p.add("signed_on", fielderr.Invalid, "must be a date (YYYY-MM-DD, 00:00 UTC)")
	case signed.After(todayDate):
		p.add("signed_on", fielderr.Range, "%s is after today (%s)", formatDate(signed), formatDate(todayDate))
	case signed.Before(EarliestSignature):
		p.add("signed_on", fielderr.Range, "%s is before %s", formatDate(signed), formatDate(EarliestSignature))
	case formOK && n.Form.IsW8() && !today.Before(w8ExpiresAt(signed)):
		p.add("signed_on", fielderr.Range, "a %s signed in %d expired at the end of %d; sign a new one",
			n.Form, signed.Year(), signed.Year()+w8ValidYears)
	}
}

// dateOf returns the start of t's day in UTC.
func dateOf(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}

const dateLayout = "2006-01-02"

func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }

// submissionFields is Submission without its methods, for JSON.
type submissionFields Submission

// submissionJSON is the wire form: SignedOn as a date string.
type submissionJSON struct {
	submissionFields
	SignedOn string `json:"signed_on"`
}

// MarshalJSON writes SignedOn as "YYYY-MM-DD" (or RFC 3339 for a time that
// is not a date, so that nothing is silently lost).
func (s Submission) MarshalJSON() ([]byte, error) {
	wire := submissionJSON{submissionFields: submissionFields(s)}
	switch {
	case s.SignedOn.IsZero():
	case s.SignedOn.Equal(dateOf(s.SignedOn)):
		wire.SignedOn = formatDate(s.SignedOn)
	default:
		wire.SignedOn = s.SignedOn.Format(time.RFC3339Nano)
	}
	return json.Marshal(wire)
}

// UnmarshalJSON reads a submission strictly: unknown fields are an error (a
// misspelt "tin_kind" must not vanish silently), and signed_on is a date
// "YYYY-MM-DD" (an RFC 3339 time is read as is and left to Validate).
func (s *Submission) UnmarshalJSON(data []byte) error {
	var wire submissionJSON
	if err := decodeStrict(data, &wire); err != nil {
		return err
	}
	out := Submission(wire.submissionFields)
	signed, err := ParseSignedOn(wire.SignedOn)
	if err != nil {
		return err
	}
	out.SignedOn = signed
	*s = out
	return nil
}

// ParseSignedOn reads a stored submission's signed_on text exactly as
// UnmarshalJSON does ("" is the zero time), for readers that take the field
// from the stored JSON without decoding the rest (taxstore.DecisionFields).
func ParseSignedOn(text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	signed, err := parseDateOrTime(text)
	if err != nil {
		return time.Time{}, fmt.Errorf("signed_on: %w", err)
	}
	return signed, nil
}

func parseDateOrTime(text string) (time.Time, error) {
	if len(text) == len(dateLayout) {
		date, err := time.Parse(dateLayout, text)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", text)
		}
		return date, nil
	}
	instant, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", text)
	}
	if instant.Equal(dateOf(instant)) {
		return dateOf(instant), nil
	}
	return instant, nil
}

func decodeStrict(data []byte, v any) error {
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		return err
	}
	if decoder.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	return nil
}
