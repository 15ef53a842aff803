package bankid

import "fmt"

// ABARoutingLength is the length of an ABA routing transit number: 8 digits
// of institution identifier and 1 check digit (ABA Routing Number Policy).
const ABARoutingLength = 9

const abaIdentifier = "ABA routing number"

// abaWeights are the 3-7-1 weights of the ABA check-digit algorithm, applied
// to digits 1..9 in order.
var abaWeights = [ABARoutingLength]int{3, 7, 1, 3, 7, 1, 3, 7, 1}

// ValidateABA checks a US ABA routing transit number: exactly 9 ASCII digits,
// a first two digits in one of the Federal Reserve's routing-symbol ranges
// (00-12 banks, 21-32 thrifts, 61-72 electronic, 80 traveller's cheques), and
// the 3-7-1 weighted checksum (3·d1 + 7·d2 + d3 + 3·d4 + … + d9 ≡ 0 mod 10).
//
// Errors are *fielderr.Error wrapping ErrEmpty, ErrLength, ErrCharacter,
// ErrPrefix or ErrCheckDigit.
func ValidateABA(routing string) error {
	if routing == "" {
		return invalid(abaIdentifier, ErrEmpty, "missing")
	}
	if position, r, found := firstNonDigit(routing); found {
		return invalid(abaIdentifier, ErrCharacter,
			fmt.Sprintf("character %d is %q, want a digit 0-9", position, r))
	}
	if len(routing) != ABARoutingLength {
		return invalid(abaIdentifier, ErrLength,
			fmt.Sprintf("must be %d digits, got %d", ABARoutingLength, len(routing)))
	}
	prefix := int(routing[0]-'0')*10 + int(routing[1]-'0')
	if !validABAPrefix(prefix) {
		return invalid(abaIdentifier, ErrPrefix,
			fmt.Sprintf("first two digits %02d are not a Federal Reserve routing symbol (valid: 00-12, 21-32, 61-72, 80)", prefix))
	}
	sum := 0
	for i := 0; i < ABARoutingLength; i++ {
		sum += abaWeights[i] * int(routing[i]-'0')
	}
	if sum%10 != 0 {
		want, _ := ABACheckDigit(routing[:8])
		return invalid(abaIdentifier, ErrCheckDigit,
			fmt.Sprintf("check digit fails (3-7-1 weighted sum = %d, not a multiple of 10; check digit %c would make it valid, got %c)",
				sum, want, routing[8]))
	}
	return nil
}

// ABACheckDigit returns the ninth digit that completes the 8-digit
// institution identifier first8 to a valid 3-7-1 checksum. NACHA files carry
// routing numbers split this way (RDFI identification + check digit).
// Errors: *fielderr.Error (ErrLength, ErrCharacter).
func ABACheckDigit(first8 string) (byte, error) {
	if position, r, found := firstNonDigit(first8); found {
		return 0, invalid(abaIdentifier, ErrCharacter,
			fmt.Sprintf("character %d is %q, want a digit 0-9", position, r))
	}
	if len(first8) != ABARoutingLength-1 {
		return 0, invalid(abaIdentifier, ErrLength,
			fmt.Sprintf("institution identifier must be %d digits, got %d", ABARoutingLength-1, len(first8)))
	}
	sum := 0
	for i := 0; i < len(first8); i++ {
		sum += abaWeights[i] * int(first8[i]-'0')
	}
	// The ninth weight is 1, so the check digit is whatever brings the sum to
	// the next multiple of 10.
	return byte('0' + (10-sum%10)%10), nil
}

// validABAPrefix reports whether the first two digits of a routing number are
// a routing symbol the Federal Reserve assigns: 00 (US government), 01-12
// (Federal Reserve districts, banks), 21-32 (thrift institutions, district +
// 20), 61-72 (electronic transactions, district + 60) and 80 (traveller's
// cheques). Source: ABA Routing Number Policy / Federal Reserve routing
// symbol conventions.
func validABAPrefix(prefix int) bool {
	switch {
	case prefix >= 0 && prefix <= 12,
		prefix >= 21 && prefix <= 32,
		prefix >= 61 && prefix <= 72,
		prefix == 80:
		return true
	}
	return false
}

// firstNonDigit finds the first character of s that is not an ASCII digit and
// returns its 1-based position in characters.
func firstNonDigit(s string) (position int, r rune, found bool) {
	for _, r := range s {
		position++
		if r < '0' || r > '9' {
			return position, r, true
		}
	}
	return 0, 0, false
}
