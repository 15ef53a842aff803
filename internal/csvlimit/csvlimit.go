// Package csvlimit bounds the memory encoding/csv may take for one record.
//
// csv.Reader keeps a whole record in memory before it returns it, and a
// record is a logical one: a quoted field may hold newlines, so a record can
// span any number of physical lines. A limit on physical lines therefore
// does not bound it (a 512 MB quoted field of short lines passed a 4 KiB
// line limit and took 2.3 GB before it was refused). Reader sits between
// the input and csv.NewReader and counts the bytes of the current logical
// record — following CSV's quoting as encoding/csv does (RFC 4180: a newline
// inside double quotes belongs to the field) — and fails with
// *RecordTooLongError as soon as one exceeds the limit, so the record that is
// too long is never held whole. csv.Reader mostly returns that error as is,
// but the record it cuts may also look malformed to it (a quoted field cut
// after its closing quote and a \r): pass csv.Reader's errors through
// Reader.Cause to report the right one.
//
// Memory is then bounded by the limit plus csv.Reader's own buffer (4 KiB)
// and whatever buffer the caller puts before Reader.
package csvlimit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// ErrRecordTooLong matches every *RecordTooLongError (errors.Is).
var ErrRecordTooLong = errors.New("CSV record too long")

// RecordTooLongError is a logical record longer than the limit.
type RecordTooLongError struct {
	// Limit is the limit in bytes.
	Limit int
	// Line is the physical line (1-based) where the record starts.
	Line int
	// Field is the index (0-based) of the field that was being read when
	// the limit was reached.
	Field int
	// Lines is how many physical lines the record had spanned by then (1
	// unless a quoted field holds newlines).
	Lines int
}

func (e *RecordTooLongError) Error() string {
	if e.Lines > 1 {
		return fmt.Sprintf("record longer than %d bytes (a quoted field spans %d or more lines)", e.Limit, e.Lines)
	}
	return fmt.Sprintf("record longer than %d bytes", e.Limit)
}

// Is makes errors.Is(err, ErrRecordTooLong) true.
func (e *RecordTooLongError) Is(target error) bool { return target == ErrRecordTooLong }

// Reader passes its input through unchanged and fails once a logical CSV
// record exceeds the limit. Errors are sticky.
type Reader struct {
	r     io.Reader
	limit int

	quoted  bool // inside a quoted field
	current int  // bytes of the current record so far
	line    int  // physical line of the next byte
	start   int  // physical line where the current record started
	field   int  // fields of the current record before the current one
	err     error
}

// NewReader limits the logical records read from r to limit bytes each
// (line breaks included).
func NewReader(r io.Reader, limit int) *Reader {
	return &Reader{r: r, limit: limit, line: 1, start: 1}
}

// Read implements io.Reader.
func (l *Reader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	if consumed, tooLong := l.scan(p[:n]); tooLong {
		l.err = &RecordTooLongError{Limit: l.limit, Line: l.start, Field: l.field, Lines: l.line - l.start + 1}
		return consumed, l.err
	}
	return n, err
}

// Cause returns the error to report for err, an error a csv.Reader reading
// from l returned: the *RecordTooLongError when l cut the record csv.Reader
// was reading, err otherwise. A *csv.ParseError stays when it is about an
// earlier record (read while l had already stopped further on) or is not
// one a cut can cause: a cut only ever makes a quoted field look unclosed
// (csv.ErrQuote), while a bare quote (csv.ErrBareQuote) is in the bytes
// before the cut — and l, which follows quotes without judging them, may
// have taken it for an opening quote and run on to the limit.
func (l *Reader) Cause(err error) error {
	var tooLong *RecordTooLongError
	if err == nil || !errors.As(l.err, &tooLong) {
		return err
	}
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) && (parseErr.StartLine < tooLong.Line || !errors.Is(parseErr.Err, csv.ErrQuote)) {
		return err
	}
	return l.err
}

// scan follows the records through chunk; when the current one passes the
// limit it returns how many bytes of chunk are within it, and true.
//
// It works segment by segment between the bytes that matter (a newline
// outside quotes ends a record, a double quote opens or closes quoting) with
// the bytes package's vectorised searches, so the common case — short
// records without quotes — costs two scans of the input.
func (l *Reader) scan(chunk []byte) (int, bool) {
	offset := 0
	for offset < len(chunk) {
		rest := chunk[offset:]
		var stop int
		if l.quoted {
			stop = bytes.IndexByte(rest, '"') // only a quote ends quoting
		} else {
			stop = indexEither(rest, '\n', '"')
		}
		segment := rest
		if stop >= 0 {
			segment = rest[:stop+1]
		}
		if room := l.limit - l.current; len(segment) > room {
			// Count what fits, to say where the limit was reached.
			l.count(segment[:room])
			return offset + room, true
		}
		l.count(segment)
		l.current += len(segment)
		offset += len(segment)
		if stop < 0 {
			break
		}
		switch segment[len(segment)-1] {
		case '"':
			l.quoted = !l.quoted
		case '\n':
			// Outside quotes: the record ends here.
			l.current, l.field, l.start = 0, 0, l.line
		}
	}
	return len(chunk), false
}

// count keeps the physical line and, outside quotes, the field index.
func (l *Reader) count(segment []byte) {
	l.line += bytes.Count(segment, []byte{'\n'})
	if !l.quoted {
		l.field += bytes.Count(segment, []byte{','})
	}
}

// indexEither is the first index of a or b in s, or -1.
func indexEither(s []byte, a, b byte) int {
	i := bytes.IndexByte(s, a)
	if i < 0 {
		return bytes.IndexByte(s, b)
	}
	if j := bytes.IndexByte(s[:i], b); j >= 0 {
		return j
	}
	return i
}
