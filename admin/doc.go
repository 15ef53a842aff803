// Package admin is payrun's HTTP admin API (SPEC §7.11): huma v2 on chi,
// JSON under /v1, the OpenAPI 3.1 document at /v1/openapi.json (checked in as
// openapi.json). It owns handlers, authentication, authorisation and HTTP
// conventions, nothing else: the rules live in package accounts and, for
// financial details, behind the Financials interface.
//
// Refresh openapi.json with go generate ./admin.
//
// # Authorisation, in one place
//
// Every endpoint is registered with exactly one permission (see routes.go
// and Endpoints). Server.authorize, a huma middleware that runs before the
// body is read, authenticates the bearer token, refuses restricted tokens
// everywhere but POST /v1/me/password, checks the permission against the
// principal's effective permissions (403 otherwise), and resolves the account
// of /v1/accounts/{seller_id}: a principal of another account gets 404, an
// operator may address any account. A refused request therefore changes
// nothing; the authorisation matrix test proves it for every role × every
// endpoint by comparing row counts (audit log included) before and after.
//
// # Errors, in one place
//
// problem (errors.go) maps errors to RFC 9457 problem details
// (application/problem+json, with field-level "errors"): accounts.KindInvalid
// and malformed or unknown JSON 400, a validator's field errors
// (internal/fielderr: payout account, tax form, ledger account) 400 with one
// "errors" entry per field (fieldProblem), KindUnauthenticated 401 (with
// WWW-Authenticate), KindForbidden and missing permissions 403, KindNotFound
// 404, KindConflict and KindImmutable 409, KindStale 412, oversize bodies 413
// (MaxBodyBytes, 1 MiB), KindRule 422, KindPreconditionRequired 428,
// KindLockedOut and KindRateLimited 429 (with Retry-After, for every
// endpoint: installErrorMapping sets it), anything else 500 with the cause
// logged and not shown. huma's own validation failures (default 422) are
// rewritten to 400 by installErrorMapping, which replaces
// huma.NewErrorWithContext for requests of this package only, and values
// echoed by huma are dropped (they may be secrets).
//
// # Conventions
//
//   - Unknown JSON fields are refused (huma's schemas have
//     additionalProperties false).
//   - Text is screened at the edge, in one place (screen.go), before any
//     handler or query sees it: every declared path, query and header
//     parameter and every string of a JSON body, keys included, must be
//     valid UTF-8 without control characters (C0 — tab and line breaks too —,
//     DEL, C1 such as U+0085, U+2028, U+2029; internal/textcheck); a body
//     must not repeat a key in an object (encoding/json would keep the last,
//     and it matches fields without regard to case, so "ON" repeats "on")
//     nor nest deeper than MaxJSONDepth (32). Each refusal is a 400 naming
//     where: path.seller_id, query.seller_id, header.Idempotency-Key,
//     body.billing_address.line1, body.roles[2]. The services apply the same
//     text rule (a NUL used to reach Postgres, which answers it with a 500),
//     and every length is counted in characters, as OpenAPI's maxLength is.
//     Streamed uploads are checked by their importers, field by field.
//   - Updates (PUT /v1/accounts/{seller_id}, PUT .../users/{user_id}) return
//     a strong ETag and need If-Match, compared strongly (RFC 9110 §13.1.1:
//     a weak W/"..." tag never matches): missing is 428, a mismatch is 412 — not 409:
//     RFC 9110 §13.1.1 defines a false If-Match as 412, clients and caches
//     understand it, and 409 stays for conflicts in the body (duplicates,
//     immutable fields). Never a silent overwrite.
//   - Creates (POST marked Idempotent) honour Idempotency-Key per principal:
//     the key is stored with a sha256 of method, path and body; the same key
//     and body replay the first successful response (header
//     Idempotent-Replayed: true) with secrets redacted (they are shown once);
//     another body is 409; a request still running is 409; failed requests are
//     not kept, so they can be retried with the same key.
//   - Lists take cursor and limit (1-100, default 50) and return next_cursor.
//   - Responses carrying secrets (tokens, temporary passwords, key secrets)
//     send Cache-Control: no-store.
//   - The public endpoints that take a secret or send mail (POST /v1/token,
//     /v1/password-reset, /v1/password-reset/complete,
//     /v1/invitations/accept) are rate limited per client address (the
//     connection's, never X-Forwarded-For) and per name, code or token, in
//     memory (ratelimit.go, with the numbers and why): 429 with Retry-After.
//   - Financial endpoints (payout account, tax profile, payment hold,
//     statements) call Financials; writes need the owner's personal identity
//     linked first (422, field owner_identity) and are audited here (before
//     and after as the service returns them, masked). Without a Financials
//     they answer 501.
//   - A publisher's payouts (payouts.go: GET .../payouts/summary,
//     .../payments, .../transactions, and the exports: POST
//     .../payouts/exports, GET .../payouts/exports/{id} and its /file;
//     permission payouts.read) call Payouts, which payout/publisher.Service
//     implements, and answer its JSON types as they are. They refuse query
//     parameters they do not declare (huma's RejectUnknownQueryParameters:
//     a 400 at query.<name>); the domain's field errors about a filter are
//     400s at query.<name> too (location finds the operation's declared
//     query parameters). An export is queued (202, Location: its status),
//     written by the payouts-export job, downloadable once done (409
//     before); creating and downloading one are audited. Without a Payouts
//     they answer 501.
//
// # Operators
//
// The platform's finance and ops staff (SPEC §7.11) use the endpoints under
// /v1/cycles, /v1/imports and /v1/payout-accounts, served by Operations
// (admin/operations over the real stores; without one they answer 501):
// finance_viewer reads cycles, totals, the workbook and the manifest's
// files; finance_approver also approves (never a cycle it closed: 422) and
// releases (cycles.release: when maker-checker is off the release is the
// only human decision before money leaves, so it sits with approval, not
// with ops); ops imports earnings, returns and FX rates and records payout
// account verification results. Imports stream their bodies (text/csv;
// returns also text/plain and application/json) up to MaxImportBytes (64
// MiB; FX rates 1 MiB), 413 beyond and 415 for another media type; a
// refused file is a 400 whose errors name every bad row
// (body.lines[12].amount, line 1 being the header). Downloads are only of
// names in the manifest, checked against its sha256 and audited. Every
// successful operator action is in the audit log (account-less entries).
//
// # The hot path
//
// authenticate resolves the token, the principal, its effective
// permissions and the path's account in one query (the accounts service
// takes six round trips for the same); nothing is cached, so revocation
// and membership changes apply to the next request.
//
// New(Config) builds the server; Handler() is mounted by `payrun serve`
// beside /metrics and the health endpoints.
package admin

//go:generate go test -run TestOpenAPIIsCurrent -update .
