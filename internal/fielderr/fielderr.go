package fielderr

import (
	"fmt"
	"strings"
)

// Codes: short, stable, machine-readable kinds of problem. A validator picks
// the most specific one; Invalid is the fallback.
const (
	// Required: the value is missing or empty.
	Required = "required"
	// TooLong: longer than the field's limit.
	TooLong = "too_long"
	// Length: not the exact length (or a length within bounds) the format
	// needs, e.g. an IBAN's per-country length.
	Length = "length"
	// Character: a character that may not appear there (a control
	// character, invalid UTF-8, a letter in a number, ...).
	Character = "character"
	// CheckDigit: a check digit or checksum does not verify.
	CheckDigit = "check_digit"
	// Country: an unknown country code, or not the country required.
	Country = "country"
	// Prefix: a prefix outside the assigned ranges (ABA routing symbols,
	// EIN campus prefixes).
	Prefix = "prefix"
	// Range: a number or date outside its bounds.
	Range = "range"
	// Inconsistent: valid on its own, but not with the other fields (a W-9
	// for a non-US person, a treaty country other than the residence).
	Inconsistent = "inconsistent"
	// Duplicate: a value given twice where it must be unique.
	Duplicate = "duplicate"
	// Invalid: anything else (not one of the allowed values, bad syntax).
	Invalid = "invalid"
)

// Error is one problem with one field of an input.
type Error struct {
	// Path names the field as the caller's input names it: a JSON name,
	// dotted for nested fields and indexed for arrays ("treaty.country",
	// "items[3].amount"), a CSV column, a NACHA field name. Empty when the
	// validator does not know the caller's name for it (bankid); callers
	// set it with At.
	Path string `json:"path"`
	// Code is one of the codes above.
	Code string `json:"code"`
	// Message says what is wrong, for a person. It never repeats a
	// sensitive value (account numbers, IBANs, TINs).
	Message string `json:"message"`
	// Err is what is behind the problem, for errors.Is and errors.As: a
	// sentinel (bankid.ErrCheckDigit, nacha.ErrInvalidField) or a cause.
	// May be nil.
	Err error `json:"-"`
}

// New returns a field error without a cause.
func New(path, code, message string) *Error {
	return &Error{Path: path, Code: code, Message: message}
}

// Newf returns a field error whose message is formatted (fmt.Sprintf).
func Newf(path, code, format string, args ...any) *Error {
	return &Error{Path: path, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error is "path: message", or the message alone when the path is empty.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Join joins a path and a path inside it: Join("treaty", "country") is
// "treaty.country", Join("items", "[3].amount") is "items[3].amount"; an
// empty part is left out.
func Join(path, inner string) string {
	switch {
	case path == "":
		return inner
	case inner == "":
		return path
	case strings.HasPrefix(inner, "["):
		return path + inner
	default:
		return path + "." + inner
	}
}

// At locates err at path. When err holds a field error (errors.As), the
// result is a copy of it whose path is path joined with its own (a bankid
// error, which has none, gets path); code, message and cause are kept.
// Any other error becomes an Invalid field error with err's text as the
// message and err as the cause. At(path, nil) is nil.
func At(path string, err error) *Error {
	if err == nil {
		return nil
	}
	if fields := All(err); len(fields) == 1 {
		located := *fields[0]
		located.Path = Join(path, located.Path)
		return &located
	}
	return &Error{Path: path, Code: Invalid, Message: err.Error(), Err: err}
}

// List is every problem a validator found in one input, in a fixed order
// (the input's field order), for validators that report all at once.
type List struct {
	// Subject names the input in the message: "tax form", "payout account".
	Subject string `json:"subject,omitempty"`
	// Fields are the problems; a List returned as an error has at least one.
	Fields []*Error `json:"fields"`
}

// Add appends a problem; a nil e is ignored.
func (l *List) Add(e *Error) {
	if e != nil {
		l.Fields = append(l.Fields, e)
	}
}

// Addf appends a problem with a formatted message.
func (l *List) Addf(path, code, format string, args ...any) {
	l.Add(Newf(path, code, format, args...))
}

// Err returns the list as an error, or nil when it is empty (so that a
// validator can end with "return problems.Err()" without returning a typed
// nil).
func (l *List) Err() error {
	if l == nil || len(l.Fields) == 0 {
		return nil
	}
	return l
}

// Error is the subject and every problem: "tax form: a: x; b: y".
func (l *List) Error() string {
	parts := make([]string, len(l.Fields))
	for i, f := range l.Fields {
		parts[i] = f.Error()
	}
	text := strings.Join(parts, "; ")
	if l.Subject == "" {
		return text
	}
	return l.Subject + ": " + text
}

// Has reports whether path has at least one problem.
func (l *List) Has(path string) bool {
	for _, f := range l.Fields {
		if f.Path == path {
			return true
		}
	}
	return false
}

// Unwrap returns the problems, so errors.Is and errors.As see each of them
// (errors.Is(err, bankid.ErrCheckDigit) is true when any field failed its
// check digit). errors.As(err, &fieldErr) finds the first; All finds all.
func (l *List) Unwrap() []error {
	errs := make([]error, len(l.Fields))
	for i, f := range l.Fields {
		errs[i] = f
	}
	return errs
}

// All returns every field error inside err, in order: the fields of a
// *List, a single *Error, and those found by unwrapping any other error
// (fmt.Errorf's %w, errors.Join, location wrappers such as
// nacha.ParseError). It returns nil when err holds none.
func All(err error) []*Error {
	var out []*Error
	collect(err, &out, 0)
	return out
}

// maxDepth bounds the walk: error chains are short; a cycle is a bug, not a
// reason to hang.
const maxDepth = 100

func collect(err error, out *[]*Error, depth int) {
	if err == nil || depth > maxDepth {
		return
	}
	switch e := err.(type) {
	case *Error:
		if e != nil {
			*out = append(*out, e)
		}
	case *List:
		if e != nil {
			*out = append(*out, e.Fields...)
		}
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			collect(inner, out, depth+1)
		}
	case interface{ Unwrap() error }:
		collect(e.Unwrap(), out, depth+1)
	}
}
