package publisher

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/reports"
)

// Line states: where an earnings line is on its way to the publisher's
// bank (package doc "Balance by state", per line).
const (
	LineUnprocessed = "unprocessed" // not available yet
	LineUpcoming    = "upcoming"    // available, enters the next cycle
	LineHeld        = "held"        // in a balance the newest closed cycle held
	LineCarried     = "carried"     // in a balance the newest closed cycle carried
	LineProcessing  = "processing"  // paid by a closed cycle, files not released yet
	LineSent        = "sent"        // paid, released
	LineReturned    = "returned"    // paid, released, (part of) the payment came back
	LineSettled     = "settled"     // paid, released, the cycle settled
)

// LineStates are every line state, in the order a line moves through them.
var LineStates = []string{LineUnprocessed, LineUpcoming, LineHeld, LineCarried, LineProcessing, LineSent, LineReturned, LineSettled}

// MaxTransactionMonths bounds a transactions filter's month range.
const MaxTransactionMonths = 24

// Transaction is one earnings line with its state.
type Transaction struct {
	TransactionID   string    `json:"transaction_id"`
	RevenueSource   string    `json:"revenue_source"`
	TransactionType string    `json:"transaction_type"`
	Market          string    `json:"market"`
	USSourced       bool      `json:"us_sourced"`
	TransactionAt   time.Time `json:"transaction_at"`
	EligibleAt      time.Time `json:"eligible_at"`
	AvailableAt     time.Time `json:"available_at"`
	Amount          string    `json:"amount"`
	State           string    `json:"state"`
	// Cycle is the cycle that paid the line (processing, sent, returned,
	// settled) or last kept it (held, carried).
	Cycle     string `json:"cycle,omitempty"`
	PaymentID string `json:"payment_id,omitempty"`
	// Withheld is the line's share of its payout's withholding (the
	// statement's allocation: largest remainder over the payout's
	// US-sourced lines, refunds get none); empty when not paid.
	Withheld string `json:"withheld,omitempty"`
}

// TransactionFilter narrows a transactions list. From and To ("YYYY-MM",
// both included) are months of the lines' available_at: the cycle window
// each line falls in. Empty fields do not filter.
type TransactionFilter struct {
	From, To        string
	State           string
	RevenueSource   string
	Market          string
	TransactionType string
}

// window is the range of available_at [from, to) whose lines share a
// state.
type window struct {
	from, to  time.Time
	state     string
	cycle     string
	paymentID string
	month     time.Time
	withheld  decimal.Decimal
}

// check validates the filter and returns its available_at range.
func (f TransactionFilter) check() (from, to time.Time, err error) {
	from, to = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	if f.From != "" {
		if from, err = payout.ParseMonth(f.From); err != nil {
			return from, to, fielderr.Newf("from", fielderr.Invalid, "%q is not a month (YYYY-MM)", f.From)
		}
	}
	if f.To != "" {
		month, err := payout.ParseMonth(f.To)
		if err != nil {
			return from, to, fielderr.Newf("to", fielderr.Invalid, "%q is not a month (YYYY-MM)", f.To)
		}
		to = month.AddDate(0, 1, 0)
	}
	if f.From != "" && f.To != "" {
		if !to.After(from) {
			return from, to, fielderr.Newf("to", fielderr.Range, "%s is before from (%s)", f.To, f.From)
		}
		if to.After(from.AddDate(0, MaxTransactionMonths, 0)) {
			return from, to, fielderr.Newf("to", fielderr.Range, "%s to %s is more than %d months", f.From, f.To, MaxTransactionMonths)
		}
	}
	if f.State != "" && !contains(LineStates, f.State) {
		return from, to, fielderr.Newf("state", fielderr.Invalid, "%q is not one of %s", f.State, strings.Join(LineStates, ", "))
	}
	if f.RevenueSource != "" && !contains(ledger.RevenueSources, f.RevenueSource) {
		return from, to, fielderr.Newf("revenue_source", fielderr.Invalid, "%q is not one of %s", f.RevenueSource, strings.Join(ledger.RevenueSources, ", "))
	}
	if f.TransactionType != "" && !contains(ledger.TransactionTypes, f.TransactionType) {
		return from, to, fielderr.Newf("transaction_type", fielderr.Invalid, "%q is not one of %s", f.TransactionType, strings.Join(ledger.TransactionTypes, ", "))
	}
	if f.Market != "" && (len(f.Market) != 2 || f.Market[0] < 'A' || f.Market[0] > 'Z' || f.Market[1] < 'A' || f.Market[1] > 'Z') {
		return from, to, fielderr.Newf("market", fielderr.Invalid, "%q is not a two-letter country code (upper case)", f.Market)
	}
	return from, to, nil
}

// Transactions lists accountID's earnings lines with their states, newest
// available first, after cursor (empty: from the newest), at most limit
// (1..MaxPageSize); it returns the next cursor, empty after the last page.
// Errors: *fielderr.Error (from, to, state, revenue_source, market,
// transaction_type, cursor, limit), ErrUnknownAccount.
func (s *Service) Transactions(ctx context.Context, accountID int64, filter TransactionFilter, cursor string, limit int) ([]Transaction, string, error) {
	from, to, err := filter.check()
	if err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", fielderr.Newf("limit", fielderr.Range, "%d is outside 1..%d", limit, MaxPageSize)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	asOf := s.now()
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = tx.Rollback() }()
	// A page must be planned for its account: a generic plan (what a
	// statement cached by the driver gets after five runs) guesses a few
	// lines per account, sorts every line after the cursor of a 100k-line
	// publisher (90 ms) instead of reading the month partitions' index
	// backwards and stopping at the page (under 1 ms).
	if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return nil, "", err
	}
	var exists bool
	if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID); err != nil {
		return nil, "", err
	}
	if !exists {
		return nil, "", fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	}
	windows, err := lineWindows(ctx, tx, accountID, asOf)
	if err != nil {
		return nil, "", err
	}

	// The state filter is a set of available_at ranges.
	var ranges []string
	args := []any{accountID, from, to, filter.RevenueSource, filter.Market, filter.TransactionType, after.at, after.id, after.source, limit + 1}
	if filter.State != "" {
		for _, w := range windows {
			if w.state == filter.State {
				args = append(args, w.from, w.to)
				ranges = append(ranges, fmt.Sprintf("(available_at >= $%d AND available_at < $%d)", len(args)-1, len(args)))
			}
		}
		if len(ranges) == 0 {
			return []Transaction{}, "", nil
		}
	}
	stateClause := ""
	if len(ranges) > 0 {
		stateClause = " AND (" + strings.Join(ranges, " OR ") + ")"
	}
	rows, err := tx.QueryxContext(ctx, `
		SELECT `+lineColumns+`
		FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 AND available_at < $3
		  AND ($4 = '' OR revenue_source = $4) AND ($5 = '' OR market = $5) AND ($6 = '' OR transaction_type = $6)
		  AND (available_at, transaction_id, revenue_source) < ($7, $8, $9)`+stateClause+`
		ORDER BY `+lineOrder+` LIMIT $10`, args...)
	if err != nil {
		return nil, "", err
	}
	var lines []Transaction
	for rows.Next() {
		t, err := scanLine(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		lines = append(lines, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(lines) > limit {
		lines = lines[:limit]
		last := lines[limit-1]
		next = encodeCursor(lineKey{last.AvailableAt, last.TransactionID, last.RevenueSource})
	}
	states := &lineStates{tx: tx, accountID: accountID, windows: windows, cache: &s.allocations}
	for i := range lines {
		if err := states.fill(ctx, &lines[i]); err != nil {
			return nil, "", err
		}
	}
	if lines == nil {
		lines = []Transaction{}
	}
	return lines, next, nil
}

// lineColumns are what scanLine reads of an earnings line, and lineOrder
// the order lists and exports give lines in: newest available first.
const (
	lineColumns = `transaction_id, revenue_source, transaction_type, market, transaction_at, eligible_at, available_at, amount`
	lineOrder   = `available_at DESC, transaction_id DESC, revenue_source DESC`
)

// scanLine reads one earnings line (lineColumns) without its state.
func scanLine(row interface{ Scan(...any) error }) (Transaction, error) {
	var t Transaction
	var amount decimal.Decimal
	if err := row.Scan(&t.TransactionID, &t.RevenueSource, &t.TransactionType, &t.Market, &t.TransactionAt, &t.EligibleAt,
		&t.AvailableAt, &amount); err != nil {
		return t, err
	}
	t.TransactionAt, t.EligibleAt, t.AvailableAt = t.TransactionAt.UTC(), t.EligibleAt.UTC(), t.AvailableAt.UTC()
	t.Amount, t.USSourced = usd(amount), t.Market == "US"
	return t, nil
}

// lineStates gives lines their state, cycle, payment and withholding share
// from the windows of one snapshot (tx). Lines come in available_at order
// (either way), so they visit each window in one run: it holds one paid
// payout's allocation at a time, computed when the first of its US-sourced
// lines comes.
type lineStates struct {
	tx        *sqlx.Tx
	accountID int64
	windows   []window
	cache     *allocationCache // nil: compute every allocation (exports)
	// end bounds an export's lines (available_at < end) when cache is nil:
	// an export takes each payout's shares in order (payoutShares), newest
	// first.
	end  time.Time
	seed maphash.Seed

	loaded  bool
	month   time.Time        // the payout whose allocation shares or ordered holds
	shares  map[string]int64 // allocation(month), in cents
	ordered *payoutShares    // an export's: instead of shares while the lines come in order
	misses  int              // lines ordered did not expect (then shares gave theirs)
}

func (l *lineStates) fill(ctx context.Context, t *Transaction) error {
	w := windowOf(l.windows, t.AvailableAt)
	t.State, t.Cycle, t.PaymentID = w.state, w.cycle, w.paymentID
	if w.paymentID == "" {
		return nil
	}
	if !t.USSourced {
		t.Withheld = "0.00"
		return nil
	}
	if !l.loaded || !l.month.Equal(w.month) {
		l.shares, l.ordered = nil, nil // let the previous payout's go before loading the next
		var shares map[string]int64
		var ordered *payoutShares
		var err error
		if l.cache != nil {
			shares, err = l.cache.get(ctx, l.tx, l.accountID, w)
		} else if ordered, err = loadPayoutShares(ctx, l.tx, l.accountID, w, l.end, l.seed); err == nil && ordered == nil {
			shares, err = allocation(ctx, l.tx, l.accountID, w)
		}
		if err != nil {
			return err
		}
		l.loaded, l.month, l.shares, l.ordered = true, w.month, shares, ordered
	}
	if l.ordered != nil {
		if cents, ok := l.ordered.take(lineHash(l.seed, t.TransactionID, t.RevenueSource)); ok {
			t.Withheld = centsText(cents)
			return nil
		}
		// Not the line expected (cannot happen: the same snapshot, the
		// reverse order): the rest of the payout's lines by their keys.
		l.ordered, l.misses = nil, l.misses+1
		shares, err := allocation(ctx, l.tx, l.accountID, w)
		if err != nil {
			return err
		}
		l.shares = shares
	}
	t.Withheld = centsText(l.shares[t.TransactionID+"\x00"+t.RevenueSource])
	return nil
}

// lineWindows splits time into the ranges of available_at whose lines
// share a state, as of asOf: each paid payout's window [previous paid
// cutoff, its cutoff), then what the newest closed cycle kept (held or
// carried), then upcoming and unprocessed.
func lineWindows(ctx context.Context, tx *sqlx.Tx, accountID int64, asOf time.Time) ([]window, error) {
	type paid struct {
		Month     time.Time       `db:"month"`
		Cutoff    time.Time       `db:"cutoff"`
		PaymentID string          `db:"payment_id"`
		Withheld  decimal.Decimal `db:"withheld"`
		State     string          `db:"state"`
		Released  bool            `db:"released"`
		Returned  bool            `db:"returned"`
	}
	var payouts []paid
	if err := tx.SelectContext(ctx, &payouts, `
		SELECT p.month, c.cutoff, p.payment_id, p.withheld, c.state,
		       EXISTS (SELECT 1 FROM payments pm WHERE pm.month = p.month AND pm.account_id = p.account_id) AS released,
		       EXISTS (SELECT 1 FROM payout_returns r WHERE r.month = p.month AND r.account_id = p.account_id AND r.recorded_at < $2) AS returned
		FROM payouts p JOIN cycles c ON c.month = p.month
		WHERE p.account_id = $1 AND p.status = 'paid' AND c.state NOT IN ($3, $4) AND c.cutoff <= $2 ORDER BY p.month`,
		accountID, asOf, store.StateOpen, store.StateClosing); err != nil {
		return nil, err
	}
	var windows []window
	start := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range payouts {
		state := LineProcessing
		switch {
		case p.Released && p.Returned:
			state = LineReturned
		case p.Released && p.State == store.StateSettled:
			state = LineSettled
		case p.Released:
			state = LineSent
		}
		windows = append(windows, window{from: start, to: p.Cutoff, state: state, cycle: payout.MonthName(p.Month),
			paymentID: p.PaymentID, month: p.Month, withheld: p.Withheld})
		start = p.Cutoff
	}
	var newest struct {
		Month  time.Time      `db:"month"`
		Cutoff time.Time      `db:"cutoff"`
		Status sql.NullString `db:"status"`
	}
	err := tx.GetContext(ctx, &newest, `
		SELECT c.month, c.cutoff, p.status FROM cycles c LEFT JOIN payouts p ON p.month = c.month AND p.account_id = $1
		WHERE c.state NOT IN ($2, $3) AND c.cutoff <= $4 ORDER BY c.month DESC LIMIT 1`, accountID, store.StateOpen, store.StateClosing, asOf)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err == nil && newest.Cutoff.After(start) {
		// Lines before the newest cutoff no payout consumed: in the balance
		// it kept (a zero balance it did not evaluate counts as carried).
		state := LineCarried
		if newest.Status.String == string(payout.Held) {
			state = LineHeld
		}
		windows = append(windows, window{from: start, to: newest.Cutoff, state: state, cycle: payout.MonthName(newest.Month)})
		start = newest.Cutoff
	}
	windows = append(windows,
		window{from: start, to: asOf, state: LineUpcoming},
		window{from: asOf, to: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), state: LineUnprocessed})
	return windows, nil
}

// windowOf finds the window holding at (windows are ordered and contiguous).
func windowOf(windows []window, at time.Time) window {
	i := sort.Search(len(windows), func(i int) bool { return at.Before(windows[i].to) })
	if i == len(windows) {
		return windows[len(windows)-1]
	}
	return windows[i]
}

// microAmount is a line's amount in micro-dollars, NULL where int64 cannot
// hold it: numeric(20,6) (and money.MaxLedgerAmount) goes to 10^14
// dollars, int64 micro-dollars to 9.2·10^12.
const microAmount = `CASE WHEN abs(amount) <= 9223372036854.775807 THEN (amount * 1000000)::bigint END`

// usLinesQuery reads the US-sourced lines of a paid window [$2, $3) in the
// statement's order (available_at, transaction id, revenue source: the
// reverse of lineOrder): key, amount in micro-dollars (microAmount) and
// whether available_at is before $4.
const usLinesQuery = `
	SELECT transaction_id, revenue_source, ` + microAmount + `, available_at < $4
	FROM earnings_lines
	WHERE account_id = $1 AND available_at >= $2 AND available_at < $3 AND market = 'US'
	ORDER BY available_at, transaction_id, revenue_source`

// allocation is a paid payout's withholding spread over its US-sourced
// lines as the statement spreads it (reports.AllocateWithholding, lines in
// available_at, transaction id, revenue source order), in cents, keyed by
// transaction id and revenue source. It is computed in integers
// (reports.AllocateWithholdingCents: the same cents), from the decimal
// amounts (decimalAllocation) when an amount or the withholding does not
// fit them.
func allocation(ctx context.Context, tx *sqlx.Tx, accountID int64, w window) (map[string]int64, error) {
	withheld, fits := centsOf(w.withheld)
	if !fits {
		return decimalAllocation(ctx, tx, accountID, w)
	}
	rows, err := tx.QueryContext(ctx, usLinesQuery, accountID, w.from, w.to, w.to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	var amounts []int64
	for rows.Next() {
		var id, source string
		var amount sql.NullInt64
		var before bool
		if err := rows.Scan(&id, &source, &amount, &before); err != nil {
			return nil, err
		}
		if !amount.Valid {
			rows.Close()
			return decimalAllocation(ctx, tx, accountID, w)
		}
		keys, amounts = append(keys, id+"\x00"+source), append(amounts, amount.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	parts := reports.AllocateWithholdingCents(withheld, amounts)
	shares := make(map[string]int64, len(keys))
	for i, key := range keys {
		if parts != nil {
			shares[key] = parts[i]
		}
	}
	return shares, nil
}

// decimalAllocation is allocation from the decimal amounts
// (reports.AllocateWithholding), for the payouts whose amounts or
// withholding int64 does not hold.
func decimalAllocation(ctx context.Context, tx *sqlx.Tx, accountID int64, w window) (map[string]int64, error) {
	rows, err := tx.QueryxContext(ctx, `
		SELECT transaction_id, revenue_source, amount FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 AND available_at < $3 AND market = 'US'
		ORDER BY available_at, transaction_id, revenue_source`, accountID, w.from, w.to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	var amounts []decimal.Decimal
	for rows.Next() {
		var id, source string
		var amount decimal.Decimal
		if err := rows.Scan(&id, &source, &amount); err != nil {
			return nil, err
		}
		keys, amounts = append(keys, id+"\x00"+source), append(amounts, amount)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	parts := reports.AllocateWithholding(w.withheld, amounts)
	amounts = nil
	shares := make(map[string]int64, len(keys))
	for i, key := range keys {
		if parts != nil {
			shares[key] = parts[i].Shift(2).IntPart()
		}
	}
	return shares, nil
}

// lineKey is a transactions cursor: the last line's sort key.
type lineKey struct {
	at     time.Time
	id     string
	source string
}

func encodeCursor(k lineKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.at.UnixMicro(), 10) + "\x00" + k.id + "\x00" + k.source))
}

// decodeCursor reads a cursor; empty means from the newest.
func decodeCursor(cursor string) (lineKey, error) {
	if cursor == "" {
		return lineKey{at: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, nil
	}
	bad := fielderr.Newf("cursor", fielderr.Invalid, "not a cursor this list gave")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return lineKey{}, bad
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return lineKey{}, bad
	}
	micros, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return lineKey{}, bad
	}
	return lineKey{at: time.UnixMicro(micros).UTC(), id: parts[1], source: parts[2]}, nil
}
