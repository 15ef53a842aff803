package statement

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/reports"
)

// Errors callers branch on (see the package documentation).
var (
	ErrNotClosed         = errors.New("cycle not closed")
	ErrOutputNotWritable = errors.New("output directory is not writable")
)

// Decision shown when the close did not evaluate the publisher (no payouts
// row: a zero balance).
const (
	DecisionNone    = "none"
	ReasonNoBalance = "no_balance"
)

// Request names one statement.
type Request struct {
	SellerID string
	// Month is the cycle, the 1st of the payment month at 00:00 UTC.
	Month time.Time
	// OutDir is the output directory; the files go under
	// <OutDir>/statements/<seller id>/.
	OutDir string
	// Overwrite replaces existing statement files (atomically).
	Overwrite bool
	// Now is shown on the statement as its generation time.
	Now time.Time
}

// Result says what was written.
type Result struct {
	SellerID string `json:"seller_id"`
	Month    string `json:"month"`
	XLSX     string `json:"xlsx"`
	CSV      string `json:"csv"`
	// Decision is the cycle's decision for the publisher: paid, held,
	// carried, or DecisionNone.
	Decision string   `json:"decision"`
	Reasons  []string `json:"reasons,omitempty"`
	// PaymentID, PaymentStatus and Withheld describe the payout (empty and
	// zero when none was made).
	PaymentID     string          `json:"payment_id,omitempty"`
	PaymentStatus string          `json:"payment_status,omitempty"`
	Withheld      decimal.Decimal `json:"withheld"`
	// PaymentDate is the cycle's scheduled payment date; SettlementDate,
	// once the cycle is released, the date its files settle on: the
	// payment date, or the next banking day after a release on or after it
	// (payout.SettlementDate). Both YYYY-MM-DD.
	PaymentDate    string `json:"payment_date"`
	SettlementDate string `json:"settlement_date,omitempty"`
	// Items are the PayPal items of a payment above PayPal's per-item
	// maximum, which went out as several items (none otherwise).
	Items []PaymentItem `json:"items,omitempty"`
	// Lines counts the lines listed, in total and by status.
	Lines    int            `json:"lines"`
	ByStatus map[string]int `json:"by_status"`
}

// PaymentItem is one PayPal item of a payment sent as several items.
type PaymentItem struct {
	ItemID    string          `json:"item_id"`
	AmountUSD decimal.Decimal `json:"amount_usd"`
	Amount    decimal.Decimal `json:"amount"`
	Currency  string          `json:"currency"`
	Returned  bool            `json:"returned,omitempty"`
}

// Paths returns where the statement of seller for month goes under outDir.
func Paths(outDir, sellerID string, month time.Time) (xlsxPath, csvPath string) {
	dir := filepath.Join(outDir, "statements", sellerID)
	base := "statement-" + payout.MonthName(month)
	return filepath.Join(dir, base+".xlsx"), filepath.Join(dir, base+".csv")
}

// LineStatus is the SPEC §2 status of a line available at availableAt in
// the statement of a cycle with this cutoff, given the status of the
// cycle's payment (reports.LineProcessed, LineSent or LineReturned; "" when
// the cycle paid nothing).
func LineStatus(availableAt, cutoff time.Time, paymentStatus string) string {
	switch {
	case !availableAt.Before(cutoff):
		return reports.LineUnprocessed
	case paymentStatus == "":
		return reports.LineReserved
	default:
		return paymentStatus
	}
}

// Write writes the statement of req.SellerID for req.Month.
//
// Errors: ledger.ErrUnknownSeller, ErrNotClosed, ErrOutputNotWritable,
// reports.ErrFileExists, the errors of reports.WriteStatement, database
// errors.
func Write(ctx context.Context, database *sqlx.DB, req Request) (Result, error) {
	var result Result
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		// One snapshot for the header and both passes over the lines.
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		result, err = write(ctx, tx, req)
		return err
	})
	return result, err
}

// cycleInfo is what the statement needs of the cycle and the publisher.
type cycleInfo struct {
	accountID   int64
	displayName string
	state       string
	cutoff      time.Time
	paymentDate time.Time
	settlement  *time.Time // nil until released
	// windowStart is the cutoff of the publisher's previous paid cycle:
	// lines available before it were consumed by earlier payouts.
	windowStart time.Time
}

func write(ctx context.Context, tx pgx.Tx, req Request) (Result, error) {
	monthName := payout.MonthName(req.Month)
	result := Result{SellerID: req.SellerID, Month: monthName, ByStatus: map[string]int{}}
	var info cycleInfo
	err := tx.QueryRow(ctx, `SELECT id, display_name FROM accounts WHERE seller_id = $1`, req.SellerID).Scan(&info.accountID, &info.displayName)
	if errors.Is(err, pgx.ErrNoRows) {
		return result, fmt.Errorf("%w: %s", ledger.ErrUnknownSeller, req.SellerID)
	}
	if err != nil {
		return result, err
	}
	err = tx.QueryRow(ctx, `SELECT state, cutoff, payment_date, settlement_date FROM cycles WHERE month = $1`, req.Month).
		Scan(&info.state, &info.cutoff, &info.paymentDate, &info.settlement)
	if errors.Is(err, pgx.ErrNoRows) {
		return result, fmt.Errorf("%w: %s has not been closed yet", ErrNotClosed, monthName)
	}
	if err != nil {
		return result, err
	}
	if info.state == "open" || info.state == "closing" {
		return result, fmt.Errorf("%w: %s is still %s", ErrNotClosed, monthName, info.state)
	}
	var windowStart *time.Time
	if err := tx.QueryRow(ctx, `
		SELECT max(c.cutoff) FROM payouts p JOIN cycles c ON c.month = p.month
		WHERE p.account_id = $1 AND p.status = 'paid' AND p.month < $2`, info.accountID, req.Month).Scan(&windowStart); err != nil {
		return result, err
	}
	if windowStart != nil {
		info.windowStart = *windowStart
	} else {
		info.windowStart = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	}

	header, err := headerOf(ctx, tx, req, info)
	if err != nil {
		return result, err
	}
	result.Decision, result.Reasons = header.Status, header.Reasons
	if header.Payout != nil {
		result.PaymentID, result.PaymentStatus, result.Withheld = header.Payout.PaymentID, header.PaymentStatus, header.Payout.Withheld
		if result.Items, err = paymentItems(ctx, tx, header.Payout.PaymentID); err != nil {
			return result, err
		}
	}
	result.PaymentDate = info.paymentDate.Format(time.DateOnly)
	if info.settlement != nil {
		result.SettlementDate = info.settlement.Format(time.DateOnly)
		header.SettlementDate = info.settlement
	}
	for _, item := range result.Items {
		header.Items = append(header.Items, reports.StatementItem{ItemID: item.ItemID, Amount: item.Amount, AmountUSD: item.AmountUSD, Returned: item.Returned})
	}

	xlsxPath, csvPath := Paths(req.OutDir, req.SellerID, req.Month)
	result.XLSX, result.CSV = xlsxPath, csvPath
	if err := prepareDirectory(filepath.Dir(xlsxPath)); err != nil {
		return result, err
	}
	var opts []reports.Option
	if req.Overwrite {
		opts = append(opts, reports.Overwrite())
	} else {
		for _, path := range []string{xlsxPath, csvPath} {
			if _, err := os.Lstat(path); err == nil {
				return result, fmt.Errorf("statement %s: %w", path, reports.ErrFileExists)
			}
		}
	}

	paymentID, paymentStatus := "", ""
	if header.Payout != nil {
		paymentID, paymentStatus = header.Payout.PaymentID, header.PaymentStatus
	}
	lines := func(yield func(reports.StatementLine) error) error {
		// Counted afresh on every pass; the last pass is the one written.
		result.Lines, result.ByStatus = 0, map[string]int{}
		return streamLines(ctx, tx, info, paymentID, paymentStatus, func(line reports.StatementLine) error {
			result.Lines++
			result.ByStatus[line.Status]++
			return yield(line)
		})
	}
	if err := reports.WriteStatement(xlsxPath, csvPath, header, lines, opts...); err != nil {
		return result, err
	}
	return result, nil
}

// headerOf reads the cycle's decision for the publisher and its payout.
func headerOf(ctx context.Context, tx pgx.Tx, req Request, info cycleInfo) (reports.StatementHeader, error) {
	header := reports.StatementHeader{
		SellerID: req.SellerID, DisplayName: info.displayName, Month: payout.MonthName(req.Month),
		Cutoff: info.cutoff, PaymentDate: info.paymentDate, GeneratedAt: req.Now,
	}
	var (
		p          reports.PayoutRow
		fxRate     *decimal.Decimal
		inCurrency *decimal.Decimal
		file       *string
		paymentID  *string
		rate       *decimal.Decimal
		method     *string
		currency   *string
		returned   bool
	)
	err := tx.QueryRow(ctx, `
		SELECT p.status, p.reasons, a.registration_country, p.method, coalesce('*****' || pa.number_last4, pa.paypal_email, ''),
		       p.currency, p.balance_us + p.balance_other, p.withholding_base, p.rate, p.rate_reason, p.withheld, p.paid_usd,
		       m.fx_rate, m.amount_in_currency, p.payment_id, m.file,
		       EXISTS (SELECT 1 FROM payout_returns r WHERE r.month = p.month AND r.account_id = p.account_id)
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		LEFT JOIN payout_accounts pa ON pa.id = p.payout_account_id
		LEFT JOIN payments m ON m.month = p.month AND m.account_id = p.account_id
		WHERE p.month = $1 AND p.account_id = $2`, req.Month, info.accountID).
		Scan(&header.Status, &header.Reasons, &p.Country, &method, &p.MaskedAccount, &currency, &p.Gross, &p.USBase, &rate,
			&p.RateReason, &p.Withheld, &p.PaidUSD, &fxRate, &inCurrency, &paymentID, &file, &returned)
	if errors.Is(err, pgx.ErrNoRows) {
		header.Status, header.Reasons = DecisionNone, []string{ReasonNoBalance}
		return header, nil
	}
	if err != nil {
		return header, err
	}
	if header.Status != string(payout.Paid) {
		return header, nil
	}
	p.SellerID, p.DisplayName = req.SellerID, info.displayName
	p.Method, p.Currency, p.PaymentID = deref(method), deref(currency), deref(paymentID)
	if rate != nil {
		p.Rate = *rate
	}
	switch {
	case fxRate != nil && inCurrency != nil:
		p.FXRate, p.PaidInCurrency, p.File = *fxRate, *inCurrency, deref(file)
	case p.Currency == "USD":
		p.FXRate, p.PaidInCurrency = decimal.NewFromInt(1), p.PaidUSD
	}
	header.Payout = &p
	switch {
	case returned:
		header.PaymentStatus = reports.LineReturned
	case file != nil:
		header.PaymentStatus = reports.LineSent
	default:
		header.PaymentStatus = reports.LineProcessed
	}
	return header, nil
}

// paymentItems reads the PayPal items of a payment sent as several items.
func paymentItems(ctx context.Context, tx pgx.Tx, paymentID string) ([]PaymentItem, error) {
	rows, err := tx.Query(ctx, `
		SELECT i.item_id, i.amount_usd, i.amount_in_currency, m.currency, EXISTS (SELECT 1 FROM payout_returns r WHERE r.item_id = i.item_id)
		FROM payment_items i JOIN payments m ON m.payment_id = i.payment_id
		WHERE i.payment_id = $1 ORDER BY i.item`, paymentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []PaymentItem
	for rows.Next() {
		var item PaymentItem
		if err := rows.Scan(&item.ItemID, &item.AmountUSD, &item.Amount, &item.Currency, &item.Returned); err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

// streamLines yields the statement's lines in order (see the package
// documentation for which lines).
func streamLines(ctx context.Context, tx pgx.Tx, info cycleInfo, paymentID, paymentStatus string, yield func(reports.StatementLine) error) error {
	rows, err := tx.Query(ctx, `
		SELECT revenue_source, transaction_id, transaction_at, market, transaction_type, amount, eligible_at, available_at
		FROM earnings_lines
		WHERE account_id = $1 AND available_at >= $2 AND (available_at < $3 OR transaction_at < $3)
		ORDER BY available_at, transaction_id, revenue_source`, info.accountID, info.windowStart, info.cutoff)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var line reports.StatementLine
		var availableAt time.Time
		if err := rows.Scan(&line.RevenueSource, &line.TransactionID, &line.TransactionAt, &line.Market, &line.TransactionType,
			&line.Amount, &line.EligibleAt, &availableAt); err != nil {
			return err
		}
		line.Status = LineStatus(availableAt, info.cutoff, paymentStatus)
		if line.Status != reports.LineUnprocessed && line.Status != reports.LineReserved {
			line.PaymentID = paymentID
		}
		if err := yield(line); err != nil {
			return err
		}
	}
	return rows.Err()
}

// prepareDirectory creates dir and proves it writable before any work.
func prepareDirectory(dir string) error {
	if err := atomicfile.MkdirAll(dir); err != nil {
		return fmt.Errorf("%w: %v", ErrOutputNotWritable, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrOutputNotWritable, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
