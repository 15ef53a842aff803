-- Money meets the real world: late releases and PayPal's per-item maximum.
--
-- cycles.settlement_date: the date a released cycle's files settle on (the
-- ACH effective entry date, the pain.001 requested execution date, the
-- PayPal batch's date): the scheduled payment_date, or, for a release on or
-- after it, the next banking day after the release (payout.SettlementDate,
-- SPEC §3.1). Written by the release with the state change. Backfill: every
-- cycle released before this migration dated its files with its payment
-- date, so that is its settlement date.
--
-- payment_items: the PayPal items of a payment above PayPal's per-item
-- maximum (SPEC §6.2), one row per item: its sender_item_id ("<payment
-- id>-<n>"), its amount as sent and its USD share (what a return of that
-- item alone credits back). A payment sent as one item has no rows here.
-- The items of a payment sum to its payments row (the release checks it).
-- Append-only, like payments.
--
-- payout_returns.item_id: a return of one item of a split payment. One
-- payment can now come back in several rows, one per item, so the
-- UNIQUE (month, account_id) of 002 (and the unique payment_id of 040)
-- hold for whole-payment returns only; an item comes back at most once.

-- +goose Up

ALTER TABLE cycles ADD COLUMN settlement_date date;
UPDATE cycles SET settlement_date = payment_date WHERE released_at IS NOT NULL;
ALTER TABLE cycles ADD CONSTRAINT cycles_settlement_date CHECK (settlement_date IS NULL OR settlement_date >= payment_date);

CREATE TABLE payment_items (
    payment_id         text NOT NULL REFERENCES payments (payment_id),
    item               integer NOT NULL CHECK (item >= 1),
    item_id            text NOT NULL UNIQUE CHECK (item_id = payment_id || '-' || item),
    amount_usd         numeric(20, 2) NOT NULL CHECK (amount_usd > 0),
    amount_in_currency numeric(20, 3) NOT NULL CHECK (amount_in_currency > 0),
    PRIMARY KEY (payment_id, item)
);
CREATE TRIGGER payment_items_append_only BEFORE UPDATE OR DELETE ON payment_items
    FOR EACH ROW EXECUTE FUNCTION append_only();

ALTER TABLE payout_returns ADD COLUMN item_id text REFERENCES payment_items (item_id);
ALTER TABLE payout_returns DROP CONSTRAINT payout_returns_month_account_id_key;
CREATE UNIQUE INDEX payout_returns_month_account ON payout_returns (month, account_id) WHERE item_id IS NULL;
DROP INDEX payout_returns_payment;
CREATE UNIQUE INDEX payout_returns_payment ON payout_returns (payment_id) WHERE payment_id IS NOT NULL AND item_id IS NULL;
CREATE UNIQUE INDEX payout_returns_item ON payout_returns (item_id) WHERE item_id IS NOT NULL;

-- +goose Down
DROP INDEX payout_returns_item;
DROP INDEX payout_returns_payment;
CREATE UNIQUE INDEX payout_returns_payment ON payout_returns (payment_id) WHERE payment_id IS NOT NULL;
DROP INDEX payout_returns_month_account;
ALTER TABLE payout_returns ADD CONSTRAINT payout_returns_month_account_id_key UNIQUE (month, account_id);
ALTER TABLE payout_returns DROP COLUMN item_id;
DROP TABLE payment_items;
ALTER TABLE cycles DROP CONSTRAINT cycles_settlement_date;
ALTER TABLE cycles DROP COLUMN settlement_date;
