package sim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/release"
	"github.com/payrun/payrun/payout/returns"
	"github.com/payrun/payrun/payout/store"
	"github.com/payrun/payrun/tax"
	"github.com/payrun/payrun/tax/taxstore"
)

// Invariant names, in the order CheckClosed and CheckReleased run them.
const (
	InvariantJournalBalanced   = "journal_balanced"
	InvariantConservation      = "conservation"
	InvariantBalancesReconcile = "balances_reconcile"
	InvariantLinesOnce         = "lines_paid_once"
	InvariantHeldUnpaid        = "held_unpaid"
	InvariantWithholding       = "withholding"
	InvariantReturns           = "returns_reversed"
	InvariantFilesMatchLedger  = "files_match_ledger"
	InvariantRerunNoChange     = "rerun_changes_nothing"
	InvariantCrashResume       = "crash_resume_identical"
)

// InvariantError is a broken invariant: the simulation stops at the first
// one and names the seed that replays it.
type InvariantError struct {
	Seed      uint64
	Month     string
	Invariant string
	Detail    string
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("seed %d: cycle %s: invariant %s broken: %s", e.Seed, e.Month, e.Invariant, e.Detail)
}

// checker checks the invariants of one cycle.
type checker struct {
	s     *Services
	seed  uint64
	month time.Time
}

func (c checker) broken(invariant, format string, args ...any) error {
	return &InvariantError{Seed: c.seed, Month: payout.MonthName(c.month), Invariant: invariant, Detail: fmt.Sprintf(format, args...)}
}

// CheckClosed checks every invariant that holds once month is closed (it
// must be the newest closed cycle): the journal balances, conservation,
// per-account reconciliation of the ledger, each line consumed by exactly
// one cycle, held publishers unpaid, withholding recomputed from the stored
// forms, every return reversed exactly once, and a re-run of the close
// changing nothing.
func CheckClosed(ctx context.Context, s *Services, seed uint64, month time.Time) error {
	c := checker{s: s, seed: seed, month: month}
	for _, check := range []func(context.Context) error{c.journal, c.conservation, c.reconcile, c.linesOnce, c.heldUnpaid, c.withholding, c.returns, c.rerunClose} {
		if err := check(ctx); err != nil {
			return err
		}
	}
	return nil
}

// CheckReleased checks a released cycle: its files on disk and its manifest
// match the ledger, and releasing again changes nothing.
func CheckReleased(ctx context.Context, s *Services, seed uint64, month time.Time, releaser *release.Releaser) error {
	c := checker{s: s, seed: seed, month: month}
	return c.files(ctx, releaser)
}

// journal: every ledger transaction's postings sum to zero, and every
// running balance equals the sum of its postings.
func (c checker) journal(ctx context.Context) error {
	var id int64
	var sum decimal.Decimal
	err := c.s.DB.QueryRowxContext(ctx, `SELECT transaction_id, sum(amount) FROM postings GROUP BY 1 HAVING sum(amount) <> 0 ORDER BY 1 LIMIT 1`).Scan(&id, &sum)
	if err == nil {
		return c.broken(InvariantJournalBalanced, "ledger transaction %d sums to %s", id, sum)
	}
	if !isNoRows(err) {
		return err
	}
	var account string
	var balance, postings decimal.Decimal
	err = c.s.DB.QueryRowxContext(ctx, `
		SELECT coalesce(b.ledger_account, p.ledger_account), coalesce(b.balance, 0), coalesce(p.total, 0)
		FROM ledger_balances b FULL JOIN (SELECT ledger_account, sum(amount) AS total FROM postings GROUP BY 1) p USING (ledger_account)
		WHERE coalesce(b.balance, 0) <> coalesce(p.total, 0) ORDER BY 1 LIMIT 1`).Scan(&account, &balance, &postings)
	if err == nil {
		return c.broken(InvariantJournalBalanced, "%s: running balance %s, postings sum to %s", account, balance, postings)
	}
	if !isNoRows(err) {
		return err
	}
	return nil
}

// conservation (SPEC §1): Σ earnings lines = Σ publisher balances + US tax
// withheld + payments in transit + whatever later stages moved elsewhere
// (settled or returned payments), to the micro-dollar; the earnings source
// account holds exactly minus every line; and the earnings totals the close
// reads sum the lines exactly.
func (c checker) conservation(ctx context.Context) error {
	if err := ledger.VerifyTotals(ctx, c.s.DB); err != nil {
		if errors.Is(err, ledger.ErrTotalsDrift) {
			return c.broken(InvariantConservation, "%v", err)
		}
		return err
	}
	var earnings, publishers, withheld, inTransit, elsewhere, source decimal.Decimal
	err := c.s.DB.QueryRowxContext(ctx, `
		SELECT (SELECT coalesce(sum(amount), 0) FROM earnings_lines),
		       coalesce(sum(balance) FILTER (WHERE ledger_account LIKE 'publisher:%'), 0),
		       coalesce(sum(balance) FILTER (WHERE ledger_account = $1), 0),
		       coalesce(sum(balance) FILTER (WHERE ledger_account = $2), 0),
		       coalesce(sum(balance) FILTER (WHERE ledger_account NOT LIKE 'publisher:%' AND ledger_account NOT IN ($1, $2, $3)), 0),
		       coalesce(sum(balance) FILTER (WHERE ledger_account = $3), 0)
		FROM ledger_balances`, ledger.USWithholding, ledger.PaymentsInTransit, ledger.PlatformEarnings).
		Scan(&earnings, &publishers, &withheld, &inTransit, &elsewhere, &source)
	if err != nil {
		return err
	}
	held := publishers.Add(withheld).Add(inTransit).Add(elsewhere)
	if !earnings.Equal(held) {
		return c.broken(InvariantConservation, "earnings %s ≠ publisher balances %s + withheld %s + in transit %s + settled/returned %s (= %s)",
			earnings.StringFixed(6), publishers.StringFixed(6), withheld.StringFixed(6), inTransit.StringFixed(6), elsewhere.StringFixed(6), held.StringFixed(6))
	}
	if !source.Neg().Equal(earnings) {
		return c.broken(InvariantConservation, "%s holds %s, the earnings lines sum to %s", ledger.PlatformEarnings, source.StringFixed(6), earnings.StringFixed(6))
	}
	return nil
}

// reconcile: for every publisher, each ledger part (US-sourced, other)
// equals what the newest closed cycle carried out of it plus the lines and
// returns that came after its cutoff. A line lost or posted twice shows here
// even when the totals still agree.
func (c checker) reconcile(ctx context.Context) error {
	cutoff, _, err := c.cutoffs(ctx)
	if err != nil {
		return err
	}
	type parts struct{ us, other decimal.Decimal }
	expected := map[int64]parts{}
	rows, err := c.s.DB.QueryxContext(ctx, `
		SELECT account_id, sum(us), sum(other) FROM (
		    SELECT account_id, carried_us AS us, carried_other AS other FROM payouts WHERE month = $1
		    UNION ALL
		    SELECT account_id, CASE WHEN market = 'US' THEN amount ELSE 0 END, CASE WHEN market = 'US' THEN 0 ELSE amount END
		      FROM earnings_lines WHERE available_at >= $2
		    UNION ALL
		    SELECT account_id, 0, amount_usd FROM payout_returns WHERE recorded_at >= $2
		) x GROUP BY account_id`, c.month, cutoff)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var p parts
		if err := rows.Scan(&id, &p.us, &p.other); err != nil {
			rows.Close()
			return err
		}
		expected[id] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	actual := map[int64]parts{}
	rows, err = c.s.DB.QueryxContext(ctx, `SELECT ledger_account, balance FROM ledger_balances WHERE ledger_account LIKE 'publisher:%'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var account string
		var balance decimal.Decimal
		if err := rows.Scan(&account, &balance); err != nil {
			rows.Close()
			return err
		}
		fields := strings.Split(account, ":")
		id, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || len(fields) != 3 {
			rows.Close()
			return fmt.Errorf("ledger account %q: not publisher:<id>:<part>", account)
		}
		p := actual[id]
		if fields[2] == "us" {
			p.us = p.us.Add(balance)
		} else {
			p.other = p.other.Add(balance)
		}
		actual[id] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id := range expected {
		if _, ok := actual[id]; !ok {
			actual[id] = parts{}
		}
	}
	for id, got := range actual {
		want := expected[id]
		if !got.us.Equal(want.us) || !got.other.Equal(want.other) {
			return c.broken(InvariantBalancesReconcile, "account %d: ledger holds US %s / other %s, carried + later lines + returns give %s / %s",
				id, got.us, got.other, want.us, want.other)
		}
	}
	return nil
}

// cutoffs returns the cycle's cutoff and the previous cycle's (the zero
// time for the first cycle ever), checking that cycles follow each other
// month by month.
func (c checker) cutoffs(ctx context.Context) (cutoff, previous time.Time, err error) {
	if err := c.s.DB.GetContext(ctx, &cutoff, `SELECT cutoff FROM cycles WHERE month = $1`, c.month); err != nil {
		return cutoff, previous, fmt.Errorf("cycle %s: %w", payout.MonthName(c.month), err)
	}
	var earlier *time.Time
	if err := c.s.DB.GetContext(ctx, &earlier, `SELECT max(cutoff) FROM cycles WHERE month < $1`, c.month); err != nil {
		return cutoff, previous, err
	}
	if earlier != nil {
		previous = *earlier
		if !previous.AddDate(0, 1, 0).Equal(cutoff) {
			return cutoff, previous, c.broken(InvariantLinesOnce, "cycle windows are not contiguous: previous cutoff %s, this one %s", previous, cutoff)
		}
	}
	return cutoff.UTC(), previous.UTC(), nil
}

// linesOnce: each earnings line belongs to exactly one cycle window
// [previous cutoff, cutoff); every payouts row's new amounts are exactly its
// account's lines in this window, its opening amounts exactly what the
// previous cycle carried (plus returns recorded in the window), and every
// account with a non-zero balance in the window has a row. Since windows are
// contiguous and every balance is consumed or carried, no line is paid twice
// and none is forgotten.
func (c checker) linesOnce(ctx context.Context) error {
	// Each line was imported once: it and its idempotency key, one to one.
	if err := ledger.VerifyKeys(ctx, c.s.DB); err != nil {
		if errors.Is(err, ledger.ErrKeysDrift) {
			return c.broken(InvariantLinesOnce, "%v", err)
		}
		return err
	}
	cutoff, previous, err := c.cutoffs(ctx)
	if err != nil {
		return err
	}
	var seller, problem string
	err = c.s.DB.QueryRowxContext(ctx, `
		WITH expected AS (
		    SELECT account_id, sum(opening_us) AS opening_us, sum(opening_other) AS opening_other, sum(new_us) AS new_us, sum(new_other) AS new_other FROM (
		        SELECT account_id, carried_us AS opening_us, carried_other AS opening_other, 0 AS new_us, 0 AS new_other FROM payouts WHERE month = $2
		        UNION ALL
		        SELECT account_id, 0, amount_usd, 0, 0 FROM payout_returns WHERE recorded_at >= $3 AND recorded_at < $1
		        UNION ALL
		        SELECT account_id, 0, 0, CASE WHEN market = 'US' THEN amount ELSE 0 END, CASE WHEN market = 'US' THEN 0 ELSE amount END
		          FROM earnings_lines WHERE available_at >= $3 AND available_at < $1
		    ) x GROUP BY account_id
		)
		SELECT a.seller_id,
		       CASE WHEN p.account_id IS NULL THEN format('no payout for a balance of %s US / %s other', e.opening_us + e.new_us, e.opening_other + e.new_other)
		            WHEN e.account_id IS NULL THEN format('a payout (new %s / %s) with no lines or opening balance behind it', p.new_us, p.new_other)
		            ELSE format('payout consumed opening %s / %s + new %s / %s, the ledger history gives %s / %s + %s / %s',
		                        p.opening_us, p.opening_other, p.new_us, p.new_other, e.opening_us, e.opening_other, e.new_us, e.new_other) END
		FROM expected e FULL JOIN (SELECT * FROM payouts WHERE month = $4) p USING (account_id)
		JOIN accounts a ON a.id = coalesce(e.account_id, p.account_id)
		WHERE (p.account_id IS NULL AND (e.opening_us + e.new_us <> 0 OR e.opening_other + e.new_other <> 0))
		   OR (e.account_id IS NULL AND p.account_id IS NOT NULL)
		   OR p.opening_us <> e.opening_us OR p.opening_other <> e.opening_other OR p.new_us <> e.new_us OR p.new_other <> e.new_other
		ORDER BY a.seller_id LIMIT 1`, cutoff, c.month.AddDate(0, -1, 0), previous, c.month).Scan(&seller, &problem)
	if err == nil {
		return c.broken(InvariantLinesOnce, "%s: %s", seller, problem)
	}
	if !isNoRows(err) {
		return err
	}
	return nil
}

// heldUnpaid: a held or carried publisher gets nothing and keeps its whole
// balance; a paid one has no failing check, and (recomputed here from the
// event histories, not from the close's snapshot) its account was verified,
// its hold off and its payout account verified at the cutoff. After a
// release, only paid payouts have a payment.
func (c checker) heldUnpaid(ctx context.Context) error {
	var seller, problem string
	err := c.s.DB.QueryRowxContext(ctx, `
		SELECT a.seller_id, CASE
		    WHEN p.status <> 'paid' AND (p.paid_usd <> 0 OR p.withheld <> 0 OR p.payment_id IS NOT NULL) THEN format('%s but paid %s, withheld %s', p.status, p.paid_usd, p.withheld)
		    WHEN p.status <> 'paid' AND (p.carried_us <> p.balance_us OR p.carried_other <> p.balance_other) THEN format('%s but did not keep its balance', p.status)
		    WHEN p.status = 'paid' AND cardinality(p.reasons) > 0 THEN format('paid despite %s', array_to_string(p.reasons, ', '))
		    WHEN p.status = 'paid' AND coalesce(h.hold_on, false) THEN 'paid while its payment hold was on at the cutoff'
		    WHEN p.status = 'paid' AND coalesce(st.status, '') <> 'verified' THEN format('paid while its account was %s at the cutoff', coalesce(st.status, 'without a status'))
		    WHEN p.status = 'paid' AND coalesce(pe.status, '') <> 'verified' THEN format('paid to payout account %s, %s at the cutoff', p.payout_account_id, coalesce(pe.status, 'unknown'))
		    WHEN p.status = 'paid' AND p.payout_account_id IS DISTINCT FROM pa.id THEN format('paid to payout account %s, not the one in force (%s)', p.payout_account_id, pa.id)
		    ELSE format('has a payment but is %s', p.status) END
		FROM payouts p JOIN cycles c ON c.month = p.month JOIN accounts a ON a.id = p.account_id
		LEFT JOIN LATERAL (SELECT hold_on FROM payment_hold_events WHERE account_id = p.account_id AND at < c.cutoff ORDER BY at DESC, id DESC LIMIT 1) h ON true
		LEFT JOIN LATERAL (SELECT status FROM account_status_events WHERE account_id = p.account_id AND at < c.cutoff ORDER BY at DESC, id DESC LIMIT 1) st ON true
		LEFT JOIN LATERAL (SELECT id FROM payout_accounts WHERE account_id = p.account_id AND created_at < c.cutoff ORDER BY created_at DESC, id DESC LIMIT 1) pa ON true
		LEFT JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = p.payout_account_id AND at < c.cutoff ORDER BY at DESC, id DESC LIMIT 1) pe ON true
		WHERE p.month = $1 AND (
		      (p.status <> 'paid' AND (p.paid_usd <> 0 OR p.withheld <> 0 OR p.payment_id IS NOT NULL OR p.carried_us <> p.balance_us OR p.carried_other <> p.balance_other))
		   OR (p.status = 'paid' AND (cardinality(p.reasons) > 0 OR coalesce(h.hold_on, false) OR coalesce(st.status, '') <> 'verified'
		                              OR coalesce(pe.status, '') <> 'verified' OR p.payout_account_id IS DISTINCT FROM pa.id))
		   OR (p.status <> 'paid' AND EXISTS (SELECT 1 FROM payments m WHERE m.month = p.month AND m.account_id = p.account_id)))
		ORDER BY a.seller_id LIMIT 1`, c.month).Scan(&seller, &problem)
	if err == nil {
		return c.broken(InvariantHeldUnpaid, "%s: %s", seller, problem)
	}
	if !isNoRows(err) {
		return err
	}
	return nil
}

// withholding: for every paid payout, the tax package recomputes the
// withholding from the stored form history as of the cutoff, the treaty
// table the cycle recorded and its payment date (tax.Withhold), and the
// payout must agree on rate, reason, base and amount; its base is the
// US-sourced balance only; the amount paid is the rest rounded down to the
// cent, and only a sub-cent remainder is carried, in the non-US part.
func (c checker) withholding(ctx context.Context) error {
	var policyJSON []byte
	var treatySHA string
	var paymentDate, cutoff time.Time
	if err := c.s.DB.QueryRowxContext(ctx, `SELECT policy, treaty_sha256, payment_date, cutoff FROM cycles WHERE month = $1`, c.month).
		Scan(&policyJSON, &treatySHA, &paymentDate, &cutoff); err != nil {
		return err
	}
	var policy payout.Policy
	if err := json.Unmarshal(policyJSON, &policy); err != nil {
		return err
	}
	table, err := taxstore.TreatyTableByVersion(ctx, c.s.DB, treatySHA)
	if err != nil {
		return err
	}
	type paidRow struct {
		AccountID  int64           `db:"account_id"`
		SellerID   string          `db:"seller_id"`
		BalanceUS  decimal.Decimal `db:"balance_us"`
		Balance    decimal.Decimal `db:"balance"`
		Base       decimal.Decimal `db:"withholding_base"`
		Rate       decimal.Decimal `db:"rate"`
		RateReason string          `db:"rate_reason"`
		Withheld   decimal.Decimal `db:"withheld"`
		Paid       decimal.Decimal `db:"paid_usd"`
		CarriedUS  decimal.Decimal `db:"carried_us"`
		Carried    decimal.Decimal `db:"carried_other"`
	}
	var rows []paidRow
	if err := c.s.DB.SelectContext(ctx, &rows, `
		SELECT p.account_id, a.seller_id, p.balance_us, p.balance_us + p.balance_other AS balance, p.withholding_base, coalesce(p.rate, -1) AS rate,
		       p.rate_reason, p.withheld, p.paid_usd, p.carried_us, p.carried_other
		FROM payouts p JOIN accounts a ON a.id = p.account_id WHERE p.month = $1 AND p.status = 'paid' ORDER BY a.seller_id`, c.month); err != nil {
		return err
	}
	taxes := c.s.Taxes
	cent := decimal.New(1, -2)
	for _, r := range rows {
		standing, _, err := taxes.StandingAt(ctx, r.AccountID, cutoff)
		if err != nil {
			return err
		}
		want, err := tax.Withhold(standing.Status, standing.Record, table, paymentDate, r.BalanceUS, tax.Policy{BackupWithholding: policy.BackupWithholding})
		if err != nil {
			return c.broken(InvariantWithholding, "%s was paid, but its tax profile at the cutoff is %s (%s)", r.SellerID, standing.Status, err)
		}
		switch {
		case !want.Rate.Equal(r.Rate) || want.Reason != r.RateReason:
			return c.broken(InvariantWithholding, "%s: withheld at %s (%s), the tax rules give %s (%s)", r.SellerID, r.Rate, r.RateReason, want.Rate, want.Reason)
		case !want.Base.Equal(r.Base):
			return c.broken(InvariantWithholding, "%s: withholding base %s, the US-sourced balance gives %s", r.SellerID, r.Base, want.Base)
		case !want.Amount.Equal(r.Withheld):
			return c.broken(InvariantWithholding, "%s: withheld %s, %s × %s gives %s", r.SellerID, r.Withheld, want.Rate, want.Base, want.Amount)
		case !r.CarriedUS.IsZero():
			return c.broken(InvariantWithholding, "%s: paid but carries %s of US-sourced balance", r.SellerID, r.CarriedUS)
		}
		payable := r.Balance.Sub(r.Withheld)
		if !r.Paid.Equal(payable.Truncate(2)) || r.Carried.IsNegative() || !r.Carried.LessThan(cent) {
			return c.broken(InvariantWithholding, "%s: balance %s − withheld %s should pay %s and carry the sub-cent rest, paid %s and carried %s",
				r.SellerID, r.Balance, r.Withheld, payable.Truncate(2), r.Paid, r.Carried)
		}
	}
	return nil
}

// returns (SPEC §6.3): every recorded return names a payment payrun sent,
// to that account in that cycle, credits back exactly the USD amount sent,
// and has exactly one reversing journal entry — payments:in_transit −amount,
// publisher:<id>:other +amount (the non-US part: the withholding stays
// withheld and is never taken again) — and the payout account the payment
// went to is never paid again by a cycle whose cutoff came after the return.
func (c checker) returns(ctx context.Context) error {
	var paymentID, problem string
	err := c.s.DB.QueryRowxContext(ctx, `
		SELECT coalesce(r.item_id, r.payment_id), CASE
		    WHEN m.payment_id IS NULL THEN 'returns a payment payrun has no record of'
		    WHEN r.item_id IS NOT NULL AND i.payment_id IS DISTINCT FROM r.payment_id THEN 'returns a PayPal item of another payment, or none'
		    WHEN m.account_id <> r.account_id OR m.month <> r.month THEN format('recorded for account %s in %s, the payment was to %s in %s', r.account_id, r.month, m.account_id, m.month)
		    WHEN r.amount_usd <> coalesce(i.amount_usd, m.amount_usd) THEN format('credited back %s USD, the payment was %s USD', r.amount_usd, coalesce(i.amount_usd, m.amount_usd))
		    WHEN j.entries <> 1 THEN format('%s reversing journal entries, not one', j.entries)
		    WHEN j.postings <> 2 OR j.transit <> -r.amount_usd OR j.other <> r.amount_usd
		      THEN format('reversal moves %s out of transit and %s into the non-US balance in %s postings, the return is %s', -j.transit, j.other, j.postings, r.amount_usd)
		    ELSE format('its payout account %s was paid again in %s', o.payout_account_id, to_char(later.month, 'YYYY-MM')) END
		FROM payout_returns r
		LEFT JOIN payments m ON m.payment_id = r.payment_id
		LEFT JOIN payment_items i ON i.item_id = r.item_id
		LEFT JOIN payouts o ON o.month = r.month AND o.account_id = r.account_id
		LEFT JOIN LATERAL (
		    SELECT count(DISTINCT t.id) AS entries, count(p.transaction_id) AS postings,
		           coalesce(sum(p.amount) FILTER (WHERE p.ledger_account = $1), 0) AS transit,
		           coalesce(sum(p.amount) FILTER (WHERE p.ledger_account = 'publisher:' || r.account_id || ':other'), 0) AS other
		    FROM ledger_transactions t JOIN postings p ON p.transaction_id = t.id WHERE t.kind = $2 AND t.reference = coalesce(r.item_id, r.payment_id)) j ON true
		LEFT JOIN LATERAL (
		    SELECT p2.month FROM payouts p2 JOIN cycles c ON c.month = p2.month
		    WHERE p2.account_id = r.account_id AND p2.month > r.month AND p2.status = 'paid' AND p2.payout_account_id = o.payout_account_id AND c.cutoff > r.recorded_at
		    ORDER BY p2.month LIMIT 1) later ON true
		WHERE m.payment_id IS NULL OR (r.item_id IS NOT NULL AND i.payment_id IS DISTINCT FROM r.payment_id)
		   OR m.account_id <> r.account_id OR m.month <> r.month OR r.amount_usd <> coalesce(i.amount_usd, m.amount_usd)
		   OR j.entries <> 1 OR j.postings <> 2 OR j.transit <> -r.amount_usd OR j.other <> r.amount_usd OR later.month IS NOT NULL
		ORDER BY 1 LIMIT 1`, ledger.PaymentsInTransit, returns.LedgerKind).Scan(&paymentID, &problem)
	if err == nil {
		return c.broken(InvariantReturns, "return of %s: %s", paymentID, problem)
	}
	if !isNoRows(err) {
		return err
	}
	return nil
}

// files: after a release, the manifest on disk lists exactly the cycle's
// files, each file's bytes hash to its manifest sha256, the files' USD total
// equals what the journal put in transit for the cycle, the payments rows
// equal the paid payouts (the files' records: one per payment, plus the
// extra items of PayPal payments sent as several items, whose items add up
// to the payment in USD and in its currency), and releasing again returns
// the same manifest.
func (c checker) files(ctx context.Context, releaser *release.Releaser) error {
	name := payout.MonthName(c.month)
	dir := release.Directory(releaser.Config.OutDir, c.month)
	body, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return c.broken(InvariantFilesMatchLedger, "manifest: %v", err)
	}
	var manifest struct {
		Cycle string `json:"cycle"`
		Files []struct {
			Name            string `json:"name"`
			SHA256          string `json:"sha256"`
			Records         int    `json:"records"`
			ControlTotalUSD string `json:"control_total_usd"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &manifest); err != nil {
		return c.broken(InvariantFilesMatchLedger, "manifest: %v", err)
	}
	filesUSD, records := decimal.Zero, 0
	for _, f := range manifest.Files {
		content, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			return c.broken(InvariantFilesMatchLedger, "file %s: %v", f.Name, err)
		}
		sum := sha256.Sum256(content)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			return c.broken(InvariantFilesMatchLedger, "file %s does not hash to its manifest entry", f.Name)
		}
		amount, err := decimal.NewFromString(f.ControlTotalUSD)
		if err != nil {
			return c.broken(InvariantFilesMatchLedger, "file %s: control total %q", f.Name, f.ControlTotalUSD)
		}
		filesUSD, records = filesUSD.Add(amount), records+f.Records
	}
	var inTransit, payments, paid, stored decimal.Decimal
	var paymentCount, paidCount, storedCount, extraItems int
	var badSplit *string
	err = c.s.DB.QueryRowxContext(ctx, `
		SELECT (SELECT count(*) - count(DISTINCT i.payment_id) FROM payment_items i JOIN payments m ON m.payment_id = i.payment_id WHERE m.month = $1),
		       (SELECT min(m.payment_id) FROM payments m JOIN payment_items i ON i.payment_id = m.payment_id WHERE m.month = $1
		         GROUP BY m.payment_id, m.amount_usd, m.amount_in_currency
		        HAVING sum(i.amount_usd) <> m.amount_usd OR sum(i.amount_in_currency) <> m.amount_in_currency OR count(*) < 2 LIMIT 1)`,
		c.month).Scan(&extraItems, &badSplit)
	if err != nil {
		return err
	}
	if badSplit != nil {
		return c.broken(InvariantFilesMatchLedger, "the PayPal items of payment %s do not add up to it", *badSplit)
	}
	err = c.s.DB.QueryRowxContext(ctx, `
		SELECT (SELECT coalesce(sum(p.amount), 0) FROM ledger_transactions lt JOIN postings p ON p.transaction_id = lt.id
		         WHERE lt.kind = 'payout' AND lt.reference LIKE $2 AND p.ledger_account = $3),
		       (SELECT coalesce(sum(amount_usd), 0) FROM payments WHERE month = $1), (SELECT count(*) FROM payments WHERE month = $1),
		       (SELECT coalesce(sum(paid_usd), 0) FROM payouts WHERE month = $1 AND status = 'paid'), (SELECT count(*) FROM payouts WHERE month = $1 AND status = 'paid'),
		       (SELECT coalesce(sum(control_total_usd), 0) FROM cycle_files WHERE month = $1), (SELECT count(*) FROM cycle_files WHERE month = $1)`,
		c.month, name+":%", ledger.PaymentsInTransit).Scan(&inTransit, &payments, &paymentCount, &paid, &paidCount, &stored, &storedCount)
	if err != nil {
		return err
	}
	switch {
	case !filesUSD.Equal(inTransit):
		return c.broken(InvariantFilesMatchLedger, "payment files total %s USD, the journal put %s USD in transit", filesUSD.StringFixed(2), inTransit.StringFixed(2))
	case !stored.Equal(inTransit) || storedCount != len(manifest.Files):
		return c.broken(InvariantFilesMatchLedger, "manifest rows total %s USD in %d files, manifest.json %s USD in %d", stored, storedCount, filesUSD, len(manifest.Files))
	case !payments.Equal(paid) || paymentCount != paidCount || records != paidCount+extraItems:
		return c.broken(InvariantFilesMatchLedger, "%d payments (%s USD, %d file records, %d more PayPal items than payments) for %d paid payouts (%s USD)",
			paymentCount, payments, records, extraItems, paidCount, paid)
	}
	again, err := releaser.Release(ctx, c.month, "simulator")
	if err != nil {
		return c.broken(InvariantRerunNoChange, "release again: %v", err)
	}
	if !again.AlreadyReleased || len(again.Files) != len(manifest.Files) {
		return c.broken(InvariantRerunNoChange, "release again: already released %t, %d files (was %d)", again.AlreadyReleased, len(again.Files), len(manifest.Files))
	}
	for i, f := range again.Files {
		if f.Name != manifest.Files[i].Name || f.SHA256 != manifest.Files[i].SHA256 {
			return c.broken(InvariantRerunNoChange, "release again: file %s changed", f.Name)
		}
	}
	return nil
}

// rerunClose closes the closed cycle again: it must report already closed
// and leave every row it wrote byte for byte as it was.
func (c checker) rerunClose(ctx context.Context) error {
	before, err := Dump(ctx, c.s, c.month)
	if err != nil {
		return err
	}
	result, err := c.s.Store.Close(ctx, store.CloseOptions{Month: c.month, Policy: payout.DefaultPolicy(), Actor: "simulator-rerun"})
	if err != nil {
		return c.broken(InvariantRerunNoChange, "close again: %v", err)
	}
	if !result.AlreadyClosed {
		return c.broken(InvariantRerunNoChange, "close again did not report the cycle already closed (state %s)", result.State)
	}
	after, err := Dump(ctx, c.s, c.month)
	if err != nil {
		return err
	}
	if before != after {
		return c.broken(InvariantRerunNoChange, "close again changed the cycle: %s", firstDifference(before, after))
	}
	return nil
}

// Dump is a canonical text of what a close of month wrote: the cycle row,
// its events, its payouts rows, its journal entries (by reference, without
// database ids) and every running balance. Two closes with the same inputs
// give the same dump.
func Dump(ctx context.Context, s *Services, month time.Time) (string, error) {
	var text string
	err := db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
		var err error
		text, err = dumpWith(ctx, conn, month)
		return err
	})
	return text, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func dumpWith(ctx context.Context, q querier, month time.Time) (string, error) {
	var parts []string
	for _, query := range []string{
		`SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', month, state, cutoff, payment_date, policy, treaty_sha256, totals, closed_at, closed_by) FROM cycles WHERE month = $1`,
		`SELECT string_agg(format('%s|%s|%s', state, at, actor), E'\n' ORDER BY id) FROM cycle_events WHERE month = $1 AND state <> 'released'`,
		`SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', account_id, status, reasons, opening_us, opening_other,
		        new_us, new_other, balance_us, balance_other, withholding_base, rate, rate_reason, withheld, paid_usd, carried_us, carried_other,
		        payout_account_id, method, currency, payment_id), E'\n' ORDER BY account_id) FROM payouts WHERE month = $1`,
		`SELECT string_agg(format('%s|%s|%s|%s', t.reference, t.posted_at, p.ledger_account, p.amount), E'\n' ORDER BY t.reference, p.ledger_account)
		   FROM ledger_transactions t JOIN postings p ON p.transaction_id = t.id WHERE t.kind = 'payout' AND t.reference LIKE to_char($1::date, 'YYYY-MM') || ':%'`,
		`SELECT string_agg(format('%s|%s', ledger_account, balance), E'\n' ORDER BY ledger_account) FROM ledger_balances WHERE $1::date IS NOT NULL`,
	} {
		var text *string
		if err := q.QueryRow(ctx, query, month).Scan(&text); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
		if text != nil {
			parts = append(parts, *text)
		} else {
			parts = append(parts, "")
		}
	}
	return strings.Join(parts, "\n--\n"), nil
}

// firstDifference shows the first line where two dumps differ.
func firstDifference(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, x, y)
		}
	}
	return "identical"
}

func isNoRows(err error) bool {
	return errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows)
}
