package release_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// lateWorld: November 2026 with a US bank account (ACH), a German one
// (EUR, SEPA), a British one (GBP, cross-border pain.001), a US PayPal
// account paid 24,300.95 USD (two items) and a Japanese PayPal account in
// JPY paid above the item maximum, rates loaded on 4 November.
func lateWorld(t *testing.T) (*fixture.World, *release.Releaser) {
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("DE1", fixture.Publisher{Country: "DE", Treaty: true})
	w.Publisher("GB1", fixture.Publisher{Country: "GB", Treaty: true})
	w.Publisher("PP1", fixture.Publisher{Method: payout.PayPal})
	w.Publisher("JP1", fixture.Publisher{Country: "JP", NoPayout: true})
	view, err := w.Store.SetPayoutAccount(context.Background(), w.IDs["JP1"],
		payout.AccountInput{Method: payout.PayPal, HolderName: "JP1", Currency: "JPY", PayPalEmail: "jp1@example.com"}, "test")
	require.NoError(t, err)
	require.NoError(t, w.Store.RecordVerification(context.Background(), view.ID, payout.Verified, "", "test"))
	w.Set("2026-10-10T00:00:00Z")
	for seller, amount := range map[string]string{"US1": "1200.50", "DE1": "250", "GB1": "99.99", "PP1": "24300.95", "JP1": "79271.48"} {
		w.Earn(seller, "GB", amount, "2026-10-20T00:00:00Z")
	}
	w.Earn("DE1", "US", "100", "2026-10-20T00:00:00Z") // withheld at the treaty rate in force on the scheduled payment date
	w.Set("2026-11-04T12:00:00Z")
	importFX(t, w, rates+"JPY,151.37,2026-11-04,ECB reference rate\n")
	return w, &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
}

// sentAmounts reads every amount a release's files carry, by payment id
// (PayPal: by sender_item_id), validating each file on the way: the ACH
// file with the NACHA reader, the EUR pain.001 with the EPC XSD, every
// pain.001 read back with its totals, every PayPal request parsed. It
// returns the amounts and the dates the files carry (ACH effective entry
// date, pain.001 ReqdExctnDt).
func sentAmounts(t *testing.T, dir, xsd string) (map[string]string, []string) {
	t.Helper()
	amounts := map[string]string{}
	dates := map[string]bool{}
	ach, err := os.ReadFile(filepath.Join(dir, "ach-2026-11.txt"))
	require.NoError(t, err)
	parsed, err := nacha.Read(bytes.NewReader(ach))
	require.NoError(t, err, "the NACHA reader accepts the ACH file")
	for _, b := range parsed.Batches {
		require.False(t, b.EffectiveEntryDate.Before(parsed.Header.FileCreation.Truncate(24*time.Hour)), "effective entry date before the file creation date")
		dates["ach "+b.EffectiveEntryDate.Format(time.DateOnly)] = true
		for _, e := range b.Entries {
			amounts[e.IndividualID] = e.Amount.StringFixed(2) + " USD"
		}
	}
	paths, err := filepath.Glob(filepath.Join(dir, "pain001-*.xml"))
	require.NoError(t, err)
	require.Len(t, paths, 2)
	for _, path := range paths {
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		document, err := sepa.Read(bytes.NewReader(body))
		require.NoError(t, err, "%s reads back with its totals", path)
		for _, block := range document.Initiation.Payments {
			dates["pain.001 "+block.RequestedExecutionDate.Date] = true
			for _, tx := range block.Transactions {
				amounts[tx.PaymentID.EndToEndID] = tx.Amount.Instructed.Value + " " + tx.Amount.Instructed.Currency
			}
		}
		if strings.HasSuffix(path, "-EUR.xml") {
			out, err := exec.Command("xmllint", "--noout", "--schema", xsd, path).CombinedOutput()
			require.NoError(t, err, "the EPC XSD accepts %s (xmllint: run `make deps`): %s", path, out)
		}
	}
	paths, err = filepath.Glob(filepath.Join(dir, "paypal-*.json"))
	require.NoError(t, err)
	require.Len(t, paths, 2)
	for _, path := range paths {
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		var request struct {
			Header map[string]string `json:"sender_batch_header"`
			Items  []struct {
				SenderItemID string            `json:"sender_item_id"`
				Amount       map[string]string `json:"amount"`
			} `json:"items"`
		}
		decoder := json.NewDecoder(bytes.NewReader(body))
		require.NoError(t, decoder.Decode(&request), path)
		for key := range request.Header {
			require.NotContains(t, key, "date", "the Payouts request has no date field")
		}
		for _, item := range request.Items {
			amounts[item.SenderItemID] = item.Amount["value"] + " " + item.Amount["currency"]
		}
	}
	list := make([]string, 0, len(dates))
	for date := range dates {
		list = append(list, date)
	}
	sort.Strings(list)
	return amounts, list
}

// SPEC §3.1: a close and a release on any day from the close day (5th of
// M) to the 10th of M+1 — before, on and after the payment date (Monday 16
// November), on weekends — all release; every file validates; the files
// settle on the payment date or, from the payment date on, on the next
// banking day after the release; and the amounts are the same every day.
func TestReleaseOnEveryDayFromTheCloseToTheNextMonth(t *testing.T) {
	t.Parallel()
	xsd := filepath.Join(repoRoot(t), "payout", "sepa", "testdata", "pain.001.001.09.EPC-SCT-2023.xsd")
	policy := payout.DefaultPolicy()
	calendar := policy.CalendarFor(fixture.Month("2026-11"))
	type outcome struct {
		amounts map[string]string
		dates   []string
	}
	first, last := fixture.At("2026-11-05T00:00:00Z"), fixture.At("2026-12-10T00:00:00Z")
	days := int(last.Sub(first).Hours()/24) + 1
	require.Equal(t, 36, days)
	outcomes := make([]outcome, days)
	t.Run("days", func(t *testing.T) {
		for i := range days {
			releaseDay := first.AddDate(0, 0, i)
			t.Run(releaseDay.Format(time.DateOnly), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				w, releaser := lateWorld(t)
				w.Set(releaseDay.Add(6 * time.Hour).Format(time.RFC3339))
				w.Close("2026-11")
				releasedAt := releaseDay.Add(9*time.Hour + 30*time.Minute)
				w.Set(releasedAt.Format(time.RFC3339))
				result, err := releaser.Release(ctx, fixture.Month("2026-11"), "ops")
				require.NoError(t, err, "everyone in the cycle is paid, on every rail")

				settlement := payout.SettlementDate(policy, calendar, releasedAt)
				late := !releaseDay.Before(calendar.PaymentDate)
				require.Equal(t, late, settlement.After(calendar.PaymentDate))
				require.Equal(t, "2026-11-16", result.PaymentDate)
				require.Equal(t, settlement.Format(time.DateOnly), result.SettlementDate)
				require.Equal(t, late, result.Late())

				dir := release.Directory(releaser.Config.OutDir, fixture.Month("2026-11"))
				amounts, dates := sentAmounts(t, dir, xsd)
				want := settlement.Format(time.DateOnly)
				require.Equal(t, []string{"ach " + want, "pain.001 " + want}, dates, "every file settles on %s", want)

				// manifest.json names both dates only after a late release.
				var manifest map[string]any
				body, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(body, &manifest))
				if late {
					require.Equal(t, "2026-11-16", manifest["payment_date"])
					require.Equal(t, want, manifest["settlement_date"])
				} else {
					require.NotContains(t, manifest, "payment_date")
					require.NotContains(t, manifest, "settlement_date")
				}
				// The cycle records both; a second release changes nothing.
				cycle, err := w.Store.Cycle(ctx, fixture.Month("2026-11"))
				require.NoError(t, err)
				require.Equal(t, store.StateReleased, cycle.State)
				require.NotNil(t, cycle.SettlementDate)
				require.Equal(t, want, cycle.SettlementDate.Format(time.DateOnly))
				w.Set(releasedAt.AddDate(0, 0, 3).Format(time.RFC3339))
				again, err := releaser.Release(ctx, fixture.Month("2026-11"), "ops")
				require.NoError(t, err)
				require.True(t, again.AlreadyReleased)
				require.Equal(t, result.SettlementDate, again.SettlementDate)
				require.Equal(t, result.Files, again.Files)
				outcomes[i] = outcome{amounts: amounts, dates: dates}
			})
		}
	})
	if t.Failed() {
		return
	}
	baseline := outcomes[0].amounts
	values := make([]string, 0, len(baseline))
	for _, amount := range baseline {
		values = append(values, amount)
	}
	sort.Strings(values)
	// US1, DE1 (350 USD at its treaty's 0%: 323.19 EUR), GB1; PP1 in 2
	// items; JP1's 11,999,323 JPY in 4 items of at most 3,027,400 JPY.
	require.Equal(t, []string{"1200.50 USD", "20000.00 USD", "2917123 JPY", "3027400 JPY", "3027400 JPY", "3027400 JPY", "323.19 EUR",
		"4300.95 USD", "79.10 GBP"}, values, "%v", baseline)
	for i, o := range outcomes {
		require.Equal(t, baseline, o.amounts, "released on %s: the same amounts as on the close day", first.AddDate(0, 0, i).Format(time.DateOnly))
	}
}
