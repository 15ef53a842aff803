package review_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/review"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// expectedRow is a payouts row as the test reads it, to filter and sort
// in Go: the oracle the pages are compared with.
type expectedRow struct {
	AccountID                        int64
	SellerID, Name, Country, Status  string
	Reasons                          string
	Method, Currency                 string
	Balance, Paid, Withheld, Carried decimal.Decimal
}

func monthRows(t *testing.T, database *sqlx.DB, month time.Time) []expectedRow {
	t.Helper()
	var rows []expectedRow
	require.NoError(t, database.Select(&rows, `
		SELECT a.id AS accountid, a.seller_id AS sellerid, a.display_name AS name, a.registration_country AS country,
		       p.status, array_to_string(p.reasons, ',') AS reasons, coalesce(p.method, '') AS method,
		       coalesce(p.currency, '') AS currency, p.balance_us + p.balance_other AS balance, p.paid_usd AS paid,
		       p.withheld, p.carried_us + p.carried_other AS carried
		FROM payouts p JOIN accounts a ON a.id = p.account_id WHERE p.month = $1`, month))
	return rows
}

// matches is the filter's meaning, written again without SQL.
func matches(f review.Filter, r expectedRow) bool {
	q := strings.TrimSpace(f.Query)
	return (f.Status == "" || r.Status == f.Status) &&
		(f.Reason == "" || contains(strings.Split(r.Reasons, ","), f.Reason)) &&
		(f.Method == "" || r.Method == f.Method) &&
		(f.Currency == "" || r.Currency == f.Currency) &&
		(f.Country == "" || r.Country == f.Country) &&
		(q == "" || strings.EqualFold(r.SellerID, q) || strings.HasPrefix(strings.ToLower(r.Name), strings.ToLower(q)))
}

func contains(list []string, value string) bool {
	for _, v := range list {
		if v == value {
			return true
		}
	}
	return false
}

func sortKey(sortName string, r expectedRow) decimal.Decimal {
	switch sortName {
	case review.SortBalance:
		return r.Balance
	case review.SortPaid:
		return r.Paid
	case review.SortWithheld:
		return r.Withheld
	case review.SortCarried:
		return r.Carried
	}
	return decimal.Zero
}

// expected lists the seller ids f matches, in f's order.
func expected(rows []expectedRow, f review.Filter) []string {
	var out []expectedRow
	for _, r := range rows {
		if matches(f, r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if f.Desc {
			a, b = b, a
		}
		if f.Sort == "" || f.Sort == review.SortSeller {
			return a.SellerID < b.SellerID
		}
		if c := sortKey(f.Sort, a).Cmp(sortKey(f.Sort, b)); c != 0 {
			return c < 0
		}
		return a.AccountID < b.AccountID
	})
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.SellerID
	}
	return ids
}

// walk reads every page of f and returns the seller ids in page order,
// checking each page's size and that only the last has no Next.
func walk(t *testing.T, s *review.Service, month time.Time, f review.Filter) []string {
	t.Helper()
	ctx := context.Background()
	limit := f.Limit
	if limit == 0 {
		limit = review.DefaultLimit
	}
	ids := []string{}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10_000, "the pages never end")
		page, err := s.Publishers(ctx, month, f)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Rows), limit)
		for _, row := range page.Rows {
			ids = append(ids, row.SellerID)
			require.True(t, matches(f, expectedRow{SellerID: row.SellerID, Name: row.Name, Country: row.Country, Status: row.Status,
				Reasons: strings.Join(row.Reasons, ","), Method: row.Method, Currency: row.Currency}), "row %s does not match %+v", row.SellerID, f)
		}
		if page.Next == "" {
			return ids
		}
		require.Len(t, page.Rows, limit, "a page before the last is full")
		f.After = page.Next
	}
}

// A generated 3,000-publisher cycle, every filter alone and some
// together, in every sort order both ways: walking the pages gives
// exactly the rows the filter matches (compared with the oracle and with
// a SQL count), in order across the page boundaries; rare values (keyed)
// and common ones (walked) alike.
func TestPublishersEveryFilterEveryPage(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 3000)
	s := &review.Service{DB: database}
	ctx := context.Background()
	month := generatedMonth

	_, err := s.Breakdown(ctx, month)
	require.NoError(t, err)
	var keyed []string
	require.NoError(t, database.Select(&keyed, `SELECT DISTINCT dimension || ':' || value FROM cycle_review_keys ORDER BY 1`))
	for _, value := range []string{"currency:ISK", "currency:CHF", "currency:JPY", "reason:agreement_not_accepted", "reason:amount_over_rail_limit",
		"reason:no_payout_account"} {
		require.Contains(t, keyed, value, "a value under 1 in %d rows is keyed", review.RareOneIn)
	}
	for _, value := range []string{"status:paid", "status:carried", "currency:USD", "currency:EUR", "reason:below_threshold", "method:bank", "method:paypal"} {
		require.NotContains(t, keyed, value, "a common value is walked")
	}

	rows := monthRows(t, database, month)
	require.Len(t, rows, 3000)
	var sampleSeller, sampleName string
	for _, r := range rows {
		if r.Country == "DE" && r.Status == "held" {
			sampleSeller, sampleName = r.SellerID, r.Name
			break
		}
	}
	filters := []review.Filter{{}}
	for _, status := range []string{"paid", "held", "carried"} {
		filters = append(filters, review.Filter{Status: status})
	}
	for _, reason := range payout.Reasons {
		filters = append(filters, review.Filter{Reason: string(reason)})
	}
	for _, method := range []string{"bank", "paypal"} {
		filters = append(filters, review.Filter{Method: method})
	}
	for _, currency := range []string{"USD", "EUR", "JPY", "INR", "CHF", "ISK", "SEK"} {
		filters = append(filters, review.Filter{Currency: currency})
	}
	for _, country := range []string{"US", "DE", "IS", "FI"} {
		filters = append(filters, review.Filter{Country: country})
	}
	filters = append(filters,
		review.Filter{Query: strings.ToLower(sampleSeller)},                   // a seller id, any case
		review.Filter{Query: "  " + sampleSeller + " "},                       // pasted with spaces
		review.Filter{Query: "acme"},                                          // a name's first word
		review.Filter{Query: strings.ToUpper(sampleName[:len(sampleName)-1])}, // most of a name, upper case
		review.Filter{Query: "Acme%"},                                         // a wildcard is a character
		review.Filter{Query: "zz-nobody"},
		review.Filter{Status: "held", Currency: "EUR"},
		review.Filter{Status: "paid", Currency: "ISK", Method: "paypal"},
		review.Filter{Reason: "tax_profile_missing", Country: "DE"},
		review.Filter{Reason: "agreement_not_accepted", Query: "a"},
		review.Filter{Status: "carried", Country: "IS"},
	)
	orders := []review.Filter{{}, {Desc: true}, {Sort: review.SortBalance, Desc: true}, {Sort: review.SortPaid},
		{Sort: review.SortWithheld, Desc: true}, {Sort: review.SortCarried}}
	for _, f := range filters {
		var count int
		countSQL, args := sqlCount(f)
		require.NoError(t, database.Get(&count, countSQL, append([]any{month}, args...)...))
		for i, order := range orders {
			f := f
			f.Sort, f.Desc = order.Sort, order.Desc
			// Small pages for the default order (many boundaries), larger
			// ones for the others (the oracle is the same).
			f.Limit = 37
			if i > 1 {
				f.Limit = 173
			}
			want := expected(rows, f)
			got := walk(t, s, month, f)
			require.Equal(t, want, got, "filter %+v", f)
			require.Len(t, got, count, "filter %+v against SQL", f)
		}
	}
}

// sqlCount is a filter as a plain SQL count over the month, the second
// oracle.
func sqlCount(f review.Filter) (string, []any) {
	where := []string{"p.month = $1"}
	var args []any
	add := func(condition string, value any) {
		args = append(args, value)
		where = append(where, fmt.Sprintf(condition, len(args)+1))
	}
	if f.Status != "" {
		add("p.status = $%d", f.Status)
	}
	if f.Reason != "" {
		add("$%d = ANY (p.reasons)", f.Reason)
	}
	if f.Method != "" {
		add("p.method = $%d", f.Method)
	}
	if f.Currency != "" {
		add("p.currency = $%d", f.Currency)
	}
	if f.Country != "" {
		add("a.registration_country = $%d", f.Country)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		add("(upper(a.seller_id) = upper($%[1]d) OR starts_with(upper(a.display_name), upper($%[1]d)))", q)
	}
	return "SELECT count(*) FROM payouts p JOIN accounts a ON a.id = p.account_id WHERE " + strings.Join(where, " AND "), args
}

// Bad filters are field errors at the field's path and read nothing; a
// value no row has is an empty last page.
func TestPublishersRefusesBadFiltersAndAnswersEmpty(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 200)
	s := &review.Service{DB: database}
	ctx := context.Background()

	bad := map[string]review.Filter{
		"status":   {Status: "returned"},
		"reason":   {Reason: "held"},
		"method":   {Method: "ach"},
		"currency": {Currency: "usd"},
		"country":  {Country: "UK"},
		"q":        {Query: "a\tb"},
		"sort":     {Sort: "name"},
		"cursor":   {After: "AAAA"},
		"limit":    {Limit: 201},
	}
	for path, f := range bad {
		_, err := s.Publishers(ctx, generatedMonth, f)
		fields := fielderr.All(err)
		require.Len(t, fields, 1, "%s: %v", path, err)
		require.Equal(t, path, fields[0].Path)
	}
	var stored int
	require.NoError(t, database.Get(&stored, `SELECT count(*) FROM cycle_breakdowns`))
	require.Zero(t, stored, "a refused filter reads nothing")
	for path, f := range bad {
		var out bytes.Buffer
		_, err := s.ExportPublishers(ctx, generatedMonth, f, &out)
		if path == "cursor" || path == "limit" {
			require.NoError(t, err, "the export ignores After and Limit")
			continue
		}
		require.Equal(t, path, fielderr.All(err)[0].Path, "the export checks the same filter")
		require.Zero(t, out.Len(), "a refused export writes nothing")
	}

	// A cursor of one sort order given to another is refused, not misread.
	first, err := s.Publishers(ctx, generatedMonth, review.Filter{Limit: 5})
	require.NoError(t, err)
	require.NotEmpty(t, first.Next)
	_, err = s.Publishers(ctx, generatedMonth, review.Filter{Limit: 5, Sort: review.SortPaid, After: first.Next})
	require.Equal(t, "cursor", fielderr.All(err)[0].Path)

	for _, f := range []review.Filter{{Currency: "SEK"}, {Country: "FI"}, {Query: "nobody"}} {
		page, err := s.Publishers(ctx, generatedMonth, f)
		require.NoError(t, err)
		require.Empty(t, page.Rows)
		require.Empty(t, page.Next)
		require.NotNil(t, page.Rows, "an empty page has an empty list")
	}
	// A month without a cycle, and an open one, have no rows.
	_, err = database.Exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256)
		VALUES ('2026-12-01', 'open', '2026-12-01T00:00:00Z', '2026-12-15', '{}', repeat('0', 64))`)
	require.NoError(t, err)
	for _, month := range []time.Time{generatedMonth.AddDate(0, 1, 0), generatedMonth.AddDate(1, 0, 0)} {
		page, err := s.Publishers(ctx, month, review.Filter{})
		require.NoError(t, err)
		require.Empty(t, page.Rows)
		breakdown, err := s.Breakdown(ctx, month)
		require.NoError(t, err)
		require.Empty(t, breakdown.ByReason)
		require.Empty(t, breakdown.ByCountry)
	}
	require.NoError(t, database.Get(&stored, `SELECT count(*) FROM cycle_breakdowns WHERE month <> '2026-11-01'`))
	require.Zero(t, stored, "nothing is stored for a cycle that is not closed")
}

// The export writes exactly the rows the filter matches, in the pages'
// order, with a header; amounts at their columns' scale.
func TestExportPublishersWritesEveryMatchingRow(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	generateCycle(t, database, 1500)
	s := &review.Service{DB: database}
	ctx := context.Background()
	rows := monthRows(t, database, generatedMonth)
	for _, f := range []review.Filter{{}, {Status: "held", Sort: review.SortBalance, Desc: true}, {Currency: "CHF"},
		{Country: "DE", Method: "paypal", Sort: review.SortPaid}, {Query: "zz-nobody"}, {Limit: 3, After: "ignored"}} {
		var out bytes.Buffer
		written, err := s.ExportPublishers(ctx, generatedMonth, f, &out)
		require.NoError(t, err, "%+v", f)
		records, err := csv.NewReader(&out).ReadAll()
		require.NoError(t, err)
		require.Equal(t, review.ExportColumns, records[0])
		f.After, f.Limit = "", 0
		want := expected(rows, f)
		require.EqualValues(t, len(want), written)
		require.Len(t, records, len(want)+1)
		for i, record := range records[1:] {
			require.Equal(t, want[i], record[0])
			require.Regexp(t, `^-?[0-9]+\.[0-9]{6}$`, record[5], "balance")
			require.Regexp(t, `^[0-9]+\.[0-9]{2}$`, record[8], "paid")
		}
		if f.Status == "" && f.Currency == "" && f.Country == "" && f.Query == "" {
			require.Len(t, want, 1500)
		}
	}
}
