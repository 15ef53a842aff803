package nacha

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxLineBytes bounds how much of one line is read before it is refused, so
// a file without newlines cannot make a reader buffer without limit.
const maxLineBytes = 4096

// line is one record of an input file.
type line struct {
	number int // 1-based
	text   string
}

// lineScanner splits input into records separated by "\n". Strict scanning
// (files payrun wrote) demands a "\n" after every record and nothing else;
// lenient scanning (files banks wrote) also accepts "\r\n" and a last record
// without a newline.
type lineScanner struct {
	r       *bufio.Reader
	number  int
	lenient bool
}

func newLineScanner(r io.Reader, lenient bool) *lineScanner {
	return &lineScanner{r: bufio.NewReaderSize(r, maxLineBytes), lenient: lenient}
}

// next returns the next record, io.EOF at the end, or a *ParseError.
func (s *lineScanner) next() (line, error) {
	raw, err := s.r.ReadSlice('\n')
	number := s.number + 1
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return line{}, lineError(number, ErrRecordLength, "more than %d characters without a line break, a record has %d", maxLineBytes, RecordLength)
	case errors.Is(err, io.EOF):
		if len(raw) == 0 {
			return line{}, io.EOF
		}
		if !s.lenient {
			return line{}, lineError(number, ErrTruncated, "the file ends in the middle of line %d (%d characters and no line break)", number, len(raw))
		}
	case err != nil:
		return line{}, fmt.Errorf("nacha: reading line %d: %w", number, err)
	}
	s.number = number
	text := strings.TrimSuffix(string(raw), "\n")
	if s.lenient {
		text = strings.TrimSuffix(text, "\r")
	}
	if len(text) != RecordLength {
		hint := ""
		if strings.HasSuffix(text, "\r") {
			hint = " (it ends with a carriage return: records are separated by \\n only)"
		}
		return line{}, lineError(number, ErrRecordLength, "%d characters, every record has %d%s", len(text), RecordLength, hint)
	}
	return line{number: number, text: text}, nil
}

// parseNumber reads an all-digit field.
func parseNumber(l line, f field) (int64, error) {
	text := get(l.text, f)
	if !isDigits(text) {
		return 0, fieldLineError(l.number, f, ErrInvalidField, "%q is not a number", text)
	}
	var n int64
	for i := 0; i < len(text); i++ {
		n = n*10 + int64(text[i]-'0')
	}
	return n, nil
}

// parseDate reads a YYMMDD field as a date in 20YY, UTC.
func parseDate(l line, f field) (time.Time, error) {
	text := get(l.text, f)
	t, err := time.Parse("060102", text)
	if err != nil || !isDigits(text) {
		return time.Time{}, fieldLineError(l.number, f, ErrInvalidField, "%q is not a date YYMMDD", text)
	}
	if t.Year() < 2000 {
		t = t.AddDate(100, 0, 0)
	}
	return t, nil
}

// trimmed reads a left-justified text field.
func trimmed(l line, f field) string { return strings.TrimRight(get(l.text, f), " ") }
