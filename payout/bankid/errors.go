package bankid

import "errors"

// Sentinel errors, one per kind of failure, so callers can branch with
// errors.Is while people read the descriptive message of the wrapping
// *ValidationError.
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

// ValidationError says which identifier failed and why, in words a person
// understands ("IBAN: check digits fail (mod-97 = 5, want 1)"). It never
// contains the full value checked: IBANs and account numbers are sensitive
// (SPEC §6.1, §11), so messages name positions and characters instead.
type ValidationError struct {
	// Identifier is what was checked: "ABA routing number", "IBAN", "BIC",
	// "PayPal e-mail".
	Identifier string
	// Reason is the human explanation.
	Reason string
	// Err is one of the sentinels above.
	Err error
}

func (e *ValidationError) Error() string { return e.Identifier + ": " + e.Reason }

// Unwrap returns the sentinel, for errors.Is.
func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(identifier string, sentinel error, reason string) error {
	return &ValidationError{Identifier: identifier, Reason: reason, Err: sentinel}
}
