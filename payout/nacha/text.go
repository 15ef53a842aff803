package nacha

import (
	"strings"
	"unicode"

	"github.com/payrun/payrun/internal/fielderr"
)

// transliterations maps the Latin letters and typographic punctuation people
// put in names to the ASCII that ACH files carry. Letters not listed here,
// and other scripts, are dropped (see Transliterate).
var transliterations = func() map[rune]string {
	table := map[string]string{
		"ÀÁÂÃÄÅĀĂĄàáâãäåāăą": "A", "Ææ": "AE", "ÇĆĈĊČçćĉċč": "C", "ĎĐďđÐð": "D",
		"ÈÉÊËĒĔĖĘĚèéêëēĕėęě": "E", "ĜĞĠĢĝğġģ": "G", "ĤĦĥħ": "H", "ÌÍÎÏĨĪĬĮİìíîïĩīĭįı": "I",
		"Ĳĳ": "IJ", "Ĵĵ": "J", "Ķķĸ": "K", "ĹĻĽĿŁĺļľŀł": "L", "ÑŃŅŇŊñńņňŉŋ": "N",
		"ÒÓÔÕÖØŌŎŐòóôõöøōŏő": "O", "Œœ": "OE", "ŔŖŘŕŗř": "R", "ŚŜŞŠśŝşšſ": "S", "ß": "SS",
		"ŢŤŦţťŧȚț": "T", "Þþ": "TH", "ÙÚÛÜŨŪŬŮŰŲùúûüũūŭůűų": "U", "Ŵŵ": "W",
		"ÝŶŸýÿŷ": "Y", "ŹŻŽźżž": "Z", "ȘșŞş": "S",
		"‘’‚‛′": "'", "“”„‟″«»": "\"", "‐‑‒–—―−": "-", "…": "...",
	}
	out := make(map[rune]string)
	for letters, ascii := range table {
		for _, r := range letters {
			out[r] = ascii
		}
	}
	return out
}()

// Transliterate turns free text (names, descriptions) into what an ACH
// alphanumeric field may carry in payrun's files: upper-case printable ASCII
// (0x20-0x7E). Latin letters with diacritics lose them (é→E, ß→SS, Ø→O),
// typographic quotes and dashes become ASCII, any whitespace becomes a single
// space, the result is trimmed, and every other character (other scripts,
// emoji, control characters) is dropped. It is idempotent.
func Transliterate(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending, written only before a next character
	emit := func(text string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(text)
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case r > ' ' && r <= '~':
			emit(string(unicode.ToUpper(r)))
		default:
			if ascii, ok := transliterations[r]; ok {
				emit(ascii)
			}
		}
	}
	return b.String()
}

// canonicalText reports whether s is already what Transliterate makes of it;
// only such text survives a write and read unchanged.
func canonicalText(s string) bool { return Transliterate(s) == s }

// freeText transliterates a free-text value and checks it fits its field.
func freeText(record byte, f field, value string, required bool) (string, error) {
	text := Transliterate(value)
	if text == "" && required {
		if value == "" {
			return "", fieldError(record, f, fielderr.Required, nil, "missing")
		}
		return "", fieldError(record, f, fielderr.Character, nil, "has no characters an ACH file can carry (A-Z, 0-9, punctuation)")
	}
	if len(text) > f.width() {
		return "", fieldError(record, f, fielderr.TooLong, nil, "%q is %d characters, the field holds %d", text, len(text), f.width())
	}
	return text, nil
}

// identifier checks a value that must be written exactly as given, because
// it is matched later (account numbers, payout ids): it must already be
// canonical text, with no characters Transliterate would change.
func identifier(record byte, f field, value string, maxLength int) error {
	if len(value) > maxLength {
		return fieldError(record, f, fielderr.TooLong, nil, "is %d characters, at most %d allowed", len(value), maxLength)
	}
	if !canonicalText(value) {
		return fieldError(record, f, fielderr.Character, nil, "must be upper-case ASCII letters, digits and punctuation without leading, trailing or repeated spaces")
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
