package ledger

import (
	"encoding/binary"
	"strings"
	"time"
)

// The import writes COPY's binary format itself (PostgreSQL documentation,
// "COPY — Binary Format"): Postgres then parses nothing — the numbers and
// timestamps arrive as their internal values — and payrun encodes each field
// with a few appends instead of a generic encoder. Only the types the
// earnings tables use are here.

// copyBinaryHeader is the signature, the flags field and the header
// extension length.
var copyBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyBinaryTrailer ends the data: a field count of -1.
var copyBinaryTrailer = []byte{0xff, 0xff}

// postgresEpoch is timestamptz's zero: 2000-01-01 00:00:00 UTC.
var postgresEpochMicros = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

func appendTupleStart(buf []byte, fields int) []byte {
	return binary.BigEndian.AppendUint16(buf, uint16(fields))
}

func appendInt8(buf []byte, v int64) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(v))
}

func appendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func appendBool(buf []byte, v bool) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 1)
	if v {
		return append(buf, 1)
	}
	return append(buf, 0)
}

func appendTimestamptz(buf []byte, t time.Time) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(t.UnixMicro()-postgresEpochMicros))
}

// numeric's sign words.
const (
	numericPositive = 0x0000
	numericNegative = 0x4000
)

// appendNumeric encodes a validated plain decimal ("-12.345678", at most
// LedgerScale decimals, see money.ParseAmount) as a binary NUMERIC: base
// 10000 digits around the decimal point, leading and trailing zero digits
// stripped, display scale LedgerScale.
func appendNumeric(buf []byte, text string) []byte {
	sign := uint16(numericPositive)
	switch {
	case strings.HasPrefix(text, "-"):
		sign, text = numericNegative, text[1:]
	case strings.HasPrefix(text, "+"):
		text = text[1:]
	}
	whole, fraction, _ := strings.Cut(text, ".")
	whole = strings.TrimLeft(whole, "0")
	// Pad the whole part on the left and the fraction on the right to
	// multiples of four digits: each group of four is one base-10000 digit.
	var digits [16]uint16 // 14 integer digits + 6 decimals fit in 4 + 2 groups
	n := 0
	wholeGroups := (len(whole) + 3) / 4
	padded := strings.Repeat("0", wholeGroups*4-len(whole)) + whole
	for i := 0; i < wholeGroups; i++ {
		digits[n] = group(padded[i*4 : i*4+4])
		n++
	}
	fractionGroups := (len(fraction) + 3) / 4
	fraction += strings.Repeat("0", fractionGroups*4-len(fraction))
	for i := 0; i < fractionGroups; i++ {
		digits[n] = group(fraction[i*4 : i*4+4])
		n++
	}
	weight := wholeGroups - 1
	start, end := 0, n
	for start < end && digits[start] == 0 {
		start++
		weight--
	}
	for end > start && digits[end-1] == 0 {
		end--
	}
	if start == end {
		sign, weight = numericPositive, 0 // zero
	}
	count := end - start
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*count))
	buf = binary.BigEndian.AppendUint16(buf, uint16(count))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, 6)
	for _, d := range digits[start:end] {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf
}

func group(four string) uint16 {
	return uint16(four[0]-'0')*1000 + uint16(four[1]-'0')*100 + uint16(four[2]-'0')*10 + uint16(four[3]-'0')
}
