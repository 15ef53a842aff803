package tax

import (
	"errors"
	"fmt"
	"strings"
)

// TINKind is the kind of a US taxpayer identification number.
type TINKind string

// The US TIN kinds a form may carry.
const (
	// TINSSN is a Social Security number, issued by the SSA to individuals.
	TINSSN TINKind = "ssn"
	// TINITIN is an individual taxpayer identification number, issued by the
	// IRS to individuals who cannot get an SSN.
	TINITIN TINKind = "itin"
	// TINEIN is an employer identification number, issued by the IRS to
	// entities (and to sole proprietors who ask for one).
	TINEIN TINKind = "ein"
)

// Valid reports whether k is one of the known kinds.
func (k TINKind) Valid() bool {
	switch k {
	case TINSSN, TINITIN, TINEIN:
		return true
	}
	return false
}

// Errors of NormalizeTIN and ValidateTIN. Callers show the reason as is: it
// never contains the whole TIN, at most the part that is wrong.
var (
	// ErrTINFormat: not 9 digits, or dashes in unusual places.
	ErrTINFormat = errors.New("must be 9 digits, written 123456789, 123-45-6789 or 12-3456789")
	// ErrTINKind: the kind is not ssn, itin or ein.
	ErrTINKind = errors.New("must be one of ssn, itin, ein")
)

// NormalizeTIN returns the 9 digits of a US TIN written without dashes, or in
// the SSN/ITIN layout 123-45-6789, or in the EIN layout 12-3456789. Surrounding
// spaces are ignored. Anything else is ErrTINFormat: accepting dashes anywhere
// would let "1-2-3…" through, which no one writes on purpose.
func NormalizeTIN(tin string) (string, error) {
	tin = strings.TrimSpace(tin)
	var digits string
	switch {
	case len(tin) == 9:
		digits = tin
	case len(tin) == 11 && tin[3] == '-' && tin[6] == '-':
		digits = tin[:3] + tin[4:6] + tin[7:]
	case len(tin) == 10 && tin[2] == '-':
		digits = tin[:2] + tin[3:]
	default:
		return "", ErrTINFormat
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", ErrTINFormat
		}
	}
	return digits, nil
}

// ValidateTIN checks tin (in any layout NormalizeTIN accepts) against the
// format rules of its kind:
//
//   - SSN (SSA, "Social Security Number Randomization", 2011): area (digits
//     1-3) 000, 666 and 900-999 are never issued; group (digits 4-5) 00 and
//     serial (digits 6-9) 0000 are never issued.
//   - ITIN (IRS, "ITIN Number Format"): starts with 9, and the group (digits
//     4-5) is in 50-65, 70-88, 90-92 or 94-99.
//   - EIN (IRS, "How EINs are Assigned and Valid EIN Prefixes"): the first two
//     digits are a prefix assigned to an IRS campus; see validEINPrefix.
//
// A format check is not a TIN match: only the IRS TIN Matching program can say
// that a name and a TIN belong together (Record.TINMatchFailed).
// Errors: ErrTINFormat, ErrTINKind, or an error describing the rule broken.
func ValidateTIN(kind TINKind, tin string) error {
	digits, err := NormalizeTIN(tin)
	if err != nil {
		return err
	}
	switch kind {
	case TINSSN:
		return validateSSN(digits)
	case TINITIN:
		return validateITIN(digits)
	case TINEIN:
		return validateEIN(digits)
	}
	return ErrTINKind
}

func validateSSN(digits string) error {
	area, group, serial := digits[:3], digits[3:5], digits[5:]
	switch {
	case area == "000" || area == "666" || area[0] == '9':
		return fmt.Errorf("SSN area %s is never issued", area)
	case group == "00":
		return errors.New("SSN group 00 is never issued")
	case serial == "0000":
		return errors.New("SSN serial 0000 is never issued")
	}
	return nil
}

func validateITIN(digits string) error {
	if digits[0] != '9' {
		return errors.New("an ITIN starts with 9")
	}
	group := twoDigits(digits[3:5])
	switch {
	case group >= 50 && group <= 65,
		group >= 70 && group <= 88,
		group >= 90 && group <= 92,
		group >= 94 && group <= 99:
		return nil
	}
	return fmt.Errorf("ITIN group %s is not used (must be 50-65, 70-88, 90-92 or 94-99)", digits[3:5])
}

func validateEIN(digits string) error {
	if !validEINPrefix(twoDigits(digits[:2])) {
		return fmt.Errorf("EIN prefix %s is not assigned", digits[:2])
	}
	return nil
}

// validEINPrefix reports whether an EIN prefix is one the IRS assigns, from
// the IRS list "How EINs are Assigned and Valid EIN Prefixes": 01-06, 10-16,
// 20-27, 30-39, 40-48, 50-68, 71-77, 80-88, 90-95, 98-99. The prefixes 00,
// 07-09, 17-19, 28, 29, 49, 69, 70, 78, 79, 89, 96 and 97 are not assigned.
func validEINPrefix(prefix int) bool {
	for _, r := range [...][2]int{
		{1, 6}, {10, 16}, {20, 27}, {30, 39}, {40, 48}, {50, 68}, {71, 77},
		{80, 88}, {90, 95}, {98, 99},
	} {
		if prefix >= r[0] && prefix <= r[1] {
			return true
		}
	}
	return false
}

// twoDigits reads two ASCII digits already checked by NormalizeTIN.
func twoDigits(s string) int {
	return int(s[0]-'0')*10 + int(s[1]-'0')
}

// MaskTIN returns a TIN for display with all but its last four characters
// hidden ("*****6789"), as SPEC §6.1 asks for sensitive fields. Short or
// empty input is hidden entirely.
func MaskTIN(tin string) string {
	runes := []rune(strings.TrimSpace(tin))
	if len(runes) <= 4 {
		return strings.Repeat("*", len(runes))
	}
	return strings.Repeat("*", len(runes)-4) + string(runes[len(runes)-4:])
}
