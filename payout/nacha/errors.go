package nacha

import (
	"errors"
	"fmt"

	"github.com/payrun/payrun/internal/fielderr"
)

// Sentinel errors. Rich errors (*fielderr.Error, *ParseError) wrap them so
// callers can branch with errors.Is.
var (
	// ErrInvalidField: a value cannot be written to (or was not read from)
	// its field: wrong length, characters, range. Wrapped by the
	// *fielderr.Error naming the field.
	ErrInvalidField = errors.New("invalid field")
	// ErrCapacity: a count or total would overflow its NACHA field (entries
	// per batch, batches, the 12-digit control totals, the block count).
	ErrCapacity = errors.New("exceeds the capacity of the NACHA format")
	// ErrSequence: Writer methods called out of order (Add before
	// StartBatch, Close with a batch open, anything after Close).
	ErrSequence = errors.New("writer used out of order")
	// ErrEmptyBatch: EndBatch on a batch without entries; the batch is
	// discarded and nothing was written for it.
	ErrEmptyBatch = errors.New("batch has no entries")
	// ErrNoBatches: Close on a file without batches; the file would be
	// rejected by the ODFI, so callers with nothing to pay write no file.
	ErrNoBatches = errors.New("file has no batches")

	// ErrTruncated: the input ends before the file control record or in the
	// middle of a record.
	ErrTruncated = errors.New("file is truncated")
	// ErrRecordLength: a record that is not exactly 94 characters.
	ErrRecordLength = errors.New("record is not 94 characters")
	// ErrRecordOrder: a record type where another is required.
	ErrRecordOrder = errors.New("record out of order")
	// ErrMismatch: a field differs from the value recomputed from the rest of
	// the file (control totals, counts, hashes, batch numbers, trace numbers)
	// or from what payrun writes for the parsed values.
	ErrMismatch = errors.New("field does not match recomputed value")
	// ErrBlocking: wrong number of padding records for the blocking factor.
	ErrBlocking = errors.New("file is not blocked correctly")
)

// fieldError is the error for a value refused for a field of a record: a
// *fielderr.Error whose path is the NACHA field name ("amount", "company
// name"), wrapped with the "nacha: " prefix ("nacha: amount: a credit must
// be more than zero, got 0.00"). code "" takes the code of the cause (a
// bankid error for routing numbers), else Invalid. The field error's cause
// is a *fieldSite, which unwraps to ErrInvalidField and to cause, so both
// errors.Is(err, ErrInvalidField) and errors.Is(err, bankid.ErrCheckDigit)
// work.
func fieldError(record byte, f field, code string, cause error, format string, args ...any) error {
	if code == "" {
		code = fielderr.Invalid
		if fields := fielderr.All(cause); len(fields) == 1 {
			code = fields[0].Code
		}
	}
	return fmt.Errorf("nacha: %w", &fielderr.Error{Path: f.name, Code: code, Message: fmt.Sprintf(format, args...),
		Err: &fieldSite{record: record, f: f, cause: cause}})
}

// fieldSite is where a refused value belongs (record type and field
// positions), for Read to name the line and positions of a value it read
// but the Writer refuses (blame).
type fieldSite struct {
	record byte
	f      field
	cause  error
}

func (s *fieldSite) Error() string {
	if s.cause == nil {
		return ErrInvalidField.Error()
	}
	return ErrInvalidField.Error() + ": " + s.cause.Error()
}

// Unwrap returns ErrInvalidField and the cause, if any.
func (s *fieldSite) Unwrap() []error {
	if s.cause == nil {
		return []error{ErrInvalidField}
	}
	return []error{ErrInvalidField, s.cause}
}

// ParseError locates a problem in a file being read: the line number
// (1-based), and the field with its positions when one is to blame. It is a
// location wrapper: when a field is to blame, Err is the *fielderr.Error
// (path Field, message Reason) that wraps the sentinel.
type ParseError struct {
	Line  int
	Field string // "" when the whole record or file is at fault
	// Start and End are the field's 1-based positions (0 when Field is "").
	Start, End int
	Reason     string
	// Err is a sentinel (the whole record or file at fault) or the
	// *fielderr.Error of the field, wrapping the sentinel.
	Err error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("nacha: line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("nacha: line %d, %s (positions %d-%d): %s", e.Line, e.Field, e.Start, e.End, e.Reason)
}

// Unwrap returns the sentinel or underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

func lineError(line int, sentinel error, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// fieldLineError is a problem with field f on a line: ErrMismatch is code
// Inconsistent (the value disagrees with the rest of the file), any other
// sentinel Invalid.
func fieldLineError(line int, f field, sentinel error, format string, args ...any) *ParseError {
	code := fielderr.Invalid
	if sentinel == ErrMismatch {
		code = fielderr.Inconsistent
	}
	reason := fmt.Sprintf(format, args...)
	return &ParseError{Line: line, Field: f.name, Start: f.start, End: f.end, Reason: reason,
		Err: &fielderr.Error{Path: f.name, Code: code, Message: reason, Err: sentinel}}
}
