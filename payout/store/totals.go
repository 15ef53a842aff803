package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
)

// querier is what pgx.Tx and *pgx.Conn share for reading.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Bucket is a count of accounts and an amount in USD.
type Bucket struct {
	Count  int64           `json:"count"`
	Amount decimal.Decimal `json:"amount"`
}

func (b *Bucket) add(count int64, amount decimal.Decimal) {
	b.Count += count
	b.Amount = b.Amount.Add(amount)
}

// RateBucket is withholding at one rate.
type RateBucket struct {
	Count    int64           `json:"count"`
	Base     decimal.Decimal `json:"base"`
	Withheld decimal.Decimal `json:"withheld"`
}

// Totals are a cycle's figures, computed from its payouts rows and checked
// against the journal.
type Totals struct {
	Accounts  int64                 `json:"accounts"`
	Balance   decimal.Decimal       `json:"balance"`   // everything evaluated
	NewUS     decimal.Decimal       `json:"new_us"`    // US-sourced lines that entered this cycle
	NewOther  decimal.Decimal       `json:"new_other"` // other lines that entered this cycle
	Paid      Bucket                `json:"paid"`      // USD paid
	Withheld  decimal.Decimal       `json:"withheld"`  // US tax withheld
	Held      Bucket                `json:"held"`      // balances held
	Carried   Bucket                `json:"carried"`   // balances carried (not held)
	Remainder decimal.Decimal       `json:"remainder"` // sub-cent remainders of paid accounts
	ByMethod  map[string]Bucket     `json:"paid_by_method"`
	ByReason  map[string]Bucket     `json:"by_primary_reason"` // held and carried, by primary reason
	ByRate    map[string]RateBucket `json:"withheld_by_rate"`
	// From the journal: what the close posted to payments-in-transit and
	// the US-tax liability for this cycle.
	LedgerInTransit decimal.Decimal `json:"ledger_in_transit"`
	LedgerWithheld  decimal.Decimal `json:"ledger_withheld"`
}

// check verifies the cycle's conservation and that the payouts rows match
// the journal (SPEC §1).
func (t Totals) check() error {
	out := t.Paid.Amount.Add(t.Withheld).Add(t.Held.Amount).Add(t.Carried.Amount).Add(t.Remainder)
	if !t.Balance.Equal(out) {
		return fmt.Errorf("conservation broken: balances %s ≠ paid %s + withheld %s + held %s + carried %s + remainders %s",
			t.Balance, t.Paid.Amount, t.Withheld, t.Held.Amount, t.Carried.Amount, t.Remainder)
	}
	if !t.LedgerInTransit.Equal(t.Paid.Amount) || !t.LedgerWithheld.Equal(t.Withheld) {
		return fmt.Errorf("journal disagrees with payouts: in transit %s vs paid %s, withheld %s vs %s",
			t.LedgerInTransit, t.Paid.Amount, t.LedgerWithheld, t.Withheld)
	}
	return nil
}

func cycleTotals(ctx context.Context, q querier, month time.Time) (Totals, error) {
	t := Totals{ByMethod: map[string]Bucket{}, ByReason: map[string]Bucket{}, ByRate: map[string]RateBucket{}}
	rows, err := q.Query(ctx, `
		SELECT status, coalesce(reasons[1], ''), coalesce(method, ''), coalesce(currency, ''), coalesce(rate::text, ''),
		       count(*), sum(balance_us + balance_other), sum(new_us), sum(new_other), sum(paid_usd), sum(withheld),
		       sum(withholding_base), sum(carried_us + carried_other)
		FROM payouts WHERE month = $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`, month)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	for rows.Next() {
		var status, reason, method, currency, rate string
		var count int64
		var balance, newUS, newOther, paid, withheld, base, carried decimal.Decimal
		if err := rows.Scan(&status, &reason, &method, &currency, &rate, &count, &balance, &newUS, &newOther, &paid, &withheld, &base, &carried); err != nil {
			return t, err
		}
		t.Accounts += count
		t.Balance = t.Balance.Add(balance)
		t.NewUS, t.NewOther = t.NewUS.Add(newUS), t.NewOther.Add(newOther)
		switch status {
		case "paid":
			t.Paid.add(count, paid)
			t.Withheld = t.Withheld.Add(withheld)
			t.Remainder = t.Remainder.Add(carried)
			key := method + ":" + currency
			b := t.ByMethod[key]
			b.add(count, paid)
			t.ByMethod[key] = b
			r := t.ByRate[rate]
			r.Count += count
			r.Base, r.Withheld = r.Base.Add(base), r.Withheld.Add(withheld)
			t.ByRate[rate] = r
		case "held":
			t.Held.add(count, carried)
		case "carried":
			t.Carried.add(count, carried)
		}
		if status != "paid" {
			b := t.ByReason[reason]
			b.add(count, carried)
			t.ByReason[reason] = b
		}
	}
	if err := rows.Err(); err != nil {
		return t, err
	}
	t.LedgerInTransit, t.LedgerWithheld, err = ledger.PayoutsPosted(ctx, q, payout.MonthName(month))
	return t, err
}

// CycleTotals returns a cycle's totals as of now.
func (s *Store) CycleTotals(ctx context.Context, month time.Time) (Totals, error) {
	var totals Totals
	err := db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		var err error
		totals, err = cycleTotals(ctx, conn, month)
		return err
	})
	return totals, err
}
