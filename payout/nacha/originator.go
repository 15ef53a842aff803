package nacha

import (
	"time"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/bankid"
)

// Originator is the configuration of the company sending payouts and of its
// bank (the ODFI), SPEC §6.2 "originator (ODFI, company id/name) from config".
// Free-text fields are transliterated to upper-case ASCII when written.
type Originator struct {
	// ImmediateDestination is the 9-digit routing number of the bank or ACH
	// operator the file is sent to; written as " " + routing.
	ImmediateDestination string
	// ImmediateDestinationName names it (at most 23 characters).
	ImmediateDestinationName string
	// ImmediateOrigin identifies the sender in exactly 10 characters, as the
	// ODFI assigns: usually "1" + the 9-digit tax id, or " " + a routing
	// number.
	ImmediateOrigin string
	// ImmediateOriginName names the sender (at most 23 characters).
	ImmediateOriginName string
	// CompanyName is shown on the receiver's statement (at most 16).
	CompanyName string
	// CompanyID is the originator's 10-character company identification,
	// usually "1" + EIN, as agreed with the ODFI.
	CompanyID string
	// CompanyEntryDescription is shown on the receiver's statement, e.g.
	// "PAYOUT" (at most 10).
	CompanyEntryDescription string
	// ODFIRouting is the originating bank's 8-digit identification (its
	// routing number without the check digit), written in batch headers,
	// batch controls and as the prefix of every trace number.
	ODFIRouting string
}

// FileHeader is what a file needs besides its batches.
type FileHeader struct {
	Originator Originator
	// FileCreation is written as YYMMDD and HHMM in FileCreation's own
	// location. It is given explicitly, never read from the clock, so the
	// same cycle writes the same bytes (SPEC §3.4).
	FileCreation time.Time
	// FileIDModifier tells apart files created on the same date for the
	// same destination: 'A'-'Z' or '0'-'9'.
	FileIDModifier byte
}

// Validate checks every field of the originator configuration: required
// values present, lengths, digits, and the destination routing number's ABA
// checksum. Errors are *fielderr.Error (ErrInvalidField).
func (o Originator) Validate() error {
	_, err := o.normalized()
	return err
}

// normalized returns the originator as written (transliterated free text).
func (o Originator) normalized() (Originator, error) {
	var err error
	if err := bankid.ValidateABA(o.ImmediateDestination); err != nil {
		return o, fieldError(fileHeaderRecord, fhDestination, "", err, "%v", err)
	}
	if o.ImmediateDestinationName, err = freeText(fileHeaderRecord, fhDestinationName, o.ImmediateDestinationName, true); err != nil {
		return o, err
	}
	if err := validateImmediateOrigin(o.ImmediateOrigin); err != nil {
		return o, err
	}
	if o.ImmediateOriginName, err = freeText(fileHeaderRecord, fhOriginName, o.ImmediateOriginName, true); err != nil {
		return o, err
	}
	if o.CompanyName, err = freeText(batchHeaderRecord, bhCompanyName, o.CompanyName, true); err != nil {
		return o, err
	}
	if len(o.CompanyID) != CompanyIDLength || !alphanumeric(o.CompanyID) {
		return o, fieldError(batchHeaderRecord, bhCompanyID, fielderr.Length, nil,
			"must be exactly %d capital letters or digits (usually \"1\" + EIN), got %d characters", CompanyIDLength, len(o.CompanyID))
	}
	if o.CompanyEntryDescription, err = freeText(batchHeaderRecord, bhDescription, o.CompanyEntryDescription, true); err != nil {
		return o, err
	}
	if len(o.ODFIRouting) != ODFIIdentificationLength || !isDigits(o.ODFIRouting) {
		return o, fieldError(batchHeaderRecord, bhODFI, fielderr.Invalid, nil,
			"must be the %d-digit ODFI identification (routing number without check digit), got %q", ODFIIdentificationLength, o.ODFIRouting)
	}
	check, _ := bankid.ABACheckDigit(o.ODFIRouting)
	if err := bankid.ValidateABA(o.ODFIRouting + string(check)); err != nil {
		return o, fieldError(batchHeaderRecord, bhODFI, "", err, "%v", err)
	}
	return o, nil
}

func validateImmediateOrigin(origin string) error {
	switch {
	case len(origin) != fhOrigin.width():
		return fieldError(fileHeaderRecord, fhOrigin, fielderr.Length, nil,
			"must be exactly 10 characters (\"1\" + tax id, or \" \" + routing number), got %d", len(origin))
	case origin[0] == ' ':
		if err := bankid.ValidateABA(origin[1:]); err != nil {
			return fieldError(fileHeaderRecord, fhOrigin, "", err, "\" \" + routing number, but %v", err)
		}
	case !isDigits(origin):
		return fieldError(fileHeaderRecord, fhOrigin, fielderr.Character, nil,
			"must be 10 digits (\"1\" + tax id) or \" \" + a routing number")
	}
	return nil
}

// validate checks the header and returns it as written.
func (h FileHeader) normalized() (FileHeader, error) {
	var err error
	if h.Originator, err = h.Originator.normalized(); err != nil {
		return h, err
	}
	if err := checkDate(fileHeaderRecord, fhCreationDate, h.FileCreation); err != nil {
		return h, err
	}
	if c := h.FileIDModifier; !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
		return h, fieldError(fileHeaderRecord, fhIDModifier, fielderr.Character, nil, "must be A-Z or 0-9, got %q", rune(c))
	}
	return h, nil
}

// checkDate refuses dates a YYMMDD field cannot carry unambiguously: payrun
// reads YY as 20YY.
func checkDate(record byte, f field, t time.Time) error {
	if t.IsZero() {
		return fieldError(record, f, fielderr.Required, nil, "missing")
	}
	if year := t.Year(); year < 2000 || year > 2099 {
		return fieldError(record, f, fielderr.Range, nil, "year %d cannot be written as YY (payrun reads YY as 20YY)", year)
	}
	return nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// sameOrLaterDate compares calendar dates, each in its own location.
func sameOrLaterDate(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC).Compare(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)) >= 0
}
