package review

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout"
)

// Bucket is a number of payouts rows and their amount in USD.
type Bucket struct {
	Count  int64           `json:"count"`
	Amount decimal.Decimal `json:"amount"`
}

func (b *Bucket) add(count int64, amount decimal.Decimal) {
	b.Count += count
	b.Amount = b.Amount.Add(amount)
}

// Breakdown is a closed cycle's split of its payouts rows.
type Breakdown struct {
	// Held and carried by PRIMARY reason (reasons[1]), in payout.Reason
	// order (SPEC §3.2 table order; see payout.Reason.Order); only the
	// reasons some row has.
	ByReason []ReasonSlice `json:"by_reason"`
	// Paid, by method and currency, sorted by method then currency.
	ByMethod []MethodSlice `json:"by_method"`
	// By registration country (as it was when the figures were computed),
	// paid/held/carried, sorted by paid amount desc then country.
	ByCountry []CountrySlice `json:"by_country"`
}

// ReasonSlice is the held and carried rows whose primary reason is Reason:
// their count and balance (carried_us + carried_other).
type ReasonSlice struct {
	Reason  string `json:"reason"`
	Held    Bucket `json:"held"`
	Carried Bucket `json:"carried"`
}

// MethodSlice is the paid rows of a method and payout currency: their
// count and USD paid (paid_usd).
type MethodSlice struct {
	Method   string `json:"method"`
	Currency string `json:"currency"`
	Paid     Bucket `json:"paid"`
}

// CountrySlice is a registration country's rows: paid (USD paid), held and
// carried (their balances).
type CountrySlice struct {
	Country string `json:"country"`
	Paid    Bucket `json:"paid"`
	Held    Bucket `json:"held"`
	Carried Bucket `json:"carried"`
}

// Filter dimensions whose rare values are keyed (cycle_review_keys.dimension).
const (
	dimensionStatus   = "status"
	dimensionReason   = "reason"
	dimensionMethod   = "method"
	dimensionCurrency = "currency"
	dimensionCountry  = "country"
)

// RareOneIn: a status, reason, method or currency matching fewer than one
// in RareOneIn of a closed cycle's payouts rows (10%) is "rare", and its
// rows' seller ids are keyed in cycle_review_keys. A page of a value at
// least that common is found by walking accounts in seller order, about
// RareOneIn probes per row of the page at most (510 for 51 rows). Values
// of 2.4-3% of a 1M-publisher cycle walked (when this was 50) took 15-21
// ms a page at p50 but 390-570 ms at p99, each probe a random read (see
// the package documentation). The keys of a dimension are at most its
// rare values' rows, never more than the cycle's rows: about 30% of them
// at 1M publishers in the benchmark's mix (reasons of held and carried
// rows, currencies other than USD and EUR).
const RareOneIn = 10

// figuresVersion is stored with the figures; a change of their meaning
// needs a new version (and a migration clearing the old rows).
const figuresVersion = 1

// breakdownLock is the first key of the transaction advisory lock taken
// while a cycle's figures are computed ("REVW"); the second is the month
// as YYYYMM. Two viewers of a new cycle compute it once: the second waits,
// then reads what the first stored.
const breakdownLock = 0x52455657

// figures is what cycle_breakdowns stores for a closed cycle.
type figures struct {
	Version   int       `json:"version"`
	Payouts   int64     `json:"payouts"`
	Breakdown Breakdown `json:"breakdown"`
	// Counts: dimension (status, reason, method, currency, country) →
	// value → payouts rows with it (reason: anywhere in reasons).
	Counts map[string]map[string]int64 `json:"counts"`
	// Keyed: dimension → the values whose rows are in cycle_review_keys.
	Keyed map[string][]string `json:"keyed"`

	// ordered: the amount sorts' orders are stored (cycle_review_orders),
	// in blocks of blockSize ranks, their codes' bits named by bits. Not
	// part of the JSON: they are stored once, after the figures, possibly
	// long after (a cycle viewed before migration 200).
	ordered   bool
	blockSize int
	bits      []string
}

func (f *figures) count(dimension, value string) int64 { return f.Counts[dimension][value] }

func (f *figures) keyed(dimension, value string) bool {
	for _, v := range f.Keyed[dimension] {
		if v == value {
			return true
		}
	}
	return false
}

// Breakdown of a closed cycle (closed, awaiting approval, released or
// settled): the first call computes it from the cycle's payouts rows and
// stores it (with the rare filter values' keys, see the package
// documentation), every later call reads the stored row. A cycle that is
// not closed (open: no payouts rows yet; closing: not all of them) or
// unknown has an empty Breakdown, never stored.
func (s *Service) Breakdown(ctx context.Context, month time.Time) (Breakdown, error) {
	f, err := s.figures(ctx, monthStart(month), false)
	if err != nil || f == nil {
		return Breakdown{ByReason: []ReasonSlice{}, ByMethod: []MethodSlice{}, ByCountry: []CountrySlice{}}, err
	}
	return f.Breakdown, nil
}

// Prepare computes and stores a closed cycle's figures and the amount
// sorts' orders if they are not stored yet (what the first Breakdown or
// Publishers call, and the first page sorted by an amount, would do), so a
// caller can pay what a 1M-publisher cycle costs (6-7 s for the figures,
// about 4 s for the orders, see the package documentation) ahead of the
// first viewer, e.g. once a close finished. It does nothing for a cycle
// that is not closed.
//
// It first has Postgres sample the payouts table again (ANALYZE, ~0.1-0.3 s
// at 1M rows): right after a close the planner's statistics still count the
// month's rows as a handful until autovacuum gets to them, and a page's
// join then walks the whole month (measured: 2.2 s instead of 5 ms for a
// country page of a 1M-publisher cycle just closed). A role that does not
// own the table gets a warning from Postgres, not an error.
func (s *Service) Prepare(ctx context.Context, month time.Time) error {
	if _, err := s.DB.ExecContext(ctx, `ANALYZE payouts`); err != nil {
		return err
	}
	_, err := s.figures(ctx, monthStart(month), true)
	return err
}

// figures reads month's stored figures, computing them first when the
// cycle is closed and they are not stored yet, and with orders, the amount
// sorts' orders too (which only amount-sorted pages read); nil when the
// cycle is not closed. Each is computed once, in its own transaction
// under the month's lock.
func (s *Service) figures(ctx context.Context, month time.Time, orders bool) (*figures, error) {
	f, err := storedFigures(ctx, s.DB, month)
	if err != nil {
		return nil, err
	}
	if f == nil {
		state, err := cycleState(ctx, s.DB, month)
		if err != nil || !state.Closed() {
			return nil, err
		}
		err = db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(breakdownLock), int32(month.Year()*100+int(month.Month()))); err != nil {
				return err
			}
			if f, err = storedFigures(ctx, tx, month); err != nil || f != nil {
				return err
			}
			if f, err = computeFigures(ctx, tx, month); err != nil {
				return err
			}
			return storeFigures(ctx, tx, month, f, s.stamp())
		})
		if err != nil {
			return nil, fmt.Errorf("review: breakdown of %s: %w", payout.MonthName(month), err)
		}
	}
	if orders && !f.ordered && f.Payouts <= maxRank {
		if err := s.storeOrders(ctx, month, f); err != nil {
			return nil, fmt.Errorf("review: amount sorts of %s: %w", payout.MonthName(month), err)
		}
	}
	return f, nil
}

func storedFigures(ctx context.Context, q sqlx.QueryerContext, month time.Time) (*figures, error) {
	var stored struct {
		Raw       []byte        `db:"figures"`
		BlockSize sql.NullInt32 `db:"block_size"`
		Bits      string        `db:"bits"` // "dimension:value" holds no comma
	}
	err := sqlx.GetContext(ctx, q, &stored, `
		SELECT b.figures, o.block_size, coalesce(array_to_string(o.bits, ','), '') AS bits
		FROM cycle_breakdowns b LEFT JOIN cycle_review_orders o ON o.month = b.month
		WHERE b.month = $1`, month)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("review: breakdown of %s: %w", payout.MonthName(month), err)
	}
	var f figures
	if err := json.Unmarshal(stored.Raw, &f); err != nil {
		return nil, fmt.Errorf("review: stored breakdown of %s: %w", payout.MonthName(month), err)
	}
	if f.Version != figuresVersion {
		return nil, fmt.Errorf("review: stored breakdown of %s has version %d, this payrun reads %d", payout.MonthName(month), f.Version, figuresVersion)
	}
	f.ordered, f.blockSize = stored.BlockSize.Valid, int(stored.BlockSize.Int32)
	f.bits = []string{}
	if stored.Bits != "" {
		f.bits = strings.Split(stored.Bits, ",")
	}
	return &f, nil
}

// computeFigures reads the cycle's payouts rows once, grouped by
// everything the figures split by (a few thousand groups at 1M rows).
func computeFigures(ctx context.Context, tx *sqlx.Tx, month time.Time) (*figures, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT p.status, array_to_string(p.reasons, ','), coalesce(p.method, ''), coalesce(p.currency, ''), a.registration_country,
		       count(*), sum(p.paid_usd), sum(p.carried_us + p.carried_other)
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		WHERE p.month = $1
		GROUP BY 1, 2, 3, 4, 5`, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	f := &figures{Version: figuresVersion, Counts: map[string]map[string]int64{}, Keyed: map[string][]string{}}
	countOf := func(dimension, value string, n int64) {
		if value == "" {
			return
		}
		if f.Counts[dimension] == nil {
			f.Counts[dimension] = map[string]int64{}
		}
		f.Counts[dimension][value] += n
	}
	byReason := map[string]*ReasonSlice{}
	byMethod := map[[2]string]*MethodSlice{}
	byCountry := map[string]*CountrySlice{}
	for rows.Next() {
		var status, reasonList, method, currency, registration string
		var n int64
		var paid, carried decimal.Decimal
		if err := rows.Scan(&status, &reasonList, &method, &currency, &registration, &n, &paid, &carried); err != nil {
			return nil, err
		}
		reasons := splitReasons(reasonList)
		f.Payouts += n
		countOf(dimensionStatus, status, n)
		for _, r := range distinct(reasons) {
			countOf(dimensionReason, r, n)
		}
		countOf(dimensionMethod, method, n)
		countOf(dimensionCurrency, currency, n)
		countOf(dimensionCountry, registration, n)
		c := byCountry[registration]
		if c == nil {
			c = &CountrySlice{Country: registration}
			byCountry[registration] = c
		}
		switch payout.Status(status) {
		case payout.Paid:
			key := [2]string{method, currency}
			m := byMethod[key]
			if m == nil {
				m = &MethodSlice{Method: method, Currency: currency}
				byMethod[key] = m
			}
			m.Paid.add(n, paid)
			c.Paid.add(n, paid)
		case payout.Held, payout.Carried:
			primary := ""
			if len(reasons) > 0 {
				primary = reasons[0]
			}
			r := byReason[primary]
			if r == nil {
				r = &ReasonSlice{Reason: primary}
				byReason[primary] = r
			}
			if status == string(payout.Held) {
				r.Held.add(n, carried)
				c.Held.add(n, carried)
			} else {
				r.Carried.add(n, carried)
				c.Carried.add(n, carried)
			}
		default:
			return nil, fmt.Errorf("a payouts row has the status %q", status)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b := &f.Breakdown
	b.ByReason = make([]ReasonSlice, 0, len(byReason))
	for _, r := range byReason {
		b.ByReason = append(b.ByReason, *r)
	}
	sort.Slice(b.ByReason, func(i, j int) bool {
		oi, oj := payout.Reason(b.ByReason[i].Reason).Order(), payout.Reason(b.ByReason[j].Reason).Order()
		if oi != oj {
			return oi < oj
		}
		return b.ByReason[i].Reason < b.ByReason[j].Reason
	})
	b.ByMethod = make([]MethodSlice, 0, len(byMethod))
	for _, m := range byMethod {
		b.ByMethod = append(b.ByMethod, *m)
	}
	sort.Slice(b.ByMethod, func(i, j int) bool {
		if b.ByMethod[i].Method != b.ByMethod[j].Method {
			return b.ByMethod[i].Method < b.ByMethod[j].Method
		}
		return b.ByMethod[i].Currency < b.ByMethod[j].Currency
	})
	b.ByCountry = make([]CountrySlice, 0, len(byCountry))
	for _, c := range byCountry {
		b.ByCountry = append(b.ByCountry, *c)
	}
	sort.Slice(b.ByCountry, func(i, j int) bool {
		if cmp := b.ByCountry[i].Paid.Amount.Cmp(b.ByCountry[j].Paid.Amount); cmp != 0 {
			return cmp > 0
		}
		return b.ByCountry[i].Country < b.ByCountry[j].Country
	})
	for _, dimension := range []string{dimensionStatus, dimensionReason, dimensionMethod, dimensionCurrency} {
		var rare []string
		for value, n := range f.Counts[dimension] {
			if n*RareOneIn < f.Payouts {
				rare = append(rare, value)
			}
		}
		sort.Strings(rare)
		if len(rare) > 0 {
			f.Keyed[dimension] = rare
		}
	}
	return f, nil
}

// storeFigures writes the figures and the rare values' keys (sorted as
// their primary key: appending to the B-tree, 390,000 keys took 3.5 s at
// 1M publishers instead of 5.8 s in the join's order), and leaves
// in f what a later read of them gives (decimals as their JSON text
// decodes), so the first viewer sees exactly what every later one will.
func storeFigures(ctx context.Context, tx *sqlx.Tx, month time.Time, f *figures, at *time.Time) error {
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	var stored figures
	if err := json.Unmarshal(raw, &stored); err != nil {
		return err
	}
	*f = stored
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO cycle_breakdowns (month, payouts, figures, computed_at) VALUES ($1, $2, $3, coalesce($4, statement_timestamp()))
		ON CONFLICT (month) DO NOTHING`, month, f.Payouts, raw, at); err != nil {
		return err
	}
	if len(f.Keyed) == 0 {
		return nil
	}
	empty := func(values []string) []string {
		if values == nil {
			return []string{}
		}
		return values
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO cycle_review_keys (month, dimension, value, seller_id, account_id)
		SELECT p.month, k.dimension, k.value, a.seller_id, p.account_id
		FROM payouts p
		JOIN accounts a ON a.id = p.account_id
		CROSS JOIN LATERAL (
		    SELECT 'status', p.status WHERE p.status = ANY ($2)
		    UNION ALL SELECT 'method', p.method WHERE p.method = ANY ($3)
		    UNION ALL SELECT 'currency', p.currency WHERE p.currency = ANY ($4)
		    UNION ALL SELECT 'reason', r FROM unnest(p.reasons) r WHERE r = ANY ($5)
		) k (dimension, value)
		WHERE p.month = $1
		  AND (p.status = ANY ($2) OR p.method = ANY ($3) OR p.currency = ANY ($4) OR p.reasons && $5::text[])
		ORDER BY 1, 2, 3, 4
		ON CONFLICT DO NOTHING`,
		month, empty(f.Keyed[dimensionStatus]), empty(f.Keyed[dimensionMethod]), empty(f.Keyed[dimensionCurrency]), empty(f.Keyed[dimensionReason]))
	return err
}

// splitReasons reads array_to_string(reasons, ','): reason codes hold no
// comma.
func splitReasons(list string) []string {
	if list == "" {
		return []string{}
	}
	return strings.Split(list, ",")
}

func distinct(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := values[:0:0]
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
