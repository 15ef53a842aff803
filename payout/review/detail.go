package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/payout"
)

// Limits of the detail page's lists.
const (
	// HistoryCycles: the cycles the detail page lists (issue 21: "the last
	// 12 cycles").
	HistoryCycles = 12
	// MaxAuditLines: the audit entries it lists, newest first.
	MaxAuditLines = 50
	// MaxDetailLines bounds the returns and holds it lists (an account
	// has a few a year).
	MaxDetailLines = 100
	// MaxChangeLines bounds its account changes (six histories together).
	MaxChangeLines = 200
)

// Detail is one publisher, as the console's detail page shows it.
type Detail struct {
	AccountID                         int64
	SellerID, Name, Country, Type     string
	Month                             string        // YYYY-MM
	Decision                          *Decision     // nil when the account has no payouts row in month
	History                           []HistoryLine // the account's last 12 cycles up to month (payouts rows), newest first
	Returns                           []ReturnLine  // this account's returned payments, newest first
	Holds                             []HoldLine    // payment_hold_events, newest first
	Changes                           []ChangeLine  // account changes, newest first (see Publisher)
	Audit                             []AuditLine   // audit_log entries of the account, newest first, at most 50
	PayoutAccountID                   int64         // the account's newest payout account, 0 when none
	PayoutAccountStatus, StatusReason string        // its newest verification status and the reason given
}

// Decision is the account's payouts row of the month.
type Decision struct {
	Status  string
	Reasons []ReasonLine // in stored order

	OpeningUS, OpeningOther       decimal.Decimal
	NewUS, NewOther               decimal.Decimal
	BalanceUS, BalanceOther       decimal.Decimal
	WithholdingBase, Withheld     decimal.Decimal
	Paid, CarriedUS, CarriedOther decimal.Decimal

	Rate       *decimal.Decimal // nil when no rate
	RateReason string

	Method, Currency, PaymentID string
}

// Balance is BalanceUS + BalanceOther: what the close evaluated, which is
// Paid + Withheld + CarriedUS + CarriedOther (the payouts row's CHECK).
func (d Decision) Balance() decimal.Decimal { return d.BalanceUS.Add(d.BalanceOther) }

// ReasonLine is a failing check and what unblocks it (payout.Reason.Remedy).
type ReasonLine struct {
	Code   string
	Remedy string
}

// HistoryLine is one cycle of the account: its payouts row.
type HistoryLine struct {
	Month, Status, Reason            string // Reason: the primary one, "" when paid
	Balance, Withheld, Paid, Carried decimal.Decimal
}

// ReturnLine is a returned payment (or PayPal item).
type ReturnLine struct {
	Month, SellerID, Name  string
	Amount                 decimal.Decimal // USD credited back
	Reason, Source         string          // the R-code or PayPal status; ach or paypal
	ReturnedAt, RecordedAt time.Time
	RecreditedIn           string // the cycle whose opening balance carries it, YYYY-MM
	PaymentID, ItemID      string // ItemID: the PayPal item, for a payment sent as several
	SourceFile             string
}

// HoldLine is one switch of the payment hold. payment_hold_events records
// no reason (the hold is the publisher's own switch, SPEC §4): Reason says
// which way it went.
type HoldLine struct {
	At     time.Time
	Held   bool
	Reason string
	Actor  string
}

// ChangeLine is one change of the account (see Publisher for the kinds).
type ChangeLine struct {
	At                   time.Time
	Kind, Summary, Actor string
}

// AuditLine is one audit_log entry of the account.
type AuditLine struct {
	At                    time.Time
	Actor, Action, Target string
}

// Kinds of ChangeLine.
const (
	ChangePayoutAccountAdded  = "payout_account.added"
	ChangePayoutAccountStatus = "payout_account.status"
	ChangeTaxForm             = "tax_form.submitted"
	ChangeTINMatch            = "tax_form.tin_match"
	ChangeTaxProfile          = "tax_profile.changed"
	ChangeAccountStatus       = "account.status"
	ChangeVerificationStep    = "verification_step"
)

// Publisher returns one publisher as the console's detail page shows it,
// for month's cycle. Changes holds, newest first (at most
// MaxChangeLines): payout accounts added (method, country, currency,
// holder, the account number masked as the API masks it: "*****" and its
// last 4; never an IBAN, TIN or e-mail), their verification statuses with
// the reason given, tax forms submitted (the form, never a TIN), TIN match
// results, tax profile changes (the new legal name; "TIN changed" without
// it), account status events and verification steps. History is up to
// and including month. Errors: ErrNotFound (wrapped, naming the seller id)
// when the seller id is no account's; the database's.
func (s *Service) Publisher(ctx context.Context, month time.Time, sellerID string) (Detail, error) {
	month = monthStart(month)
	d := Detail{Month: payout.MonthName(month)}
	err := s.readTx(ctx, false, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `SELECT id, seller_id, display_name, registration_country, account_type FROM accounts WHERE seller_id = $1`,
			sellerID).Scan(&d.AccountID, &d.SellerID, &d.Name, &d.Country, &d.Type)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no account has the seller id %q", ErrNotFound, sellerID)
		}
		if err != nil {
			return err
		}
		if d.Decision, err = decision(ctx, tx, month, d.AccountID); err != nil {
			return err
		}
		if d.History, err = history(ctx, tx, month, d.AccountID); err != nil {
			return err
		}
		if d.Returns, err = returnLines(ctx, tx, d.AccountID, MaxDetailLines); err != nil {
			return err
		}
		if d.Holds, err = holds(ctx, tx, d.AccountID); err != nil {
			return err
		}
		if d.Changes, err = changes(ctx, tx, d.AccountID); err != nil {
			return err
		}
		if err := payoutAccountNow(ctx, tx, &d); err != nil {
			return err
		}
		d.Audit = []AuditLine{}
		return sqlx.SelectContext(ctx, tx, &d.Audit, `
			SELECT at AS "at", actor AS "actor", action AS "action", target AS "target"
			FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2`, d.AccountID, MaxAuditLines)
	})
	if errors.Is(err, ErrNotFound) {
		return Detail{}, err
	}
	if err != nil {
		return Detail{}, fmt.Errorf("review: publisher %s: %w", sellerID, err)
	}
	return d, nil
}

func decision(ctx context.Context, tx *sqlx.Tx, month time.Time, accountID int64) (*Decision, error) {
	var d Decision
	var reasons string
	var rate decimal.NullDecimal
	err := tx.QueryRowxContext(ctx, `
		SELECT status, array_to_string(reasons, ','), opening_us, opening_other, new_us, new_other, balance_us, balance_other,
		       withholding_base, withheld, paid_usd, carried_us, carried_other, rate, rate_reason,
		       coalesce(method, ''), coalesce(currency, ''), coalesce(payment_id, '')
		FROM payouts WHERE month = $1 AND account_id = $2`, month, accountID).Scan(
		&d.Status, &reasons, &d.OpeningUS, &d.OpeningOther, &d.NewUS, &d.NewOther, &d.BalanceUS, &d.BalanceOther,
		&d.WithholdingBase, &d.Withheld, &d.Paid, &d.CarriedUS, &d.CarriedOther, &rate, &d.RateReason,
		&d.Method, &d.Currency, &d.PaymentID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rate.Valid {
		d.Rate = &rate.Decimal
	}
	d.Reasons = []ReasonLine{}
	for _, code := range splitReasons(reasons) {
		d.Reasons = append(d.Reasons, ReasonLine{Code: code, Remedy: payout.Reason(code).Remedy()})
	}
	return &d, nil
}

func history(ctx context.Context, tx *sqlx.Tx, month time.Time, accountID int64) ([]HistoryLine, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT month, status, coalesce(reasons[1], ''), balance_us + balance_other, withheld, paid_usd, carried_us + carried_other
		FROM payouts WHERE account_id = $1 AND month <= $2 ORDER BY month DESC LIMIT $3`, accountID, month, HistoryCycles)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	lines := []HistoryLine{}
	for rows.Next() {
		var line HistoryLine
		var at time.Time
		if err := rows.Scan(&at, &line.Status, &line.Reason, &line.Balance, &line.Withheld, &line.Paid, &line.Carried); err != nil {
			return nil, err
		}
		line.Month = payout.MonthName(at)
		lines = append(lines, line)
	}
	return lines, rows.Err()
}

// returnLines lists returned payments newest first (by when they were
// recorded), of one account (accountID > 0) or of all.
func returnLines(ctx context.Context, tx *sqlx.Tx, accountID int64, limit int) ([]ReturnLine, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT r.month, a.seller_id, a.display_name, r.amount_usd, r.reason, r.source, r.returned_at, r.recorded_at,
		       coalesce(r.payment_id, ''), coalesce(r.item_id, ''), coalesce(r.source_file, '')
		FROM payout_returns r JOIN accounts a ON a.id = r.account_id
		WHERE $1 = 0 OR r.account_id = $1
		ORDER BY r.recorded_at DESC, r.id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	lines := []ReturnLine{}
	for rows.Next() {
		var line ReturnLine
		var month time.Time
		if err := rows.Scan(&month, &line.SellerID, &line.Name, &line.Amount, &line.Reason, &line.Source, &line.ReturnedAt,
			&line.RecordedAt, &line.PaymentID, &line.ItemID, &line.SourceFile); err != nil {
			return nil, err
		}
		line.Month = payout.MonthName(month)
		line.ReturnedAt, line.RecordedAt = line.ReturnedAt.UTC(), line.RecordedAt.UTC()
		line.RecreditedIn = RecreditedIn(line.RecordedAt)
		lines = append(lines, line)
	}
	return lines, rows.Err()
}

// RecreditedIn is the cycle whose opening balance carries a return
// recorded at recordedAt: the close of cycle M adds the returns recorded
// in [M-1 cutoff, M cutoff) to the opening non-US balance (payout/store's
// input query), and a cutoff is its month's first instant, so a return
// recorded in a month is credited by the next month's cycle.
func RecreditedIn(recordedAt time.Time) string {
	return payout.MonthName(monthStart(recordedAt).AddDate(0, 1, 0))
}

func holds(ctx context.Context, tx *sqlx.Tx, accountID int64) ([]HoldLine, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT at, hold_on, actor FROM payment_hold_events WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, accountID, MaxDetailLines)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	lines := []HoldLine{}
	for rows.Next() {
		var line HoldLine
		if err := rows.Scan(&line.At, &line.Held, &line.Actor); err != nil {
			return nil, err
		}
		line.At = line.At.UTC()
		line.Reason = "payment hold switched off"
		if line.Held {
			line.Reason = "payment hold switched on"
		}
		lines = append(lines, line)
	}
	return lines, rows.Err()
}

// changesQuery lists an account's changes from six histories, newest
// first. Account numbers are masked as the API masks them; IBANs, TINs
// and PayPal e-mail addresses are never read.
//
// Lines at the same instant are listed in the order the events happen in
// (newest first: a payout account's pending status above its creation).
const changesQuery = `
SELECT at, kind, summary, actor FROM (
    SELECT pa.created_at AS at, 3 AS seq, 'payout_account.added' AS kind,
           format('payout account %s added: %s, %s, holder %s', pa.id,
                  CASE WHEN pa.method = 'paypal' THEN 'PayPal'
                       ELSE concat_ws(' ', 'bank account in ' || pa.bank_country, pa.bank_account_type, '*****' || pa.number_last4) END,
                  pa.currency, pa.holder_name) AS summary,
           pa.created_by AS actor
      FROM payout_accounts pa WHERE pa.account_id = $1
    UNION ALL
    SELECT e.at, 4, 'payout_account.status',
           format('payout account %s: %s', e.payout_account_id, replace(e.status, '_', ' ')) || CASE WHEN e.reason <> '' THEN ' (' || e.reason || ')' ELSE '' END,
           e.actor
      FROM payout_account_events e JOIN payout_accounts pa ON pa.id = e.payout_account_id WHERE pa.account_id = $1
    UNION ALL
    SELECT submitted_at, 5, 'tax_form.submitted', format('%s submitted (tax form %s)', form, id), submitted_by
      FROM tax_forms WHERE account_id = $1
    UNION ALL
    SELECT t.at, 6, 'tax_form.tin_match', format('TIN match of tax form %s (%s): %s', f.id, f.form, CASE WHEN t.matched THEN 'matched' ELSE 'not matched' END), t.actor
      FROM tin_match_results t JOIN tax_forms f ON f.id = t.tax_form_id WHERE f.account_id = $1
    UNION ALL
    SELECT at, 7, 'tax_profile.changed',
           concat_ws('; ', 'legal name changed to ' || legal_name, CASE WHEN tin_digest IS NOT NULL THEN 'TIN changed' END), actor
      FROM tax_profile_changes WHERE account_id = $1
    UNION ALL
    SELECT at, 1, 'account.status', 'account status: ' || status, actor FROM account_status_events WHERE account_id = $1
    UNION ALL
    SELECT at, 2, 'verification_step', step || ' verification: ' || replace(state, '_', ' '), actor FROM verification_step_events WHERE account_id = $1
) c
ORDER BY at DESC, seq DESC, summary DESC
LIMIT $2`

func changes(ctx context.Context, tx *sqlx.Tx, accountID int64) ([]ChangeLine, error) {
	lines := []ChangeLine{}
	if err := sqlx.SelectContext(ctx, tx, &lines, changesQuery, accountID, MaxChangeLines); err != nil {
		return nil, err
	}
	for i := range lines {
		lines[i].At = lines[i].At.UTC()
	}
	return lines, nil
}

// payoutAccountNow fills the account's newest payout account and its
// newest verification status.
func payoutAccountNow(ctx context.Context, tx *sqlx.Tx, d *Detail) error {
	err := tx.QueryRowxContext(ctx, `
		SELECT pa.id, coalesce(e.status, 'pending_verification'), coalesce(e.reason, '')
		FROM payout_accounts pa
		LEFT JOIN LATERAL (SELECT status, reason FROM payout_account_events WHERE payout_account_id = pa.id ORDER BY at DESC, id DESC LIMIT 1) e ON true
		WHERE pa.account_id = $1 ORDER BY pa.created_at DESC, pa.id DESC LIMIT 1`, d.AccountID).Scan(&d.PayoutAccountID, &d.PayoutAccountStatus, &d.StatusReason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}
