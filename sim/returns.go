package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/cyclereport"
	"github.com/payrun/payrun/payout/nacha"
	"github.com/payrun/payrun/payout/paypal"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/returns"
)

// perMilleReturned is the share of a seeded cycle's ACH and PayPal payments
// that come back (SPEC §6.3), in tenths of a percent.
const perMilleReturned = 15

// ReturnSpec is one return file to fabricate: the payments of Month to
// AccountIDs came back with Code (an R-code for ACH, default R01; a PayPal
// status, default RETURNED) and Reason (addenda information, PayPal
// reason). ProcessedAt is PayPal's time_processed (default now). Item
// names one PayPal item (from 1) of a payment sent as several items (PayPal's
// per-item maximum): only that item comes back; 0 returns every item of such
// a payment (the whole payment came back).
type ReturnSpec struct {
	Month       time.Time
	AccountIDs  []int64
	Code        string
	Reason      string
	ProcessedAt *time.Time
	Item        int
}

// sentPayment is a payments row a return file names.
type sentPayment struct {
	accountID                 int64
	paymentID, rail, currency string
	amount                    decimal.Decimal
	trace                     *string
}

// ImportReturn builds the file the bank or PayPal sends back for spec, the
// way they would — ACH: nacha.WriteReturnFile over the cycle's released ACH
// file read from outDir, created at the clock's now; PayPal: a status CSV
// with the amount and currency sent — and imports it with
// returns.Import, then writes the cycle's workbook and result.json again
// (showing the returns), as `payrun returns import` does. The payments must
// exist and have gone by the same rail (ACH or PayPal: SEPA has no return
// file here).
func ImportReturn(ctx context.Context, s *Services, outDir string, spec ReturnSpec, name string) (returns.Result, error) {
	if len(spec.AccountIDs) == 0 {
		return returns.Result{}, errors.New("a return names at least one payment")
	}
	var payments []sentPayment
	for _, id := range spec.AccountIDs {
		p := sentPayment{accountID: id}
		err := s.DB.QueryRowxContext(ctx, `SELECT payment_id, rail, currency, amount_in_currency, trace FROM payments WHERE month = $1 AND account_id = $2`,
			spec.Month, id).Scan(&p.paymentID, &p.rail, &p.currency, &p.amount, &p.trace)
		if isNoRows(err) {
			return returns.Result{}, fmt.Errorf("account %d was not paid in %s: no payment to return", id, payout.MonthName(spec.Month))
		}
		if err != nil {
			return returns.Result{}, err
		}
		if len(payments) > 0 && payments[0].rail != p.rail {
			return returns.Result{}, fmt.Errorf("one return file per rail: %s went by %s, %s by %s", payments[0].paymentID, payments[0].rail, p.paymentID, p.rail)
		}
		payments = append(payments, p)
	}
	now := s.Clock.Now()
	var body bytes.Buffer
	switch payments[0].rail {
	case "ach":
		code := spec.Code
		if code == "" {
			code = "R01"
		}
		path := filepath.Join(release.Directory(outDir, spec.Month), "ach-"+payout.MonthName(spec.Month)+".txt")
		original, err := os.ReadFile(path)
		if err != nil {
			return returns.Result{}, fmt.Errorf("the released ACH file: %w", err)
		}
		file, err := nacha.Read(bytes.NewReader(original))
		if err != nil {
			return returns.Result{}, fmt.Errorf("%s: %w", path, err)
		}
		requests := make([]nacha.ReturnRequest, len(payments))
		for i, p := range payments {
			requests[i] = nacha.ReturnRequest{Trace: *p.trace, Code: code, AddendaInformation: spec.Reason}
		}
		if _, err := nacha.WriteReturnFile(&body, file, now, requests); err != nil {
			return returns.Result{}, fmt.Errorf("bank return file: %w", err)
		}
	case "paypal":
		code := spec.Code
		if code == "" {
			code = paypal.StatusReturned
		}
		processed := now
		if spec.ProcessedAt != nil {
			processed = *spec.ProcessedAt
		}
		body.WriteString("sender_item_id,transaction_status,amount,currency,time_processed,reason\n")
		for _, p := range payments {
			places, err := paypal.Decimals(p.currency)
			if err != nil {
				return returns.Result{}, err
			}
			// PayPal reports items: a payment sent as several items comes
			// back by its items' sender_item_ids.
			type item struct {
				ID     string          `db:"item_id"`
				N      int             `db:"item"`
				Amount decimal.Decimal `db:"amount_in_currency"`
			}
			var items []item
			if err := s.DB.SelectContext(ctx, &items, `SELECT item_id, item, amount_in_currency FROM payment_items WHERE payment_id = $1 ORDER BY item`,
				p.paymentID); err != nil {
				return returns.Result{}, err
			}
			if len(items) == 0 {
				if spec.Item > 1 {
					return returns.Result{}, fmt.Errorf("payment %s went out as one PayPal item: there is no item %d", p.paymentID, spec.Item)
				}
				items = []item{{ID: p.paymentID, N: 1, Amount: p.amount}}
			}
			if spec.Item > len(items) {
				return returns.Result{}, fmt.Errorf("payment %s went out as %d PayPal items: there is no item %d", p.paymentID, len(items), spec.Item)
			}
			for _, it := range items {
				if spec.Item == 0 || it.N == spec.Item {
					fmt.Fprintf(&body, "%s,%s,%s,%s,%s,%s\n", it.ID, code, it.Amount.StringFixed(places), p.currency, processed.UTC().Format(time.RFC3339), spec.Reason)
				}
			}
		}
	default:
		return returns.Result{}, fmt.Errorf("payment %s went by %s: only ACH and PayPal payments have return files", payments[0].paymentID, payments[0].rail)
	}
	result, err := returns.Import(ctx, s.DB, s.Clock.Now, &body, name)
	if err != nil {
		return result, err
	}
	return result, db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		_, err := cyclereport.AfterReturns(ctx, conn, outDir, spec.Month)
		return err
	})
}

// seededReturns: about perMilleReturned of month's ACH and PayPal payments,
// drawn from the seed, come back — one bank return file (R01, R02, R03 or
// R04 per entry: one file per code) and one PayPal status file (FAILED,
// RETURNED, BLOCKED, REFUNDED). It returns the accounts whose payments came
// back: their payout accounts are needs_update.
func seededReturns(ctx context.Context, s *Services, seed uint64, outDir string, month time.Time) ([]int64, error) {
	var paid []struct {
		AccountID int64  `db:"account_id"`
		Rail      string `db:"rail"`
	}
	if err := s.DB.SelectContext(ctx, &paid, `SELECT account_id, rail FROM payments WHERE month = $1 AND rail IN ('ach', 'paypal') ORDER BY account_id`, month); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, uint64(month.Unix())^0x72657475726e))
	achCodes, payPalStatuses := []string{"R01", "R02", "R03", "R04"}, []string{"FAILED", "RETURNED", "BLOCKED", "REFUNDED"}
	byFile := map[string][]int64{} // "<rail>/<code>" → accounts
	var returned []int64
	for _, p := range paid {
		if r.IntN(1000) >= perMilleReturned {
			continue
		}
		code := achCodes[r.IntN(len(achCodes))]
		if p.Rail == "paypal" {
			code = payPalStatuses[r.IntN(len(payPalStatuses))]
		}
		byFile[p.Rail+"/"+code] = append(byFile[p.Rail+"/"+code], p.AccountID)
		returned = append(returned, p.AccountID)
	}
	for i, key := range slices.Sorted(maps.Keys(byFile)) {
		rail, code, _ := strings.Cut(key, "/")
		spec := ReturnSpec{Month: month, AccountIDs: byFile[key], Code: code, Reason: "simulated " + code}
		if _, err := ImportReturn(ctx, s, outDir, spec, fmt.Sprintf("%s-returns-%s-%d", rail, payout.MonthName(month), i+1)); err != nil {
			return nil, fmt.Errorf("returns of %s (%s): %w", payout.MonthName(month), key, err)
		}
	}
	sort.Slice(returned, func(a, b int) bool { return returned[a] < returned[b] })
	return returned, nil
}
