// Package clockcheck holds the test that keeps payrun's core off the wall
// clock (issue 9, SPEC §10): every package that decides anything by time —
// the ledger, tax, payouts (close, release, files, returns, prenotes), jobs,
// reports, the simulator, account settings and the admin API — takes an
// injected clock, so the simulator can drive a fake one. The test parses
// every non-test Go file of those packages and fails on any use of
// time.Now, time.Since or time.Until that is not in its allow-list with a
// reason (measuring a duration for a log line or a metric is allowed;
// deciding anything is not). cmd/ and bench/ are exempt: they are the
// composition root that reads the real clock once and injects it.
package clockcheck
