-- Native monthly partitions: earnings_lines by available_at, postings by
-- posted_at (issue 10 item 2). Every row, trigger and guarantee of 001 is
-- kept. See package ledger, "Partitions", for the design.
--
--   earnings_lines_YYYYMM  lines with available_at in that UTC month
--   postings_YYYYMM        postings with posted_at in that UTC month
--   earnings_keys          (transaction_id, revenue_source) -> available_at:
--                          the idempotency key, which a partitioned table
--                          cannot hold (a unique index must contain the
--                          partition key)
--
-- There is no DEFAULT partition: a row for a month without a partition fails
-- loudly. payrun_ensure_partitions creates months ahead (the import, ledger.Post
-- and the maintain-partitions job call it).

-- +goose Up

-- Refuses writes made to a partition directly. The guarantees of both tables
-- live in statement triggers of the parent (earnings_keys, the zero-sum check
-- and the balances), and a statement trigger fires only for a statement that
-- names its table, so every partition carries this one (and append_only for
-- TRUNCATE, for the same reason).
-- +goose StatementBegin
CREATE FUNCTION partition_write_via_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payrun: % is a partition: % through its parent table', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

-- Creates every missing monthly partition of earnings_lines and postings for
-- the months from from_month to to_month (both included; any day of a month
-- means that month) and returns how many partitions it created.
--
-- Cheap when nothing is missing: it looks the names up and takes no lock. To
-- create, it takes a transaction advisory lock (0x7061797275_02, "payru" +
-- 2, beside ledger.ImportLockKey) so concurrent callers create each partition
-- once, and CREATE TABLE ... PARTITION OF locks the parent ACCESS EXCLUSIVE
-- until the transaction ends: call it in a short transaction of its own
-- ahead of time (ledger.EnsurePartitions) where possible.
-- At most 240 months (20 years) per call.
-- +goose StatementBegin
CREATE FUNCTION payrun_ensure_partitions(from_month date, to_month date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    first_month date := date_trunc('month', from_month)::date;
    last_month  date := date_trunc('month', to_month)::date;
    month       date;
    parent      text;
    partition   text;
    created     integer := 0;
    locked      boolean := false;
BEGIN
    IF from_month IS NULL OR to_month IS NULL THEN
        RAISE EXCEPTION 'payrun_ensure_partitions: from_month and to_month are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF last_month < first_month THEN
        RAISE EXCEPTION 'payrun_ensure_partitions: to_month % is before from_month %', to_month, from_month
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF last_month >= first_month + interval '240 months' THEN
        RAISE EXCEPTION 'payrun_ensure_partitions: % to % is more than 240 months', from_month, to_month
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    month := first_month;
    WHILE month <= last_month LOOP
        FOREACH parent IN ARRAY ARRAY['earnings_lines', 'postings'] LOOP
            partition := parent || '_' || to_char(month, 'YYYYMM');
            CONTINUE WHEN to_regclass(quote_ident(partition)) IS NOT NULL;
            IF NOT locked THEN
                PERFORM pg_advisory_xact_lock(123563951682818);
                locked := true;
            END IF;
            -- Another session may have created it while we waited.
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_class WHERE relname = partition
                                    AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()));
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                partition, parent, to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00',
                to_char(month + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
            EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION append_only()',
                partition || '_no_truncate', partition);
            EXECUTE format('CREATE OR REPLACE TRIGGER %I BEFORE INSERT ON %I FOR EACH STATEMENT EXECUTE FUNCTION partition_write_via_parent()',
                partition || '_via_parent', partition);
            created := created + 1;
        END LOOP;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;
-- +goose StatementEnd

-- Earnings lines. Same columns, in the same order, with the same CHECKs;
-- transaction_id and revenue_source compare bytewise (COLLATE "C") like the
-- key table they join to: a non-C libc collation costs a strcoll per
-- comparison and disables abbreviated keys in sorts.
ALTER TABLE earnings_lines RENAME TO earnings_lines_unpartitioned;
ALTER INDEX earnings_lines_available_at RENAME TO earnings_lines_unpartitioned_available_at;
CREATE TABLE earnings_lines (
    import_id        bigint NOT NULL,
    account_id       bigint NOT NULL,
    revenue_source   text COLLATE "C" NOT NULL
                     CONSTRAINT earnings_lines_revenue_source_check CHECK (revenue_source IN ('app', 'in_app', 'subscription', 'marketplace', 'advertising')),
    transaction_id   text COLLATE "C" NOT NULL
                     CONSTRAINT earnings_lines_transaction_id_check CHECK (length(transaction_id) BETWEEN 1 AND 128),
    transaction_type text NOT NULL
                     CONSTRAINT earnings_lines_transaction_type_check CHECK (transaction_type IN ('purchase', 'refund', 'chargeback', 'reversal', 'adjustment')),
    market           text NOT NULL CONSTRAINT earnings_lines_market_check CHECK (market ~ '^[A-Z]{2}$'),
    transaction_at   timestamptz NOT NULL,
    amount           numeric(20, 6) NOT NULL CONSTRAINT earnings_lines_amount_check CHECK (amount <> 'NaN'),
    eligible_at      timestamptz NOT NULL CONSTRAINT earnings_lines_check CHECK (eligible_at >= transaction_at),
    -- max(eligible_at, the import's time): see 001. Also the partition key:
    -- a close's window [previous cutoff, cutoff) is one partition.
    available_at     timestamptz NOT NULL CONSTRAINT earnings_lines_check1 CHECK (available_at >= eligible_at),
    CONSTRAINT earnings_lines_check2 CHECK (CASE transaction_type
               WHEN 'purchase' THEN amount > 0
               WHEN 'adjustment' THEN amount <> 0
               ELSE amount < 0
           END)
) PARTITION BY RANGE (available_at);
-- Created on every partition, present and future (see 001 for why BRIN).
CREATE INDEX earnings_lines_available_at ON earnings_lines USING brin (available_at) WITH (autosummarize = on);
CREATE TRIGGER earnings_lines_append_only BEFORE UPDATE OR DELETE ON earnings_lines
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER earnings_lines_no_truncate BEFORE TRUNCATE ON earnings_lines
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The idempotency key of earnings lines, and where each line lives: the
-- import's slow path reads a line through its available_at, so it touches
-- one partition. transaction_id first, as in 001: ids mostly grow with time.
CREATE TABLE earnings_keys (
    transaction_id text COLLATE "C" NOT NULL,
    revenue_source text COLLATE "C" NOT NULL,
    available_at   timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, revenue_source)
);
CREATE TRIGGER earnings_keys_append_only BEFORE UPDATE OR DELETE ON earnings_keys
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER earnings_keys_no_truncate BEFORE TRUNCATE ON earnings_keys
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- After every INSERT statement (and COPY) into earnings_lines: its keys go
-- into earnings_keys, in the same statement, so a key used before raises
-- unique_violation as the UNIQUE of 001 did, and no writer can forget them.
-- One INSERT ... SELECT per statement, not a trigger per row.
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

-- The journal's postings, with the posted_at of their ledger transaction
-- (ledger.Post writes it; the zero-sum trigger checks it).
ALTER TABLE postings RENAME TO postings_unpartitioned;
ALTER INDEX postings_transaction_id RENAME TO postings_unpartitioned_transaction_id;
CREATE TABLE postings (
    transaction_id bigint NOT NULL CONSTRAINT postings_transaction_id_fkey REFERENCES ledger_transactions (id),
    ledger_account text NOT NULL CONSTRAINT postings_ledger_account_check CHECK (ledger_account ~ '^[a-z_]+(:[A-Za-z0-9_]+)*$'),
    amount         numeric(20, 6) NOT NULL CONSTRAINT postings_amount_check CHECK (amount <> 'NaN' AND amount <> 0),
    posted_at      timestamptz NOT NULL
) PARTITION BY RANGE (posted_at);
CREATE INDEX postings_transaction_id ON postings (transaction_id);
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Partitions for every month from the oldest row to three months ahead.
-- now() is the migration's wall clock: a horizon, not a fact.
SELECT payrun_ensure_partitions(
    least(date_trunc('month', now() AT TIME ZONE 'UTC'),
          (SELECT date_trunc('month', min(available_at) AT TIME ZONE 'UTC') FROM earnings_lines_unpartitioned),
          (SELECT date_trunc('month', min(posted_at) AT TIME ZONE 'UTC') FROM ledger_transactions))::date,
    greatest(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months',
             (SELECT date_trunc('month', max(available_at) AT TIME ZONE 'UTC') FROM earnings_lines_unpartitioned),
             (SELECT date_trunc('month', max(posted_at) AT TIME ZONE 'UTC') FROM ledger_transactions))::date);

-- The rows. The keys trigger fills earnings_keys; the zero-sum trigger does
-- not exist yet, so the balances (which already count these postings) stay.
INSERT INTO earnings_lines (import_id, account_id, revenue_source, transaction_id, transaction_type, market,
                            transaction_at, amount, eligible_at, available_at)
SELECT import_id, account_id, revenue_source, transaction_id, transaction_type, market,
       transaction_at, amount, eligible_at, available_at
  FROM earnings_lines_unpartitioned;
INSERT INTO postings (transaction_id, ledger_account, amount, posted_at)
SELECT p.transaction_id, p.ledger_account, p.amount, t.posted_at
  FROM postings_unpartitioned p JOIN ledger_transactions t ON t.id = p.transaction_id;

-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT count(*) FROM earnings_lines) <> (SELECT count(*) FROM earnings_lines_unpartitioned)
       OR (SELECT count(*) FROM earnings_keys) <> (SELECT count(*) FROM earnings_lines_unpartitioned)
       OR (SELECT count(*) FROM postings) <> (SELECT count(*) FROM postings_unpartitioned) THEN
        RAISE EXCEPTION 'payrun: 060 lost rows while partitioning';
    END IF;
END;
$$;
-- +goose StatementEnd
DROP TABLE earnings_lines_unpartitioned, postings_unpartitioned;

-- A posting carries its transaction's posted_at, so all of a transaction's
-- postings live in one partition. Its own trigger (statement triggers fire in
-- name order: before postings_zero_sum), so a later migration that replaces
-- postings_zero_sum cannot drop the check.
-- +goose StatementBegin
CREATE FUNCTION postings_posted_at() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER postings_posted_at AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_posted_at();

-- As in 001, reading only the partitions of the new postings' months (which
-- hold every posting of their transactions, by postings_posted_at), and
-- moving the balances in ledger account order (concurrent writers lock the
-- platform accounts' rows in the same order).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION postings_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    first_posted timestamptz;
    last_posted timestamptz;
BEGIN
    SELECT min(posted_at), max(posted_at) INTO first_posted, last_posted FROM new_postings;
    SELECT p.transaction_id, sum(p.amount) AS total INTO bad
      FROM postings p
     WHERE p.transaction_id IN (SELECT DISTINCT transaction_id FROM new_postings)
       AND p.posted_at BETWEEN first_posted AND last_posted
     GROUP BY p.transaction_id
    HAVING sum(p.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payrun: ledger transaction % does not balance: postings sum to %', bad.transaction_id, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO ledger_balances AS b (ledger_account, balance)
    SELECT ledger_account, sum(amount) FROM new_postings GROUP BY ledger_account ORDER BY ledger_account
    ON CONFLICT (ledger_account) DO UPDATE SET balance = b.balance + excluded.balance;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER postings_zero_sum AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION postings_zero_sum();

-- As in 001, reading only the partition of the transaction's month.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_transactions_have_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM postings WHERE transaction_id = NEW.id AND posted_at = NEW.posted_at) < 2 THEN
        RAISE EXCEPTION 'payrun: ledger transaction % (%) has fewer than two postings', NEW.id, NEW.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- Back to 001's tables. Partitions detached for archiving (archive_*) are
-- left alone: their rows are not brought back.
ALTER TABLE earnings_lines RENAME TO earnings_lines_partitioned;
ALTER INDEX earnings_lines_available_at RENAME TO earnings_lines_partitioned_available_at;
CREATE TABLE earnings_lines (
    import_id        bigint NOT NULL,
    account_id       bigint NOT NULL,
    revenue_source   text NOT NULL
                     CONSTRAINT earnings_lines_revenue_source_check CHECK (revenue_source IN ('app', 'in_app', 'subscription', 'marketplace', 'advertising')),
    transaction_id   text NOT NULL
                     CONSTRAINT earnings_lines_transaction_id_check CHECK (length(transaction_id) BETWEEN 1 AND 128),
    transaction_type text NOT NULL
                     CONSTRAINT earnings_lines_transaction_type_check CHECK (transaction_type IN ('purchase', 'refund', 'chargeback', 'reversal', 'adjustment')),
    market           text NOT NULL CONSTRAINT earnings_lines_market_check CHECK (market ~ '^[A-Z]{2}$'),
    transaction_at   timestamptz NOT NULL,
    amount           numeric(20, 6) NOT NULL CONSTRAINT earnings_lines_amount_check CHECK (amount <> 'NaN'),
    eligible_at      timestamptz NOT NULL CONSTRAINT earnings_lines_check CHECK (eligible_at >= transaction_at),
    available_at     timestamptz NOT NULL CONSTRAINT earnings_lines_check1 CHECK (available_at >= eligible_at),
    CONSTRAINT earnings_lines_check2 CHECK (CASE transaction_type
               WHEN 'purchase' THEN amount > 0
               WHEN 'adjustment' THEN amount <> 0
               ELSE amount < 0
           END),
    CONSTRAINT earnings_lines_transaction_id_revenue_source_key UNIQUE (transaction_id, revenue_source)
);
INSERT INTO earnings_lines SELECT * FROM earnings_lines_partitioned ORDER BY available_at;
CREATE INDEX earnings_lines_available_at ON earnings_lines USING brin (available_at) WITH (autosummarize = on);
CREATE TRIGGER earnings_lines_append_only BEFORE UPDATE OR DELETE ON earnings_lines
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER earnings_lines_no_truncate BEFORE TRUNCATE ON earnings_lines
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

ALTER TABLE postings RENAME TO postings_partitioned;
ALTER INDEX postings_transaction_id RENAME TO postings_partitioned_transaction_id;
CREATE TABLE postings (
    transaction_id bigint NOT NULL CONSTRAINT postings_transaction_id_fkey REFERENCES ledger_transactions (id),
    ledger_account text NOT NULL CONSTRAINT postings_ledger_account_check CHECK (ledger_account ~ '^[a-z_]+(:[A-Za-z0-9_]+)*$'),
    amount         numeric(20, 6) NOT NULL CONSTRAINT postings_amount_check CHECK (amount <> 'NaN' AND amount <> 0)
);
INSERT INTO postings SELECT transaction_id, ledger_account, amount FROM postings_partitioned ORDER BY posted_at, transaction_id;
CREATE INDEX postings_transaction_id ON postings (transaction_id);
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

DROP TABLE earnings_lines_partitioned, postings_partitioned, earnings_keys;
DROP FUNCTION earnings_lines_keys, postings_posted_at, payrun_ensure_partitions;
-- CASCADE: archive tables keep their INSERT guard until here (they stay
-- append-only through append_only()).
DROP FUNCTION partition_write_via_parent CASCADE;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION postings_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_transactions_have_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM postings WHERE transaction_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'payrun: ledger transaction % (%) has fewer than two postings', NEW.id, NEW.reference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
