package prenote_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/prenote"
	"github.com/payrun/payrun/payout/returns"
	"github.com/payrun/payrun/testsupport/fixture"
)

var originator = nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
	ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"}

// world has two US bank payout accounts waiting for verification: an
// individual's checking account (IND) and a company's savings account (CO).
// Others need no prenote: a verified US account, a PayPal account, a German
// bank account, and a US account replaced by a newer one.
func world(t *testing.T) (*fixture.World, string) {
	t.Helper()
	w := fixture.New(t)
	ctx := context.Background()
	w.Set("2026-12-01T10:00:00Z")
	w.Publisher("IND", fixture.Publisher{UnverifiedPay: true})
	company, err := ledger.CreateAccount(ctx, w.DB, ledger.NewAccount{SellerID: "CO", Type: ledger.Company, RegistrationCountry: "US", DisplayName: "Acme"}, w.Now())
	require.NoError(t, err)
	w.IDs["CO"] = company.ID
	_, err = w.Store.SetPayoutAccount(ctx, company.ID, payout.AccountInput{Method: payout.Bank, HolderName: "Acme Software, Inc.", Currency: "USD",
		BankCountry: "US", AccountType: "savings", RoutingNumber: "021000021", AccountNumber: "9876543210"}, "test")
	require.NoError(t, err)
	w.Publisher("DONE", fixture.Publisher{})
	w.Publisher("PP", fixture.Publisher{Method: payout.PayPal, UnverifiedPay: true})
	w.Publisher("DE", fixture.Publisher{Country: "DE", UnverifiedPay: true})
	w.Publisher("OLD", fixture.Publisher{UnverifiedPay: true})
	w.Set("2026-12-02T10:00:00Z")
	w.PayoutAccount("OLD", "US", payout.PayPal) // replaces the US bank account
	return w, t.TempDir()
}

func run(t *testing.T, w *fixture.World, out string) prenote.Result {
	t.Helper()
	result, err := prenote.Run(context.Background(), w.DB, w.Sealer, w.Now, originator, out, 3)
	require.NoError(t, err)
	return result
}

// current is the newest status of an account's newest payout account.
func current(t *testing.T, w *fixture.World, seller string) (status, reason string) {
	t.Helper()
	view, err := w.Store.PayoutAccountAt(context.Background(), w.IDs[seller], w.Now().Add(time.Second))
	require.NoError(t, err)
	return view.Status, view.StatusReason
}

func payoutAccountID(t *testing.T, w *fixture.World, seller string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, w.DB.Get(&id, `SELECT max(id) FROM payout_accounts WHERE account_id = $1`, w.IDs[seller]))
	return id
}

func TestPrenoteFileIsWrittenOnceAndRewrittenIdentically(t *testing.T) {
	t.Parallel()
	w, out := world(t)
	w.Set("2026-12-04T05:00:00Z") // a Friday
	result := run(t, w, out)
	require.Equal(t, "2026-12-04", result.Day)
	require.Equal(t, filepath.Join(out, "prenotes", "prenote-2026-12-04.txt"), result.File)
	require.Equal(t, 2, result.Sent)
	require.Equal(t, 2, result.Prenotes)
	require.Empty(t, result.Verified)
	require.Empty(t, result.Refused)

	body, err := os.ReadFile(result.File)
	require.NoError(t, err)
	file, err := nacha.Read(bytes.NewReader(body))
	require.NoError(t, err, "nacha.Read accepts the prenote file")
	require.Equal(t, "261204", string(body[23:29]), "created on the run day")
	require.Equal(t, "0000", string(body[29:33]), "at its start, not at the wall clock")
	require.Equal(t, 2, file.Totals.Entries)
	require.True(t, file.Totals.TotalCredit.IsZero())
	require.Len(t, file.Batches, 2)
	require.Equal(t, nacha.ClassPPD, file.Batches[0].Class)
	require.Equal(t, "2026-12-07", file.Batches[0].EffectiveEntryDate.Format(time.DateOnly), "the next banking day")
	require.Equal(t, nacha.ClassCCD, file.Batches[1].Class)
	individual, company := file.Batches[0].Entries[0], file.Batches[1].Entries[0]
	require.Equal(t, prenote.IndividualID(payoutAccountID(t, w, "IND")), individual.IndividualID)
	require.Equal(t, prenote.IndividualID(payoutAccountID(t, w, "CO")), company.IndividualID)
	for _, e := range []nacha.FileEntry{individual, company} {
		require.Equal(t, nacha.Prenote, e.Kind)
		require.True(t, e.Amount.IsZero())
	}
	require.Equal(t, nacha.Checking, individual.AccountType)
	require.Equal(t, "123456789", individual.AccountNumber, "the decrypted account number")
	require.Equal(t, nacha.Savings, company.AccountType)
	require.Equal(t, "9876543210", company.AccountNumber)
	require.Equal(t, "021000021", company.RoutingNumber)
	lines := bytes.Split(body, []byte("\n"))
	require.Equal(t, "23", string(lines[2][1:3]))
	require.Equal(t, "33", string(lines[5][1:3]))

	// A re-run the same day, after a new US account was set: the same
	// bytes, no second prenote; the new account waits for the next file.
	w.Set("2026-12-04T11:00:00Z")
	w.Publisher("NEW", fixture.Publisher{UnverifiedPay: true})
	w.Set("2026-12-04T18:00:00Z")
	again := run(t, w, out)
	require.Zero(t, again.Sent)
	require.Equal(t, 2, again.Prenotes)
	rewritten, err := os.ReadFile(again.File)
	require.NoError(t, err)
	require.Equal(t, body, rewritten)
	var prenotes int
	require.NoError(t, w.DB.Get(&prenotes, `SELECT count(*) FROM prenotes`))
	require.Equal(t, 2, prenotes)

	// A lost file is rewritten byte for byte.
	require.NoError(t, os.Remove(result.File))
	run(t, w, out)
	rewritten, err = os.ReadFile(result.File)
	require.NoError(t, err)
	require.Equal(t, body, rewritten)

	// The next day's file has only the new account.
	w.Set("2026-12-05T05:00:00Z")
	next := run(t, w, out)
	require.Equal(t, 1, next.Sent)
	require.Equal(t, filepath.Join(out, "prenotes", "prenote-2026-12-05.txt"), next.File)
	body, err = os.ReadFile(next.File)
	require.NoError(t, err)
	file, err = nacha.Read(bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, prenote.IndividualID(payoutAccountID(t, w, "NEW")), file.Batches[0].Entries[0].IndividualID)
	require.Equal(t, "011000010000001", file.Batches[0].Entries[0].Trace, "trace sequences restart in every file")

	// A day with nothing new writes no file.
	w.Set("2026-12-06T05:00:00Z")
	none := run(t, w, out)
	require.Empty(t, none.File)
	require.Zero(t, none.Prenotes)
	_, err = os.Stat(prenote.Path(out, fixture.At("2026-12-06T00:00:00Z")))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A Friday prenote verifies on Wednesday (3 banking days), not on Monday.
func TestVerifiedAfterThreeBankingDays(t *testing.T) {
	t.Parallel()
	w, out := world(t)
	w.Set("2026-12-04T05:00:00Z")
	run(t, w, out)
	for _, day := range []string{"2026-12-04T23:00:00Z", "2026-12-05T05:00:00Z", "2026-12-06T05:00:00Z", "2026-12-07T05:00:00Z", "2026-12-08T23:59:00Z"} {
		w.Set(day)
		result := run(t, w, out)
		require.Empty(t, result.Verified, day)
		status, _ := current(t, w, "IND")
		require.Equal(t, payout.PendingVerification, status, day)
	}
	w.Set("2026-12-09T05:00:00Z")
	result := run(t, w, out)
	require.Equal(t, []int64{payoutAccountID(t, w, "IND"), payoutAccountID(t, w, "CO")}, result.Verified)
	for _, seller := range []string{"IND", "CO"} {
		status, reason := current(t, w, seller)
		require.Equal(t, payout.Verified, status)
		require.Equal(t, "no return of the prenote sent 2026-12-04 within 3 banking days", reason)
	}
	for _, seller := range []string{"PP", "DE"} {
		status, _ := current(t, w, seller)
		require.Equal(t, payout.PendingVerification, status, "%s is not verified by prenotes", seller)
	}
	// Verifying is done once.
	w.Set("2026-12-10T05:00:00Z")
	require.Empty(t, run(t, w, out).Verified)
}

// A returned prenote rejects its account with the return code, before or
// after the waiting period; a re-import changes nothing.
func TestReturnedPrenoteRejectsTheAccount(t *testing.T) {
	t.Parallel()
	w, out := world(t)
	w.Set("2026-12-04T05:00:00Z")
	result := run(t, w, out)
	body, err := os.ReadFile(result.File)
	require.NoError(t, err)
	file, err := nacha.Read(bytes.NewReader(body))
	require.NoError(t, err)
	individual, company := file.Batches[0].Entries[0], file.Batches[1].Entries[0]
	bank := func(trace, code string) []byte {
		var buf bytes.Buffer
		_, err := nacha.WriteReturnFile(&buf, file, fixture.At("2026-12-07T16:00:00Z"), []nacha.ReturnRequest{{Trace: trace, Code: code}})
		require.NoError(t, err)
		return buf.Bytes()
	}

	w.Set("2026-12-08T09:00:00Z")
	imported, err := returns.Import(context.Background(), w.DB, w.Now, bytes.NewReader(bank(individual.Trace, "R04")), "prenote-returns.ach")
	require.NoError(t, err)
	require.Equal(t, 1, imported.PrenotesReturned)
	require.Zero(t, imported.Returned)
	require.Equal(t, []returns.ReturnedPrenote{{PayoutAccountID: payoutAccountID(t, w, "IND"), ReturnCode: "R04", Rejected: true}}, imported.Prenotes)
	status, reason := current(t, w, "IND")
	require.Equal(t, payout.Rejected, status)
	require.Equal(t, "R04", reason)

	again, err := returns.Import(context.Background(), w.DB, w.Now, bytes.NewReader(bank(individual.Trace, "R04")), "prenote-returns.ach")
	require.NoError(t, err)
	require.Zero(t, again.PrenotesReturned)
	require.Equal(t, 1, again.Duplicates)

	// Wednesday: only the company's account is verified.
	w.Set("2026-12-09T05:00:00Z")
	require.Equal(t, []int64{payoutAccountID(t, w, "CO")}, run(t, w, out).Verified)
	status, _ = current(t, w, "IND")
	require.Equal(t, payout.Rejected, status)

	// A late return still rejects: the bank's answer wins.
	w.Set("2026-12-10T09:00:00Z")
	imported, err = returns.Import(context.Background(), w.DB, w.Now, bytes.NewReader(bank(company.Trace, "R03")), "late.ach")
	require.NoError(t, err)
	require.Equal(t, 1, imported.PrenotesReturned)
	status, reason = current(t, w, "CO")
	require.Equal(t, payout.Rejected, status)
	require.Equal(t, "R03", reason)

	// A return naming a prenote with another trace is refused.
	forged := *file
	forged.Batches = append([]nacha.Batch(nil), file.Batches...)
	forged.Batches[0].Entries = []nacha.FileEntry{individual}
	forged.Batches[0].Entries[0].Trace = "011000010000009"
	var buf bytes.Buffer
	_, err = nacha.WriteReturnFile(&buf, &forged, fixture.At("2026-12-07T16:00:00Z"), []nacha.ReturnRequest{{Trace: "011000010000009", Code: "R04"}})
	require.NoError(t, err)
	_, err = returns.Import(context.Background(), w.DB, w.Now, &buf, "forged.ach")
	require.ErrorIs(t, err, returns.ErrRefused)
	require.ErrorContains(t, err, "line 4, original entry trace number: file has 011000010000009, the prenote of payout account")
}

func TestBankingDaysBetween(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, to string
		want     int
	}{
		{"2026-12-04", "2026-12-04", 0}, // Friday, same day
		{"2026-12-04", "2026-12-06", 0}, // the weekend
		{"2026-12-04", "2026-12-07", 1}, // Monday
		{"2026-12-04", "2026-12-09", 3}, // Wednesday
		{"2026-12-07", "2026-12-10", 3}, // Monday to Thursday
		{"2026-12-05", "2026-12-08", 2}, // sent on a Saturday
		{"2026-12-09", "2026-12-04", 0}, // backwards
		{"2026-12-31", "2027-01-05", 3}, // over a year end (holidays count)
	}
	for _, c := range cases {
		from, _ := time.Parse(time.DateOnly, c.from)
		to, _ := time.Parse(time.DateOnly, c.to)
		require.Equal(t, c.want, prenote.BankingDaysBetween(from, to), "%s → %s", c.from, c.to)
	}
}

func TestMisconfiguredRunDoesNothing(t *testing.T) {
	t.Parallel()
	w, out := world(t)
	w.Set("2026-12-04T05:00:00Z")
	bad := originator
	bad.CompanyID = "123"
	_, err := prenote.Run(context.Background(), w.DB, w.Sealer, w.Now, bad, out, 3)
	require.ErrorIs(t, err, prenote.ErrBadConfig)
	require.ErrorContains(t, err, "company identification")
	_, err = prenote.Run(context.Background(), w.DB, w.Sealer, w.Now, originator, out, prenote.MaxBankingDays+1)
	require.ErrorIs(t, err, prenote.ErrBadConfig)
	var prenotes int
	require.NoError(t, w.DB.Get(&prenotes, `SELECT count(*) FROM prenotes`))
	require.Zero(t, prenotes)
	_, err = os.Stat(filepath.Join(out, "prenotes"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// An account the ACH file cannot carry (a name with no ACH characters) is
// rejected with the reason; the others go out.
func TestUnwritableAccountIsRejected(t *testing.T) {
	t.Parallel()
	w, out := world(t)
	account, err := ledger.CreateAccount(context.Background(), w.DB, ledger.NewAccount{SellerID: "CJK", Type: ledger.Individual, RegistrationCountry: "US"}, w.Now())
	require.NoError(t, err)
	w.IDs["CJK"] = account.ID
	view, err := w.Store.SetPayoutAccount(context.Background(), account.ID, payout.AccountInput{Method: payout.Bank, HolderName: "王小明", Currency: "USD",
		BankCountry: "US", AccountType: "checking", RoutingNumber: "011000015", AccountNumber: "555666777"}, "test")
	require.NoError(t, err)
	w.Set("2026-12-04T05:00:00Z")
	result := run(t, w, out)
	require.Equal(t, 2, result.Sent)
	require.Len(t, result.Refused, 1)
	require.Equal(t, view.ID, result.Refused[0].PayoutAccountID)
	status, reason := current(t, w, "CJK")
	require.Equal(t, payout.Rejected, status)
	require.Contains(t, reason, "cannot be sent by ACH: nacha: individual name")
	require.NotContains(t, reason, "555666777")

	// The re-run writes the same file and refuses nothing again.
	body, err := os.ReadFile(result.File)
	require.NoError(t, err)
	again := run(t, w, out)
	require.Empty(t, again.Refused)
	rewritten, err := os.ReadFile(again.File)
	require.NoError(t, err)
	require.Equal(t, body, rewritten)
}
