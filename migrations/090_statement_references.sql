-- The close's bulk tables check their references once per statement instead
-- of once per row (issue 4's close target; see docs/SCALING.md).
--
-- A foreign key is a row trigger: for every row COPYed into payouts,
-- cycle_inputs or postings it runs an index probe and locks the referenced
-- row FOR KEY SHARE (a WAL record and a dirtied page per account, per table).
-- The rows these tables reference are never deleted — ledger_transactions
-- and payout_accounts are append-only, and from here on accounts and cycles
-- refuse DELETE and TRUNCATE too — so all a key still has to prove is that
-- each referenced row exists when the statement inserts its rows. A statement
-- trigger proves it with one join over the statement's transition table, and
-- fails the statement with foreign_key_violation naming the first row.

--
-- Likewise the guard of ledger_balances (001: "balances change only through
-- postings") becomes a statement trigger: it looked at pg_trigger_depth()
-- once per row, i.e. a PL/pgSQL call per balance the zero-sum trigger moved,
-- when once per statement proves the same. And balances get a fillfactor of
-- 70, so moving one rewrites it in its own page (a HOT update) instead of
-- adding an index entry; existing pages take it at their next rewrite
-- (VACUUM FULL ledger_balances).

-- +goose Up
DROP TRIGGER ledger_balances_guard ON ledger_balances;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'payrun: ledger_balances changes only through postings'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_balances_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ledger_balances
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balances_guard();
ALTER TABLE ledger_balances SET (fillfactor = 70);

-- +goose StatementBegin
CREATE FUNCTION never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payrun: rows of % are never deleted: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION never_deleted();
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION never_deleted();
CREATE TRIGGER cycles_never_deleted BEFORE DELETE ON cycles
    FOR EACH ROW EXECUTE FUNCTION never_deleted();
CREATE TRIGGER cycles_no_truncate BEFORE TRUNCATE ON cycles
    FOR EACH STATEMENT EXECUTE FUNCTION never_deleted();

-- payouts: month -> cycles, account_id -> accounts, payout_account_id -> payout_accounts.
ALTER TABLE payouts DROP CONSTRAINT payouts_month_fkey,
                    DROP CONSTRAINT payouts_account_id_fkey,
                    DROP CONSTRAINT payouts_payout_account_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION payouts_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.month, n.account_id, n.payout_account_id,
           CASE WHEN c.month IS NULL THEN 'cycle ' || n.month
                WHEN a.id IS NULL THEN 'account ' || n.account_id
                ELSE 'payout account ' || n.payout_account_id END AS missing
      INTO bad
      FROM new_payouts n
      LEFT JOIN cycles c ON c.month = n.month
      LEFT JOIN accounts a ON a.id = n.account_id
      LEFT JOIN payout_accounts p ON p.id = n.payout_account_id
     WHERE c.month IS NULL OR a.id IS NULL OR (n.payout_account_id IS NOT NULL AND p.id IS NULL)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: payouts row (%, %) refers to % that does not exist', bad.month, bad.account_id, bad.missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER payouts_references AFTER INSERT ON payouts
    REFERENCING NEW TABLE AS new_payouts
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_references();

-- cycle_inputs: month -> cycles, account_id -> accounts.
ALTER TABLE cycle_inputs DROP CONSTRAINT cycle_inputs_month_fkey,
                         DROP CONSTRAINT cycle_inputs_account_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION cycle_inputs_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.month, n.account_id,
           CASE WHEN c.month IS NULL THEN 'cycle ' || n.month ELSE 'account ' || n.account_id END AS missing
      INTO bad
      FROM new_inputs n
      LEFT JOIN cycles c ON c.month = n.month
      LEFT JOIN accounts a ON a.id = n.account_id
     WHERE c.month IS NULL OR a.id IS NULL
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: cycle_inputs row (%, %) refers to % that does not exist', bad.month, bad.account_id, bad.missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER cycle_inputs_references AFTER INSERT ON cycle_inputs
    REFERENCING NEW TABLE AS new_inputs
    FOR EACH STATEMENT EXECUTE FUNCTION cycle_inputs_references();

-- postings: transaction_id -> ledger_transactions. postings_posted_at already
-- joins every new posting to its transaction (to compare posted_at); now it
-- also refuses a posting whose transaction does not exist.
ALTER TABLE postings DROP CONSTRAINT postings_transaction_id_fkey;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION postings_posted_at() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.transaction_id, n.posted_at, t.id IS NULL AS missing, t.posted_at AS transaction_posted_at INTO bad
      FROM (SELECT DISTINCT transaction_id, posted_at FROM new_postings) n
      LEFT JOIN ledger_transactions t ON t.id = n.transaction_id
     WHERE t.id IS NULL OR n.posted_at <> t.posted_at
     LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION 'payrun: a posting refers to ledger transaction %, which does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: a posting of ledger transaction % has posted_at %, the transaction %',
            bad.transaction_id, bad.posted_at, bad.transaction_posted_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER ledger_balances_guard ON ledger_balances;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'payrun: ledger_balances changes only through postings'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_balances_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_balances
    FOR EACH ROW EXECUTE FUNCTION ledger_balances_guard();
ALTER TABLE ledger_balances RESET (fillfactor);
DROP TRIGGER payouts_references ON payouts;
DROP TRIGGER cycle_inputs_references ON cycle_inputs;
DROP FUNCTION payouts_references, cycle_inputs_references;
ALTER TABLE payouts ADD CONSTRAINT payouts_month_fkey FOREIGN KEY (month) REFERENCES cycles (month),
                    ADD CONSTRAINT payouts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
                    ADD CONSTRAINT payouts_payout_account_id_fkey FOREIGN KEY (payout_account_id) REFERENCES payout_accounts (id);
ALTER TABLE cycle_inputs ADD CONSTRAINT cycle_inputs_month_fkey FOREIGN KEY (month) REFERENCES cycles (month),
                         ADD CONSTRAINT cycle_inputs_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE postings ADD CONSTRAINT postings_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION postings_posted_at() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.transaction_id, n.posted_at, t.posted_at AS transaction_posted_at INTO bad
      FROM (SELECT DISTINCT transaction_id, posted_at FROM new_postings) n
      JOIN ledger_transactions t ON t.id = n.transaction_id
     WHERE n.posted_at <> t.posted_at
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: a posting of ledger transaction % has posted_at %, the transaction %',
            bad.transaction_id, bad.posted_at, bad.transaction_posted_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
DROP TRIGGER accounts_never_deleted ON accounts;
DROP TRIGGER accounts_no_truncate ON accounts;
DROP TRIGGER cycles_never_deleted ON cycles;
DROP TRIGGER cycles_no_truncate ON cycles;
DROP FUNCTION never_deleted;
