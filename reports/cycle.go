package reports

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/payrun/payrun/internal/money"
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

// Payout sheet columns (indexes used for totals and checks).
var payoutColumns = []column{
	{header: "Seller ID", width: 14},
	{header: "Publisher", width: 28},
	{header: "Country", width: 8},
	{header: "Method", width: 8},
	{header: "Account", width: 16},
	{header: "Currency", width: 9},
	{header: "Gross (USD)", width: 16, kind: kindBalance, total: true},
	{header: "US-sourced base (USD)", width: 16, kind: kindBalance, total: true},
	{header: "Rate", width: 8, kind: kindRate},
	{header: "Rate reason", width: 14},
	{header: "Withheld (USD)", width: 14, kind: kindUSD, total: true},
	{header: "Paid (USD)", width: 15, kind: kindUSD, total: true},
	{header: "Remainder carried (USD)", width: 14, kind: kindBalance, total: true},
	{header: "FX rate", width: 12, kind: kindFX},
	{header: "Paid (payout currency)", width: 17, kind: kindMinor},
	{header: "Payment ID", width: 22},
	{header: "File", width: 28},
}

const (
	payoutGross     = 6
	payoutUSBase    = 7
	payoutWithheld  = 10
	payoutPaid      = 11
	payoutRemainder = 12
)

var unpaidColumns = []column{
	{header: "Seller ID", width: 14},
	{header: "Publisher", width: 28},
	{header: "Country", width: 8},
	{header: "Status", width: 9},
	{header: "Balance (USD)", width: 16, kind: kindBalance, total: true},
	{header: "Primary reason", width: 24},
	{header: "All reasons", width: 40},
	{header: "What unblocks it", width: 60},
}

var withholdingColumns = []column{
	{header: "Country", width: 8},
	{header: "Rate", width: 8, kind: kindRate},
	{header: "Reason", width: 16},
	{header: "Recipients", width: 11, kind: kindCount, total: true},
	{header: "Base (USD)", width: 16, kind: kindBalance, total: true},
	{header: "Withheld (USD)", width: 15, kind: kindUSD, total: true},
}

var fileColumns = []column{
	{header: "File", width: 36},
	{header: "Kind", width: 10},
	{header: "Records", width: 10, kind: kindCount, total: true},
	{header: "Control total (USD)", width: 16, kind: kindUSD, total: true},
	{header: "Currency", width: 9},
	{header: "Control total (currency)", width: 18, kind: kindMinor},
	{header: "SHA-256", width: 66},
}

var exceptionColumns = []column{
	{header: "Kind", width: 18},
	{header: "Seller ID", width: 14},
	{header: "Reference", width: 24},
	{header: "Detail", width: 60},
	{header: "Amount (USD)", width: 16, kind: kindBalance},
}

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
	return saveWorkbook(f, st, path, o)
}

// cycleWriter carries what the streams add up to, for the summary.
type cycleWriter struct {
	f       *excelize.File
	styles  *styles
	summary CycleSummary

	paid struct {
		count                                       int
		gross, usBase, withheld, paidUSD, remainder decimal.Decimal
		byMethod                                    map[methodKey]*methodSums
		byRate                                      []*rateSums // few distinct rates: a slice
	}
	ruleFailures   []ruleFailure
	unpaidByReason map[string]*ReasonTotal // key status + "\x00" + reason
	withheldRows   struct {
		base, withheld decimal.Decimal
	}
	fileCount      int
	fileControlUSD decimal.Decimal
	fileRecords    int64
	exceptionCount int64
	writerChecks   []Check
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
	err = rows.each(func(r WithholdingRow) error {
		return sheet.add(r.Country, r.Rate, r.Reason, r.Recipients, r.Base, r.Withheld)
	})
	if err != nil {
		return fmt.Errorf("reports: withholding: %w", err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	w.withheldRows.base = sheet.sum(4)
	w.withheldRows.withheld = sheet.sum(5)
	return nil
}

func (w *cycleWriter) files(rows Rows[FileRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetFiles, fileColumns)
	if err != nil {
		return err
	}
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
	w.fileControlUSD = sheet.sum(3)
	return nil
}

func (w *cycleWriter) exceptions(rows Rows[ExceptionRow]) error {
	sheet, err := newStreamedSheet(w.f, w.styles, SheetExceptions, exceptionColumns)
	if err != nil {
		return err
	}
	err = rows.each(func(r ExceptionRow) error {
		w.exceptionCount++
		var amount any
		if !r.Amount.IsZero() {
			amount = r.Amount
		}
		return sheet.add(r.Kind, r.SellerID, r.Reference, r.Detail, amount)
	})
	if err != nil {
		return fmt.Errorf("reports: exceptions: %w", err)
	}
	return sheet.close()
}

// reconcile compares what the rows add up to with the summary's totals and
// returns every disagreement. It also adds the writer's own checks.
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
	unpaid := 0
	for _, r := range w.unpaidByReason {
		unpaid += r.Publishers
	}
	count("publishers (paid + held + carried)", w.paid.count+unpaid, t.Publishers)
	sort.Strings(bad)

	// The writer's own checks, shown after the close's.
	for _, failure := range w.ruleFailures {
		w.writerChecks = append(w.writerChecks, Check{
			Name:   "Payout rows: " + failure.rule,
			Detail: fmt.Sprintf("%d row(s) break it, e.g. %s", failure.count, failure.example),
		})
	}
	if len(w.ruleFailures) == 0 {
		w.writerChecks = append(w.writerChecks, Check{Name: "Payout rows follow the rounding rules (SPEC §1)", Pass: true,
			Detail: fmt.Sprintf("%d rows recomputed", w.paid.count)})
	}
	w.writerChecks = append(w.writerChecks, Check{Name: "Sheets add up to the totals", Pass: len(bad) == 0,
		Detail: "payouts, held and carried, withholding"})
	if w.fileCount > 0 {
		pass := w.fileControlUSD.Equal(w.paid.paidUSD)
		w.writerChecks = append(w.writerChecks, Check{Name: "Payment files' control totals = paid (USD)", Pass: pass,
			Detail: fmt.Sprintf("files %s, paid %s", w.fileControlUSD.StringFixed(2), w.paid.paidUSD.StringFixed(2))})
	}
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
	labelPublishers = "Publishers evaluated"
	labelGross      = "Paid: gross balance"
	labelUSBase     = "Paid: US-sourced base"
	labelWithheld   = "Withheld (US tax)"
	labelPaid       = "Paid (USD)"
	labelSubCent    = "Sub-cent remainders carried"
	labelHeld       = "Held"
	labelCarried    = "Carried"
	labelReturned   = "Returned and recredited"
)

// summarySheet writes a small sheet (Summary, Statement) cell by cell.
type summarySheet struct {
	f      *excelize.File
	styles *styles
	sheet  string
	row    int
	err    error
	// lastRow and lastCol bound the cells written, for the sheet's
	// <dimension> (excelize leaves it at "A1").
	lastRow, lastCol int
}

func (s *summarySheet) set(col int, value any, style int) {
	if s.err != nil {
		return
	}
	cell, err := excelize.CoordinatesToCellName(col, s.row)
	if text, isText := value.(string); err == nil && (!isText || text != "") {
		err = s.f.SetCellValue(s.sheet, cell, value)
	}
	if err == nil && style != 0 {
		err = s.f.SetCellStyle(s.sheet, cell, cell, style)
	}
	if err == nil && (col > s.lastCol || s.row > s.lastRow) {
		s.lastCol, s.lastRow = max(s.lastCol, col), max(s.lastRow, s.row)
		var corner string
		if corner, err = excelize.CoordinatesToCellName(s.lastCol, s.lastRow); err == nil {
			err = s.f.SetSheetDimension(s.sheet, "A1:"+corner)
		}
	}
	s.err = err
}

// line writes one row; values are (value, style) pairs in column order.
func (s *summarySheet) line(cells ...cellWithStyle) {
	s.row++
	for i, c := range cells {
		if c.value != nil {
			s.set(i+1, c.value, c.style)
		} else if c.style != 0 {
			s.set(i+1, "", c.style)
		}
	}
}

type cellWithStyle struct {
	value any
	style int
}

func (w *cycleWriter) writeSummary() error {
	st := w.styles
	s := &summarySheet{f: w.f, styles: st, sheet: SheetSummary}
	t := w.summary.Totals
	text := func(v string) cellWithStyle { return cellWithStyle{value: v} }
	bold := func(v string) cellWithStyle { return cellWithStyle{value: v, style: st.bold} }
	section := func(v string) cellWithStyle { return cellWithStyle{value: v, style: st.section} }
	usd := func(d decimal.Decimal) cellWithStyle {
		return cellWithStyle{value: d.InexactFloat64(), style: st.column[kindUSD]}
	}
	balance := func(d decimal.Decimal) cellWithStyle {
		return cellWithStyle{value: d.InexactFloat64(), style: st.column[kindBalance]}
	}
	count := func(n int) cellWithStyle { return cellWithStyle{value: n, style: st.column[kindCount]} }
	when := func(t *time.Time) cellWithStyle {
		if t == nil {
			return cellWithStyle{}
		}
		return cellWithStyle{value: excelTime(*t), style: st.column[kindTime]}
	}
	empty := cellWithStyle{}

	titleStyle := st.title
	if w.summary.Draft {
		titleStyle = st.draftTitle
	}
	s.line(cellWithStyle{value: w.title(), style: titleStyle})
	s.row++
	cutoff, paymentDate := w.summary.Cutoff, w.summary.PaymentDate
	s.line(bold("Payment month"), text(w.summary.Month))
	s.line(bold("Cutoff (UTC)"), when(&cutoff))
	s.line(bold("Payment date"), cellWithStyle{value: excelTime(paymentDate), style: st.column[kindDate]})
	s.line(bold("State"), text(w.summary.State))
	s.line(bold("Closed by"), text(w.summary.ClosedBy))
	s.line(bold("Closed at (UTC)"), when(w.summary.ClosedAt))
	s.line(bold("Approved by"), text(w.summary.ApprovedBy))
	s.line(bold("Approved at (UTC)"), when(w.summary.ApprovedAt))
	s.row++

	held, carried := sumReasons(t.HeldByReason), sumReasons(t.CarriedByReason)
	s.line(section("Totals"), section("Count"), section("Amount (USD)"))
	s.line(text(labelPublishers), count(t.Publishers))
	s.line(text(labelGross), count(w.paid.count), balance(t.Gross))
	s.line(text(labelUSBase), empty, balance(t.USSourced))
	s.line(text(labelWithheld), empty, usd(t.Withheld))
	s.line(text(labelPaid), count(w.paid.count), usd(t.Paid))
	s.line(text(labelSubCent), empty, balance(t.SubCentCarried))
	s.line(text(labelHeld), count(held.Publishers), balance(held.Balance))
	s.line(text(labelCarried), count(carried.Publishers), balance(carried.Balance))
	s.line(text(labelReturned), count(t.Returned.Count), balance(t.Returned.Amount))
	s.row++

	rates := append([]RateTotal(nil), t.WithheldByRate...)
	sort.Slice(rates, func(a, b int) bool { return rates[a].Rate.LessThan(rates[b].Rate) })
	s.line(section("Withheld by rate"), section("Recipients"), section("Base (USD)"), section("Withheld (USD)"))
	rateTotal := RateTotal{Base: decimal.Zero, Withheld: decimal.Zero}
	for _, r := range rates {
		s.line(cellWithStyle{value: r.Rate.InexactFloat64(), style: st.column[kindRate]}, count(r.Recipients), balance(r.Base), usd(r.Withheld))
		rateTotal.Recipients += r.Recipients
		rateTotal.Base = rateTotal.Base.Add(r.Base)
		rateTotal.Withheld = rateTotal.Withheld.Add(r.Withheld)
	}
	s.line(cellWithStyle{value: "Total", style: st.label}, totalCell(st, kindCount, rateTotal.Recipients),
		totalCell(st, kindBalance, rateTotal.Base), totalCell(st, kindUSD, rateTotal.Withheld))
	s.row++

	methods := append([]MethodTotal(nil), t.PaidByMethod...)
	sort.Slice(methods, func(a, b int) bool {
		if methods[a].Method != methods[b].Method {
			return methods[a].Method < methods[b].Method
		}
		return methods[a].Currency < methods[b].Currency
	})
	s.line(section("Paid by method"), section("Currency"), section("Payments"), section("Amount (USD)"), section("Amount (currency)"))
	methodTotal := MethodTotal{AmountUSD: decimal.Zero}
	for _, m := range methods {
		places, err := money.MinorUnit(m.Currency)
		if err != nil {
			return fmt.Errorf("reports: summary: %w", err)
		}
		s.line(text(m.Method), text(m.Currency), count(m.Payments), usd(m.AmountUSD),
			cellWithStyle{value: m.Amount.InexactFloat64(), style: st.minor[places]})
		methodTotal.Payments += m.Payments
		methodTotal.AmountUSD = methodTotal.AmountUSD.Add(m.AmountUSD)
	}
	s.line(cellWithStyle{value: "Total", style: st.label}, cellWithStyle{style: st.label},
		totalCell(st, kindCount, methodTotal.Payments), totalCell(st, kindUSD, methodTotal.AmountUSD))
	s.row++

	for _, group := range []struct {
		title   string
		reasons []ReasonTotal
	}{{"Held by reason", t.HeldByReason}, {"Carried by reason", t.CarriedByReason}} {
		reasons := append([]ReasonTotal(nil), group.reasons...)
		sort.SliceStable(reasons, func(a, b int) bool { return reasonOrder(reasons[a].Reason) < reasonOrder(reasons[b].Reason) })
		s.line(section(group.title), section("Publishers"), section("Balance (USD)"))
		for _, r := range reasons {
			s.line(text(r.Reason), count(r.Publishers), balance(r.Balance))
		}
		sum := sumReasons(reasons)
		s.line(cellWithStyle{value: "Total", style: st.label}, totalCell(st, kindCount, sum.Publishers), totalCell(st, kindBalance, sum.Balance))
		s.row++
	}

	s.line(section("Checks"), section("Result"), section("Detail"))
	for _, c := range append(append([]Check(nil), w.summary.Checks...), w.writerChecks...) {
		result := cellWithStyle{value: "PASS", style: st.pass}
		if !c.Pass {
			result = cellWithStyle{value: "FAIL", style: st.fail}
		}
		s.line(text(c.Name), result, text(c.Detail))
	}
	if s.err != nil {
		return fmt.Errorf("reports: summary: %w", s.err)
	}
	for col, width := range []float64{36, 14, 18, 18, 18} {
		name, _ := excelize.ColumnNumberToName(col + 1)
		if err := w.f.SetColWidth(SheetSummary, name, name, width); err != nil {
			return err
		}
	}
	return nil
}

func totalCell(st *styles, kind cellKind, value any) cellWithStyle {
	if d, ok := value.(decimal.Decimal); ok {
		value = d.InexactFloat64()
	}
	return cellWithStyle{value: value, style: st.total[kind]}
}

func sumReasons(reasons []ReasonTotal) ReasonTotal {
	sum := ReasonTotal{Balance: decimal.Zero}
	for _, r := range reasons {
		sum.Publishers += r.Publishers
		sum.Balance = sum.Balance.Add(r.Balance)
	}
	return sum
}

// reasons in SPEC §3.2's table order; the summary lists them so.
var reasonsInOrder = []string{
	"account_not_verified", "agreement_not_accepted", "payment_hold", "no_payout_account",
	"payout_account_unverified", "tax_profile_missing", "tax_profile_expired", "tax_profile_invalid",
	"negative_balance", "zero_balance", "below_threshold",
}

func reasonOrder(reason string) int {
	for i, r := range reasonsInOrder {
		if r == reason {
			return i
		}
	}
	return len(reasonsInOrder)
}

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
	"negative_balance":          "Nothing to do: future earnings recoup the negative balance.",
	"zero_balance":              "Nothing to do: there is nothing to pay.",
	"below_threshold":           "Nothing to do: paid once the payable amount reaches the threshold.",
}

// UnblockHint is the default "what unblocks it" text for a primary reason
// of SPEC §3.2; "" for an unknown reason.
func UnblockHint(reason string) string { return unblockHints[reason] }
