// Package fielderr is payrun's one shape of a field error (issue 19): what a
// validator says about one field of an input, and how the admin API and the
// CLI show it. The model is moov-io/ach's typed field errors: a field, a
// machine-readable kind, a human reason, and the sentinel behind it.
//
// # The type
//
// An [Error] is a Path, a Code and a Message, with an optional cause Err:
//
//   - Path names the field as the caller's input names it: the JSON name,
//     dotted for nested fields and indexed for arrays ("treaty.country",
//     "billing_address.line1", "items[3].amount"), a CSV column
//     ("seller_id"), or the NACHA field name ("immediate destination").
//   - Code is one of a short list of stable codes ([Required], [TooLong],
//     [Length], [Character], [CheckDigit], [Country], [Prefix], [Range],
//     [Inconsistent], [Duplicate], [Invalid]) for programs that branch on
//     the kind of problem without parsing messages.
//   - Message is for people. It never repeats a sensitive value (account
//     numbers, IBANs, TINs): validators name positions and characters.
//   - Err is the sentinel or cause (bankid.ErrCheckDigit,
//     nacha.ErrInvalidField, tax.ErrTINFormat): Unwrap returns it, so
//     errors.Is keeps working through the field error.
//
// Error() is "path: message", or the message alone when the path is empty.
//
// A [List] is every problem of one input, in the input's field order, for
// validators that report all at once (tax.Submission.Validate,
// payout.AccountInput.Validate). Its Subject names the input in the text:
// "tax form: tin: SSN area 666 is never issued; treaty.country: must equal
// residence_country (DE)". Validators that stop at the first problem
// (ledger.NewAccount.Validate, the NACHA writer) return a single *Error.
//
// [All] finds every field error inside any error — a List's fields, a single
// Error, and what unwrapping finds (%w, errors.Join, location wrappers). It
// does not look inside a field error's own cause, so a bankid error behind
// a NACHA field counts once, as the NACHA field.
//
// # Decisions
//
//   - One type, no interface: every validator builds an *Error, and callers
//     match with errors.As(err, &fieldErr) or All. A validator that does not
//     know the caller's name for the field (payout/bankid checks an IBAN
//     without knowing whether the input calls it "iban" or
//     "creditor_iban") leaves Path empty and puts the identifier in the
//     message ("IBAN: check digits fail"); the caller locates it with [At],
//     which keeps code, message and cause.
//   - Location wrappers stay where a location is not a path in the input:
//     nacha.ParseError (line and positions in a file) and paypal.RecordError
//     (CSV line or JSON item) wrap an *Error for the field part. Their own
//     Error() text carries the location, and callers that print a file's
//     problems use that text: All returns the field errors inside with
//     paths relative to the record. The import row reports
//     (ledger.RowError, tax.RowError: line, column, reason) are not field
//     errors of an input's shape and keep their own types; ledger's
//     accounts import fills its rows from the *Error of NewAccount.Validate.
//   - Messages users saw before the one shape are kept: the subject prefixes
//     ("tax form: ", "payout account: "), "nacha: " in front of the NACHA
//     writer's field errors (added by wrapping, outside the field error), and
//     bankid's "IBAN: ..." reasons.
//   - Mapped once to problem+json: admin's fieldProblem (admin/errors.go)
//     makes a 400 whose detail is the error's text and whose "errors" hold
//     one entry per field, location "body."+path (or path./query./header.
//     when the operation names the field there), message Message. The
//     problem's JSON shape is huma's ErrorDetail, unchanged (location,
//     message): it has no code member and its schema forbids others, so the
//     code is not on the wire; adding it is an API change of its own.
//   - Mapped once to CLI lines: cmd/payrun's printError prints "payrun: "
//     and the error; a List of several fields is printed one "path:
//     message" per line under "payrun: <subject>: N problems".
//   - This package is a leaf: it imports no payrun package
//     (internal/layercheck), so every layer can use it.
package fielderr
