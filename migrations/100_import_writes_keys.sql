-- The import writes the keys of its lines to earnings_keys itself, with a
-- COPY of its own after the lines' COPY, in the same transaction (package
-- ledger, "Keys"). Measured on 1M lines (docs/SCALING.md, "Import"):
--
--   * the statement trigger of 060 needed a transition table, and Postgres
--     inserts a COPY into a partitioned table row by row (no batching) when
--     the parent has one; capturing 1M rows, then reading them back, cost
--     about 1.1 s more than the same keys sent by COPY;
--   * the BRIN index on available_at cost 0.2 s and no longer serves a read:
--     a cycle's window is whole months (a partition each), the close reads
--     earnings_totals (080), and a statement filters a month by publisher;
--   * the market's regular expression cost 0.2 s; two byte comparisons say
--     the same (two ASCII capital letters).
--
-- What the trigger guaranteed is now the import's to keep: both of its paths
-- write the keys of exactly the lines they write (ledger.VerifyKeys checks it
-- in the import tests and after every simulated cycle). earnings_lines is
-- still written only through its parent, append-only, and a repeated key
-- still raises unique_violation (from the keys' COPY) before anything commits.

-- +goose Up
DROP TRIGGER earnings_lines_keys ON earnings_lines;
DROP FUNCTION earnings_lines_keys();
DROP INDEX earnings_lines_available_at;
ALTER TABLE earnings_lines
    DROP CONSTRAINT earnings_lines_market_check,
    ADD CONSTRAINT earnings_lines_market_check
        CHECK (octet_length(market) = 2 AND ascii(market) BETWEEN 65 AND 90 AND ascii(substr(market, 2)) BETWEEN 65 AND 90);

-- +goose Down
ALTER TABLE earnings_lines
    DROP CONSTRAINT earnings_lines_market_check,
    ADD CONSTRAINT earnings_lines_market_check CHECK (market ~ '^[A-Z]{2}$');
CREATE INDEX earnings_lines_available_at ON earnings_lines USING brin (available_at) WITH (autosummarize = on);
-- +goose StatementBegin
CREATE FUNCTION earnings_lines_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO earnings_keys (transaction_id, revenue_source, available_at)
    SELECT transaction_id, revenue_source, available_at FROM new_lines;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER earnings_lines_keys AFTER INSERT ON earnings_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION earnings_lines_keys();
