// Package logging is payrun's log/slog plumbing (issue 8, SPEC §11): request
// ids, a logger per request and per job run carried in the context, and a
// redaction guard in front of the output.
//
// What it owns:
//
//   - Middleware gives every HTTP request an id (the client's X-Request-ID
//     when it is a sane token, else a random one), echoes it on the response,
//     puts a logger with request_id, method and route into the request's
//     context, and writes one access-log line per request (Info; Error for
//     5xx and panics). The route is the template (/v1/accounts/{seller_id}),
//     never the raw path, so seller ids and tokens in URLs stay out.
//   - FromContext returns the logger of a request or job run (NewContext puts
//     one there); ContextHandler adds the request attributes of the context
//     passed to the *Context logging methods, so a logger built once (the
//     admin API's) still tags its lines with the request when given the
//     request's context.
//   - Redact wraps a slog.Handler and replaces what looks like a secret —
//     TINs, IBANs, account numbers, bearer tokens, password-like attributes —
//     with "[redacted]". It is defence in depth: code must not log secrets in
//     the first place (tax.Submission.LogValue masks TINs), and the guard
//     catches what slips through, in attribute values, error strings and
//     messages alike. Its rules are in redact.go, chosen so that payrun's own
//     identifiers (seller ids S000000001, payment ids P20261100000042, request
//     ids, cycle months, occurrence keys) are never redacted.
//
// Failure modes: none at run time — Redact never fails a record, it only
// rewrites values. Over-redaction is possible by design (a bare 8-digit
// number in an error string, a routing number); under-redaction of a secret
// glued to letters ("acct123456789") is the known gap, the same one that
// keeps payment and seller ids readable.
package logging
