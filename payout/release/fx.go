package release

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/csvlimit"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/textcheck"
	"github.com/payrun/payrun/payout"
)

// FXHeader is the header of an FX rates file: units of currency per USD.
const FXHeader = "currency,rate,date,source"

// MaxFXRows bounds an FX file (there are fewer than 200 currencies).
const MaxFXRows = 500

// MaxFXRecordBytes bounds one CSV record of an FX file, however many lines
// a quoted field spans (see internal/csvlimit): a rate is under 100 bytes.
const MaxFXRecordBytes = 4096

// ErrFXConflict is returned when a currency already has another rate for
// the cycle.
var ErrFXConflict = errors.New("the cycle already has another rate for this currency")

// ImportFX loads a cycle's FX rates from CSV (FXHeader), all or nothing.
// A rate identical to the one stored is skipped; another rate for a stored
// currency is a conflict (rates are fixed once loaded, so a released cycle's
// conversions can always be reproduced). Returns how many were added.
func ImportFX(ctx context.Context, database *sqlx.DB, month time.Time, r io.Reader, now time.Time) (int, error) {
	limit := csvlimit.NewReader(r, MaxFXRecordBytes)
	reader := csv.NewReader(limit)
	reader.FieldsPerRecord = 4
	header, err := reader.Read()
	if err != nil || strings.Join(header, ",") != FXHeader {
		return 0, fmt.Errorf("line 1: header must be %s", FXHeader)
	}
	type rate struct {
		currency string
		rate     decimal.Decimal
		date     time.Time
		source   string
	}
	var rates []rate
	var problems []string
	seen := map[string]int{}
	for line := 2; ; line++ {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("line %d: %v", line, limit.Cause(err))
		}
		if line > MaxFXRows+1 {
			return 0, fmt.Errorf("line %d: more than %d rates", line, MaxFXRows)
		}
		currency := strings.ToUpper(strings.TrimSpace(record[0]))
		bad := func(column, reason string) {
			problems = append(problems, fmt.Sprintf("line %d, column %s: %s", line, column, reason))
		}
		switch {
		case currency == "USD":
			bad("currency", "USD is the book currency (rate 1)")
		case !money.KnownCurrency(currency):
			bad("currency", fmt.Sprintf("%q is not a currency payrun pays in", record[0]))
		case seen[currency] > 0:
			bad("currency", fmt.Sprintf("%s repeats line %d", currency, seen[currency]))
		}
		seen[currency] = line
		value, err := decimal.NewFromString(strings.TrimSpace(record[1]))
		// fx_rates.rate is NUMERIC(20,10): at most 10 digits before the point.
		if err != nil || !value.IsPositive() || value.Exponent() < -10 || value.GreaterThanOrEqual(decimal.New(1, 10)) {
			bad("rate", fmt.Sprintf("%q is not a positive decimal with at most 10 digits before and 10 after the point", record[1]))
		}
		date, err := time.Parse(time.DateOnly, strings.TrimSpace(record[2]))
		if err != nil {
			bad("date", fmt.Sprintf("%q is not YYYY-MM-DD", record[2]))
		}
		source := strings.TrimSpace(record[3])
		if source == "" {
			bad("source", "required (where the rate comes from)")
		} else if problem := textcheck.Problem(source); problem != "" {
			bad("source", problem)
		}
		rates = append(rates, rate{currency, value, date, source})
	}
	if len(problems) > 0 {
		return 0, errors.New("FX rates refused, nothing loaded:\n  " + strings.Join(problems, "\n  "))
	}
	added := 0
	err = db.WithTx(ctx, database, func(tx *sqlx.Tx) error {
		for _, r := range rates {
			var existing decimal.Decimal
			err := tx.GetContext(ctx, &existing, `SELECT rate FROM fx_rates WHERE month = $1 AND currency = $2`, month, r.currency)
			if err == nil {
				if !existing.Equal(r.rate) {
					return fmt.Errorf("%w: %s %s is %s, not %s", ErrFXConflict, payout.MonthName(month), r.currency, existing, r.rate)
				}
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO fx_rates (month, currency, rate, rate_date, source, loaded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				month, r.currency, r.rate, r.date, r.source, now.UTC()); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	return added, err
}
