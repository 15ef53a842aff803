package publisher

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/store"
)

// Payment statuses (package doc).
const (
	PaymentSent     = "sent"
	PaymentReturned = "returned"
	PaymentSettled  = "settled"
)

// PaymentStatuses are the statuses a payments filter takes.
var PaymentStatuses = []string{PaymentSent, PaymentReturned, PaymentSettled}

// Payment is one released payment of a publisher.
type Payment struct {
	PaymentID string `json:"payment_id"`
	Cycle     string `json:"cycle"`
	// ScheduledDate is the cycle's payment date; PaymentDate the date the
	// files settle on (later when the release came on or after it).
	ScheduledDate    string        `json:"scheduled_payment_date"`
	PaymentDate      string        `json:"payment_date"`
	Method           string        `json:"method"`
	Rail             string        `json:"rail"`
	Destination      string        `json:"destination"` // masked: bank "*****1234", PayPal the e-mail
	AmountUSD        string        `json:"amount_usd"`
	Withheld         string        `json:"withheld"`
	Rate             string        `json:"rate"`
	RateReason       string        `json:"rate_reason"`
	Currency         string        `json:"currency"`
	AmountInCurrency string        `json:"amount_in_currency"`
	FXRate           string        `json:"fx_rate"`
	Status           string        `json:"status"`
	ReturnedUSD      string        `json:"returned_usd,omitempty"`
	ReturnReason     string        `json:"return_reason,omitempty"`
	Items            []PaymentItem `json:"items"`
}

// PaymentItem is one PayPal item of a payment sent as several (SPEC §6.2).
type PaymentItem struct {
	ItemID           string `json:"item_id"`
	AmountUSD        string `json:"amount_usd"`
	AmountInCurrency string `json:"amount_in_currency"`
	Returned         bool   `json:"returned"`
	ReturnReason     string `json:"return_reason,omitempty"`
}

// PaymentFilter narrows a payments list: Year of the scheduled payment date
// (0: any), Status (""; any).
type PaymentFilter struct {
	Year   int
	Status string
}

// Check refuses a filter naming no status, or a year outside 2000..9999.
// Errors: *fielderr.Error naming "year" or "status".
func (f PaymentFilter) Check() error {
	if f.Year != 0 && (f.Year < 2000 || f.Year > 9999) {
		return fielderr.Newf("year", fielderr.Range, "%d is not a year between 2000 and 9999", f.Year)
	}
	if f.Status != "" && !contains(PaymentStatuses, f.Status) {
		return fielderr.Newf("status", fielderr.Invalid, "%q is not one of sent, returned, settled", f.Status)
	}
	return nil
}

// MaxPageSize bounds one page of payments or transactions.
const MaxPageSize = 500

// Payments lists accountID's payments, newest cycle first, after cursor
// (the cycle of the last payment of the previous page, "YYYY-MM"; empty:
// from the newest), at most limit (1..MaxPageSize); it returns the next
// cursor, empty after the last page.
// Errors: *fielderr.Error (cursor, limit, year, status), ErrUnknownAccount.
func (s *Service) Payments(ctx context.Context, accountID int64, filter PaymentFilter, cursor string, limit int) ([]Payment, string, error) {
	if err := filter.Check(); err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > MaxPageSize {
		return nil, "", fielderr.Newf("limit", fielderr.Range, "%d is outside 1..%d", limit, MaxPageSize)
	}
	before := time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	if cursor != "" {
		month, err := payout.ParseMonth(cursor)
		if err != nil {
			return nil, "", fielderr.Newf("cursor", fielderr.Invalid, "%q is not a cursor this list gave", cursor)
		}
		before = month
	}
	if err := s.checkAccount(ctx, accountID); err != nil {
		return nil, "", err
	}
	rows, err := s.DB.QueryxContext(ctx, paymentsQuery, accountID, before, filter.Year, filter.Status, limit+1,
		store.StateSettled, PaymentSent, PaymentReturned, PaymentSettled)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var payments []Payment
	for rows.Next() {
		var p Payment
		var month, scheduled time.Time
		var settlement sql.NullTime
		var amount, withheld, rate, inCurrency, fx, returned decimal.Decimal
		if err := rows.Scan(&p.PaymentID, &month, &scheduled, &settlement, &p.Method, &p.Rail, &p.Destination, &amount, &withheld, &rate,
			&p.RateReason, &p.Currency, &inCurrency, &fx, &returned, &p.ReturnReason, &p.Status); err != nil {
			return nil, "", err
		}
		p.Cycle, p.ScheduledDate, p.PaymentDate = payout.MonthName(month), scheduled.Format(time.DateOnly), scheduled.Format(time.DateOnly)
		if settlement.Valid {
			p.PaymentDate = settlement.Time.Format(time.DateOnly)
		}
		places, err := payout.CurrencyPlaces(payout.Method(p.Method), p.Currency)
		if err != nil {
			places = 2
		}
		p.AmountUSD, p.Withheld, p.Rate = amount.StringFixed(2), withheld.StringFixed(2), rate.StringFixed(4)
		p.AmountInCurrency, p.FXRate = inCurrency.StringFixed(places), fx.String()
		if returned.IsPositive() {
			p.ReturnedUSD = returned.StringFixed(2)
		}
		p.Items = []PaymentItem{}
		payments = append(payments, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	rows.Close()
	next := ""
	if len(payments) > limit {
		payments = payments[:limit]
		next = payments[limit-1].Cycle
	}
	if err := s.paymentItems(ctx, payments); err != nil {
		return nil, "", err
	}
	if payments == nil {
		payments = []Payment{}
	}
	return payments, next, nil
}

// paymentItems fills the PayPal items of the payments sent as several.
func (s *Service) paymentItems(ctx context.Context, payments []Payment) error {
	if len(payments) == 0 {
		return nil
	}
	index := make(map[string]int, len(payments))
	ids := make([]string, len(payments))
	for i, p := range payments {
		index[p.PaymentID], ids[i] = i, p.PaymentID
	}
	rows, err := s.DB.QueryxContext(ctx, `
		SELECT i.payment_id, i.item_id, i.amount_usd, i.amount_in_currency, r.id IS NOT NULL, coalesce(r.reason, '')
		FROM payment_items i LEFT JOIN payout_returns r ON r.item_id = i.item_id
		WHERE i.payment_id = ANY($1) ORDER BY i.payment_id, i.item`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var paymentID string
		var item PaymentItem
		var usdAmount, inCurrency decimal.Decimal
		if err := rows.Scan(&paymentID, &item.ItemID, &usdAmount, &inCurrency, &item.Returned, &item.ReturnReason); err != nil {
			return err
		}
		p := &payments[index[paymentID]]
		places, err := payout.CurrencyPlaces(payout.Method(p.Method), p.Currency)
		if err != nil {
			places = 2
		}
		item.AmountUSD, item.AmountInCurrency = usdAmount.StringFixed(2), inCurrency.StringFixed(places)
		p.Items = append(p.Items, item)
	}
	return rows.Err()
}

// paymentsQuery: $1 account, $2 cycles before this month, $3 year (0: any),
// $4 status ("": any), $5 limit, $6 the settled state, $7..$9 the statuses.
const paymentsQuery = `
SELECT * FROM (
    SELECT pm.payment_id, pm.month, c.payment_date, c.settlement_date, pm.method, pm.rail,
           coalesce('*****' || pa.number_last4, pa.paypal_email, ''),
           pm.amount_usd, p.withheld, coalesce(p.rate, 0), p.rate_reason, pm.currency, pm.amount_in_currency, pm.fx_rate,
           coalesce(r.returned, 0), coalesce(r.reasons, ''),
           CASE WHEN r.returned IS NOT NULL THEN $8 WHEN c.state = $6 THEN $9 ELSE $7 END AS status
      FROM payments pm
      JOIN payouts p ON p.month = pm.month AND p.account_id = pm.account_id
      JOIN cycles c ON c.month = pm.month
      LEFT JOIN payout_accounts pa ON pa.id = p.payout_account_id
      LEFT JOIN (SELECT month, sum(amount_usd) AS returned, string_agg(DISTINCT reason, ', ' ORDER BY reason) AS reasons
                   FROM payout_returns WHERE account_id = $1 GROUP BY month) r ON r.month = pm.month
     WHERE pm.account_id = $1 AND pm.month < $2 AND ($3 = 0 OR extract(year FROM c.payment_date) = $3)
) page
WHERE $4 = '' OR status = $4
ORDER BY month DESC LIMIT $5`

// checkAccount refuses an unknown account id.
func (s *Service) checkAccount(ctx context.Context, accountID int64) error {
	var exists bool
	if err := s.DB.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, accountID)
	}
	return nil
}

func contains(list []string, value string) bool {
	for _, v := range list {
		if v == value {
			return true
		}
	}
	return false
}
