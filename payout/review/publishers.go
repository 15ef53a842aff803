package review

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/reports"
)

// PublisherRow is one payouts row of the cycle with its account.
type PublisherRow struct {
	AccountID                                int64
	SellerID, Name, Country, Status          string
	Reasons                                  []string
	Balance, USBase, Withheld, Paid, Carried decimal.Decimal  // Balance = balance_us+balance_other; USBase = withholding_base; Carried = carried_us+carried_other
	Rate                                     *decimal.Decimal // nil when no rate
	RateReason, Method, Currency, PaymentID  string
}

// PublisherPage is one page of the publishers table.
type PublisherPage struct {
	Rows []PublisherRow
	Next string // "" on the last page
}

// Publishers returns one page of month's payouts rows matching f, in f's
// order, after f.After. Errors: f.Check's field errors (nothing is read),
// the database's. See the package documentation for how a page is found.
func (s *Service) Publishers(ctx context.Context, month time.Time, f Filter) (PublisherPage, error) {
	page := PublisherPage{Rows: []PublisherRow{}}
	if err := f.Check(); err != nil {
		return page, err
	}
	month = monthStart(month)
	fig, err := s.figures(ctx, month, f.sort() != SortSeller)
	if err != nil {
		return page, err
	}
	limit := f.limit()
	q, none := publishersQuery(month, f, fig, limit+1)
	if none {
		return page, nil
	}
	var ranks []int64 // the rows' ranks, when read from a stored order
	err = s.readTx(ctx, q.scansMonth, func(tx *sqlx.Tx) error {
		if q.walk != nil {
			boundary, err := cursorBoundary(ctx, tx, month, q.after, f.Desc, fig.Payouts)
			if err != nil {
				return err
			}
			page.Rows, ranks, err = walkOrder(ctx, tx, month, q, boundary, limit+1, fig.blockSize, fig.Payouts)
			return err
		}
		rows, err := tx.QueryContext(ctx, q.sql, q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			row, err := scanPublisher(rows)
			if err != nil {
				return err
			}
			page.Rows = append(page.Rows, row)
		}
		return rows.Err()
	})
	if err != nil {
		return PublisherPage{Rows: []PublisherRow{}}, fmt.Errorf("review: publishers of %s: %w", month.Format("2006-01"), err)
	}
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		c := cursor{sort: f.sort(), desc: f.Desc, accountID: last.AccountID, seller: last.SellerID}
		c.amount = sortAmount(c.sort, last)
		if ranks != nil {
			c.rank = ranks[limit-1]
		}
		page.Next = c.encode()
	}
	return page, nil
}

// ExportColumns is the header row of ExportPublishers' CSV.
var ExportColumns = []string{"seller_id", "name", "country", "status", "reasons", "balance", "us_base", "withheld", "paid",
	"carried", "rate", "rate_reason", "method", "currency", "payment_id"}

// ExportPublishers writes every row matching f (After and Limit ignored)
// as CSV with a header row (ExportColumns), in f's order, streaming: rows
// go to w as Postgres sends them, never the whole set in memory. Amounts
// are plain decimals at their column's scale (balances 6 decimals, USD
// paid and withheld 2, rates 4); reasons are separated by ";"; text that a
// spreadsheet would evaluate gets a leading apostrophe (reports.CSVText).
// It returns the rows written (the header not counted). Errors: f.Check's
// field errors (nothing is written), the database's and w's.
func (s *Service) ExportPublishers(ctx context.Context, month time.Time, f Filter, w io.Writer) (int64, error) {
	f.After, f.Limit = "", 0
	if err := f.Check(); err != nil {
		return 0, err
	}
	month = monthStart(month)
	fig, err := s.figures(ctx, month, false)
	if err != nil {
		return 0, err
	}
	out := csv.NewWriter(w)
	if err := out.Write(ExportColumns); err != nil {
		return 0, err
	}
	var written int64
	q, none := publishersQuery(month, f, fig, 0)
	if !none {
		err = s.readTx(ctx, true, func(tx *sqlx.Tx) error {
			rows, err := tx.QueryContext(ctx, q.sql, q.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				row, err := scanPublisher(rows)
				if err != nil {
					return err
				}
				rate := ""
				if row.Rate != nil {
					rate = row.Rate.StringFixed(4)
				}
				if err := out.Write([]string{reports.CSVText(row.SellerID), reports.CSVText(row.Name), row.Country, row.Status,
					strings.Join(row.Reasons, ";"), row.Balance.StringFixed(6), row.USBase.StringFixed(6), row.Withheld.StringFixed(2),
					row.Paid.StringFixed(2), row.Carried.StringFixed(6), rate, reports.CSVText(row.RateReason), row.Method, row.Currency,
					row.PaymentID}); err != nil {
					return err
				}
				written++
			}
			return rows.Err()
		})
		if err != nil {
			return written, fmt.Errorf("review: export publishers of %s: %w", month.Format("2006-01"), err)
		}
	}
	out.Flush()
	return written, out.Error()
}

// query is one SQL statement with its arguments.
type query struct {
	sql  string
	args []any
	// scansMonth: the statement reads every payouts row of the month
	// matching its filters (an amount sort not led by keys): parallel
	// workers help.
	scansMonth bool
	// walk: an amount sort read from its stored order, a batch of ranks at
	// a time (walkOrder); sql is then the statement of one batch.
	walk *orderWalk
	// after: the filter's cursor, nil on the first page.
	after *cursor
}

func (q *query) arg(value any) string {
	q.args = append(q.args, value)
	return fmt.Sprintf("$%d", len(q.args))
}

// selectColumns are scanned by scanPublisher, in order.
const selectColumns = `a.id, a.seller_id, a.display_name, a.registration_country, p.status, array_to_string(p.reasons, ','),
       p.balance_us + p.balance_other, p.withholding_base, p.withheld, p.paid_usd, p.carried_us + p.carried_other,
       p.rate, p.rate_reason, coalesce(p.method, ''), coalesce(p.currency, ''), coalesce(p.payment_id, '')`

// amountKeys are the SQL of the amount sorts' keys, over payouts p.
var amountKeys = map[string]string{
	SortBalance:  "(p.balance_us + p.balance_other)",
	SortPaid:     "p.paid_usd",
	SortWithheld: "p.withheld",
	SortCarried:  "(p.carried_us + p.carried_other)",
}

func sortAmount(sort string, row PublisherRow) decimal.Decimal {
	switch sort {
	case SortBalance:
		return row.Balance
	case SortPaid:
		return row.Paid
	case SortWithheld:
		return row.Withheld
	case SortCarried:
		return row.Carried
	}
	return decimal.Zero
}

// publishersQuery builds the statement of a page (limit > 0: that many
// rows at most) or of the export (limit 0), after f's cursor. none is true
// when the cycle's figures show that nothing matches (a status, reason,
// method or currency without a row): no statement to run.
//
// How rows are found (see the package documentation):
//   - a rare status/reason/method/currency value (figures.Keyed): its
//     cycle_review_keys range, in seller order, each row's payouts row and
//     account probed — the rarest such value when there are several;
//   - otherwise accounts in seller order (accounts_seller_id_key, or
//     accounts_country_seller for a country), each probing its payouts row
//     of the month, until the page is full; a search is found through
//     accounts_seller_lower and accounts_name_lower when the planner
//     judges it selective enough (custom plans, see readTx);
//   - a page of an amount sort, when the cycle's orders are stored and
//     nothing is searched: the sort's stored order from the cursor's rank,
//     the ranks whose codes have the status, method, currency and reason
//     filters' bits, each one's payouts row and account probed with every
//     filter (q.walk: walkOrder runs the statement batch by batch); a
//     country rare enough that reading all its accounts costs less than
//     the probes of a walk is read as below;
//   - an amount sort otherwise (no stored order, a search, the export):
//     without an account filter, the page is picked from the month's
//     payouts rows first (one pass, a top-N sort), then joined to its
//     accounts.
func publishersQuery(month time.Time, f Filter, fig *figures, limit int) (q query, none bool) {
	if f.After != "" {
		c, err := f.cursor()
		if err != nil {
			return q, true // Check refused it already
		}
		q.after = &c
	}
	after := q.after
	monthArg := q.arg(month)
	var payoutConditions, accountConditions []string
	var dimensions []dimensionFilter
	if f.Status != "" {
		dimensions = append(dimensions, dimensionFilter{dimensionStatus, f.Status, "p.status = " + q.arg(f.Status)})
	}
	if f.Reason != "" {
		dimensions = append(dimensions, dimensionFilter{dimensionReason, f.Reason, "p.reasons @> ARRAY[" + q.arg(f.Reason) + "]::text[]"})
	}
	if f.Method != "" {
		dimensions = append(dimensions, dimensionFilter{dimensionMethod, f.Method, "p.method = " + q.arg(f.Method)})
	}
	if f.Currency != "" {
		dimensions = append(dimensions, dimensionFilter{dimensionCurrency, f.Currency, "p.currency = " + q.arg(f.Currency)})
	}
	var driver *dimensionFilter
	var driverRows int64
	for i, d := range dimensions {
		payoutConditions = append(payoutConditions, d.condition)
		if fig == nil {
			continue
		}
		n := fig.count(d.dimension, d.value)
		if n == 0 {
			return q, true
		}
		if fig.keyed(d.dimension, d.value) && (driver == nil || n < driverRows) {
			driver, driverRows = &dimensions[i], n
		}
	}
	sort := f.sort()
	if f.Country != "" {
		accountConditions = append(accountConditions, "a.registration_country = "+q.arg(f.Country))
	}
	search := strings.TrimSpace(f.Query)
	if search != "" {
		accountConditions = append(accountConditions, fmt.Sprintf("(lower(a.seller_id) = lower(%s) OR lower(a.display_name) LIKE lower(%s))",
			q.arg(search), q.arg(likePrefix(search))))
	}

	direction, compare := "", ">"
	if f.Desc {
		direction, compare = " DESC", "<"
	}
	countryRead := false
	if sort != SortSeller && limit > 0 && search == "" && fig != nil && fig.ordered {
		if w := chooseWalk(sort, f.Desc, dimensions, f.Country, fig, limit); w != nil {
			conditions := append(append([]string{}, payoutConditions...), accountConditions...)
			w.idsArg, w.ranksArg, w.limitArg = len(q.args)+1, len(q.args)+2, len(q.args)+3
			q.args = append(q.args, nil, nil, nil)
			q.walk = w
			q.sql = fmt.Sprintf("SELECT %s, o.rank\nFROM unnest($%d::bigint[], $%d::bigint[]) AS o (account_id, rank)"+
				"\nJOIN payouts p ON p.month = %s AND p.account_id = o.account_id\nJOIN accounts a ON a.id = o.account_id",
				selectColumns, w.idsArg, w.ranksArg, monthArg)
			if len(conditions) > 0 {
				q.sql += "\nWHERE " + strings.Join(conditions, " AND ")
			}
			q.sql += fmt.Sprintf("\nORDER BY o.rank%s LIMIT $%d", direction, w.limitArg)
			return q, false
		}
		// A rare country: its accounts (accounts_country_seller), each
		// probing its payouts row, and a top-N sort.
		driver, countryRead = nil, true
	}
	if sort != SortSeller && driverRows > maxKeyedSortRows {
		driver = nil // cheaper to scan the month once than to probe each keyed row
	}

	var from, order string
	var conditions []string
	sellerKey := "a.seller_id"
	if driver != nil {
		sellerKey = "k.seller_id"
		from = `cycle_review_keys k
		JOIN payouts p ON p.month = k.month AND p.account_id = k.account_id
		JOIN accounts a ON a.id = k.account_id`
		conditions = append(conditions, "k.month = "+monthArg, "k.dimension = "+q.arg(driver.dimension), "k.value = "+q.arg(driver.value))
	} else {
		from = "accounts a JOIN payouts p ON p.month = " + monthArg + " AND p.account_id = a.id"
	}
	conditions = append(conditions, payoutConditions...)
	conditions = append(conditions, accountConditions...)
	var keyset string
	if sort == SortSeller {
		if after != nil {
			keyset = fmt.Sprintf("%s %s %s", sellerKey, compare, q.arg(after.seller))
		}
		order = sellerKey + direction
	} else {
		key := amountKeys[sort]
		if after != nil {
			keyset = fmt.Sprintf("(%s, p.account_id) %s (%s, %s)", key, compare, q.arg(after.amount), q.arg(after.accountID))
		}
		order = key + direction + ", p.account_id" + direction
	}
	if keyset != "" {
		conditions = append(conditions, keyset)
	}
	// An amount sort not led by keys (nor by a rare country) reads every
	// row matching the month's filters before its top-N sort.
	q.scansMonth = sort != SortSeller && driver == nil && !countryRead
	if q.scansMonth && len(accountConditions) == 0 {
		// The page from payouts alone, then its accounts: joining every
		// row of the month to its account before the top-N sort would
		// cost a join of the whole month.
		inner := append([]string{"p.month = " + monthArg}, conditions...)
		from = "(SELECT * FROM payouts p WHERE " + strings.Join(inner, " AND ") + "\n\t\tORDER BY " + order + limitClause(limit) + ") p" +
			"\nJOIN accounts a ON a.id = p.account_id"
		conditions = nil
	}
	q.sql = "SELECT " + selectColumns + "\nFROM " + from
	if len(conditions) > 0 {
		q.sql += "\nWHERE " + strings.Join(conditions, " AND ")
	}
	q.sql += "\nORDER BY " + order + limitClause(limit)
	return q, false
}

// dimensionFilter is a filter on a payouts column: its dimension (as
// cycle_review_keys names it), value and SQL condition.
type dimensionFilter struct{ dimension, value, condition string }

// maxKeyedSortRows: an amount sort reads a keyed value's rows through
// cycle_review_keys only when it has at most this many rows. The page
// needs every one of them (probed one by one, 10-40 µs each at 1M
// publishers) before its top-N sort; past ~20,000, one scan of the month's
// payouts rows (400-600 ms at 1M) is cheaper.
const maxKeyedSortRows = 20_000

func limitClause(limit int) string {
	if limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", limit)
}

// likePrefix is a LIKE pattern matching text that starts with prefix
// (backslash, % and _ escaped; backslash is LIKE's default escape).
func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}

type scanner interface{ Scan(dest ...any) error }

// scanPublisher scans selectColumns, then extra (columns the statement
// selects after them).
func scanPublisher(rows scanner, extra ...any) (PublisherRow, error) {
	var row PublisherRow
	var reasons string
	var rate decimal.NullDecimal
	if err := rows.Scan(append([]any{&row.AccountID, &row.SellerID, &row.Name, &row.Country, &row.Status, &reasons,
		&row.Balance, &row.USBase, &row.Withheld, &row.Paid, &row.Carried, &rate, &row.RateReason,
		&row.Method, &row.Currency, &row.PaymentID}, extra...)...); err != nil {
		return row, err
	}
	row.Reasons = splitReasons(reasons)
	if rate.Valid {
		row.Rate = &rate.Decimal
	}
	return row, nil
}
