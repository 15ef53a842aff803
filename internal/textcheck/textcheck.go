// Package textcheck is payrun's one rule for text input (SPEC §11): no
// control characters in any field a person or a system sends, counted and
// reported in characters (runes), never bytes.
//
// A control character is one of Unicode's Cc (C0 U+0000–U+001F, DEL U+007F,
// C1 U+0080–U+009F, which includes NEL U+0085) or a line or paragraph
// separator (U+2028, U+2029). None has a place in a name, an address, an
// identifier or a password: NUL is refused by Postgres text columns (a 500
// before this rule), line breaks forge extra lines in CSV, NACHA and log
// output, and the separators break JavaScript string literals. Formatting
// characters that real text needs (zero-width joiners, bidirectional marks)
// are not control characters here.
//
// Invalid UTF-8 is refused by the same checks: Postgres refuses it too.
package textcheck

import (
	"fmt"
	"unicode/utf8"
)

// IsControl reports whether r is a control character in the sense of this
// package.
func IsControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029
}

// Problem describes why s is not acceptable text, or returns "" when it is:
// the first control character (and its 1-based position in characters) or
// the first invalid UTF-8 byte.
func Problem(s string) string {
	position := 0
	for i, r := range s {
		position++
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return fmt.Sprintf("not valid UTF-8 (byte 0x%02X at character %d)", s[i], position)
		case IsControl(r):
			return fmt.Sprintf("contains the control character %U at character %d: control characters are not allowed", r, position)
		}
	}
	return ""
}

// Valid reports whether s is valid UTF-8 without control characters.
func Valid(s string) bool {
	for i, r := range s {
		if IsControl(r) || (r == utf8.RuneError && !validAt(s, i)) {
			return false
		}
	}
	return true
}

// validAt: the U+FFFD at byte i was written as such, not produced by an
// invalid byte.
func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// Length is the length of s in characters, as every limit on text counts it
// (OpenAPI's maxLength counts characters too).
func Length(s string) int { return utf8.RuneCountInString(s) }
