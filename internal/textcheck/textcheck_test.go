package textcheck_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/textcheck"
)

func TestControlCharactersAndInvalidUTF8AreRefused(t *testing.T) {
	for _, bad := range []string{"a\x00b", "\t", "line\nbreak", "cr\r", "\x1b[31m", "del\x7f", "nel\u0085", "c1\u009f", "ls\u2028", "ps\u2029", "\xff", "ok\xc3"} {
		require.False(t, textcheck.Valid(bad), "%q", bad)
		require.NotEmpty(t, textcheck.Problem(bad), "%q", bad)
	}
	for _, good := range []string{"", "Ada Lovelace", "Zoë Straße 5", "東京都", "\ufffd", "emoji 👩‍💻", "\u200f\u05e9\u05dc\u05d5\u05dd", "a\u00a0b"} {
		require.True(t, textcheck.Valid(good), "%q", good)
		require.Empty(t, textcheck.Problem(good), "%q", good)
	}
	require.Equal(t, "contains the control character U+0000 at character 3: control characters are not allowed", textcheck.Problem("äb\x00"))
	require.Contains(t, textcheck.Problem("ab\xff"), "byte 0xFF at character 3")
	require.Equal(t, 3, textcheck.Length("äöü"))
	require.Equal(t, 200, textcheck.Length(strings.Repeat("é", 200)))
}
