package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func form1042SRows() []Form1042SRow {
	return []Form1042SRow{
		{SellerID: "S-1003", RecipientName: "Sampa Jogos Ltda", Country: "BR", Address: "Rua A 1, São Paulo",
			MaskedForeignTIN: "*******8901", EntityType: "corporation", Gross: d("3000.60"), Rate: d("0.30"),
			Withheld: d("900.18"), Reason: "no_treaty"},
		{SellerID: "S-1005", RecipientName: "Pune Apps", Country: "IN", Address: "MG Road 5, Pune",
			MaskedForeignTIN: "******234F", EntityType: "individual", IncomeCode: "12", Gross: d("960.00"),
			Rate: d("0.15"), Withheld: d("144.00"), Reason: "treaty:IN"},
		{SellerID: "S-1006", RecipientName: "Budapest Bits Kft", Country: "HU", Address: "Andrássy út 2",
			EntityType: "corporation", Gross: d("100.00"), Rate: d("0.30"), Withheld: d("30.00"), Reason: "treaty_not_in_force"},
	}
}

func form1099Rows() []Form1099Row {
	return []Form1099Row{
		{SellerID: "S-1001", RecipientName: "Acme Apps LLC", MaskedTIN: "*****6780", Address: "1 Main St, Austin TX",
			Transactions: 250, Gross: d("25000.00"), Withheld: d("0")},
		{SellerID: "S-1007", RecipientName: "Solo Dev", MaskedTIN: "*****1111", Address: "2 Elm St, Reno NV",
			Transactions: 12, Gross: d("640.50"), Withheld: d("0")},
		{SellerID: "S-1008", RecipientName: "=Tiny", MaskedTIN: "", Address: "3 Oak St, Troy NY",
			Transactions: 1, Gross: d("5.00"), Withheld: d("1.20")},
		{SellerID: "S-1009", RecipientName: "Hobby Apps", MaskedTIN: "*****2222", Address: "4 Pine St, Erie PA",
			Transactions: 2, Gross: d("8.00"), Withheld: d("0")},
	}
}

// thresholds as configured for the fixture (the tax package owns the real ones).
var fixtureThresholds = Thresholds1099{KGross: d("20000"), KTransactions: 200, MISC: d("10")}

func TestForm1099Kind(t *testing.T) {
	rows := form1099Rows()
	require.Equal(t, Form1099K, Form1099Kind(fixtureThresholds, rows[0]))
	require.Equal(t, Form1099MISC, Form1099Kind(fixtureThresholds, rows[1]))
	require.Equal(t, Form1099MISC, Form1099Kind(fixtureThresholds, rows[2]), "backup withholding is always reported")
	require.Equal(t, Form1099None, Form1099Kind(fixtureThresholds, rows[3]))
	// Exactly at the thresholds counts.
	require.Equal(t, Form1099K, Form1099Kind(fixtureThresholds, Form1099Row{Gross: d("20000"), Transactions: 200}))
	require.Equal(t, Form1099MISC, Form1099Kind(fixtureThresholds, Form1099Row{Gross: d("20000"), Transactions: 199}))
	require.Equal(t, Form1099MISC, Form1099Kind(fixtureThresholds, Form1099Row{Gross: d("10")}))
	noCount := Thresholds1099{KGross: d("600"), MISC: d("10")}
	require.Equal(t, Form1099K, Form1099Kind(noCount, Form1099Row{Gross: d("640.50"), Transactions: 1}))
}

func TestWrite1042S(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "1042-S-2026.xlsx")
	require.NoError(t, Write1042S(path, 2026, SliceRows(form1042SRows())))
	checkGolden(t, "1042s-2026.golden.json", dumpWorkbookJSON(t, path))
	dump := dumpWorkbook(t, path)
	require.Equal(t, []string{"1042-S"}, dump.sheetNames())
	sheet := dump.sheet(t, "1042-S")
	require.Equal(t, "A2", *sheet.Freeze)
	require.Equal(t, "$A$1:$M$4", *sheet.Autofilter)
	code := sheet.column(t, "Income code")
	for row := 1; row <= 3; row++ {
		require.Equal(t, "12", sheet.cell(row, code).Value, "income code 12 (other royalties)")
		require.Equal(t, "n", sheet.cell(row, sheet.column(t, "Gross US-sourced paid (USD)")).Type)
		require.Equal(t, formatRate, sheet.cell(row, sheet.column(t, "Rate")).Format)
	}
	total := sheet.Rows[len(sheet.Rows)-1]
	require.Equal(t, 1074.18, total[sheet.column(t, "Withheld (USD)")].Value)

	csvPath := filepath.Join(dir, "1042-S-2026.csv")
	require.NoError(t, Write1042SCSV(csvPath, 2026, SliceRows(form1042SRows())))
	got, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, "Tax year,Seller ID,Recipient name,Country,Address,US TIN (masked),Foreign TIN (masked),"+
		"Entity type,Income code,Gross US-sourced paid (USD),Rate,Withheld (USD),Reason", lines[0])
	require.Equal(t, `2026,S-1003,Sampa Jogos Ltda,BR,"Rua A 1, São Paulo",,*******8901,corporation,12,3000.60,0.3000,900.18,no_treaty`, lines[1])
}

func TestWrite1099(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "1099-2026.xlsx")
	require.NoError(t, Write1099(path, 2026, fixtureThresholds, SliceRows(form1099Rows())))
	checkGolden(t, "1099-2026.golden.json", dumpWorkbookJSON(t, path))
	sheet := dumpWorkbook(t, path).sheet(t, "1099")
	require.Equal(t, []string{"Tax year", "Seller ID", "Recipient name", "TIN (masked)", "Address", "Transactions",
		"Gross paid (USD)", "Backup withholding (USD)", "Form"}, sheet.header())
	form := sheet.column(t, "Form")
	var forms []any
	for row := 1; row <= 4; row++ {
		forms = append(forms, sheet.cell(row, form).Value)
	}
	require.Equal(t, []any{"1099-K", "1099-MISC", "1099-MISC", "none"}, forms)

	csvPath := filepath.Join(dir, "1099-2026.csv")
	require.NoError(t, Write1099CSV(csvPath, 2026, fixtureThresholds, SliceRows(form1099Rows())))
	got, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Equal(t, "2026,S-1008,'=Tiny,,\"3 Oak St, Troy NY\",1,5.00,1.20,1099-MISC", lines[3])

	require.ErrorIs(t, Write1099(filepath.Join(dir, "x.xlsx"), 2026, Thresholds1099{KGross: d("-1")}, nil), ErrThresholds)
	require.ErrorIs(t, Write1099CSV(csvPath, 2026, fixtureThresholds, nil), ErrFileExists)
}
