package csvlimit_test

import (
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/payrun/payrun/internal/csvlimit"
)

// reference is the byte-at-a-time statement of the rule Reader implements.
func reference(input string, limit int) (consumed int, e *csvlimit.RecordTooLongError) {
	quoted, current, line, start, field := false, 0, 1, 1, 0
	for i := 0; i < len(input); i++ {
		if current == limit {
			return i, &csvlimit.RecordTooLongError{Limit: limit, Line: start, Field: field, Lines: line - start + 1}
		}
		current++
		switch c := input[i]; {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			field++
		case c == '\n':
			line++
			if !quoted {
				current, field, start = 0, 0, line
			}
		}
	}
	return len(input), nil
}

func readAll(t *testing.T, r io.Reader) (string, error) {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 7)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
	}
}

// TestReaderAgreesWithTheByteAtATimeRule feeds random CSV-ish input in
// random chunk sizes and compares where (and whether) Reader stops with the
// reference.
func TestReaderAgreesWithTheByteAtATimeRule(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", ",", "\"", "\n", "\r\n", "é", "\"\"", "xyz"}
	for round := 0; round < 2000; round++ {
		var b strings.Builder
		for n := random.IntN(200); n > 0; n-- {
			b.WriteString(alphabet[random.IntN(len(alphabet))])
		}
		input := b.String()
		limit := 1 + random.IntN(40)
		wantConsumed, wantErr := reference(input, limit)
		var source io.Reader = strings.NewReader(input)
		if round%2 == 0 {
			source = iotest.OneByteReader(source)
		}
		got, err := readAll(t, csvlimit.NewReader(source, limit))
		require.Equal(t, input[:wantConsumed], got, "input %q limit %d", input, limit)
		if wantErr == nil {
			require.NoError(t, err, "input %q limit %d", input, limit)
			continue
		}
		var tooLong *csvlimit.RecordTooLongError
		require.ErrorAs(t, err, &tooLong, "input %q limit %d", input, limit)
		require.Equal(t, *wantErr, *tooLong, "input %q limit %d", input, limit)
		require.ErrorIs(t, err, csvlimit.ErrRecordTooLong)
	}
}

// TestCSVReaderStopsAtALongQuotedField: encoding/csv over Reader returns
// the error as is, with the record's first line and the field, after
// reading little more than the limit of a 64 MB field.
func TestCSVReaderStopsAtALongQuotedField(t *testing.T) {
	source := &generator{head: "a,b,c\n1,2,3\nx,\"", body: "short line\n", size: 64 << 20}
	limited := csvlimit.NewReader(source, 4096)
	reader := csv.NewReader(limited)
	record, err := reader.Read()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, record)
	_, err = reader.Read()
	require.NoError(t, err)
	_, err = reader.Read()
	var tooLong *csvlimit.RecordTooLongError
	require.ErrorAs(t, err, &tooLong)
	require.Equal(t, err, limited.Cause(err))
	require.Equal(t, 3, tooLong.Line)
	require.Equal(t, 1, tooLong.Field)
	require.Greater(t, tooLong.Lines, 300)
	require.Contains(t, tooLong.Error(), "record longer than 4096 bytes (a quoted field spans")
	require.Less(t, source.read, int64(64<<10), "read %d bytes of a 64 MB field", source.read)
	var parseErr *csv.ParseError
	require.False(t, errors.As(err, &parseErr))
	_, err = reader.Read()
	require.ErrorIs(t, err, csvlimit.ErrRecordTooLong, "sticky")
}

// A bare quote is the file's error, not the length Reader ran up by taking
// it for an opening quote.
func TestCauseKeepsABareQuote(t *testing.T) {
	input := "a,b\nbad\"quote,x\nlong,long,long,long\n"
	limited := csvlimit.NewReader(strings.NewReader(input), 14)
	reader := csv.NewReader(limited)
	_, err := reader.Read()
	require.NoError(t, err)
	_, err = reader.Read()
	var parseErr *csv.ParseError
	require.ErrorAs(t, limited.Cause(err), &parseErr)
	require.Equal(t, 2, parseErr.StartLine)
	require.ErrorIs(t, parseErr, csv.ErrBareQuote)
}

// Records up to the limit read exactly as without Reader (the longest
// record here, with its quoted newline and CRLF, is 32 bytes).
func TestReaderChangesNothingUnderTheLimit(t *testing.T) {
	input := "h1,h2\n\"multi\nline\",\"with \"\"quotes\"\"\"\r\nplain,row\n\n\"\",end\n"
	want, err := csv.NewReader(strings.NewReader(input)).ReadAll()
	require.NoError(t, err)
	got, err := csv.NewReader(csvlimit.NewReader(iotest.HalfReader(strings.NewReader(input)), 32)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, want, got)
	// Cut after its closing quote and the \r, the record looks malformed to
	// encoding/csv: Cause names the real reason.
	limited := csvlimit.NewReader(strings.NewReader(input), 31)
	_, err = csv.NewReader(limited).ReadAll()
	var parseErr *csv.ParseError
	require.ErrorAs(t, err, &parseErr)
	err = limited.Cause(err)
	var tooLong *csvlimit.RecordTooLongError
	require.ErrorAs(t, err, &tooLong)
	require.Equal(t, csvlimit.RecordTooLongError{Limit: 31, Line: 2, Field: 1, Lines: 2}, *tooLong)
}

// generator produces head, then body repeated up to size bytes, counting
// what was read.
type generator struct {
	head, body string
	size, read int64
	pos        int
}

func (g *generator) Read(p []byte) (int, error) {
	if g.read >= g.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.read < g.size {
		var c byte
		if g.read < int64(len(g.head)) {
			c = g.head[g.read]
		} else {
			c = g.body[g.pos]
			g.pos = (g.pos + 1) % len(g.body)
		}
		p[n] = c
		n++
		g.read++
	}
	return n, nil
}

// An error about an earlier record, read while Reader had already stopped
// further on, is that record's.
func TestCauseKeepsAnEarlierRecordsParseError(t *testing.T) {
	input := "a,b\n\"x\"y,z\n" + strings.Repeat("long,", 1000) + "\n"
	limited := csvlimit.NewReader(strings.NewReader(input), 64)
	reader := csv.NewReader(limited)
	_, err := reader.Read()
	require.NoError(t, err)
	_, err = reader.Read()
	require.Error(t, limited.Cause(io.EOF), "the limiter stopped on line 3 already")
	var parseErr *csv.ParseError
	require.ErrorAs(t, limited.Cause(err), &parseErr)
	require.Equal(t, 2, parseErr.StartLine)
	require.ErrorIs(t, parseErr, csv.ErrQuote)
}
