package accounts

import (
	"fmt"
	"time"
)

// Kind classifies an *Error. Callers branch on the kind (errors.Is with the
// sentinels below); only package admin turns kinds into HTTP status codes.
type Kind int

// Error kinds.
const (
	// KindInvalid: the input is malformed (a field fails validation).
	KindInvalid Kind = iota + 1
	// KindRule: the input is well formed but a business rule refuses it.
	KindRule
	// KindConflict: a duplicate, or a state that makes the change impossible.
	KindConflict
	// KindImmutable: an attempt to change a field that never changes.
	KindImmutable
	// KindStale: the caller's version (ETag) is not the current one.
	KindStale
	// KindNotFound: the thing named does not exist (for this account).
	KindNotFound
	// KindForbidden: the caller may use the endpoint, but not for this
	// (for example: only a directory global administrator may create users).
	KindForbidden
	// KindUnauthenticated: wrong credentials, an unknown, expired or revoked
	// token.
	KindUnauthenticated
	// KindLockedOut: too many failed sign-ins; RetryAfter says for how long.
	KindLockedOut
	// KindPreconditionRequired: an update came without If-Match.
	KindPreconditionRequired
	// KindRateLimited: too many requests (a rate limit of package admin), or
	// every password-hashing slot stayed busy (see Hashing); RetryAfter says
	// when to try again.
	KindRateLimited
)

// Error is every error of this package that callers act on. Field names the
// input field at fault (JSON name, dotted for nested fields) when there is one.
type Error struct {
	Kind       Kind
	Field      string
	Reason     string
	RetryAfter time.Duration
	// Missing names the permissions a refused grant needed and the caller
	// lacks (KindForbidden from the grant rule only).
	Missing []Permission
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Reason
	}
	return e.Reason
}

// Is matches any *Error of the same kind, so errors.Is(err, ErrNotFound)
// works for every not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Field == "" && t.Reason == ""
}

// Sentinels for errors.Is; the errors returned carry a field and a reason.
var (
	ErrInvalid              = &Error{Kind: KindInvalid}
	ErrRule                 = &Error{Kind: KindRule}
	ErrConflict             = &Error{Kind: KindConflict}
	ErrImmutable            = &Error{Kind: KindImmutable}
	ErrStale                = &Error{Kind: KindStale}
	ErrNotFound             = &Error{Kind: KindNotFound}
	ErrForbidden            = &Error{Kind: KindForbidden}
	ErrUnauthenticated      = &Error{Kind: KindUnauthenticated}
	ErrLockedOut            = &Error{Kind: KindLockedOut}
	ErrPreconditionRequired = &Error{Kind: KindPreconditionRequired}
	ErrRateLimited          = &Error{Kind: KindRateLimited}
)

func invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func rule(field, format string, args ...any) error {
	return &Error{Kind: KindRule, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func conflict(field, format string, args ...any) error {
	return &Error{Kind: KindConflict, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) error {
	return &Error{Kind: KindNotFound, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Reason: fmt.Sprintf(format, args...)}
}

func stale(field string) error {
	return &Error{Kind: KindStale, Field: field, Reason: "the resource changed since it was read: read it again and retry with its new ETag"}
}

// errBadCredentials is deliberately vague: it never says whether the name or
// the secret was wrong.
var errBadCredentials = &Error{Kind: KindUnauthenticated, Reason: "invalid credentials"}
