package statement_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/sepa"
	"github.com/payrun/payrun/payout/statement"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/reports/reportstest"
	"github.com/payrun/payrun/testsupport/fixture"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// novemberWorld: DE1, a German publisher paid by PayPal in USD on a W-8BEN
// without a treaty claim (30% on US sales), paid in October (a line the
// November statement must not list) and in November: US and non-US sales,
// a US refund, and a sale not yet available at the November cutoff. HELD1
// has no payout account: held in November, its lines reserved.
func novemberWorld(t *testing.T) (*fixture.World, *release.Releaser) {
	w := fixture.New(t)
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("DE1", fixture.Publisher{Country: "DE", Method: payout.PayPal})
	w.Publisher("HELD1", fixture.Publisher{Country: "DE", NoPayout: true})
	w.Earn("DE1", "GB", "60.00", "2026-09-20T00:00:00Z")
	w.Set("2026-10-05T06:00:00Z")
	w.Close("2026-10")

	w.Set("2026-10-10T00:00:00Z")
	w.Earn("DE1", "US", "100.00", "2026-10-20T00:00:00Z")  // line-000002
	w.Earn("DE1", "GB", "40.00", "2026-10-20T00:00:00Z")   // line-000003
	w.Earn("DE1", "US", "55.55", "2026-10-21T00:00:00Z")   // line-000004
	w.Earn("DE1", "US", "33.33", "2026-10-22T00:00:00Z")   // line-000005
	w.Earn("DE1", "US", "-10.00", "2026-10-25T00:00:00Z")  // line-000006, a refund
	w.Earn("DE1", "US", "25.00", "2026-11-20T00:00:00Z")   // line-000007, not available at the cutoff
	w.Earn("HELD1", "US", "70.00", "2026-10-20T00:00:00Z") // line-000008
	w.Set("2026-11-05T06:00:00Z")
	w.Close("2026-11")
	w.Set("2026-11-06T09:30:00Z")
	// A sale made after the November cutoff belongs to later statements.
	w.Earn("DE1", "US", "5.00", "2026-12-20T00:00:00Z") // line-000009
	return w, &release.Releaser{DB: w.DB, Sealer: w.Sealer, Clock: w.Now, Config: release.Config{
		OutDir: t.TempDir(),
		Originator: nacha.Originator{ImmediateDestination: "011000015", ImmediateDestinationName: "DEMO BANK", ImmediateOrigin: "1123456789",
			ImmediateOriginName: "PAYRUN TEST", CompanyName: "PAYRUN TEST", CompanyID: "1123456789", CompanyEntryDescription: "PAYOUT", ODFIRouting: "01100001"},
		Debtor:        sepa.Debtor{Name: "PAYRUN TEST", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX", Country: "DE"},
		PayPalSubject: "Your payout",
	}}
}

// line is one statement line as both files show it.
type line struct {
	id, market, amount, status, withheld, paymentID string
}

func readCSV(t *testing.T, path string) []line {
	t.Helper()
	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	records, err := csv.NewReader(file).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"Revenue source", "Transaction ID", "Transaction date (UTC)", "Market", "Transaction type",
		"Amount (USD)", "Eligible at (UTC)", "Status", "Withheld (USD)", "Payment ID"}, records[0])
	var lines []line
	for _, r := range records[1:] {
		lines = append(lines, line{id: r[1], market: r[3], amount: r[5], status: r[7], withheld: r[8], paymentID: r[9]})
	}
	return lines
}

// readXLSX reads the Lines sheet with openpyxl's streaming reader, amounts
// normalised to the CSV's decimals.
func readXLSX(t *testing.T, path string) []line {
	t.Helper()
	sheet := reportstest.SheetNamed(t, reportstest.ReadOnly(t, path), reports.SheetLines)
	require.Equal(t, "Transaction ID", *sheet.Rows[0][1])
	var lines []line
	for _, r := range sheet.Rows[1:] {
		if len(r) == 0 || r[0] == nil { // the blank row, then the totals
			break
		}
		text := func(i int) string {
			if i >= len(r) || r[i] == nil {
				return ""
			}
			return *r[i]
		}
		number := func(i, places int) string {
			if text(i) == "" {
				return ""
			}
			return d(text(i)).StringFixed(int32(places))
		}
		lines = append(lines, line{id: text(1), market: text(3), amount: number(5, 6), status: text(7), withheld: number(8, 2), paymentID: text(9)})
	}
	return lines
}

func TestStatementOfAPaidPublisher(t *testing.T) {
	t.Parallel()
	w, releaser := novemberWorld(t)
	ctx := context.Background()
	out := t.TempDir()
	month := fixture.Month("2026-11")
	paymentID := payout.PaymentID(month, w.IDs["DE1"])
	generated := fixture.At("2026-11-06T10:00:00Z")
	request := statement.Request{SellerID: "DE1", Month: month, OutDir: out, Now: generated}

	// US balance 100 + 55.55 + 33.33 − 10 = 178.88; withheld round(0.30 × 178.88 = 53.664) = 53.66.
	payoutRow := w.Payout("2026-11", "DE1")
	require.Equal(t, "paid", payoutRow.Status)
	require.True(t, d("53.66").Equal(payoutRow.Withheld), payoutRow.Withheld.String())

	result, err := statement.Write(ctx, w.DB, request)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(out, "statements", "DE1", "statement-2026-11.xlsx"), result.XLSX)
	require.Equal(t, filepath.Join(out, "statements", "DE1", "statement-2026-11.csv"), result.CSV)
	require.Equal(t, "paid", result.Decision)
	require.Equal(t, paymentID, result.PaymentID)
	require.Equal(t, reports.LineProcessed, result.PaymentStatus)
	require.Equal(t, map[string]int{"processed": 5, "unprocessed": 1}, result.ByStatus)

	// 53.66 over the positive US lines 100, 55.55, 33.33 (sum 188.88):
	// exact shares 28.4096, 15.7817, 9.4689 → floors 28.40, 15.78, 9.46
	// (53.64); the two cents left go to the largest remainders.
	want := []line{
		{"line-000002", "US", "100.000000", "processed", "28.41", paymentID},
		{"line-000003", "GB", "40.000000", "processed", "0.00", paymentID},
		{"line-000004", "US", "55.550000", "processed", "15.78", paymentID},
		{"line-000005", "US", "33.330000", "processed", "9.47", paymentID},
		{"line-000006", "US", "-10.000000", "processed", "0.00", paymentID},
		{"line-000007", "US", "25.000000", "unprocessed", "", ""},
	}
	csvLines := readCSV(t, result.CSV)
	require.Equal(t, want, csvLines, "October's line and the sale after the cutoff are not listed")
	require.Equal(t, csvLines, readXLSX(t, result.XLSX), "the workbook and the CSV agree")
	withheld := decimal.Zero
	for _, l := range csvLines {
		if l.withheld != "" {
			withheld = withheld.Add(d(l.withheld))
		}
	}
	require.True(t, withheld.Equal(payoutRow.Withheld), "the lines carry %s, the payout withheld %s", withheld, payoutRow.Withheld)

	// The summary sheet shows the payment.
	summary := reportstest.SheetNamed(t, reportstest.ReadOnly(t, result.XLSX), reports.SheetStatement)
	require.Contains(t, rowsAsText(summary), "Payment ID|"+paymentID)
	require.Contains(t, rowsAsText(summary), "Payment status|processed")

	// Written again without --overwrite: refused, the files untouched.
	before, err := os.ReadFile(result.XLSX)
	require.NoError(t, err)
	_, err = statement.Write(ctx, w.DB, request)
	require.ErrorIs(t, err, reports.ErrFileExists)
	after, err := os.ReadFile(result.XLSX)
	require.NoError(t, err)
	require.Equal(t, before, after)

	// Same snapshot, same clock: the same bytes.
	again := request
	again.OutDir = t.TempDir()
	second, err := statement.Write(ctx, w.DB, again)
	require.NoError(t, err)
	secondBytes, err := os.ReadFile(second.XLSX)
	require.NoError(t, err)
	require.Equal(t, before, secondBytes)

	// After the release, the processed lines are sent.
	_, err = releaser.Release(ctx, month, "ops")
	require.NoError(t, err)
	request.Overwrite = true
	result, err = statement.Write(ctx, w.DB, request)
	require.NoError(t, err)
	require.Equal(t, reports.LineSent, result.PaymentStatus)
	require.Equal(t, map[string]int{"sent": 5, "unprocessed": 1}, result.ByStatus)
	sent := readCSV(t, result.CSV)
	for i := range want {
		if want[i].status == reports.LineProcessed {
			want[i].status = reports.LineSent
		}
	}
	require.Equal(t, want, sent)
	require.Equal(t, sent, readXLSX(t, result.XLSX))
	summary = reportstest.SheetNamed(t, reportstest.ReadOnly(t, result.XLSX), reports.SheetStatement)
	require.Contains(t, rowsAsText(summary), "Payment status|sent")

	// A returned payment: its lines are returned, the withholding still allocated.
	_, err = w.DB.Exec(`INSERT INTO payout_returns (month, account_id, amount_usd, reason, source, returned_at, recorded_at)
		VALUES ($1, $2, $3, 'RETURNED', 'paypal', $4, $4)`, month, w.IDs["DE1"], payoutRow.Paid, fixture.At("2026-11-20T00:00:00Z"))
	require.NoError(t, err)
	result, err = statement.Write(ctx, w.DB, request)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"returned": 5, "unprocessed": 1}, result.ByStatus)
	returned := readCSV(t, result.CSV)
	require.Equal(t, "returned", returned[0].status)
	require.Equal(t, "28.41", returned[0].withheld)
}

func TestStatementOfAHeldPublisher(t *testing.T) {
	t.Parallel()
	w, _ := novemberWorld(t)
	result, err := statement.Write(context.Background(), w.DB, statement.Request{SellerID: "HELD1", Month: fixture.Month("2026-11"),
		OutDir: t.TempDir(), Now: w.Now()})
	require.NoError(t, err)
	require.Equal(t, "held", result.Decision)
	require.Contains(t, result.Reasons, "no_payout_account")
	require.Empty(t, result.PaymentID)
	require.Equal(t, []line{{"line-000008", "US", "70.000000", "reserved", "", ""}}, readCSV(t, result.CSV))
	require.Equal(t, readCSV(t, result.CSV), readXLSX(t, result.XLSX))
}

func TestStatementRefusals(t *testing.T) {
	t.Parallel()
	w, _ := novemberWorld(t)
	ctx := context.Background()
	out := t.TempDir()
	request := func(seller, month, dir string) statement.Request {
		return statement.Request{SellerID: seller, Month: fixture.Month(month), OutDir: dir, Now: w.Now()}
	}
	_, err := statement.Write(ctx, w.DB, request("NOPE", "2026-11", out))
	require.ErrorIs(t, err, ledger.ErrUnknownSeller)
	require.ErrorContains(t, err, "NOPE")

	_, err = statement.Write(ctx, w.DB, request("DE1", "2026-12", out))
	require.ErrorIs(t, err, statement.ErrNotClosed)
	require.ErrorContains(t, err, "2026-12")

	// The output "directory" is a regular file.
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o600))
	_, err = statement.Write(ctx, w.DB, request("DE1", "2026-11", blocker))
	require.ErrorIs(t, err, statement.ErrOutputNotWritable)

	// Only the CSV exists: still refused, and no workbook appears.
	xlsxPath, csvPath := statement.Paths(out, "DE1", fixture.Month("2026-11"))
	require.NoError(t, os.MkdirAll(filepath.Dir(csvPath), 0o750))
	require.NoError(t, os.WriteFile(csvPath, []byte("mine"), 0o600))
	_, err = statement.Write(ctx, w.DB, request("DE1", "2026-11", out))
	require.ErrorIs(t, err, reports.ErrFileExists)
	require.NoFileExists(t, xlsxPath)
	entries, err := os.ReadDir(filepath.Dir(csvPath))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}

func TestLineStatus(t *testing.T) {
	cutoff := fixture.At("2026-11-01T00:00:00Z")
	before := cutoff.Add(-time.Nanosecond)
	require.Equal(t, reports.LineUnprocessed, statement.LineStatus(cutoff, cutoff, reports.LineSent), "at the cutoff counts from the next cycle")
	require.Equal(t, reports.LineReserved, statement.LineStatus(before, cutoff, ""))
	require.Equal(t, reports.LineProcessed, statement.LineStatus(before, cutoff, reports.LineProcessed))
	require.Equal(t, reports.LineReturned, statement.LineStatus(before, cutoff, reports.LineReturned))
}

// rowsAsText joins each row's first two cells: "Label|value".
func rowsAsText(sheet reportstest.Sheet) []string {
	var out []string
	for _, row := range sheet.Rows {
		if len(row) >= 2 && row[0] != nil && row[1] != nil {
			out = append(out, *row[0]+"|"+*row[1])
		}
	}
	return out
}
