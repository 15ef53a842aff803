package nacha

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/fielderr"
	"github.com/payrun/payrun/payout/bankid"
)

// edit returns the credits file with line n (1-based) replaced.
func edit(t *testing.T, n int, change func(string) string) string {
	data, _, _ := writeFile(t, testHeader(), creditBatches()...)
	all := lines(data)
	all[n-1] = change(all[n-1])
	return strings.Join(all, "\n") + "\n"
}

// put overwrites a record's field at 1-based positions.
func put(record string, start int, value string) string {
	return record[:start-1] + value + record[start-1+len(value):]
}

func requireParseError(t *testing.T, input string, sentinel error, line int, field, message string) {
	t.Helper()
	_, err := Read(strings.NewReader(input))
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, line, pe.Line, err.Error())
	require.Equal(t, field, pe.Field, err.Error())
	require.ErrorContains(t, err, message)
}

func TestReadTruncated(t *testing.T) {
	data, _, _ := writeFile(t, testHeader(), creditBatches()...)
	all := lines(data)
	cut := func(n int) string { return strings.Join(all[:n], "\n") + "\n" }
	requireParseError(t, "", ErrTruncated, 1, "", "the file is empty")
	requireParseError(t, cut(1), ErrTruncated, 1, "", "ends after the file header")
	requireParseError(t, cut(4), ErrTruncated, 4, "", "ends after line 4 inside batch 1, without its batch control")
	requireParseError(t, cut(9), ErrTruncated, 9, "", "ends after line 9 without a file control record")
	requireParseError(t, string(data[:len(data)-1]), ErrTruncated, 10, "", "ends in the middle of line 10")
	requireParseError(t, string(data[:len(data)-50]), ErrTruncated, 10, "", "ends in the middle of line 10")
	// Cut after the file control: the padding is missing.
	prenotes, _, _ := writeFile(t, testHeader(), prenoteBatches()...)
	p := lines(prenotes)
	requireParseError(t, strings.Join(p[:6], "\n")+"\n", ErrBlocking, 6, "", "4 padding record(s) missing")
}

func TestReadWrongEntryHash(t *testing.T) {
	// Batch control of batch 1 on line 5: entry hash at 11-20.
	input := edit(t, 5, func(r string) string { return put(r, 11, "0013200037") })
	requireParseError(t, input, ErrMismatch, 5, "entry hash", `file has "0013200037", recomputed "0013200036"`)
	// File control on line 10: entry hash at 22-31.
	input = edit(t, 10, func(r string) string { return put(r, 22, "0046527201") })
	requireParseError(t, input, ErrMismatch, 10, "entry hash", `file has "0046527201", recomputed "0046527200"`)
}

func TestReadWrongControlTotals(t *testing.T) {
	input := edit(t, 5, func(r string) string { return put(r, 5, "000003") })
	requireParseError(t, input, ErrMismatch, 5, "entry/addenda count", `recomputed "000002"`)
	input = edit(t, 5, func(r string) string { return put(r, 33, "000000128457") })
	requireParseError(t, input, ErrMismatch, 5, "total credit entry dollar amount", `recomputed "000000128456"`)
	input = edit(t, 5, func(r string) string { return put(r, 21, "000000000001") })
	requireParseError(t, input, ErrMismatch, 5, "total debit entry dollar amount", `recomputed "000000000000"`)
	input = edit(t, 10, func(r string) string { return put(r, 2, "000003") })
	requireParseError(t, input, ErrMismatch, 10, "batch count", `recomputed "000002"`)
	input = edit(t, 10, func(r string) string { return put(r, 44, "010000128455") })
	requireParseError(t, input, ErrMismatch, 10, "total credit entry dollar amount in file", "recomputed")
	// An entry's amount changed without fixing the totals.
	input = edit(t, 3, func(r string) string { return put(r, 30, "0000123457") })
	requireParseError(t, input, ErrMismatch, 5, "total credit entry dollar amount", `file has "000000128456", recomputed "000000128457"`)
}

func TestReadBadBlockCount(t *testing.T) {
	input := edit(t, 10, func(r string) string { return put(r, 8, "000002") })
	requireParseError(t, input, ErrMismatch, 10, "block count", `file has "000002", recomputed "000001"`)
}

func TestReadMisBlocked(t *testing.T) {
	data, _, _ := writeFile(t, testHeader(), prenoteBatches()...)
	requireParseError(t, string(data)+paddingRecord+"\n", ErrBlocking, 11, "", "one padding record too many")
	all := lines(data)
	requireParseError(t, strings.Join(all[:9], "\n")+"\n", ErrBlocking, 9, "", "1 padding record(s) missing")
	all[8] = put(all[8], 50, "8")
	requireParseError(t, strings.Join(all, "\n")+"\n", ErrMismatch, 9, "padding record (all 9s)", "expected 94 nines")
	requireParseError(t, string(data)+validLine("5"), ErrRecordOrder, 11, "", "only padding (all 9s) may follow")
}

func validLine(kind string) string { return kind + strings.Repeat(" ", RecordLength-1) + "\n" }

func TestReadRecordLengthAndLineEnds(t *testing.T) {
	data, _, _ := writeFile(t, testHeader(), creditBatches()...)
	crlf := strings.ReplaceAll(string(data), "\n", "\r\n")
	requireParseError(t, crlf, ErrRecordLength, 1, "", "95 characters, every record has 94 (it ends with a carriage return")
	short := edit(t, 3, func(r string) string { return r[:93] })
	requireParseError(t, short, ErrRecordLength, 3, "", "93 characters")
	requireParseError(t, strings.Repeat("1", 5000), ErrRecordLength, 1, "", "more than 4096 characters")
}

func TestReadRecordOrder(t *testing.T) {
	data, _, _ := writeFile(t, testHeader(), creditBatches()...)
	all := lines(data)
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	requireParseError(t, join(all[1:]...), ErrRecordOrder, 1, "", "the first record must be a file header (1), got batch header (5)")
	requireParseError(t, join(all[0], all[2]), ErrRecordOrder, 2, "", "a batch header (5) must follow the file header, got entry detail (6)")
	requireParseError(t, join(all[0], all[9]), ErrNoBatches, 2, "", "without batches")
	requireParseError(t, join(all[0], all[1], all[2], all[5]), ErrRecordOrder, 4, "", "batch header (5) inside batch 1")
	one, _, _ := writeFile(t, testHeader(), batchSpec{ClassPPD, []Entry{validEntry()}})
	single := lines(one)
	requireParseError(t, join(single[0], single[1], single[2], single[3], single[2]), ErrRecordOrder, 5, "", "entry detail (6) after a batch control")
	requireParseError(t, join(all[0], all[1], all[2], validLine("7")), ErrRecordOrder, 4, "", "payrun writes entries without addenda")
	requireParseError(t, join(all[0], all[1], all[2], validLine("X")), ErrRecordOrder, 4, "", `unknown record type 'X' inside batch 1`)
	requireParseError(t, join(all[0], all[1], all[4]), ErrEmptyBatch, 3, "", "batch 1 has no entries")
}

func TestReadFieldErrors(t *testing.T) {
	input := edit(t, 3, func(r string) string { return put(r, 30, "00001234X6") })
	requireParseError(t, input, ErrInvalidField, 3, "amount", `"00001234X6" is not a number`)
	input = edit(t, 3, func(r string) string { return put(r, 2, "27") })
	requireParseError(t, input, ErrInvalidField, 3, "transaction code", "27 is not a code payrun writes")
	input = edit(t, 3, func(r string) string { return put(r, 12, "6") })
	requireParseError(t, input, ErrInvalidField, 3, "receiving DFI routing number", "check digit fails")
	input = edit(t, 3, func(r string) string { return put(r, 55, "zoe") })
	requireParseError(t, input, ErrMismatch, 3, "individual name", `file has "zoe ANGSTROM-MULLER   ", expected "ZOE ANGSTROM-MULLER   "`)
	input = edit(t, 3, func(r string) string { return put(r, 80, "021000020000009") })
	requireParseError(t, input, ErrMismatch, 3, "trace number", `expected "021000020000001"`)
	input = edit(t, 6, func(r string) string { return put(r, 88, "0000007") })
	requireParseError(t, input, ErrMismatch, 6, "batch number", `file has "0000007", expected "0000002"`)
	input = edit(t, 6, func(r string) string { return put(r, 5, "OTHER COMPANY   ") })
	requireParseError(t, input, ErrMismatch, 6, "company name", "expected")
	input = edit(t, 1, func(r string) string { return put(r, 4, " 021000022") })
	requireParseError(t, input, ErrInvalidField, 1, "immediate destination", "check digit fails")
	input = edit(t, 2, func(r string) string { return put(r, 70, "261399") })
	requireParseError(t, input, ErrInvalidField, 2, "effective entry date", `"261399" is not a date YYMMDD`)
	input = edit(t, 2, func(r string) string { return put(r, 70, "261101") })
	requireParseError(t, input, ErrInvalidField, 2, "effective entry date", "before the file creation date")
	input = edit(t, 2, func(r string) string { return put(r, 80, "0210000X") })
	requireParseError(t, input, ErrInvalidField, 2, "originating DFI identification", "8-digit")
	input = edit(t, 1, func(r string) string { return put(r, 30, "2460") })
	requireParseError(t, input, ErrInvalidField, 1, "file creation time", `"2460" is not a time HHMM`)
	input = edit(t, 1, func(r string) string { return put(r, 35, "095") })
	requireParseError(t, input, ErrMismatch, 1, "record size", `file has "095", expected "094"`)
	input = edit(t, 2, func(r string) string { return put(r, 76, "321") })
	requireParseError(t, input, ErrMismatch, 2, "settlement date (Julian)", "")
}

func TestParseErrorMessage(t *testing.T) {
	input := edit(t, 5, func(r string) string { return put(r, 11, "0013200037") })
	_, err := Read(strings.NewReader(input))
	require.EqualError(t, err, `nacha: line 5, entry hash (positions 11-20): file has "0013200037", recomputed "0013200036"`)
	require.True(t, errors.Is(err, ErrMismatch))
}

// A ParseError is a location wrapper: the field part inside is the one
// field-error shape, with the writer's code when the writer refused the
// value (blame) and the bankid sentinel still reachable.
func TestParseErrorHoldsTheFieldError(t *testing.T) {
	input := edit(t, 1, func(r string) string { return put(r, 4, " 021000022") })
	_, err := Read(strings.NewReader(input))
	fields := fielderr.All(err)
	require.Len(t, fields, 1, err.Error())
	require.Equal(t, "immediate destination", fields[0].Path)
	require.Equal(t, fielderr.CheckDigit, fields[0].Code)
	require.ErrorIs(t, err, bankid.ErrCheckDigit)
	require.ErrorIs(t, err, ErrInvalidField)

	input = edit(t, 5, func(r string) string { return put(r, 11, "0013200037") })
	_, err = Read(strings.NewReader(input))
	fields = fielderr.All(err)
	require.Len(t, fields, 1, err.Error())
	require.Equal(t, "entry hash", fields[0].Path)
	require.Equal(t, fielderr.Inconsistent, fields[0].Code)
}

func TestReadReportsBatchTotals(t *testing.T) {
	data, _, _ := writeFile(t, testHeader(), creditBatches()...)
	file, err := Read(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, int64(13200036), file.Batches[0].EntryHash)
	require.True(t, dollarsOf("1284.56").Equal(file.Batches[0].TotalCredit))
	require.Equal(t, 3, file.Batches[0].Entries[0].Line)
	require.True(t, dollarsOf("100000000.00").Equal(file.Batches[1].TotalCredit))
}
