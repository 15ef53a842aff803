package bankid

import (
	"errors"

	"github.com/payrun/payrun/internal/fielderr"
)

// Sentinel errors, one per kind of failure, so callers can branch with
// errors.Is while people read the descriptive message of the wrapping
// *fielderr.Error (whose Code is the sentinel's: required, length,
// character, check_digit, country, prefix).
var (
	// ErrEmpty: the identifier is missing.
	ErrEmpty = errors.New("empty")
	// ErrLength: wrong number of characters (for IBANs: for the country).
	ErrLength = errors.New("wrong length")
	// ErrCharacter: a character that may not appear at that position.
	ErrCharacter = errors.New("invalid character")
	// ErrCheckDigit: the check digit or checksum does not verify.
	ErrCheckDigit = errors.New("check digit fails")
	// ErrCountry: an unknown or unsupported country code.
	ErrCountry = errors.New("unknown country")
	// ErrPrefix: an ABA routing number outside the Federal Reserve's ranges.
	ErrPrefix = errors.New("invalid routing prefix")
)

// invalid is the error of every Validate function: a *fielderr.Error with
// no path (bankid does not know what the caller calls the field: the caller
// sets it with fielderr.At), the code of the sentinel, and a message that
// says which identifier failed and why, in words a person understands
// ("IBAN: check digits fail (mod-97 = 5, want 1)"). The message never
// contains the full value checked: IBANs and account numbers are sensitive
// (SPEC §6.1, §11), so messages name positions and characters instead.
func invalid(identifier string, sentinel error, reason string) error {
	return &fielderr.Error{Code: codes[sentinel], Message: identifier + ": " + reason, Err: sentinel}
}

// codes are the fielderr codes of the sentinels.
var codes = map[error]string{
	ErrEmpty:      fielderr.Required,
	ErrLength:     fielderr.Length,
	ErrCharacter:  fielderr.Character,
	ErrCheckDigit: fielderr.CheckDigit,
	ErrCountry:    fielderr.Country,
	ErrPrefix:     fielderr.Prefix,
}
