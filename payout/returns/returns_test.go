package returns_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/returns"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/testsupport/fixture"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var november = fixture.Month("2026-11")

var originator = nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
	ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"}

// released builds a marketplace whose November cycle is closed and released:
// two US individuals paid by ACH (US1 120.50, US2 980.00), a German PayPal
// publisher with a treaty (PP1 75.25) and a British one without (PP2: 100
// US-sourced, 30% withheld, 70 paid). It returns the world and the ACH file.
func released(t *testing.T) (*fixture.World, *nacha.File) {
	t.Helper()
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("US2", fixture.Publisher{})
	w.Publisher("PP1", fixture.Publisher{Country: "DE", Method: payout.PayPal, Treaty: true})
	w.Publisher("PP2", fixture.Publisher{Country: "GB", Method: payout.PayPal})
	w.Set("2026-10-10T00:00:00Z")
	for seller, amount := range map[string]string{"US1": "120.50", "US2": "980.004", "PP1": "75.25", "PP2": "100"} {
		w.Earn(seller, "US", amount, "2026-10-20T00:00:00Z")
	}
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	releaser := &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(), Originator: originator, PayPalSubject: "Your payout"}}
	w.Set("2026-11-06T09:30:00Z")
	_, err := releaser.Release(context.Background(), november, "ops")
	require.NoError(t, err)
	body, err := os.ReadFile(filepath.Join(release.Directory(releaser.Config.OutDir, november), "ach-2026-11.txt"))
	require.NoError(t, err)
	file, err := nacha.Read(bytes.NewReader(body))
	require.NoError(t, err)
	return w, file
}

// entryOf finds the ACH entry that paid seller.
func entryOf(t *testing.T, w *fixture.World, file *nacha.File, seller string) nacha.FileEntry {
	t.Helper()
	id := payout.PaymentID(november, w.IDs[seller])
	for _, b := range file.Batches {
		for _, e := range b.Entries {
			if e.IndividualID == id {
				return e
			}
		}
	}
	t.Fatalf("no ACH entry for %s", seller)
	return nacha.FileEntry{}
}

// bankReturns fabricates the bank's return file for some entries of file.
func bankReturns(t *testing.T, file *nacha.File, requests ...nacha.ReturnRequest) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := nacha.WriteReturnFile(&buf, file, fixture.At("2026-11-19T14:30:00Z"), requests)
	require.NoError(t, err)
	return buf.Bytes()
}

func importFile(w *fixture.World, body []byte, name string) (returns.Result, error) {
	return returns.Import(context.Background(), w.DB, w.Now, bytes.NewReader(body), name)
}

func balance(t *testing.T, w *fixture.World, account string) decimal.Decimal {
	t.Helper()
	var b decimal.Decimal
	require.NoError(t, w.DB.Get(&b, `SELECT coalesce((SELECT balance FROM ledger_balances WHERE ledger_account = $1), 0)`, account))
	return b
}

// payoutAccountStatus is the newest status of the payout account that paid
// seller in November, and its reason.
func payoutAccountStatus(t *testing.T, w *fixture.World, seller string) (string, string) {
	t.Helper()
	var row struct {
		Status string `db:"status"`
		Reason string `db:"reason"`
	}
	require.NoError(t, w.DB.Get(&row, `
		SELECT e.status, e.reason FROM payouts p JOIN payout_account_events e ON e.payout_account_id = p.payout_account_id
		WHERE p.month = $1 AND p.account_id = $2 ORDER BY e.at DESC, e.id DESC LIMIT 1`, november, w.IDs[seller]))
	return row.Status, row.Reason
}

// counts are the row counts an import may change.
func counts(t *testing.T, w *fixture.World) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"payout_returns", "ledger_transactions", "postings", "payout_account_events", "prenote_returns"} {
		var n int
		require.NoError(t, w.DB.Get(&n, `SELECT count(*) FROM `+table))
		out[table] = n
	}
	var sum decimal.Decimal
	require.NoError(t, w.DB.Get(&sum, `SELECT coalesce(sum(balance), 0) FROM ledger_balances WHERE ledger_account LIKE 'publisher:%'`))
	out["publisher balance cents"] = int(sum.Shift(2).IntPart())
	return out
}

// conserved checks SPEC §1 over the whole journal: every dollar of earnings
// is owed to a publisher, withheld, or in transit.
func conserved(t *testing.T, w *fixture.World) {
	t.Helper()
	var earnings, publishers, platform decimal.Decimal
	require.NoError(t, w.DB.Get(&earnings, `SELECT coalesce(sum(amount), 0) FROM earnings_lines`))
	require.NoError(t, w.DB.Get(&publishers, `SELECT coalesce(sum(balance), 0) FROM ledger_balances WHERE ledger_account LIKE 'publisher:%'`))
	require.NoError(t, w.DB.Get(&platform, `SELECT coalesce(sum(balance), 0) FROM ledger_balances WHERE ledger_account = $1`, ledger.PlatformEarnings))
	withheld, inTransit := balance(t, w, ledger.USWithholding), balance(t, w, ledger.PaymentsInTransit)
	require.True(t, earnings.Equal(publishers.Add(withheld).Add(inTransit)),
		"Σ earnings %s = Σ publishers %s + withheld %s + in transit %s", earnings, publishers, withheld, inTransit)
	require.True(t, platform.Neg().Equal(earnings), "platform:earnings %s", platform)
}

func TestACHReturnReversesExactly(t *testing.T) {
	t.Parallel()
	w, file := released(t)
	us1 := w.IDs["US1"]
	entry := entryOf(t, w, file, "US1")
	body := bankReturns(t, file, nacha.ReturnRequest{Trace: entry.Trace, Code: "R03", AddendaInformation: "NO ACCOUNT"})

	inTransit, other := balance(t, w, ledger.PaymentsInTransit), balance(t, w, ledger.PublisherAccount(us1, false))
	us := balance(t, w, ledger.PublisherAccount(us1, true))
	withheld := balance(t, w, ledger.USWithholding)
	w.Set("2026-11-20T08:00:00Z")
	result, err := importFile(w, body, "returns-2026-11-19.ach")
	require.NoError(t, err)
	require.Equal(t, returns.FormatACH, result.Format)
	require.Equal(t, 1, result.Records)
	require.Equal(t, 1, result.Returned)
	require.Zero(t, result.Skipped)
	require.Zero(t, result.Duplicates)
	require.True(t, d("120.50").Equal(result.ReturnedUSD), result.ReturnedUSD.String())
	require.Len(t, result.Payments, 1)
	require.Equal(t, payout.PaymentID(november, us1), result.Payments[0].PaymentID)
	require.True(t, result.Payments[0].NeedsUpdate)

	// The payout_returns row the next close reads.
	var row struct {
		Month      time.Time       `db:"month"`
		AccountID  int64           `db:"account_id"`
		Amount     decimal.Decimal `db:"amount_usd"`
		Reason     string          `db:"reason"`
		Source     string          `db:"source"`
		PaymentID  string          `db:"payment_id"`
		Trace      string          `db:"original_trace"`
		File       string          `db:"source_file"`
		Detail     string          `db:"detail"`
		ReturnedAt time.Time       `db:"returned_at"`
		RecordedAt time.Time       `db:"recorded_at"`
	}
	require.NoError(t, w.DB.Get(&row, `SELECT month, account_id, amount_usd, reason, source, payment_id, original_trace, source_file, detail, returned_at, recorded_at FROM payout_returns`))
	require.True(t, row.Month.Equal(november))
	require.Equal(t, us1, row.AccountID)
	require.True(t, d("120.50").Equal(row.Amount))
	require.Equal(t, "R03", row.Reason)
	require.Equal(t, "ach", row.Source)
	require.Equal(t, entry.Trace, row.Trace)
	require.Equal(t, "returns-2026-11-19.ach", row.File)
	require.Equal(t, "NO ACCOUNT", row.Detail)
	require.True(t, fixture.At("2026-11-19T14:30:00Z").Equal(row.ReturnedAt), row.ReturnedAt.String())
	require.True(t, w.Now().Equal(row.RecordedAt))

	// The reversing entry: out of transit, into the publisher's non-US part;
	// the withholding and the US part do not move.
	var postings []struct {
		Account string          `db:"ledger_account"`
		Amount  decimal.Decimal `db:"amount"`
	}
	require.NoError(t, w.DB.Select(&postings, `
		SELECT p.ledger_account, p.amount FROM ledger_transactions t JOIN postings p ON p.transaction_id = t.id
		WHERE t.kind = $1 AND t.reference = $2 ORDER BY p.ledger_account`, returns.LedgerKind, payout.PaymentID(november, us1)))
	require.Len(t, postings, 2)
	require.Equal(t, ledger.PaymentsInTransit, postings[0].Account)
	require.True(t, d("-120.50").Equal(postings[0].Amount))
	require.Equal(t, ledger.PublisherAccount(us1, false), postings[1].Account)
	require.True(t, d("120.50").Equal(postings[1].Amount))
	require.True(t, inTransit.Sub(d("120.50")).Equal(balance(t, w, ledger.PaymentsInTransit)))
	require.True(t, other.Add(d("120.50")).Equal(balance(t, w, ledger.PublisherAccount(us1, false))))
	require.True(t, us.Equal(balance(t, w, ledger.PublisherAccount(us1, true))))
	require.True(t, withheld.Equal(balance(t, w, ledger.USWithholding)))
	conserved(t, w)

	status, reason := payoutAccountStatus(t, w, "US1")
	require.Equal(t, payout.NeedsUpdate, status)
	require.Equal(t, "R03", reason)
	status, _ = payoutAccountStatus(t, w, "US2")
	require.Equal(t, payout.Verified, status, "only the returned payment's account changes")

	// The same file again changes nothing and says so.
	before := counts(t, w)
	w.Set("2026-11-21T08:00:00Z")
	again, err := importFile(w, body, "returns-2026-11-19.ach")
	require.NoError(t, err)
	require.Zero(t, again.Returned)
	require.Equal(t, 1, again.Duplicates)
	require.Equal(t, before, counts(t, w))
}

func TestPayPalReturnsFromCSVAndJSON(t *testing.T) {
	t.Parallel()
	w, _ := released(t)
	pp1, pp2 := payout.PaymentID(november, w.IDs["PP1"]), payout.PaymentID(november, w.IDs["PP2"])
	us2 := payout.PaymentID(november, w.IDs["US2"])
	w.Set("2026-11-20T08:00:00Z")

	// CSV: PP1 returned; PP2 unclaimed for 4 days (not yet a return).
	csvText := "sender_item_id,transaction_status,amount,currency,time_processed,reason\n" +
		pp1 + ",RETURNED,75.25,USD,2026-11-16T10:00:00Z,RECEIVER_UNREGISTERED\n" +
		pp2 + ",UNCLAIMED,70.00,USD,2026-11-16T10:00:00Z,\n"
	before := balance(t, w, ledger.PaymentsInTransit)
	result, err := importFile(w, []byte(csvText), "paypal-statuses.csv")
	require.NoError(t, err)
	require.Equal(t, returns.FormatPayPalCSV, result.Format)
	require.Equal(t, 2, result.Records)
	require.Equal(t, 1, result.Returned)
	require.Equal(t, 1, result.Skipped)
	require.True(t, d("75.25").Equal(result.ReturnedUSD))
	require.True(t, before.Sub(d("75.25")).Equal(balance(t, w, ledger.PaymentsInTransit)))
	require.True(t, d("75.25").Equal(balance(t, w, ledger.PublisherAccount(w.IDs["PP1"], false))))
	status, reason := payoutAccountStatus(t, w, "PP1")
	require.Equal(t, payout.NeedsUpdate, status)
	require.Equal(t, "RETURNED", reason)
	var source, detail string
	require.NoError(t, w.DB.QueryRow(`SELECT source, detail FROM payout_returns WHERE payment_id = $1`, pp1).Scan(&source, &detail))
	require.Equal(t, "paypal", source)
	require.Equal(t, "RECEIVER_UNREGISTERED", detail)

	// JSON (the Payouts API batch details) 31 days later: PP2 is still
	// unclaimed and now counts as returned; PP1's status repeats.
	w.Set("2026-12-18T08:00:00Z")
	withheld := balance(t, w, ledger.USWithholding)
	jsonText := fmt.Sprintf(`{
  "batch_header": {"payout_batch_id": "BATCH1", "batch_status": "SUCCESS"},
  "items": [
    {"payout_item_id": "ITEM1", "transaction_status": "RETURNED", "time_processed": "2026-11-16T10:00:00Z",
     "payout_item": {"sender_item_id": %q, "amount": {"value": "75.25", "currency": "USD"}, "receiver": "pp1@example.com"}},
    {"payout_item_id": "ITEM2", "transaction_status": "UNCLAIMED", "time_processed": "2026-11-16T10:00:00Z",
     "payout_item": {"sender_item_id": %q, "amount": {"value": "70.00", "currency": "USD"}, "receiver": "pp2@example.com"}}
  ]
}`, pp1, pp2)
	result, err = importFile(w, []byte(jsonText), "batch-details.json")
	require.NoError(t, err)
	require.Equal(t, returns.FormatPayPalJSON, result.Format)
	require.Equal(t, 1, result.Returned)
	require.Equal(t, 1, result.Duplicates)
	require.Zero(t, result.Skipped)
	require.True(t, d("70").Equal(result.ReturnedUSD))
	require.True(t, d("70").Equal(balance(t, w, ledger.PublisherAccount(w.IDs["PP2"], false))), "the paid part, not the earnings: the 30 withheld stay withheld")
	require.True(t, withheld.Equal(balance(t, w, ledger.USWithholding)))
	var returnedAt time.Time
	require.NoError(t, w.DB.Get(&returnedAt, `SELECT returned_at FROM payout_returns WHERE payment_id = $1`, pp2))
	require.True(t, fixture.At("2026-12-16T10:00:00Z").Equal(returnedAt), "unclaimed counts as returned 30 days after processing: %s", returnedAt)
	conserved(t, w)

	// A PayPal file naming an ACH payment is refused.
	_, err = importFile(w, []byte("sender_item_id,transaction_status,amount,currency,time_processed\n"+us2+",FAILED,980.00,USD,2026-11-16T10:00:00Z\n"), "wrong.csv")
	require.ErrorIs(t, err, returns.ErrRefused)
	require.ErrorContains(t, err, "line 2, sender_item_id: payment "+us2+" was sent by ach, not paypal")
}

// Bad files are refused whole, every problem named, nothing changed.
func TestBadFilesAreRefused(t *testing.T) {
	t.Parallel()
	w, file := released(t)
	w.Set("2026-11-20T08:00:00Z")
	us1, us2 := entryOf(t, w, file, "US1"), entryOf(t, w, file, "US2")
	pp1 := payout.PaymentID(november, w.IDs["PP1"])

	// forged returns the bank's file for an original file changed by edit:
	// the way to fabricate a return that does not match what was sent.
	forged := func(edit func(entries []nacha.FileEntry), requests ...nacha.ReturnRequest) []byte {
		copied := *file
		copied.Batches = nil
		for _, b := range file.Batches {
			b.Entries = append([]nacha.FileEntry(nil), b.Entries...)
			edit(b.Entries)
			copied.Batches = append(copied.Batches, b)
		}
		return bankReturns(t, &copied, requests...)
	}
	byID := func(id string, change func(e *nacha.FileEntry)) func([]nacha.FileEntry) {
		return func(entries []nacha.FileEntry) {
			for i := range entries {
				if entries[i].IndividualID == id {
					change(&entries[i])
				}
			}
		}
	}
	good := bankReturns(t, file, nacha.ReturnRequest{Trace: us1.Trace, Code: "R03"}, nacha.ReturnRequest{Trace: us2.Trace, Code: "R02"})
	lines := strings.SplitAfter(string(good), "\n")
	// The return entries are lines 3 and 5 (their addenda 4 and 6).
	require.Equal(t, byte('6'), lines[2][0])
	require.Equal(t, byte('6'), lines[4][0])

	cases := []struct {
		name  string
		body  []byte
		wants []string
		is    error
	}{
		{"unknown payment", forged(byID(us1.IndividualID, func(e *nacha.FileEntry) { e.IndividualID = "P20261109999999" }),
			nacha.ReturnRequest{Trace: us1.Trace, Code: "R03"}),
			[]string{`line 3, individual identification number: "P20261109999999" is neither a payment payrun sent nor one of its prenotes`}, nil},
		{"wrong amount and wrong trace, both named", forged(func(entries []nacha.FileEntry) {
			byID(us1.IndividualID, func(e *nacha.FileEntry) { e.Amount = d("102.50") })(entries)
			byID(us2.IndividualID, func(e *nacha.FileEntry) { e.Trace = "011000010000099" })(entries)
		}, nacha.ReturnRequest{Trace: us1.Trace, Code: "R03"}, nacha.ReturnRequest{Trace: "011000010000099", Code: "R02"}),
			[]string{
				"line 3, amount: file has 102.50 USD, payment " + us1.IndividualID + " was 120.50 USD",
				"line 6, original entry trace number: file has 011000010000099, payment " + us2.IndividualID + " went out with trace " + us2.Trace,
				"(2 problems)",
			}, nil},
		{"truncated", []byte(strings.Join(lines[:5], "")), []string{"line 5"}, nacha.ErrTruncated},
		{"mis-blocked", []byte(string(good) + strings.Repeat(strings.Repeat("9", 94)+"\n", 10)), []string{"more padding records than a block needs"}, nacha.ErrBlocking},
		{"PayPal CSV: unknown payment, wrong currency, wrong amount", []byte("sender_item_id,transaction_status,amount,currency,time_processed\n" +
			"P202611099999999,FAILED,1.00,USD,2026-11-16T10:00:00Z\n" +
			pp1 + ",FAILED,75.25,EUR,2026-11-16T10:00:00Z\n" +
			pp1 + ",SUCCESS,75.20,USD,2026-11-16T10:00:00Z\n"),
			[]string{
				`line 2, sender_item_id: "P202611099999999" is not a payment payrun sent`,
				"line 3, currency: file has EUR, payment " + pp1 + " was sent in USD",
				"line 4, amount: file has 75.20 USD, payment " + pp1 + " was 75.25 USD",
			}, nil},
		{"PayPal JSON: bad status", []byte(`{"items": [{"transaction_status": "LOST", "payout_item": {"sender_item_id": "` + pp1 + `", "amount": {"value": "75.25", "currency": "USD"}}}]}`),
			[]string{`items[0], transaction_status: unknown status "LOST"`}, nil},
	}
	before := counts(t, w)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := importFile(w, c.body, c.name)
			t.Log(err)
			require.ErrorIs(t, err, returns.ErrRefused)
			if c.is != nil {
				require.ErrorIs(t, err, c.is)
			}
			require.ErrorContains(t, err, "nothing imported")
			for _, want := range c.wants {
				require.ErrorContains(t, err, want)
			}
			require.Equal(t, before, counts(t, w), "nothing changed")
		})
	}

	// The good file goes in afterwards.
	result, err := importFile(w, good, "good")
	require.NoError(t, err)
	require.Equal(t, 2, result.Returned)
}

// SPEC §6.3 end to end: the returned amount joins December's opening non-US
// balance, is held until a new payout account is verified, and is paid in
// full by the next cycle that finds one, never withheld a second time.
func TestReturnedPaymentIsPaidAgainByALaterCycle(t *testing.T) {
	t.Parallel()
	w, file := released(t)
	ctx := context.Background()
	us1, pp2 := w.IDs["US1"], w.IDs["PP2"]
	w.Set("2026-11-20T08:00:00Z")
	_, err := importFile(w, bankReturns(t, file, nacha.ReturnRequest{Trace: entryOf(t, w, file, "US1").Trace, Code: "R02"}), "ach-returns")
	require.NoError(t, err)
	_, err = importFile(w, []byte("sender_item_id,transaction_status,amount,currency,time_processed\n"+
		payout.PaymentID(november, pp2)+",BLOCKED,70.00,USD,2026-11-16T10:00:00Z\n"), "paypal.csv")
	require.NoError(t, err)
	conserved(t, w)

	w.Set("2026-12-05T06:00:00Z")
	w.Close("2026-12")
	type row struct {
		Status       string          `db:"status"`
		Reasons      string          `db:"reasons"`
		OpeningUS    decimal.Decimal `db:"opening_us"`
		OpeningOther decimal.Decimal `db:"opening_other"`
		Withheld     decimal.Decimal `db:"withheld"`
		Paid         decimal.Decimal `db:"paid_usd"`
		CarriedOther decimal.Decimal `db:"carried_other"`
		PaymentID    *string         `db:"payment_id"`
	}
	get := func(month string, account int64) row {
		var r row
		require.NoError(t, w.DB.Get(&r, `SELECT status, array_to_string(reasons, ',') AS reasons, opening_us, opening_other, withheld, paid_usd, carried_other, payment_id
			FROM payouts WHERE month = $1 AND account_id = $2`, fixture.Month(month), account))
		return r
	}
	var novemberCarriedOther decimal.Decimal
	require.NoError(t, w.DB.Get(&novemberCarriedOther, `SELECT carried_other FROM payouts WHERE month = $1 AND account_id = $2`, november, us1))
	december := get("2026-12", us1)
	require.Equal(t, "held", december.Status)
	require.Equal(t, string(payout.PayoutAccountUnverified), december.Reasons)
	require.True(t, novemberCarriedOther.Add(d("120.50")).Equal(december.OpeningOther), "opening_other %s", december.OpeningOther)
	require.True(t, december.CarriedOther.Equal(balance(t, w, ledger.PublisherAccount(us1, false))), "the ledger agrees with the carried balance")
	decemberPP2 := get("2026-12", pp2)
	require.Equal(t, "held", decemberPP2.Status)
	require.True(t, d("70").Equal(decemberPP2.OpeningOther))
	require.True(t, decemberPP2.OpeningUS.IsZero())
	conserved(t, w)

	// New payout accounts, verified: January pays the whole balance with
	// new payment ids, and withholds nothing on the returned 70.
	w.Set("2026-12-10T00:00:00Z")
	w.PayoutAccount("US1", "US", payout.Bank)
	w.VerifyLatest("US1")
	w.PayoutAccount("PP2", "GB", payout.PayPal)
	w.VerifyLatest("PP2")
	w.Set("2027-01-05T06:00:00Z")
	w.Close("2027-01")
	january := get("2027-01", us1)
	require.Equal(t, "paid", january.Status)
	require.True(t, d("120.50").Equal(january.Paid), january.Paid.String())
	require.Equal(t, payout.PaymentID(fixture.Month("2027-01"), us1), *january.PaymentID)
	januaryPP2 := get("2027-01", pp2)
	require.Equal(t, "paid", januaryPP2.Status)
	require.True(t, d("70").Equal(januaryPP2.Paid), januaryPP2.Paid.String())
	require.True(t, januaryPP2.Withheld.IsZero(), "withheld once, in November")
	conserved(t, w)

	cycle, err := w.Store.Cycle(ctx, fixture.Month("2027-01"))
	require.NoError(t, err)
	require.Equal(t, store.StateClosed, cycle.State)
}
