package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Item 7: `cycle close --dry-run` says what it wrote and what it did not:
// the database is unchanged (rolled back), and the DRAFT workbook it names
// is the one file written; with --no-workbook, no file at all.
func TestDryRunSaysWhatItWrote(t *testing.T) {
	t.Parallel()
	url, w := marketplace(t)
	before := w.Dump()
	out := filepath.Join(t.TempDir(), "out")
	env := append(devEnv(url), "PAYRUN_OUT="+out)

	r := payrunEnv(t, env, "cycle", "close", "--month", "2026-11", "--dry-run")
	require.Zero(t, r.code, r.stderr)
	draft := filepath.Join(out, "cycles", "2026-11", "payout-summary-2026-11-DRAFT.xlsx")
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	require.Regexp(t, `^DRY RUN of cycle 2026-11 \([0-9.]+ s\): the database is unchanged \(rolled back\); wrote the DRAFT workbook `+
		regexp.QuoteMeta(draft)+` only$`, first)
	require.NotContains(t, r.stdout, "nothing was written")
	require.Contains(t, r.stdout, "  workbook: "+draft+" (DRAFT")
	require.FileExists(t, draft)
	var files []string
	require.NoError(t, filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, path)
		}
		return err
	}))
	require.Equal(t, []string{draft}, files, "the DRAFT workbook is the only file written")
	require.Equal(t, before, w.Dump(), "the database is unchanged")

	bare := filepath.Join(t.TempDir(), "out")
	r = payrunEnv(t, append(devEnv(url), "PAYRUN_OUT="+bare), "cycle", "close", "--month", "2026-11", "--dry-run", "--no-workbook")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "the database is unchanged (rolled back); no file was written (--no-workbook)")
	require.NoDirExists(t, bare)
}
