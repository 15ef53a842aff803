// Package db opens payrun's Postgres connections and runs transactions.
//
// Every connection is a pgx v5 connection behind database/sql, opened by sqlx
// under the driver name "pgx" (sqlx knows its $n placeholders), with the
// shopspring/decimal codec registered in AfterConnect so NUMERIC columns scan
// into decimal.Decimal without a detour through strings or floats.
//
// [WithTx] is the one way to run a transaction: it commits when the function
// returns nil and rolls back otherwise — also when the caller's context is
// already cancelled, because the rollback runs on a context of its own.
// [WithPgx] hands the underlying *pgx.Conn to code that needs COPY.
package db
