package cyclereport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/atomicfile"
	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
)

// ResultName is the file name of a cycle's per-account results, next to
// its workbook: <out>/cycles/<M>/result.json.
const ResultName = "result.json"

// ResultPath is where a cycle's result.json goes under the output
// directory.
func ResultPath(outDir string, month time.Time) string {
	return filepath.Join(outDir, "cycles", payout.MonthName(month), ResultName)
}

// AccountResult is one evaluated account in result.json. Amounts are fixed
// decimals: balances 6 places, cents 2.
type AccountResult struct {
	SellerID       string   `json:"seller_id"`
	Status         string   `json:"status"`
	Reasons        []string `json:"reasons"`
	Balance        string   `json:"balance"`
	USBase         string   `json:"us_base"`
	Rate           string   `json:"rate"`
	RateReason     string   `json:"rate_reason"`
	Withheld       string   `json:"withheld"`
	Paid           string   `json:"paid"`
	Currency       string   `json:"currency"`
	PaidInCurrency string   `json:"paid_in_currency"`
	FXRate         string   `json:"fx_rate"`
	Carried        string   `json:"carried"`
	Method         string   `json:"method"`
	File           string   `json:"file"`
	PaymentID      string   `json:"payment_id"`
	// Returned is the USD amount of this payment that came back (SPEC
	// §6.3), with the R-code or PayPal status; written again when a return
	// is imported.
	Returned     string `json:"returned"`
	ReturnReason string `json:"return_reason"`
	// For a returned payment: the bank's or PayPal's detail, when it came
	// back (RFC 3339), and the recredit: the amount credited back to the
	// publisher's balance (its non-US part: the withholding stays
	// withheld) and the cycle that pays it.
	ReturnDetail string `json:"return_detail,omitempty"`
	ReturnedAt   string `json:"returned_at,omitempty"`
	Recredited   string `json:"recredited,omitempty"`
	RecreditedIn string `json:"recredited_in,omitempty"`
	// PayPalItems are the items of a PayPal payment above PayPal's
	// per-item maximum, which went out as several items (SPEC §6.2); absent
	// for every other payment. Returned, for a payment with items, is the
	// sum of the items that came back.
	PayPalItems []ItemResult `json:"paypal_items,omitempty"`
}

// ItemResult is one PayPal item of a payment sent as several items: its
// sender_item_id, its amount in the payment's currency and its USD share
// (what a return of that item alone credits back), and the return's
// status when it came back.
type ItemResult struct {
	ItemID         string `json:"item_id"`
	PaidInCurrency string `json:"paid_in_currency"`
	PaidUSD        string `json:"paid_usd"`
	ReturnReason   string `json:"return_reason,omitempty"`
}

// Result is a cycle's result.json: every evaluated account, and totals.
// Totals: paid, withheld (2 places), held, carried (6 places), returned
// (earlier cycles' payments returned and recredited into this cycle's
// balances) and returned_payments (this cycle's payments that came back
// after its release).
type Result struct {
	Month       string `json:"month"`
	Cutoff      string `json:"cutoff"`
	PaymentDate string `json:"payment_date"`
	// SettlementDate is the date the files settle on when it is not the
	// payment date: after a release on or after the payment date, the next
	// banking day after the release (payout.SettlementDate). Absent for a
	// cycle released before its payment date (it settles on PaymentDate)
	// and before the release.
	SettlementDate string            `json:"settlement_date,omitempty"`
	State          string            `json:"state"`
	Accounts       []AccountResult   `json:"accounts"`
	Totals         map[string]string `json:"totals"`
}

// ReadResult builds month's Result from the database.
func ReadResult(ctx context.Context, q Querier, month time.Time) (Result, error) {
	var accounts []AccountResult
	r, err := readResult(ctx, q, month, nil, func(a AccountResult) error {
		accounts = append(accounts, a)
		return nil
	})
	r.Accounts = accounts
	return r, err
}

// readResult reads month's Result from the database: begin (when not nil)
// gets the header (the fields before the accounts) as soon as it is read,
// then each gets every account in seller order instead of keeping them
// (r.Accounts stays nil), so a writer can stream a 1M-account cycle.
func readResult(ctx context.Context, q Querier, month time.Time, begin func(header Result) error, each func(AccountResult) error) (Result, error) {
	var r Result
	var cutoff, paymentDate time.Time
	var settlement *time.Time
	if err := q.QueryRow(ctx, `SELECT state, cutoff, payment_date, settlement_date FROM cycles WHERE month = $1`, month).
		Scan(&r.State, &cutoff, &paymentDate, &settlement); err != nil {
		return r, err
	}
	r.Month, r.Cutoff, r.PaymentDate = payout.MonthName(month), cutoff.UTC().Format(time.RFC3339), paymentDate.Format(time.DateOnly)
	if settlement != nil && !settlement.Equal(paymentDate) {
		r.SettlementDate = settlement.Format(time.DateOnly)
	}
	if begin != nil {
		if err := begin(r); err != nil {
			return r, err
		}
	}
	items, err := paymentItems(ctx, q, month)
	if err != nil {
		return r, err
	}
	rows, err := q.Query(ctx, `
		SELECT a.seller_id, p.status, p.reasons, p.balance_us + p.balance_other, p.withholding_base, coalesce(p.rate, 0), p.rate_reason,
		       p.withheld, p.paid_usd, coalesce(p.currency, ''), coalesce(m.amount_in_currency, 0), coalesce(m.fx_rate, 0),
		       p.carried_us + p.carried_other, coalesce(p.method, ''), coalesce(m.rail, ''), coalesce(p.payment_id, ''),
		       coalesce(r.amount_usd, 0), coalesce(r.reason, ''), coalesce(r.detail, ''), r.returned_at, r.recorded_at
		FROM payouts p JOIN accounts a ON a.id = p.account_id LEFT JOIN payments m ON m.month = p.month AND m.account_id = p.account_id
		LEFT JOIN LATERAL (
		    -- One row per payout: a payment sent as several PayPal items can
		    -- come back item by item (the sum, the reasons and details in
		    -- order, the first return's instants).
		    SELECT sum(amount_usd) AS amount_usd, string_agg(DISTINCT reason, ',') AS reason,
		           string_agg(detail, '; ' ORDER BY returned_at, id) FILTER (WHERE detail <> '') AS detail,
		           min(returned_at) AS returned_at, min(recorded_at) AS recorded_at
		    FROM payout_returns x WHERE x.month = p.month AND x.account_id = p.account_id
		    HAVING count(*) > 0) r ON true
		WHERE p.month = $1 ORDER BY a.seller_id`, month)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	totals := map[string]decimal.Decimal{"paid": decimal.Zero, "withheld": decimal.Zero, "held": decimal.Zero, "carried": decimal.Zero,
		"returned_payments": decimal.Zero}
	for rows.Next() {
		var a AccountResult
		var balance, base, rate, withheld, paid, inCurrency, fx, carried, returned decimal.Decimal
		var returnedAt, recordedAt *time.Time
		if err := rows.Scan(&a.SellerID, &a.Status, &a.Reasons, &balance, &base, &rate, &a.RateReason, &withheld, &paid, &a.Currency,
			&inCurrency, &fx, &carried, &a.Method, &a.File, &a.PaymentID, &returned, &a.ReturnReason, &a.ReturnDetail,
			&returnedAt, &recordedAt); err != nil {
			return r, err
		}
		a.Returned = returned.StringFixed(2)
		a.PayPalItems = items[a.PaymentID]
		if returnedAt != nil && recordedAt != nil {
			a.ReturnedAt = returnedAt.UTC().Format(time.RFC3339)
			a.Recredited = returned.StringFixed(2)
			a.RecreditedIn = payout.MonthName(RecreditedIn(*recordedAt))
			totals["returned_payments"] = totals["returned_payments"].Add(returned)
		}
		a.Balance, a.USBase, a.Rate = balance.StringFixed(6), base.StringFixed(6), rate.StringFixed(2)
		a.Withheld, a.Paid, a.Carried = withheld.StringFixed(2), paid.StringFixed(2), carried.StringFixed(6)
		a.PaidInCurrency, a.FXRate = inCurrency.String(), fx.String()
		if a.Reasons == nil {
			a.Reasons = []string{}
		}
		if err := each(a); err != nil {
			return r, err
		}
		totals["paid"] = totals["paid"].Add(paid)
		totals["withheld"] = totals["withheld"].Add(withheld)
		switch a.Status {
		case "held":
			totals["held"] = totals["held"].Add(carried)
		case "carried":
			totals["carried"] = totals["carried"].Add(carried)
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	var returned decimal.Decimal
	if err := q.QueryRow(ctx, `SELECT coalesce(sum(amount_usd), 0) FROM payout_returns WHERE recorded_at >= $1 AND recorded_at < $2`,
		month.AddDate(0, -1, 0), month).Scan(&returned); err != nil {
		return r, err
	}
	r.Totals = map[string]string{"paid": totals["paid"].StringFixed(2), "withheld": totals["withheld"].StringFixed(2),
		"held": totals["held"].StringFixed(6), "carried": totals["carried"].StringFixed(6), "returned": returned.StringFixed(2),
		"returned_payments": totals["returned_payments"].StringFixed(2)}
	return r, nil
}

// paymentItems reads month's PayPal items of payments sent as several
// items, by payment id, in order.
func paymentItems(ctx context.Context, q Querier, month time.Time) (map[string][]ItemResult, error) {
	rows, err := q.Query(ctx, `
		SELECT i.payment_id, i.item_id, i.amount_in_currency, m.currency, i.amount_usd, coalesce(r.reason, '')
		FROM payment_items i JOIN payments m ON m.payment_id = i.payment_id
		LEFT JOIN payout_returns r ON r.item_id = i.item_id
		WHERE m.month = $1 ORDER BY i.payment_id, i.item`, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := map[string][]ItemResult{}
	for rows.Next() {
		var paymentID, currency string
		var item ItemResult
		var inCurrency, usd decimal.Decimal
		if err := rows.Scan(&paymentID, &item.ItemID, &inCurrency, &currency, &usd, &item.ReturnReason); err != nil {
			return nil, err
		}
		places, err := payout.RailMinorUnit(payout.PayoutAccountState{Method: payout.PayPal, Currency: currency})
		if err != nil {
			return nil, err
		}
		item.PaidInCurrency, item.PaidUSD = inCurrency.StringFixed(places), usd.StringFixed(2)
		items[paymentID] = append(items[paymentID], item)
	}
	return items, rows.Err()
}

// WriteResult writes month's result.json under outDir (replacing an
// earlier one, atomically) and returns its path.
//
// The accounts stream from the database into the file, one at a time, so
// the memory does not grow with the cycle; the bytes are exactly those of
// json.MarshalIndent(ReadResult(...), "", "  ") and a newline (the header
// and the totals are cut from that marshalling of the Result without its
// accounts, each account is marshalled at its depth in the array).
func WriteResult(ctx context.Context, q Querier, outDir string, month time.Time) (string, error) {
	path := ResultPath(outDir, month)
	if err := mkdirFor(path); err != nil {
		return "", err
	}
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		out := bufio.NewWriterSize(w, 1<<16)
		first := true
		r, err := readResult(ctx, q, month, func(header Result) error {
			head, _, err := resultFrame(header)
			if err == nil {
				_, err = out.Write(head)
			}
			return err
		}, func(a AccountResult) error {
			body, err := json.MarshalIndent(a, "    ", "  ")
			if err != nil {
				return err
			}
			if first {
				out.WriteString("[\n    ")
				first = false
			} else {
				out.WriteString(",\n    ")
			}
			_, err = out.Write(body)
			return err
		})
		if err != nil {
			return err
		}
		_, tail, err := resultFrame(r)
		if err != nil {
			return err
		}
		if first {
			out.WriteString("[]")
		} else {
			out.WriteString("\n  ]")
		}
		out.Write(tail)
		out.WriteString("\n")
		return out.Flush()
	})
	return path, err
}

// resultFrame is what json.MarshalIndent writes of r around its accounts:
// the text up to the accounts' array and the text after it.
func resultFrame(r Result) (head, tail []byte, err error) {
	r.Accounts = []AccountResult{}
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	const marker = `"accounts": []`
	i := bytes.Index(body, []byte(marker))
	if i < 0 {
		return nil, nil, fmt.Errorf("cyclereport: no accounts array in %s", body)
	}
	return body[:i+len(marker)-2], body[i+len(marker):], nil
}

// AfterReturns brings a released cycle's outputs up to date once returns of
// its payments were imported (returns.Import): the workbook is written
// again (its Exceptions sheet and Summary show each return, its reason and
// its recredit), and so is result.json when one was written before (the
// simulator and the demo write it; a production output directory has
// none). It returns the paths written. The payment files and the manifest
// are never touched.
func AfterReturns(ctx context.Context, q Querier, outDir string, month time.Time) ([]string, error) {
	workbook, err := Write(ctx, q, outDir, month, false)
	if err != nil {
		return nil, fmt.Errorf("cycle %s workbook: %w", payout.MonthName(month), err)
	}
	written := []string{workbook}
	if _, err := os.Stat(ResultPath(outDir, month)); errors.Is(err, fs.ErrNotExist) {
		return written, nil
	}
	result, err := WriteResult(ctx, q, outDir, month)
	if err != nil {
		return written, fmt.Errorf("cycle %s result.json: %w", payout.MonthName(month), err)
	}
	return append(written, result), nil
}

// RewriteAfterReturns runs AfterReturns, on a connection of database, for
// every cycle ("2026-11") with payments an import just recorded as returned
// (each once, in order). A cycle whose rewrite fails does not stop the
// others; the errors are joined.
func RewriteAfterReturns(ctx context.Context, database *sqlx.DB, outDir string, months []string) ([]string, error) {
	months = slices.Clone(months)
	slices.Sort(months)
	months = slices.Compact(months)
	var written []string
	var errs []error
	for _, name := range months {
		month, err := time.Parse("2006-01", name)
		if err != nil {
			errs = append(errs, fmt.Errorf("cycle %q: %w", name, err))
			continue
		}
		err = db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
			paths, err := AfterReturns(ctx, conn, outDir, month)
			written = append(written, paths...)
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return written, fmt.Errorf("the returns are recorded, but their cycles' outputs were not all written again: %w", errors.Join(errs...))
	}
	return written, nil
}
