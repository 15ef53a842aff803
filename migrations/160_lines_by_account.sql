-- Publisher payouts (SPEC §7.12): a publisher reads its own earnings lines —
-- the transactions list, the summary's unprocessed and upcoming parts, the
-- estimate's lines of the month so far — without scanning a month's
-- partition of every publisher's lines. The index is on the partitioned
-- parent, so every partition has it, present and future. Its key is the
-- transactions list's order (available_at, transaction id, revenue source):
-- a page after a cursor is one index range, even when thousands of lines
-- share an available_at (every line eligible before its import becomes
-- available at the import's instant).
--
-- It costs the import one more B-tree entry per line (measured in
-- docs/SCALING.md); the close does not use it (it reads earnings_totals).

-- +goose Up
CREATE INDEX earnings_lines_account ON earnings_lines (account_id, available_at, transaction_id, revenue_source);

-- +goose Down
DROP INDEX earnings_lines_account;
