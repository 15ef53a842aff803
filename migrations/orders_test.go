package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/migrations"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// 200 keeps a closed cycle's amount sorts (payout/review): blocks of ranks
// whose ids and codes go together, under a header that names the codes'
// bits, both append-only; rolled back, both tables are gone, and applied
// again they come back.
func TestCycleReviewOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	database := dbtest.Open(t, url)
	_, err := migrations.UpTo(ctx, database.DB, 190)
	require.NoError(t, err)
	_, err = migrations.Up(ctx, database.DB)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	_, err = database.Exec(`
		INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES ('2026-11-01', 'closed', '2026-11-01', '2026-11-16', '{}', 'test');
		INSERT INTO cycle_breakdowns (month, payouts, figures, computed_at) VALUES ('2026-11-01', 3, '{}', '2026-12-01');
		INSERT INTO cycle_review_orders (month, payouts, block_size, bits, computed_at)
		VALUES ('2026-11-01', 3, 2, '{status:held,status:paid}', '2026-12-01')`)
	require.NoError(t, err)
	exec := func(statement string, args ...any) error {
		_, err := database.Exec(statement, args...)
		return err
	}
	block := `INSERT INTO cycle_review_order_blocks (month, sort, first_rank, account_ids, codes, summary) VALUES ('2026-11-01', $1, $2, $3, $4, 3)`
	require.NoError(t, exec(block, "paid", 1, []int64{7, 8}, []int64{1, 2}))
	require.NoError(t, exec(block, "paid", 3, []int64{9}, []int64{2}))
	for name, row := range map[string][]any{
		"an unknown sort":          {"name", 5, []int64{1}, []int64{1}},
		"no rank 0":                {"balance", 0, []int64{1}, []int64{1}},
		"a code for every id":      {"balance", 1, []int64{1, 2}, []int64{1}},
		"no empty block":           {"balance", 1, []int64{}, []int64{}},
		"one block per first rank": {"paid", 3, []int64{4}, []int64{1}},
	} {
		require.Error(t, exec(block, row...), name)
	}
	require.Error(t, exec(`INSERT INTO cycles (month, state, cutoff, payment_date, policy, treaty_sha256) VALUES ('2026-12-01', 'closed', '2026-12-01', '2026-12-16', '{}', 'test');
		INSERT INTO cycle_breakdowns (month, payouts, figures, computed_at) VALUES ('2026-12-01', 0, '{}', '2026-12-01');
		INSERT INTO cycle_review_orders (month, payouts, block_size, bits, computed_at)
		VALUES ('2026-12-01', 0, 1024, array_fill('x'::text, ARRAY[64]), '2027-01-01')`), "a code has 63 bits")
	require.Error(t, exec(`UPDATE cycle_review_order_blocks SET summary = 0`), "append-only")
	require.Error(t, exec(`DELETE FROM cycle_review_orders`), "append-only")

	_, err = migrations.DownTo(ctx, database.DB, 190)
	require.NoError(t, err)
	database = dbtest.Open(t, url)
	var tables int
	require.NoError(t, database.Get(&tables, `SELECT count(*) FROM pg_tables WHERE tablename LIKE 'cycle_review_order%'`))
	require.Zero(t, tables)
	_, err = migrations.Up(ctx, database.DB)
	require.NoError(t, err)
}
