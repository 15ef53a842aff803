package bankid

import "strings"

// MaskRune replaces hidden characters. It is '*' rather than '•' so masked
// values stay ASCII: they go into logs, CSV exports and fixed-width payment
// reports where a multi-byte character would shift columns.
const MaskRune = '*'

// Mask visibility limits (SPEC §6.1: sensitive fields are returned masked,
// last 4 shown).
const (
	// MaskVisible is how many trailing characters stay readable.
	MaskVisible = 4
	// MaskMinLength is the shortest input whose tail is shown: at least as
	// many characters must stay hidden as are shown, otherwise a short
	// account number would be mostly revealed. Shorter inputs are masked
	// entirely.
	MaskMinLength = 2 * MaskVisible
)

// Mask hides all but the last 4 characters of a sensitive value (account
// number, IBAN, TIN) by replacing them with '*', keeping its length in
// characters: "DE89370400440532013000" → "******************3000". Values
// shorter than MaskMinLength (8) characters are masked entirely.
func Mask(s string) string {
	runes := []rune(s)
	visible := MaskVisible
	if len(runes) < MaskMinLength {
		visible = 0
	}
	hidden := len(runes) - visible
	return strings.Repeat(string(MaskRune), hidden) + string(runes[hidden:])
}
