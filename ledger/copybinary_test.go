package ledger

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/internal/db"
	"github.com/payrun/payrun/internal/money"
	"github.com/payrun/payrun/internal/pgbinary"
	"github.com/payrun/payrun/testsupport/dbtest"
)

// Whatever valid amount and instant the import sends in binary, Postgres
// stores exactly that value.
func TestBinaryCopyRoundTrips(t *testing.T) {
	t.Parallel()
	database := dbtest.New(t)
	ctx := context.Background()
	var amounts []string
	var instants []time.Time
	rapid.Check(t, func(t *rapid.T) {
		whole := rapid.Int64Range(0, 99_999_999_999_999).Draw(t, "whole")
		decimals := rapid.IntRange(0, 6).Draw(t, "decimals")
		text := fmt.Sprint(whole)
		if decimals > 0 {
			text += "." + fmt.Sprintf("%0*d", decimals, rapid.Int64Range(0, pow10(decimals)-1).Draw(t, "fraction"))
		}
		if rapid.Bool().Draw(t, "negative") {
			text = "-" + text
		}
		amounts = append(amounts, text)
		instants = append(instants, time.UnixMicro(rapid.Int64Range(946684800000000, 4102444800000000).Draw(t, "micros")).UTC())
	})
	amounts = append(amounts, "0", "0.000000", "-0.000001", "10000", "99999999999999.999999", "0.0001", "1.00010000")
	for len(instants) < len(amounts) {
		instants = append(instants, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	err := db.WithPgx(ctx, database, func(conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `CREATE TEMP TABLE roundtrip (i int8, amount numeric(20, 6), at timestamptz)`); err != nil {
			return err
		}
		var body bytes.Buffer
		body.Write(pgbinary.Header)
		for i, a := range amounts {
			buf := pgbinary.AppendTupleStart(nil, 3)
			buf = pgbinary.AppendInt8(buf, int64(i))
			buf = pgbinary.AppendNumericText(buf, a, money.LedgerScale)
			buf = pgbinary.AppendTimestamptz(buf, instants[i])
			body.Write(buf)
		}
		body.Write(pgbinary.Trailer)
		if _, err := conn.PgConn().CopyFrom(ctx, &body, "COPY roundtrip FROM STDIN (FORMAT binary)"); err != nil {
			return err
		}
		rows, err := conn.Query(ctx, `SELECT i, amount::text, at FROM roundtrip ORDER BY i`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int
			var stored string
			var at time.Time
			if err := rows.Scan(&i, &stored, &at); err != nil {
				return err
			}
			require.True(t, decimal.RequireFromString(amounts[i]).Equal(decimal.RequireFromString(stored)), "%s stored as %s", amounts[i], stored)
			require.True(t, instants[i].Equal(at), "%s stored as %s", instants[i], at)
		}
		return rows.Err()
	})
	require.NoError(t, err)
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
