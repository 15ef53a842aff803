package sepa

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTransliterate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Café Müller", "Cafe Muller"},
		{"Straße", "Strasse"},
		{"Søren Ødegård", "Soren Odegard"},
		{"Æsir Œuvre", "AEsir OEuvre"},
		{"Þórður Ðór", "THordur Dor"},
		{"Łódź Kraków", "Lodz Krakow"},
		{"Ștefan Țugui", "Stefan Tugui"},
		{"Smith & Sons", "Smith + Sons"},
		{"O’Brien “Ltd”", "O'Brien 'Ltd'"},
		{"a_b–c", "a-b-c"},
		{"  many   spaces\tand\nlines  ", "many spaces and lines"},
		{"Price: 10€ @ 50%!", "Price: 10 50"},
		{"株式会社 Sample", "Sample"},
		{"", ""},
		{"allowed /-?:().,'+ 09azAZ", "allowed /-?:().,'+ 09azAZ"},
	} {
		require.Equal(t, tc.want, Transliterate(tc.in, 0), "Transliterate(%q)", tc.in)
	}
}

func TestTransliterateTruncates(t *testing.T) {
	long := strings.Repeat("ß", 50) // 100 characters once spelled out
	got := Transliterate(long, MaxNameLength)
	require.Len(t, got, MaxNameLength)
	// A cut that lands on a space does not leave a trailing space.
	got = Transliterate(strings.Repeat("a", 69)+" bcd", MaxNameLength)
	require.Equal(t, strings.Repeat("a", 69), got)
}

func TestEveryTransliterationIsInTheSet(t *testing.T) {
	for from, to := range transliterations {
		for _, r := range to {
			require.True(t, allowedRune(r), "%q maps to %q, outside the set", from, to)
		}
	}
}

func TestCheckIdentifier(t *testing.T) {
	for _, ok := range []string{"PO-2026-11-000042", "A", "a/b", "x?y:(z).,'+", strings.Repeat("9", 35)} {
		require.NoError(t, checkIdentifier("id", ok), ok)
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", " a", "a ", strings.Repeat("9", 36), "a_b", "a&b", "é"} {
		require.ErrorIs(t, checkIdentifier("id", bad), ErrInvalidIdentifier, bad)
	}
}
