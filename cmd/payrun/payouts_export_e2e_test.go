package main_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// `payrun payouts export` writes the export in the CLI process and prints
// its path: the CSV holds a header and a row per line, the workbook as
// many rows, the payments export the closed cycle's payment; a bad flag is
// a usage error naming it.
func TestPayoutsExportCommand(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	w := fixture.On(t, dbtest.Open(t, url))
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("US1", "US", "120.50", "2026-10-20T00:00:00Z")
	w.Earn("US1", "GB", "30.00", "2026-10-25T00:00:00Z")
	w.Set("2026-11-10T00:00:00Z")
	w.Earn("US1", "US", "60.00", "2026-11-12T00:00:00Z")
	out := t.TempDir()
	env := func(now string) []string { return append(devEnv(url), "PAYRUN_OUT="+out, "PAYRUN_NOW="+now) }
	r := payrunEnv(t, env("2026-11-05T06:00:00Z"), "cycle", "close", "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	now := env("2026-11-20T00:00:00Z")

	r = payrunEnv(t, now, "payouts", "export", "--seller", "US1", "--from", "2026-10", "--to", "2026-11", "--format", "csv")
	require.Zero(t, r.code, r.stderr)
	path := strings.TrimSpace(r.stdout)
	require.Equal(t, filepath.Join(out, "exports", "US1"), filepath.Dir(path))
	require.True(t, strings.HasSuffix(path, ".csv"), path)
	require.Contains(t, r.stderr, "transactions of US1 2026-10..2026-11, 3 rows")
	file, err := os.Open(path)
	require.NoError(t, err)
	records, err := csv.NewReader(file).ReadAll()
	require.NoError(t, file.Close())
	require.NoError(t, err)
	require.Equal(t, publisher.TransactionColumns, records[0])
	require.Len(t, records, 4)
	require.Equal(t, "60.00", records[1][8], "newest first")
	require.Equal(t, "upcoming", records[1][9])
	require.Equal(t, "processing", records[3][9], "closed, not released")

	r = payrunEnv(t, now, "payouts", "export", "--seller", "US1", "--from", "2026-10", "--to", "2026-11", "--format", "xlsx", "--json")
	require.Zero(t, r.code, r.stderr)
	var e struct {
		publisher.Export
		File string `json:"file"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
	require.Equal(t, publisher.ExportDone, e.Status)
	require.EqualValues(t, 3, e.Rows)
	book, err := excelize.OpenFile(e.File)
	require.NoError(t, err)
	rows, err := book.GetRows("Transactions")
	require.NoError(t, book.Close())
	require.NoError(t, err)
	require.Len(t, rows, 4)

	r = payrunEnv(t, now, "payouts", "export", "--seller", "US1", "--kind", "payments", "--from", "2026-11", "--to", "2026-11", "--format", "csv")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stderr, "payments of US1 2026-11..2026-11, 0 rows", "closed, no payment released yet")

	for flag, args := range map[string][]string{
		"--format": {"--from", "2026-10", "--to", "2026-11", "--format", "pdf"},
		"--kind":   {"--kind", "lines", "--from", "2026-10", "--to", "2026-11", "--format", "csv"},
		"--from":   {"--to", "2026-11", "--format", "csv"},
		"--to":     {"--from", "2026-01", "--to", "2028-01", "--format", "csv"},
	} {
		r = payrunEnv(t, now, append([]string{"payouts", "export", "--seller", "US1"}, args...)...)
		require.Equal(t, 2, r.code, "%s: %s", flag, r.stderr)
		require.Contains(t, r.stderr, flag+": ", flag)
	}
	r = payrunEnv(t, now, "payouts", "export", "--seller", "NOBODY", "--from", "2026-10", "--to", "2026-11", "--format", "csv")
	require.NotZero(t, r.code)
}
