package release

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// An FX file's records are bounded however many lines a quoted field spans,
// and a source with a control character is refused before the database is
// touched (there is none here).
func TestImportFXRefusesLongRecordsAndControlCharacters(t *testing.T) {
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	long := FXHeader + "\nEUR,0.92,2026-10-30,\"" + strings.Repeat("ECB\n", 10_000) + "\"\n"
	_, err := ImportFX(context.Background(), nil, month, strings.NewReader(long), month)
	require.ErrorContains(t, err, "line 2: record longer than 4096 bytes (a quoted field spans")

	_, err = ImportFX(context.Background(), nil, month, strings.NewReader(FXHeader+"\nEUR,0.92,2026-10-30,ECB\x00\n"), month)
	require.ErrorContains(t, err, "line 2, column source: contains the control character U+0000")
}
