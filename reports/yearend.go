package reports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/payrun/payrun/internal/money"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// IncomeCodeOtherRoyalties is the 1042-S income code for app and software
// sales (SPEC §5.4: "1042-S income code 12, other royalties").
const IncomeCodeOtherRoyalties = "12"

// Sheet names of the year-end workbooks.
const (
	Sheet1042S = "1042-S"
	Sheet1099  = "1099"
)

// Form 1099 kinds.
const (
	Form1099K    = "1099-K"
	Form1099MISC = "1099-MISC"
	// Form1099None: below every threshold and nothing withheld; listed so
	// finance sees every W-9 recipient, but no form is due.
	Form1099None = "none"
)

// Form1042SRow is one W-8 recipient at one rate for one tax year (by
// payment date, SPEC §5.5).
type Form1042SRow struct {
	SellerID         string
	RecipientName    string
	Country          string // country of residence
	Address          string
	MaskedUSTIN      string // masked (last 4); "" when none
	MaskedForeignTIN string // masked (last 4); "" when none
	EntityType       string // individual, corporation, ...
	IncomeCode       string // "" means IncomeCodeOtherRoyalties
	Gross            decimal.Decimal
	Rate             decimal.Decimal // 0.30 for 30%
	Withheld         decimal.Decimal
	// Reason is why this rate applied: "no_treaty", "treaty:IN", ...
	Reason string
}

// Form1099Row is one W-9 recipient for one tax year.
type Form1099Row struct {
	SellerID      string
	RecipientName string
	MaskedTIN     string
	Address       string
	Transactions  int // payments (or sales) counted for the 1099-K test
	Gross         decimal.Decimal
	Withheld      decimal.Decimal // backup withholding
}

// Thresholds1099 choose a W-9 recipient's form. They are configuration
// owned by the tax package (the IRS changes them); this package only
// applies them.
type Thresholds1099 struct {
	// A recipient gets a 1099-K when gross ≥ KGross and, if KTransactions
	// is positive, transactions ≥ KTransactions.
	KGross        decimal.Decimal
	KTransactions int
	// Otherwise a 1099-MISC when gross ≥ MISC, or whenever backup
	// withholding was taken (a withheld recipient is always reported).
	MISC decimal.Decimal
}

// ErrThresholds is returned for negative 1099 thresholds.
var ErrThresholds = errors.New("invalid 1099 thresholds")

func (t Thresholds1099) validate() error {
	if t.KGross.IsNegative() || t.MISC.IsNegative() || t.KTransactions < 0 {
		return fmt.Errorf("reports: %w: K %s/%d transactions, MISC %s", ErrThresholds, t.KGross, t.KTransactions, t.MISC)
	}
	return nil
}

// Form1099Kind is the form row is reported on under t: Form1099K,
// Form1099MISC or Form1099None.
func Form1099Kind(t Thresholds1099, row Form1099Row) string {
	if row.Gross.GreaterThanOrEqual(t.KGross) && (t.KTransactions <= 0 || row.Transactions >= t.KTransactions) {
		return Form1099K
	}
	if row.Gross.GreaterThanOrEqual(t.MISC) || row.Withheld.IsPositive() {
		return Form1099MISC
	}
	return Form1099None
}

var form1042SColumns = []column{
	{header: "Tax year"},
	{header: "Seller ID"},
	{header: "Recipient name", maxWidth: 40},
	{header: "Country"},
	{header: "Address", prose: true},
	{header: "US TIN (masked)"},
	{header: "Foreign TIN (masked)"},
	{header: "Entity type"},
	{header: "Income code"},
	{header: "Gross US-sourced paid (USD)", kind: kindUSD, total: true},
	{header: "Rate", kind: kindRate},
	{header: "Withheld (USD)", kind: kindUSD, total: true},
	{header: "Reason"},
}

var form1099Columns = []column{
	{header: "Tax year"},
	{header: "Seller ID"},
	{header: "Recipient name", maxWidth: 40},
	{header: "TIN (masked)"},
	{header: "Address", prose: true},
	{header: "Transactions", kind: kindCount, total: true},
	{header: "Gross paid (USD)", kind: kindUSD, total: true},
	{header: "Backup withholding (USD)", kind: kindUSD, total: true},
	{header: "Form"},
}

func checkTaxYear(year int) error {
	if year < 2000 || year > 9999 {
		return fmt.Errorf("reports: tax year %d out of range", year)
	}
	return nil
}

func (r Form1042SRow) incomeCode() string {
	if r.IncomeCode == "" {
		return IncomeCodeOtherRoyalties
	}
	return r.IncomeCode
}

// Write1042S writes the 1042-S data workbook of a tax year: one row per W-8
// recipient and rate, streamed, with a totals row (and parts beyond
// MaxSheetRows). Errors as WriteCycleWorkbook's.
func Write1042S(path string, year int, rows Rows[Form1042SRow], opts ...Option) error {
	if err := checkTaxYear(year); err != nil {
		return err
	}
	return writeYearEndWorkbook(path, year, Sheet1042S, "1042-S data", form1042SColumns, opts,
		func(sheet *streamedSheet) error {
			return rows.each(func(r Form1042SRow) error {
				return sheet.add(year, r.SellerID, r.RecipientName, r.Country, r.Address, r.MaskedUSTIN,
					r.MaskedForeignTIN, r.EntityType, r.incomeCode(), r.Gross, r.Rate, r.Withheld, r.Reason)
			})
		})
}

// Write1099 writes the 1099 data workbook of a tax year: one row per W-9
// recipient with the form chosen by thresholds (Form1099Kind).
func Write1099(path string, year int, thresholds Thresholds1099, rows Rows[Form1099Row], opts ...Option) error {
	if err := checkTaxYear(year); err != nil {
		return err
	}
	if err := thresholds.validate(); err != nil {
		return err
	}
	return writeYearEndWorkbook(path, year, Sheet1099, "1099 data", form1099Columns, opts,
		func(sheet *streamedSheet) error {
			return rows.each(func(r Form1099Row) error {
				return sheet.add(year, r.SellerID, r.RecipientName, r.MaskedTIN, r.Address, r.Transactions,
					r.Gross, r.Withheld, Form1099Kind(thresholds, r))
			})
		})
}

func writeYearEndWorkbook(path string, year int, sheetName, title string, columns []column, opts []Option,
	stream func(*streamedSheet) error) error {
	o := collectOptions(opts)
	if err := refuseExisting(path, o); err != nil {
		return err
	}
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	st.document = fmt.Sprintf("%s %d", title, year)
	// The first part takes the place of the default sheet.
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return err
	}
	sheet, err := newStreamedSheet(f, st, sheetName, columns)
	if err != nil {
		return err
	}
	if err := stream(sheet); err != nil {
		return fmt.Errorf("reports: %s %d: %w", title, year, err)
	}
	if err := sheet.close(); err != nil {
		return err
	}
	// The first sheet is active from NewFile on; SetActiveSheet would read
	// every streamed sheet back into memory (slow under excelize's 16 MiB
	// in-memory stream limit).
	// A fixed creation time (the end of the tax year) keeps the bytes
	// deterministic.
	created := time.Date(year, time.December, 31, 23, 59, 59, 0, time.UTC).Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{Creator: "payrun", Title: fmt.Sprintf("%s %d", title, year),
		Created: created, Modified: created}); err != nil {
		return err
	}
	return saveWorkbook(f, st, path, o)
}

// Write1042SCSV writes the same rows as Write1042S as CSV.
func Write1042SCSV(path string, year int, rows Rows[Form1042SRow], opts ...Option) error {
	if err := checkTaxYear(year); err != nil {
		return err
	}
	return writeCSV(path, columnHeaders(form1042SColumns), opts, func(write func([]string) error) error {
		return rows.each(func(r Form1042SRow) error {
			return write([]string{strconv.Itoa(year), csvText(r.SellerID), csvText(r.RecipientName), csvText(r.Country),
				csvText(r.Address), csvText(r.MaskedUSTIN), csvText(r.MaskedForeignTIN), csvText(r.EntityType),
				csvText(r.incomeCode()), r.Gross.StringFixed(money.CentScale), r.Rate.StringFixed(4),
				r.Withheld.StringFixed(money.CentScale), csvText(r.Reason)})
		})
	})
}

// Write1099CSV writes the same rows as Write1099 as CSV.
func Write1099CSV(path string, year int, thresholds Thresholds1099, rows Rows[Form1099Row], opts ...Option) error {
	if err := checkTaxYear(year); err != nil {
		return err
	}
	if err := thresholds.validate(); err != nil {
		return err
	}
	return writeCSV(path, columnHeaders(form1099Columns), opts, func(write func([]string) error) error {
		return rows.each(func(r Form1099Row) error {
			return write([]string{strconv.Itoa(year), csvText(r.SellerID), csvText(r.RecipientName), csvText(r.MaskedTIN),
				csvText(r.Address), strconv.Itoa(r.Transactions), r.Gross.StringFixed(money.CentScale),
				r.Withheld.StringFixed(money.CentScale), Form1099Kind(thresholds, r)})
		})
	})
}

// writeCSV streams records into path atomically.
func writeCSV(path string, header []string, opts []Option, stream func(write func([]string) error) error) error {
	pending, err := createPending(path, collectOptions(opts))
	if err != nil {
		return err
	}
	defer pending.discard()
	w := csv.NewWriter(pending)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := stream(w.Write); err != nil {
		return fmt.Errorf("reports: %s: %w", path, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return pending.commit()
}
