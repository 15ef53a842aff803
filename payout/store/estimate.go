package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/accounts"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/tax/taxstore"
)

// Estimate is the close's decision for one account as if the next cycle
// closed at AsOf (SPEC §7.12, "the next payment estimate"): the same
// payout.Decide on the same input the close freezes, read as of AsOf
// instead of the cutoff. Taken just before a cutoff, with nothing changing
// until the close, it is the close's decision (the simulator checks it for
// every account).
type Estimate struct {
	// Month is the cycle estimated: the one after the newest closed cycle
	// (or, before any, the first whose cutoff is at or after AsOf).
	Month    time.Time
	Calendar payout.Calendar
	AsOf     time.Time
	// Evaluated is false when the balance is zero: the close would not
	// evaluate the account (Decision is then empty).
	Evaluated bool
	Decision  payout.Decision
	// FXRate is the newest rate loaded for the payout account's currency,
	// for any cycle (units per USD; 1 for USD; zero when none is loaded
	// yet).
	FXRate decimal.Decimal
	// PayableInCurrency is the decision's payable amount converted at FXRate
	// and rounded down to the rail's minor unit, as the release converts
	// (zero when it is not positive or there is no rate).
	PayableInCurrency decimal.Decimal
}

// Estimate decides accountID's next cycle as of asOf with policy (the
// configured one: the policy the next close will record). It reads in one
// repeatable-read transaction, so every part is of the same instant.
// Errors: ErrUnknownAccount.
func (s *Store) Estimate(ctx context.Context, accountID int64, asOf time.Time, policy payout.Policy) (Estimate, error) {
	asOf = asOf.UTC()
	estimate := Estimate{AsOf: asOf}
	if err := policy.Validate(); err != nil {
		return estimate, err
	}
	err := db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
		}
		month, prevCutoff, err := nextCycle(ctx, tx, asOf)
		if err != nil {
			return err
		}
		estimate.Month, estimate.Calendar = month, policy.CalendarFor(month)
		row, found, err := estimateInput(ctx, tx, accountID, asOf, prevCutoff, month.AddDate(0, -1, 0))
		if err != nil || !found {
			return err
		}
		treaties, err := taxstore.TreatyTableAt(ctx, s.DB, estimate.Calendar.CloseAt)
		if err != nil {
			return err
		}
		snapshot, err := row.snapshot(asOf)
		if err != nil {
			return err
		}
		if snapshot.PayoutAccount != nil {
			// The close's rail limit reads the cycle's own rate (loaded
			// before it starts): the same here.
			if snapshot.FXRate, err = latestRate(ctx, tx, &month, snapshot.PayoutAccount.Currency, asOf); err != nil {
				return err
			}
		}
		if estimate.Decision, err = payout.Decide(estimate.Calendar, policy, treaties, snapshot); err != nil {
			return err
		}
		estimate.Evaluated = true
		if pa := snapshot.PayoutAccount; pa != nil {
			// The payable amount is shown at the newest rate loaded for any
			// cycle: the estimated cycle's own usually comes after its close.
			estimate.FXRate = decimal.NewFromInt(1)
			if pa.Currency != "USD" {
				if estimate.FXRate, err = latestRate(ctx, tx, nil, pa.Currency, asOf); err != nil {
					return err
				}
			}
			if estimate.Decision.Payable.IsPositive() && estimate.FXRate.IsPositive() {
				estimate.PayableInCurrency, err = payout.ConvertDown(estimate.Decision.Payable, estimate.FXRate, pa.Method, pa.Currency)
			}
		}
		return err
	})
	return estimate, err
}

// nextCycle is the cycle an estimate at asOf decides, and the previous
// cycle's cutoff (the start of its window; the beginning of time before the
// first cycle).
func nextCycle(ctx context.Context, tx pgx.Tx, asOf time.Time) (month, prevCutoff time.Time, err error) {
	var newest, cutoff time.Time
	err = tx.QueryRow(ctx, `SELECT month, cutoff FROM cycles WHERE state NOT IN ($1, $2) ORDER BY month DESC LIMIT 1`,
		StateOpen, StateClosing).Scan(&newest, &cutoff)
	if errors.Is(err, pgx.ErrNoRows) {
		// The first cycle whose cutoff is at or after asOf: at a cutoff
		// instant, the cycle closing on the facts before it.
		month = time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
		if month.Before(asOf) {
			month = month.AddDate(0, 1, 0)
		}
		return month, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	if err != nil {
		return month, prevCutoff, err
	}
	return newest.AddDate(0, 1, 0), cutoff, nil
}

// estimateInput reads what the close's freeze (inputQuery) reads for one
// account, as of asOf: the balance carried out of the previous cycle
// ($5), returns recorded since its cutoff ($3), the lines available in
// [previous cutoff, asOf) — whole months from earnings_totals, the month of
// asOf so far from the lines themselves — and the facts before asOf. found
// is false when the balance is zero (the close would not evaluate it).
func estimateInput(ctx context.Context, tx pgx.Tx, accountID int64, asOf, prevCutoff, prevMonth time.Time) (snapshotRow, bool, error) {
	monthStart := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	var r snapshotRow
	var names []string
	var versions []int32
	var acceptedAt []time.Time
	err := tx.QueryRow(ctx, estimateQuery, accountID, asOf, prevCutoff, monthStart, prevMonth).Scan(
		&r.AccountID, &r.SellerID, &r.OpeningUS, &r.OpeningOther, &r.NewUS, &r.NewOther, &r.AccountStatus, &r.HoldOn,
		&names, &versions, &acceptedAt, &r.PayoutAccountID, &r.Method, &r.Currency, &r.BankCountry, &r.PayoutAccountStatus,
		&r.TaxFormID, &r.Submission, &r.TINDigest, &r.SubmittedAt, &r.TINMatchFailed, &r.Changes)
	if err != nil {
		return r, false, fmt.Errorf("estimate input: %w", err)
	}
	if r.OpeningUS.Add(r.NewUS).IsZero() && r.OpeningOther.Add(r.NewOther).IsZero() {
		return r, false, nil
	}
	rows, err := tx.Query(ctx, `SELECT name, version, published_at, required_for_payout, grace_days FROM agreements ORDER BY name, version`)
	if err != nil {
		return r, false, err
	}
	catalogue, err := pgx.CollectRows(rows, pgx.RowToStructByName[accounts.AgreementVersion])
	if err != nil {
		return r, false, err
	}
	accepted := make([]accounts.Acceptance, len(names))
	for k := range names {
		accepted[k] = accounts.Acceptance{Name: names[k], Version: int(versions[k]), AcceptedAt: acceptedAt[k]}
	}
	r.AgreementHold = accounts.AgreementsHold(catalogue, accepted, asOf)
	return r, true, nil
}

// latestRate is the newest rate of currency loaded before asOf for month
// (any month when nil); zero when there is none.
func latestRate(ctx context.Context, tx pgx.Tx, month *time.Time, currency string, asOf time.Time) (decimal.Decimal, error) {
	var rate decimal.Decimal
	err := tx.QueryRow(ctx, `SELECT rate FROM fx_rates WHERE ($1::date IS NULL OR month = $1) AND currency = $2 AND loaded_at < $3
		ORDER BY month DESC, loaded_at DESC LIMIT 1`, month, currency, asOf).Scan(&rate)
	if errors.Is(err, pgx.ErrNoRows) {
		return decimal.Zero, nil
	}
	return rate, err
}

// estimateQuery is inputQuery for one account ($1) as of $2: the same
// parts, the same "latest event before the instant" rule, each read by the
// account's own index instead of hashed over every account. $3 is the
// previous cycle's cutoff, $4 the start of $2's month, $5 the previous
// cycle's month. The account row always comes back (zero balances
// included).
const estimateQuery = `
WITH parts AS (
    SELECT carried_us AS opening_us, carried_other AS opening_other, 0::numeric AS new_us, 0::numeric AS new_other
      FROM payouts WHERE month = $5 AND account_id = $1
    UNION ALL
    SELECT 0, amount_usd, 0, 0
      FROM payout_returns WHERE account_id = $1 AND recorded_at >= $3 AND recorded_at < $2
    UNION ALL
    SELECT 0, 0, coalesce(sum(amount) FILTER (WHERE us_sourced), 0), coalesce(sum(amount) FILTER (WHERE NOT us_sourced), 0)
      FROM earnings_totals WHERE account_id = $1 AND month >= $3 AND month < $4
    UNION ALL
    SELECT 0, 0, coalesce(sum(amount) FILTER (WHERE market = 'US'), 0), coalesce(sum(amount) FILTER (WHERE market <> 'US'), 0)
      FROM earnings_lines WHERE account_id = $1 AND available_at >= greatest($3, $4) AND available_at < $2
), b AS (
    SELECT coalesce(sum(opening_us), 0) AS opening_us, coalesce(sum(opening_other), 0) AS opening_other,
           coalesce(sum(new_us), 0) AS new_us, coalesce(sum(new_other), 0) AS new_other
      FROM parts
), pa AS (
    SELECT id, method, currency, bank_country FROM payout_accounts
     WHERE account_id = $1 AND created_at < $2 ORDER BY created_at DESC, id DESC LIMIT 1
), tf AS (
    SELECT id, submission, tin_digest, submitted_at FROM tax_forms
     WHERE account_id = $1 AND submitted_at < $2 ORDER BY submitted_at DESC, id DESC LIMIT 1
), ag AS (
    SELECT array_agg(name ORDER BY name, version) AS names, array_agg(version ORDER BY name, version) AS versions,
           array_agg(accepted_at ORDER BY name, version) AS accepted_at
      FROM agreement_acceptances WHERE account_id = $1
)
SELECT a.id, a.seller_id, b.opening_us, b.opening_other, b.new_us, b.new_other,
       coalesce((SELECT status FROM account_status_events WHERE account_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1), ''),
       coalesce((SELECT hold_on FROM payment_hold_events WHERE account_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT 1), false),
       coalesce(ag.names, '{}'), coalesce(ag.versions, '{}'), coalesce(ag.accepted_at, '{}'),
       pa.id, coalesce(pa.method, ''), coalesce(pa.currency, ''), coalesce(pa.bank_country, ''),
       coalesce((SELECT status FROM payout_account_events WHERE payout_account_id = pa.id AND at < $2 ORDER BY at DESC, id DESC LIMIT 1), ''),
       tf.id, tf.submission, coalesce(tf.tin_digest, ''::bytea), tf.submitted_at,
       coalesce(EXISTS (SELECT 1 FROM tin_match_results m WHERE m.tax_form_id = tf.id AND NOT m.matched AND m.at < $2), false),
       coalesce((SELECT json_agg(json_build_object('at', c.at, 'legal_name', coalesce(c.legal_name, ''), 'tin_digest', coalesce(encode(c.tin_digest, 'hex'), '')) ORDER BY c.at, c.id)
                   FROM tax_profile_changes c WHERE c.account_id = $1 AND c.at >= tf.submitted_at AND c.at < $2), '[]')
FROM accounts a CROSS JOIN b CROSS JOIN ag
LEFT JOIN pa ON true
LEFT JOIN tf ON true
WHERE a.id = $1`
