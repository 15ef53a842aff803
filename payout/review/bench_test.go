package review_test

import (
	"context"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// BenchmarkPublishers measures the finance console's reads on a
// generated cycle of PAYRUN_BENCH_REVIEW_PUBLISHERS publishers (default
// 1,000,000; generateCycle, about a minute to build here): one page of
// the publishers table (50 rows) for the default sort and for each filter
// alone, each iteration after a random row of the cycle (one in ten the
// first page), the amount sorts both ways, alone and with filters (their
// cursors carry the row's rank, as the table's own do; one case without),
// and a stored Breakdown. Each sub-benchmark reports the p50 and p99 of
// one call (ms); the setup logs what the first Breakdown (computing and
// storing the figures) and then Prepare (the amount sorts' orders) cost
// and store, and how long building the payouts indexes the design avoids
// takes on this cycle (the estimate of what each would add to a close),
// and a row-per-rank table of one sort's order for comparison. Run it
// alone:
//
//	go test -run '^$' -bench BenchmarkPublishers -benchtime 200x ./payout/review/
func BenchmarkPublishers(b *testing.B) {
	publishers := 1_000_000
	if text := os.Getenv("PAYRUN_BENCH_REVIEW_PUBLISHERS"); text != "" {
		n, err := strconv.Atoi(text)
		require.NoError(b, err)
		publishers = n
	}
	ctx := context.Background()
	database := dbtest.New(b)
	start := time.Now()
	generateCycle(b, database, publishers)
	b.Logf("generated %d publishers and their payouts rows in %.1f s", publishers, time.Since(start).Seconds())

	for _, index := range []struct{ name, sql string }{
		{"btree (month, currency)", `CREATE INDEX bench_payouts_currency ON payouts (month, currency)`},
		{"btree (month, status, account_id)", `CREATE INDEX bench_payouts_status ON payouts (month, status, account_id)`},
		{"gin (reasons)", `CREATE INDEX bench_payouts_reasons ON payouts USING gin (reasons)`},
		{"btree (month, balance, account_id)", `CREATE INDEX bench_payouts_balance ON payouts (month, (balance_us + balance_other), account_id)`},
	} {
		start := time.Now()
		_, err := database.Exec(index.sql)
		require.NoError(b, err)
		b.Logf("building a payouts index %s over the cycle: %.2f s (not kept)", index.name, time.Since(start).Seconds())
		_, err = database.Exec(`DROP INDEX ` + strings.Fields(index.sql)[2])
		require.NoError(b, err)
	}

	s := &review.Service{DB: database}
	start = time.Now()
	breakdown, err := s.Breakdown(ctx, generatedMonth)
	require.NoError(b, err)
	elapsed := time.Since(start)
	var keys struct {
		Rows  int64  `db:"rows"`
		Bytes string `db:"bytes"`
	}
	require.NoError(b, database.Get(&keys, `SELECT count(*) AS rows, pg_size_pretty(pg_total_relation_size('cycle_review_keys')) AS bytes FROM cycle_review_keys`))
	b.Logf("first Breakdown (figures computed and stored, %d rare-value keys, %s): %.2f s; %d reasons, %d methods, %d countries",
		keys.Rows, keys.Bytes, elapsed.Seconds(), len(breakdown.ByReason), len(breakdown.ByMethod), len(breakdown.ByCountry))

	start = time.Now()
	require.NoError(b, s.Prepare(ctx, generatedMonth))
	elapsed = time.Since(start)
	var orders struct {
		Blocks  int64  `db:"blocks"`
		Entries int64  `db:"entries"`
		Bytes   string `db:"bytes"`
	}
	require.NoError(b, database.Get(&orders, `
		SELECT count(*) AS blocks, sum(cardinality(account_ids)) AS entries,
		       pg_size_pretty(pg_total_relation_size('cycle_review_order_blocks') + pg_total_relation_size('cycle_review_orders')) AS bytes
		FROM cycle_review_order_blocks`))
	b.Logf("Prepare after it (the 4 amount sorts' orders: %d blocks, %d ranks, %s): %.2f s", orders.Blocks, orders.Entries, orders.Bytes, elapsed.Seconds())

	// The design the orders' blocks avoid: a row per rank, with its
	// primary key (one sort's; the four would cost four times this).
	start = time.Now()
	_, err = database.Exec(`
		CREATE TABLE bench_rank_rows (month date, sort text, rank integer, account_id bigint, PRIMARY KEY (month, sort, rank));
		INSERT INTO bench_rank_rows SELECT month, 'balance', row_number() OVER (ORDER BY balance_us + balance_other, account_id), account_id
		FROM payouts WHERE month = '2026-11-01'`)
	require.NoError(b, err)
	elapsed = time.Since(start)
	var rankRows string
	require.NoError(b, database.Get(&rankRows, `SELECT pg_size_pretty(pg_total_relation_size('bench_rank_rows'))`))
	b.Logf("a row per rank (month, sort, rank, account_id) with its primary key, one sort: %.2f s, %s (not kept)", elapsed.Seconds(), rankRows)
	_, err = database.Exec(`DROP TABLE bench_rank_rows`)
	require.NoError(b, err)

	// Random positions: rows of the cycle, whatever the filter.
	var positions []review.PublisherRow
	require.NoError(b, database.Select(&positions, `
		SELECT a.id AS accountid, a.seller_id AS sellerid, p.balance_us + p.balance_other AS balance, p.paid_usd AS paid,
		       p.withheld, p.carried_us + p.carried_other AS carried
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		ORDER BY hashint8(a.id) LIMIT 5000`))
	require.NotEmpty(b, positions)
	// Each position's rank in each amount sort's stored order: the
	// table's own cursors carry it.
	ranks := map[string]map[int64]int64{}
	ids := make([]int64, len(positions))
	for i, p := range positions {
		ids[i] = p.AccountID
	}
	for _, sortName := range []string{review.SortBalance, review.SortPaid, review.SortWithheld, review.SortCarried} {
		var found []struct {
			AccountID int64 `db:"account_id"`
			Rank      int64 `db:"rank"`
		}
		require.NoError(b, database.Select(&found, `
			SELECT u.account_id, b.first_rank + u.n - 1 AS rank
			FROM cycle_review_order_blocks b, unnest(b.account_ids) WITH ORDINALITY u (account_id, n)
			WHERE b.month = $1 AND b.sort = $2 AND u.account_id = ANY ($3)`, generatedMonth, sortName, ids))
		require.Len(b, found, len(positions))
		ranks[sortName] = map[int64]int64{}
		for _, f := range found {
			ranks[sortName][f.AccountID] = f.Rank
		}
	}

	var sample struct {
		SellerID string `db:"seller_id"`
		Name     string `db:"display_name"`
	}
	require.NoError(b, database.Get(&sample, `SELECT seller_id, display_name FROM accounts WHERE id = $1`, publishers/2))

	type bench struct {
		name      string
		filter    review.Filter
		firstOnly bool // a search: its few pages start at the first
		rankless  bool // an amount sort's cursor without its rank (one made before the orders were stored)
	}
	benches := []bench{{name: "default", filter: review.Filter{}}}
	for _, status := range []string{"paid", "held", "carried"} {
		benches = append(benches, bench{name: "status=" + status, filter: review.Filter{Status: status}})
	}
	for _, reason := range payout.Reasons {
		benches = append(benches, bench{name: "reason=" + string(reason), filter: review.Filter{Reason: string(reason)}})
	}
	for _, method := range []string{"bank", "paypal"} {
		benches = append(benches, bench{name: "method=" + method, filter: review.Filter{Method: method}})
	}
	for _, currency := range []string{"USD", "EUR", "JPY", "INR", "CHF", "ISK", "SEK"} {
		benches = append(benches, bench{name: "currency=" + currency, filter: review.Filter{Currency: currency}})
	}
	for _, country := range []string{"US", "DE", "NO", "IS"} {
		benches = append(benches, bench{name: "country=" + country, filter: review.Filter{Country: country}})
	}
	benches = append(benches,
		bench{name: "q=seller-id", filter: review.Filter{Query: sample.SellerID}, firstOnly: true},
		bench{name: "q=name-word", filter: review.Filter{Query: "acme"}, firstOnly: true},
		bench{name: "q=name-prefix", filter: review.Filter{Query: sample.Name[:len(sample.Name)-2]}, firstOnly: true},
		bench{name: "q=a", filter: review.Filter{Query: "a"}},
	)
	for _, sortName := range []string{review.SortBalance, review.SortPaid, review.SortWithheld, review.SortCarried} {
		for _, desc := range []bool{false, true} {
			name := "sort=" + sortName + map[bool]string{false: "-asc", true: "-desc"}[desc]
			benches = append(benches, bench{name: name, filter: review.Filter{Sort: sortName, Desc: desc}})
		}
	}
	for _, with := range []struct {
		name   string
		filter review.Filter
	}{
		{"status=held", review.Filter{Status: "held"}},
		{"status=paid", review.Filter{Status: "paid"}},
		{"reason=below_threshold", review.Filter{Reason: "below_threshold"}},
		{"method=paypal", review.Filter{Method: "paypal"}},
		{"currency=USD", review.Filter{Currency: "USD"}},
		{"country=US", review.Filter{Country: "US"}},
		{"status=held,currency=EUR", review.Filter{Status: "held", Currency: "EUR"}},
		{"currency=CHF", review.Filter{Currency: "CHF"}},                             // 0.8%: most blocks skipped
		{"reason=tax_profile_expired", review.Filter{Reason: "tax_profile_expired"}}, // 0.7%
		{"country=CH", review.Filter{Country: "CH"}},                                 // 1%: walked
		{"country=IS", review.Filter{Country: "IS"}},                                 // 0.1%: its accounts read
	} {
		for _, order := range []struct {
			name string
			sort string
			desc bool
		}{{"balance-desc", review.SortBalance, true}, {"paid-asc", review.SortPaid, false}} {
			f := with.filter
			f.Sort, f.Desc = order.sort, order.desc
			benches = append(benches, bench{name: "sort=" + order.name + "," + with.name, filter: f})
		}
	}
	benches = append(benches, bench{name: "sort=balance-desc,cursor-without-rank", filter: review.Filter{Sort: review.SortBalance, Desc: true}, rankless: true})
	random := rand.New(rand.NewPCG(1, 2))
	for _, c := range benches {
		b.Run(c.name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			rows := 0
			for i := 0; i < b.N; i++ {
				f := c.filter
				if !c.firstOnly && i%10 != 0 {
					position := positions[random.IntN(len(positions))]
					f.After = review.CursorAfter(f, position)
					if f.Sort != "" && f.Sort != review.SortSeller && !c.rankless {
						f.After = review.CursorAt(f, position, ranks[f.Sort][position.AccountID])
					}
				}
				start := time.Now()
				page, err := s.Publishers(ctx, generatedMonth, f)
				durations = append(durations, time.Since(start))
				require.NoError(b, err)
				rows += len(page.Rows)
			}
			reportPercentiles(b, durations)
			b.ReportMetric(float64(rows)/float64(b.N), "rows/page")
		})
	}
	b.Run("breakdown-stored", func(b *testing.B) {
		durations := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			_, err := s.Breakdown(ctx, generatedMonth)
			durations = append(durations, time.Since(start))
			require.NoError(b, err)
		}
		reportPercentiles(b, durations)
	})
}

func reportPercentiles(b *testing.B, durations []time.Duration) {
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	at := func(q float64) float64 {
		return float64(durations[int(q*float64(len(durations)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(float64(durations[len(durations)-1].Microseconds())/1000, "max-ms")
}
