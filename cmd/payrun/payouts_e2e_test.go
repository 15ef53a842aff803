package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/payout"
	"github.com/payrun/payrun/payout/publisher"
	"github.com/payrun/payrun/testsupport/dbtest"
	"github.com/payrun/payrun/testsupport/fixture"
)

// `payrun payouts` on a released cycle: US1 was paid (and has a line for
// the next cycle), HOLD was held for its missing tax form. The summary
// says why and what to do, the tables list the payment and the lines, and
// every bad flag is a usage error naming it.
func TestPayoutsCommands(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	w := fixture.On(t, dbtest.Open(t, url))
	w.Set("2026-09-15T00:00:00Z")
	w.Publisher("US1", fixture.Publisher{})
	w.Publisher("HOLD", fixture.Publisher{Country: "GB", NoTax: true})
	w.Publisher("DE1", fixture.Publisher{Country: "DE"})
	w.Set("2026-10-10T00:00:00Z")
	w.Earn("US1", "US", "120.50", "2026-10-20T00:00:00Z")
	w.Earn("US1", "GB", "30.00", "2026-10-25T00:00:00Z")
	w.Earn("HOLD", "GB", "80.00", "2026-10-20T00:00:00Z")
	w.Earn("DE1", "US", "100.00", "2026-10-20T00:00:00Z")
	w.Set("2026-11-10T00:00:00Z")
	w.Earn("US1", "US", "60.00", "2026-11-12T00:00:00Z")
	w.Earn("DE1", "US", "100.00", "2026-11-12T00:00:00Z")

	out := t.TempDir()
	env := func(now string) []string { return append(devEnv(url), "PAYRUN_OUT="+out, "PAYRUN_NOW="+now) }
	r := payrunEnv(t, env("2026-11-05T06:00:00Z"), "cycle", "close", "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	rates := filepath.Join(t.TempDir(), "rates.csv")
	require.NoError(t, os.WriteFile(rates, []byte("currency,rate,date,source\nEUR,0.9234,2026-11-04,ECB\n"), 0o600))
	r = payrunEnv(t, env("2026-11-05T07:00:00Z"), "fx", "import", rates, "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	r = payrunEnv(t, env("2026-11-06T09:00:00Z"), "cycle", "release", "--month", "2026-11")
	require.Zero(t, r.code, r.stderr)
	now := env("2026-11-20T00:00:00Z")

	// The held publisher: the reason, its remedy and the estimate.
	r = payrunEnv(t, now, "payouts", "summary", "--seller", "HOLD")
	require.Zero(t, r.code, r.stderr)
	for _, says := range []string{
		"payouts of HOLD as of 2026-11-20T00:00:",
		"balance                80.00  USD, reconciled with the ledger\n",
		"\n  held                 80.00  cycle 2026-11 held it:\n" +
			"                              - tax_profile_missing: " + payout.TaxProfileMissing.Remedy() + "\n",
		"\nnext payment   cycle 2026-12: held\n" +
			"                              - tax_profile_missing: " + payout.TaxProfileMissing.Remedy() + "\n",
		"\n  payable              80.00  USD (threshold 50.00), by bank\n",
		"\n  payment date    2026-12-15  (cutoff 2026-12-01T00:00:00Z)\n",
	} {
		require.Contains(t, r.stdout, says)
	}
	t.Logf("payrun payouts summary --seller HOLD\n%s", r.stdout)

	r = payrunEnv(t, now, "payouts", "summary", "--seller", "US1", "--json")
	require.Zero(t, r.code, r.stderr)
	var summary publisher.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &summary), r.stdout)
	require.True(t, summary.Reconciled)
	require.Equal(t, "60.00", summary.Upcoming.Amount)
	require.Equal(t, "150.50", summary.InTransit.Amount)
	require.Equal(t, "paid", summary.NextPayment.Status)
	require.Equal(t, "60.00", summary.NextPayment.PayableUSD)
	r = payrunEnv(t, now, "payouts", "summary", "--seller", "US1")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "\nnext payment   cycle 2026-12: paid\n")
	require.Contains(t, r.stdout, "\nin transit            150.50  1 payment released, not settled\n")
	require.Contains(t, r.stdout, "\n  upcoming             60.00  enters the next cycle (1 line available since 2026-11-01T00:00:00Z)\n")

	// A foreign publisher: the withholding and the payable amount in its
	// currency at the latest rate.
	r = payrunEnv(t, now, "payouts", "summary", "--seller", "DE1")
	require.Zero(t, r.code, r.stderr)
	t.Logf("payrun payouts summary --seller DE1\n%s", r.stdout)
	require.Contains(t, r.stdout, "\n  withheld             30.00  at 0.3000")
	require.Contains(t, r.stdout, "\n  payable              70.00  USD (threshold 50.00), by bank\n")
	require.Contains(t, r.stdout, "\n                       64.63  EUR at 0.9234 per USD\n")

	// Payments: an aligned table, the destination masked.
	r = payrunEnv(t, now, "payouts", "payments", "--seller", "US1")
	require.Zero(t, r.code, r.stderr)
	t.Logf("payrun payouts payments --seller US1\n%s", r.stdout)
	rows := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, rows, 2, r.stdout)
	require.Regexp(t, `^PAYMENT\s+CYCLE\s+DATE\s+METHOD\s+DESTINATION\s+USD\s+WITHHELD\s+RATE\s+AMOUNT\s+FX RATE\s+STATUS$`, rows[0])
	require.Regexp(t, `^P\d+\s+2026-11\s+2026-11-16\s+bank\s+\*{5}6789\s+150\.50\s+0\.00\s+0\.0000\s+150\.50 USD\s+1\s+sent$`, rows[1])
	require.Equal(t, strings.Index(rows[0], "USD"), strings.Index(rows[1], "150.50"), "columns line up")
	r = payrunEnv(t, now, "payouts", "payments", "--seller", "US1", "--status", "settled")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "no payments\n", r.stdout)
	r = payrunEnv(t, now, "payouts", "payments", "--seller", "US1", "--year", "2026", "--json")
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, `"destination": "*****6789"`)

	// Transactions: states, the payment that paid them, cursor pages.
	r = payrunEnv(t, now, "payouts", "transactions", "--seller", "US1")
	require.Zero(t, r.code, r.stderr)
	t.Logf("payrun payouts transactions --seller US1\n%s", r.stdout)
	rows = strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, rows, 4, r.stdout)
	require.Regexp(t, `^AVAILABLE\s+TRANSACTION\s+SOURCE\s+TYPE\s+MARKET\s+AMOUNT\s+STATE\s+CYCLE\s+PAYMENT\s+WITHHELD$`, rows[0])
	require.Regexp(t, `^2026-11-12\s+line-\d+\s+app\s+purchase\s+US\s+60\.00\s+upcoming\s+-\s+-\s+-$`, rows[1])
	require.Regexp(t, `^2026-10-25\s+line-\d+\s+app\s+purchase\s+GB\s+30\.00\s+sent\s+2026-11\s+P\d+\s+0\.00$`, rows[2])
	r = payrunEnv(t, now, "payouts", "transactions", "--seller", "US1", "--state", "sent", "--market", "US", "--type", "purchase",
		"--revenue-source", "app", "--from", "2026-10", "--to", "2026-10", "--limit", "1")
	require.Zero(t, r.code, r.stderr)
	require.Regexp(t, `(?m)^2026-10-20\s+line-\d+\s+app\s+purchase\s+US\s+120\.50\s+sent`, r.stdout)
	require.NotContains(t, r.stdout, "more: --cursor", "one line matches")
	r = payrunEnv(t, now, "payouts", "transactions", "--seller", "US1", "--limit", "2")
	require.Zero(t, r.code, r.stderr)
	cursor := regexp.MustCompile(`(?m)^more: --cursor (\S+)$`).FindStringSubmatch(r.stdout)
	require.NotNil(t, cursor, r.stdout)
	r = payrunEnv(t, now, "payouts", "transactions", "--seller", "US1", "--limit", "2", "--cursor", cursor[1], "--json")
	require.Zero(t, r.code, r.stderr)
	var page struct {
		Items      []publisher.Transaction `json:"items"`
		NextCursor string                  `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page), r.stdout)
	require.Len(t, page.Items, 1)
	require.Equal(t, "120.50", page.Items[0].Amount)
	require.Empty(t, page.NextCursor)

	// Bad flags: usage errors (exit 2) naming the flag; an unknown seller
	// is a failure (exit 1).
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"summary"}, "--seller is required"},
		{[]string{"payments", "--seller", "US1", "--status", "paid"}, "--status:"},
		{[]string{"payments", "--seller", "US1", "--year", "1999"}, "--year:"},
		{[]string{"payments", "--seller", "US1", "--year", "soon"}, `invalid argument "soon" for "--year"`},
		{[]string{"transactions", "--seller", "US1", "--state", "lost"}, "--state:"},
		{[]string{"transactions", "--seller", "US1", "--type", "gift"}, "--type:"},
		{[]string{"transactions", "--seller", "US1", "--revenue-source", "tv"}, "--revenue-source:"},
		{[]string{"transactions", "--seller", "US1", "--market", "us"}, "--market:"},
		{[]string{"transactions", "--seller", "US1", "--from", "2026-13"}, "--from:"},
		{[]string{"transactions", "--seller", "US1", "--from", "2026-05", "--to", "2026-03"}, "--to: 2026-03 is before from"},
		{[]string{"transactions", "--seller", "US1", "--from", "2024-01", "--to", "2026-01"}, "--to: 2024-01 to 2026-01 is more than 24 months"},
		{[]string{"transactions", "--seller", "US1", "--cursor", "nope!"}, "--cursor:"},
		{[]string{"transactions", "--seller", "US1", "--limit", "0"}, "--limit: 0 is outside 1..500"},
		{[]string{"transactions", "--seller", "US1", "--bogus"}, "unknown flag: --bogus"},
	} {
		r := payrunEnv(t, now, append([]string{"payouts"}, c.args...)...)
		require.Equal(t, 2, r.code, "payrun payouts %s: %s", strings.Join(c.args, " "), r.stderr)
		require.Contains(t, r.stderr, c.says, "payrun payouts %s", strings.Join(c.args, " "))
	}
	r = payrunEnv(t, now, "payouts", "summary", "--seller", "NOPE")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "unknown seller id: NOPE")
}
