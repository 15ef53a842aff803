-- The ledger: publisher accounts, earnings lines and the double-entry journal.
-- SPEC §1–2. See package ledger for the design.

-- +goose Up

-- +goose StatementBegin
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payrun: % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

-- A publisher account (SPEC §7). Minimal here; the admin API extends it.
-- Seller ids payrun assigns are S + nine digits from this sequence.
CREATE SEQUENCE seller_ids;
CREATE TABLE accounts (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id            text NOT NULL UNIQUE
                         CHECK (seller_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    publisher_id         text NOT NULL UNIQUE,
    account_type         text NOT NULL CHECK (account_type IN ('company', 'individual')),
    registration_country text NOT NULL CHECK (registration_country ~ '^[A-Z]{2}$'),
    display_name         text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION accounts_ids_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seller_id <> OLD.seller_id OR NEW.publisher_id <> OLD.publisher_id OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'payrun: seller_id and publisher_id are immutable'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER accounts_ids_immutable BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_ids_immutable();

-- One row per earnings import.
-- The import takes its id from earnings_import_ids first and writes this row
-- last, when it knows its counts; the lines carry the id without a foreign key
-- (a per-row FK check would double the cost of COPY), and both are written in
-- one transaction.
CREATE SEQUENCE earnings_import_ids;
CREATE TABLE earnings_imports (
    id             bigint PRIMARY KEY,
    source_name    text NOT NULL,
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    lines_read     bigint NOT NULL CHECK (lines_read >= 0),
    lines_imported bigint NOT NULL CHECK (lines_imported >= 0),
    lines_skipped  bigint NOT NULL CHECK (lines_skipped >= 0),
    total_amount   numeric(20, 6) NOT NULL CHECK (total_amount <> 'NaN'),
    imported_at    timestamptz NOT NULL
);

-- SPEC §2. Immutable once written: corrections are new adjustment lines.
CREATE TABLE earnings_lines (
    import_id        bigint NOT NULL,
    account_id       bigint NOT NULL,
    revenue_source   text NOT NULL CHECK (revenue_source IN ('app', 'in_app', 'subscription', 'marketplace', 'advertising')),
    transaction_id   text NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 128),
    transaction_type text NOT NULL CHECK (transaction_type IN ('purchase', 'refund', 'chargeback', 'reversal', 'adjustment')),
    market           text NOT NULL CHECK (market ~ '^[A-Z]{2}$'),
    transaction_at   timestamptz NOT NULL,
    amount           numeric(20, 6) NOT NULL CHECK (amount <> 'NaN'),
    eligible_at      timestamptz NOT NULL CHECK (eligible_at >= transaction_at),
    -- max(eligible_at, the import's time): the instant the line became payable
    -- and known. It enters the first cycle whose cutoff is after it, and no
    -- other (see package ledger), so a close reads one range of it.
    available_at     timestamptz NOT NULL CHECK (available_at >= eligible_at),
    CHECK (CASE transaction_type
               WHEN 'purchase' THEN amount > 0
               WHEN 'adjustment' THEN amount <> 0
               ELSE amount < 0
           END),
    -- transaction_id first: source systems' ids mostly grow with time, so new
    -- keys land at the right edge of the index instead of all over it.
    UNIQUE (transaction_id, revenue_source)
);
-- BRIN: nearly free to maintain during COPY; lines arrive roughly in time
-- order, which is what a close's range scan over available_at needs.
-- autosummarize: a block range is summarized (by autovacuum) as soon as it
-- fills; unsummarized ranges are always scanned, so without it a close would
-- read more of the history the longer vacuum waits.
CREATE INDEX earnings_lines_available_at ON earnings_lines USING brin (available_at) WITH (autosummarize = on);
-- No per-account B-tree: it would double the cost of COPY (random inserts
-- across every publisher). A statement reads its cycle's window through the
-- BRIN index and filters the publisher.

CREATE TRIGGER earnings_lines_append_only BEFORE UPDATE OR DELETE ON earnings_lines
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER earnings_lines_no_truncate BEFORE TRUNCATE ON earnings_lines
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The journal. A ledger account is a colon-separated address:
--   publisher:<account id>:us | publisher:<account id>:other  what we owe a publisher
--   platform:earnings                                         source of earnings
--   tax:us_withholding, payments:in_transit, ...              (later migrations)
CREATE TABLE ledger_transactions (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      text NOT NULL CHECK (kind ~ '^[a-z_]+$'),
    reference text NOT NULL,
    posted_at timestamptz NOT NULL,
    UNIQUE (kind, reference)
);

CREATE TABLE postings (
    transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
    ledger_account text NOT NULL CHECK (ledger_account ~ '^[a-z_]+(:[A-Za-z0-9_]+)*$'),
    amount         numeric(20, 6) NOT NULL CHECK (amount <> 'NaN' AND amount <> 0)
);
CREATE INDEX postings_transaction_id ON postings (transaction_id);

CREATE TABLE ledger_balances (
    ledger_account text PRIMARY KEY,
    balance        numeric(20, 6) NOT NULL CHECK (balance <> 'NaN')
);

-- After every INSERT statement into postings: each transaction it touched must
-- sum to zero (over all its postings, not only the new ones), and the balances
-- move by the new postings. A statement-level trigger with a transition table
-- does both in one pass, so a bulk insert costs one check per transaction, not
-- one per posting.
-- +goose StatementBegin
CREATE FUNCTION postings_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.transaction_id, sum(p.amount) AS total INTO bad
      FROM postings p
     WHERE p.transaction_id IN (SELECT DISTINCT transaction_id FROM new_postings)
     GROUP BY p.transaction_id
    HAVING sum(p.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: ledger transaction % does not balance: postings sum to %', bad.transaction_id, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ledger_balances AS b (ledger_account, balance)
    SELECT ledger_account, sum(amount) FROM new_postings GROUP BY ledger_account
    ON CONFLICT (ledger_account) DO UPDATE SET balance = b.balance + excluded.balance;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER postings_zero_sum AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_zero_sum();

-- At commit, every ledger transaction created in it has at least two postings.
-- +goose StatementBegin
CREATE FUNCTION ledger_transactions_have_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM postings WHERE transaction_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'payrun: ledger transaction % (%) has fewer than two postings', NEW.id, NEW.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER ledger_transactions_have_postings AFTER INSERT ON ledger_transactions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transactions_have_postings();

CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Balances change only through the postings trigger.
-- +goose StatementBegin
CREATE FUNCTION ledger_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- +goose Down
DROP TABLE ledger_balances, postings, ledger_transactions, earnings_lines, earnings_imports, accounts;
DROP SEQUENCE earnings_import_ids, seller_ids;
DROP FUNCTION ledger_balances_guard, ledger_transactions_have_postings, postings_zero_sum,
    accounts_ids_immutable, append_only;
