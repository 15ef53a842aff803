package tax

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Limits of a treaty table (STYLE: a limit on everything). The IRS lists
// about 65 treaty countries and a handful of income codes; these bounds leave
// room for decades of effective-date history and refuse anything else.
const (
	// MaxTreatyTableBytes bounds the size of a treaty table file.
	MaxTreatyTableBytes = 1 << 20
	// MaxTreatyRows bounds the number of rows of a treaty table.
	MaxTreatyRows = 10_000
	// MaxTreatyErrors bounds the problems one parse reports.
	MaxTreatyErrors = 100
)

// treatyHeader is the required header of a treaty table, in this order.
var treatyHeader = []string{"country", "income_code", "rate", "effective_from", "effective_to", "source"}

//go:embed treaties.csv
var defaultTreatyCSV []byte

// TreatyRow is one rate of the treaty table: the rate for income code
// IncomeCode paid to a resident of Country, in force on payment dates from
// EffectiveFrom through EffectiveTo, both inclusive; a zero EffectiveTo is
// open-ended. Line is the row's line in the CSV file.
type TreatyRow struct {
	Country       string
	IncomeCode    string
	Rate          decimal.Decimal
	EffectiveFrom time.Time
	EffectiveTo   time.Time
	Source        string
	Line          int
}

// InForce reports whether the row applies to a payment made on date (only
// the UTC date of the instant counts).
func (r TreatyRow) InForce(date time.Time) bool {
	day := dateOf(date)
	return !day.Before(r.EffectiveFrom) && (r.EffectiveTo.IsZero() || !day.After(r.EffectiveTo))
}

// overlaps reports whether two rows' date ranges share a day.
func (r TreatyRow) overlaps(o TreatyRow) bool {
	startsBeforeOtherEnds := o.EffectiveTo.IsZero() || !r.EffectiveFrom.After(o.EffectiveTo)
	otherStartsBeforeEnd := r.EffectiveTo.IsZero() || !o.EffectiveFrom.After(r.EffectiveTo)
	return startsBeforeOtherEnds && otherStartsBeforeEnd
}

// LookupResult says what the treaty table knows about a country and income
// code on a payment date. The values double as withholding reasons.
type LookupResult string

// Lookup results.
const (
	// TreatyInForce: a row is in force on the date; its rate applies.
	TreatyInForce LookupResult = "in_force"
	// TreatyNotInForce: the table has rows for the country and income code,
	// but none in force on the date (the treaty ended, or had not started).
	TreatyNotInForce LookupResult = "treaty_not_in_force"
	// NoTreatyCountry: the table has no row for the country and income code:
	// no treaty, or a treaty without a reduced rate for that income.
	NoTreatyCountry LookupResult = "no_treaty_country"
)

type treatyKey struct{ country, incomeCode string }

// TreatyTable is a parsed, validated treaty table. It is immutable and safe
// for concurrent use.
type TreatyTable struct {
	rows    []TreatyRow
	byKey   map[treatyKey][]TreatyRow
	version string
}

// Version is the hex sha256 of the table's bytes: two tables with the same
// version have the same rows, and a close records the version it used.
func (t *TreatyTable) Version() string { return t.version }

// Rows returns a copy of the rows, in file order.
func (t *TreatyTable) Rows() []TreatyRow {
	return append([]TreatyRow(nil), t.rows...)
}

// Lookup finds the row for a resident of country (ISO alpha-2, any case) and
// an income code, in force on paymentDate (SPEC §3.1: treaty rates are those
// in force on the payment date). The row is the zero TreatyRow unless the
// result is TreatyInForce.
func (t *TreatyTable) Lookup(country, incomeCode string, paymentDate time.Time) (TreatyRow, LookupResult) {
	rows := t.byKey[treatyKey{normalizeCountry(country), strings.TrimSpace(incomeCode)}]
	if len(rows) == 0 {
		return TreatyRow{}, NoTreatyCountry
	}
	for _, row := range rows {
		if row.InForce(paymentDate) {
			return row, TreatyInForce
		}
	}
	return TreatyRow{}, TreatyNotInForce
}

var defaultTreatyTable = sync.OnceValue(func() *TreatyTable {
	table, err := ParseTreatyTable(bytes.NewReader(defaultTreatyCSV))
	if err != nil {
		panic(fmt.Sprintf("tax: embedded treaties.csv: %v", err))
	}
	return table
})

// DefaultTreatyTable is the table shipped with this release (treaties.csv).
// Ops can load a newer one with ParseTreatyTable (SPEC §5.4).
func DefaultTreatyTable() *TreatyTable { return defaultTreatyTable() }

// RowError is one problem of a treaty table: its line (1-based, as an editor
// shows it), the column's header name ("" for the whole line), and why.
type RowError struct {
	Line   int
	Column string
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// TreatyTableError lists the problems of a treaty table (at most
// MaxTreatyErrors; Truncated says more were left out).
type TreatyTableError struct {
	Rows      []*RowError
	Truncated bool
}

func (e *TreatyTableError) Error() string {
	parts := make([]string, len(e.Rows))
	for i, row := range e.Rows {
		parts[i] = row.Error()
	}
	text := "treaty table: " + strings.Join(parts, "; ")
	if e.Truncated {
		text += "; more problems left out"
	}
	return text
}

// Unwrap gives errors.Is and errors.As access to every row's error.
func (e *TreatyTableError) Unwrap() []error {
	errs := make([]error, len(e.Rows))
	for i, row := range e.Rows {
		errs[i] = row
	}
	return errs
}

func (e *TreatyTableError) add(line int, column string, format string, args ...any) {
	if len(e.Rows) >= MaxTreatyErrors {
		e.Truncated = true
		return
	}
	e.Rows = append(e.Rows, &RowError{Line: line, Column: column, Err: fmt.Errorf(format, args...)})
}

var (
	incomeCodePattern = regexp.MustCompile(`^[0-9]{2}$`)
	ratePattern       = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// ParseTreatyTable reads and validates a treaty table: a CSV file with the
// header country,income_code,rate,effective_from,effective_to,source; lines
// starting with # are comments. Every row is checked: the country is an ISO
// 3166-1 alpha-2 code (upper case, not US), the income code two digits, the
// rate a plain decimal in [0, 0.30], effective_from a date (YYYY-MM-DD),
// effective_to empty or a date not before effective_from, the source not
// empty, and no two rows of the same country and income code in force on the
// same day. A table with no rows is refused: it would silently withhold 30%
// from everyone.
// Errors: *TreatyTableError naming line and column of every problem.
func ParseTreatyTable(r io.Reader) (*TreatyTable, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTreatyTableBytes+1))
	if err != nil {
		return nil, fmt.Errorf("treaty table: %w", err)
	}
	problems := &TreatyTableError{}
	if len(data) > MaxTreatyTableBytes {
		problems.add(0, "", "larger than %d bytes", MaxTreatyTableBytes)
		return nil, problems
	}
	reader := csv.NewReader(bytes.NewReader(data))
	reader.Comment = '#'
	reader.FieldsPerRecord = -1
	reader.ReuseRecord = false

	header, err := reader.Read()
	switch {
	case errors.Is(err, io.EOF):
		problems.add(1, "", "empty file: want header %s", strings.Join(treatyHeader, ","))
		return nil, problems
	case err != nil:
		return nil, csvProblem(problems, err)
	}
	headerLine, _ := reader.FieldPos(0)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if strings.Join(header, ",") != strings.Join(treatyHeader, ",") {
		problems.add(headerLine, "", "header is %q, want %q", strings.Join(header, ","), strings.Join(treatyHeader, ","))
		return nil, problems
	}

	table := &TreatyTable{byKey: map[treatyKey][]TreatyRow{}}
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvProblem(problems, err)
		}
		line, _ := reader.FieldPos(0)
		if len(table.rows) >= MaxTreatyRows {
			problems.add(line, "", "more than %d rows", MaxTreatyRows)
			return nil, problems
		}
		if len(record) != len(treatyHeader) {
			problems.add(line, "", "%d fields, want %d (%s)", len(record), len(treatyHeader), strings.Join(treatyHeader, ","))
			continue
		}
		row, ok := parseTreatyRow(problems, line, record)
		if !ok {
			continue
		}
		key := treatyKey{row.Country, row.IncomeCode}
		for _, other := range table.byKey[key] {
			if row.overlaps(other) {
				problems.add(line, "effective_from", "%s %s from %s overlaps line %d (%s %s)",
					row.Country, row.IncomeCode, describeRange(row), other.Line, other.Country, describeRange(other))
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		table.rows = append(table.rows, row)
		table.byKey[key] = append(table.byKey[key], row)
	}
	if len(problems.Rows) > 0 {
		return nil, problems
	}
	if len(table.rows) == 0 {
		problems.add(headerLine, "", "no rows")
		return nil, problems
	}
	sum := sha256.Sum256(data)
	table.version = hex.EncodeToString(sum[:])
	return table, nil
}

// parseTreatyRow checks one row, adding a problem per bad column.
func parseTreatyRow(problems *TreatyTableError, line int, record []string) (TreatyRow, bool) {
	before := len(problems.Rows)
	row := TreatyRow{Line: line}
	country, incomeCode, rate, from, to, source := record[0], record[1], record[2], record[3], record[4], record[5]

	switch {
	case !ValidCountry(country):
		problems.add(line, "country", "%q is not an upper-case ISO 3166-1 alpha-2 country code", country)
	case country == CountryUS:
		problems.add(line, "country", "US has no tax treaty with itself")
	default:
		row.Country = country
	}
	if incomeCodePattern.MatchString(incomeCode) {
		row.IncomeCode = incomeCode
	} else {
		problems.add(line, "income_code", "%q is not a two-digit 1042-S income code", incomeCode)
	}
	if ratePattern.MatchString(rate) {
		row.Rate = decimal.RequireFromString(rate)
		if row.Rate.GreaterThan(StatutoryRate) {
			problems.add(line, "rate", "%s is outside [0, %s]", rate, StatutoryRate.StringFixed(2))
		}
	} else {
		problems.add(line, "rate", "%q is not a decimal rate such as 0.05", rate)
	}
	fromOK := false
	if date, err := time.Parse(dateLayout, from); err == nil {
		row.EffectiveFrom, fromOK = date, true
	} else {
		problems.add(line, "effective_from", "%q is not a date (YYYY-MM-DD)", from)
	}
	if to != "" {
		if date, err := time.Parse(dateLayout, to); err != nil {
			problems.add(line, "effective_to", "%q is not a date (YYYY-MM-DD) or empty", to)
		} else if fromOK && date.Before(row.EffectiveFrom) {
			problems.add(line, "effective_to", "%s is before effective_from %s", to, from)
		} else {
			row.EffectiveTo = date
		}
	}
	if row.Source = strings.TrimSpace(source); row.Source == "" {
		problems.add(line, "source", "required: name the IRS table or treaty the rate comes from")
	}
	// A truncated error list still counts as a bad row.
	return row, len(problems.Rows) == before && !problems.Truncated
}

func describeRange(row TreatyRow) string {
	to := "open-ended"
	if !row.EffectiveTo.IsZero() {
		to = formatDate(row.EffectiveTo)
	}
	return formatDate(row.EffectiveFrom) + " to " + to
}

// csvProblem turns a CSV syntax error, after which the reader cannot go on,
// into the table's last problem.
func csvProblem(problems *TreatyTableError, err error) error {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		problems.Rows = append(problems.Rows, &RowError{
			Line:   parseErr.Line,
			Column: fmt.Sprintf("character %d", parseErr.Column),
			Err:    parseErr.Err,
		})
		return problems
	}
	return fmt.Errorf("treaty table: %w", err)
}
