package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/config"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// releasedNovember: US1 (W-9, ACH) and DE1 (W-8BEN, no treaty, PayPal)
// paid in the released 2026-11 cycle; DE1 has a sale not yet available.
func releasedNovember(t *testing.T) (databaseURL string) {
	t.Helper()
	databaseURL = dbtest.NewURL(t)
	w := fixture.On(t, dbtest.Open(t, databaseURL))
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("DE1", fixture.Publisher{Country: "DE", Method: payout.PayPal})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("US1", "US", "120.50", "2026-10-20T00:00:00Z")
	w.Earn("DE1", "US", "100.00", "2026-10-20T00:00:00Z")
	w.Earn("DE1", "FR", "20.00", "2026-10-20T00:00:00Z")
	w.Earn("DE1", "US", "30.00", "2026-11-20T00:00:00Z")
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
	w.Set("2026-11-06T09:00:00Z")
	_, err := releaser.Release(context.Background(), fixture.Month("2026-11"), "ops")
	require.NoError(t, err)
	return databaseURL
}

type commandRun struct {
	stdout, stderr string
	err            error
}

// runCommand runs one command built by build on an app configured for
// databaseURL and out (development mode: the fixture's sealing key).
func runCommand(t *testing.T, databaseURL, out string, build func(*app) *cobra.Command, args ...string) commandRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp()
	a.stdout, a.stderr = &stdout, &stderr
	a.now = func() time.Time { return fixture.At("2026-11-07T12:00:00Z") }
	a.config = config.Config{DatabaseURL: databaseURL, Out: out, Dev: true}
	cmd := build(a)
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return commandRun{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

func TestStatementCommand(t *testing.T) {
	t.Parallel()
	databaseURL := releasedNovember(t)
	out := t.TempDir()
	statementCmd := (*app).statementCommand

	run := runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "2026-11")
	require.NoError(t, run.err)
	require.Regexp(t, `statement of DE1 for 2026-11: paid, payment P202611\d{8} sent, withheld 30\.00 USD`, run.stdout)
	require.Contains(t, run.stdout, "3 line(s) (1 unprocessed, 2 sent)")
	require.FileExists(t, filepath.Join(out, "statements", "DE1", "statement-2026-11.xlsx"))
	require.FileExists(t, filepath.Join(out, "statements", "DE1", "statement-2026-11.csv"))

	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "2026-11")
	require.ErrorContains(t, run.err, "pass --overwrite to replace it")
	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "2026-11", "--overwrite", "--json")
	require.NoError(t, run.err)
	require.Contains(t, run.stdout, `"payment_status": "sent"`)

	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "NOPE", "--month", "2026-11")
	require.ErrorContains(t, run.err, "unknown seller id: NOPE")
	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "2026-12")
	require.ErrorContains(t, run.err, "cycle not closed: 2026-12 has not been closed yet")
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "2026-11", "--out", blocker)
	require.ErrorContains(t, run.err, "output directory is not writable")
	run = runCommand(t, databaseURL, out, statementCmd, "--month", "2026-11")
	var usage *usageError
	require.True(t, errors.As(run.err, &usage), "missing --seller is a usage error: %v", run.err)
	run = runCommand(t, databaseURL, out, statementCmd, "--seller", "DE1", "--month", "November")
	require.True(t, errors.As(run.err, &usage), "a bad month is a usage error: %v", run.err)
}

func TestTaxYearEndCommand(t *testing.T) {
	t.Parallel()
	databaseURL := releasedNovember(t)
	out := t.TempDir()
	yearEnd := (*app).taxYearEndCommand

	run := runCommand(t, databaseURL, out, yearEnd, "--year", "2026")
	require.NoError(t, run.err)
	require.NotContains(t, run.stderr, "WARNING")
	dir := filepath.Join(out, "tax", "2026")
	require.Contains(t, run.stdout, "1042-S: 1 row(s), 1 recipient(s), gross 100.00 USD, withheld 30.00 USD")
	require.Contains(t, run.stdout, "1099:   1 recipient(s), gross 120.50 USD")
	for _, name := range []string{"1042-S-2026.xlsx", "1042-S-2026.csv", "1099-2026.xlsx", "1099-2026.csv"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
	require.NoFileExists(t, filepath.Join(dir, "tins-2026-UNMASKED.csv"))

	full := t.TempDir()
	run = runCommand(t, databaseURL, out, yearEnd, "--year", "2026", "--out", full, "--full-tins", "--1099misc-gross", "600")
	require.NoError(t, run.err)
	tins := filepath.Join(full, "tins-2026-UNMASKED.csv")
	require.Contains(t, run.stderr, "WARNING: "+tins+" holds 2 full, unmasked TIN record(s)")
	info, err := os.Stat(tins)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	body, err := os.ReadFile(tins)
	require.NoError(t, err)
	require.Contains(t, string(body), "123456789")
	form1099, err := os.ReadFile(filepath.Join(full, "1099-2026.csv"))
	require.NoError(t, err)
	require.NotContains(t, string(form1099), "123456789")
	require.Contains(t, string(form1099), ",none\n", "120.50 is below a 600 USD 1099-MISC threshold")

	run = runCommand(t, databaseURL, out, yearEnd, "--year", "2026")
	require.ErrorContains(t, run.err, "pass --overwrite to replace it")
	run = runCommand(t, databaseURL, out, yearEnd)
	var usage *usageError
	require.True(t, errors.As(run.err, &usage), "missing --year: %v", run.err)
	run = runCommand(t, databaseURL, out, yearEnd, "--year", "2026", "--1099k-gross", "-5")
	require.True(t, errors.As(run.err, &usage), "negative threshold: %v", run.err)
}
