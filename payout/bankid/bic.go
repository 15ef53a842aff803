package bankid

import (
	"fmt"
	"strings"
)

const bicIdentifier = "BIC"

// BIC lengths from ISO 9362: 4 (institution) + 2 (country) + 2 (location)
// identify an institution's main office; 3 more (branch) identify a branch.
const (
	// BICLength8 identifies an institution's main office.
	BICLength8 = 8
	// BICLength11 adds a 3-character branch code.
	BICLength11 = 11
)

// NormalizeBIC trims surrounding whitespace and upper-cases a BIC as people
// type it. It does not validate.
func NormalizeBIC(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidateBIC checks a business identifier code (SWIFT code) against ISO 9362:
// 8 or 11 characters — 4 letters of institution code, 2 letters of an ISO
// 3166-1 country code, 2 letters or digits of location, and optionally 3
// letters or digits of branch code ("XXX" means the main office; a branch code
// starting with X is reserved for it). Upper case only (see NormalizeBIC).
//
// Errors are *fielderr.Error wrapping ErrEmpty, ErrLength, ErrCharacter or
// ErrCountry.
func ValidateBIC(bic string) error {
	if bic == "" {
		return invalid(bicIdentifier, ErrEmpty, "missing")
	}
	position := 0
	for _, r := range bic {
		position++
		if !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') {
			hint := "only capital letters A-Z and digits 0-9 are allowed"
			if r >= 'a' && r <= 'z' {
				hint = "write the BIC in capitals (NormalizeBIC does that)"
			}
			return invalid(bicIdentifier, ErrCharacter, fmt.Sprintf("character %d is %q; %s", position, r, hint))
		}
	}
	if len(bic) != BICLength8 && len(bic) != BICLength11 {
		return invalid(bicIdentifier, ErrLength,
			fmt.Sprintf("must have %d or %d characters, got %d", BICLength8, BICLength11, len(bic)))
	}
	for i := 0; i < 4; i++ {
		if !isUpperLetter(bic[i]) {
			return invalid(bicIdentifier, ErrCharacter,
				fmt.Sprintf("characters 1-4 are the institution code and must be letters, character %d is %q", i+1, bic[i]))
		}
	}
	country := bic[4:6]
	if !isUpperLetter(country[0]) || !isUpperLetter(country[1]) {
		return invalid(bicIdentifier, ErrCharacter,
			fmt.Sprintf("characters 5-6 are the country code and must be letters, got %q", country))
	}
	if !KnownCountry(country) {
		return invalid(bicIdentifier, ErrCountry,
			fmt.Sprintf("characters 5-6, %q, are not an ISO 3166-1 country code", country))
	}
	if len(bic) == BICLength11 {
		branch := bic[8:11]
		if branch[0] == 'X' && branch != "XXX" {
			return invalid(bicIdentifier, ErrCharacter,
				fmt.Sprintf("branch code %q starts with X, which is reserved for XXX (main office)", branch))
		}
	}
	return nil
}

// BICCountry returns the country code of a BIC (characters 5-6, normalised),
// or "" when the BIC is too short or those are not letters. It does not
// validate the rest.
func BICCountry(bic string) string {
	normal := NormalizeBIC(bic)
	if len(normal) < 6 || !isUpperLetter(normal[4]) || !isUpperLetter(normal[5]) {
		return ""
	}
	return normal[4:6]
}
