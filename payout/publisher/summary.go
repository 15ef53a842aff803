package publisher

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/reports"
)

// Service reads a publisher's payouts.
type Service struct {
	// allocations caches paid payouts' withholding allocations for the
	// transactions pages (allocationCache); the zero value is ready.
	allocations allocationCache

	DB    *sqlx.DB
	Store *store.Store
	// Policy is the configured policy: the one the next close records.
	Policy func() (payout.Policy, error)
	// Thresholds choose a year's 1099 form in TaxDocuments (zero: the
	// year-end defaults).
	Thresholds reports.Thresholds1099
	Clock      func() time.Time
	// OutDir is the output directory exports are written under
	// (exports/SELLER/ID.EXT): RunExport, ExportNow and OpenExport need it.
	OutDir string
	// Enqueue enqueues the payouts-export job of an export inside tx, the
	// transaction that writes the export's row (StartExport needs it;
	// cmd/payrun wires it to jobs.EnqueueTask).
	Enqueue func(ctx context.Context, tx pgx.Tx, exportID string, at time.Time) error
}

func (s *Service) now() time.Time { return s.Clock().UTC() }

// Summary is a publisher's balance by state and its next payment (package
// doc). Amounts are USD strings: cents, or micro-dollars where a balance
// has them.
type Summary struct {
	SellerID string    `json:"seller_id"`
	AsOf     time.Time `json:"as_of"`
	// Balance is the ledger balance (US-sourced and other parts together);
	// Reconciled says unprocessed + upcoming + held + carried + returned
	// equals it exactly.
	Balance     string      `json:"balance"`
	Reconciled  bool        `json:"reconciled"`
	Unprocessed Unprocessed `json:"unprocessed"`
	Upcoming    Upcoming    `json:"upcoming"`
	Held        Held        `json:"held"`
	Carried     Carried     `json:"carried"`
	Returned    Returned    `json:"returned"`
	InTransit   InTransit   `json:"in_transit"`
	YearToDate  YearToDate  `json:"year_to_date"`
	NextPayment NextPayment `json:"next_payment"`
}

// Unprocessed is what is not available yet, by the day each part becomes
// available (eligible, and imported).
type Unprocessed struct {
	Amount string            `json:"amount"`
	Parts  []UnprocessedPart `json:"parts"`
}

// UnprocessedPart is what becomes available on one day (UTC).
type UnprocessedPart struct {
	AvailableOn string `json:"available_on"`
	Amount      string `json:"amount"`
	Lines       int64  `json:"lines"`
}

// Upcoming is what enters the next cycle: lines available since the
// newest closed cycle's cutoff, and the sub-cent remainder its payout left.
type Upcoming struct {
	Amount    string `json:"amount"`
	Lines     int64  `json:"lines"`
	Remainder string `json:"remainder"`
	Since     string `json:"since,omitempty"` // the newest closed cycle's cutoff
}

// Held is what the newest closed cycle held, and why.
type Held struct {
	Amount  string       `json:"amount"`
	Cycle   string       `json:"cycle,omitempty"`
	Reasons []ReasonView `json:"reasons"`
}

// ReasonView is a reason with what unblocks it.
type ReasonView struct {
	Reason string `json:"reason"`
	Held   bool   `json:"held"`
	Remedy string `json:"remedy"`
}

// Carried is what the newest closed cycle carried: a payable amount below
// the threshold, or not positive.
type Carried struct {
	Amount  string       `json:"amount"`
	Cycle   string       `json:"cycle,omitempty"`
	Reasons []ReasonView `json:"reasons"`
	// Threshold and Needed are the estimate's: what the payable amount must
	// reach now, and how much more it needs ("0.00" when it is reached).
	Threshold string `json:"threshold,omitempty"`
	Needed    string `json:"needed,omitempty"`
}

// Returned is what came back since the newest closed cycle's cutoff: it is
// credited back and enters the next cycle.
type Returned struct {
	Amount   string           `json:"amount"`
	Payments []ReturnedAmount `json:"payments"`
}

// ReturnedAmount is one return.
type ReturnedAmount struct {
	PaymentID  string    `json:"payment_id"`
	Cycle      string    `json:"cycle"`
	Amount     string    `json:"amount"`
	Reason     string    `json:"reason"`
	ReturnedAt time.Time `json:"returned_at"`
}

// InTransit is what released payments carry that has not settled or come
// back (outside the balance).
type InTransit struct {
	Amount   string `json:"amount"`
	Payments int64  `json:"payments"`
}

// YearToDate is what was sent (less what came back) and withheld in
// payments dated this UTC year.
type YearToDate struct {
	Year     int    `json:"year"`
	Sent     string `json:"sent"`
	Withheld string `json:"withheld"`
}

// NextPayment is the estimate of the next cycle (store.Estimate).
type NextPayment struct {
	Cycle string `json:"cycle"`
	// Status is paid, held or carried; "none" when the balance is zero
	// (the close would not evaluate the account).
	Status  string       `json:"status"`
	Reasons []ReasonView `json:"reasons"`
	Balance string       `json:"balance"`
	// Rate, RateReason and Withheld are the withholding of paying Balance
	// (for a held or carried estimate: if it were paid; at the statutory
	// 30% while the tax profile is not valid). PayableUSD = Balance −
	// Withheld, rounded down to the cent.
	Rate        string    `json:"rate,omitempty"`
	RateReason  string    `json:"rate_reason,omitempty"`
	Withheld    string    `json:"withheld"`
	PayableUSD  string    `json:"payable_usd"`
	Threshold   string    `json:"threshold,omitempty"`
	Method      string    `json:"method,omitempty"`
	Currency    string    `json:"currency,omitempty"`
	FXRate      string    `json:"fx_rate,omitempty"`
	Payable     string    `json:"payable_in_currency,omitempty"`
	PaymentDate string    `json:"payment_date"`
	Cutoff      time.Time `json:"cutoff"`
}

// ErrUnknownAccount: no account has the id.
var ErrUnknownAccount = store.ErrUnknownAccount

// Summary is accountID's summary as of now.
// Errors: ErrUnknownAccount.
func (s *Service) Summary(ctx context.Context, accountID int64) (Summary, error) {
	return s.SummaryAt(ctx, accountID, s.now())
}

// SummaryAt is the summary as of asOf (facts strictly before it).
func (s *Service) SummaryAt(ctx context.Context, accountID int64, asOf time.Time) (Summary, error) {
	asOf = asOf.UTC()
	sum := Summary{AsOf: asOf}
	policy, err := s.Policy()
	if err != nil {
		return sum, err
	}
	tx, err := s.DB.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return sum, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.GetContext(ctx, &sum.SellerID, `SELECT seller_id FROM accounts WHERE id = $1`, accountID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return sum, fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
		}
		return sum, err
	}
	var balance decimal.Decimal
	if err := tx.GetContext(ctx, &balance, `SELECT coalesce(sum(balance), 0) FROM ledger_balances WHERE ledger_account IN ($1, $2)`,
		ledger.PublisherAccount(accountID, true), ledger.PublisherAccount(accountID, false)); err != nil {
		return sum, err
	}
	since := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	var newest struct {
		Month  time.Time `db:"month"`
		Cutoff time.Time `db:"cutoff"`
	}
	err = tx.GetContext(ctx, &newest, `SELECT month, cutoff FROM cycles WHERE state NOT IN ($1, $2) AND cutoff <= $3 ORDER BY month DESC LIMIT 1`,
		store.StateOpen, store.StateClosing, asOf)
	switch {
	case err == nil:
		since = newest.Cutoff
		sum.Upcoming.Since = since.Format(time.RFC3339)
	case !errors.Is(err, sql.ErrNoRows):
		return sum, err
	}

	// What the newest closed cycle kept: held, carried, or a paid payout's
	// sub-cent remainder.
	held, carried, remainder := decimal.Zero, decimal.Zero, decimal.Zero
	if !newest.Month.IsZero() {
		var status, reasons string
		var kept decimal.Decimal
		err := tx.QueryRowxContext(ctx, `SELECT status, array_to_string(reasons, ','), carried_us + carried_other FROM payouts WHERE month = $1 AND account_id = $2`,
			newest.Month, accountID).Scan(&status, &reasons, &kept)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return sum, err
		}
		cycle := payout.MonthName(newest.Month)
		switch payout.Status(status) {
		case payout.Held:
			held, sum.Held.Cycle, sum.Held.Reasons = kept, cycle, reasonViews(strings.Split(reasons, ","))
		case payout.Carried:
			carried, sum.Carried.Cycle, sum.Carried.Reasons = kept, cycle, reasonViews(strings.Split(reasons, ","))
		case payout.Paid:
			remainder = kept
		}
	}
	if sum.Held.Reasons == nil {
		sum.Held.Reasons = []ReasonView{}
	}
	if sum.Carried.Reasons == nil {
		sum.Carried.Reasons = []ReasonView{}
	}

	// Lines: available since the cutoff (upcoming), not yet (unprocessed).
	var upcoming decimal.Decimal
	if err := tx.QueryRowxContext(ctx, `SELECT coalesce(sum(amount), 0), count(*) FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 AND available_at < $3`, accountID, since, asOf).Scan(&upcoming, &sum.Upcoming.Lines); err != nil {
		return sum, err
	}
	sum.Upcoming.Amount, sum.Upcoming.Remainder = usd(upcoming.Add(remainder)), usd(remainder)
	unprocessed := decimal.Zero
	rows, err := tx.QueryxContext(ctx, `SELECT to_char(available_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), sum(amount), count(*) FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 GROUP BY 1 ORDER BY 1`, accountID, asOf)
	if err != nil {
		return sum, err
	}
	sum.Unprocessed.Parts = []UnprocessedPart{}
	for rows.Next() {
		var part UnprocessedPart
		var amount decimal.Decimal
		if err := rows.Scan(&part.AvailableOn, &amount, &part.Lines); err != nil {
			rows.Close()
			return sum, err
		}
		part.Amount, unprocessed = usd(amount), unprocessed.Add(amount)
		sum.Unprocessed.Parts = append(sum.Unprocessed.Parts, part)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sum, err
	}
	sum.Unprocessed.Amount = usd(unprocessed)

	// Returns since the cutoff: credited back, not yet in a closed cycle.
	returned := decimal.Zero
	sum.Returned.Payments = []ReturnedAmount{}
	rows, err = tx.QueryxContext(ctx, `
		SELECT coalesce(r.item_id, pm.payment_id, ''), r.month, r.amount_usd, r.reason, r.returned_at
		FROM payout_returns r LEFT JOIN payments pm ON pm.month = r.month AND pm.account_id = r.account_id
		WHERE r.account_id = $1 AND r.recorded_at >= $2 AND r.recorded_at < $3 ORDER BY r.recorded_at, r.id`, accountID, since, asOf)
	if err != nil {
		return sum, err
	}
	for rows.Next() {
		var r ReturnedAmount
		var month time.Time
		var amount decimal.Decimal
		if err := rows.Scan(&r.PaymentID, &month, &amount, &r.Reason, &r.ReturnedAt); err != nil {
			rows.Close()
			return sum, err
		}
		r.Cycle, r.Amount, r.ReturnedAt = payout.MonthName(month), usd(amount), r.ReturnedAt.UTC()
		returned = returned.Add(amount)
		sum.Returned.Payments = append(sum.Returned.Payments, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sum, err
	}
	sum.Returned.Amount = usd(returned)
	sum.Held.Amount, sum.Carried.Amount = usd(held), usd(carried)
	sum.Balance = usd(balance)
	sum.Reconciled = unprocessed.Add(upcoming).Add(remainder).Add(held).Add(carried).Add(returned).Equal(balance)

	// Outside the balance: in transit, and the year so far.
	var inTransit decimal.Decimal
	if err := tx.QueryRowxContext(ctx, `
		SELECT coalesce(sum(pm.amount_usd - coalesce(r.returned, 0)), 0), count(*) FILTER (WHERE pm.amount_usd > coalesce(r.returned, 0))
		FROM payments pm JOIN cycles c ON c.month = pm.month
		LEFT JOIN (SELECT month, sum(amount_usd) AS returned FROM payout_returns WHERE account_id = $1 GROUP BY month) r ON r.month = pm.month
		WHERE pm.account_id = $1 AND c.state = $2`, accountID, store.StateReleased).Scan(&inTransit, &sum.InTransit.Payments); err != nil {
		return sum, err
	}
	sum.InTransit.Amount = usd(inTransit)
	year := asOf.Year()
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	var sent, withheld decimal.Decimal
	if err := tx.QueryRowxContext(ctx, `
		SELECT coalesce(sum(pm.amount_usd - coalesce(r.returned, 0)), 0), coalesce(sum(p.withheld), 0)
		FROM payouts p JOIN cycles c ON c.month = p.month
		JOIN payments pm ON pm.month = p.month AND pm.account_id = p.account_id
		LEFT JOIN (SELECT month, sum(amount_usd) AS returned FROM payout_returns WHERE account_id = $1 GROUP BY month) r ON r.month = p.month
		WHERE p.account_id = $1 AND c.state IN ($2, $3) AND c.payment_date >= $4 AND c.payment_date < $5`,
		accountID, store.StateReleased, store.StateSettled, from, to).Scan(&sent, &withheld); err != nil {
		return sum, err
	}
	sum.YearToDate = YearToDate{Year: year, Sent: sent.StringFixed(2), Withheld: withheld.StringFixed(2)}
	if err := tx.Rollback(); err != nil {
		return sum, err
	}

	estimate, err := s.Store.Estimate(ctx, accountID, asOf, policy)
	if err != nil {
		return sum, err
	}
	sum.NextPayment = nextPayment(estimate)
	if !carried.IsZero() && estimate.Evaluated {
		sum.Carried.Threshold = estimate.Decision.Threshold.StringFixed(2)
		sum.Carried.Needed = decimal.Max(decimal.Zero, estimate.Decision.Threshold.Sub(estimate.Decision.Payable)).StringFixed(2)
	}
	return sum, nil
}

// nextPayment shows an estimate.
func nextPayment(e store.Estimate) NextPayment {
	n := NextPayment{Cycle: payout.MonthName(e.Month), Status: "none", Reasons: []ReasonView{}, Balance: "0.00", Withheld: "0.00",
		PayableUSD: "0.00", PaymentDate: e.Calendar.PaymentDate.Format(time.DateOnly), Cutoff: e.Calendar.Cutoff}
	if !e.Evaluated {
		return n
	}
	d := e.Decision
	n.Status, n.Reasons = string(d.Status), reasonViews(reasonStrings(d.Reasons))
	n.Balance = usd(d.BalanceUS.Add(d.BalanceOther))
	// The withholding the payable amount was judged with: what paying the
	// balance withholds (nothing is withheld from a kept balance).
	n.Withheld, n.PayableUSD, n.Threshold = d.JudgedWithholding.StringFixed(2), d.Payable.StringFixed(2), d.Threshold.StringFixed(2)
	n.Rate, n.RateReason = d.JudgedRate.StringFixed(4), d.JudgedReason
	if pa := d.PayoutAccount; pa != nil {
		n.Method, n.Currency = string(pa.Method), pa.Currency
		if e.FXRate.IsPositive() {
			n.FXRate = e.FXRate.String()
		}
		if e.PayableInCurrency.IsPositive() {
			places, _ := payout.CurrencyPlaces(pa.Method, pa.Currency) // converted, so known
			n.Payable = e.PayableInCurrency.StringFixed(places)
		}
	}
	return n
}

func reasonStrings(reasons []payout.Reason) []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = string(r)
	}
	return out
}

// reasonViews shows reasons in SPEC order, each with its remedy.
func reasonViews(reasons []string) []ReasonView {
	views := make([]ReasonView, 0, len(reasons))
	for _, r := range reasons {
		reason := payout.Reason(r)
		views = append(views, ReasonView{Reason: r, Held: reason.Held(), Remedy: reason.Remedy()})
	}
	return views
}

// usd shows a USD amount with cents, or with every decimal it has when it
// has sub-cent digits (balances are kept to the micro-dollar).
func usd(amount decimal.Decimal) string {
	if amount.Equal(amount.Truncate(2)) {
		return amount.StringFixed(2)
	}
	return amount.String()
}
