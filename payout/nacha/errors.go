package nacha

import (
	"errors"
	"fmt"
)

// Sentinel errors. Rich errors (*FieldError, *ParseError) wrap them so
// callers can branch with errors.Is.
var (
	// ErrInvalidField: a value cannot be written to (or was not read from)
	// its field: wrong length, characters, range. Wrapped by *FieldError.
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

// FieldError says which field of a record a value was refused for, and why.
type FieldError struct {
	// Field is the NACHA field name, e.g. "amount", "company name".
	Field string
	// Reason explains the failure to a person.
	Reason string
	// Cause is an underlying error, e.g. a bankid validation error for a
	// routing number; may be nil.
	Cause error

	record byte // record type the field belongs to
	f      field
}

func (e *FieldError) Error() string { return "nacha: " + e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalidField and the cause, if any, so both
// errors.Is(err, ErrInvalidField) and errors.Is(err, bankid.ErrCheckDigit)
// work.
func (e *FieldError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrInvalidField}
	}
	return []error{ErrInvalidField, e.Cause}
}

func fieldError(record byte, f field, cause error, format string, args ...any) *FieldError {
	return &FieldError{Field: f.name, Reason: fmt.Sprintf(format, args...), Cause: cause, record: record, f: f}
}

// ParseError locates a problem in a file being read: the line number
// (1-based), and the field with its positions when one is to blame.
type ParseError struct {
	Line  int
	Field string // "" when the whole record or file is at fault
	// Start and End are the field's 1-based positions (0 when Field is "").
	Start, End int
	Reason     string
	Err        error // a sentinel, or the *FieldError / bankid error behind it
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

func fieldLineError(line int, f field, sentinel error, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Field: f.name, Start: f.start, End: f.end, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}
