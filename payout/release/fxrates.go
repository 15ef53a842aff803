package release

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
)

// A rate is at most MaxRateIntegerDigits digits before the '.' and
// MaxRateDecimals after it (fx_rates.rate is numeric(20, 10)).
const (
	MaxRateIntegerDigits = 10
	MaxRateDecimals      = 10
)

// ErrFXChangeUnconfirmed is wrapped by *FXChangeError: a rate moves more
// than the policy's fx_max_change from the previous cycle's rate and the
// import was not confirmed, so nothing was loaded.
var ErrFXChangeUnconfirmed = errors.New("an FX rate moves more than fx_max_change from the previous cycle's rate")

// fxRate is one checked line of an FX file.
type fxRate struct {
	line     int
	currency string
	rate     decimal.Decimal
	date     time.Time
	source   string
}

// ParseRate reads an FX rate (units of the currency per USD) written as a
// plain decimal: ASCII digits with at most one '.' between digits — no
// sign, exponent, thousands separator or leading/trailing '.' — at most
// MaxRateIntegerDigits digits before the '.' and MaxRateDecimals after it,
// and above zero. Spaces around it are ignored, like in every column.
// Otherwise it returns the reason, quoting the text.
func ParseRate(text string) (decimal.Decimal, string) {
	s := strings.TrimSpace(text)
	if s == "" {
		return decimal.Zero, "required: units of the currency per USD, a plain decimal such as 0.9235"
	}
	whole, fraction, dot := strings.Cut(s, ".")
	if !asciiDigits(whole) || (dot && !asciiDigits(fraction)) {
		return decimal.Zero, fmt.Sprintf("%q is not a plain decimal: digits with at most one '.' between digits, no sign, exponent or separators (e.g. 0.9235)", text)
	}
	if len(whole) > MaxRateIntegerDigits {
		return decimal.Zero, fmt.Sprintf("%q has more than %d digits before the '.'", text, MaxRateIntegerDigits)
	}
	if len(fraction) > MaxRateDecimals {
		return decimal.Zero, fmt.Sprintf("%q has more than %d decimals", text, MaxRateDecimals)
	}
	value, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Sprintf("%q is not a plain decimal", text)
	}
	if !value.IsPositive() {
		return decimal.Zero, fmt.Sprintf("%q is not above zero", text)
	}
	return value, ""
}

func asciiDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FXOptions are an FX import's settings.
type FXOptions struct {
	// Now is when the rates are loaded.
	Now time.Time
	// By is who loads them, recorded with every change ("cli:alice",
	// "operator:alice"); empty records "system".
	By string
	// MaxChange is the band, the policy's fx_max_change (a fraction); zero
	// means payout.DefaultFXMaxChange.
	MaxChange decimal.Decimal
	// ConfirmChange loads rates that move more than MaxChange from the
	// previous cycle's rate (the operator checked them).
	ConfirmChange bool
}

// FXResult reports an FX import.
type FXResult struct {
	Added     int `json:"added"`
	Replaced  int `json:"replaced"`
	Unchanged int `json:"unchanged"`
	// Changes is every rate added or replaced, in the file's order, as
	// recorded in fx_rate_changes.
	Changes []FXChange `json:"changes"`
}

// FXChange is one rate an import added or replaced.
type FXChange struct {
	Currency string `json:"currency"`
	// Before is the month's rate it replaced; nil when it was added.
	Before *decimal.Decimal `json:"before,omitempty"`
	After  decimal.Decimal  `json:"after"`
	// PreviousMonth and PreviousRate are the previous cycle's rate for the
	// currency (the latest earlier month with one); empty for a currency's
	// first rate, which has no band to check.
	PreviousMonth string           `json:"previous_month,omitempty"`
	PreviousRate  *decimal.Decimal `json:"previous_rate,omitempty"`
	// Change is After's move from PreviousRate, a fraction (0.05 is +5%).
	Change *decimal.Decimal `json:"change,omitempty"`
	// Confirmed: the move was beyond the band and the import confirmed it.
	Confirmed bool `json:"confirmed,omitempty"`
}

// FXMove is a rate beyond the band, as an FXChangeError lists it.
type FXMove struct {
	Line          int
	Currency      string
	PreviousMonth string
	PreviousRate  decimal.Decimal
	Rate          decimal.Decimal
	Change        decimal.Decimal // a fraction
}

// FXChangeError refuses an unconfirmed import with rates beyond the band;
// errors.Is(err, ErrFXChangeUnconfirmed) holds.
type FXChangeError struct {
	MaxChange decimal.Decimal
	Moves     []FXMove
}

func (e *FXChangeError) Error() string {
	lines := make([]string, len(e.Moves))
	for i, m := range e.Moves {
		lines[i] = fmt.Sprintf("line %d, column rate: %s %s moves %s from %s's rate %s", m.Line, m.Currency, m.Rate, Percent(m.Change),
			m.PreviousMonth, m.PreviousRate)
	}
	return fmt.Sprintf("FX rates need a confirmation, nothing loaded: a rate moves more than %s (fx_max_change %s) from the previous cycle's rate; "+
		"check it, then load the file again confirming the change (--confirm-change, or confirm_change=true through the API):\n  %s",
		strings.TrimPrefix(Percent(e.MaxChange), "+"), e.MaxChange, strings.Join(lines, "\n  "))
}

func (e *FXChangeError) Unwrap() error { return ErrFXChangeUnconfirmed }

// Percent formats a fraction as a signed percentage with two decimals
// (0.05 → "+5.00%", -0.991 → "-99.10%").
func Percent(fraction decimal.Decimal) string {
	text := fraction.Shift(2).StringFixed(2)
	if fraction.IsPositive() {
		text = "+" + text
	}
	return text + "%"
}

// ImportFX loads a cycle's FX rates with the default band and no
// confirmation (see ImportFXRates). Returns how many rates were added or
// replaced.
func ImportFX(ctx context.Context, database *sqlx.DB, month time.Time, r io.Reader, now time.Time) (int, error) {
	result, err := ImportFXRates(ctx, database, month, r, FXOptions{Now: now})
	return result.Added + result.Replaced, err
}

// ImportFXRates loads a cycle's FX rates from CSV (FXHeader: units of the
// currency per USD), all or nothing, in one transaction (SPEC §6.4):
//
//   - Every line is checked first (ParseRate: plain decimals only), and
//     every problem is reported as "line N, column C: reason".
//   - A rate equal to the month's loaded rate changes nothing (re-running
//     an import is safe and needs no confirmation).
//   - A new or different rate is compared with the previous cycle's rate for
//     the currency (the latest earlier month with one). If it moves more than
//     opts.MaxChange (|new − previous| > band × previous), the whole file is
//     refused with an *FXChangeError naming, per line, the previous month,
//     both rates and the move in %, unless opts.ConfirmChange. A currency's
//     first rate has nothing to compare with.
//   - A different rate for a currency the month already has replaces it
//     while the month's cycle has not started closing (no cycle yet, or
//     open). From the close on it is refused (ErrFXConflict, naming the
//     cycle's state), and so is any UPDATE of those rows at the database
//     (migration 130). Replacing within the band needs no confirmation.
//     Currencies the file does not list keep their rate: a rate is never
//     deleted (an unused one converts nothing). Adding a currency's first
//     rate to the month stays possible after the close — the release needs
//     a rate for every payout currency.
//   - Every rate added or replaced is audited in fx_rate_changes: before,
//     after, the previous cycle's rate, whether a move beyond the band was
//     confirmed, opts.By and opts.Now.
//
// Imports of one month run one at a time, and an import that replaces a rate
// holds a SHARE lock on cycles from its state check to its commit, so a
// close cannot start between the two.
func ImportFXRates(ctx context.Context, database *sqlx.DB, month time.Time, r io.Reader, opts FXOptions) (FXResult, error) {
	rates, err := parseFX(r)
	if err != nil {
		return FXResult{}, err
	}
	band := opts.MaxChange
	if band.IsZero() {
		band = payout.DefaultFXMaxChange
	}
	by := opts.By
	if by == "" {
		by = "system"
	}
	month = time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	var result FXResult
	err = db.WithTx(ctx, database, func(tx *sqlx.Tx) error {
		result = FXResult{Changes: []FXChange{}}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('payrun.fx_rates'), $1)`, month.Year()*100+int(month.Month())); err != nil {
			return err
		}
		loaded, err := loadedRates(ctx, tx, month)
		if err != nil {
			return err
		}
		previous, err := previousRates(ctx, tx, month)
		if err != nil {
			return err
		}
		type pending struct {
			fxRate
			change FXChange
		}
		var writes []pending
		var replaced []string
		var moves []FXMove
		for _, rate := range rates {
			change := FXChange{Currency: rate.currency, After: rate.rate}
			if old, ok := loaded[rate.currency]; ok {
				if old.Rate.Equal(rate.rate) {
					result.Unchanged++
					continue
				}
				before := old.Rate
				change.Before = &before
				replaced = append(replaced, fmt.Sprintf("%s is %s, not %s", rate.currency, old.Rate, rate.rate))
			}
			if prev, ok := previous[rate.currency]; ok {
				move := rate.rate.Sub(prev.Rate).Div(prev.Rate).Round(6)
				change.PreviousMonth, change.PreviousRate, change.Change = payout.MonthName(prev.Month), &prev.Rate, &move
				if rate.rate.Sub(prev.Rate).Abs().GreaterThan(band.Mul(prev.Rate)) {
					change.Confirmed = opts.ConfirmChange
					moves = append(moves, FXMove{Line: rate.line, Currency: rate.currency, PreviousMonth: change.PreviousMonth,
						PreviousRate: prev.Rate, Rate: rate.rate, Change: move})
				}
			}
			writes = append(writes, pending{rate, change})
		}
		if len(replaced) > 0 {
			// A close starting now waits for this transaction, and this
			// one for any close that already wrote its cycle row.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE cycles IN SHARE MODE`); err != nil {
				return err
			}
			var state string
			err := tx.GetContext(ctx, &state, `SELECT state FROM cycles WHERE month = $1`, month)
			if err == nil && state != "open" {
				return fmt.Errorf("%w: the %s cycle is %s, so its rates can no longer be replaced (only until the cycle closes): %s",
					ErrFXConflict, payout.MonthName(month), state, strings.Join(replaced, "; "))
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if len(moves) > 0 && !opts.ConfirmChange {
			return &FXChangeError{MaxChange: band, Moves: moves}
		}
		now := opts.Now.UTC()
		for _, w := range writes {
			if w.change.Before != nil {
				if _, err := tx.ExecContext(ctx, `UPDATE fx_rates SET rate = $3, rate_date = $4, source = $5, loaded_at = $6 WHERE month = $1 AND currency = $2`,
					month, w.currency, w.rate, w.date, w.source, now); err != nil {
					return err
				}
				result.Replaced++
			} else {
				if _, err := tx.ExecContext(ctx, `INSERT INTO fx_rates (month, currency, rate, rate_date, source, loaded_at) VALUES ($1, $2, $3, $4, $5, $6)`,
					month, w.currency, w.rate, w.date, w.source, now); err != nil {
					return err
				}
				result.Added++
			}
			old := loaded[w.currency]
			var previousMonth *time.Time
			if prev, ok := previous[w.currency]; ok {
				previousMonth = &prev.Month
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO fx_rate_changes (month, currency, old_rate, old_rate_date, old_source, new_rate, new_rate_date, new_source,
				                             previous_month, previous_rate, confirmed, changed_at, changed_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				month, w.currency, w.change.Before, old.date(), old.source(), w.rate, w.date, w.source,
				previousMonth, w.change.PreviousRate, w.change.Confirmed, now, by); err != nil {
				return err
			}
			result.Changes = append(result.Changes, w.change)
		}
		return nil
	})
	if err != nil {
		return FXResult{}, err
	}
	return result, nil
}

// storedRate is a row of fx_rates.
type storedRate struct {
	Month    time.Time       `db:"month"`
	Currency string          `db:"currency"`
	Rate     decimal.Decimal `db:"rate"`
	RateDate time.Time       `db:"rate_date"`
	Source   string          `db:"source"`
	present  bool
}

// date and source are nil for a rate that was not loaded (the audit's
// old_* columns).
func (s storedRate) date() any {
	if !s.present {
		return nil
	}
	return s.RateDate
}

func (s storedRate) source() any {
	if !s.present {
		return nil
	}
	return s.Source
}

// byCurrency indexes stored rates by their currency.
func byCurrency(rows []storedRate) map[string]storedRate {
	out := make(map[string]storedRate, len(rows))
	for _, row := range rows {
		row.present = true
		out[row.Currency] = row
	}
	return out
}

// loadedRates are the month's rates by currency, locked for the import.
func loadedRates(ctx context.Context, tx *sqlx.Tx, month time.Time) (map[string]storedRate, error) {
	var rows []storedRate
	if err := tx.SelectContext(ctx, &rows, `SELECT month, currency, rate, rate_date, source FROM fx_rates WHERE month = $1 FOR UPDATE`, month); err != nil {
		return nil, err
	}
	return byCurrency(rows), nil
}

// previousRates are, per currency, the rate of the latest month before
// month that has one: the previous cycle's rate for the currency.
func previousRates(ctx context.Context, tx *sqlx.Tx, month time.Time) (map[string]storedRate, error) {
	var rows []storedRate
	if err := tx.SelectContext(ctx, &rows, `
		SELECT DISTINCT ON (currency) month, currency, rate, rate_date, source FROM fx_rates
		 WHERE month < $1 ORDER BY currency, month DESC`, month); err != nil {
		return nil, err
	}
	return byCurrency(rows), nil
}
