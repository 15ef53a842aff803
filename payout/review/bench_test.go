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
// first page), the amount sorts, and a stored Breakdown. Each
// sub-benchmark reports the p50 and p99 of one call (ms); the setup logs
// what the first Breakdown (computing and storing the figures) cost and
// how long building the payouts indexes the design avoids takes on this
// cycle (the estimate of what each would add to a close). Run it alone:
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

	// Random positions: rows of the cycle, whatever the filter.
	var positions []review.PublisherRow
	require.NoError(b, database.Select(&positions, `
		SELECT a.id AS accountid, a.seller_id AS sellerid, p.balance_us + p.balance_other AS balance, p.paid_usd AS paid,
		       p.withheld, p.carried_us + p.carried_other AS carried
		FROM payouts p JOIN accounts a ON a.id = p.account_id
		ORDER BY hashint8(a.id) LIMIT 5000`))
	require.NotEmpty(b, positions)

	var sample struct {
		SellerID string `db:"seller_id"`
		Name     string `db:"display_name"`
	}
	require.NoError(b, database.Get(&sample, `SELECT seller_id, display_name FROM accounts WHERE id = $1`, publishers/2))

	type bench struct {
		name      string
		filter    review.Filter
		firstOnly bool // a search: its few pages start at the first
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
		bench{name: "sort=balance-desc", filter: review.Filter{Sort: review.SortBalance, Desc: true}},
		bench{name: "sort=paid-desc", filter: review.Filter{Sort: review.SortPaid, Desc: true}},
		bench{name: "sort=balance-desc,status=held", filter: review.Filter{Sort: review.SortBalance, Desc: true, Status: "held"}},
		bench{name: "sort=paid-desc,currency=CHF", filter: review.Filter{Sort: review.SortPaid, Desc: true, Currency: "CHF"}},
	)
	random := rand.New(rand.NewPCG(1, 2))
	for _, c := range benches {
		b.Run(c.name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			rows := 0
			for i := 0; i < b.N; i++ {
				f := c.filter
				if !c.firstOnly && i%10 != 0 {
					f.After = review.CursorAfter(f, positions[random.IntN(len(positions))])
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
