package reports

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// cycleFixture is a small, fixed cycle 2026-11 whose totals were worked out
// by hand (not by the code under test):
//
//	gross    1234.567891 + 500.004 + 300.10 + 1000.123456 + 80 = 3114.795347
//	US base  1000 + 200 + 250.05 + 400.123456 + 80             = 1930.173456
//	withheld 0 + 0 + round(0.30 × 250.05 = 75.015) + 0 + 12.00 =   87.02
//	paid     1234.56 + 500.00 + 225.08 + 1000.12 + 68.00       = 3027.76
//	sub-cent 3114.795347 − 87.02 − 3027.76                     =    0.015347
type cycleFixture struct {
	summary     CycleSummary
	payouts     []PayoutRow
	unpaid      []UnpaidRow
	withholding []WithholdingRow
	files       []FileRow
	exceptions  []ExceptionRow
}

func newCycleFixture() cycleFixture {
	closedAt := ts("2026-11-05T06:00:12Z")
	return cycleFixture{
		summary: CycleSummary{
			Month:       "2026-11",
			Cutoff:      ts("2026-11-01T00:00:00Z"),
			PaymentDate: ts("2026-11-16T00:00:00Z"),
			State:       "closed",
			ClosedBy:    "job:close-cycle",
			ClosedAt:    &closedAt,
			Totals: Totals{
				Publishers:     9,
				Gross:          d("3114.795347"),
				USSourced:      d("1930.173456"),
				Withheld:       d("87.02"),
				Paid:           d("3027.76"),
				SubCentCarried: d("0.015347"),
				WithheldByRate: []RateTotal{
					{Rate: d("0.30"), Recipients: 1, Base: d("250.05"), Withheld: d("75.02")},
					{Rate: d("0"), Recipients: 3, Base: d("1600.123456"), Withheld: d("0")},
					{Rate: d("0.15"), Recipients: 1, Base: d("80"), Withheld: d("12.00")},
				},
				PaidByMethod: []MethodTotal{
					{Method: "paypal", Currency: "USD", Payments: 1, AmountUSD: d("225.08"), Amount: d("225.08")},
					{Method: "bank", Currency: "USD", Payments: 1, AmountUSD: d("1234.56"), Amount: d("1234.56")},
					{Method: "bank", Currency: "EUR", Payments: 1, AmountUSD: d("500.00"), Amount: d("460.00")},
					{Method: "bank", Currency: "JPY", Payments: 1, AmountUSD: d("1000.12"), Amount: d("151252")},
					{Method: "bank", Currency: "INR", Payments: 1, AmountUSD: d("68.00"), Amount: d("5678.00")},
				},
				HeldByReason: []ReasonTotal{
					{Reason: "no_payout_account", Publishers: 1, Balance: d("95.123456")},
					{Reason: "payment_hold", Publishers: 1, Balance: d("812.50")},
				},
				CarriedByReason: []ReasonTotal{
					{Reason: "below_threshold", Publishers: 1, Balance: d("49.994")},
					{Reason: "negative_balance", Publishers: 1, Balance: d("-20.50")},
				},
				Returned: CountAmount{Count: 1, Amount: d("150.00")},
			},
			Checks: []Check{{Name: "Conservation (SPEC §1)", Pass: true, Detail: "earnings = paid + withheld + carried + returned"}},
		},
		payouts: []PayoutRow{
			{SellerID: "S-1001", DisplayName: "Acme Apps LLC", Country: "US", Method: "bank", MaskedAccount: "****6789",
				Currency: "USD", Gross: d("1234.567891"), USBase: d("1000"), Rate: d("0"), RateReason: "w9",
				Withheld: d("0"), PaidUSD: d("1234.56"), FXRate: d("1"), PaidInCurrency: d("1234.56"),
				PaymentID: "PAY-2026-11-0001", File: "nacha-2026-11.ach"},
			{SellerID: "S-1002", DisplayName: "Müller Software GmbH", Country: "DE", Method: "bank", MaskedAccount: "DE**…3000",
				Currency: "EUR", Gross: d("500.004"), USBase: d("200"), Rate: d("0"), RateReason: "treaty:DE",
				Withheld: d("0"), PaidUSD: d("500.00"), FXRate: d("0.92"), PaidInCurrency: d("460.00"),
				PaymentID: "PAY-2026-11-0002", File: "pain001-2026-11-EUR.xml"},
			{SellerID: "S-1003", DisplayName: "=Sampa Jogos", Country: "BR", Method: "paypal", MaskedAccount: "s***@sampa.example",
				Currency: "USD", Gross: d("300.10"), USBase: d("250.05"), Rate: d("0.30"), RateReason: "no_treaty",
				Withheld: d("75.02"), PaidUSD: d("225.08"), FXRate: d("1"), PaidInCurrency: d("225.08"),
				PaymentID: "PAY-2026-11-0003", File: "paypal-2026-11-1.json"},
			{SellerID: "S-1004", DisplayName: "Kyoto Games KK", Country: "JP", Method: "bank", MaskedAccount: "****4321",
				Currency: "JPY", Gross: d("1000.123456"), USBase: d("400.123456"), Rate: d("0"), RateReason: "treaty:JP",
				Withheld: d("0"), PaidUSD: d("1000.12"), FXRate: d("151.234567"), PaidInCurrency: d("151252"),
				PaymentID: "PAY-2026-11-0004", File: "pain001-2026-11-JPY.xml"},
			{SellerID: "S-1005", DisplayName: "Pune Apps", Country: "IN", Method: "bank", MaskedAccount: "****0007",
				Currency: "INR", Gross: d("80"), USBase: d("80"), Rate: d("0.15"), RateReason: "treaty:IN",
				Withheld: d("12.00"), PaidUSD: d("68.00"), FXRate: d("83.5"), PaidInCurrency: d("5678.00"),
				PaymentID: "PAY-2026-11-0005", File: "pain001-2026-11-INR.xml"},
		},
		unpaid: []UnpaidRow{
			{SellerID: "S-2001", DisplayName: "Held Co", Country: "US", Status: StatusHeld, Balance: d("812.50"),
				PrimaryReason: "payment_hold", Reasons: []string{"payment_hold"}},
			{SellerID: "S-2002", DisplayName: "Formless Ltd", Country: "GB", Status: StatusHeld, Balance: d("95.123456"),
				PrimaryReason: "no_payout_account", Reasons: []string{"no_payout_account", "tax_profile_missing"}},
			{SellerID: "S-2003", DisplayName: "Tiny Tools", Country: "FR", Status: StatusCarried, Balance: d("49.994"),
				PrimaryReason: "below_threshold", Reasons: []string{"below_threshold"}},
			{SellerID: "S-2004", DisplayName: "Refundia", Country: "CA", Status: StatusCarried, Balance: d("-20.50"),
				PrimaryReason: "negative_balance", Reasons: []string{"negative_balance"}, Unblock: "Recouped from future sales."},
		},
		withholding: []WithholdingRow{
			{Country: "BR", Rate: d("0.30"), Reason: "no_treaty", Recipients: 1, Base: d("250.05"), Withheld: d("75.02")},
			{Country: "DE", Rate: d("0"), Reason: "treaty:DE", Recipients: 1, Base: d("200"), Withheld: d("0")},
			{Country: "IN", Rate: d("0.15"), Reason: "treaty:IN", Recipients: 1, Base: d("80"), Withheld: d("12.00")},
			{Country: "JP", Rate: d("0"), Reason: "treaty:JP", Recipients: 1, Base: d("400.123456"), Withheld: d("0")},
			{Country: "US", Rate: d("0"), Reason: "w9", Recipients: 1, Base: d("1000"), Withheld: d("0")},
		},
		files: []FileRow{
			{Name: "nacha-2026-11.ach", Kind: "nacha", SHA256: "1f0e", Records: 1, ControlTotalUSD: d("1234.56"), Currency: "USD", ControlTotal: d("1234.56")},
			{Name: "pain001-2026-11-EUR.xml", Kind: "pain.001", SHA256: "2a1b", Records: 1, ControlTotalUSD: d("500.00"), Currency: "EUR", ControlTotal: d("460.00")},
			{Name: "pain001-2026-11-INR.xml", Kind: "pain.001", SHA256: "3c2d", Records: 1, ControlTotalUSD: d("68.00"), Currency: "INR", ControlTotal: d("5678.00")},
			{Name: "pain001-2026-11-JPY.xml", Kind: "pain.001", SHA256: "4e3f", Records: 1, ControlTotalUSD: d("1000.12"), Currency: "JPY", ControlTotal: d("151252")},
			{Name: "paypal-2026-11-1.json", Kind: "paypal", SHA256: "5a4b", Records: 1, ControlTotalUSD: d("225.08"), Currency: "USD", ControlTotal: d("225.08")},
		},
		exceptions: []ExceptionRow{
			{Kind: ExceptionRecredited, SellerID: "S-3001", Reference: "PAY-2026-10-0042", Detail: "ACH return R03: no account", Amount: d("150.00")},
			{Kind: "expiring_tax_form", SellerID: "S-2003", Reference: "W-8BEN 2022", Detail: "expires 2026-12-31"},
		},
	}
}

func (c cycleFixture) data() CycleData {
	return CycleData{
		Payouts:     SliceRows(c.payouts),
		Unpaid:      SliceRows(c.unpaid),
		Withholding: SliceRows(c.withholding),
		Files:       SliceRows(c.files),
		Exceptions:  SliceRows(c.exceptions),
	}
}

// writeFixture writes the fixture's workbook in a fresh directory.
func writeFixture(t *testing.T, c cycleFixture) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), CycleWorkbookName(c.summary.Month, c.summary.Draft))
	require.NoError(t, WriteCycleWorkbook(path, c.summary, c.data()))
	return path
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./reports -run %s -update", t.Name())
	require.Equal(t, string(want), string(got), "%s differs from the golden file (-update rewrites it after review)", name)
}

// withRowLimit lowers MaxSheetRows for one test (not parallel: it is a
// package variable).
func withRowLimit(t *testing.T, limit int) {
	t.Helper()
	previous := MaxSheetRows
	MaxSheetRows = limit
	t.Cleanup(func() { MaxSheetRows = previous })
}
