package returns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/returns"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

// SPEC §6.2, §6.3: a PayPal payment above the per-item maximum (69,325.69
// USD: items of 20,000.00, 20,000.00, 20,000.00 and 9,325.69) stays one
// payment; a return of one of its items credits back that item alone,
// matched by its sender_item_id and amount, and the payout account becomes
// needs_update as for any return. The payment's own id names no item.
func TestReturnOfOnePayPalItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("BIG", fixture.Publisher{Method: payout.PayPal})
	w.Publisher("SMALL", fixture.Publisher{Method: payout.PayPal})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("BIG", "GB", "69325.69", "2026-10-20T00:00:00Z")
	w.Earn("SMALL", "GB", "75.25", "2026-10-20T00:00:00Z")
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(), Originator: originator, PayPalSubject: "Your payout"}}
	w.Set("2026-11-06T09:30:00Z")
	result, err := releaser.Release(ctx, november, "ops")
	require.NoError(t, err)
	require.Len(t, result.Files, 1)
	file := result.Files[0]
	require.Equal(t, 5, file.Records, "4 items for BIG, 1 for SMALL")
	require.Equal(t, "69400.94", file.ControlTotalUSD.StringFixed(2))
	require.Equal(t, "69400.94", file.ControlTotal.StringFixed(2))

	big, small := payout.PaymentID(november, w.IDs["BIG"]), payout.PaymentID(november, w.IDs["SMALL"])
	body, err := os.ReadFile(filepath.Join(release.Directory(releaser.Config.OutDir, november), file.Name))
	require.NoError(t, err)
	var request struct {
		Items []struct {
			SenderItemID string            `json:"sender_item_id"`
			Amount       map[string]string `json:"amount"`
			Note         string            `json:"note"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &request))
	got := []string{}
	for _, item := range request.Items {
		got = append(got, item.SenderItemID+" "+item.Amount["value"])
	}
	require.Equal(t, []string{big + "-1 20000.00", big + "-2 20000.00", big + "-3 20000.00", big + "-4 9325.69", small + " 75.25"}, got)
	require.Equal(t, "Marketplace payout 2026-11, part 2 of 4", request.Items[1].Note)
	require.Equal(t, "Marketplace payout 2026-11", request.Items[4].Note, "an unsplit item is unchanged")

	// One payment each, the items in payment_items.
	var payments, items int
	require.NoError(t, w.DB.Get(&payments, `SELECT count(*) FROM payments`))
	require.NoError(t, w.DB.Get(&items, `SELECT count(*) FROM payment_items WHERE payment_id = $1`, big))
	require.Equal(t, 2, payments)
	require.Equal(t, 4, items)
	cycle, err := w.Store.Cycle(ctx, november)
	require.NoError(t, err)
	require.Len(t, cycle.SplitPayments, 1)
	require.Equal(t, big, cycle.SplitPayments[0].PaymentID)
	require.Len(t, cycle.SplitPayments[0].Items, 4)

	status := func(id, amount string) []byte {
		return fmt.Appendf(nil, "sender_item_id,transaction_status,amount,currency,time_processed,reason\n%s,RETURNED,%s,USD,2026-11-18T10:00:00Z,RECEIVER_ACCOUNT_LOCKED\n", id, amount)
	}
	w.Set("2026-11-20T09:00:00Z")
	// The payment id names no item; an item with another amount is refused.
	_, err = importFile(w, status(big, "69325.69"), "whole.csv")
	require.ErrorIs(t, err, returns.ErrRefused)
	require.ErrorContains(t, err, "was sent as 4 PayPal items ("+big+"-1 to "+big+"-4)")
	_, err = importFile(w, status(big+"-2", "9325.69"), "wrong.csv")
	require.ErrorContains(t, err, "file has 9325.69 USD, item "+big+"-2 was 20000.00 USD")
	_, err = importFile(w, status(big+"-5", "9325.69"), "none.csv")
	require.ErrorContains(t, err, "is not a payment payrun sent")

	before := balance(t, w, ledger.PublisherAccount(w.IDs["BIG"], false))
	imported, err := importFile(w, status(big+"-4", "9325.69"), "item.csv")
	require.NoError(t, err)
	require.Equal(t, 1, imported.Returned)
	require.Equal(t, "9325.69", imported.ReturnedUSD.StringFixed(2), "the item alone comes back")
	require.Equal(t, big, imported.Payments[0].PaymentID)
	require.Equal(t, big+"-4", imported.Payments[0].ItemID)
	require.True(t, imported.Payments[0].NeedsUpdate)
	require.Equal(t, "9325.69", balance(t, w, ledger.PublisherAccount(w.IDs["BIG"], false)).Sub(before).StringFixed(2))
	state, reason := payoutAccountStatus(t, w, "BIG")
	require.Equal(t, payout.NeedsUpdate, state)
	require.Equal(t, "RETURNED", reason)
	require.Equal(t, "60000.00", balance(t, w, ledger.PaymentsInTransit).Sub(d("75.25")).StringFixed(2), "the other items stay in transit")

	// The same item again is a duplicate; another item of the same payment
	// is a return of its own.
	again, err := importFile(w, status(big+"-4", "9325.69"), "item-again.csv")
	require.NoError(t, err)
	require.Equal(t, 1, again.Duplicates)
	require.Zero(t, again.Returned)
	second, err := importFile(w, status(big+"-1", "20000.00"), "item-1.csv")
	require.NoError(t, err)
	require.Equal(t, 1, second.Returned)
	require.False(t, second.Payments[0].NeedsUpdate, "already needs_update")
	require.Equal(t, "40000.00", balance(t, w, ledger.PaymentsInTransit).Sub(d("75.25")).StringFixed(2))

	cycle, err = w.Store.Cycle(ctx, november)
	require.NoError(t, err)
	require.Len(t, cycle.Returns, 2)
	require.Equal(t, big+"-1", cycle.Returns[0].ItemID)
	require.Equal(t, big+"-4", cycle.Returns[1].ItemID)

	// A release of the released cycle still matches its files.
	w.Set("2026-11-21T09:00:00Z")
	released, err := releaser.Release(ctx, november, "ops")
	require.NoError(t, err)
	require.True(t, released.AlreadyReleased)
}

// A JPY PayPal payment with the policy's JPY item maximum (3,000,000): the
// items' USD shares add up to the payment's USD amount, each the item
// converted back at the cycle's rate and rounded down, but the last, which
// takes the rest.
func TestPayPalItemsInAnotherCurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("JP1", fixture.Publisher{Country: "JP", NoPayout: true})
	view, err := w.Store.SetPayoutAccount(ctx, w.IDs["JP1"], payout.AccountInput{Method: payout.PayPal, HolderName: "JP1", Currency: "JPY", PayPalEmail: "jp1@example.com"}, "test")
	require.NoError(t, err)
	require.NoError(t, w.Store.RecordVerification(ctx, view.ID, payout.Verified, "", "test"))
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("JP1", "GB", "79271.48", "2026-10-20T00:00:00Z")
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11", func(o *store.CloseOptions) { o.Policy.PayPalItemMax = map[string]decimal.Decimal{"JPY": d("3000000")} })
	_, err = release.ImportFX(ctx, w.DB, november, stringsReader("currency,rate,date,source\nJPY,151.37,2026-11-04,ECB\n"), w.Now())
	require.NoError(t, err)
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{OutDir: t.TempDir(), Originator: originator, PayPalSubject: "Your payout"}}
	w.Set("2026-11-06T09:30:00Z")
	_, err = releaser.Release(ctx, november, "ops")
	require.NoError(t, err)
	var rows []struct {
		ItemID string `db:"item_id"`
		USD    string `db:"usd"`
		JPY    string `db:"jpy"`
	}
	require.NoError(t, w.DB.Select(&rows, `SELECT item_id, amount_usd::text AS usd, amount_in_currency::int::text AS jpy FROM payment_items ORDER BY item`))
	id := payout.PaymentID(november, w.IDs["JP1"])
	require.Equal(t, []struct {
		ItemID string `db:"item_id"`
		USD    string `db:"usd"`
		JPY    string `db:"jpy"`
	}{
		{id + "-1", "19818.98", "3000000"}, // 3,000,000 / 151.37 = 19,818.9865… rounded down
		{id + "-2", "19818.98", "3000000"},
		{id + "-3", "19818.98", "3000000"},
		{id + "-4", "19814.54", "2999323"}, // the rest: 79,271.48 − 3 × 19,818.98; 11,999,323 JPY in all
	}, rows)
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
