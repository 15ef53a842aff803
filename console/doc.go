// Package console is payrun's finance review console: server-rendered HTML
// under /console/ in `payrun serve`, for the platform's operators (finance
// viewers and approvers, ops). A reviewer sees what a cycle will do, drills
// into any publisher, and approves or releases with a confirmation step.
//
// # One path to the data
//
// The console has no SQL of its own and no permission table of its own.
// Every page names an admin API endpoint (routes.go) and is open to whoever
// holds that endpoint's permission (admin.Server.Permission, the API's own
// table); sections of a page that show more (a publisher's account changes,
// holds, audit trail, payouts summary) are shown only with the permission of
// the endpoint that serves them. Reads go through admin.Operations,
// admin.Payouts and payout/review (the console's read models: the
// publishers table, a publisher's detail, breakdowns, returns, jobs,
// imports); actions go through the admin server's audited actions
// (ApproveCycle, ReleaseCycle, ImportEarnings, ImportReturns, ImportFX,
// OpenCycleFile, OpenWorkbook), so the API and the console do exactly the
// same thing and leave the same audit entry, with the operator's id.
// The console's own actions (sign-in, sign-out, a dry-run preview, a CSV
// export of the publishers table) are audited too.
//
// # Sessions
//
// Operators sign in with their payrun name and password
// (accounts.SignInConsole: the API's password check, lockout and hashing
// limits; and the API's sign-in rate limits per address and per name,
// from the same buckets, admin.Server.LimitSignIn). The session is a token of audience "console" (migration 190)
// in a cookie: HttpOnly, SameSite=Strict, Path=/console/, Secure when the
// request came over TLS (directly or as X-Forwarded-Proto says). The API
// refuses it as a bearer token and the console refuses an API token. It
// expires after 30 minutes without a request (each request slides
// expires_at, in the database) and 12 hours after sign-in whatever happens;
// signing out revokes it. A one-time password must be changed first: such
// a session opens only the password page, and changing the password ends
// every session of the operator.
//
// # Forms
//
// Every POST carries a CSRF token, an HMAC of the session's token (nothing
// stored, nothing a cross-site page can read), and must come from this
// origin (Origin or Referer). The sign-in form, which has no session yet,
// uses a double-submit token in a short-lived cookie. Approve and release
// are two steps: a confirmation page that shows what will happen (and, for
// an approval, the maker-checker rule and whether the viewer closed the
// cycle), then a POST with the month typed back. The rule itself is
// enforced by the service (payout/store's Approve): the page only explains
// it.
//
// # Pages
//
// Cycles (states, dates, totals, a 12-cycle trend chart); a cycle's review
// (totals, the workbook's self-checks from checks.json, held and carried
// by reason, paid by method and currency and by country, the files with
// their sha256 and downloads, approve and release, a dry-run preview of an
// open cycle); the publishers of a cycle (filtered, sorted and paginated by
// keyset on the server, exportable as CSV); a publisher's detail; returns;
// jobs; imports (earnings, returns and FX rates, all or nothing, each bad
// line listed).
//
// # What the browser gets
//
// HTML that reads without JavaScript, one stylesheet, no script. Charts are
// inline SVG drawn by package console/chart with their figures in text.
// Headers: a Content-Security-Policy without 'unsafe-inline' or
// 'unsafe-eval' (default-src 'none'; the console's own style sheet and
// images; frame-ancestors 'none'), X-Frame-Options DENY, Referrer-Policy
// same-origin, nosniff, and Cache-Control no-store on every page.
package console
