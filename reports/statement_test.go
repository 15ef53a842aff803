package reports

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestAllocateWithholdingExamples(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withheld string
		amounts  []string
		want     []string
	}{
		{"proportional", "30.00", []string{"60", "40"}, []string{"18", "12"}},
		{"largest remainder", "10.00", []string{"1", "1", "1"}, []string{"3.34", "3.33", "3.33"}},
		{"refund gets nothing", "15.00", []string{"60", "-10", "0", "40"}, []string{"9", "0", "0", "6"}},
		{"sub-cent lines", "0.01", []string{"0.004", "0.006"}, []string{"0", "0.01"}},
		{"nothing withheld", "0", []string{"12.5", "-3"}, []string{"0", "0"}},
		{"no lines, nothing withheld", "0", nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			amounts := make([]decimal.Decimal, len(tc.amounts))
			for i, a := range tc.amounts {
				amounts[i] = d(a)
			}
			got := AllocateWithholding(d(tc.withheld), amounts)
			require.NotNil(t, got)
			texts := make([]string, len(got))
			for i, p := range got {
				texts[i] = p.String()
			}
			require.Equal(t, tc.want, texts)
		})
	}
	// What cannot be allocated is refused, not invented.
	require.Nil(t, AllocateWithholding(d("1.00"), []decimal.Decimal{d("-5")}), "withheld with no positive line")
	require.Nil(t, AllocateWithholding(d("1.00"), nil))
	require.Nil(t, AllocateWithholding(d("-1.00"), []decimal.Decimal{d("5")}))
	require.Nil(t, AllocateWithholding(d("1.005"), []decimal.Decimal{d("5")}), "withholding is whole cents")
}

// TestAllocateWithholdingProperties: for any lines (refunds included) and
// any withholding up to 30% of the positive US amounts, the parts sum
// exactly, none is negative, non-positive lines get 0, and no part exceeds
// its line's exact share by a cent or more (nor falls short by a cent).
func TestAllocateWithholdingProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "lines")
		amounts := make([]decimal.Decimal, n)
		positive := decimal.Zero
		for i := range amounts {
			amounts[i] = decimal.New(rapid.Int64Range(-5_000_000_000, 50_000_000_000).Draw(t, "amount"), -6)
			if amounts[i].IsPositive() {
				positive = positive.Add(amounts[i])
			}
		}
		maxCents := positive.Mul(d("0.30")).Shift(2).IntPart()
		withheld := decimal.New(rapid.Int64Range(0, maxCents).Draw(t, "withheld cents"), -2)
		parts := AllocateWithholding(withheld, amounts)
		if positive.IsZero() && !withheld.IsZero() {
			require.Nil(t, parts)
			return
		}
		require.Len(t, parts, n)
		sum := decimal.Zero
		for i, part := range parts {
			sum = sum.Add(part)
			require.False(t, part.IsNegative(), "part %d negative: %s", i, part)
			require.True(t, part.Equal(part.Round(2)), "part %d not whole cents: %s", i, part)
			if !amounts[i].IsPositive() {
				require.True(t, part.IsZero(), "line %d (%s) is not positive but got %s", i, amounts[i], part)
				continue
			}
			exact := withheld.Mul(amounts[i]).Div(positive)
			require.True(t, part.Sub(exact).LessThan(cent), "part %d = %s exceeds its share %s by a cent or more", i, part, exact)
			require.True(t, exact.Sub(part).LessThan(cent), "part %d = %s falls short of its share %s by a cent or more", i, part, exact)
		}
		require.True(t, sum.Equal(withheld), "parts sum to %s, not %s", sum, withheld)
	})
}

// statementFixture: a publisher paid in November with four US lines (one a
// refund), one German line, and lines not in the payout.
func statementFixture() (StatementHeader, []StatementLine) {
	payout := PayoutRow{SellerID: "S-1003", DisplayName: "Sampa Jogos", Country: "BR", Method: "paypal",
		MaskedAccount: "s***@sampa.example", Currency: "USD", Gross: d("300.10"), USBase: d("250.05"),
		Rate: d("0.30"), RateReason: "no_treaty", Withheld: d("75.02"), PaidUSD: d("225.08"), FXRate: d("1"),
		PaidInCurrency: d("225.08"), PaymentID: "PAY-2026-11-0003"}
	header := StatementHeader{SellerID: "S-1003", DisplayName: "Sampa Jogos", Month: "2026-11",
		Cutoff: ts("2026-11-01T00:00:00Z"), PaymentDate: ts("2026-11-16T00:00:00Z"), Status: "paid",
		Payout: &payout, PaymentStatus: LineSent, GeneratedAt: ts("2026-11-16T08:00:00Z")}
	line := func(id, market, kind, amount, status, payment string, at string) StatementLine {
		when := ts(at)
		return StatementLine{RevenueSource: "app", TransactionID: id, TransactionAt: when, Market: market,
			TransactionType: kind, Amount: d(amount), EligibleAt: when.AddDate(0, 0, 30), Status: status, PaymentID: payment}
	}
	return header, []StatementLine{
		line("T-1", "US", "purchase", "100.000001", LineSent, "PAY-2026-11-0003", "2026-09-03T10:00:00Z"),
		line("T-2", "US", "purchase", "120.05", LineSent, "PAY-2026-11-0003", "2026-09-12T10:00:00Z"),
		line("T-3", "BR", "purchase", "50.049999", LineSent, "PAY-2026-11-0003", "2026-09-20T10:00:00Z"),
		line("T-4", "US", "refund", "-10", LineSent, "PAY-2026-11-0003", "2026-09-21T10:00:00Z"),
		line("T-5", "US", "purchase", "39.999999", LineSent, "PAY-2026-11-0003", "2026-09-30T10:00:00Z"),
		line("T-6", "US", "purchase", "12.34", LineReserved, "", "2026-10-02T10:00:00Z"),
		line("=1+1", "DE", "purchase", "8.00", LineUnprocessed, "", "2026-10-20T10:00:00Z"),
	}
}

func TestStatement(t *testing.T) {
	header, lines := statementFixture()
	dir := t.TempDir()
	xlsxPath, csvPath := filepath.Join(dir, "statement.xlsx"), filepath.Join(dir, "statement.csv")
	require.NoError(t, WriteStatement(xlsxPath, csvPath, header, SliceRows(lines)))

	dump := dumpWorkbook(t, xlsxPath)
	checkGolden(t, "statement-2026-11.golden.json", dumpWorkbookJSON(t, xlsxPath))
	require.Equal(t, []string{"Statement", "Lines"}, dump.sheetNames())
	sheet := dump.sheet(t, "Lines")
	require.Equal(t, []string{"Revenue source", "Transaction ID", "Transaction date (UTC)", "Market",
		"Transaction type", "Amount (USD)", "Eligible at (UTC)", "Status", "Withheld (USD)", "Payment ID"}, sheet.header())
	require.Equal(t, "A2", *sheet.Freeze)
	require.Equal(t, "$A$1:$J$8", *sheet.Autofilter)
	withheldCol := sheet.column(t, "Withheld (USD)")
	require.Equal(t, "d", sheet.cell(1, sheet.column(t, "Transaction date (UTC)")).Type)
	withheld := decimal.Zero
	for row := 1; row <= 7; row++ {
		if c := sheet.cell(row, withheldCol); c != nil {
			withheld = withheld.Add(cellDecimal(t, c))
		}
	}
	require.True(t, withheld.Equal(d("75.02")), "lines carry %s", withheld)
	require.Nil(t, sheet.cell(6, withheldCol), "a reserved line has no withholding")
	require.Equal(t, float64(0), sheet.cell(3, withheldCol).Value, "the BR line in the payout: 0")
	require.Equal(t, float64(0), sheet.cell(4, withheldCol).Value, "the US refund: 0")

	file, err := os.Open(csvPath)
	require.NoError(t, err)
	defer file.Close()
	records, err := csv.NewReader(file).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 8)
	require.Equal(t, sheet.header(), records[0])
	// 75.02 over 100.000001, 120.05, 39.999999 (sum 260.05): 28.85, 34.63, 11.54.
	require.Equal(t, []string{"app", "T-1", "2026-09-03T10:00:00Z", "US", "purchase", "100.000001",
		"2026-10-03T10:00:00Z", "sent", "28.85", "PAY-2026-11-0003"}, records[1])
	require.Equal(t, "34.63", records[2][8])
	require.Equal(t, "0.00", records[3][8])
	require.Equal(t, "0.00", records[4][8])
	require.Equal(t, "11.54", records[5][8])
	require.Equal(t, "", records[6][8])
	require.Equal(t, "'=1+1", records[7][1], "formula-like text is defused in CSV")
}

func TestStatementWithoutPayout(t *testing.T) {
	header, lines := statementFixture()
	header.Payout, header.Status, header.Reasons = nil, "held", []string{"payment_hold"}
	for i := range lines {
		lines[i].PaymentID, lines[i].Status = "", LineReserved
	}
	path := filepath.Join(t.TempDir(), "statement.xlsx")
	require.NoError(t, WriteStatement(path, "", header, SliceRows(lines)))
	statement := dumpWorkbook(t, path).sheet(t, "Statement")
	require.Equal(t, "payment_hold", statement.labelRow(t, "No payment this cycle")[1].Value)
}

func TestStatementRefusals(t *testing.T) {
	header, lines := statementFixture()
	dir := t.TempDir()
	xlsxPath, csvPath := filepath.Join(dir, "s.xlsx"), filepath.Join(dir, "s.csv")

	// Withheld, but every US line of the payout is a refund.
	refundsOnly := append([]StatementLine(nil), lines...)
	for i := range refundsOnly {
		if refundsOnly[i].Market == "US" {
			refundsOnly[i].Amount = d("-1")
		}
	}
	require.ErrorIs(t, WriteStatement(xlsxPath, csvPath, header, SliceRows(refundsOnly)), ErrUnallocatable)

	// A stream that changes between the two passes.
	pass := 0
	changing := func(yield func(StatementLine) error) error {
		pass++
		for i, l := range lines {
			if pass == 2 && i == 1 {
				l.Amount = d("120.06")
			}
			if err := yield(l); err != nil {
				return err
			}
		}
		return nil
	}
	require.ErrorIs(t, WriteStatement(xlsxPath, csvPath, header, changing), ErrLinesChanged)
	requireEmptyDir(t, dir)

	// Both files appear only together: an existing CSV stops both.
	require.NoError(t, os.WriteFile(csvPath, []byte("old"), 0o600))
	require.ErrorIs(t, WriteStatement(xlsxPath, csvPath, header, SliceRows(lines)), ErrFileExists)
	requireOnly(t, dir, "s.csv")
	require.NoError(t, WriteStatement(xlsxPath, csvPath, header, SliceRows(lines), Overwrite()))
	requireOnly(t, dir, "s.csv", "s.xlsx")
}
