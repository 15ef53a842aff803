// Package cyclereport feeds a cycle's rows from Postgres into the cycle
// workbook (package reports): it is the only place that knows both the
// schema and the workbook's types. Rows stream from the database straight
// into the workbook's StreamWriter; nothing holds a cycle in memory.
//
// The workbook is written at close (and, marked DRAFT, at a dry run, from
// inside the transaction that the dry run then rolls back), and written
// again at release, when the payment files, FX rates and converted amounts
// exist. Its figures are computed from the same payouts rows as the
// cycle's totals, and cross-checked by package reports before it publishes.
package cyclereport

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/reports"
)

// Querier is what pgx.Tx and *pgx.Conn share for reading.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Path is where a cycle's workbook goes under the output directory.
func Path(outDir string, month time.Time, draft bool) string {
	return filepath.Join(outDir, "cycles", payout.MonthName(month), reports.CycleWorkbookName(payout.MonthName(month), draft))
}

// Write writes the cycle workbook for month from q (replacing an earlier
// one) and returns its path.
func Write(ctx context.Context, q Querier, outDir string, month time.Time, draft bool) (string, error) {
	path := Path(outDir, month, draft)
	summary, err := summaryOf(ctx, q, month, draft)
	if err != nil {
		return "", err
	}
	data := reports.CycleData{
		Payouts:     func(yield func(reports.PayoutRow) error) error { return payoutRows(ctx, q, month, yield) },
		Unpaid:      func(yield func(reports.UnpaidRow) error) error { return unpaidRows(ctx, q, month, yield) },
		Withholding: func(yield func(reports.WithholdingRow) error) error { return withholdingRows(ctx, q, month, yield) },
		Files:       func(yield func(reports.FileRow) error) error { return fileRows(ctx, q, month, yield) },
		Exceptions:  func(yield func(reports.ExceptionRow) error) error { return exceptionRows(ctx, q, month, yield) },
	}
	if err := mkdirFor(path); err != nil {
		return "", err
	}
	var checks []reports.Check
	if err := reports.WriteCycleWorkbook(path, summary, data, reports.Overwrite(), reports.CollectChecks(&checks)); err != nil {
		return "", err
	}
	if !draft {
		if err := writeChecks(outDir, month, path, checks); err != nil {
			return "", err
		}
	}
	return path, nil
}

func summaryOf(ctx context.Context, q Querier, month time.Time, draft bool) (reports.CycleSummary, error) {
	s := reports.CycleSummary{Month: payout.MonthName(month), Draft: draft}
	var closedBy, approvedBy *string
	err := q.QueryRow(ctx, `SELECT state, cutoff, payment_date, settlement_date, closed_at, closed_by, approved_at, approved_by FROM cycles WHERE month = $1`, month).
		Scan(&s.State, &s.Cutoff, &s.PaymentDate, &s.SettlementDate, &s.ClosedAt, &closedBy, &s.ApprovedAt, &approvedBy)
	if err != nil {
		return s, fmt.Errorf("cycle %s: %w", s.Month, err)
	}
	if closedBy != nil {
		s.ClosedBy = *closedBy
	}
	if approvedBy != nil {
		s.ApprovedBy = *approvedBy
	}
	t := &s.Totals
	var publishers int
	if err := q.QueryRow(ctx, `
		SELECT count(*),
		       coalesce(sum(balance_us + balance_other) FILTER (WHERE status = 'paid'), 0),
		       coalesce(sum(withholding_base) FILTER (WHERE status = 'paid'), 0),
		       coalesce(sum(withheld), 0), coalesce(sum(paid_usd), 0),
		       coalesce(sum(carried_us + carried_other) FILTER (WHERE status = 'paid'), 0)
		FROM payouts WHERE month = $1`, month).Scan(&publishers, &t.Gross, &t.USSourced, &t.Withheld, &t.Paid, &t.SubCentCarried); err != nil {
		return s, err
	}
	t.Publishers = publishers
	rows, err := q.Query(ctx, `SELECT rate, count(*), sum(withholding_base), sum(withheld) FROM payouts WHERE month = $1 AND status = 'paid' GROUP BY rate ORDER BY rate`, month)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var r reports.RateTotal
		if err := rows.Scan(&r.Rate, &r.Recipients, &r.Base, &r.Withheld); err != nil {
			rows.Close()
			return s, err
		}
		t.WithheldByRate = append(t.WithheldByRate, r)
	}
	rows.Close()
	rows, err = q.Query(ctx, `
		SELECT p.method, p.currency, count(*), sum(p.paid_usd), coalesce(sum(m.amount_in_currency), 0)
		FROM payouts p LEFT JOIN payments m ON m.month = p.month AND m.account_id = p.account_id
		WHERE p.month = $1 AND p.status = 'paid' GROUP BY 1, 2 ORDER BY 1, 2`, month)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var m reports.MethodTotal
		if err := rows.Scan(&m.Method, &m.Currency, &m.Payments, &m.AmountUSD, &m.Amount); err != nil {
			rows.Close()
			return s, err
		}
		t.PaidByMethod = append(t.PaidByMethod, m)
	}
	rows.Close()
	rows, err = q.Query(ctx, `
		SELECT status, reasons[1], count(*), sum(carried_us + carried_other) FROM payouts
		WHERE month = $1 AND status <> 'paid' GROUP BY 1, 2 ORDER BY 1, 2`, month)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var status string
		var r reports.ReasonTotal
		if err := rows.Scan(&status, &r.Reason, &r.Publishers, &r.Balance); err != nil {
			rows.Close()
			return s, err
		}
		if status == "held" {
			t.HeldByReason = append(t.HeldByReason, r)
		} else {
			t.CarriedByReason = append(t.CarriedByReason, r)
		}
	}
	rows.Close()
	var prevCutoff time.Time
	prevCutoff = month.AddDate(0, -1, 0)
	if err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount_usd), 0) FROM payout_returns WHERE recorded_at >= $1 AND recorded_at < $2`,
		prevCutoff, month).Scan(&t.Returned.Count, &t.Returned.Amount); err != nil {
		return s, err
	}
	// This cycle's own payments that came back after its release.
	if err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount_usd), 0) FROM payout_returns WHERE month = $1`,
		month).Scan(&t.PaymentsReturned.Count, &t.PaymentsReturned.Amount); err != nil {
		return s, err
	}
	// The close's own checks, shown PASS/FAIL for finance.
	var balance, out decimal.Decimal
	if err := q.QueryRow(ctx, `
		SELECT coalesce(sum(balance_us + balance_other), 0), coalesce(sum(paid_usd + withheld + carried_us + carried_other), 0) FROM payouts WHERE month = $1`,
		month).Scan(&balance, &out); err != nil {
		return s, err
	}
	inTransit, ledgerWithheld, err := ledger.PayoutsPosted(ctx, q, payout.MonthName(month))
	if err != nil {
		return s, err
	}
	s.Checks = append(s.Checks,
		reports.Check{Name: "conservation: balances = paid + withheld + carried", Pass: balance.Equal(out), Detail: equation(balance, out, 6)},
		reports.Check{Name: "journal: payments in transit = paid", Pass: inTransit.Equal(t.Paid), Detail: equation(inTransit, t.Paid, 2)},
		reports.Check{Name: "journal: US tax liability = withheld", Pass: ledgerWithheld.Equal(t.Withheld), Detail: equation(ledgerWithheld, t.Withheld, 2)},
	)
	var files int
	var manifestUSD decimal.Decimal
	if err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(control_total_usd), 0) FROM cycle_files WHERE month = $1`, month).Scan(&files, &manifestUSD); err != nil {
		return s, err
	}
	if files > 0 {
		s.Checks = append(s.Checks, reports.Check{Name: "manifest = ledger", Pass: manifestUSD.Equal(inTransit), Detail: equation(manifestUSD, inTransit, 2)})
	}
	return s, nil
}

// equation is a check's detail, "3,276,556.195440 = 3,276,556.195440" (USD,
// places decimals; "≠" when they differ).
func equation(left, right decimal.Decimal, places int32) string {
	sign := " = "
	if !left.Equal(right) {
		sign = " ≠ "
	}
	return grouped(left, places) + sign + grouped(right, places)
}

// grouped is d with places decimals and thousands separators.
func grouped(d decimal.Decimal, places int32) string {
	text := d.Abs().StringFixed(places)
	integer, fraction, _ := strings.Cut(text, ".")
	var b strings.Builder
	if d.IsNegative() {
		b.WriteByte('-')
	}
	for i, c := range integer {
		if i > 0 && (len(integer)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if fraction != "" {
		b.WriteString("." + fraction)
	}
	return b.String()
}

func payoutRows(ctx context.Context, q Querier, month time.Time, yield func(reports.PayoutRow) error) error {
	rows, err := q.Query(ctx, `
		SELECT a.seller_id, a.display_name, a.registration_country, p.method, coalesce('*****' || pa.number_last4, pa.paypal_email, ''),
		       p.currency, p.balance_us + p.balance_other, p.withholding_base, p.rate, p.rate_reason, p.withheld, p.paid_usd,
		       coalesce(m.fx_rate, 0), coalesce(m.amount_in_currency, 0), p.payment_id, coalesce(m.file, '')
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		LEFT JOIN payout_accounts pa ON pa.id = p.payout_account_id
		LEFT JOIN payments m ON m.month = p.month AND m.account_id = p.account_id
		WHERE p.month = $1 AND p.status = 'paid' ORDER BY a.seller_id`, month)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reports.PayoutRow
		if err := rows.Scan(&r.SellerID, &r.DisplayName, &r.Country, &r.Method, &r.MaskedAccount, &r.Currency, &r.Gross, &r.USBase, &r.Rate,
			&r.RateReason, &r.Withheld, &r.PaidUSD, &r.FXRate, &r.PaidInCurrency, &r.PaymentID, &r.File); err != nil {
			return err
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func unpaidRows(ctx context.Context, q Querier, month time.Time, yield func(reports.UnpaidRow) error) error {
	rows, err := q.Query(ctx, `
		SELECT a.seller_id, a.display_name, a.registration_country, p.status, p.carried_us + p.carried_other, p.reasons, h.at
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		LEFT JOIN LATERAL (SELECT at FROM payment_hold_events e WHERE e.account_id = p.account_id AND e.at < $2 AND e.hold_on
		                   ORDER BY e.at DESC, e.id DESC LIMIT 1) h ON 'payment_hold' = ANY (p.reasons)
		WHERE p.month = $1 AND p.status <> 'paid' ORDER BY a.seller_id`, month, month)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reports.UnpaidRow
		var holdSince *time.Time
		if err := rows.Scan(&r.SellerID, &r.DisplayName, &r.Country, &r.Status, &r.Balance, &r.Reasons, &holdSince); err != nil {
			return err
		}
		r.PrimaryReason = r.Reasons[0]
		hints := make([]string, 0, len(r.Reasons))
		for _, reason := range r.Reasons {
			hint := reports.UnblockHint(reason)
			if reason == string(payout.PaymentHold) && holdSince != nil {
				hint = "switch the payment hold off (on since " + holdSince.Format(time.DateOnly) + ")"
			}
			if hint != "" {
				hints = append(hints, hint)
			}
		}
		r.Unblock = strings.Join(hints, "; ")
		if err := yield(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func withholdingRows(ctx context.Context, q Querier, month time.Time, yield func(reports.WithholdingRow) error) error {
	rows, err := q.Query(ctx, `
		SELECT a.registration_country, p.rate, p.rate_reason, count(*), sum(p.withholding_base), sum(p.withheld)
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		WHERE p.month = $1 AND p.status = 'paid' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, month)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reports.WithholdingRow
		if err := rows.Scan(&r.Country, &r.Rate, &r.Reason, &r.Recipients, &r.Base, &r.Withheld); err != nil {
			return err
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func fileRows(ctx context.Context, q Querier, month time.Time, yield func(reports.FileRow) error) error {
	rows, err := q.Query(ctx, `SELECT name, kind, sha256, records, control_total_usd, currency, control_total FROM cycle_files WHERE month = $1 ORDER BY name`, month)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reports.FileRow
		if err := rows.Scan(&r.Name, &r.Kind, &r.SHA256, &r.Records, &r.ControlTotalUSD, &r.Currency, &r.ControlTotal); err != nil {
			return err
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exceptionRows lists, in this order: this cycle's payments that came back
// after its release (reports.ExceptionReturned: the return, its reason and
// the recredit; a PayPal item of a payment sent as several items is named
// by its own id), earlier cycles' payments returned in this cycle's window
// and recredited into its balances (reports.ExceptionRecredited), this
// cycle's PayPal payments sent as several items (reports.
// ExceptionPayPalItems), and the payout accounts rejected or flagged in the
// window.
func exceptionRows(ctx context.Context, q Querier, month time.Time, yield func(reports.ExceptionRow) error) error {
	rows, err := q.Query(ctx, `
		SELECT r.month = $1, a.seller_id, coalesce(r.item_id, r.payment_id, p.payment_id, ''), r.month, r.reason, r.detail, r.source,
		       r.returned_at, r.recorded_at, r.amount_usd
		FROM payout_returns r JOIN accounts a ON a.id = r.account_id
		JOIN payouts p ON p.month = r.month AND p.account_id = r.account_id
		WHERE r.month = $1 OR (r.recorded_at >= $2 AND r.recorded_at < $1)
		ORDER BY r.month <> $1, a.seller_id, r.month, r.item_id NULLS FIRST`, month, month.AddDate(0, -1, 0))
	if err != nil {
		return err
	}
	var returned []reports.ExceptionRow
	for rows.Next() {
		var own bool
		var seller, paymentID, reason, detail, source string
		var paidIn, returnedAt, recordedAt time.Time
		var amount decimal.Decimal
		if err := rows.Scan(&own, &seller, &paymentID, &paidIn, &reason, &detail, &source, &returnedAt, &recordedAt, &amount); err != nil {
			rows.Close()
			return err
		}
		returned = append(returned, returnException(own, seller, paymentID, paidIn, reason, detail, source, returnedAt, recordedAt, amount))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range returned {
		if err := yield(r); err != nil {
			return err
		}
	}
	if err := splitPaymentRows(ctx, q, month, yield); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `
		SELECT 'payout account ' || e.status, a.seller_id, 'payout account ' || pa.id, e.reason, 0
		FROM payout_account_events e JOIN payout_accounts pa ON pa.id = e.payout_account_id JOIN accounts a ON a.id = pa.account_id
		WHERE e.status IN ('rejected', 'needs_update') AND e.at >= $2 AND e.at < $1
		ORDER BY 1, 2, 3`, month, month.AddDate(0, -1, 0))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r reports.ExceptionRow
		if err := rows.Scan(&r.Kind, &r.SellerID, &r.Reference, &r.Detail, &r.Amount); err != nil {
			return err
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// splitPaymentRows yields one Exceptions row per PayPal payment of month
// sent as several items: the items, their amounts and USD shares.
func splitPaymentRows(ctx context.Context, q Querier, month time.Time, yield func(reports.ExceptionRow) error) error {
	rows, err := q.Query(ctx, `
		SELECT a.seller_id, m.payment_id, m.amount_usd, m.currency, m.amount_in_currency, m.file, i.item_id, i.amount_in_currency, i.amount_usd
		FROM payments m JOIN payment_items i ON i.payment_id = m.payment_id JOIN accounts a ON a.id = m.account_id
		WHERE m.month = $1 ORDER BY a.seller_id, m.payment_id, i.item`, month)
	if err != nil {
		return err
	}
	type splitPayment struct {
		row      reports.ExceptionRow
		currency string
		amount   decimal.Decimal
		places   int32
		file     string
		items    []string
	}
	var split []*splitPayment
	for rows.Next() {
		var seller, paymentID, currency, file, itemID string
		var usd, amount, itemAmount, itemUSD decimal.Decimal
		if err := rows.Scan(&seller, &paymentID, &usd, &currency, &amount, &file, &itemID, &itemAmount, &itemUSD); err != nil {
			rows.Close()
			return err
		}
		places, err := payout.RailMinorUnit(payout.PayoutAccountState{Method: payout.PayPal, Currency: currency})
		if err != nil {
			rows.Close()
			return err
		}
		if n := len(split); n == 0 || split[n-1].row.Reference != paymentID {
			split = append(split, &splitPayment{currency: currency, amount: amount, places: places, file: file,
				row: reports.ExceptionRow{Kind: reports.ExceptionPayPalItems, SellerID: seller, Reference: paymentID, Amount: usd}})
		}
		p := split[len(split)-1]
		item := fmt.Sprintf("%s %s %s", itemID, itemAmount.StringFixed(places), currency)
		if currency != "USD" {
			item += " (" + itemUSD.StringFixed(2) + " USD)"
		}
		p.items = append(p.items, item)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range split {
		p.row.Detail = fmt.Sprintf("%s %s sent as %d PayPal items (PayPal's per-item maximum) in %s: %s", p.amount.StringFixed(p.places), p.currency,
			len(p.items), p.file, strings.Join(p.items, ", "))
	}
	for _, p := range split {
		if err := yield(p.row); err != nil {
			return err
		}
	}
	return nil
}

// returnException is the Exceptions row of a returned payment. own: the
// payment is this cycle's (it came back after the release); otherwise an
// earlier cycle's, recredited into this one. The detail says what came
// back, why, when, and where the money went: the publisher's balance (its
// non-US part: it was withheld on already), paid by the cycle whose window
// the return was recorded in.
func returnException(own bool, seller, paymentID string, paidIn time.Time, reason, detail, source string,
	returnedAt, recordedAt time.Time, amount decimal.Decimal) reports.ExceptionRow {
	why := reason
	if detail != "" {
		why += " " + detail
	}
	rail := map[string]string{"ach": "ACH", "paypal": "PayPal"}[source]
	if rail == "" {
		rail = source
	}
	text := fmt.Sprintf("%s return %s, returned %s", rail, why, returnedAt.UTC().Format(time.DateOnly))
	if own {
		text += fmt.Sprintf("; %s USD recredited to the publisher's balance (non-US part) for cycle %s",
			amount.StringFixed(2), payout.MonthName(RecreditedIn(recordedAt)))
		return reports.ExceptionRow{Kind: reports.ExceptionReturned, SellerID: seller, Reference: paymentID, Detail: text, Amount: amount}
	}
	text = fmt.Sprintf("payment of cycle %s: %s; recredited into this cycle's opening balance (non-US part)", payout.MonthName(paidIn), text)
	return reports.ExceptionRow{Kind: reports.ExceptionRecredited, SellerID: seller, Reference: paymentID, Detail: text, Amount: amount}
}

// RecreditedIn is the cycle (its month's first day) whose balances a
// return recorded at recordedAt goes into: the first cycle whose cutoff is
// after it (a cycle's window is the month before its cutoff).
func RecreditedIn(recordedAt time.Time) time.Time {
	u := recordedAt.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
}

func mkdirFor(path string) error {
	if err := atomicfile.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	return nil
}
