package nacha

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testReturned = time.Date(2026, time.November, 18, 14, 5, 0, 0, time.UTC)

// returnFile writes the credits file, then a return file for requests built
// from its traces.
func returnFile(t *testing.T, batches []batchSpec, requests func(traces []string) []ReturnRequest) (*File, []string, string) {
	t.Helper()
	data, _, traces := writeFile(t, testHeader(), batches...)
	original, err := Read(bytes.NewReader(data))
	require.NoError(t, err)
	var out bytes.Buffer
	totals, err := WriteReturnFile(&out, original, testReturned, requests(traces))
	require.NoError(t, err)
	require.Equal(t, totals.Records, len(lines(out.Bytes())))
	return original, traces, out.String()
}

func TestReturnsRoundTrip(t *testing.T) {
	death := time.Date(2026, time.October, 2, 0, 0, 0, 0, time.UTC)
	original, traces, file := returnFile(t, creditBatches(), func(traces []string) []ReturnRequest {
		return []ReturnRequest{
			{Trace: traces[0], Code: "R03", AddendaInformation: "No account / unable to locate"},
			{Trace: traces[1], Code: "R04"},
			{Trace: traces[3], Code: "R14", DateOfDeath: death},
		}
	})
	returns, err := ReadReturns(strings.NewReader(file))
	require.NoError(t, err)
	require.Len(t, returns, 3)

	first := returns[0]
	require.Equal(t, "R03", first.ReturnCode)
	require.Equal(t, traces[0], first.OriginalTrace)
	require.Equal(t, CodeCheckingReturn, first.TransactionCode)
	require.True(t, dollarsOf("1234.56").Equal(first.Amount))
	require.Equal(t, "*****6789", first.AccountNumber)
	require.Equal(t, "P2026110000001", first.IndividualID)
	require.Equal(t, "ZOE ANGSTROM-MULLER", first.Name)
	require.Equal(t, "01100001", first.OriginalRDFI)
	require.Equal(t, "NO ACCOUNT / UNABLE TO LOCATE", first.AddendaInformation)
	require.Equal(t, ClassPPD, first.Class)
	require.True(t, first.DateOfDeath.IsZero())
	require.Equal(t, 3, first.Line)

	require.Equal(t, CodeSavingsReturn, returns[1].TransactionCode)
	require.Equal(t, "R04", returns[1].ReturnCode)
	require.True(t, dollarsOf("50.00").Equal(returns[1].Amount))

	last := returns[2]
	require.Equal(t, "R14", last.ReturnCode)
	require.Equal(t, death, last.DateOfDeath)
	require.Equal(t, ClassCCD, last.Class)
	require.Equal(t, "*", last.AccountNumber, "a 1-character account is masked entirely")

	// Every return matches its original entry by trace number.
	byTrace := map[string]FileEntry{}
	for _, b := range original.Batches {
		for _, e := range b.Entries {
			byTrace[e.Trace] = e
		}
	}
	for _, r := range returns {
		e, ok := byTrace[r.OriginalTrace]
		require.True(t, ok)
		require.True(t, e.Amount.Equal(r.Amount))
		require.Equal(t, e.IndividualID, r.IndividualID)
	}
}

func TestReturnedPrenote(t *testing.T) {
	_, traces, file := returnFile(t, prenoteBatches(), func(traces []string) []ReturnRequest {
		return []ReturnRequest{{Trace: traces[1], Code: "R03"}}
	})
	returns, err := ReadReturns(strings.NewReader(file))
	require.NoError(t, err)
	require.Len(t, returns, 1)
	require.Equal(t, traces[1], returns[0].OriginalTrace)
	require.True(t, returns[0].Amount.IsZero())
	require.Equal(t, CodeSavingsReturn, returns[0].TransactionCode)
}

func TestReadReturnsIsLenientAboutLineEnds(t *testing.T) {
	_, _, file := returnFile(t, creditBatches(), func(traces []string) []ReturnRequest {
		return []ReturnRequest{{Trace: traces[2], Code: "R02"}}
	})
	crlf := strings.ReplaceAll(file, "\n", "\r\n")
	returns, err := ReadReturns(strings.NewReader(strings.TrimSuffix(crlf, "\r\n")))
	require.NoError(t, err)
	require.Len(t, returns, 1)
	// Without the padding, the block count still describes one block.
	unpadded := strings.Join(lines([]byte(file))[:6], "\n")
	returns, err = ReadReturns(strings.NewReader(unpadded))
	require.NoError(t, err)
	require.Len(t, returns, 1)
}

func TestReadReturnsEmptyFile(t *testing.T) {
	_, _, file := returnFile(t, creditBatches(), func([]string) []ReturnRequest { return nil })
	returns, err := ReadReturns(strings.NewReader(file))
	require.NoError(t, err)
	require.Empty(t, returns)
}

func requireReturnsError(t *testing.T, input string, sentinel error, line int, field, message string) {
	t.Helper()
	_, err := ReadReturns(strings.NewReader(input))
	require.ErrorIs(t, err, sentinel)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, line, pe.Line, err.Error())
	require.Equal(t, field, pe.Field, err.Error())
	require.ErrorContains(t, err, message)
}

func TestReadReturnsErrors(t *testing.T) {
	sameBank := []batchSpec{{ClassPPD, []Entry{validEntry(), validEntry()}}}
	sameBank[0].entries[1].Amount = dollarsOf("1274.56")
	_, _, file := returnFile(t, sameBank, func(traces []string) []ReturnRequest {
		return []ReturnRequest{{Trace: traces[0], Code: "R03"}, {Trace: traces[1], Code: "R01"}}
	})
	// Lines: 1 header, 2 batch header, 3 entry, 4 addenda, 5 entry, 6 addenda,
	// 7 batch control, 8 file control, 9-10 padding.
	all := lines([]byte(file))
	with := func(n int, change func(string) string) string {
		copied := append([]string(nil), all...)
		copied[n-1] = change(copied[n-1])
		return strings.Join(copied, "\n") + "\n"
	}
	for _, code := range []string{"R00", "R86", "X01", "R1A", "   "} {
		requireReturnsError(t, with(4, func(r string) string { return put(r, 4, code) }), ErrInvalidField, 4, "return reason code", "is not a return reason code R01-R85")
	}
	requireReturnsError(t, with(4, func(r string) string { return put(r, 2, "98") }), ErrInvalidField, 4, "addenda type code", "notification of change")
	requireReturnsError(t, with(4, func(r string) string { return put(r, 2, "05") }), ErrInvalidField, 4, "addenda type code", `"05" is not a return addenda`)
	requireReturnsError(t, with(4, func(r string) string { return put(r, 7, "02100002000000X") }), ErrInvalidField, 4, "original entry trace number", "is not a number")
	requireReturnsError(t, with(4, func(r string) string { return put(r, 80, "011000010000009") }), ErrMismatch, 4, "trace number", "the return entry's trace number is")
	requireReturnsError(t, with(4, func(r string) string { return put(r, 22, "261340") }), ErrInvalidField, 4, "date of death", "is not a date")
	requireReturnsError(t, with(3, func(r string) string { return put(r, 79, "0") }), ErrInvalidField, 3, "addenda record indicator", "must be 1")
	requireReturnsError(t, with(3, func(r string) string { return put(r, 2, "99") }), ErrInvalidField, 3, "transaction code", "99 is not an ACH transaction code")
	requireReturnsError(t, with(7, func(r string) string { return put(r, 11, "0000000001") }), ErrMismatch, 7, "entry hash", "file has 0000000001, recomputed 0004200004")
	requireReturnsError(t, with(7, func(r string) string { return put(r, 5, "000003") }), ErrMismatch, 7, "entry/addenda count", "recomputed 000004")
	requireReturnsError(t, with(7, func(r string) string { return put(r, 33, "000000000001") }), ErrMismatch, 7, "total credit entry dollar amount", "recomputed 000000128456")
	requireReturnsError(t, with(7, func(r string) string { return put(r, 88, "0000002") }), ErrMismatch, 7, "batch number", "the batch header on line 2")
	requireReturnsError(t, with(8, func(r string) string { return put(r, 8, "000002") }), ErrMismatch, 8, "block count", "file has 000002, recomputed 000001")
	requireReturnsError(t, with(8, func(r string) string { return put(r, 14, "00000005") }), ErrMismatch, 8, "entry/addenda count", "recomputed 00000004")
	requireReturnsError(t, with(2, func(r string) string { return put(r, 2, "280") }), ErrInvalidField, 2, "service class code", "280 is not a service class")
	requireReturnsError(t, with(1, func(r string) string { return put(r, 35, "095") }), ErrInvalidField, 1, "record size", `"095"`)

	// Structure.
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	requireReturnsError(t, join(all[0], all[1], all[2], all[4]), ErrRecordOrder, 4, "", "its addenda record (7) must come next")
	requireReturnsError(t, join(all[0], all[1], all[2]), ErrTruncated, 3, "", "without its addenda record")
	requireReturnsError(t, join(all[0], all[1], all[2], all[3]), ErrTruncated, 4, "", "inside a batch")
	requireReturnsError(t, join(all[0], all[1], all[3]), ErrRecordOrder, 3, "", "does not follow a return entry")
	requireReturnsError(t, join(all[:7]...), ErrTruncated, 7, "", "without a file control")
	requireReturnsError(t, join(all[0], all[1], all[6]), ErrRecordOrder, 3, "", "a batch without return entries")
	requireReturnsError(t, join(append(all, all[1])...), ErrRecordOrder, 11, "", "only padding")
	requireReturnsError(t, join(append(all, paddingRecord, paddingRecord, paddingRecord, paddingRecord, paddingRecord, paddingRecord, paddingRecord, paddingRecord)...), ErrBlocking, 18, "", "more padding records than a block needs")
	requireReturnsError(t, "", ErrTruncated, 1, "", "empty")
	requireReturnsError(t, join(all[0][:90]), ErrRecordLength, 1, "", "90 characters")
}

func TestWriteReturnFileRefusesBadRequests(t *testing.T) {
	data, _, traces := writeFile(t, testHeader(), creditBatches()...)
	original, err := Read(bytes.NewReader(data))
	require.NoError(t, err)
	for _, tc := range []struct {
		requests []ReturnRequest
		message  string
	}{
		{[]ReturnRequest{{Trace: "021000029999999", Code: "R03"}}, "is not the trace number of an entry in the original file"},
		{[]ReturnRequest{{Trace: traces[0], Code: "R03"}, {Trace: traces[0], Code: "R03"}}, "is returned twice"},
		{[]ReturnRequest{{Trace: traces[0], Code: "R99"}}, "is not a return reason code"},
		{[]ReturnRequest{{Trace: traces[0], Code: "R03", AddendaInformation: strings.Repeat("X", 45)}}, "the field holds 44"},
	} {
		_, err := WriteReturnFile(&bytes.Buffer{}, original, testReturned, tc.requests)
		require.ErrorIs(t, err, ErrInvalidField)
		require.ErrorContains(t, err, tc.message)
	}
}
