package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// ErrTotalsDrift is returned by VerifyTotals when earnings_totals no longer
// matches the lines it summarises.
var ErrTotalsDrift = errors.New("earnings totals differ from the earnings lines")

// RowQuerier runs a query expected to return at most one row (*sql.DB,
// *sql.Tx, *sqlx.DB, ...).
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// VerifyTotals recomputes earnings_totals from every attached earnings line
// and returns an error wrapping ErrTotalsDrift that names the first bucket
// (month, account, part, import) that differs. It reads every line: a check
// for tests, simulations and operators, never part of a close.
func VerifyTotals(ctx context.Context, q RowQuerier) error {
	var month time.Time
	var accountID, importID int64
	var usSourced bool
	var lines, kept decimal.Decimal
	err := q.QueryRowContext(ctx, `
		WITH lines AS (
		    SELECT date_trunc('month', available_at, 'UTC') AS month, account_id, market = 'US' AS us_sourced, import_id,
		           sum(amount) AS amount, count(*) AS lines
		      FROM earnings_lines GROUP BY 1, 2, 3, 4
		), attached AS (
		    -- Totals of archived (detached) months have no lines to compare.
		    SELECT * FROM earnings_totals WHERE month IN (SELECT month FROM lines)
		)
		SELECT coalesce(l.month, t.month), coalesce(l.account_id, t.account_id), coalesce(l.us_sourced, t.us_sourced),
		       coalesce(l.import_id, t.import_id), coalesce(l.amount, 0), coalesce(t.amount, 0)
		  FROM lines l FULL JOIN attached t USING (month, account_id, us_sourced, import_id)
		 WHERE l.amount IS DISTINCT FROM t.amount OR l.lines IS DISTINCT FROM t.lines
		 ORDER BY 1, 2, 3, 4 LIMIT 1`).Scan(&month, &accountID, &usSourced, &importID, &lines, &kept)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s, account %d, %s, import %d: the lines sum to %s, the totals say %s", ErrTotalsDrift,
		monthName(month), accountID, PublisherAccount(accountID, usSourced), importID, lines.StringFixed(6), kept.StringFixed(6))
}
