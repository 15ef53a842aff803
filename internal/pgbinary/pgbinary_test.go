package pgbinary

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/payrun/payrun/internal/config"
)

// decodeNumeric reads one field written by AppendDecimal or
// AppendNumericText back with pgx's own binary NUMERIC decoder.
func decodeNumeric(t require.TestingT, field []byte) (decimal.Decimal, int) {
	size := int(binary.BigEndian.Uint32(field))
	require.Equal(t, len(field)-4, size, "field length")
	var n pgtype.Numeric
	require.NoError(t, pgtype.NewMap().Scan(pgtype.NumericOID, pgx.BinaryFormatCode, field[4:], &n))
	dscale := int(binary.BigEndian.Uint16(field[10:12]))
	return decimal.NewFromBigInt(n.Int, n.Exp), dscale
}

func drawDecimal(t *rapid.T) decimal.Decimal {
	if rapid.Bool().Draw(t, "big") {
		// Beyond int64: the big.Int path.
		text := rapid.StringMatching(`-?[1-9][0-9]{18,30}`).Draw(t, "coefficient")
		return decimal.RequireFromString(text).Shift(-int32(rapid.IntRange(0, 12).Draw(t, "scale")))
	}
	return decimal.New(rapid.Int64().Draw(t, "coefficient"), int32(rapid.IntRange(-20, 6).Draw(t, "exp")))
}

// Any decimal comes back exactly, with the display scale its decimals need
// (numeric_recv truncates to the display scale before the typmod rounds).
func TestAppendDecimalIsExact(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		d := drawDecimal(t)
		got, dscale := decodeNumeric(t, AppendDecimal(nil, d))
		require.True(t, got.Equal(d), "%s decoded as %s", d, got)
		require.Equal(t, max(0, -int(d.Exponent())), dscale, "display scale of %s", d)
	})
	for _, text := range []string{"0", "-0", "0.000000", "1", "-1", "10000", "9999", "0.0001", "0.00001", "-0.000001", "12.5",
		"99999999999999.999999", "123456789012345678901234567890.123456789", "1E+8", "-5E+3"} {
		d := decimal.RequireFromString(text)
		got, _ := decodeNumeric(t, AppendDecimal(nil, d))
		require.True(t, got.Equal(d), "%s decoded as %s", text, got)
	}
}

// The import's amounts: validated plain decimals, display scale 6.
func TestAppendNumericText(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		text := rapid.StringMatching(`[-+]?(0|[1-9][0-9]{0,13})(\.[0-9]{1,6})?`).Draw(t, "amount")
		got, dscale := decodeNumeric(t, AppendNumericText(nil, text, 6))
		require.True(t, got.Equal(decimal.RequireFromString(text)), "%s decoded as %s", text, got)
		require.Equal(t, 6, dscale)
	})
}

// The Reader gives the same bytes however it is read, and ends with the
// trailer; an error from the source ends the data without one.
func TestReader(t *testing.T) {
	t.Parallel()
	rows := 10_000
	source := func() func(buf []byte) ([]byte, error) {
		i := 0
		return func(buf []byte) ([]byte, error) {
			if i == rows {
				return buf, io.EOF
			}
			i++
			buf = AppendTupleStart(buf, 2)
			buf = AppendInt8(buf, int64(i))
			return AppendText(buf, fmt.Sprint("row ", i)), nil
		}
	}
	var want bytes.Buffer
	want.Write(Header)
	next := source()
	for {
		buf, err := next(nil)
		if err != nil {
			break
		}
		want.Write(buf)
	}
	want.Write(Trailer)
	all, err := io.ReadAll(Reader(source()))
	require.NoError(t, err)
	require.Equal(t, want.Bytes(), all)
	require.NoError(t, iotest.TestReader(Reader(source()), want.Bytes()))
	one, err := io.ReadAll(iotest.OneByteReader(Reader(source())))
	require.NoError(t, err)
	require.Equal(t, want.Bytes(), one)

	broken := fmt.Errorf("source failed")
	calls := 0
	data, err := io.ReadAll(Reader(func(buf []byte) ([]byte, error) {
		if calls++; calls > 3 {
			return buf, broken
		}
		return AppendInt8(AppendTupleStart(buf, 1), 7), nil
	}))
	require.ErrorIs(t, err, broken)
	require.False(t, bytes.HasSuffix(data, Trailer))
}

// exact is d's text with every decimal it carries (String drops trailing
// zeros, and with them the display scale of an unconstrained numeric).
func exact(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

// Every type, through Postgres: what payrun sends is what it stores.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	url := config.DatabaseURL()
	if url == "" {
		t.Fatal("no test database: run `make db` (starts a private Postgres under .data/) or set DATABASE_URL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE TEMP TABLE roundtrip (i int8, n int4, b bool, t text, a text[], j jsonb, d date, at timestamptz,
		amount numeric(20, 6), rate numeric(6, 4), cents numeric(20, 2), plain numeric)`)
	require.NoError(t, err)
	type row struct {
		amount, rate, cents, plain decimal.Decimal
		text                       []string
	}
	var rows []row
	rapid.Check(t, func(t *rapid.T) {
		rows = append(rows, row{
			amount: decimal.New(rapid.Int64Range(-99_999_999_999_999_999, 99_999_999_999_999_999).Draw(t, "amount"), -6),
			rate:   decimal.New(rapid.Int64Range(0, 10_000).Draw(t, "rate"), -4),
			cents:  decimal.New(rapid.Int64Range(-1e15, 1e15).Draw(t, "cents"), int32(rapid.IntRange(-2, 0).Draw(t, "exp"))),
			plain:  drawDecimal(t),
			text:   rapid.SliceOfN(rapid.StringMatching(`[a-z_ ,{}"\\é]{0,12}`), 0, 4).Draw(t, "text"),
		})
	})
	// Values the typmod rounds (half away from zero, as for any client).
	rounded := []string{"0.12345", "0.00005", "-0.00005", "0.99995"}
	for _, r := range rounded {
		rows = append(rows, row{amount: decimal.RequireFromString(r), rate: decimal.RequireFromString(r),
			cents: decimal.RequireFromString(r), plain: decimal.RequireFromString(r)})
	}
	at := time.Date(2026, 12, 5, 6, 0, 0, 123456789, time.UTC)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("east", 10*3600))
	i := 0
	count, err := Copy(ctx, conn.PgConn(), "roundtrip", []string{"i", "n", "b", "t", "a", "j", "d", "at", "amount", "rate", "cents", "plain"},
		Reader(func(buf []byte) ([]byte, error) {
			if i == len(rows) {
				return buf, io.EOF
			}
			r := rows[i]
			buf = AppendTupleStart(buf, 12)
			buf = AppendInt8(buf, int64(i))
			if i%7 == 0 {
				buf = AppendNull(buf)
			} else {
				buf = AppendInt4(buf, int32(-i))
			}
			buf = AppendBool(buf, i%2 == 0)
			buf = AppendText(buf, fmt.Sprintf("row %d é", i))
			buf = AppendTextArray(buf, r.text)
			buf = AppendJSONB(buf, []byte(`[{"at": "2026-12-01T00:00:00Z", "legal_name": "x"}]`))
			buf = AppendDate(buf, day)
			buf = AppendTimestamptz(buf, at)
			buf = AppendDecimal(buf, r.amount)
			buf = AppendDecimal(buf, r.rate)
			buf = AppendDecimal(buf, r.cents)
			buf = AppendDecimal(buf, r.plain)
			i++
			return buf, nil
		}))
	require.NoError(t, err)
	require.EqualValues(t, len(rows), count)

	// The reference: the same values sent by pgx's own encoder.
	_, err = conn.Exec(ctx, `CREATE TEMP TABLE reference (LIKE roundtrip)`)
	require.NoError(t, err)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"reference"}, []string{"i", "amount", "rate", "cents", "plain", "a"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			text := r.text
			if text == nil {
				text = []string{}
			}
			return []any{i, exact(r.amount), exact(r.rate), exact(r.cents), exact(r.plain), text}, nil
		}))
	require.NoError(t, err)
	var differ int
	var example string
	require.NoError(t, conn.QueryRow(ctx, `
		SELECT count(*), coalesce(min(concat_ws(' ', r.amount, f.amount, r.rate, f.rate, r.cents, f.cents, r.plain, f.plain, r.a, f.a)), '')
		FROM roundtrip r JOIN reference f USING (i)
		WHERE r.amount::text IS DISTINCT FROM f.amount::text OR r.rate::text IS DISTINCT FROM f.rate::text
		   OR r.cents::text IS DISTINCT FROM f.cents::text OR r.plain::text IS DISTINCT FROM f.plain::text OR r.a IS DISTINCT FROM f.a`).Scan(&differ, &example))
	require.Zero(t, differ, "rows that differ from pgx's encoding, e.g. %s", example)

	var n pgtype.Int4
	var b bool
	var text string
	var j string
	var d, stored time.Time
	require.NoError(t, conn.QueryRow(ctx, `SELECT n, b, t, j::text, d, at FROM roundtrip WHERE i = 3`).Scan(&n, &b, &text, &j, &d, &stored))
	require.Equal(t, pgtype.Int4{Int32: -3, Valid: true}, n)
	require.False(t, b)
	require.Equal(t, "row 3 é", text)
	require.Equal(t, `[{"at": "2026-12-01T00:00:00Z", "legal_name": "x"}]`, j)
	require.Equal(t, "2026-12-01", d.Format(time.DateOnly))
	require.True(t, at.Truncate(time.Microsecond).Equal(stored), "%s stored as %s", at, stored)
	require.NoError(t, conn.QueryRow(ctx, `SELECT n FROM roundtrip WHERE i = 7`).Scan(&n))
	require.False(t, n.Valid)
}
