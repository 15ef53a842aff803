package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
)

// CycleView is a cycle as payrun shows it.
type CycleView struct {
	Month       string    `json:"month"`
	State       string    `json:"state"`
	Cutoff      time.Time `json:"cutoff"`
	PaymentDate time.Time `json:"payment_date"`
	// SettlementDate is the date the released files settle on (SPEC
	// §3.1): PaymentDate, or the next banking day after a release on or
	// after it (payout.SettlementDate). Absent until the release.
	SettlementDate *time.Time    `json:"settlement_date,omitempty"`
	ClosedAt       *time.Time    `json:"closed_at,omitempty"`
	ClosedBy       string        `json:"closed_by,omitempty"`
	ApprovedAt     *time.Time    `json:"approved_at,omitempty"`
	ApprovedBy     string        `json:"approved_by,omitempty"`
	ReleasedAt     *time.Time    `json:"released_at,omitempty"`
	ReleasedBy     string        `json:"released_by,omitempty"`
	Policy         payout.Policy `json:"policy"`
	Totals         Totals        `json:"totals"`
	Files          []string      `json:"files,omitempty"`
	Returns        []ReturnView  `json:"returns,omitempty"`
	// SplitPayments are the PayPal payments sent as several items (PayPal's
	// per-item maximum, SPEC §6.2), each with its items.
	SplitPayments []SplitPaymentView `json:"split_payments,omitempty"`

	// The operators' ids behind the names (0: the system principal).
	ClosedByOperatorID   int64 `json:"closed_by_operator_id,omitempty"`
	ApprovedByOperatorID int64 `json:"approved_by_operator_id,omitempty"`
	ReleasedByOperatorID int64 `json:"released_by_operator_id,omitempty"`
}

// SplitPaymentView is one payment sent as several PayPal items.
type SplitPaymentView struct {
	SellerID  string          `json:"seller_id"`
	PaymentID string          `json:"payment_id"`
	AmountUSD decimal.Decimal `json:"amount_usd"`
	Currency  string          `json:"currency"`
	Amount    decimal.Decimal `json:"amount"`
	Items     []ItemView      `json:"items"`
}

// ItemView is one PayPal item of a split payment.
type ItemView struct {
	ItemID    string          `json:"item_id"`
	AmountUSD decimal.Decimal `json:"amount_usd"`
	Amount    decimal.Decimal `json:"amount"`
}

// ReturnView is a returned payment of the cycle (one row per PayPal item
// that came back, for a payment sent as several items).
type ReturnView struct {
	SellerID   string          `json:"seller_id" db:"seller_id"`
	PaymentID  string          `json:"payment_id" db:"payment_id"`
	ItemID     string          `json:"item_id,omitempty" db:"item_id"`
	AmountUSD  decimal.Decimal `json:"amount_usd" db:"amount_usd"`
	Reason     string          `json:"reason" db:"reason"`
	ReturnedAt time.Time       `json:"returned_at" db:"returned_at"`
}

type cycleRecord struct {
	Month       time.Time      `db:"month"`
	State       string         `db:"state"`
	Cutoff      time.Time      `db:"cutoff"`
	PaymentDate time.Time      `db:"payment_date"`
	Settlement  sql.NullTime   `db:"settlement_date"`
	Policy      []byte         `db:"policy"`
	Totals      []byte         `db:"totals"`
	ClosedAt    sql.NullTime   `db:"closed_at"`
	ClosedBy    sql.NullString `db:"closed_by"`
	ApprovedAt  sql.NullTime   `db:"approved_at"`
	ApprovedBy  sql.NullString `db:"approved_by"`
	ReleasedAt  sql.NullTime   `db:"released_at"`
	ReleasedBy  sql.NullString `db:"released_by"`

	ClosedByID   sql.NullInt64 `db:"closed_by_operator_id"`
	ApprovedByID sql.NullInt64 `db:"approved_by_operator_id"`
	ReleasedByID sql.NullInt64 `db:"released_by_operator_id"`
}

const cycleColumns = `month, state, cutoff, payment_date, settlement_date, policy, totals, closed_at, closed_by, approved_at, approved_by, released_at, released_by,
	closed_by_operator_id, approved_by_operator_id, released_by_operator_id`

// Cycle returns a cycle's state, dates, totals and files.
// Errors: ErrUnknownCycle.
func (s *Store) Cycle(ctx context.Context, month time.Time) (CycleView, error) {
	var record cycleRecord
	err := s.DB.GetContext(ctx, &record, `SELECT `+cycleColumns+` FROM cycles WHERE month = $1`, month)
	if errors.Is(err, sql.ErrNoRows) {
		return CycleView{}, fmt.Errorf("%w: %s (close it first)", ErrUnknownCycle, payout.MonthName(month))
	}
	if err != nil {
		return CycleView{}, err
	}
	view := CycleView{Month: payout.MonthName(record.Month), State: record.State, Cutoff: record.Cutoff, PaymentDate: record.PaymentDate,
		ClosedBy: record.ClosedBy.String, ApprovedBy: record.ApprovedBy.String, ReleasedBy: record.ReleasedBy.String,
		ClosedByOperatorID: record.ClosedByID.Int64, ApprovedByOperatorID: record.ApprovedByID.Int64, ReleasedByOperatorID: record.ReleasedByID.Int64}
	view.ClosedAt, view.ApprovedAt, view.ReleasedAt = timePtr(record.ClosedAt), timePtr(record.ApprovedAt), timePtr(record.ReleasedAt)
	view.SettlementDate = timePtr(record.Settlement)
	if err := json.Unmarshal(record.Policy, &view.Policy); err != nil {
		return view, err
	}
	if record.Totals != nil {
		if err := json.Unmarshal(record.Totals, &view.Totals); err != nil {
			return view, err
		}
	} else if view.Totals, err = s.CycleTotals(ctx, month); err != nil {
		return view, err
	}
	if err := s.DB.SelectContext(ctx, &view.Files, `SELECT name FROM cycle_files WHERE month = $1 ORDER BY name`, month); err != nil {
		return view, err
	}
	if err := s.DB.SelectContext(ctx, &view.Returns, `
		SELECT a.seller_id, coalesce(p.payment_id, '') AS payment_id, coalesce(r.item_id, '') AS item_id, r.amount_usd, r.reason, r.returned_at
		FROM payout_returns r JOIN accounts a ON a.id = r.account_id JOIN payouts p ON p.month = r.month AND p.account_id = r.account_id
		WHERE r.month = $1 ORDER BY a.seller_id, r.item_id NULLS FIRST`, month); err != nil {
		return view, err
	}
	if view.SplitPayments, err = s.splitPayments(ctx, month); err != nil {
		return view, err
	}
	return view, nil
}

// splitPayments lists month's PayPal payments sent as several items, by
// payment id, each with its items in order.
func (s *Store) splitPayments(ctx context.Context, month time.Time) ([]SplitPaymentView, error) {
	rows, err := s.DB.QueryxContext(ctx, `
		SELECT a.seller_id, m.payment_id, m.amount_usd, m.currency, m.amount_in_currency, i.item_id, i.amount_usd, i.amount_in_currency
		FROM payment_items i JOIN payments m ON m.payment_id = i.payment_id JOIN accounts a ON a.id = m.account_id
		WHERE m.month = $1 ORDER BY m.payment_id, i.item`, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var splits []SplitPaymentView
	for rows.Next() {
		var p SplitPaymentView
		var item ItemView
		if err := rows.Scan(&p.SellerID, &p.PaymentID, &p.AmountUSD, &p.Currency, &p.Amount, &item.ItemID, &item.AmountUSD, &item.Amount); err != nil {
			return nil, err
		}
		if n := len(splits); n == 0 || splits[n-1].PaymentID != p.PaymentID {
			splits = append(splits, p)
		}
		splits[len(splits)-1].Items = append(splits[len(splits)-1].Items, item)
	}
	return splits, rows.Err()
}

// Cycles lists every cycle, newest first.
func (s *Store) Cycles(ctx context.Context) ([]CycleView, error) {
	var months []time.Time
	if err := s.DB.SelectContext(ctx, &months, `SELECT month FROM cycles ORDER BY month DESC`); err != nil {
		return nil, err
	}
	views := make([]CycleView, 0, len(months))
	for _, month := range months {
		view, err := s.Cycle(ctx, month)
		if err != nil {
			return nil, err
		}
		views = append(views, view)
	}
	return views, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// Approve records a finance approver's approval of a cycle awaiting it
// (maker-checker, SPEC §3.4). The approver is an operator, by id (the CLI
// resolves --by with Store.Operator, the API passes the signed-in
// operator's id): it must hold the finance_approver role and must not be
// the operator who closed the cycle — nor one who ran any step of its close
// (the cycle's closing events). Ids are compared, never names, so no
// spelling of the closer's name gets through; the system principal (id 0)
// never approves. The cycle can then be released.
// Errors: ErrUnknownCycle, ErrNotApprovable, ErrUnknownOperator,
// ErrNotAnApprover, ErrSameOperator.
func (s *Store) Approve(ctx context.Context, month time.Time, approver int64) error {
	return db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var record cycleRecord
		err := tx.GetContext(ctx, &record, `SELECT `+cycleColumns+` FROM cycles WHERE month = $1 FOR UPDATE`, month)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrUnknownCycle, payout.MonthName(month))
		}
		if err != nil {
			return err
		}
		if record.State != StateAwaitingApproval || record.ApprovedAt.Valid {
			return fmt.Errorf("%w: %s is %s", ErrNotApprovable, payout.MonthName(month), record.State)
		}
		if approver == 0 {
			return fmt.Errorf("%w: the system principal (a scheduled job, a run without --by) never approves", ErrNotAnApprover)
		}
		who, isApprover, err := OperatorPrincipal(ctx, tx, approver)
		if err != nil {
			return err
		}
		if !isApprover {
			return fmt.Errorf("%w: %s does not hold the finance_approver role", ErrNotAnApprover, who.Name)
		}
		if record.ClosedByID.Valid && record.ClosedByID.Int64 == approver {
			return fmt.Errorf("%w: %s closed %s", ErrSameOperator, who.Name, payout.MonthName(month))
		}
		var tookPart bool
		if err := tx.GetContext(ctx, &tookPart, `SELECT EXISTS (SELECT 1 FROM cycle_events WHERE month = $1 AND operator_id = $2 AND note <> 'approved'
			AND state IN ($3, $4, $5))`, month, approver, StateClosing, StateClosed, StateAwaitingApproval); err != nil {
			return err
		}
		if tookPart {
			return fmt.Errorf("%w: %s ran the close of %s", ErrSameOperator, who.Name, payout.MonthName(month))
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE cycles SET approved_at = $2, approved_by = $3, approved_by_operator_id = $4 WHERE month = $1`,
			month, now, who.Name, approver); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO cycle_events (month, state, at, actor, note, operator_id) VALUES ($1, $2, $3, $4, 'approved', $5)`,
			month, StateAwaitingApproval, now, who.Name, approver)
		return err
	})
}

// ReturnsWindow is how long after its payment date a released cycle can
// still receive returns: ACH returns come within 60 days for unauthorised
// entries (NACHA R10/R11 windows), PayPal unclaimed items return after 30.
const ReturnsWindow = 60 * 24 * time.Hour

// Settle marks released cycles whose returns window has passed as settled
// (SPEC §3.4: all payments sent, returns window passed) and returns the
// months it settled.
func (s *Store) Settle(ctx context.Context, actor string) ([]time.Time, error) {
	now := s.now()
	var settled []time.Time
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &settled, `
			UPDATE cycles SET state = $3 WHERE state = $4 AND payment_date + $1::interval <= $2
			RETURNING month`, fmt.Sprintf("%d hours", int(ReturnsWindow.Hours())), now, StateSettled, StateReleased); err != nil {
			return err
		}
		for _, month := range settled {
			if _, err := tx.ExecContext(ctx, `INSERT INTO cycle_events (month, state, at, actor, note) VALUES ($1, $4, $2, $3, 'returns window passed')`,
				month, now, actor, StateSettled); err != nil {
				return err
			}
		}
		return nil
	})
	return settled, err
}

// ReleasableMonths lists, oldest first, the months whose cycle a release may
// write now: closed, or approved while awaiting approval
// (payout.CycleState.CanRelease).
func (s *Store) ReleasableMonths(ctx context.Context) ([]time.Time, error) {
	var months []time.Time
	err := s.DB.SelectContext(ctx, &months, `
		SELECT month FROM cycles WHERE state = $1 OR (state = $2 AND approved_at IS NOT NULL) ORDER BY month`,
		StateClosed, StateAwaitingApproval)
	return months, err
}

// NewestClosedMonth is the month of the newest cycle whose close finished
// (nil when none has).
func (s *Store) NewestClosedMonth(ctx context.Context) (*time.Time, error) {
	var newest *time.Time
	err := s.DB.GetContext(ctx, &newest, `SELECT max(month) FROM cycles WHERE state NOT IN ($1, $2)`, StateOpen, StateClosing)
	return newest, err
}

// CloseStartedAt is when the cycle's close first started, and false when it
// never did.
func (s *Store) CloseStartedAt(ctx context.Context, month time.Time) (time.Time, bool, error) {
	var began *time.Time
	if err := s.DB.GetContext(ctx, &began, `SELECT min(at) FROM cycle_events WHERE month = $1 AND state = $2`, month, StateClosing); err != nil {
		return time.Time{}, false, err
	}
	if began == nil {
		return time.Time{}, false, nil
	}
	return *began, true, nil
}

// CycleWindows lists every cycle's month, cutoff and state, by month, as q
// (a transaction, or a connection) sees them: what the retention rule reads.
func CycleWindows(ctx context.Context, q Querier) ([]payout.CycleWindow, error) {
	rows, err := q.Query(ctx, `SELECT month, cutoff, state FROM cycles ORDER BY month`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (payout.CycleWindow, error) {
		var c payout.CycleWindow
		var state string
		err := row.Scan(&c.Month, &c.Cutoff, &state)
		c.State = payout.CycleState(state)
		return c, err
	})
}
