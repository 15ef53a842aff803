package reports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/money"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// Earnings line statuses as a publisher sees them (SPEC §2).
const (
	LineUnprocessed = "unprocessed"
	LineReserved    = "reserved"
	LineProcessed   = "processed"
	LineSent        = "sent"
	LineReturned    = "returned"
)

// MaxStatementPayoutUSLines bounds the US-sourced lines of one payout that a
// statement allocates withholding over: the allocation holds one amount per
// such line in memory (about 60 bytes each, so at most ~60 MB). Five
// million US sales in one month is far beyond any publisher payrun pays;
// reaching it is refused with ErrStatementTooLarge rather than risking the
// process.
const MaxStatementPayoutUSLines = 5_000_000

// ErrStatementTooLarge is returned for a payout with more than
// MaxStatementPayoutUSLines US-sourced lines.
var ErrStatementTooLarge = errors.New("statement too large")

// ErrLinesChanged is returned when a statement's lines differ between the
// two passes over them (the stream must be repeatable).
var ErrLinesChanged = errors.New("statement lines changed between passes")

// ErrUnallocatable is returned when a payout's withholding cannot be spread
// over its US-sourced lines (withheld but no positive US line, or a negative
// or sub-cent withholding).
var ErrUnallocatable = errors.New("withholding cannot be allocated over the payout's US-sourced lines")

// StatementHeader is the head of one publisher's statement for one cycle.
type StatementHeader struct {
	SellerID    string
	DisplayName string
	Month       string // cycle, "2026-11"
	Cutoff      time.Time
	PaymentDate time.Time
	// Status is what the cycle decided: "paid", "held" or "carried", with
	// every failing check in Reasons.
	Status  string
	Reasons []string
	// Payout is the cycle's payout to the publisher; nil when none was made.
	// Its Withheld is allocated over the US-sourced lines whose PaymentID is
	// Payout.PaymentID.
	Payout *PayoutRow
	// PaymentStatus is the payout's state: processed, sent or returned.
	PaymentStatus string
	// GeneratedAt is shown on the statement (passed in: no clock here).
	GeneratedAt time.Time
}

// StatementLine is one earnings line considered for the statement.
type StatementLine struct {
	RevenueSource   string
	TransactionID   string
	TransactionAt   time.Time
	Market          string // "US" makes the line US-sourced
	TransactionType string
	Amount          decimal.Decimal
	EligibleAt      time.Time
	Status          string // LineUnprocessed ... LineReturned
	// PaymentID is the payout that consumed the line; "" while unpaid.
	PaymentID string
}

// StatementLines streams a statement's lines. WriteStatement reads it twice
// (first the payout's US-sourced amounts, to allocate the withholding; then
// every line, to write it), and both passes must yield the same lines in
// the same order.
type StatementLines = Rows[StatementLine]

// AllocateWithholding spreads a payout's withheld amount (whole cents) over
// its US-sourced lines by the largest-remainder method (money.Allocate),
// weighting each line by its amount when positive and by 0 otherwise:
// refunds and other negative lines get 0. The parts sum exactly to
// withheld, none is negative, and each is its exact proportional share
// rounded down or up by less than a cent.
//
// It returns nil when withheld cannot be allocated: withheld negative or
// not whole cents, or non-zero with no positive amount to carry it.
func AllocateWithholding(withheld decimal.Decimal, usAmounts []decimal.Decimal) []decimal.Decimal {
	if withheld.IsNegative() || !withheld.Equal(withheld.Round(money.CentScale)) {
		return nil
	}
	weights := make([]decimal.Decimal, len(usAmounts))
	anyPositive := false
	for i, amount := range usAmounts {
		weights[i] = decimal.Zero
		if amount.IsPositive() {
			weights[i] = amount
			anyPositive = true
		}
	}
	if !anyPositive {
		if !withheld.IsZero() {
			return nil
		}
		return weights // all zero
	}
	return money.Allocate(withheld, weights, money.CentScale)
}

var statementColumns = []column{
	{header: "Revenue source", width: 14},
	{header: "Transaction ID", width: 24},
	{header: "Transaction date (UTC)", width: 20, kind: kindTime},
	{header: "Market", width: 8},
	{header: "Transaction type", width: 14},
	{header: "Amount (USD)", width: 16, kind: kindBalance, total: true},
	{header: "Eligible at (UTC)", width: 20, kind: kindTime},
	{header: "Status", width: 12},
	{header: "Withheld (USD)", width: 14, kind: kindUSD, total: true},
	{header: "Payment ID", width: 22},
}

// Sheet names of the statement workbook.
const (
	SheetStatement = "Statement"
	SheetLines     = "Lines"
)

// WriteStatement writes one publisher's statement for one cycle: an xlsx
// workbook at xlsxPath (sheet Statement: header and payment summary; sheet
// Lines: every earnings line with its status and its share of the
// withholding, in parts beyond MaxSheetRows) and the lines as CSV at
// csvPath. Either path may be "" to skip that file. Both files appear
// atomically, and only if both could be written.
//
// Errors: ErrUnallocatable, ErrStatementTooLarge, ErrLinesChanged,
// ErrFileExists, ErrTooManyRows, a stream's error (wrapped), or a file
// system error naming the path.
func WriteStatement(xlsxPath, csvPath string, header StatementHeader, lines StatementLines, opts ...Option) error {
	if xlsxPath == "" && csvPath == "" {
		return errors.New("reports: statement: no output path")
	}
	inPayout := func(l StatementLine) bool {
		return header.Payout != nil && l.PaymentID != "" && l.PaymentID == header.Payout.PaymentID
	}
	// Pass 1: the payout's US-sourced amounts.
	var usAmounts []decimal.Decimal
	err := lines.each(func(l StatementLine) error {
		if inPayout(l) && l.Market == "US" {
			if len(usAmounts) == MaxStatementPayoutUSLines {
				return fmt.Errorf("reports: statement of %s: more than %d US-sourced lines in payout %s: %w",
					header.SellerID, MaxStatementPayoutUSLines, header.Payout.PaymentID, ErrStatementTooLarge)
			}
			usAmounts = append(usAmounts, l.Amount)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reports: statement of %s: %w", header.SellerID, err)
	}
	var shares []decimal.Decimal
	withheld := decimal.Zero
	if header.Payout != nil {
		withheld = header.Payout.Withheld
		if shares = AllocateWithholding(withheld, usAmounts); shares == nil {
			return fmt.Errorf("reports: statement of %s: %w: withheld %s over %d US line(s)",
				header.SellerID, ErrUnallocatable, withheld, len(usAmounts))
		}
	}

	o := collectOptions(opts)
	var (
		book      *statementBook
		xlsxFile  *pendingFile
		csvFile   *pendingFile
		csvWriter *csv.Writer
	)
	if xlsxPath != "" {
		if xlsxFile, err = createPending(xlsxPath, o); err != nil {
			return err
		}
		defer xlsxFile.discard()
		if book, err = newStatementBook(header); err != nil {
			return err
		}
		defer func() { _ = book.f.Close() }()
	}
	if csvPath != "" {
		if csvFile, err = createPending(csvPath, o); err != nil {
			return err
		}
		defer csvFile.discard()
		csvWriter = csv.NewWriter(csvFile)
		if err := csvWriter.Write(columnHeaders(statementColumns)); err != nil {
			return err
		}
	}

	// Pass 2: every line.
	next := 0
	allocated := decimal.Zero
	err = lines.each(func(l StatementLine) error {
		var share *decimal.Decimal
		if inPayout(l) {
			zero := decimal.Zero
			share = &zero
			if l.Market == "US" {
				if next >= len(usAmounts) || !usAmounts[next].Equal(l.Amount) {
					return ErrLinesChanged
				}
				share = &shares[next]
				allocated = allocated.Add(*share)
				next++
			}
		}
		if book != nil {
			if err := book.addLine(l, share); err != nil {
				return err
			}
		}
		if csvWriter != nil {
			record := []string{
				csvText(l.RevenueSource), csvText(l.TransactionID), csvTime(l.TransactionAt), csvText(l.Market),
				csvText(l.TransactionType), l.Amount.StringFixed(money.LedgerScale), csvTime(l.EligibleAt),
				csvText(l.Status), "", csvText(l.PaymentID),
			}
			if share != nil {
				record[8] = share.StringFixed(money.CentScale)
			}
			return csvWriter.Write(record)
		}
		return nil
	})
	if err == nil && next != len(usAmounts) {
		err = ErrLinesChanged
	}
	if err != nil {
		return fmt.Errorf("reports: statement of %s: %w", header.SellerID, err)
	}
	if !allocated.Equal(withheld) { // cannot happen: AllocateWithholding sums exactly
		return fmt.Errorf("reports: statement of %s: lines carry %s withheld, payout %s", header.SellerID, allocated, withheld)
	}
	if book != nil {
		if err := book.finish(); err != nil {
			return err
		}
		if err := writeWorkbook(book.f, book.styles, xlsxFile, dirOf(xlsxPath)); err != nil {
			return fmt.Errorf("reports: write %s: %w", xlsxPath, err)
		}
	}
	if csvWriter != nil {
		csvWriter.Flush()
		if err := csvWriter.Error(); err != nil {
			return fmt.Errorf("reports: write %s: %w", csvPath, err)
		}
	}
	if xlsxFile != nil {
		if err := xlsxFile.commit(); err != nil {
			return err
		}
	}
	if csvFile != nil {
		return csvFile.commit()
	}
	return nil
}

// statementBook is the statement workbook being written.
type statementBook struct {
	f      *excelize.File
	styles *styles
	header StatementHeader
	lines  *streamedSheet
}

func newStatementBook(header StatementHeader) (*statementBook, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", SheetStatement); err != nil {
		_ = f.Close()
		return nil, err
	}
	st, err := newStyles(f)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	lines, err := newStreamedSheet(f, st, SheetLines, statementColumns)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &statementBook{f: f, styles: st, header: header, lines: lines}, nil
}

func (b *statementBook) addLine(l StatementLine, withheld *decimal.Decimal) error {
	var share any
	if withheld != nil {
		share = *withheld
	}
	return b.lines.add(l.RevenueSource, l.TransactionID, l.TransactionAt, l.Market, l.TransactionType,
		l.Amount, l.EligibleAt, l.Status, share, l.PaymentID)
}

// finish closes the Lines sheet and writes the Statement sheet: header and
// payment summary block.
func (b *statementBook) finish() error {
	if err := b.lines.close(); err != nil {
		return err
	}
	st, h := b.styles, b.header
	s := &summarySheet{f: b.f, styles: st, sheet: SheetStatement}
	text := func(v string) cellWithStyle { return cellWithStyle{value: v} }
	bold := func(v string) cellWithStyle { return cellWithStyle{value: v, style: st.bold} }
	section := func(v string) cellWithStyle { return cellWithStyle{value: v, style: st.section} }
	number := func(d decimal.Decimal, kind cellKind) cellWithStyle {
		return cellWithStyle{value: d.InexactFloat64(), style: st.column[kind]}
	}
	at := func(t time.Time, kind cellKind) cellWithStyle {
		if t.IsZero() {
			return cellWithStyle{}
		}
		return cellWithStyle{value: excelTime(t), style: st.column[kind]}
	}
	s.line(cellWithStyle{value: "Payout statement " + h.Month + " — " + h.DisplayName, style: st.title})
	s.row++
	s.line(bold("Seller ID"), text(h.SellerID))
	s.line(bold("Publisher"), text(h.DisplayName))
	s.line(bold("Payment month"), text(h.Month))
	s.line(bold("Cutoff (UTC)"), at(h.Cutoff, kindTime))
	s.line(bold("Payment date"), at(h.PaymentDate, kindDate))
	s.line(bold("Decision"), text(h.Status))
	s.line(bold("Reasons"), text(strings.Join(h.Reasons, "; ")))
	s.line(bold("Generated at (UTC)"), at(h.GeneratedAt, kindTime))
	s.row++
	s.line(section("Payment"), section(""))
	if p := h.Payout; p != nil {
		places, err := money.MinorUnit(p.Currency)
		if err != nil {
			return fmt.Errorf("reports: statement of %s: %w", h.SellerID, err)
		}
		s.line(text("Payment ID"), text(p.PaymentID))
		s.line(text("Payment status"), text(h.PaymentStatus))
		s.line(text("Method"), text(p.Method))
		s.line(text("Account"), text(p.MaskedAccount))
		s.line(text("Gross (USD)"), number(p.Gross, kindBalance))
		s.line(text("US-sourced base (USD)"), number(p.USBase, kindBalance))
		s.line(text("Withholding rate"), number(p.Rate, kindRate))
		s.line(text("Rate reason"), text(p.RateReason))
		s.line(text("Withheld (USD)"), number(p.Withheld, kindUSD))
		s.line(text("Paid (USD)"), number(p.PaidUSD, kindUSD))
		s.line(text("Remainder carried (USD)"), number(p.Gross.Sub(p.Withheld).Sub(p.PaidUSD), kindBalance))
		s.line(text("Payout currency"), text(p.Currency))
		s.line(text("FX rate"), number(p.FXRate, kindFX))
		s.line(text("Paid (payout currency)"), cellWithStyle{value: p.PaidInCurrency.InexactFloat64(), style: st.minor[places]})
	} else {
		s.line(text("No payment this cycle"), text(strings.Join(h.Reasons, "; ")))
	}
	s.row++
	s.line(section("Lines"), section(""))
	s.line(text("Earnings lines listed"), cellWithStyle{value: b.lines.rows, style: st.column[kindCount]})
	s.line(text("Sum of amounts (USD)"), number(b.lines.sum(5), kindBalance))
	s.line(text("Sum of withheld (USD)"), number(b.lines.sum(8), kindUSD))
	if s.err != nil {
		return fmt.Errorf("reports: statement: %w", s.err)
	}
	if err := b.f.SetColWidth(SheetStatement, "A", "A", 26); err != nil {
		return err
	}
	if err := b.f.SetColWidth(SheetStatement, "B", "B", 28); err != nil {
		return err
	}
	// The first sheet is active from NewFile on; SetActiveSheet would read
	// every streamed sheet back into memory (slow under excelize's 16 MiB
	// in-memory stream limit).
	created := h.GeneratedAt.UTC().Format(time.RFC3339)
	return b.f.SetDocProps(&excelize.DocProperties{Creator: "payrun", Title: "Payout statement " + h.Month + " " + h.SellerID,
		Created: created, Modified: created})
}
