package review_test

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/testsupport/dbtest"
)

var amountSorts = []string{review.SortBalance, review.SortPaid, review.SortWithheld, review.SortCarried}

// ascending is rows in sort's ascending order (the key, then the account
// id): rank i+1 is the i-th row.
func ascending(rows []expectedRow, sortName string) []expectedRow {
	out := append([]expectedRow(nil), rows...)
	sort.Slice(out, func(i, j int) bool {
		if c := sortKey(sortName, out[i]).Cmp(sortKey(sortName, out[j])); c != 0 {
			return c < 0
		}
		return out[i].AccountID < out[j].AccountID
	})
	return out
}

// storedOrder reads sort's stored order: its account ids and codes in
// rank order, and its blocks' first ranks and summaries.
func storedOrder(t *testing.T, database *sqlx.DB, sortName string) (ids, codes, firsts, summaries []int64) {
	t.Helper()
	var entries []struct {
		FirstRank int64 `db:"first_rank"`
		Summary   int64 `db:"summary"`
		AccountID int64 `db:"account_id"`
		Code      int64 `db:"code"`
		N         int64 `db:"n"`
	}
	require.NoError(t, database.Select(&entries, `
		SELECT b.first_rank, b.summary, u.account_id, u.code, u.n
		FROM cycle_review_order_blocks b, unnest(b.account_ids, b.codes) WITH ORDINALITY u (account_id, code, n)
		WHERE month = $1 AND sort = $2 ORDER BY b.first_rank, u.n`, generatedMonth, sortName))
	for _, e := range entries {
		if e.N == 1 {
			firsts, summaries = append(firsts, e.FirstRank), append(summaries, e.Summary)
		}
		require.Equal(t, e.FirstRank+e.N-1, int64(len(ids)+1), "ranks are consecutive")
		ids, codes = append(ids, e.AccountID), append(codes, e.Code)
	}
	return ids, codes, firsts, summaries
}

// codeOf is a row's code: a bit for each of its values that bits names.
func codeOf(bits []string, r expectedRow) int64 {
	var code int64
	values := []string{"status:" + r.Status, "method:" + r.Method, "currency:" + r.Currency}
	if r.Reasons != "" {
		for _, reason := range strings.Split(r.Reasons, ",") {
			values = append(values, "reason:"+reason)
		}
	}
	for i, bit := range bits {
		for _, v := range values {
			if v == bit {
				code |= 1 << i
			}
		}
	}
	return code
}

// toRow is the part of a row a cursor reads.
func toRow(r expectedRow) review.PublisherRow {
	return review.PublisherRow{AccountID: r.AccountID, SellerID: r.SellerID, Balance: r.Balance, Paid: r.Paid, Withheld: r.Withheld, Carried: r.Carried}
}

// Prepare stores each amount sort's order once (concurrent callers
// wait, then find it stored): every row in the pages' order (the key, then
// the account id), ranks 1 to n in blocks, each rank with the code of its
// status, method, currency and reasons, each block with its codes' OR.
// Pages of every amount sort, both ways, with filters common, rare,
// bunched at one end of an order (held rows all have paid 0), combined,
// on a country common or rare, walk the order across blocks and batches
// to exactly the oracle's rows; a cursor's rank places the page, and a
// cursor without one (as made before the orders were stored) finds the
// same page by its key.
func TestAmountSortsWalkStoredOrders(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 2000)
	s := review.WithOrderBlock(&review.Service{DB: database}, 7)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Prepare(ctx, generatedMonth)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var header struct {
		Payouts    int64     `db:"payouts"`
		BlockSize  int       `db:"block_size"`
		Bits       string    `db:"bits"`
		ComputedAt time.Time `db:"computed_at"`
	}
	require.NoError(t, database.Get(&header, `SELECT payouts, block_size, array_to_string(bits, ',') AS bits, computed_at
		FROM cycle_review_orders WHERE month = $1`, generatedMonth))
	require.EqualValues(t, 2000, header.Payouts)
	require.Equal(t, 7, header.BlockSize)
	bits := strings.Split(header.Bits, ",")
	require.Subset(t, bits, []string{"status:held", "method:bank", "currency:CHF", "currency:ISK", "reason:payment_hold"})
	var blocks int
	require.NoError(t, database.Get(&blocks, `SELECT count(*) FROM cycle_review_order_blocks`))

	rows := monthRows(t, database, generatedMonth)
	for _, sortName := range amountSorts {
		order := ascending(rows, sortName)
		wantIDs, wantCodes := make([]int64, len(order)), make([]int64, len(order))
		for i, r := range order {
			wantIDs[i], wantCodes[i] = r.AccountID, codeOf(bits, r)
		}
		ids, codes, firsts, summaries := storedOrder(t, database, sortName)
		require.Equal(t, wantIDs, ids, "%s: the stored order is the pages' order", sortName)
		require.Equal(t, wantCodes, codes, "%s: each rank's code has the bits of its values", sortName)
		for i, first := range firsts {
			require.EqualValues(t, 1+7*i, first, "%s: full blocks of 7", sortName)
			var summary int64
			for _, code := range wantCodes[first-1 : min(int(first)-1+7, len(wantCodes))] {
				summary |= code
			}
			require.Equal(t, summary, summaries[i], "%s: a block's summary is its codes' OR", sortName)
		}
	}

	// Stored once: a later Prepare, or page, writes nothing.
	require.NoError(t, review.WithOrderBlock(&review.Service{DB: database, Clock: func() time.Time { return time.Now().Add(time.Hour) }}, 3).
		Prepare(ctx, generatedMonth))
	var again int
	require.NoError(t, database.Get(&again, `SELECT count(*) FROM cycle_review_order_blocks`))
	require.Equal(t, blocks, again)
	var computedAt time.Time
	require.NoError(t, database.Get(&computedAt, `SELECT computed_at FROM cycle_review_orders WHERE month = $1`, generatedMonth))
	require.True(t, header.ComputedAt.Equal(computedAt))

	// Every page, in every amount sort both ways.
	filters := []review.Filter{
		{},
		{Status: "held"},                   // 12%, bunched at paid 0
		{Status: "paid", Method: "paypal"}, // two common values
		{Reason: "below_threshold"},        // common, anywhere in reasons
		{Currency: "CHF"},                  // rare: most blocks skipped
		{Reason: "agreement_not_accepted"}, // rare
		{Currency: "JPY", Status: "paid"},  // rare, and a common value
		{Status: "held", Currency: "EUR", Country: "US"}, // common values and a common country (probed)
		{Country: "DE"},                             // a common country
		{Country: "IS"},                             // a rare one: its accounts are read
		{Country: "NO", Status: "carried"},          // a rare country and a common status
		{Country: "FI"},                             // no row
		{Currency: "CHF", Country: "US"},            // a rare value and a country
		{Status: "paid", Reason: "below_threshold"}, // no row has both
	}
	for _, filter := range filters {
		for _, sortName := range amountSorts {
			for _, desc := range []bool{false, true} {
				f := filter
				f.Sort, f.Desc, f.Limit = sortName, desc, 41
				require.Equal(t, expected(rows, f), walk(t, s, generatedMonth, f), "%+v", f)
			}
		}
	}

	// Jumping in: after any row, whether it matches the filter or not,
	// with its rank or without.
	for _, filter := range []review.Filter{{}, {Status: "held"}, {Currency: "CHF"}, {Country: "IS"}, {Currency: "JPY", Status: "paid"}} {
		for _, sortName := range amountSorts {
			for _, desc := range []bool{false, true} {
				f := filter
				f.Sort, f.Desc, f.Limit = sortName, desc, 11
				order := ascending(rows, sortName)
				if desc {
					for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
						order[i], order[j] = order[j], order[i]
					}
				}
				for i := 0; i < len(order); i += 283 {
					want := []string{}
					for _, r := range order[i+1:] {
						if matches(f, r) && len(want) < f.Limit {
							want = append(want, r.SellerID)
						}
					}
					rank := int64(i + 1)
					if desc {
						rank = int64(len(order) - i)
					}
					for _, after := range []string{review.CursorAt(f, toRow(order[i]), rank), review.CursorAfter(f, toRow(order[i]))} {
						f.After = after
						page, err := s.Publishers(ctx, generatedMonth, f)
						require.NoError(t, err)
						got := []string{}
						for _, row := range page.Rows {
							got = append(got, row.SellerID)
						}
						require.Equal(t, want, got, "%+v after %s", f, order[i].SellerID)
					}
				}
			}
		}
	}

	// The rank places a page read from an order: a cursor whose rank is
	// another row's starts after that row. A rare country's page is read
	// by its key.
	order := ascending(rows, review.SortPaid)
	at, ranked := order[100], order[1500]
	for _, c := range []struct {
		filter review.Filter
		start  expectedRow
	}{{review.Filter{}, ranked}, {review.Filter{Status: "carried"}, ranked}, {review.Filter{Reason: "no_payout_account"}, ranked},
		{review.Filter{Country: "IS"}, at}} {
		f := c.filter
		f.Sort, f.Limit = review.SortPaid, 5
		f.After = review.CursorAt(f, toRow(at), 1501)
		page, err := s.Publishers(ctx, generatedMonth, f)
		require.NoError(t, err)
		want := []string{}
		for _, r := range order {
			if sortKey(review.SortPaid, r).Cmp(sortKey(review.SortPaid, c.start)) > 0 ||
				sortKey(review.SortPaid, r).Equal(sortKey(review.SortPaid, c.start)) && r.AccountID > c.start.AccountID {
				if matches(f, r) && len(want) < 5 {
					want = append(want, r.SellerID)
				}
			}
		}
		got := []string{}
		for _, row := range page.Rows {
			got = append(got, row.SellerID)
		}
		require.Equal(t, want, got, "%+v", c.filter)
	}
}

// A cycle whose figures were stored without orders (viewed before
// migration 200, or only by the review page) gets them at its first page
// sorted by an amount, not before; cursors made before then still work.
// A closed cycle without payouts rows stores empty orders.
func TestOrdersStoredAtFirstAmountSortedPage(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 300)
	s := &review.Service{DB: database}
	ctx := context.Background()
	stored := func() int {
		var n int
		require.NoError(t, database.Get(&n, `SELECT count(*) FROM cycle_review_orders`))
		return n
	}
	_, err := s.Breakdown(ctx, generatedMonth)
	require.NoError(t, err)
	rows := monthRows(t, database, generatedMonth)
	order := ascending(rows, review.SortBalance)
	f := review.Filter{Sort: review.SortBalance, Limit: 20, After: review.CursorAfter(review.Filter{Sort: review.SortBalance}, toRow(order[99]))}
	_, err = s.Publishers(ctx, generatedMonth, review.Filter{Status: "held"})
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = s.ExportPublishers(ctx, generatedMonth, review.Filter{Sort: review.SortPaid}, &out)
	require.NoError(t, err)
	require.Zero(t, stored(), "the review page, seller-ordered pages and the export need no order")

	page, err := s.Publishers(ctx, generatedMonth, f)
	require.NoError(t, err)
	require.Equal(t, 1, stored())
	require.Len(t, page.Rows, 20)
	for i, row := range page.Rows {
		require.Equal(t, order[100+i].SellerID, row.SellerID)
	}
	f.After = page.Next
	next, err := s.Publishers(ctx, generatedMonth, f)
	require.NoError(t, err)
	require.Equal(t, order[120].SellerID, next.Rows[0].SellerID)

	_, err = database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256)
		VALUES ('2026-12-01', 'closed', '2026-12-01T00:00:00Z', '2026-12-15', '{}', repeat('0', 64))`)
	require.NoError(t, err)
	empty := generatedMonth.AddDate(0, 1, 0)
	require.NoError(t, s.Prepare(ctx, empty))
	var payouts int64
	require.NoError(t, database.Get(&payouts, `SELECT payouts FROM cycle_review_orders WHERE month = $1`, empty))
	require.Zero(t, payouts)
	for _, desc := range []bool{false, true} {
		page, err := s.Publishers(ctx, empty, review.Filter{Sort: review.SortCarried, Desc: desc})
		require.NoError(t, err)
		require.Empty(t, page.Rows)
		require.Empty(t, page.Next)
	}
}

// A balance of 9 trillion or more does not fit millionths in a bigint:
// those sorts are ordered by PostgreSQL instead, exactly; the others still
// in Go.
func TestOrdersOfAmountsBeyondABigintOfMillionths(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 300)
	_, err := database.Exec(`
		INSERT INTO accounts (seller_id, publisher_id, account_type, registration_country, display_name, created_at)
		VALUES ('HUGE1', 'PUBHUGE1', 'company', 'US', 'Huge Held', '2025-01-01'), ('HUGE2', 'PUBHUGE2', 'company', 'DE', 'Huge Debt', '2025-01-01')`)
	require.NoError(t, err)
	_, err = database.Exec(`
		INSERT INTO payouts (month, account_id, status, reasons, opening_us, opening_other, new_us, new_other, balance_us, balance_other,
		                     carried_us, carried_other)
		SELECT '2026-11-01', id, status, reasons, 0, 0, amount, 0.000001, amount, 0.000001, amount, 0.000001
		FROM (VALUES ('HUGE1', 'held', '{payment_hold}'::text[], 50000000000000.123456),
		             ('HUGE2', 'carried', '{negative_balance}'::text[], -9000000000000.5)) v (seller, status, reasons, amount)
		JOIN accounts a ON a.seller_id = v.seller`)
	require.NoError(t, err)
	s := review.WithOrderBlock(&review.Service{DB: database}, 16)
	ctx := context.Background()
	require.NoError(t, s.Prepare(ctx, generatedMonth))

	rows := monthRows(t, database, generatedMonth)
	require.Len(t, rows, 302)
	for _, sortName := range amountSorts {
		want := []int64{}
		for _, r := range ascending(rows, sortName) {
			want = append(want, r.AccountID)
		}
		ids, _, _, _ := storedOrder(t, database, sortName)
		require.Equal(t, want, ids, sortName)
		for _, desc := range []bool{false, true} {
			for _, filter := range []review.Filter{{}, {Status: "held"}, {Country: "DE"}} {
				f := filter
				f.Sort, f.Desc, f.Limit = sortName, desc, 29
				require.Equal(t, expected(rows, f), walk(t, s, generatedMonth, f), "%+v", f)
			}
		}
	}
	first, err := s.Publishers(ctx, generatedMonth, review.Filter{Sort: review.SortBalance, Desc: true, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, "HUGE1", first.Rows[0].SellerID)
}
