package yearend

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/reports"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// Errors callers branch on.
var (
	ErrYear              = errors.New("tax year out of range")
	ErrOutputNotWritable = errors.New("output directory is not writable")
	ErrNoForm            = errors.New("a paid payout has no tax form")
)

// DefaultThresholds are the 1099 thresholds in force for payments from
// 2025 on (see the package documentation for their sources).
func DefaultThresholds() reports.Thresholds1099 {
	return reports.Thresholds1099{KGross: decimal.NewFromInt(20_000), KTransactions: 200, MISC: decimal.NewFromInt(10)}
}

// Options says what to write.
type Options struct {
	Year int
	// Dir receives the files (created if missing).
	Dir        string
	Thresholds reports.Thresholds1099
	// FullTINs also writes the unmasked TIN file (0600).
	FullTINs bool
	// Overwrite replaces existing files (each atomically).
	Overwrite bool
}

// Totals are what one data file adds up to.
type Totals struct {
	Rows       int             `json:"rows"`
	Recipients int             `json:"recipients"`
	Gross      decimal.Decimal `json:"gross"`
	Withheld   decimal.Decimal `json:"withheld"`
}

// Result says what was written.
type Result struct {
	Year  int      `json:"year"`
	Files []string `json:"files"`
	// TINFile is the unmasked TIN file; "" unless FullTINs.
	TINFile    string `json:"tin_file,omitempty"`
	Form1042S  Totals `json:"form_1042s"`
	Form1099   Totals `json:"form_1099"`
	TINRecords int    `json:"tin_records,omitempty"`
}

// Names of the files for a year.
func Names(year int) (xlsx1042S, csv1042S, xlsx1099, csv1099, tins string) {
	y := strconv.Itoa(year)
	return "1042-S-" + y + ".xlsx", "1042-S-" + y + ".csv", "1099-" + y + ".xlsx", "1099-" + y + ".csv", "tins-" + y + "-UNMASKED.csv"
}

// Write writes the year-end files of opts.Year into opts.Dir. taxes opens
// the TINs when opts.FullTINs; it may be nil otherwise.
//
// Errors: ErrYear, ErrOutputNotWritable, reports.ErrFileExists,
// reports.ErrThresholds, ErrNoForm, database and file errors.
func Write(ctx context.Context, database *sqlx.DB, taxes *taxstore.Store, opts Options) (Result, error) {
	result := Result{Year: opts.Year}
	if opts.Year < 2000 || opts.Year > 9999 {
		return result, fmt.Errorf("%w: %d", ErrYear, opts.Year)
	}
	if t := opts.Thresholds; t.KGross.IsNegative() || t.MISC.IsNegative() || t.KTransactions < 0 {
		// Checked here too, so that nothing is written before reports.Write1099 refuses them.
		return result, fmt.Errorf("yearend: %w: 1099-K %s / %d transactions, 1099-MISC %s", reports.ErrThresholds, t.KGross, t.KTransactions, t.MISC)
	}
	if opts.FullTINs && taxes == nil {
		return result, errors.New("yearend: full TINs need the tax store")
	}
	x1042, c1042, x1099, c1099, tinName := Names(opts.Year)
	paths := []string{x1042, c1042, x1099, c1099}
	if opts.FullTINs {
		paths = append(paths, tinName)
	}
	for i := range paths {
		paths[i] = filepath.Join(opts.Dir, paths[i])
	}
	if err := prepareDirectory(opts.Dir); err != nil {
		return result, err
	}
	var writeOpts []reports.Option
	if opts.Overwrite {
		writeOpts = append(writeOpts, reports.Overwrite())
	} else {
		for _, path := range paths {
			if _, err := os.Lstat(path); err == nil {
				return result, fmt.Errorf("%s: %w", path, reports.ErrFileExists)
			}
		}
	}
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if err := checkForms(ctx, tx, opts.Year); err != nil {
			return err
		}
		rows1042S := func(yield func(reports.Form1042SRow) error) error {
			result.Form1042S = Totals{Gross: decimal.Zero, Withheld: decimal.Zero}
			seen := ""
			return Stream1042S(ctx, tx, opts.Year, func(row reports.Form1042SRow) error {
				result.Form1042S.add(row.Gross, row.Withheld, row.SellerID != seen)
				seen = row.SellerID
				return yield(row)
			})
		}
		rows1099 := func(yield func(reports.Form1099Row) error) error {
			result.Form1099 = Totals{Gross: decimal.Zero, Withheld: decimal.Zero}
			return Stream1099(ctx, tx, opts.Year, func(row reports.Form1099Row) error {
				result.Form1099.add(row.Gross, row.Withheld, true)
				return yield(row)
			})
		}
		if err := reports.Write1042S(paths[0], opts.Year, rows1042S, writeOpts...); err != nil {
			return err
		}
		if err := reports.Write1042SCSV(paths[1], opts.Year, rows1042S, writeOpts...); err != nil {
			return err
		}
		if err := reports.Write1099(paths[2], opts.Year, opts.Thresholds, rows1099, writeOpts...); err != nil {
			return err
		}
		if err := reports.Write1099CSV(paths[3], opts.Year, opts.Thresholds, rows1099, writeOpts...); err != nil {
			return err
		}
		result.Files = paths[:4]
		if opts.FullTINs {
			n, err := writeTINs(ctx, tx, taxes, opts.Year, paths[4], opts.Overwrite)
			if err != nil {
				return err
			}
			result.TINFile, result.TINRecords = paths[4], n
		}
		return nil
	})
	return result, err
}

func (t *Totals) add(gross, withheld decimal.Decimal, newRecipient bool) {
	t.Rows++
	if newRecipient {
		t.Recipients++
	}
	t.Gross = t.Gross.Add(gross)
	t.Withheld = t.Withheld.Add(withheld)
}

// Querier is what pgx.Tx and *pgx.Conn share for reading.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// countedPayouts is every paid payout of the tax year ($1 = January 1st,
// $2 = January 1st of the next year) with the form that counted for it;
// one account's only when $3 is its id (0: every account).
const countedPayouts = `
WITH year_payouts AS (
    SELECT p.account_id, p.month, c.cutoff, p.withholding_base, coalesce(p.rate, 0) AS rate, p.rate_reason, p.withheld
      FROM cycles c JOIN payouts p ON p.month = c.month
     WHERE c.payment_date >= $1 AND c.payment_date < $2 AND ($3::bigint = 0 OR p.account_id = $3) AND c.state IN ('` + string(payout.CycleReleased) + `', '` + string(payout.CycleSettled) + `') AND p.status = 'paid'
), counted AS (
    SELECT y.*, f.id AS form_id, f.form
      FROM year_payouts y
      LEFT JOIN LATERAL (SELECT id, form FROM tax_forms WHERE account_id = y.account_id AND submitted_at < y.cutoff
                          ORDER BY submitted_at DESC, id DESC LIMIT 1) f ON true
)`

func yearBounds(year int) (time.Time, time.Time) {
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(1, 0, 0)
}

func checkForms(ctx context.Context, q Querier, year int) error {
	start, end := yearBounds(year)
	var missing int
	var example *string
	if err := q.QueryRow(ctx, countedPayouts+`
		SELECT count(*), min(a.seller_id || ' in ' || to_char(c.month, 'YYYY-MM'))
		FROM counted c JOIN accounts a ON a.id = c.account_id WHERE c.form_id IS NULL`, start, end, 0).Scan(&missing, &example); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("yearend %d: %w: %d payout(s), e.g. %s", year, ErrNoForm, missing, *example)
	}
	return nil
}

// Stream1042S yields the 1042-S rows of a tax year: one per W-8 recipient
// and rate, ordered by seller id and rate.
func Stream1042S(ctx context.Context, q Querier, year int, yield func(reports.Form1042SRow) error) error {
	return Stream1042SOf(ctx, q, year, 0, yield)
}

// Stream1042SOf is Stream1042S for one account (every account when
// accountID is 0): a publisher's own year-end data.
func Stream1042SOf(ctx context.Context, q Querier, year int, accountID int64, yield func(reports.Form1042SRow) error) error {
	start, end := yearBounds(year)
	rows, err := q.Query(ctx, countedPayouts+`
		SELECT a.seller_id, g.rate, g.gross, g.withheld, g.reasons, f.submission,
		       coalesce(f.tin_last4, ''), coalesce(f.foreign_tin_last4, '')
		FROM (SELECT account_id, rate, sum(withholding_base) AS gross, sum(withheld) AS withheld,
		             string_agg(DISTINCT rate_reason, '; ' ORDER BY rate_reason) AS reasons,
		             (array_agg(form_id ORDER BY month DESC))[1] AS form_id
		        FROM counted WHERE form IN ('W-8BEN', 'W-8BEN-E') GROUP BY account_id, rate) g
		JOIN accounts a ON a.id = g.account_id
		JOIN tax_forms f ON f.id = g.form_id
		ORDER BY a.seller_id, g.rate`, start, end, accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row                 reports.Form1042SRow
			body                []byte
			tinLast4, foreignL4 string
		)
		if err := rows.Scan(&row.SellerID, &row.Rate, &row.Gross, &row.Withheld, &row.Reason, &body, &tinLast4, &foreignL4); err != nil {
			return err
		}
		submission, err := decode(row.SellerID, body)
		if err != nil {
			return err
		}
		row.RecipientName, row.Country, row.EntityType = submission.LegalName, submission.ResidenceCountry, string(submission.EntityType)
		row.Address = FormatAddress(submission.PermanentAddress)
		row.MaskedUSTIN, row.MaskedForeignTIN = Mask(tinLast4), Mask(foreignL4)
		row.IncomeCode = tax.IncomeCodeOtherRoyalties
		row.Gross = money.RoundHalfUp(row.Gross, money.CentScale)
		if err := yield(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Stream1099 yields the 1099 rows of a tax year: one per W-9 recipient,
// ordered by seller id.
func Stream1099(ctx context.Context, q Querier, year int, yield func(reports.Form1099Row) error) error {
	return Stream1099Of(ctx, q, year, 0, yield)
}

// Stream1099Of is Stream1099 for one account (every account when accountID
// is 0).
func Stream1099Of(ctx context.Context, q Querier, year int, accountID int64, yield func(reports.Form1099Row) error) error {
	start, end := yearBounds(year)
	rows, err := q.Query(ctx, countedPayouts+`
		, w9 AS (
		    SELECT c.*, coalesce((SELECT max(c2.cutoff) FROM payouts p2 JOIN cycles c2 ON c2.month = p2.month
		                           WHERE p2.account_id = c.account_id AND p2.status = 'paid' AND p2.month < c.month), '-infinity') AS window_start
		      FROM counted c WHERE c.form = 'W-9'
		)
		SELECT a.seller_id, g.gross, g.withheld, g.sales, f.submission, coalesce(f.tin_last4, '')
		FROM (SELECT w.account_id, sum(w.withholding_base) AS gross, sum(w.withheld) AS withheld,
		             sum((SELECT count(*) FROM earnings_lines l
		                   WHERE l.account_id = w.account_id AND l.available_at >= w.window_start AND l.available_at < w.cutoff
		                     AND l.market = 'US' AND l.transaction_type = 'purchase')) AS sales,
		             (array_agg(w.form_id ORDER BY w.month DESC))[1] AS form_id
		        FROM w9 w GROUP BY w.account_id) g
		JOIN accounts a ON a.id = g.account_id
		JOIN tax_forms f ON f.id = g.form_id
		ORDER BY a.seller_id`, start, end, accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row      reports.Form1099Row
			sales    int64
			body     []byte
			tinLast4 string
		)
		if err := rows.Scan(&row.SellerID, &row.Gross, &row.Withheld, &sales, &body, &tinLast4); err != nil {
			return err
		}
		submission, err := decode(row.SellerID, body)
		if err != nil {
			return err
		}
		row.RecipientName, row.Address, row.MaskedTIN = submission.LegalName, FormatAddress(submission.PermanentAddress), Mask(tinLast4)
		row.Transactions = int(sales)
		row.Gross = money.RoundHalfUp(row.Gross, money.CentScale)
		if err := yield(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

func decode(sellerID string, body []byte) (tax.Submission, error) {
	var submission tax.Submission
	if err := json.Unmarshal(body, &submission); err != nil {
		return submission, fmt.Errorf("tax form of %s: %w", sellerID, err)
	}
	return submission, nil
}

// Mask shows the last four characters of a TIN as payrun does everywhere
// ("*****6789"); "" stays "".
func Mask(last4 string) string {
	if last4 == "" {
		return ""
	}
	return "*****" + last4
}

// FormatAddress writes an address on one line: "1 Main St, Springfield, IL
// 62701, US".
func FormatAddress(a tax.Address) string {
	var parts []string
	for _, part := range []string{a.Line1, a.Line2, a.City, strings.TrimSpace(a.Region + " " + a.PostalCode), a.Country} {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	return strings.Join(parts, ", ")
}

// tinHeader is the header of the unmasked TIN file.
var tinHeader = []string{"Tax year", "Seller ID", "Form", "Form ID", "Recipient name", "US TIN", "Foreign TIN"}

// writeTINs writes one row per form that counted in the year, TINs opened
// by Reveal, into a 0600 file published atomically.
func writeTINs(ctx context.Context, q Querier, taxes *taxstore.Store, year int, path string, overwrite bool) (int, error) {
	start, end := yearBounds(year)
	file, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // created 0600
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrOutputNotWritable, err)
	}
	defer func() {
		_ = file.Close()
		_ = os.Remove(file.Name())
	}()
	if err := file.Chmod(0o600); err != nil {
		return 0, err
	}
	buffered := bufio.NewWriter(file)
	w := csv.NewWriter(buffered)
	if err := w.Write(tinHeader); err != nil {
		return 0, err
	}
	rows, err := q.Query(ctx, countedPayouts+`
		SELECT DISTINCT a.seller_id, f.id, f.form, f.submission->>'legal_name'
		FROM counted c JOIN accounts a ON a.id = c.account_id JOIN tax_forms f ON f.id = c.form_id
		ORDER BY a.seller_id, f.id`, start, end, 0)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	records := 0
	for rows.Next() {
		var sellerID, form, name string
		var formID int64
		if err := rows.Scan(&sellerID, &formID, &form, &name); err != nil {
			return 0, err
		}
		tin, foreignTIN, err := taxes.Reveal(ctx, formID)
		if err != nil {
			return 0, fmt.Errorf("TIN of %s (form %d): %w", sellerID, formID, err)
		}
		if err := w.Write([]string{strconv.Itoa(year), csvText(sellerID), form, strconv.FormatInt(formID, 10), csvText(name),
			csvText(tin), csvText(foreignTIN)}); err != nil {
			return 0, err
		}
		records++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	if err := buffered.Flush(); err != nil {
		return 0, err
	}
	if err := file.Sync(); err != nil {
		return 0, err
	}
	if err := file.Close(); err != nil {
		return 0, err
	}
	if overwrite {
		err = os.Rename(file.Name(), path)
	} else if err = os.Link(file.Name(), path); errors.Is(err, os.ErrExist) {
		err = fmt.Errorf("%s: %w", path, reports.ErrFileExists)
	}
	if err != nil {
		return 0, err
	}
	return records, nil
}

// csvText defuses text a spreadsheet would evaluate as a formula, as
// package reports does for its CSV files.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// prepareDirectory creates dir and proves it writable before any work.
func prepareDirectory(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: no directory given", ErrOutputNotWritable)
	}
	if err := atomicfile.MkdirAll(dir); err != nil {
		return fmt.Errorf("%w: %v", ErrOutputNotWritable, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutputNotWritable, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return nil
}
