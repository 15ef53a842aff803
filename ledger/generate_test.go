package ledger_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/ledger"
)

func TestGenerateIsDeterministicAndRealistic(t *testing.T) {
	t.Parallel()
	opts := ledger.GenerateOptions{Seed: 42, Publishers: 1000, Lines: 50_000, Month: time.Date(2026, 10, 17, 0, 0, 0, 0, time.UTC)}
	generate := func(o ledger.GenerateOptions) (string, string) {
		var accounts, earnings bytes.Buffer
		require.NoError(t, ledger.GenerateAccounts(&accounts, o))
		require.NoError(t, ledger.GenerateEarnings(&earnings, o))
		return accounts.String(), earnings.String()
	}
	accounts1, earnings1 := generate(opts)
	accounts2, earnings2 := generate(opts)
	require.Equal(t, accounts1, accounts2, "same seed, same accounts")
	require.Equal(t, earnings1, earnings2, "same seed, same earnings")
	other := opts
	other.Seed = 43
	_, earnings3 := generate(other)
	require.NotEqual(t, earnings1, earnings3)

	records, err := csv.NewReader(strings.NewReader(earnings1)).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 50_001)
	markets, sources, countries := map[string]int{}, map[string]bool{}, map[string]bool{}
	var us, undo, subCent int
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range records[1:] {
		markets[r[4]]++
		sources[r[2]] = true
		if r[4] == "US" {
			us++
		}
		if r[3] == "refund" || r[3] == "chargeback" || r[3] == "reversal" {
			undo++
		}
		amount := decimal.RequireFromString(r[6])
		if !amount.Equal(amount.Truncate(2)) {
			subCent++
		}
		at, err := time.Parse(time.RFC3339, r[5])
		require.NoError(t, err)
		require.False(t, at.Before(start) || !at.Before(start.AddDate(0, 1, 0)), "transaction_at %s outside the month", at)
	}
	require.InDelta(t, 0.40, float64(us)/50_000, 0.02, "about 40%% US-sourced")
	require.GreaterOrEqual(t, len(markets)-1, 15, "15+ markets besides the US")
	require.Len(t, sources, 5)
	require.InDelta(t, 0.02, float64(undo)/50_000, 0.005, "about 2%% refunds")
	require.Greater(t, subCent, 5_000, "sub-cent amounts")

	accountRecords, err := csv.NewReader(strings.NewReader(accounts1)).ReadAll()
	require.NoError(t, err)
	require.Len(t, accountRecords, 1001)
	for _, r := range accountRecords[1:] {
		countries[r[2]] = true
	}
	require.GreaterOrEqual(t, len(countries), 10)
}
