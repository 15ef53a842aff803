package sepa

import (
	"errors"
	"fmt"
	"strings"
)

// The EPC SEPA rulebooks (EPC125-05 SCT rulebook, section 1.4 "Character set",
// and EPC217-08 "SEPA Requirements for an Extended Character Set") guarantee
// only the Latin character set below across every SEPA bank:
//
//	a-z A-Z 0-9 / - ? : ( ) . , ' + space
//
// Anything else may be rejected or mangled by some bank on the way, so the
// writer never emits it.

// allowedRune reports whether r is in the EPC basic Latin character set.
func allowedRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("/-?:().,'+ ", r)
}

// transliterations maps characters outside the EPC set to their closest
// representation inside it. Letters lose their diacritics (EPC217-08 converts
// "é" to "e" rather than to a multi-letter spelling); ligatures and letters
// without a base letter are spelled out (ß→ss, Æ→AE, Þ→TH). Runes that are
// neither allowed nor listed here are dropped.
var transliterations = map[rune]string{
	// Latin-1 Supplement.
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Æ': "AE", 'Ç': "C",
	'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I",
	'Ð': "D", 'Ñ': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ý': "Y", 'Þ': "TH", 'ß': "ss",
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ð': "d", 'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'þ': "th", 'ÿ': "y",
	// Latin Extended-A.
	'Ā': "A", 'ā': "a", 'Ă': "A", 'ă': "a", 'Ą': "A", 'ą': "a",
	'Ć': "C", 'ć': "c", 'Ĉ': "C", 'ĉ': "c", 'Ċ': "C", 'ċ': "c", 'Č': "C", 'č': "c",
	'Ď': "D", 'ď': "d", 'Đ': "D", 'đ': "d",
	'Ē': "E", 'ē': "e", 'Ĕ': "E", 'ĕ': "e", 'Ė': "E", 'ė': "e", 'Ę': "E", 'ę': "e", 'Ě': "E", 'ě': "e",
	'Ĝ': "G", 'ĝ': "g", 'Ğ': "G", 'ğ': "g", 'Ġ': "G", 'ġ': "g", 'Ģ': "G", 'ģ': "g",
	'Ĥ': "H", 'ĥ': "h", 'Ħ': "H", 'ħ': "h",
	'Ĩ': "I", 'ĩ': "i", 'Ī': "I", 'ī': "i", 'Ĭ': "I", 'ĭ': "i", 'Į': "I", 'į': "i", 'İ': "I", 'ı': "i",
	'Ĳ': "IJ", 'ĳ': "ij", 'Ĵ': "J", 'ĵ': "j", 'Ķ': "K", 'ķ': "k", 'ĸ': "k",
	'Ĺ': "L", 'ĺ': "l", 'Ļ': "L", 'ļ': "l", 'Ľ': "L", 'ľ': "l", 'Ŀ': "L", 'ŀ': "l", 'Ł': "L", 'ł': "l",
	'Ń': "N", 'ń': "n", 'Ņ': "N", 'ņ': "n", 'Ň': "N", 'ň': "n", 'ŉ': "'n", 'Ŋ': "N", 'ŋ': "n",
	'Ō': "O", 'ō': "o", 'Ŏ': "O", 'ŏ': "o", 'Ő': "O", 'ő': "o", 'Œ': "OE", 'œ': "oe",
	'Ŕ': "R", 'ŕ': "r", 'Ŗ': "R", 'ŗ': "r", 'Ř': "R", 'ř': "r",
	'Ś': "S", 'ś': "s", 'Ŝ': "S", 'ŝ': "s", 'Ş': "S", 'ş': "s", 'Š': "S", 'š': "s",
	'Ţ': "T", 'ţ': "t", 'Ť': "T", 'ť': "t", 'Ŧ': "T", 'ŧ': "t",
	'Ũ': "U", 'ũ': "u", 'Ū': "U", 'ū': "u", 'Ŭ': "U", 'ŭ': "u", 'Ů': "U", 'ů': "u",
	'Ű': "U", 'ű': "u", 'Ų': "U", 'ų': "u",
	'Ŵ': "W", 'ŵ': "w", 'Ŷ': "Y", 'ŷ': "y", 'Ÿ': "Y",
	'Ź': "Z", 'ź': "z", 'Ż': "Z", 'ż': "z", 'Ž': "Z", 'ž': "z", 'ſ': "s",
	// Latin Extended-B letters in current use (Romanian comma-below forms).
	'Ș': "S", 'ș': "s", 'Ț': "T", 'ț': "t",
	// Punctuation with a close equivalent inside the set.
	'&': "+", '"': "'", '`': "'", '´': "'", '‘': "'", '’': "'", '‚': "'", '“': "'", '”': "'",
	'„': "'", '«': "'", '»': "'", '‹': "'", '›': "'",
	'–': "-", '—': "-", '‐': "-", '‑': "-", '_': "-",
	'[': "(", ']': ")", '{': "(", '}': ")", ';': ",", '\\': "/",
	// Whitespace of every kind becomes a plain space (runs collapse later).
	'\t': " ", '\n': " ", '\r': " ", '\u00a0': " ", '\u2007': " ", '\u202f': " ",
}

// Transliterate converts free text (names, remittance information) to the EPC
// Latin character set: letters with diacritics lose them (é→e, ø→o), ligatures
// are spelled out (ß→ss, Æ→AE), a few punctuation marks get their closest
// allowed equivalent (&→+, curly quotes→'), every other character outside the
// set is dropped, runs of spaces collapse to one, and the result is trimmed.
// The result is then cut to at most maxLength characters (0: no limit); the
// set is ASCII, so characters and bytes coincide.
func Transliterate(text string, maxLength int) string {
	var b strings.Builder
	b.Grow(len(text))
	lastSpace := true // drops leading spaces
	for _, r := range text {
		replacement, ok := transliterations[r]
		if !ok {
			if !allowedRune(r) {
				continue
			}
			replacement = string(r)
		}
		for _, c := range replacement {
			if c == ' ' {
				if lastSpace {
					continue
				}
				lastSpace = true
			} else {
				lastSpace = false
			}
			b.WriteRune(c)
		}
	}
	out := strings.TrimRight(b.String(), " ")
	if maxLength > 0 && len(out) > maxLength {
		out = strings.TrimRight(out[:maxLength], " ")
	}
	return out
}

// ErrInvalidIdentifier is wrapped by every identifier check failure.
var ErrInvalidIdentifier = errors.New("invalid identifier")

// checkIdentifier applies the EPC rules for references and identifications
// (MsgId, PmtInfId, InstrId, EndToEndId): 1 to MaxIdentifierLength characters,
// only the Latin character set, no leading or trailing '/', no "//" inside.
// Identifiers are never transliterated: a changed id would no longer match
// the payout it names, so a bad one is refused instead. Leading or trailing
// spaces are refused too, since banks trim them.
func checkIdentifier(field, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidIdentifier, field)
	case len(id) > MaxIdentifierLength:
		return fmt.Errorf("%w: %s %q is longer than %d characters", ErrInvalidIdentifier, field, id, MaxIdentifierLength)
	case strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/"):
		return fmt.Errorf("%w: %s %q starts or ends with '/'", ErrInvalidIdentifier, field, id)
	case strings.Contains(id, "//"):
		return fmt.Errorf("%w: %s %q contains \"//\"", ErrInvalidIdentifier, field, id)
	case strings.TrimSpace(id) != id:
		return fmt.Errorf("%w: %s %q starts or ends with a space", ErrInvalidIdentifier, field, id)
	}
	for _, r := range id {
		if !allowedRune(r) {
			return fmt.Errorf("%w: %s %q contains %q, outside the EPC Latin character set", ErrInvalidIdentifier, field, id, r)
		}
	}
	return nil
}
