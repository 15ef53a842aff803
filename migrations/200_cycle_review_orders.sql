-- The publishers table's amount sorts (issue 21; package payout/review).
--
-- A page of the finance console's publishers table sorted by an amount
-- (balance, paid, withheld or carried, then the account id) read the whole
-- month's payouts rows for a top-N sort: 0.5-2 s a page at 1M publishers.
-- An index on payouts per sort would make it a range read, but every close
-- would pay it row by row (1-4 s each at 1M: issue 23). A closed cycle's
-- payouts rows never change, so their order in each sort is computed once
-- (review.Prepare, right after the close, or at the first page sorted by
-- an amount) and kept here: a page is then a range of ranks from its
-- cursor's rank, forwards or backwards.
--
-- cycle_review_orders: one row per closed cycle whose orders are stored,
-- written in the same transaction as its blocks and never changed.
-- block_size is the number of ranks of a block (the last one of a sort
-- holds the rest); bits names what each bit of a code means: bit i is set
-- when the row's status, method, currency or one of its reasons is
-- bits[i + 1] ("status:held", "currency:CHF", "reason:payment_hold"; the
-- values the cycle has, at most 63).
--
-- cycle_review_order_blocks: a sort's order in blocks of consecutive
-- ranks: account_ids[i] has rank first_rank + i - 1 (rank 1 the smallest
-- key), codes[i] its bits, summary the OR of the block's codes. A filter on
-- status, method, currency or reason is a mask: the page keeps the ranks
-- whose code has all its bits and skips the blocks whose summary has not,
-- without reading their payouts rows; so a value bunched at one end of an
-- order (held rows all have paid 0) costs no walk past the others.
-- Arrays rather than a row per rank: a row per rank and its primary key
-- took 84 bytes a rank at 1M rows (80 MB for one sort, without the codes),
-- the blocks 8 bytes a rank with them, compressed (32 MB for the four
-- sorts; the figures are in payout/review's documentation).

-- +goose Up
CREATE TABLE cycle_review_orders (
    month       date PRIMARY KEY REFERENCES cycle_breakdowns (month),
    payouts     bigint NOT NULL CHECK (payouts BETWEEN 0 AND 2147483647),
    block_size  integer NOT NULL CHECK (block_size BETWEEN 1 AND 8192),
    bits        text[] NOT NULL CHECK (cardinality(bits) <= 63),
    computed_at timestamptz NOT NULL
);
COMMENT ON TABLE cycle_review_orders IS 'the closed cycles whose amount sorts are stored in cycle_review_order_blocks (payout/review)';
CREATE TRIGGER cycle_review_orders_append_only BEFORE UPDATE OR DELETE ON cycle_review_orders
    FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE TABLE cycle_review_order_blocks (
    month       date NOT NULL REFERENCES cycle_review_orders (month),
    sort        text NOT NULL CHECK (sort IN ('balance', 'paid', 'withheld', 'carried')),
    first_rank  integer NOT NULL CHECK (first_rank >= 1),
    account_ids bigint[] NOT NULL CHECK (cardinality(account_ids) BETWEEN 1 AND 8192),
    codes       bigint[] NOT NULL CHECK (cardinality(codes) = cardinality(account_ids)),
    summary     bigint NOT NULL,
    PRIMARY KEY (month, sort, first_rank)
);
COMMENT ON TABLE cycle_review_order_blocks IS 'a closed cycle''s payouts rows in each amount sort''s order, in blocks of ranks (payout/review)';
CREATE TRIGGER cycle_review_order_blocks_append_only BEFORE UPDATE OR DELETE ON cycle_review_order_blocks
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- +goose Down
DROP TABLE cycle_review_order_blocks;
DROP TABLE cycle_review_orders;
