package bankid

import (
	"fmt"
	"strings"
	"unicode"
)

const ibanIdentifier = "IBAN"

// IBAN limits from ISO 13616-1: two letters of country code, two check
// digits, and a country-specific BBAN of at most 30 characters.
const (
	// IBANMinLength is the shortest IBAN in the SWIFT IBAN registry (Norway).
	IBANMinLength = 15
	// IBANMaxLength is the ISO 13616 maximum: 2 + 2 + 30.
	IBANMaxLength = 34
)

// ibanLengths is the total IBAN length per country.
//
// Source: SWIFT IBAN Registry (SWIFT is the ISO 13616 registration
// authority), as published through 2024, including the countries added in
// recent releases (Falkland Islands, Mongolia, Oman, Somalia, Yemen, ...).
// Only registered IBAN countries are listed; territories that use another
// country's IBAN format (e.g. French overseas departments use FR, Jersey and
// Guernsey use GB) are covered by that country's entry. When SWIFT registers
// a new country, add it here with its length.
var ibanLengths = map[string]int{
	"AD": 24, // Andorra
	"AE": 23, // United Arab Emirates
	"AL": 28, // Albania
	"AT": 20, // Austria
	"AZ": 28, // Azerbaijan
	"BA": 20, // Bosnia and Herzegovina
	"BE": 16, // Belgium
	"BG": 22, // Bulgaria
	"BH": 22, // Bahrain
	"BI": 27, // Burundi
	"BR": 29, // Brazil
	"BY": 28, // Belarus
	"CH": 21, // Switzerland
	"CR": 22, // Costa Rica
	"CY": 28, // Cyprus
	"CZ": 24, // Czechia
	"DE": 22, // Germany
	"DJ": 27, // Djibouti
	"DK": 18, // Denmark
	"DO": 28, // Dominican Republic
	"EE": 20, // Estonia
	"EG": 29, // Egypt
	"ES": 24, // Spain
	"FI": 18, // Finland (also Åland Islands)
	"FK": 18, // Falkland Islands
	"FO": 18, // Faroe Islands
	"FR": 27, // France (also GF, GP, MQ, RE, PF, TF, YT, NC, BL, MF, PM, WF)
	"GB": 22, // United Kingdom (also Jersey, Guernsey, Isle of Man)
	"GE": 22, // Georgia
	"GI": 23, // Gibraltar
	"GL": 18, // Greenland
	"GR": 27, // Greece
	"GT": 28, // Guatemala
	"HR": 21, // Croatia
	"HU": 28, // Hungary
	"IE": 22, // Ireland
	"IL": 23, // Israel
	"IQ": 23, // Iraq
	"IS": 26, // Iceland
	"IT": 27, // Italy
	"JO": 30, // Jordan
	"KW": 30, // Kuwait
	"KZ": 20, // Kazakhstan
	"LB": 28, // Lebanon
	"LC": 32, // Saint Lucia
	"LI": 21, // Liechtenstein
	"LT": 20, // Lithuania
	"LU": 20, // Luxembourg
	"LV": 21, // Latvia
	"LY": 25, // Libya
	"MC": 27, // Monaco
	"MD": 24, // Moldova
	"ME": 22, // Montenegro
	"MK": 19, // North Macedonia
	"MN": 20, // Mongolia
	"MR": 27, // Mauritania
	"MT": 31, // Malta
	"MU": 30, // Mauritius
	"NI": 28, // Nicaragua
	"NL": 18, // Netherlands
	"NO": 15, // Norway
	"OM": 23, // Oman
	"PK": 24, // Pakistan
	"PL": 28, // Poland
	"PS": 29, // Palestine
	"PT": 25, // Portugal
	"QA": 29, // Qatar
	"RO": 24, // Romania
	"RS": 22, // Serbia
	"RU": 33, // Russia
	"SA": 24, // Saudi Arabia
	"SC": 31, // Seychelles
	"SD": 18, // Sudan
	"SE": 24, // Sweden
	"SI": 19, // Slovenia
	"SK": 24, // Slovakia
	"SM": 27, // San Marino
	"SO": 23, // Somalia
	"ST": 25, // São Tomé and Príncipe
	"SV": 28, // El Salvador
	"TL": 23, // Timor-Leste
	"TN": 24, // Tunisia
	"TR": 26, // Türkiye
	"UA": 29, // Ukraine
	"VA": 22, // Vatican City
	"VG": 24, // British Virgin Islands
	"XK": 20, // Kosovo
	"YE": 30, // Yemen
}

// IBANLength returns the registered IBAN length for a country code, and
// whether the country issues IBANs at all.
func IBANLength(country string) (int, bool) {
	n, ok := ibanLengths[country]
	return n, ok
}

// NormalizeIBAN turns the way people write IBANs ("gb82 west 1234 5698 7654
// 32", the paper format of groups of four) into the electronic format:
// whitespace removed, letters upper-cased. It does not validate.
func NormalizeIBAN(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// ValidateIBAN checks an IBAN in electronic format (see NormalizeIBAN) against
// ISO 13616: a known country code, the registered length for that country,
// only A-Z and 0-9, check digits 02-98, and the ISO 7064 mod-97-10 checksum
// (the rearranged number mod 97 must be 1). It does not check the
// country-specific BBAN structure or national check digits.
//
// Errors are *fielderr.Error wrapping ErrEmpty, ErrCharacter, ErrCountry,
// ErrLength or ErrCheckDigit. Messages never repeat the IBAN itself.
func ValidateIBAN(iban string) error {
	if iban == "" {
		return invalid(ibanIdentifier, ErrEmpty, "missing")
	}
	position := 0
	for _, r := range iban {
		position++
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', unicode.IsSpace(r):
			return invalid(ibanIdentifier, ErrCharacter,
				fmt.Sprintf("character %d is %q; write the IBAN without spaces, in capitals (NormalizeIBAN does that)", position, r))
		default:
			return invalid(ibanIdentifier, ErrCharacter,
				fmt.Sprintf("character %d is %q, only letters A-Z and digits 0-9 are allowed", position, r))
		}
	}
	if len(iban) < 4 {
		return invalid(ibanIdentifier, ErrLength,
			fmt.Sprintf("too short: %d characters, an IBAN has %d to %d", len(iban), IBANMinLength, IBANMaxLength))
	}
	country := iban[:2]
	if !isUpperLetter(country[0]) || !isUpperLetter(country[1]) {
		return invalid(ibanIdentifier, ErrCountry,
			fmt.Sprintf("must start with a two-letter country code, got %q", country))
	}
	want, ok := ibanLengths[country]
	if !ok {
		return invalid(ibanIdentifier, ErrCountry,
			fmt.Sprintf("country code %s does not issue IBANs (not in the SWIFT IBAN registry)", country))
	}
	if len(iban) != want {
		return invalid(ibanIdentifier, ErrLength,
			fmt.Sprintf("%s IBANs have %d characters, got %d", country, want, len(iban)))
	}
	if !isDigit(iban[2]) || !isDigit(iban[3]) {
		return invalid(ibanIdentifier, ErrCharacter,
			fmt.Sprintf("characters 3-4 are the check digits and must be digits, got %q", iban[2:4]))
	}
	// ISO 7064 MOD 97-10 computes check digits as 98 - (x mod 97), so they
	// range over 02..98; 00, 01 and 99 never occur in a valid IBAN even when
	// the remainder happens to work out (99 ≡ 02 mod 97).
	if check := iban[2:4]; check < "02" || check > "98" {
		return invalid(ibanIdentifier, ErrCheckDigit,
			fmt.Sprintf("check digits %s are outside 02-98", check))
	}
	if remainder := ibanMod97(iban); remainder != 1 {
		return invalid(ibanIdentifier, ErrCheckDigit,
			fmt.Sprintf("check digits fail (mod-97 = %d, want 1)", remainder))
	}
	return nil
}

// ibanMod97 computes ISO 7064 MOD 97-10 over the IBAN rearranged as BBAN +
// country + check digits, letters replaced by 10..35, without big numbers:
// the remainder is folded in digit by digit.
func ibanMod97(iban string) int {
	remainder := 0
	fold := func(c byte) {
		if isDigit(c) {
			remainder = (remainder*10 + int(c-'0')) % 97
			return
		}
		remainder = (remainder*100 + int(c-'A') + 10) % 97
	}
	for i := 4; i < len(iban); i++ {
		fold(iban[i])
	}
	for i := 0; i < 4; i++ {
		fold(iban[i])
	}
	return remainder
}

// IBANCountry returns the country code of an IBAN (normalised first), or ""
// when it does not start with two letters. It does not validate the rest.
func IBANCountry(iban string) string {
	normal := NormalizeIBAN(iban)
	if len(normal) < 2 || !isUpperLetter(normal[0]) || !isUpperLetter(normal[1]) {
		return ""
	}
	return normal[:2]
}

func isUpperLetter(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
