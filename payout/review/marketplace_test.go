package review_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// cycleTotals is what the close stored in cycles.totals that the
// breakdown must agree with.
type cycleTotals struct {
	Paid     review.Bucket            `json:"paid"`
	Held     review.Bucket            `json:"held"`
	Carried  review.Bucket            `json:"carried"`
	ByMethod map[string]review.Bucket `json:"paid_by_method"`
	ByReason map[string]review.Bucket `json:"by_primary_reason"`
}

func sumBuckets(buckets ...review.Bucket) review.Bucket {
	total := review.Bucket{Amount: decimal.Zero}
	for _, b := range buckets {
		total.Count += b.Count
		total.Amount = total.Amount.Add(b.Amount)
	}
	return total
}

func requireBucket(t *testing.T, want, got review.Bucket, what string) {
	t.Helper()
	require.Equal(t, want.Count, got.Count, "%s: count", what)
	require.True(t, want.Amount.Equal(got.Amount), "%s: amount %s, want %s", what, got.Amount, want.Amount)
}

// A simulated marketplace (150 publishers, four cycles closed and
// released, with holds, returns, PayPal splits and treaty rates): what the
// console reads of it agrees with the close's own figures and tables.
func TestSimulatedMarketplace(t *testing.T) {
	t.Parallel()
	sim := simulated(t, 3, 150, 4)
	database := sim.DB
	computedAt := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &review.Service{DB: database, Clock: func() time.Time { return computedAt }}
	ctx := context.Background()
	var months []time.Time
	require.NoError(t, database.Select(&months, `SELECT month FROM cycles WHERE state IN ('closed', 'released', 'settled') ORDER BY month`))
	require.Len(t, months, 4)
	last := months[len(months)-1]

	t.Run("breakdown equals the cycle's totals", func(t *testing.T) {
		for _, month := range months {
			breakdown, err := s.Breakdown(ctx, month)
			require.NoError(t, err)
			var raw []byte
			require.NoError(t, database.Get(&raw, `SELECT totals FROM cycles WHERE month = $1`, month))
			var totals cycleTotals
			require.NoError(t, json.Unmarshal(raw, &totals))
			name := payout.MonthName(month)

			var held, carried, paid []review.Bucket
			for i, r := range breakdown.ByReason {
				held, carried = append(held, r.Held), append(carried, r.Carried)
				requireBucket(t, totals.ByReason[r.Reason], sumBuckets(r.Held, r.Carried), name+" reason "+r.Reason)
				if i > 0 {
					require.Less(t, payout.Reason(breakdown.ByReason[i-1].Reason).Order(), payout.Reason(r.Reason).Order(), "SPEC order")
				}
				if payout.Reason(r.Reason).Held() {
					require.Zero(t, r.Carried.Count, "a held reason carries nothing")
				} else {
					require.Zero(t, r.Held.Count, "a carried reason holds nothing")
				}
			}
			require.Len(t, breakdown.ByReason, len(totals.ByReason))
			requireBucket(t, totals.Held, sumBuckets(held...), name+" held")
			requireBucket(t, totals.Carried, sumBuckets(carried...), name+" carried")

			for i, m := range breakdown.ByMethod {
				paid = append(paid, m.Paid)
				requireBucket(t, totals.ByMethod[m.Method+":"+m.Currency], m.Paid, name+" "+m.Method+":"+m.Currency)
				if i > 0 {
					previous := breakdown.ByMethod[i-1]
					require.True(t, previous.Method < m.Method || previous.Method == m.Method && previous.Currency < m.Currency, "method then currency")
				}
			}
			require.Len(t, breakdown.ByMethod, len(totals.ByMethod))
			requireBucket(t, totals.Paid, sumBuckets(paid...), name+" paid")

			var countryPaid, countryHeld, countryCarried []review.Bucket
			for i, c := range breakdown.ByCountry {
				countryPaid, countryHeld, countryCarried = append(countryPaid, c.Paid), append(countryHeld, c.Held), append(countryCarried, c.Carried)
				if i > 0 {
					previous := breakdown.ByCountry[i-1]
					cmp := previous.Paid.Amount.Cmp(c.Paid.Amount)
					require.True(t, cmp > 0 || cmp == 0 && previous.Country < c.Country, "paid amount desc, then country")
				}
			}
			requireBucket(t, totals.Paid, sumBuckets(countryPaid...), name+" paid by country")
			requireBucket(t, totals.Held, sumBuckets(countryHeld...), name+" held by country")
			requireBucket(t, totals.Carried, sumBuckets(countryCarried...), name+" carried by country")
		}
	})

	t.Run("breakdown is stored once and read back", func(t *testing.T) {
		var stored []struct {
			Month      time.Time `db:"month"`
			Payouts    int64     `db:"payouts"`
			ComputedAt time.Time `db:"computed_at"`
			Ordered    int64     `db:"ordered"`
		}
		require.NoError(t, database.Select(&stored, `
			SELECT b.month, b.payouts, b.computed_at, coalesce(o.payouts, -1) AS ordered
			FROM cycle_breakdowns b LEFT JOIN cycle_review_orders o ON o.month = b.month ORDER BY month`))
		require.Len(t, stored, len(months), "one row per closed cycle")
		for _, row := range stored {
			var rows int64
			require.NoError(t, database.Get(&rows, `SELECT count(*) FROM payouts WHERE month = $1`, row.Month))
			require.Equal(t, rows, row.Payouts)
			// Each close stored its cycle's figures and orders
			// (payout/cycle calls Prepare, without a clock: the
			// database's), before anyone viewed it.
			require.False(t, computedAt.Equal(row.ComputedAt), "stored by the close, not by a view")
			require.Equal(t, rows, row.Ordered, "the amount sorts' orders stored by the close")
		}
		var computedBefore time.Time
		require.NoError(t, database.Get(&computedBefore, `SELECT computed_at FROM cycle_breakdowns WHERE month = $1`, last))
		first, err := s.Breakdown(ctx, last)
		require.NoError(t, err)

		// While another transaction holds payouts locked, a stored
		// breakdown is still read (it needs no payouts row)...
		lock, err := database.BeginTxx(ctx, nil)
		require.NoError(t, err)
		defer lock.Rollback()
		_, err = lock.Exec(`LOCK TABLE payouts IN ACCESS EXCLUSIVE MODE`)
		require.NoError(t, err)
		again := &review.Service{DB: database, Clock: func() time.Time { return computedAt.Add(time.Hour) }}
		quick, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		second, err := again.Breakdown(quick, last)
		require.NoError(t, err, "a stored breakdown reads no payouts row")
		require.Equal(t, first, second)
		// ... while one not stored yet has to read them, and waits.
		_, err = database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256)
			VALUES ('2030-01-01', 'closed', '2030-01-01T00:00:00Z', '2030-01-15', '{}', repeat('0', 64))`)
		require.NoError(t, err)
		blocked, cancelBlocked := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancelBlocked()
		_, err = again.Breakdown(blocked, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		require.Error(t, err, "computing reads payouts")
		require.NoError(t, lock.Rollback())

		var at time.Time
		require.NoError(t, database.Get(&at, `SELECT computed_at FROM cycle_breakdowns WHERE month = $1`, last))
		require.True(t, computedBefore.Equal(at), "the views wrote nothing")
	})

	t.Run("two first viewers compute it once", func(t *testing.T) {
		_, err := database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256)
			VALUES ('2030-02-01', 'released', '2030-02-01T00:00:00Z', '2030-02-15', '{}', repeat('0', 64))`)
		require.NoError(t, err)
		_, err = database.Exec(`INSERT INTO payouts (month, account_id, status, reasons, opening_us, opening_other, new_us, new_other,
			balance_us, balance_other, carried_us, carried_other)
			SELECT '2030-02-01', account_id, 'carried', '{below_threshold}', 0, 0, 0, 1, 0, 1, 0, 1 FROM payouts WHERE month = $1`, last)
		require.NoError(t, err)
		month := time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		results := make([]review.Breakdown, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.Breakdown(ctx, month)
			}()
		}
		wg.Wait()
		for i := range results {
			require.NoError(t, errs[i])
			require.Equal(t, results[0], results[i])
		}
		require.Len(t, results[0].ByReason, 1)
		var rows int
		require.NoError(t, database.Get(&rows, `SELECT count(*) FROM cycle_breakdowns WHERE month = $1`, month))
		require.Equal(t, 1, rows)
	})

	t.Run("publishers filters walk every page", func(t *testing.T) {
		type count struct {
			Value string `db:"value"`
			Rows  int    `db:"rows"`
		}
		for _, dimension := range []struct {
			name, sql string
			filter    func(string) review.Filter
		}{
			{"status", `SELECT status AS value, count(*) AS rows FROM payouts WHERE month = $1 GROUP BY 1`,
				func(v string) review.Filter { return review.Filter{Status: v} }},
			{"reason", `SELECT r AS value, count(*) AS rows FROM payouts, unnest(reasons) r WHERE month = $1 GROUP BY 1`,
				func(v string) review.Filter { return review.Filter{Reason: v} }},
			{"method", `SELECT method AS value, count(*) AS rows FROM payouts WHERE month = $1 AND method IS NOT NULL GROUP BY 1`,
				func(v string) review.Filter { return review.Filter{Method: v} }},
			{"currency", `SELECT currency AS value, count(*) AS rows FROM payouts WHERE month = $1 AND currency IS NOT NULL GROUP BY 1`,
				func(v string) review.Filter { return review.Filter{Currency: v} }},
			{"country", `SELECT registration_country AS value, count(*) AS rows FROM payouts p JOIN accounts a ON a.id = p.account_id
				WHERE month = $1 GROUP BY 1`,
				func(v string) review.Filter { return review.Filter{Country: v} }},
		} {
			var counts []count
			require.NoError(t, database.Select(&counts, dimension.sql, last))
			require.NotEmpty(t, counts, dimension.name)
			for _, c := range counts {
				f := dimension.filter(c.Value)
				f.Limit = 9
				got := walk(t, s, last, f)
				require.Len(t, got, c.Rows, "%s %s", dimension.name, c.Value)
				var want []string
				require.NoError(t, database.Select(&want, `SELECT a.seller_id FROM payouts p JOIN accounts a ON a.id = p.account_id
					WHERE p.month = $1 AND a.seller_id = ANY ($2) ORDER BY a.seller_id`, last, got))
				require.Equal(t, want, got, "%s %s: in seller order across pages, no row twice", dimension.name, c.Value)

				// The amount sorts, read from the orders the close stored.
				for _, order := range []struct{ sort, key, direction string }{
					{review.SortBalance, "p.balance_us + p.balance_other", "DESC"}, {review.SortWithheld, "p.withheld", ""},
				} {
					f.Sort, f.Desc = order.sort, order.direction == "DESC"
					got := walk(t, s, last, f)
					var want []string
					require.NoError(t, database.Select(&want, `SELECT a.seller_id FROM payouts p JOIN accounts a ON a.id = p.account_id
						WHERE p.month = $1 AND a.seller_id = ANY ($2) ORDER BY `+order.key+` `+order.direction+`, p.account_id `+order.direction,
						last, got))
					require.Len(t, got, c.Rows, "%s %s by %s", dimension.name, c.Value, order.sort)
					require.Equal(t, want, got, "%s %s by %s %s", dimension.name, c.Value, order.sort, order.direction)
				}
				f.Sort, f.Desc = "", false
			}
		}
	})

	t.Run("a held publisher's detail", func(t *testing.T) {
		var seller string
		require.NoError(t, database.Get(&seller, `SELECT a.seller_id FROM payouts p JOIN accounts a ON a.id = p.account_id
			WHERE p.month = $1 AND p.status = 'held' AND cardinality(p.reasons) > 1 ORDER BY a.seller_id LIMIT 1`, last))
		d, err := s.Publisher(ctx, last, seller)
		require.NoError(t, err)
		require.Equal(t, seller, d.SellerID)
		require.Equal(t, payout.MonthName(last), d.Month)
		require.NotEmpty(t, d.Name)
		require.NotEmpty(t, d.Country)
		require.Contains(t, []string{"company", "individual"}, d.Type)
		require.NotNil(t, d.Decision)
		decision := d.Decision
		require.Equal(t, "held", decision.Status)
		var stored string
		require.NoError(t, database.Get(&stored, `SELECT array_to_string(reasons, ',') FROM payouts WHERE month = $1 AND account_id = $2`, last, d.AccountID))
		require.Len(t, decision.Reasons, len(strings.Split(stored, ",")))
		for i, r := range decision.Reasons {
			require.Equal(t, strings.Split(stored, ",")[i], r.Code, "stored order")
			require.NotEmpty(t, r.Remedy)
			require.Equal(t, payout.Reason(r.Code).Remedy(), r.Remedy)
		}
		require.True(t, decision.BalanceUS.Equal(decision.OpeningUS.Add(decision.NewUS)))
		require.True(t, decision.BalanceOther.Equal(decision.OpeningOther.Add(decision.NewOther)))
		parts := decision.Paid.Add(decision.Withheld).Add(decision.CarriedUS).Add(decision.CarriedOther)
		require.True(t, decision.Balance().Equal(parts), "balance %s = paid + withheld + carried %s", decision.Balance(), parts)
		require.True(t, decision.Paid.IsZero() && decision.Withheld.IsZero(), "held keeps the whole balance, unwithheld")

		require.NotEmpty(t, d.History)
		require.LessOrEqual(t, len(d.History), review.HistoryCycles)
		require.Equal(t, payout.MonthName(last), d.History[0].Month)
		for i := 1; i < len(d.History); i++ {
			require.Greater(t, d.History[i-1].Month, d.History[i].Month, "newest first")
		}
		require.Equal(t, decision.Reasons[0].Code, d.History[0].Reason, "the primary reason")
		require.NotEmpty(t, d.Changes)
		for i := 1; i < len(d.Changes); i++ {
			require.False(t, d.Changes[i].At.After(d.Changes[i-1].At), "changes newest first")
		}
		requireNoSecrets(t, d.Changes)

		_, err = s.Publisher(ctx, last, "NO-SUCH-SELLER")
		require.True(t, errors.Is(err, review.ErrNotFound), "%v", err)
		require.Contains(t, err.Error(), "NO-SUCH-SELLER")
		_, err = s.Publisher(ctx, last, strings.ToLower(seller))
		if strings.ToLower(seller) != seller {
			require.ErrorIs(t, err, review.ErrNotFound, "a seller id is exact")
		}
	})

	t.Run("details of every publisher add up", func(t *testing.T) {
		var sellers []string
		require.NoError(t, database.Select(&sellers, `SELECT seller_id FROM accounts ORDER BY seller_id`))
		holds := 0
		for _, seller := range sellers {
			d, err := s.Publisher(ctx, last, seller)
			require.NoError(t, err)
			if d.Decision != nil {
				parts := d.Decision.Paid.Add(d.Decision.Withheld).Add(d.Decision.CarriedUS).Add(d.Decision.CarriedOther)
				require.True(t, d.Decision.Balance().Equal(parts), seller)
			}
			for i := 1; i < len(d.Holds); i++ {
				require.False(t, d.Holds[i].At.After(d.Holds[i-1].At), "holds newest first")
			}
			holds += len(d.Holds)
			for _, r := range d.Returns {
				require.Equal(t, seller, r.SellerID)
			}
			requireNoSecrets(t, d.Changes)
		}
		var events int
		require.NoError(t, database.Get(&events, `SELECT count(*) FROM payment_hold_events`))
		require.Equal(t, events, holds, "every hold switch is on its publisher's page")
	})

	t.Run("returns page", func(t *testing.T) {
		view, err := s.Returns(ctx, 50)
		require.NoError(t, err)
		var returned int
		require.NoError(t, database.Get(&returned, `SELECT count(*) FROM payout_returns`))
		require.NotZero(t, returned, "the simulation returns payments")
		require.Len(t, view.Returns, returned)
		for i, r := range view.Returns {
			require.True(t, r.Amount.IsPositive())
			require.Contains(t, []string{"ach", "paypal"}, r.Source)
			require.Equal(t, payout.MonthName(time.Date(r.RecordedAt.Year(), r.RecordedAt.Month()+1, 1, 0, 0, 0, 0, time.UTC)), r.RecreditedIn)
			require.Greater(t, r.RecreditedIn, r.Month, "credited back by a later cycle than the one that paid it")
			if i > 0 {
				require.False(t, r.RecordedAt.After(view.Returns[i-1].RecordedAt), "newest first")
			}
			// The cycle named really carried it: its opening non-US balance
			// includes the amount.
			var opening decimal.Decimal
			err := database.Get(&opening, `SELECT p.opening_other FROM payouts p JOIN accounts a ON a.id = p.account_id
				WHERE a.seller_id = $1 AND p.month = to_date($2, 'YYYY-MM')`, r.SellerID, r.RecreditedIn)
			if err == nil {
				require.True(t, opening.GreaterThanOrEqual(r.Amount), "%s's opening %s carries the return %s", r.RecreditedIn, opening, r.Amount)
			}
		}
		limited, err := s.Returns(ctx, 1)
		require.NoError(t, err)
		require.Len(t, limited.Returns, 1)
		require.Equal(t, view.Returns[0], limited.Returns[0])

		// The accounts needing a new payout account, computed another way:
		// each account's newest payout account, its newest status.
		var want []string
		require.NoError(t, database.Select(&want, `
			SELECT a.seller_id FROM accounts a
			JOIN LATERAL (SELECT id FROM payout_accounts WHERE account_id = a.id ORDER BY created_at DESC, id DESC LIMIT 1) pa ON true
			JOIN LATERAL (SELECT status FROM payout_account_events WHERE payout_account_id = pa.id ORDER BY at DESC, id DESC LIMIT 1) e ON true
			WHERE e.status IN ('needs_update', 'rejected') ORDER BY 1`))
		var got []string
		for _, line := range view.NeedsNewAccount {
			got = append(got, line.SellerID)
			require.Contains(t, []string{"needs_update", "rejected"}, line.Status)
			require.NotEmpty(t, line.Reason, "the return code or status")
			require.NotZero(t, line.PayoutAccountID)
		}
		require.ElementsMatch(t, want, got)

		_, err = s.Returns(ctx, 0)
		require.Error(t, err)
	})

	t.Run("imports page", func(t *testing.T) {
		// The admin API audits a returns upload; the simulator's imports
		// (like the CLI's) are known from their payout_returns rows.
		var file string
		var recordedAt time.Time
		require.NoError(t, database.QueryRow(`SELECT source_file, recorded_at FROM payout_returns ORDER BY recorded_at DESC LIMIT 1`).Scan(&file, &recordedAt))
		_, err := database.Exec(`INSERT INTO audit_log (account_id, actor, at, action, target, after)
			VALUES (NULL, 'operator:alice', $1, 'returns.import', 'returns_import:' || $2, jsonb_build_object('file', $2::text, 'returned', 1, 'returned_usd', '12.5'))`,
			recordedAt.Add(2*time.Second), file)
		require.NoError(t, err)
		lines, err := s.Imports(ctx, 200)
		require.NoError(t, err)
		kinds := map[string]int{}
		for i, line := range lines {
			kinds[line.Kind]++
			require.NotEmpty(t, line.Name)
			if i > 0 {
				require.False(t, line.At.After(lines[i-1].At), "newest first")
			}
			if line.Kind == review.ImportReturns && line.Name == file && !line.At.Before(recordedAt) && line.At.Before(recordedAt.Add(time.Hour)) {
				require.Equal(t, "operator:alice", line.Actor, "the audited upload, listed once")
				require.Equal(t, "12.5", line.Amount)
			}
		}
		var earnings, fxImports, returnImports int
		require.NoError(t, database.Get(&earnings, `SELECT count(*) FROM earnings_imports`))
		require.NoError(t, database.Get(&fxImports, `SELECT count(DISTINCT (month, changed_at, changed_by)) FROM fx_rate_changes`))
		require.NoError(t, database.Get(&returnImports, `SELECT count(DISTINCT (source_file, recorded_at)) FROM payout_returns`))
		require.Equal(t, earnings, kinds[review.ImportEarnings])
		require.Equal(t, fxImports, kinds[review.ImportFX])
		require.Equal(t, returnImports, kinds[review.ImportReturns], "the audited import is not listed twice")
		require.NotZero(t, earnings*fxImports*returnImports)

		few, err := s.Imports(ctx, 3)
		require.NoError(t, err)
		require.Equal(t, lines[:3], few)
	})
}

// requireNoSecrets: change lines show account numbers masked, never an
// IBAN, a whole account number or a TIN.
func requireNoSecrets(t *testing.T, changes []review.ChangeLine) {
	t.Helper()
	iban := regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\b`)
	longNumber := regexp.MustCompile(`[0-9]{7,}`)
	for _, c := range changes {
		text := c.Summary
		if i := strings.Index(text, ", holder "); i >= 0 {
			text = text[:i] // the holder's name may hold digits
		}
		require.NotRegexp(t, iban, text)
		if strings.HasPrefix(c.Kind, "payout_account.") {
			require.NotRegexp(t, longNumber, text) // (names, elsewhere, may hold digits)
		}
		require.NotContains(t, c.Summary, "@", "no e-mail address")
		if c.Kind == review.ChangePayoutAccountAdded && strings.Contains(c.Summary, "bank account") {
			require.Regexp(t, `\*{5}[0-9A-Z]{4}`, c.Summary, "masked as the API masks it")
		}
	}
}

// The history lists at most the 12 newest cycles up to the month, newest
// first.
func TestPublisherHistoryIsTheLast12Cycles(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 30)
	var seller string
	var accountID int64
	require.NoError(t, database.QueryRow(`SELECT seller_id, id FROM accounts ORDER BY id LIMIT 1`).Scan(&seller, &accountID))
	// 14 earlier cycles, each with a carried row for the account.
	for _, statement := range []string{
		`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256)
		 SELECT m, 'settled', m, m + interval '14 days', '{}', repeat('0', 64) FROM generate_series(date '2025-09-01', date '2026-10-01', interval '1 month') m`,
		`INSERT INTO payouts (month, account_id, status, reasons, opening_us, opening_other, new_us, new_other, balance_us, balance_other, carried_us, carried_other)
		 SELECT m, $1, 'carried', '{below_threshold}', 0, 0, 1, 2, 1, 2, 1, 2 FROM generate_series(date '2025-09-01', date '2026-10-01', interval '1 month') m`,
	} {
		var args []any
		if strings.Contains(statement, "$1") {
			args = append(args, accountID)
		}
		_, err := database.Exec(statement, args...)
		require.NoError(t, err)
	}
	s := &review.Service{DB: database}
	d, err := s.Publisher(context.Background(), generatedMonth, seller)
	require.NoError(t, err)
	require.Len(t, d.History, review.HistoryCycles)
	require.Equal(t, "2026-11", d.History[0].Month)
	require.Equal(t, "2025-12", d.History[11].Month)
	require.True(t, d.History[1].Balance.Equal(decimal.NewFromInt(3)))
	require.Equal(t, "below_threshold", d.History[1].Reason)

	earlier, err := s.Publisher(context.Background(), time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), seller)
	require.NoError(t, err)
	require.Equal(t, "2026-02", earlier.Month)
	require.Equal(t, "2026-02", earlier.History[0].Month, "up to the month viewed")
	require.Len(t, earlier.History, 6)
	require.NotNil(t, earlier.Decision)
	require.Equal(t, "carried", earlier.Decision.Status)
	require.Equal(t, "nothing to do: the balance is paid once the payable amount reaches the threshold", earlier.Decision.Reasons[0].Remedy)

	none, err := s.Publisher(context.Background(), time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), seller)
	require.NoError(t, err)
	require.Nil(t, none.Decision, "no payouts row that month")
	require.Len(t, none.History, review.HistoryCycles)
}

// The jobs page: runs newest first, failures alone, each at most limit.
func TestJobsNewestFirst(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	_, err := database.Exec(`
		INSERT INTO job_runs (job, occurrence_key, scheduled_at, river_job_id, attempt, started_at, finished_at, outcome, error)
		SELECT CASE WHEN i % 2 = 0 THEN 'close-cycle' ELSE 'release-payments' END, 'k' || i, t, i, 1 + i % 3, t + interval '1 second',
		       CASE WHEN i = 10 THEN NULL ELSE t + interval '4 seconds' END,
		       CASE WHEN i = 10 THEN 'running' WHEN i % 4 = 1 THEN 'failed' ELSE 'succeeded' END,
		       CASE WHEN i % 4 = 1 AND i <> 10 THEN 'boom ' || i END
		FROM (SELECT i, timestamptz '2026-11-01T00:00:00Z' + i * interval '1 hour' AS t FROM generate_series(1, 10) i) g`)
	require.NoError(t, err)
	s := &review.Service{DB: database}
	view, err := s.Jobs(context.Background(), 4)
	require.NoError(t, err)
	require.Len(t, view.Runs, 4)
	require.Equal(t, "k10", view.Runs[0].OccurrenceKey)
	require.Equal(t, "running", view.Runs[0].Outcome)
	require.Nil(t, view.Runs[0].FinishedAt)
	require.Equal(t, "k9", view.Runs[1].OccurrenceKey)
	require.Equal(t, "failed", view.Runs[1].Outcome)
	require.Equal(t, "boom 9", view.Runs[1].Error)
	require.InDelta(t, 3.0, view.Runs[1].DurationSeconds, 1e-9)
	require.Equal(t, []string{"k9", "k5", "k1"}, []string{view.Failures[0].OccurrenceKey, view.Failures[1].OccurrenceKey, view.Failures[2].OccurrenceKey})
	require.Len(t, view.Failures, 3)
	for _, limit := range []int{0, -1, review.MaxListLimit + 1} {
		_, err := s.Jobs(context.Background(), limit)
		require.Error(t, err)
	}
}
