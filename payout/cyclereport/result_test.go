package cyclereport_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/payout/cyclereport"
	market "github.com/payrun/payrun/testsupport/simulated"
)

// result.json streams its accounts, and its bytes are exactly those of
// the whole Result marshalled at once (what it was before it streamed),
// for every cycle of a simulated marketplace: returns, PayPal items, held
// and carried publishers, and an empty cycle's array.
func TestWriteResultStreamsTheSameBytes(t *testing.T) {
	s := market.Marketplace(t, 9, 40, 3)
	ctx := context.Background()
	var months []time.Time
	require.NoError(t, s.DB.Select(&months, `SELECT month FROM cycles ORDER BY month`))
	require.NotEmpty(t, months)
	out := t.TempDir()
	for _, m := range months {
		month := m.UTC()
		require.NoError(t, db.WithPgx(ctx, s.DB, func(conn *pgx.Conn) error {
			path, err := cyclereport.WriteResult(ctx, conn, out, month)
			require.NoError(t, err)
			streamed, err := os.ReadFile(path)
			require.NoError(t, err)
			r, err := cyclereport.ReadResult(ctx, conn, month)
			require.NoError(t, err)
			whole, err := json.MarshalIndent(r, "", "  ")
			require.NoError(t, err)
			require.Equal(t, string(append(whole, '\n')), string(streamed), month)
			return nil
		}))
	}
}
