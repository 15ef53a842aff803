package reports

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/payout"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// Sheet names of the cycle workbook, in order.
const (
	SheetSummary     = "Summary"
	SheetPayouts     = "Payouts"
	SheetUnpaid      = "Held and carried"
	SheetWithholding = "Withholding"
	SheetFiles       = "Files"
	SheetExceptions  = "Exceptions"
)

// ErrTotalsMismatch is returned when the streamed rows do not add up to the
// summary's totals: the workbook would contradict itself, so none is
// written.
var ErrTotalsMismatch = errors.New("rows do not add up to the summary totals")

// ErrWorkbookName is returned when a workbook path's file name is not the
// one its content calls for (CycleWorkbookName).
var ErrWorkbookName = errors.New("wrong workbook file name")

// CycleWorkbookName is the file name of a cycle's payout summary:
// payout-summary-<M>.xlsx, or payout-summary-<M>-DRAFT.xlsx for a dry run.
func CycleWorkbookName(month string, draft bool) string {
	if draft {
		return "payout-summary-" + month + "-DRAFT.xlsx"
	}
	return "payout-summary-" + month + ".xlsx"
}

// Payout sheet columns (indexes used for totals, checks and the summary's
// formulas).
var payoutColumns = []column{
	{header: "Seller ID"},
	{header: "Publisher", maxWidth: 40},
	{header: "Country"},
	{header: "Method"},
	{header: "Account", maxWidth: 44},
	{header: "Currency"},
	{header: "Gross (USD)", kind: kindUSD, total: true},
	{header: "US-sourced base (USD)", kind: kindUSD, total: true},
	{header: "Rate", kind: kindRate},
	{header: "Rate reason"},
	{header: "Withheld (USD)", kind: kindUSD, total: true},
	{header: "Paid (USD)", kind: kindUSD, total: true},
	{header: "Remainder carried (USD)", kind: kindSubCent, total: true},
	{header: "FX rate", kind: kindFX},
	{header: "Paid (payout currency)", kind: kindMinor},
	{header: "Payment ID"},
	{header: "File"},
}

const (
	payoutSeller     = 0
	payoutMethod     = 3
	payoutCurrency   = 5
	payoutGross      = 6
	payoutUSBase     = 7
	payoutRate       = 8
	payoutWithheld   = 10
	payoutPaid       = 11
	payoutRemainder  = 12
	payoutInCurrency = 14
)

var unpaidColumns = []column{
	{header: "Seller ID"},
	{header: "Publisher", maxWidth: 40},
	{header: "Country"},
	{header: "Status"},
	{header: "Balance (USD)", kind: kindUSD, total: true},
	{header: "Primary reason"},
	{header: "All reasons", prose: true},
	{header: "What unblocks it", prose: true},
}

const (
	unpaidSeller  = 0
	unpaidStatus  = 3
	unpaidBalance = 4
	unpaidReason  = 5
)

var withholdingColumns = []column{
	{header: "Country"},
	{header: "Rate", kind: kindRate},
	{header: "Reason"},
	{header: "Recipients", kind: kindCount, total: true},
	{header: "Base (USD)", kind: kindUSD, total: true},
	{header: "Withheld (USD)", kind: kindUSD, total: true},
}

const (
	withholdingBase     = 4
	withholdingWithheld = 5
)

var fileColumns = []column{
	{header: "File"},
	{header: "Kind"},
	{header: "Records", kind: kindCount, total: true},
	{header: "Control total (USD)", kind: kindUSD, total: true},
	{header: "Currency"},
	{header: "Control total (currency)", kind: kindMinor},
	{header: "SHA-256", maxWidth: 70},
}

const fileControlUSD = 3

var exceptionColumns = []column{
	{header: "Kind"},
	{header: "Seller ID"},
	{header: "Reference"},
	{header: "Detail", prose: true, maxWidth: 64},
	{header: "Amount (USD)", kind: kindUSD},
}

const (
	exceptionKind   = 0
	exceptionDetail = 3
	exceptionAmount = 4
)

// ExceptionContinued follows an exception's kind on the rows that continue
// its Detail ("paypal items (continued)"): a Detail longer than one row
// can show (a PayPal payment sent as hundreds of items lists each of them)
// continues in the rows below, each at most maxRowLines lines, which repeat
// the Seller ID and the Reference and leave the Amount empty. The kind
// differs so that the Summary's counts and sums by kind count the
// exception once.
const ExceptionContinued = " (continued)"

// WriteCycleWorkbook writes a cycle's payout summary workbook to path, whose
// file name must be CycleWorkbookName(summary.Month, summary.Draft) (so a
// dry run can never land under the name of the real summary).
//
// Sheets: Summary, Payouts, Held and carried, Withholding, Files,
// Exceptions; the streamed ones continue in parts ("Payouts (2)") before
// MaxSheetRows. Each stream of data is read once. The rows are checked
// against summary.Totals while streaming; the payout rows are also checked
// against the rounding rules, and what fails is shown as a failed check in
// the summary rather than refused (the workbook must show what the close
// did).
//
// The file appears atomically, complete or not at all; an existing file is
// replaced only with Overwrite().
//
// Errors: ErrWorkbookName, ErrFileExists, ErrTotalsMismatch, ErrTooManyRows,
// an error from a stream (returned as is, wrapped), or a file system error
// naming the path.
func WriteCycleWorkbook(path string, summary CycleSummary, data CycleData, opts ...Option) error {
	month, err := time.Parse("2006-01", summary.Month)
	if err != nil || month.Format("2006-01") != summary.Month {
		return fmt.Errorf("reports: cycle month %q is not YYYY-MM", summary.Month)
	}
	if want := CycleWorkbookName(summary.Month, summary.Draft); filepath.Base(path) != want {
		return fmt.Errorf("reports: %s: %w: want %s", path, ErrWorkbookName, want)
	}
	o := collectOptions(opts)
	if err := refuseExisting(path, o); err != nil {
		return err
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	w := &cycleWriter{f: f, styles: st, summary: summary}
	st.document = w.title()
	for _, step := range []func() error{
		func() error { return w.payouts(data.Payouts) },
		func() error { return w.unpaid(data.Unpaid) },
		func() error { return w.withholding(data.Withholding) },
		func() error { return w.files(data.Files) },
		func() error { return w.exceptions(data.Exceptions) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	if mismatches := w.reconcile(); len(mismatches) > 0 {
		return fmt.Errorf("reports: cycle %s: %w: %s", summary.Month, ErrTotalsMismatch, strings.Join(mismatches, "; "))
	}
	if err := w.writeSummary(); err != nil {
		return err
	}
	// The first sheet is active from NewFile on; SetActiveSheet would read
	// every streamed sheet back into memory (slow under excelize's 16 MiB
	// in-memory stream limit).
	created := summary.Cutoff
	if summary.ClosedAt != nil {
		created = *summary.ClosedAt
	}
	if err := f.SetDocProps(&excelize.DocProperties{
		Creator: "payrun", Title: w.title(), Created: created.UTC().Format(time.RFC3339),
		Modified: created.UTC().Format(time.RFC3339),
	}); err != nil {
		return err
	}
	if err := saveWorkbook(f, st, path, o); err != nil {
		return err
	}
	if o.checks != nil {
		*o.checks = w.checkResults
	}
	return nil
}

// cycleWriter carries what the streams add up to, for the summary, and the
// streamed sheets, whose ranges the summary's formulas name.
type cycleWriter struct {
	f       *excelize.File
	styles  *styles
	summary CycleSummary
	// checkResults are the Summary's checks as written (CollectChecks).
	checkResults []Check

	payoutSheet, unpaidSheet, withholdingSheet, fileSheet, exceptionSheet *streamedSheet

	paid struct {
		count                                       int
		gross, usBase, withheld, paidUSD, remainder decimal.Decimal
		byMethod                                    map[methodKey]*methodSums
		byRate                                      []*rateSums // few distinct rates: a slice
	}
	ruleFailures   []ruleFailure
	unpaidByReason map[string]*ReasonTotal // key status + "\x00" + reason
	unpaidCount    int
	withheldRows   struct {
		base, withheld decimal.Decimal
	}
	fileCount      int
	fileControlUSD decimal.Decimal
	fileRecords    int64
	exceptionCount int64
	// returned and recredited add up the Exceptions rows of kinds
	// ExceptionReturned and ExceptionRecredited.
	returned, recredited countSum
}

// countSum is a count with an exact sum.
type countSum struct {
	count int
	sum   exactSum
}

type methodKey struct{ method, currency string }

type methodSums struct {
	payments    int
	usd, amount exactSum
}

type rateSums struct {
	rate           decimal.Decimal
	recipients     int
	base, withheld exactSum
}

// findRate returns the sums at rate (0.3 and 0.30 are the same rate), or nil.
func (w *cycleWriter) findRate(rate decimal.Decimal) *rateSums {
	for _, r := range w.paid.byRate {
		if r.rate.Equal(rate) {
			return r
		}
	}
	return nil
}

func (w *cycleWriter) rateSums(rate decimal.Decimal) *rateSums {
	if r := w.findRate(rate); r != nil {
		return r
	}
	r := &rateSums{rate: rate}
	w.paid.byRate = append(w.paid.byRate, r)
	return r
}

// ruleFailure counts payout rows breaking one rounding rule.
type ruleFailure struct {
	rule    string
	count   int
	example string
}

func (w *cycleWriter) failRule(rule, sellerID, detail string) {
	for i := range w.ruleFailures {
		if w.ruleFailures[i].rule == rule {
			w.ruleFailures[i].count++
			return
		}
	}
	w.ruleFailures = append(w.ruleFailures, ruleFailure{rule: rule, count: 1, example: sellerID + ": " + detail})
}

var cent = decimal.New(1, -2)

func (w *cycleWriter) payouts(rows Rows[PayoutRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetPayouts, payoutColumns)
	if err != nil {
		return err
	}
	w.payoutSheet = sheet
	w.paid.byMethod = map[methodKey]*methodSums{}
	err = rows.each(func(r PayoutRow) error {
		places, err := money.MinorUnit(r.Currency)
		if err != nil {
			return fmt.Errorf("reports: payout of seller %s: %w", r.SellerID, err)
		}
		remainder := r.Gross.Sub(r.Withheld).Sub(r.PaidUSD)
		w.checkPayoutRules(r, remainder, places)
		w.paid.count++
		method := w.paid.byMethod[methodKey{r.Method, r.Currency}]
		if method == nil {
			method = &methodSums{}
			w.paid.byMethod[methodKey{r.Method, r.Currency}] = method
		}
		method.payments++
		method.usd.add(r.PaidUSD)
		method.amount.add(r.PaidInCurrency)
		rate := w.rateSums(r.Rate)
		rate.recipients++
		rate.base.add(r.USBase)
		rate.withheld.add(r.Withheld)
		return sheet.add(r.SellerID, r.DisplayName, r.Country, r.Method, r.MaskedAccount, r.Currency,
			r.Gross, r.USBase, r.Rate, r.RateReason, r.Withheld, r.PaidUSD, remainder, r.FXRate,
			minorAmount{r.PaidInCurrency, places}, r.PaymentID, r.File)
	})
	if err != nil {
		return fmt.Errorf("reports: payouts: %w", err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	w.paid.gross = sheet.sum(payoutGross)
	w.paid.usBase = sheet.sum(payoutUSBase)
	w.paid.withheld = sheet.sum(payoutWithheld)
	w.paid.paidUSD = sheet.sum(payoutPaid)
	w.paid.remainder = sheet.sum(payoutRemainder)
	return nil
}

// checkPayoutRules recomputes SPEC §1's rules for one payout row.
func (w *cycleWriter) checkPayoutRules(r PayoutRow, remainder decimal.Decimal, places int32) {
	if want := money.RoundHalfUp(r.Rate.Mul(r.USBase), money.CentScale); !want.Equal(r.Withheld) {
		w.failRule("withheld = round-half-up(rate × base, 2)", r.SellerID,
			fmt.Sprintf("withheld %s, rule gives %s", r.Withheld, want))
	}
	if remainder.IsNegative() || !remainder.LessThan(cent) {
		w.failRule("0 ≤ gross − withheld − paid < 0.01", r.SellerID, "remainder "+remainder.String())
	}
	if !r.PaidUSD.IsPositive() || !r.PaidUSD.Equal(r.PaidUSD.RoundFloor(money.CentScale)) {
		w.failRule("paid is a positive whole-cent amount", r.SellerID, "paid "+r.PaidUSD.String())
	}
	unit := decimal.New(1, -places)
	if !r.PaidInCurrency.Equal(r.PaidInCurrency.Round(places)) ||
		!r.PaidUSD.Mul(r.FXRate).Sub(r.PaidInCurrency).Abs().LessThan(unit) {
		w.failRule("paid in currency = paid × FX rate, in the currency's minor unit", r.SellerID,
			fmt.Sprintf("%s × %s ≠ %s %s", r.PaidUSD, r.FXRate, r.PaidInCurrency, r.Currency))
	}
}

func (w *cycleWriter) unpaid(rows Rows[UnpaidRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetUnpaid, unpaidColumns)
	if err != nil {
		return err
	}
	w.unpaidSheet = sheet
	w.unpaidByReason = map[string]*ReasonTotal{}
	err = rows.each(func(r UnpaidRow) error {
		if r.Status != StatusHeld && r.Status != StatusCarried {
			return fmt.Errorf("reports: seller %s: status %q is neither %q nor %q", r.SellerID, r.Status, StatusHeld, StatusCarried)
		}
		key := r.Status + "\x00" + r.PrimaryReason
		total := w.unpaidByReason[key]
		if total == nil {
			total = &ReasonTotal{Reason: r.PrimaryReason, Balance: decimal.Zero}
			w.unpaidByReason[key] = total
		}
		total.Publishers++
		total.Balance = total.Balance.Add(r.Balance)
		w.unpaidCount++
		unblock := r.Unblock
		if unblock == "" {
			unblock = UnblockHint(r.PrimaryReason)
		}
		return sheet.add(r.SellerID, r.DisplayName, r.Country, r.Status, r.Balance, r.PrimaryReason,
			strings.Join(r.Reasons, "; "), unblock)
	})
	if err != nil {
		return fmt.Errorf("reports: held and carried: %w", err)
	}
	return sheet.close()
}

func (w *cycleWriter) withholding(rows Rows[WithholdingRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetWithholding, withholdingColumns)
	if err != nil {
		return err
	}
	w.withholdingSheet = sheet
	err = rows.each(func(r WithholdingRow) error {
		return sheet.add(r.Country, r.Rate, r.Reason, r.Recipients, r.Base, r.Withheld)
	})
	if err != nil {
		return fmt.Errorf("reports: withholding: %w", err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	w.withheldRows.base = sheet.sum(withholdingBase)
	w.withheldRows.withheld = sheet.sum(withholdingWithheld)
	return nil
}

func (w *cycleWriter) files(rows Rows[FileRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetFiles, fileColumns)
	if err != nil {
		return err
	}
	w.fileSheet = sheet
	err = rows.each(func(r FileRow) error {
		places, err := money.MinorUnit(r.Currency)
		if err != nil {
			return fmt.Errorf("reports: file %s: %w", r.Name, err)
		}
		w.fileCount++
		w.fileRecords += int64(r.Records)
		return sheet.add(r.Name, r.Kind, r.Records, r.ControlTotalUSD, r.Currency,
			minorAmount{r.ControlTotal, places}, r.SHA256)
	})
	if err != nil {
		return fmt.Errorf("reports: files: %w", err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	w.fileControlUSD = sheet.sum(fileControlUSD)
	return nil
}

func (w *cycleWriter) exceptions(rows Rows[ExceptionRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetExceptions, exceptionColumns)
	if err != nil {
		return err
	}
	w.exceptionSheet = sheet
	err = rows.each(func(r ExceptionRow) error {
		w.exceptionCount++
		switch r.Kind {
		case ExceptionReturned:
			w.returned.count++
			w.returned.sum.add(r.Amount)
		case ExceptionRecredited:
			w.recredited.count++
			w.recredited.sum.add(r.Amount)
		}
		var amount any
		if !r.Amount.IsZero() {
			amount = r.Amount
		}
		// Cut where the row would be taller than Excel allows or the text
		// longer than a cell holds: concatenated, the rows' Details are
		// r.Detail (see ExceptionContinued).
		details := splitText(r.Detail, sheet.limits[exceptionDetail], maxRowLines, ExcelMaxCellChars)
		if err := sheet.add(r.Kind, r.SellerID, r.Reference, details[0], amount); err != nil {
			return err
		}
		for _, detail := range details[1:] {
			if err := sheet.add(r.Kind+ExceptionContinued, r.SellerID, r.Reference, detail, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reports: exceptions: %w", err)
	}
	return sheet.close()
}

// reconcile compares what the rows add up to with the summary's totals and
// returns every disagreement.
func (w *cycleWriter) reconcile() []string {
	t := w.summary.Totals
	var bad []string
	amount := func(name string, rows, summary decimal.Decimal) {
		if !rows.Equal(summary) {
			bad = append(bad, fmt.Sprintf("%s: rows %s, summary %s", name, rows, summary))
		}
	}
	count := func(name string, rows, summary int) {
		if rows != summary {
			bad = append(bad, fmt.Sprintf("%s: rows %d, summary %d", name, rows, summary))
		}
	}
	amount("gross", w.paid.gross, t.Gross)
	amount("US-sourced base", w.paid.usBase, t.USSourced)
	amount("withheld", w.paid.withheld, t.Withheld)
	amount("paid", w.paid.paidUSD, t.Paid)
	amount("sub-cent remainders", w.paid.remainder, t.SubCentCarried)
	amount("withholding sheet base", w.withheldRows.base, t.USSourced)
	amount("withholding sheet withheld", w.withheldRows.withheld, t.Withheld)
	count("returns recredited (exceptions)", w.recredited.count, t.Returned.Count)
	amount("returns recredited (exceptions)", w.recredited.sum.value(), t.Returned.Amount)
	count("payments returned (exceptions)", w.returned.count, t.PaymentsReturned.Count)
	amount("payments returned (exceptions)", w.returned.sum.value(), t.PaymentsReturned.Amount)

	methods := map[methodKey]bool{}
	for _, m := range t.PaidByMethod {
		key := methodKey{m.Method, m.Currency}
		methods[key] = true
		rows := w.paid.byMethod[key]
		if rows == nil {
			rows = &methodSums{}
		}
		name := "paid by " + m.Method + " in " + m.Currency
		count(name+" (payments)", rows.payments, m.Payments)
		amount(name+" (USD)", rows.usd.value(), m.AmountUSD)
		amount(name+" (currency)", rows.amount.value(), m.Amount)
	}
	for key, m := range w.paid.byMethod {
		if !methods[key] {
			bad = append(bad, fmt.Sprintf("paid by %s in %s: %d rows, not in the summary", key.method, key.currency, m.payments))
		}
	}
	rates := map[*rateSums]bool{}
	for _, r := range t.WithheldByRate {
		rows := w.findRate(r.Rate)
		if rows == nil {
			rows = &rateSums{}
		} else {
			rates[rows] = true
		}
		name := "withheld at " + r.Rate.String()
		count(name+" (recipients)", rows.recipients, r.Recipients)
		amount(name+" (base)", rows.base.value(), r.Base)
		amount(name+" (withheld)", rows.withheld.value(), r.Withheld)
	}
	for _, r := range w.paid.byRate {
		if !rates[r] {
			bad = append(bad, fmt.Sprintf("withheld at %s: %d rows, not in the summary", r.rate, r.recipients))
		}
	}
	for _, group := range []struct {
		status  string
		reasons []ReasonTotal
	}{{StatusHeld, t.HeldByReason}, {StatusCarried, t.CarriedByReason}} {
		seen := map[string]bool{}
		for _, r := range group.reasons {
			key := group.status + "\x00" + r.Reason
			seen[key] = true
			rows := w.unpaidByReason[key]
			if rows == nil {
				rows = &ReasonTotal{Balance: decimal.Zero}
			}
			count(group.status+" for "+r.Reason+" (publishers)", rows.Publishers, r.Publishers)
			amount(group.status+" for "+r.Reason+" (balance)", rows.Balance, r.Balance)
		}
		for key, r := range w.unpaidByReason {
			if strings.HasPrefix(key, group.status+"\x00") && !seen[key] {
				bad = append(bad, fmt.Sprintf("%s for %s: %d rows, not in the summary", group.status, r.Reason, r.Publishers))
			}
		}
	}
	count("publishers (paid + held + carried)", w.paid.count+w.unpaidCount, t.Publishers)
	sort.Strings(bad)
	return bad
}

func (w *cycleWriter) title() string {
	if w.summary.Draft {
		return "DRAFT — payout summary " + w.summary.Month + " — dry run, not for payment"
	}
	return "Payout summary " + w.summary.Month
}

// Summary sheet labels the tests and readers look up.
const (
	labelPublishers       = "Publishers evaluated"
	labelGross            = "Paid: gross balance"
	labelUSBase           = "Paid: US-sourced base"
	labelWithheld         = "Withheld (US tax)"
	labelPaid             = "Paid (USD)"
	labelSubCent          = "Sub-cent remainders carried"
	labelHeld             = "Held"
	labelCarried          = "Carried"
	labelReturned         = "Returned and recredited"
	labelPaymentsReturned = "This cycle's payments returned"
)

// Tolerances of the summary's formula checks. A spreadsheet adds in binary
// floating point: over many rows its SUM can differ from payrun's exact
// decimal total in the last digits, never by a displayed unit. Amounts
// shown to the cent compare to within half a cent, sub-cent remainders to
// within half a micro-dollar, counts exactly.
const (
	centTolerance  = "0.005"
	microTolerance = "0.0000005"
)

// summaryCheck is one of the writer's checks: a formula over the sheets
// compared with payrun's own figure.
type summaryCheck struct {
	name    string
	formula string // over the sheets
	sheets  any    // its value (decimal.Decimal or int), from the streamed rows
	payrun  any    // payrun's figure: the summary's totals
	kind    cellKind
	detail  string
}

func (w *cycleWriter) writeSummary() error {
	st := w.styles
	t := w.summary.Totals
	g := newGridSheet(w.f, st, SheetSummary)
	// Column A holds labels and check names, F the checks' details: both
	// wrap rather than widen the page.
	g.wrapAt[0], g.wrapAt[5] = 46, 60
	payouts, unpaid, exceptions := w.payoutSheet, w.unpaidSheet, w.exceptionSheet
	sum := func(s *streamedSheet, col int) string { return "SUM(" + s.ranges(col) + ")" }
	counta := func(s *streamedSheet, col int) string { return "COUNTA(" + s.ranges(col) + ")" }
	// countIf and sumIf: rows of s whose columns equal values (texts or
	// numbers as formula literals), every part added up.
	countIf := func(s *streamedSheet, cols []int, values []string) string {
		return s.each(func(p sheetPart) string {
			args := make([]string, len(cols))
			for i, c := range cols {
				args[i] = s.dataRange(p, c, false) + "," + values[i]
			}
			return "COUNTIFS(" + strings.Join(args, ",") + ")"
		})
	}
	sumIf := func(s *streamedSheet, target int, cols []int, values []string) string {
		return s.each(func(p sheetPart) string {
			args := []string{s.dataRange(p, target, false)}
			for i, c := range cols {
				args = append(args, s.dataRange(p, c, false)+","+values[i])
			}
			return "SUMIFS(" + strings.Join(args, ",") + ")"
		})
	}
	quote := func(text string) string { return `"` + strings.ReplaceAll(text, `"`, `""`) + `"` }

	titleStyle := st.title
	if w.summary.Draft {
		titleStyle = st.draftTitle
	}
	g.line(gridCell{value: w.title(), style: titleStyle, spill: true})
	g.style[1] = excelize.RowOpts{Height: 20}
	g.blank()
	cutoff, paymentDate := w.summary.Cutoff, w.summary.PaymentDate
	g.line(g.bold("Payment month"), g.text(w.summary.Month))
	g.line(g.bold("Cutoff (UTC)"), g.when(&cutoff, kindTime))
	g.line(g.bold("Payment date"), g.when(&paymentDate, kindDate))
	if settlement := w.summary.SettlementDate; settlement != nil && !settlement.Equal(paymentDate) {
		// Released on or after the payment date: only the date moved.
		g.line(g.bold("Settles on (released late)"), g.when(settlement, kindDate))
	}
	g.line(g.bold("State"), g.text(w.summary.State))
	g.line(g.bold("Closed by"), g.text(w.summary.ClosedBy))
	g.line(g.bold("Closed at (UTC)"), g.when(w.summary.ClosedAt, kindTime))
	g.line(g.bold("Approved by"), g.text(w.summary.ApprovedBy))
	g.line(g.bold("Approved at (UTC)"), g.when(w.summary.ApprovedAt, kindTime))
	g.blank()

	// Totals: every figure a formula over the sheets, its cached value
	// payrun's total (reconcile has checked they agree).
	held, carried := sumReasons(t.HeldByReason), sumReasons(t.CarriedByReason)
	statusIs := func(status string) (int, string) { return unpaidStatus, quote(status) }
	heldCol, heldValue := statusIs(StatusHeld)
	carriedCol, carriedValue := statusIs(StatusCarried)
	publishers := counta(payouts, payoutSeller) + "+" + counta(unpaid, unpaidSeller)
	g.line(g.section("Totals"), g.sectionRight("Count"), g.sectionRight("Amount (USD)"))
	g.line(g.text(labelPublishers), g.count(t.Publishers, publishers))
	g.line(g.text(labelGross), g.count(w.paid.count, counta(payouts, payoutSeller)), g.amount(t.Gross, kindUSD, sum(payouts, payoutGross)))
	g.line(g.text(labelUSBase), gridCell{}, g.amount(t.USSourced, kindUSD, sum(payouts, payoutUSBase)))
	g.line(g.text(labelWithheld), gridCell{}, g.amount(t.Withheld, kindUSD, sum(payouts, payoutWithheld)))
	g.line(g.text(labelPaid), g.count(w.paid.count, counta(payouts, payoutSeller)), g.amount(t.Paid, kindUSD, sum(payouts, payoutPaid)))
	g.line(g.text(labelSubCent), gridCell{}, g.amount(t.SubCentCarried, kindSubCent, sum(payouts, payoutRemainder)))
	g.line(g.text(labelHeld), g.count(held.Publishers, countIf(unpaid, []int{heldCol}, []string{heldValue})),
		g.amount(held.Balance, kindUSD, sumIf(unpaid, unpaidBalance, []int{heldCol}, []string{heldValue})))
	g.line(g.text(labelCarried), g.count(carried.Publishers, countIf(unpaid, []int{carriedCol}, []string{carriedValue})),
		g.amount(carried.Balance, kindUSD, sumIf(unpaid, unpaidBalance, []int{carriedCol}, []string{carriedValue})))
	returnRow := func(label, kind string, total CountAmount) {
		g.line(g.text(label), g.count(total.Count, countIf(exceptions, []int{exceptionKind}, []string{quote(kind)})),
			g.amount(total.Amount, kindUSD, sumIf(exceptions, exceptionAmount, []int{exceptionKind}, []string{quote(kind)})))
	}
	returnRow(labelReturned, ExceptionRecredited, t.Returned)
	returnRow(labelPaymentsReturned, ExceptionReturned, t.PaymentsReturned)
	g.blank()

	rates := append([]RateTotal(nil), t.WithheldByRate...)
	sort.Slice(rates, func(a, b int) bool { return rates[a].Rate.LessThan(rates[b].Rate) })
	g.line(g.section("Withheld by rate"), g.sectionRight("Recipients"), g.sectionRight("Base (USD)"), g.sectionRight("Withheld (USD)"))
	rateTotal := RateTotal{Base: decimal.Zero, Withheld: decimal.Zero}
	first := g.next()
	for _, r := range rates {
		rate := []string{r.Rate.String()}
		g.line(g.rate(r.Rate), g.count(r.Recipients, countIf(payouts, []int{payoutRate}, rate)),
			g.amount(r.Base, kindUSD, sumIf(payouts, payoutUSBase, []int{payoutRate}, rate)),
			g.amount(r.Withheld, kindUSD, sumIf(payouts, payoutWithheld, []int{payoutRate}, rate)))
		rateTotal.Recipients += r.Recipients
		rateTotal.Base = rateTotal.Base.Add(r.Base)
		rateTotal.Withheld = rateTotal.Withheld.Add(r.Withheld)
	}
	above := func(col int) string {
		return fmt.Sprintf("SUM(%s:%s)", cellRef(col, first), cellRef(col, max(first, g.next()-1)))
	}
	g.line(g.label("Total"), g.total(rateTotal.Recipients, kindCount, above(1)),
		g.total(rateTotal.Base, kindUSD, above(2)), g.total(rateTotal.Withheld, kindUSD, above(3)))
	g.blank()

	methods := append([]MethodTotal(nil), t.PaidByMethod...)
	sort.Slice(methods, func(a, b int) bool {
		if methods[a].Method != methods[b].Method {
			return methods[a].Method < methods[b].Method
		}
		return methods[a].Currency < methods[b].Currency
	})
	g.line(g.section("Paid by method"), g.section("Currency"), g.sectionRight("Payments"), g.sectionRight("Amount (USD)"), g.sectionRight("Amount (currency)"))
	methodTotal := MethodTotal{AmountUSD: decimal.Zero}
	first = g.next()
	for _, m := range methods {
		places, err := money.MinorUnit(m.Currency)
		if err != nil {
			return fmt.Errorf("reports: summary: %w", err)
		}
		cols, values := []int{payoutMethod, payoutCurrency}, []string{quote(m.Method), quote(m.Currency)}
		g.line(g.text(m.Method), g.text(m.Currency), g.count(m.Payments, countIf(payouts, cols, values)),
			g.amount(m.AmountUSD, kindUSD, sumIf(payouts, payoutPaid, cols, values)),
			g.minor(m.Amount, places, sumIf(payouts, payoutInCurrency, cols, values)))
		methodTotal.Payments += m.Payments
		methodTotal.AmountUSD = methodTotal.AmountUSD.Add(m.AmountUSD)
	}
	g.line(g.label("Total"), gridCell{style: st.label}, g.total(methodTotal.Payments, kindCount, above(2)),
		g.total(methodTotal.AmountUSD, kindUSD, above(3)), gridCell{style: st.label})
	g.blank()

	for _, group := range []struct {
		title, status string
		reasons       []ReasonTotal
	}{{"Held by reason", StatusHeld, t.HeldByReason}, {"Carried by reason", StatusCarried, t.CarriedByReason}} {
		reasons := append([]ReasonTotal(nil), group.reasons...)
		sort.SliceStable(reasons, func(a, b int) bool { return reasonOrder(reasons[a].Reason) < reasonOrder(reasons[b].Reason) })
		g.line(g.section(group.title), g.sectionRight("Publishers"), g.sectionRight("Balance (USD)"))
		first = g.next()
		for _, r := range reasons {
			cols, values := []int{unpaidStatus, unpaidReason}, []string{quote(group.status), quote(r.Reason)}
			g.line(g.text(r.Reason), g.count(r.Publishers, countIf(unpaid, cols, values)),
				g.amount(r.Balance, kindUSD, sumIf(unpaid, unpaidBalance, cols, values)))
		}
		total := sumReasons(reasons)
		g.line(g.label("Total"), g.total(total.Publishers, kindCount, above(1)), g.total(total.Balance, kindUSD, above(2)))
		g.blank()
	}

	// Checks: the close's, as given; then the writer's, each a formula
	// over the sheets (click through to the ranges) compared with payrun's
	// own figure.
	g.line(g.section("Checks"), g.sectionCenter("Result"), g.sectionRight("Workbook"), g.sectionRight("payrun"), g.sectionRight("Difference"), g.section("Detail"))
	static := func(name string, pass bool, detail string) {
		row := g.line(g.text(name), g.result(pass, ""), gridCell{}, gridCell{}, gridCell{}, g.text(detail))
		g.results = append(g.results, [2]int{1, row})
		w.checkResults = append(w.checkResults, Check{Name: name, Pass: pass, Detail: detail})
	}
	for _, c := range w.summary.Checks {
		static(c.Name, c.Pass, c.Detail)
	}
	for _, failure := range w.ruleFailures {
		static("Payout rows: "+failure.rule, false, fmt.Sprintf("%d row(s) break it, e.g. %s", failure.count, failure.example))
	}
	if len(w.ruleFailures) == 0 {
		static("Payout rows follow the rounding rules (SPEC §1)", true, fmt.Sprintf("%d rows recomputed", w.paid.count))
	}
	for _, c := range w.checks() {
		row := g.next()
		difference := fmt.Sprintf("%s-%s", cellRef(2, row), cellRef(3, row))
		switch sheets := c.sheets.(type) {
		case int:
			payrun := c.payrun.(int)
			w.checkResults = append(w.checkResults, Check{Name: c.name, Pass: sheets == payrun, Detail: c.detail})
			g.line(g.text(c.name), g.result(sheets == payrun, fmt.Sprintf(`IF(%s=0,"PASS","FAIL")`, cellRef(4, row))),
				g.count(sheets, c.formula), g.count(payrun, ""), g.count(sheets-payrun, difference), g.text(c.detail))
		case decimal.Decimal:
			payrun := c.payrun.(decimal.Decimal)
			tolerance := centTolerance
			if c.kind == kindSubCent {
				tolerance = microTolerance
			}
			diff := sheets.Sub(payrun)
			pass := diff.Abs().LessThan(decimal.RequireFromString(tolerance))
			w.checkResults = append(w.checkResults, Check{Name: c.name, Pass: pass, Detail: c.detail})
			g.line(g.text(c.name), g.result(pass, fmt.Sprintf(`IF(ABS(%s)<%s,"PASS","FAIL")`, cellRef(4, row), tolerance)),
				g.amount(sheets, c.kind, c.formula), g.amount(payrun, c.kind, ""), g.amount(diff, c.kind, difference), g.text(c.detail))
		}
		g.results = append(g.results, [2]int{1, row})
	}
	return g.write()
}

// checks are the writer's formula checks: each sheet's figure against the
// summary's total (payrun's), so a reader sees where a figure comes from
// and a recalculating reader re-checks it.
func (w *cycleWriter) checks() []summaryCheck {
	t := w.summary.Totals
	payouts, unpaid, withholding, files, exceptions := w.payoutSheet, w.unpaidSheet, w.withholdingSheet, w.fileSheet, w.exceptionSheet
	sum := func(s *streamedSheet, col int) string { return "SUM(" + s.ranges(col) + ")" }
	sumIf := func(s *streamedSheet, target, col int, value string) string {
		return s.each(func(p sheetPart) string {
			return fmt.Sprintf(`SUMIFS(%s,%s,"%s")`, s.dataRange(p, target, false), s.dataRange(p, col, false), value)
		})
	}
	held, carried := sumReasons(t.HeldByReason), sumReasons(t.CarriedByReason)
	paidCount := 0
	for _, m := range t.PaidByMethod {
		paidCount += m.Payments
	}
	checks := []summaryCheck{
		{name: "Publishers: Payouts + Held and carried rows", formula: "COUNTA(" + payouts.ranges(payoutSeller) + ")+COUNTA(" + unpaid.ranges(unpaidSeller) + ")",
			sheets: w.paid.count + w.unpaidCount, payrun: t.Publishers, detail: "evaluated accounts: paid, held, carried"},
		{name: "Payouts: rows = payments", formula: "COUNTA(" + payouts.ranges(payoutSeller) + ")",
			sheets: w.paid.count, payrun: paidCount, detail: "paid publishers, by method and currency"},
		{name: "Payouts: gross (USD)", formula: sum(payouts, payoutGross), sheets: w.paid.gross, payrun: t.Gross, kind: kindUSD,
			detail: "= withheld + paid + sub-cent remainders"},
		{name: "Payouts: US-sourced base (USD)", formula: sum(payouts, payoutUSBase), sheets: w.paid.usBase, payrun: t.USSourced, kind: kindUSD},
		{name: "Payouts: withheld (USD)", formula: sum(payouts, payoutWithheld), sheets: w.paid.withheld, payrun: t.Withheld, kind: kindUSD,
			detail: "journal: US tax liability"},
		{name: "Payouts: paid (USD)", formula: sum(payouts, payoutPaid), sheets: w.paid.paidUSD, payrun: t.Paid, kind: kindUSD,
			detail: "journal: payments in transit"},
		{name: "Payouts: sub-cent remainders (USD)", formula: sum(payouts, payoutRemainder), sheets: w.paid.remainder, payrun: t.SubCentCarried,
			kind: kindSubCent, detail: "left in the publishers' balances"},
		{name: "Withholding: base (USD)", formula: sum(withholding, withholdingBase), sheets: w.withheldRows.base, payrun: t.USSourced, kind: kindUSD},
		{name: "Withholding: withheld (USD)", formula: sum(withholding, withholdingWithheld), sheets: w.withheldRows.withheld, payrun: t.Withheld, kind: kindUSD},
		{name: "Held and carried: held balance (USD)", formula: sumIf(unpaid, unpaidBalance, unpaidStatus, StatusHeld),
			sheets: w.unpaidBalance(StatusHeld), payrun: held.Balance, kind: kindUSD, detail: "kept whole for the next cycle"},
		{name: "Held and carried: carried balance (USD)", formula: sumIf(unpaid, unpaidBalance, unpaidStatus, StatusCarried),
			sheets: w.unpaidBalance(StatusCarried), payrun: carried.Balance, kind: kindUSD, detail: "kept whole for the next cycle"},
		{name: "Exceptions: returns recredited (USD)", formula: sumIf(exceptions, exceptionAmount, exceptionKind, ExceptionRecredited),
			sheets: w.recredited.sum.value(), payrun: t.Returned.Amount, kind: kindUSD, detail: "earlier payments returned, in this cycle's balances"},
		{name: "Exceptions: payments returned (USD)", formula: sumIf(exceptions, exceptionAmount, exceptionKind, ExceptionReturned),
			sheets: w.returned.sum.value(), payrun: t.PaymentsReturned.Amount, kind: kindUSD, detail: "recredited for the next cycle"},
	}
	if w.fileCount > 0 {
		checks = append(checks, summaryCheck{name: "Payment files' control totals = paid (USD)", formula: sum(files, fileControlUSD),
			sheets: w.fileControlUSD, payrun: t.Paid, kind: kindUSD,
			detail: fmt.Sprintf("%d file(s), %d record(s)", w.fileCount, w.fileRecords)})
	}
	return checks
}

// unpaidBalance is the balance the Held and carried rows of status add up to.
func (w *cycleWriter) unpaidBalance(status string) decimal.Decimal {
	total := decimal.Zero
	for key, r := range w.unpaidByReason {
		if strings.HasPrefix(key, status+"\x00") {
			total = total.Add(r.Balance)
		}
	}
	return total
}

func sumReasons(reasons []ReasonTotal) ReasonTotal {
	sum := ReasonTotal{Balance: decimal.Zero}
	for _, r := range reasons {
		sum.Publishers += r.Publishers
		sum.Balance = sum.Balance.Add(r.Balance)
	}
	return sum
}

// reasonOrder is a reason's place in SPEC §3.2's table (payout.Reasons);
// the summary lists them so.
func reasonOrder(reason string) int { return payout.Reason(reason).Order() }

// unblockHints say, per primary reason, what releases the payment.
var unblockHints = map[string]string{
	"account_not_verified":      "Complete the account verification steps (e-mail, employment, business).",
	"agreement_not_accepted":    "Accept the latest version of the publisher agreement.",
	"payment_hold":              "Switch the payment hold off before the next cycle's cutoff.",
	"no_payout_account":         "Add a payout account (bank or PayPal).",
	"payout_account_unverified": "Wait for the payout account's verification (or fix a rejected one).",
	"tax_profile_missing":       "Submit a tax form (W-9, W-8BEN or W-8BEN-E).",
	"tax_profile_expired":       "Sign a new W-8 form: the previous one expired.",
	"tax_profile_invalid":       "Correct the tax profile (TIN or form) and submit a new form.",
	"amount_over_rail_limit":    "More than its rail carries in one payment (SPEC §6.4): set a payout account on a rail that carries it.",
	"negative_balance":          "Nothing to do: future earnings recoup the negative balance.",
	"zero_balance":              "Nothing to do: there is nothing to pay.",
	"below_threshold":           "Nothing to do: paid once the payable amount reaches the threshold.",
}

// UnblockHint is the default "what unblocks it" text for a primary reason
// of SPEC §3.2; "" for an unknown reason.
func UnblockHint(reason string) string { return unblockHints[reason] }
