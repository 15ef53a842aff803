// Package migrations embeds payrun's schema as goose SQL migrations
// (NNN_name.sql) and applies them.
//
// Up is safe to run from several replicas at the same moment: goose holds a
// Postgres session advisory lock while it migrates, so one replica applies the
// pending migrations and the others wait, then find nothing to do.
//
// Invariants the schema itself enforces (not only Go code):
//   - every ledger transaction's postings sum to zero after every statement
//     (postings_zero_sum) and a transaction has at least two postings at commit
//     (ledger_transactions_have_postings, deferred);
//   - the journal and the earnings lines are append-only: UPDATE, DELETE and
//     TRUNCATE raise (append_only);
//   - ledger_balances is maintained by the same trigger that checks the sum, so
//     balances and postings can never disagree;
//   - amounts are NUMERIC, never NaN, with the signs each table knows;
//   - the bulk tables of a close (payouts, cycle_inputs, postings) and of a
//     release (payments) check that what they refer to exists once per
//     statement, with one join over the statement's new rows (090, 210),
//     instead of a foreign key's probe and row lock per row; the rows they
//     refer to are never deleted (accounts, cycles and payouts refuse DELETE
//     and TRUNCATE; the rest is append-only);
//   - a month's FX rates are never updated or deleted once its cycle has
//     started closing (fx_rates_fixed_once_closing, 130), and every rate an
//     import adds or replaces is audited in fx_rate_changes, append-only.
package migrations
