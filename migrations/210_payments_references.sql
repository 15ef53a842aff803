-- The release's payments check their payouts row once per statement
-- instead of once per row (issue 23 item 3; see docs/SCALING.md).
--
-- payments (003) referenced payouts (month, account_id) with a foreign key:
-- for every payment the release COPYs, an index probe and a FOR KEY SHARE
-- lock on the payouts row — a WAL record and a dirtied heap page per paid
-- publisher, half of the payments COPY (0.49 of 0.91 s for 82,521 payments).
-- payouts rows are never deleted or updated (payouts_append_only), and from
-- here on payouts refuses TRUNCATE too, so all the key still has to prove is
-- that each payment's payouts row exists when the statement inserts it, as
-- 090 did for the close's tables: one join over the statement's new rows,
-- failing it with foreign_key_violation naming the first payment without
-- one.

-- +goose Up
ALTER TABLE payments DROP CONSTRAINT payments_month_account_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION payments_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.month, n.account_id, n.payment_id INTO bad
      FROM new_payments n
      LEFT JOIN payouts p ON p.month = n.month AND p.account_id = n.account_id
     WHERE p.account_id IS NULL
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: payment % refers to payouts row (%, %) that does not exist', bad.payment_id, bad.month, bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER payments_references AFTER INSERT ON payments
    REFERENCING NEW TABLE AS new_payments
    FOR EACH STATEMENT EXECUTE FUNCTION payments_references();
CREATE TRIGGER payouts_no_truncate BEFORE TRUNCATE ON payouts
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- +goose Down
DROP TRIGGER payouts_no_truncate ON payouts;
DROP TRIGGER payments_references ON payments;
DROP FUNCTION payments_references;
ALTER TABLE payments ADD CONSTRAINT payments_month_account_id_fkey
    FOREIGN KEY (month, account_id) REFERENCES payouts (month, account_id);
