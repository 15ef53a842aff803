package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// world: a US individual and a US company paid by ACH, a German (EUR SEPA)
// and a British (GBP) bank account, and two PayPal accounts in USD.
func closedNovember(t *testing.T, approval bool) (*fixture.World, *release.Releaser) {
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("US2", fixture.Publisher{})
	w.Publisher("DE1", fixture.Publisher{Country: "DE", Treaty: true})
	w.Publisher("GB1", fixture.Publisher{Country: "GB", Treaty: true})
	w.Publisher("PP1", fixture.Publisher{Country: "DE", Method: payout.PayPal, Treaty: true})
	w.Publisher("PP2", fixture.Publisher{Country: "GB", Method: payout.PayPal, Treaty: true})
	w.Set("2026-10-10T00:00:00Z")
	for seller, amount := range map[string]string{"US1": "120.50", "US2": "980.004", "DE1": "250", "GB1": "99.99", "PP1": "75.25", "PP2": "60"} {
		w.Earn(seller, "US", amount, "2026-10-20T00:00:00Z")
	}
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11", func(o *store.CloseOptions) { o.Policy.Approval = approval })
	return w, &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
}

func importFX(t *testing.T, w *fixture.World, body string) {
	t.Helper()
	_, err := release.ImportFX(context.Background(), w.DB, fixture.Month("2026-11"), strings.NewReader(body), w.Now())
	require.NoError(t, err)
}

const rates = "currency,rate,date,source\nEUR,0.9234,2026-11-04,ECB reference rate\nGBP,0.7911,2026-11-04,ECB reference rate\n"

func TestReleaseWritesFilesThatMatchTheLedger(t *testing.T) {
	t.Parallel()
	w, releaser := closedNovember(t, false)
	ctx := context.Background()
	month := fixture.Month("2026-11")

	_, err := releaser.Release(ctx, month, "ops")
	require.ErrorIs(t, err, release.ErrMissingFX)
	require.ErrorContains(t, err, "EUR, GBP")

	importFX(t, w, rates)
	w.Set("2026-11-06T09:30:00Z")
	result, err := releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	names := []string{}
	total := decimal.Zero
	for _, f := range result.Files {
		names = append(names, f.Name)
		total = total.Add(f.ControlTotalUSD)
	}
	require.Equal(t, []string{"ach-2026-11.txt", "pain001-2026-11-EUR.xml", "pain001-2026-11-GBP.xml", "paypal-2026-11-USD-001.json"}, names)
	cycle, err := w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, store.StateReleased, cycle.State)
	require.True(t, total.Equal(cycle.Totals.Paid.Amount), "manifest %s = paid %s", total, cycle.Totals.Paid.Amount)

	dir := release.Directory(releaser.Config.OutDir, month)
	ach, err := os.ReadFile(filepath.Join(dir, "ach-2026-11.txt"))
	require.NoError(t, err)
	parsed, err := nacha.Read(bytes.NewReader(ach))
	require.NoError(t, err)
	require.Equal(t, 2, parsed.Totals.Entries)
	require.True(t, d("1100.50").Equal(parsed.Totals.TotalCredit), parsed.Totals.TotalCredit.String())
	require.Equal(t, "261116", string(bytes.Split(ach, []byte("\n"))[1][69:75]), "effective entry date = payment date (15 Nov is a Sunday)")

	// EUR: 250 USD × 0.9234 = 230.85 EUR; the SEPA file passes the EPC schema.
	eur := filepath.Join(dir, "pain001-2026-11-EUR.xml")
	body, err := os.ReadFile(eur)
	require.NoError(t, err)
	require.Contains(t, string(body), `<InstdAmt Ccy="EUR">230.85</InstdAmt>`)
	// The EPC XSD is vendored with the SEPA writer's tests (payout/sepa/testdata/README.md).
	xsd := filepath.Join(repoRoot(t), "payout", "sepa", "testdata", "pain.001.001.09.EPC-SCT-2023.xsd")
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, eur).CombinedOutput()
	require.NoError(t, err, "xmllint (run `make deps`): %s", out)

	// The payments carry the ACH traces and the converted amounts.
	var gbp decimal.Decimal
	require.NoError(t, w.DB.Get(&gbp, `SELECT amount_in_currency FROM payments WHERE payment_id = $1`, payout.PaymentID(month, w.IDs["GB1"])))
	require.True(t, d("79.1").Equal(gbp), "99.99 × 0.7911 = 79.102089, rounded down: %s", gbp)
	var traces int
	require.NoError(t, w.DB.Get(&traces, `SELECT count(trace) FROM payments WHERE month = $1`, month))
	require.Equal(t, 2, traces)

	var manifest struct {
		Cycle string         `json:"cycle"`
		Files []release.File `json:"files"`
	}
	manifestBody, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(manifestBody, &manifest))
	require.Equal(t, "2026-11", manifest.Cycle)
	require.Len(t, manifest.Files, 4)

	// Releasing again rewrites nothing and returns the same manifest.
	w.Set("2026-11-07T00:00:00Z")
	again, err := releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	require.True(t, again.AlreadyReleased)
	require.Equal(t, result.Files, again.Files)
	require.True(t, result.ReleasedAt.Equal(again.ReleasedAt))
}

// Two databases with the same history release byte-identical files.
func TestReleaseIsByteIdentical(t *testing.T) {
	t.Parallel()
	read := func() map[string][]byte {
		w, releaser := closedNovember(t, false)
		importFX(t, w, rates)
		w.Set("2026-11-06T09:30:00Z")
		_, err := releaser.Release(context.Background(), fixture.Month("2026-11"), "ops")
		require.NoError(t, err)
		files := map[string][]byte{}
		dir := release.Directory(releaser.Config.OutDir, fixture.Month("2026-11"))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			body, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			files[e.Name()] = body
		}
		return files
	}
	first, second := read(), read()
	require.Len(t, first, 5)
	require.Equal(t, first, second)
}

func TestMakerCheckerGatesTheRelease(t *testing.T) {
	t.Parallel()
	w, releaser := closedNovember(t, true)
	ctx := context.Background()
	month := fixture.Month("2026-11")
	importFX(t, w, rates)
	cycle, err := w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, store.StateAwaitingApproval, cycle.State)
	_, err = releaser.Release(ctx, month, "ops")
	require.ErrorIs(t, err, release.ErrNotReleasable)
	require.ErrorIs(t, w.Store.Approve(ctx, month, 0), store.ErrNotAnApprover, "the system principal never approves")
	approver := w.Operator("approver", "finance_approver")
	require.NoError(t, w.Store.Approve(ctx, month, approver))
	require.ErrorIs(t, w.Store.Approve(ctx, month, approver), store.ErrNotApprovable)
	_, err = releaser.Release(ctx, month, "ops")
	require.NoError(t, err)

	// Settled once the returns window after the payment date (16 Nov) passed.
	w.Set("2027-01-14T23:59:59Z")
	settled, err := w.Store.Settle(ctx, "job")
	require.NoError(t, err)
	require.Empty(t, settled)
	w.Set("2027-01-15T00:00:00Z")
	settled, err = w.Store.Settle(ctx, "job")
	require.NoError(t, err)
	require.Len(t, settled, 1)
	cycle, err = w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, store.StateSettled, cycle.State)
	again, err := releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	require.True(t, again.AlreadyReleased, "a settled cycle is not released again")
}

func TestFXImportIsAtomicAndFixed(t *testing.T) {
	t.Parallel()
	w, _ := closedNovember(t, false)
	ctx := context.Background()
	month := fixture.Month("2026-11")
	_, err := release.ImportFX(ctx, w.DB, month, strings.NewReader("currency,rate,date,source\nEUR,0.92,2026-11-04,ECB\nXYZ,-1,2026-13-01,\n"), w.Now())
	require.ErrorContains(t, err, "line 3, column currency")
	require.ErrorContains(t, err, "line 3, column rate")
	require.ErrorContains(t, err, "line 3, column date")
	require.ErrorContains(t, err, "line 3, column source")
	var count int
	require.NoError(t, w.DB.Get(&count, `SELECT count(*) FROM fx_rates`))
	require.Zero(t, count)
	added, err := release.ImportFX(ctx, w.DB, month, strings.NewReader(rates), w.Now())
	require.NoError(t, err)
	require.Equal(t, 2, added)
	added, err = release.ImportFX(ctx, w.DB, month, strings.NewReader(rates), w.Now())
	require.NoError(t, err)
	require.Zero(t, added)
	_, err = release.ImportFX(ctx, w.DB, month, strings.NewReader("currency,rate,date,source\nEUR,0.95,2026-11-04,ECB\n"), w.Now())
	require.ErrorIs(t, err, release.ErrFXConflict)
}

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found")
		dir = parent
	}
}

// readDir reads every file of a cycle's output directory, by name.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = body
	}
	return files
}

// A release crashed at each named point (each file, for mid_file_write) and
// run again an hour later writes byte for byte the files of an
// uninterrupted release, records one set of payments and manifest rows and
// one released event, and keeps the release time fixed the first time.
func TestReleaseCrashedAtEveryPointResumesIdentically(t *testing.T) {
	t.Parallel()
	month := fixture.Month("2026-11")
	release1 := func(t *testing.T, fault func(string) error) (*fixture.World, *release.Releaser, error) {
		w, releaser := closedNovember(t, false)
		importFX(t, w, rates)
		w.Set("2026-11-06T09:30:00Z")
		releaser.Fault = fault
		_, err := releaser.Release(context.Background(), month, "ops")
		return w, releaser, err
	}
	_, cleanReleaser, err := release1(t, nil)
	require.NoError(t, err)
	clean := readDir(t, release.Directory(cleanReleaser.Config.OutDir, month))
	require.Len(t, clean, 5, "four payment files and manifest.json")

	crash := errors.New("simulated crash")
	type point struct {
		name       string
		occurrence int
	}
	var points []point
	for _, p := range release.FaultPoints {
		points = append(points, point{p, 1})
		if p == "mid_file_write" {
			for n := 2; n <= 4; n++ { // after the 2nd, 3rd and last of the four files
				points = append(points, point{p, n})
			}
		}
	}
	for _, p := range points {
		t.Run(fmt.Sprintf("%s-%d", p.name, p.occurrence), func(t *testing.T) {
			t.Parallel()
			seen := 0
			w, releaser, err := release1(t, func(at string) error {
				if at == p.name {
					if seen++; seen == p.occurrence {
						return crash
					}
				}
				return nil
			})
			require.ErrorIs(t, err, crash)
			ctx := context.Background()
			cycle, err := w.Store.Cycle(ctx, month)
			require.NoError(t, err)
			if p.name == "after_commit" {
				require.Equal(t, store.StateReleased, cycle.State)
			} else {
				require.Equal(t, store.StateClosed, cycle.State, "a crash before the commit leaves the cycle closed")
				var payments int
				require.NoError(t, w.DB.Get(&payments, `SELECT count(*) FROM payments WHERE month = $1`, month))
				require.Zero(t, payments, "nothing recorded before the commit")
			}

			w.Set("2026-11-06T10:30:00Z") // the restart, an hour later
			releaser.Fault = nil
			result, err := releaser.Release(ctx, month, "ops")
			require.NoError(t, err)
			require.Equal(t, p.name == "after_commit", result.AlreadyReleased)
			require.True(t, fixture.At("2026-11-06T09:30:00Z").Equal(result.ReleasedAt), "the release time is fixed when the release first starts: %s", result.ReleasedAt)
			got := readDir(t, release.Directory(releaser.Config.OutDir, month))
			require.Equal(t, len(clean), len(got), "the same files, no temporaries left: %v", got)
			for name, body := range clean {
				require.True(t, bytes.Equal(body, got[name]), "%s differs from an uninterrupted release", name)
			}

			var counts struct {
				Payments int `db:"payments"`
				Distinct int `db:"distinct_ids"`
				Files    int `db:"files"`
				Released int `db:"released"`
			}
			require.NoError(t, w.DB.Get(&counts, `SELECT (SELECT count(*) FROM payments WHERE month = $1) AS payments,
				(SELECT count(DISTINCT payment_id) FROM payments WHERE month = $1) AS distinct_ids,
				(SELECT count(*) FROM cycle_files WHERE month = $1) AS files,
				(SELECT count(*) FROM cycle_events WHERE month = $1 AND state = 'released') AS released`, month))
			require.Equal(t, 6, counts.Payments, "one payment per paid publisher")
			require.Equal(t, 6, counts.Distinct)
			require.Equal(t, 4, counts.Files)
			require.Equal(t, 1, counts.Released)
		})
	}
}

// The rails' files are prepared together and written only when all of them
// could be: a pain.001 the debtor's configuration makes impossible leaves
// no ACH or PayPal file behind, no payment recorded, the cycle closed; fixed,
// the release writes every file.
func TestReleaseWritesNoFileWhenARailCannotBePrepared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	month := fixture.Month("2026-11")
	w, releaser := closedNovember(t, false)
	importFX(t, w, rates)
	w.Set("2026-11-06T09:30:00Z")
	iban := releaser.Config.Debtor.IBAN
	releaser.Config.Debtor.IBAN = "1234"
	_, err := releaser.Release(ctx, month, "ops")
	require.ErrorContains(t, err, "Debtor.IBAN is not an IBAN")
	entries, err := os.ReadDir(release.Directory(releaser.Config.OutDir, month))
	require.NoError(t, err)
	require.Empty(t, entries, "a file written before the failing rail's")
	var payments int
	require.NoError(t, w.DB.Get(&payments, `SELECT count(*) FROM payments WHERE month = $1`, month))
	require.Zero(t, payments)
	cycle, err := w.Store.Cycle(ctx, month)
	require.NoError(t, err)
	require.Equal(t, store.StateClosed, cycle.State)

	releaser.Config.Debtor.IBAN = iban
	_, err = releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	require.Len(t, readDir(t, release.Directory(releaser.Config.OutDir, month)), 5, "four payment files and manifest.json")
}
