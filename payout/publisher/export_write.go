package publisher

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/reports"
)

// exportColumn is one column of an export: the JSON field it shows (the CSV
// header) and its title and kind in the workbook.
type exportColumn struct {
	name  string
	title string
	kind  reports.ColumnKind
	prose bool
}

// TransactionColumns and PaymentColumns are the exports' CSV headers: the
// JSON fields of Transaction and Payment, in order (a payment's items in
// one column, see itemsText).
var (
	TransactionColumns = columnNames(transactionColumns)
	PaymentColumns     = columnNames(paymentColumns)
)

var transactionColumns = []exportColumn{
	{name: "transaction_id", title: "Transaction ID"},
	{name: "revenue_source", title: "Revenue source"},
	{name: "transaction_type", title: "Type"},
	{name: "market", title: "Market"},
	{name: "us_sourced", title: "US-sourced"},
	{name: "transaction_at", title: "Transaction at (UTC)", kind: reports.TimeColumn},
	{name: "eligible_at", title: "Eligible at (UTC)", kind: reports.TimeColumn},
	{name: "available_at", title: "Available at (UTC)", kind: reports.TimeColumn},
	{name: "amount", title: "Amount (USD)", kind: reports.USDColumn},
	{name: "state", title: "State"},
	{name: "cycle", title: "Cycle"},
	{name: "payment_id", title: "Payment ID"},
	{name: "withheld", title: "Withheld (USD)", kind: reports.USDColumn},
}

var paymentColumns = []exportColumn{
	{name: "payment_id", title: "Payment ID"},
	{name: "cycle", title: "Cycle"},
	{name: "scheduled_payment_date", title: "Scheduled payment date", kind: reports.DateColumn},
	{name: "payment_date", title: "Payment date", kind: reports.DateColumn},
	{name: "method", title: "Method"},
	{name: "rail", title: "Rail"},
	{name: "destination", title: "Destination"},
	{name: "amount_usd", title: "Amount (USD)", kind: reports.USDColumn},
	{name: "withheld", title: "Withheld (USD)", kind: reports.USDColumn},
	{name: "rate", title: "Rate", kind: reports.RateColumn},
	{name: "rate_reason", title: "Rate reason", prose: true},
	{name: "currency", title: "Currency"},
	{name: "amount_in_currency", title: "Amount in currency", kind: reports.MinorColumn},
	{name: "fx_rate", title: "FX rate", kind: reports.FXColumn},
	{name: "status", title: "Status"},
	{name: "returned_usd", title: "Returned (USD)", kind: reports.USDColumn},
	{name: "return_reason", title: "Return reason", prose: true},
	{name: "items", title: "Items", prose: true},
}

func columnNames(columns []exportColumn) []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

func tableColumns(columns []exportColumn) []reports.TableColumn {
	table := make([]reports.TableColumn, len(columns))
	for i, c := range columns {
		table[i] = reports.TableColumn{Header: c.title, Kind: c.kind, Prose: c.prose}
	}
	return table
}

// writeRows streams e's rows to w in e's format and returns how many it
// wrote; a workbook spools in spoolDir.
func (s *Service) writeRows(ctx context.Context, e Export, w io.Writer, spoolDir string) (int64, error) {
	var rows int64
	switch {
	case e.Kind == ExportTransactions && e.Format == ExportCSV:
		return rows, writeCSV(w, TransactionColumns, func(write func([]string) error) error {
			return s.EachTransaction(ctx, e.accountID, e.From, e.To, e.CreatedAt, func(t Transaction) error {
				rows++
				return write(transactionRecord(t))
			})
		})
	case e.Kind == ExportTransactions && e.Format == ExportXLSX:
		return rows, reports.WriteTable(w, spoolDir, exportTable(e, "Transactions", transactionColumns), func(yield func([]any) error) error {
			return s.EachTransaction(ctx, e.accountID, e.From, e.To, e.CreatedAt, func(t Transaction) error {
				cells, err := transactionCells(t)
				if err != nil {
					return err
				}
				rows++
				return yield(cells)
			})
		})
	case e.Kind == ExportPayments && e.Format == ExportCSV:
		return rows, writeCSV(w, PaymentColumns, func(write func([]string) error) error {
			return s.EachPayment(ctx, e.accountID, e.From, e.To, func(p Payment) error {
				rows++
				return write(paymentRecord(p))
			})
		})
	case e.Kind == ExportPayments && e.Format == ExportXLSX:
		return writePaymentsTable(w, spoolDir, exportTable(e, "Payments", paymentColumns), func(each func(Payment) error) error {
			return s.EachPayment(ctx, e.accountID, e.From, e.To, each)
		})
	}
	return 0, fmt.Errorf("publisher: no writer for %s as %s", e.Kind, e.Format)
}

// exportTable is the workbook of export e: one sheet, created when the
// export was (the same rows give the same bytes).
func exportTable(e Export, sheet string, columns []exportColumn) reports.Table {
	return reports.Table{Sheet: sheet, Document: fmt.Sprintf("%s %s %s to %s", e.SellerID, strings.ToLower(sheet), e.From, e.To),
		Created: e.CreatedAt, Columns: tableColumns(columns)}
}

// writeCSV writes a header and the records stream gives to w, as every
// payrun CSV: RFC 4180 (encoding/csv), UTF-8, LF line ends. The records'
// text fields must already be neutralised (reports.CSVText); amounts are
// plain decimals.
func writeCSV(w io.Writer, header []string, stream func(write func([]string) error) error) error {
	out := csv.NewWriter(w)
	if err := out.Write(header); err != nil {
		return err
	}
	if err := stream(out.Write); err != nil {
		return err
	}
	out.Flush()
	return out.Error()
}

// csvTime is a time as its JSON shows it (RFC 3339, UTC).
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// transactionRecord is t's CSV record: its JSON fields, text neutralised
// (a value starting with = + - @ gets a leading apostrophe).
func transactionRecord(t Transaction) []string {
	text := reports.CSVText
	return []string{text(t.TransactionID), text(t.RevenueSource), text(t.TransactionType), text(t.Market),
		strconv.FormatBool(t.USSourced), csvTime(t.TransactionAt), csvTime(t.EligibleAt), csvTime(t.AvailableAt),
		t.Amount, text(t.State), text(t.Cycle), text(t.PaymentID), t.Withheld}
}

// transactionCells is t's workbook row: amounts as numbers, times as dates.
func transactionCells(t Transaction) ([]any, error) {
	amount, err := cellAmount(t.Amount)
	if err != nil {
		return nil, err
	}
	withheld, err := cellAmount(t.Withheld)
	if err != nil {
		return nil, err
	}
	return []any{t.TransactionID, t.RevenueSource, t.TransactionType, t.Market, t.USSourced, t.TransactionAt, t.EligibleAt,
		t.AvailableAt, amount, t.State, t.Cycle, t.PaymentID, withheld}, nil
}

// paymentRecord is p's CSV record (items in one column: itemsText).
func paymentRecord(p Payment) []string {
	text := reports.CSVText
	return []string{text(p.PaymentID), text(p.Cycle), p.ScheduledDate, p.PaymentDate, text(p.Method), text(p.Rail),
		text(p.Destination), p.AmountUSD, p.Withheld, p.Rate, text(p.RateReason), text(p.Currency), p.AmountInCurrency,
		p.FXRate, text(p.Status), p.ReturnedUSD, text(p.ReturnReason), text(itemsText(p))}
}

// paymentCells is p's workbook row.
func paymentCells(p Payment) ([]any, error) {
	var err error
	amount := func(s string) any {
		if err != nil {
			return nil
		}
		var v any
		v, err = cellAmount(s)
		return v
	}
	scheduled, paid := cellDate(p.ScheduledDate, &err), cellDate(p.PaymentDate, &err)
	cells := []any{p.PaymentID, p.Cycle, scheduled, paid, p.Method, p.Rail, p.Destination, amount(p.AmountUSD),
		amount(p.Withheld), amount(p.Rate), p.RateReason, p.Currency, nil, amount(p.FXRate), p.Status,
		amount(p.ReturnedUSD), p.ReturnReason, itemsText(p)}
	if p.AmountInCurrency != "" && err == nil {
		var inCurrency decimal.Decimal
		if inCurrency, err = decimal.NewFromString(p.AmountInCurrency); err == nil {
			places := int32(0)
			if dot := strings.IndexByte(p.AmountInCurrency, '.'); dot >= 0 {
				places = int32(len(p.AmountInCurrency) - dot - 1)
			}
			cells[12] = reports.MinorAmount(inCurrency, places)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("payment %s: %w", p.PaymentID, err)
	}
	return cells, nil
}

// itemsText is a payment's items in one cell: "ITEM USD CURRENCY" each,
// "returned (reason)" after a returned one, joined by "; ". Empty for a
// payment sent whole. The CSV holds it whole; the workbook continues it in
// rows below the payment's when one row cannot show it (paymentRows).
func itemsText(p Payment) string {
	return strings.Join(itemTexts(p), itemsSeparator)
}

// itemsSeparator separates a payment's items in itemsText.
const itemsSeparator = "; "

// itemTexts is each of p's items as itemsText shows it, in order.
func itemTexts(p Payment) []string {
	parts := make([]string, len(p.Items))
	for i, item := range p.Items {
		part := fmt.Sprintf("%s %s USD %s %s", item.ItemID, item.AmountUSD, item.AmountInCurrency, p.Currency)
		if item.Returned {
			part += " returned"
			if item.ReturnReason != "" {
				part += " (" + item.ReturnReason + ")"
			}
		}
		parts[i] = part
	}
	return parts
}

// cellAmount is an amount string as a workbook number; empty stays empty.
func cellAmount(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return nil, fmt.Errorf("amount %q: %w", s, err)
	}
	return d, nil
}

// cellDate is a "YYYY-MM-DD" date as a workbook date; empty stays empty.
func cellDate(s string, err *error) any {
	if s == "" || *err != nil {
		return nil
	}
	t, parseErr := time.Parse(time.DateOnly, s)
	if parseErr != nil {
		*err = fmt.Errorf("date %q: %w", s, parseErr)
		return nil
	}
	return t
}
