// Package pgbinary writes COPY's binary format (PostgreSQL documentation,
// "COPY — Binary Format") for the bulk writes of the import and the close.
//
// Postgres then parses nothing — numbers, dates and timestamps arrive as
// their internal values — and payrun encodes each field with a few appends
// instead of a generic encoder: pgx's CopyFrom encodes a shopspring decimal
// through big.Int (~0.7 µs and several allocations per value), which was
// 0.65 s of Go time in a 100k-publisher close's payouts rows alone.
//
// Only the types payrun's bulk tables use are here. A tuple is
// AppendTupleStart followed by one Append per column, in the COPY's column
// order; Reader streams tuples between Header and Trailer, and Copy sends
// them.
package pgbinary

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
)

// Header is the signature, the flags field and the header extension length.
var Header = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// Trailer ends the data: a field count of -1.
var Trailer = []byte{0xff, 0xff}

// epochMicros is timestamptz's zero, 2000-01-01 00:00:00 UTC, in Unix
// microseconds; epochDays is date's zero in Unix days.
var (
	epochMicros = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	epochDays   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
)

// textOID is the type of text[]'s elements, which array_recv checks.
const textOID = 25

// AppendTupleStart starts a tuple of fields columns.
func AppendTupleStart(buf []byte, fields int) []byte {
	return binary.BigEndian.AppendUint16(buf, uint16(fields))
}

// AppendNull appends a NULL field.
func AppendNull(buf []byte) []byte {
	return binary.BigEndian.AppendUint32(buf, 0xffffffff)
}

// AppendInt8 appends a bigint.
func AppendInt8(buf []byte, v int64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(v))
}

// AppendInt4 appends an integer.
func AppendInt4(buf []byte, v int32) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 4)
	return binary.BigEndian.AppendUint32(buf, uint32(v))
}

// AppendBool appends a boolean.
func AppendBool(buf []byte, v bool) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 1)
	if v {
		return append(buf, 1)
	}
	return append(buf, 0)
}

// AppendText appends a text value (valid UTF-8, no NUL: Postgres checks).
func AppendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// AppendJSONB appends a jsonb value from its JSON text (Postgres parses it).
func AppendJSONB(buf []byte, json []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(1+len(json)))
	buf = append(buf, 1) // jsonb's binary format version
	return append(buf, json...)
}

// AppendTimestamptz appends an instant, to the microsecond (Postgres's
// precision: the nanoseconds below are dropped, as pgx drops them).
func AppendTimestamptz(buf []byte, t time.Time) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(t.UnixMicro()-epochMicros))
}

// AppendDate appends the calendar date of t in t's location (as pgx does).
func AppendDate(buf []byte, t time.Time) []byte {
	days := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()/86400 - epochDays
	buf = binary.BigEndian.AppendUint32(buf, 4)
	return binary.BigEndian.AppendUint32(buf, uint32(int32(days)))
}

// AppendTextArray appends a one-dimensional text[] without NULLs ('{}'
// when items is empty).
func AppendTextArray(buf []byte, items []string) []byte {
	size := 12
	if len(items) > 0 {
		size += 8
	}
	for _, item := range items {
		size += 4 + len(item)
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(size))
	if len(items) == 0 {
		buf = binary.BigEndian.AppendUint32(buf, 0) // dimensions
		buf = binary.BigEndian.AppendUint32(buf, 0) // no NULLs
		return binary.BigEndian.AppendUint32(buf, textOID)
	}
	buf = binary.BigEndian.AppendUint32(buf, 1)
	buf = binary.BigEndian.AppendUint32(buf, 0)
	buf = binary.BigEndian.AppendUint32(buf, textOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(items)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for _, item := range items {
		buf = AppendText(buf, item)
	}
	return buf
}

// numeric's sign words.
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
)

// AppendNumericText appends a plain decimal text ("-12.345678": an optional
// sign, digits, an optional point and at most dscale decimals; validated by
// the caller, see money.ParseAmount) as a NUMERIC of display scale dscale.
func AppendNumericText(buf []byte, text string, dscale int) []byte {
	negative := false
	switch {
	case strings.HasPrefix(text, "-"):
		negative, text = true, text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	whole, fraction, _ := strings.Cut(text, ".")
	return appendNumeric(buf, negative, whole, 0, 0, fraction, dscale)
}

// AppendDecimal appends d exactly as a NUMERIC, its display scale the
// number of decimals d carries: a column's typmod then rounds it as it would
// any other client's value (numeric_recv truncates only digits the display
// scale hides, and d hides none).
func AppendDecimal(buf []byte, d decimal.Decimal) []byte {
	var scratch [24]byte
	var digits []byte
	if d.NumDigits() <= 18 {
		digits = strconv.AppendInt(scratch[:0], d.CoefficientInt64(), 10)
	} else {
		digits = d.Coefficient().Append(scratch[:0], 10)
	}
	negative := digits[0] == '-'
	if negative {
		digits = digits[1:]
	}
	exp := int(d.Exponent())
	switch scale := -exp; {
	case exp >= 0: // an integer: the coefficient followed by exp zeros
		return appendNumeric(buf, negative, digits, exp, 0, nil, 0)
	case len(digits) <= scale: // below one: zeros after the point first
		return appendNumeric(buf, negative, nil, 0, scale-len(digits), digits, scale)
	default:
		cut := len(digits) - scale
		return appendNumeric(buf, negative, digits[:cut], 0, 0, digits[cut:], scale)
	}
}

// appendNumeric encodes a decimal number as a binary NUMERIC: its whole
// part is the digits of whole followed by wholeZeros zeros, its fraction
// fractionZeros zeros followed by the digits of fraction; display scale
// dscale (at least the fraction's length). Base-10000 digits around the
// decimal point, leading and trailing zero digits stripped.
func appendNumeric[T string | []byte](buf []byte, negative bool, whole T, wholeZeros, fractionZeros int, fraction T, dscale int) []byte {
	wholeLen, fractionLen := len(whole)+wholeZeros, fractionZeros+len(fraction)
	wholeGroups, fractionGroups := (wholeLen+3)/4, (fractionLen+3)/4
	var stack [16]uint16
	digits := stack[:0]
	// Each group of four digits is one base-10000 digit: the whole part is
	// padded with zeros on the left, the fraction on the right.
	pad := wholeGroups*4 - wholeLen
	for g := 0; g < wholeGroups; g++ {
		var d uint16
		for k := g*4 - pad; k < g*4+4-pad; k++ {
			d *= 10
			if k >= 0 && k < len(whole) {
				d += uint16(whole[k] - '0')
			}
		}
		digits = append(digits, d)
	}
	for g := 0; g < fractionGroups; g++ {
		var d uint16
		for k := g*4 - fractionZeros; k < g*4+4-fractionZeros; k++ {
			d *= 10
			if k >= 0 && k < len(fraction) {
				d += uint16(fraction[k] - '0')
			}
		}
		digits = append(digits, d)
	}
	weight := wholeGroups - 1
	start, end := 0, len(digits)
	for start < end && digits[start] == 0 {
		start++
		weight--
	}
	for end > start && digits[end-1] == 0 {
		end--
	}
	sign := uint16(numericPositive)
	if negative {
		sign = numericNegative
	}
	if start == end {
		sign, weight = numericPositive, 0 // zero
	}
	count := end - start
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*count))
	buf = binary.BigEndian.AppendUint16(buf, uint16(count))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(dscale))
	for _, d := range digits[start:end] {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf
}

// Reader is COPY data as an io.Reader: Header, the tuples next appends (one
// per call, io.EOF after the last) and Trailer. It holds about one read's
// worth of tuples at a time, so a million rows stream in constant memory. An
// error from next ends the data without a trailer, so the COPY fails.
func Reader(next func(buf []byte) ([]byte, error)) io.Reader {
	return &reader{next: next, pending: append(make([]byte, 0, 1<<16), Header...)}
}

type reader struct {
	next    func(buf []byte) ([]byte, error)
	pending []byte
	sent    int
	done    bool
	err     error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.sent > 0 { // keep what is left of the last tuple, drop the rest
		r.pending = r.pending[:copy(r.pending, r.pending[r.sent:])]
		r.sent = 0
	}
	for !r.done && len(r.pending)-r.sent < len(p) {
		var err error
		r.pending, err = r.next(r.pending)
		switch {
		case err == io.EOF:
			r.pending, r.done = append(r.pending, Trailer...), true
		case err != nil:
			r.done, r.err = true, err
		}
	}
	n := copy(p, r.pending[r.sent:])
	r.sent += n
	if n == 0 && r.done {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	return n, nil
}

// Copy runs COPY table (columns) FROM STDIN (FORMAT binary) on conn with
// data (a Reader) and returns the number of rows Postgres stored.
func Copy(ctx context.Context, conn *pgconn.PgConn, table string, columns []string, data io.Reader) (int64, error) {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	tag, err := conn.CopyFrom(ctx, data, fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)",
		pgx.Identifier{table}.Sanitize(), strings.Join(quoted, ", ")))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
