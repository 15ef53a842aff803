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
	// SettlementDate, when set and not PaymentDate, is the date the
	// cycle's files settle on after a release on or after the payment date
	// (payout.SettlementDate): shown as "Settles on (released late)".
	SettlementDate *time.Time
	// Items are the PayPal items of a payment above PayPal's per-item
	// maximum, which went out as several items; shown under the payment,
	// which stays one payment. Empty for every other payment.
	Items []StatementItem
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

// StatementItem is one PayPal item of a payment sent as several items:
// its sender_item_id, its amount in the payout currency, its USD share and
// whether it came back (a return of one item credits back that item alone).
type StatementItem struct {
	ItemID    string
	Amount    decimal.Decimal
	AmountUSD decimal.Decimal
	Returned  bool
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
	{header: "Revenue source"},
	{header: "Transaction ID"},
	{header: "Transaction date (UTC)", kind: kindTime},
	{header: "Market"},
	{header: "Transaction type"},
	{header: "Amount (USD)", kind: kindUSD, total: true},
	{header: "Eligible at (UTC)", kind: kindTime},
	{header: "Status"},
	{header: "Withheld (USD)", kind: kindUSD, total: true},
	{header: "Payment ID"},
}

const (
	lineTransaction = 1
	lineAmount      = 5
	lineWithheld    = 8
)

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
	st.document = "Payout statement " + header.Month + " " + header.SellerID
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

// finish closes the Lines sheet and writes the Statement sheet: header,
// payment summary block and the lines' sums, formulas over the Lines sheet
// checked against the payout.
func (b *statementBook) finish() error {
	if err := b.lines.close(); err != nil {
		return err
	}
	st, h := b.styles, b.header
	g := newGridSheet(b.f, st, SheetStatement)
	g.wrapAt[1] = 60
	title := "Payout statement " + h.Month + " — " + h.DisplayName
	g.line(gridCell{value: title, style: st.title, spill: true})
	g.style[1] = excelize.RowOpts{Height: 20}
	g.blank()
	g.line(g.bold("Seller ID"), g.text(h.SellerID))
	g.line(g.bold("Publisher"), g.text(h.DisplayName))
	g.line(g.bold("Payment month"), g.text(h.Month))
	g.line(g.bold("Cutoff (UTC)"), g.when(&h.Cutoff, kindTime))
	g.line(g.bold("Payment date"), g.when(&h.PaymentDate, kindDate))
	if h.SettlementDate != nil && !h.SettlementDate.Equal(h.PaymentDate) {
		g.line(g.bold("Settles on (released late)"), g.when(h.SettlementDate, kindDate))
	}
	g.line(g.bold("Decision"), g.text(h.Status))
	g.line(g.bold("Reasons"), g.text(strings.Join(h.Reasons, "; ")))
	g.line(g.bold("Generated at (UTC)"), g.when(&h.GeneratedAt, kindTime))
	g.blank()
	g.line(g.section("Payment"), g.section(""))
	withheldRow := 0
	withheld := decimal.Zero
	if p := h.Payout; p != nil {
		places, err := money.MinorUnit(p.Currency)
		if err != nil {
			return fmt.Errorf("reports: statement of %s: %w", h.SellerID, err)
		}
		withheld = p.Withheld
		g.line(g.text("Payment ID"), g.text(p.PaymentID))
		g.line(g.text("Payment status"), g.text(h.PaymentStatus))
		g.line(g.text("Method"), g.text(p.Method))
		g.line(g.text("Account"), g.text(p.MaskedAccount))
		g.line(g.text("Gross (USD)"), g.amount(p.Gross, kindUSD, ""))
		g.line(g.text("US-sourced base (USD)"), g.amount(p.USBase, kindUSD, ""))
		g.line(g.text("Withholding rate"), g.amount(p.Rate, kindRate, ""))
		g.line(g.text("Rate reason"), g.text(p.RateReason))
		withheldRow = g.line(g.text("Withheld (USD)"), g.amount(p.Withheld, kindUSD, ""))
		g.line(g.text("Paid (USD)"), g.amount(p.PaidUSD, kindUSD, ""))
		g.line(g.text("Remainder carried (USD)"), g.amount(p.Gross.Sub(p.Withheld).Sub(p.PaidUSD), kindSubCent, ""))
		g.line(g.text("Payout currency"), g.text(p.Currency))
		g.line(g.text("FX rate"), g.amount(p.FXRate, kindFX, ""))
		g.line(g.text("Paid (payout currency)"), g.minor(p.PaidInCurrency, places, ""))
		for _, item := range h.Items {
			label := "PayPal item " + item.ItemID
			if item.Returned {
				label += " (returned)"
			}
			g.line(g.text(label), g.minor(item.Amount, places, ""))
		}
	} else {
		g.line(g.text("No payment this cycle"), g.text(strings.Join(h.Reasons, "; ")))
	}
	g.blank()
	lines := b.lines
	g.line(g.section("Lines"), g.section(""))
	g.line(g.text("Earnings lines listed"), g.count(int(lines.rows), "COUNTA("+lines.ranges(lineTransaction)+")"))
	g.line(g.text("Sum of amounts (USD)"), g.amount(lines.sum(lineAmount), kindUSD, "SUM("+lines.ranges(lineAmount)+")"))
	sumRow := g.line(g.text("Sum of withheld (USD)"), g.amount(lines.sum(lineWithheld), kindUSD, "SUM("+lines.ranges(lineWithheld)+")"))
	if withheldRow > 0 {
		pass := lines.sum(lineWithheld).Sub(withheld).Abs().LessThan(decimal.RequireFromString(centTolerance))
		row := g.line(g.text("Check: lines' withheld = payout's withheld"),
			g.result(pass, fmt.Sprintf(`IF(ABS(%s-%s)<%s,"PASS","FAIL")`, cellRef(1, sumRow), cellRef(1, withheldRow), centTolerance)))
		g.results = append(g.results, [2]int{1, row})
	}
	if err := g.write(); err != nil {
		return err
	}
	// The first sheet is active from NewFile on; SetActiveSheet would read
	// every streamed sheet back into memory (slow under excelize's 16 MiB
	// in-memory stream limit).
	created := h.GeneratedAt.UTC().Format(time.RFC3339)
	return b.f.SetDocProps(&excelize.DocProperties{Creator: "payrun", Title: "Payout statement " + h.Month + " " + h.SellerID,
		Created: created, Modified: created})
}
