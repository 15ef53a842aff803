package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// TestPostedSumsOneKindByReferencePrefix: Posted sums per ledger account
// what one kind of transaction with a reference prefix posted, and nothing
// of another kind or another prefix.
func TestPostedSumsOneKindByReferencePrefix(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 5, 6, 0, 0, 0, time.UTC)
	d := decimal.RequireFromString
	entry := func(kind, reference string, inTransit, withheld string) ledger.Transaction {
		total := d(inTransit).Add(d(withheld))
		return ledger.Transaction{Kind: kind, Reference: reference, PostedAt: at, Postings: []ledger.Posting{
			{LedgerAccount: "publisher:1:other", Amount: total.Neg()},
			{LedgerAccount: "payments:in_transit", Amount: d(inTransit)},
			{LedgerAccount: "tax:us_withholding", Amount: d(withheld)},
		}}
	}
	require.NoError(t, db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		return db.PgxTx(ctx, conn, func(tx pgx.Tx) error {
			for _, e := range []ledger.Transaction{
				entry("payout", "2026-11:1", "70.00", "30.00"),
				entry("payout", "2026-11:2001", "5.25", "0"),
				entry("payout", "2026-12:1", "999", "1"), // another month
				entry("return", "2026-11:9", "-8", "0"),  // another kind
			} {
				if _, err := ledger.Post(ctx, tx, e); err != nil {
					return err
				}
			}
			sums, err := ledger.Posted(ctx, tx, "payout", "2026-11:", "payments:in_transit", "tax:us_withholding", "nowhere")
			require.NoError(t, err)
			require.Len(t, sums, 3)
			require.True(t, sums[0].Equal(d("75.25")), sums[0].String())
			require.True(t, sums[1].Equal(d("30")), sums[1].String())
			require.True(t, sums[2].IsZero())
			return nil
		})
	}))
}
