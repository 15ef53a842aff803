-- Earnings totals: what each import added to each publisher's US-sourced and
-- other balances, per UTC month of available_at. The import writes them in
-- the transaction that writes the lines (package ledger, "Totals"), so the
-- close sums one row per account, part and import of the month instead of
-- scanning every line of it: a cycle's window [previous cutoff, cutoff) is a
-- run of whole months (cutoffs are month starts, SPEC §3.1), so the months
-- in the window select exactly the lines available in it.
--
-- The lines stay the record; these rows are derived from them and checked
-- against them (ledger.VerifyTotals, the simulation's invariants).

-- +goose Up
CREATE TABLE earnings_totals (
    month      timestamptz NOT NULL CHECK (month = date_trunc('month', month, 'UTC')),
    account_id bigint NOT NULL,
    us_sourced boolean NOT NULL,
    import_id  bigint NOT NULL,
    amount     numeric(20, 6) NOT NULL CHECK (amount <> 'NaN'),
    lines      bigint NOT NULL CHECK (lines > 0),
    PRIMARY KEY (month, account_id, us_sourced, import_id)
);
CREATE TRIGGER earnings_totals_append_only BEFORE UPDATE OR DELETE ON earnings_totals
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER earnings_totals_no_truncate BEFORE TRUNCATE ON earnings_totals
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The lines imported before this migration, including archived months that
-- are still attached.
INSERT INTO earnings_totals (month, account_id, us_sourced, import_id, amount, lines)
SELECT date_trunc('month', available_at, 'UTC'), account_id, market = 'US', import_id, sum(amount), count(*)
  FROM earnings_lines
 GROUP BY 1, 2, 3, 4;

-- +goose Down
DROP TABLE earnings_totals;
