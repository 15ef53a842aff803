package publisher

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/paypal"
	"github.com/payrun/payrun/reports"
)

// november is the cycle of the tests' PayPal payments.
var november = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// paymentsExport is the export the workbook tests write.
var paymentsExport = Export{SellerID: "S-0000001", Kind: ExportPayments, Format: ExportXLSX, From: "2026-01", To: "2026-12",
	CreatedAt: time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)}

// writePayments writes payments as the payments export's workbook and
// returns its bytes and how many payments it counted.
func writePayments(t *testing.T, payments []Payment) ([]byte, int64) {
	t.Helper()
	var book bytes.Buffer
	n, err := writePaymentsTable(&book, t.TempDir(), exportTable(paymentsExport, "Payments", paymentColumns), func(each func(Payment) error) error {
		for _, p := range payments {
			if err := each(p); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	return book.Bytes(), n
}

// achPayment is a payment sent whole; paypalPayment one sent as n items of
// 20,000.00 USD (the last 1,234.56), in EUR, every 1,000th item returned
// (with a reason every other time).
func achPayment(id, cycle string) Payment {
	return Payment{PaymentID: id, Cycle: cycle, ScheduledDate: "2026-11-15", PaymentDate: "2026-11-16", Method: "ach", Rail: "ach",
		Destination: "*****1234", AmountUSD: "1234.56", Withheld: "0.00", Rate: "0", RateReason: "W-9 on file", Currency: "USD",
		AmountInCurrency: "1234.56", FXRate: "1", Status: "settled", Items: []PaymentItem{}}
}

func paypalPayment(id string, n int) Payment {
	p := Payment{PaymentID: id, Cycle: "2026-11", ScheduledDate: "2026-12-15", PaymentDate: "2026-12-15", Method: "paypal", Rail: "paypal",
		Destination: "publisher@example.com", Withheld: "12.34", Rate: "0.3", RateReason: "no treaty benefit claimed", Currency: "EUR",
		FXRate: "0.91", Status: "sent", Items: []PaymentItem{}}
	var usd, eur, returned decimal.Decimal
	for i := 1; i <= n; i++ {
		item := PaymentItem{ItemID: fmt.Sprintf("%s-%d", id, i), AmountUSD: "20000.00", AmountInCurrency: "18200.00"}
		if i == n {
			item.AmountUSD, item.AmountInCurrency = "1234.56", "1123.44"
		}
		if i%1000 == 0 {
			item.Returned = true
			if i%2000 == 0 {
				item.ReturnReason = "RETURNED"
			}
		}
		usd = usd.Add(decimal.RequireFromString(item.AmountUSD))
		eur = eur.Add(decimal.RequireFromString(item.AmountInCurrency))
		if item.Returned {
			returned = returned.Add(decimal.RequireFromString(item.AmountUSD))
		}
		p.Items = append(p.Items, item)
	}
	p.AmountUSD, p.AmountInCurrency = usd.StringFixed(2), eur.StringFixed(2)
	if returned.IsPositive() {
		p.Status, p.ReturnedUSD, p.ReturnReason = "returned", returned.StringFixed(2), "RETURNED"
	}
	return p
}

// sheetRow is one row read back: its cells' raw values and its height.
type sheetRow struct {
	cells  []string
	height float64
}

func readPayments(t *testing.T, book []byte) []sheetRow {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payments.xlsx")
	require.NoError(t, os.WriteFile(path, book, 0o600))
	f, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	values, err := f.GetRows("Payments", excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	rows := make([]sheetRow, len(values))
	for i, cells := range values {
		height, err := f.GetRowHeight("Payments", i+1)
		require.NoError(t, err)
		rows[i] = sheetRow{cells: append(cells, make([]string, len(paymentColumns)-len(cells))...), height: height}
	}
	return rows
}

// The payments workbook holds a PayPal payment of 15,000 items (PayPal's
// batch limit) between two payments sent whole: every item, in order, in
// rows that each show their whole text (at most 27 lines of 15 points:
// 405, under Excel's 409) and hold at most 32,767 characters, cut only
// between items and as full as a row allows. The continuation rows repeat
// the Payment ID and nothing else, so each amount column sums to the
// payments' amounts once; the export counts 3 payments, and the CSV keeps
// one row per payment with the list whole.
func TestPaymentsWorkbookHoldsAPaymentOf15000Items(t *testing.T) {
	big := paypalPayment(payout.PaymentID(november, 42), paypal.BatchLimit)
	payments := []Payment{achPayment("ACH-2026-10-0000001", "2026-10"), big, achPayment("ACH-2026-11-0000002", "2026-11")}
	started := time.Now()
	book, counted := writePayments(t, payments)
	t.Logf("%d items: %d bytes in %s", len(big.Items), len(book), time.Since(started).Round(time.Millisecond))
	require.EqualValues(t, 3, counted, "payments, not rows")

	rows := readPayments(t, book)
	require.Equal(t, []string{"Payment ID", "Cycle", "Scheduled payment date", "Payment date", "Method", "Rail", "Destination",
		"Amount (USD)", "Withheld (USD)", "Rate", "Rate reason", "Currency", "Amount in currency", "FX rate", "Status",
		"Returned (USD)", "Return reason", "Items"}, rows[0].cells)
	data := rows[1:]
	require.Equal(t, payments[0].PaymentID, data[0].cells[0])
	require.Equal(t, payments[2].PaymentID, data[len(data)-1].cells[0])
	bigRows := data[1 : len(data)-1]
	t.Logf("%d rows for the payment", len(bigRows))
	require.Greater(t, len(bigRows), 1)

	var items strings.Builder
	for i, row := range data {
		require.LessOrEqual(t, row.height, float64(reports.ExcelMaxRowHeight), "row %d", i+2)
		require.LessOrEqual(t, row.height, float64(15*reports.TableRowLines), "row %d shows its whole text", i+2)
		for c, cell := range row.cells {
			require.LessOrEqual(t, utf16Len(cell), reports.ExcelMaxCellChars, "row %d column %d", i+2, c+1)
		}
	}
	for i, row := range bigRows {
		require.Equal(t, big.PaymentID, row.cells[0], "row %d", i+3)
		if i > 0 { // a continuation: Payment ID and Items only
			for c, cell := range row.cells {
				if c != 0 && c != paymentItems {
					require.Empty(t, cell, "continuation row %d column %s", i+3, paymentColumns[c].name)
				}
			}
		}
		items.WriteString(row.cells[paymentItems])
	}
	require.Equal(t, itemsText(big), items.String(), "the rows' Items, joined, are the list exactly")
	require.Equal(t, []string{big.Cycle, "paypal", "EUR", "returned"},
		[]string{bigRows[0].cells[1], bigRows[0].cells[4], bigRows[0].cells[11], bigRows[0].cells[14]}, "the payment's own row is whole")

	// Cut only between items, each piece as full as a row allows: the next
	// item would not have fitted.
	texts := itemTexts(big)
	next := 0
	for i, row := range bigRows {
		piece := row.cells[paymentItems]
		last := i == len(bigRows)-1
		require.Equal(t, !last, strings.HasSuffix(piece, itemsSeparator), "row %d ends after an item's separator", i+3)
		for _, item := range strings.Split(strings.TrimSuffix(piece, itemsSeparator), itemsSeparator) {
			require.Equal(t, texts[next], item, "row %d: whole items in order", i+3)
			next++
		}
		if !last {
			require.False(t, fitsItemsRow(piece+texts[next]+itemsSeparator), "row %d: the next item did not fit", i+3)
		}
	}
	require.Equal(t, len(texts), next)

	// Every amount column sums to the payments' amounts, each once.
	for _, column := range []struct {
		index int
		value func(Payment) string
	}{
		{7, func(p Payment) string { return p.AmountUSD }},
		{8, func(p Payment) string { return p.Withheld }},
		{9, func(p Payment) string { return p.Rate }},
		{12, func(p Payment) string { return p.AmountInCurrency }},
		{13, func(p Payment) string { return p.FXRate }},
		{15, func(p Payment) string { return p.ReturnedUSD }},
	} {
		require.NotEqual(t, reports.TextColumn, paymentColumns[column.index].kind, paymentColumns[column.index].name)
		var want, sheet, payment decimal.Decimal
		for _, p := range payments {
			if v := column.value(p); v != "" {
				want = want.Add(decimal.RequireFromString(v))
			}
		}
		for i, row := range data {
			if cell := row.cells[column.index]; cell != "" {
				v, err := decimal.NewFromString(cell)
				require.NoError(t, err, "row %d %s", i+2, paymentColumns[column.index].name)
				sheet = sheet.Add(v)
				if row.cells[0] == big.PaymentID {
					payment = payment.Add(v)
				}
			}
		}
		require.True(t, want.Equal(sheet), "%s: the sheet sums %s, the payments %s", paymentColumns[column.index].name, sheet, want)
		if v := column.value(big); v != "" {
			require.True(t, decimal.RequireFromString(v).Equal(payment), "%s of %s once: %s", paymentColumns[column.index].name, big.PaymentID, payment)
		}
	}
	require.True(t, decimal.RequireFromString(big.AmountUSD).Equal(decimal.New(int64(paypal.BatchLimit-1)*20000_00+1234_56, -2)))

	// The CSV: one row per payment, the list whole in its cell.
	record := paymentRecord(big)
	require.Len(t, record, len(PaymentColumns))
	require.Equal(t, itemsText(big), record[paymentItems])
}

// Payments whose items one row shows are written as they were before
// continuation rows existed: the same bytes as one paymentCells row per
// payment; the first list too long for a row continues (issue 23).
func TestPaymentsWorkbookOfShortListsIsOneRowPerPayment(t *testing.T) {
	require.Equal(t, "items", paymentColumns[paymentItems].name)
	require.Equal(t, reports.TableColumn{Header: "Items", Prose: true}, itemsColumn)

	// listOf is a PayPal payment of n items, its second one returned;
	// fits is the most items that one row shows.
	listOf := func(n int) Payment {
		p := paypalPayment(payout.PaymentID(november, int64(n)), n)
		if n > 1 {
			p.Items[1].Returned, p.Items[1].ReturnReason = true, "UNCLAIMED"
		}
		return p
	}
	fits := 0
	for fitsItemsRow(itemsText(listOf(fits + 1))) {
		fits++
	}
	t.Logf("one row shows %d items", fits)
	require.Greater(t, fits, 15)

	payments := []Payment{achPayment("ACH-1", "2026-10")}
	for _, n := range []int{1, 2, 5, fits} {
		payments = append(payments, listOf(n))
	}
	payments = append(payments, Payment{PaymentID: "SEPA-1", Cycle: "2026-11", Method: "sepa", Rail: "sepa", AmountUSD: "50.00",
		Withheld: "0.00", Rate: "0", Currency: "JPY", AmountInCurrency: "7000", FXRate: "140.5", Status: "sent", Items: []PaymentItem{}})

	book, counted := writePayments(t, payments)
	require.EqualValues(t, len(payments), counted)
	var oneRowEach bytes.Buffer
	require.NoError(t, reports.WriteTable(&oneRowEach, t.TempDir(), exportTable(paymentsExport, "Payments", paymentColumns),
		func(yield func([]any) error) error {
			for _, p := range payments {
				cells, err := paymentCells(p)
				if err != nil {
					return err
				}
				if err := yield(cells); err != nil {
					return err
				}
			}
			return nil
		}))
	require.True(t, bytes.Equal(oneRowEach.Bytes(), book), "the same bytes as one row per payment")
	rows := readPayments(t, book)
	require.Len(t, rows, len(payments)+1)
	require.Equal(t, itemsText(payments[len(payments)-2]), rows[len(rows)-2].cells[paymentItems])

	// One item more continues in a second row.
	longer := listOf(fits + 1)
	book, _ = writePayments(t, []Payment{longer})
	rows = readPayments(t, book)
	require.Len(t, rows, 3)
	require.Equal(t, []string{longer.PaymentID, longer.PaymentID}, []string{rows[1].cells[0], rows[2].cells[0]})
	require.Equal(t, itemsText(longer), rows[1].cells[paymentItems]+rows[2].cells[paymentItems])
}

// An item too long for a row by itself (PayPal's reason is free text) is a
// row of its own, whole; one longer than a cell holds is cut between
// characters into full cells, never inside a character outside the Basic
// Multilingual Plane (two UTF-16 units).
func TestItemPiecesOfOversizedItems(t *testing.T) {
	require.Equal(t, []string{""}, itemPieces(nil))
	require.Equal(t, []string{"A 1.00 USD 1.00 USD"}, itemPieces([]string{"A 1.00 USD 1.00 USD"}))

	long := "B 1.00 USD 1.00 USD returned (" + strings.Repeat("a reason of many words ", 200) + ")" // > 27 lines, < a cell
	huge := "C 1.00 USD 1.00 USD returned (" + strings.Repeat("x😀", 12_000) + ")"                   // 36,031 UTF-16 units
	require.False(t, fitsItemsRow(long))
	require.Less(t, utf16Len(long), reports.ExcelMaxCellChars)
	require.Greater(t, utf16Len(huge), reports.ExcelMaxCellChars)
	items := []string{"A 1.00 USD 1.00 USD", long, "D 2.00 USD 2.00 USD", huge, "E 3.00 USD 3.00 USD"}
	pieces := itemPieces(items)
	require.Equal(t, strings.Join(items, itemsSeparator), strings.Join(pieces, ""))
	require.Equal(t, []string{"A 1.00 USD 1.00 USD; ", long + "; ", "D 2.00 USD 2.00 USD; "}, pieces[:3])
	require.Len(t, pieces, 6)
	require.Equal(t, "E 3.00 USD 3.00 USD", pieces[5])
	for _, piece := range pieces[3:5] {
		require.LessOrEqual(t, utf16Len(piece), reports.ExcelMaxCellChars)
		require.True(t, strings.ToValidUTF8(piece, "?") == piece, "no character cut in half")
	}
	require.GreaterOrEqual(t, utf16Len(pieces[3]), reports.ExcelMaxCellChars-1, "as full as a cell holds")

	// Written: the oversized items' rows are as tall as a row can be; the
	// others show their whole text.
	p := Payment{PaymentID: "PP-9", Cycle: "2026-11", Method: "paypal", AmountUSD: "6.00", Currency: "USD", Status: "sent"}
	for i := range 5 {
		p.Items = append(p.Items, PaymentItem{ItemID: fmt.Sprintf("PP-9-%d", i+1), AmountUSD: "1.00", AmountInCurrency: "1.00"})
	}
	p.Items[1].Returned, p.Items[1].ReturnReason = true, strings.Repeat("a reason of many words ", 200)
	p.Items[3].Returned, p.Items[3].ReturnReason = true, strings.Repeat("x😀", 12_000)
	book, _ := writePayments(t, []Payment{p})
	rows := readPayments(t, book)
	var joined strings.Builder
	for _, row := range rows[1:] {
		require.LessOrEqual(t, row.height, float64(reports.ExcelMaxRowHeight))
		joined.WriteString(row.cells[paymentItems])
	}
	require.Equal(t, itemsText(p), joined.String())
	require.Len(t, rows, 1+6, "a header; A, the long item, D, the huge item in two cells, E")
}

// itemPieces of any list: joined, the list; each piece fits a row or is a
// single item (or a cell's worth of one) too long for one; cut after an
// item's separator.
func TestItemPiecesProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		items := rapid.SliceOfN(rapid.StringMatching(`[A-Z]{2}-[0-9]{1,6} [0-9]{1,5}\.[0-9]{2} USD( returned \([a-z ]{0,80}\))?`), 0, 400).Draw(t, "items")
		pieces := itemPieces(items)
		require.Equal(t, strings.Join(items, itemsSeparator), strings.Join(pieces, ""))
		if len(items) == 0 {
			require.Equal(t, []string{""}, pieces)
			return
		}
		start := 0
		for i, piece := range pieces {
			n := len(strings.Split(piece, itemsSeparator))
			if i < len(pieces)-1 {
				require.True(t, strings.HasSuffix(piece, itemsSeparator), "piece %d ends after an item", i)
				n--
			}
			require.True(t, fitsItemsRow(piece) || n == 1, "piece %d fits a row or is one item", i)
			require.Equal(t, strings.Join(items[start:start+n], itemsSeparator), strings.TrimSuffix(piece, itemsSeparator), "piece %d", i)
			start += n
		}
		require.Equal(t, len(items), start)
	})
}
