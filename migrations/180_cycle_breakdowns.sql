-- The finance console's read models (issue 21; package payout/review).
--
-- cycle_breakdowns: one row per closed cycle, written the first time the
-- console (or the admin API) reviews the cycle and never again: the
-- cycle's held and carried publishers by primary reason, its paid ones by
-- method and currency, everyone by registration country, and how many
-- payouts rows each filter value of the publishers table matches. A
-- closed cycle's payouts rows are append-only, so the figures never
-- change; at 1M publishers the GROUP BY behind them takes 1-1.5 s, too slow
-- for every view of the review page. figures is review.figures as JSON
-- (amounts as decimal strings, exact).
--
-- cycle_review_keys: for each filter value of the publishers table that
-- matches few of the cycle's payouts rows (a status, a reason anywhere in
-- reasons, a method or a currency: fewer than one row in
-- review.RareOneIn), those rows' seller ids, in the order the table lists
-- them. A page of a common value is found by walking accounts in seller
-- order and probing each one's payouts row (a few hundred probes); a rare
-- value would need thousands (a whole month's when no row follows the
-- cursor): its key range is read instead, a page in about 51 probes.
-- Written with cycle_breakdowns, in the same transaction. No index on
-- payouts: each would cost every close (issue 23).
--
-- The accounts indexes serve the table's country filter (its accounts in
-- seller order) and its search (a seller id, any case; the start of a
-- display name, any case, with lower() as the database's collation
-- folds), so neither scans the month's payouts rows. Built over 1M
-- accounts they took 1.3, 0.7 and 0.9 s (once, at migrate); each costs
-- account creation one more B-tree entry, and the close nothing. The
-- partial index on payout_account_events lists the payout accounts a
-- return or a verification left needing an update (the returns page)
-- without reading every event.

-- +goose Up
CREATE TABLE cycle_breakdowns (
    month       date PRIMARY KEY REFERENCES cycles (month),
    payouts     bigint NOT NULL CHECK (payouts >= 0),
    figures     jsonb NOT NULL,
    computed_at timestamptz NOT NULL
);
COMMENT ON TABLE cycle_breakdowns IS 'a closed cycle''s review figures (payout/review): computed once, never changed';
CREATE TRIGGER cycle_breakdowns_append_only BEFORE UPDATE OR DELETE ON cycle_breakdowns
    FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE TABLE cycle_review_keys (
    month      date NOT NULL REFERENCES cycle_breakdowns (month),
    dimension  text NOT NULL CHECK (dimension IN ('status', 'reason', 'method', 'currency')),
    value      text NOT NULL,
    seller_id  text NOT NULL,
    account_id bigint NOT NULL,
    PRIMARY KEY (month, dimension, value, seller_id)
);
COMMENT ON TABLE cycle_review_keys IS 'the seller ids of a closed cycle''s rare filter values, in the publishers table''s order (payout/review)';
CREATE TRIGGER cycle_review_keys_append_only BEFORE UPDATE OR DELETE ON cycle_review_keys
    FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE INDEX accounts_country_seller ON accounts (registration_country, seller_id);
CREATE INDEX accounts_seller_lower ON accounts (lower(seller_id));
CREATE INDEX accounts_name_lower ON accounts (lower(display_name) text_pattern_ops);

CREATE INDEX payout_account_events_needing_update ON payout_account_events (at)
    WHERE status IN ('needs_update', 'rejected');

-- +goose Down
DROP INDEX payout_account_events_needing_update;
DROP INDEX accounts_name_lower;
DROP INDEX accounts_seller_lower;
DROP INDEX accounts_country_seller;
DROP TABLE cycle_review_keys;
DROP TABLE cycle_breakdowns;
