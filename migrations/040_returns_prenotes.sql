-- Returned payments and ACH prenotes (SPEC §6.1 verification, §6.3 returns).
-- See packages payout/returns and payout/prenote for the design.

-- +goose Up

-- Which payment came back, from which file. payout_returns already holds one
-- row per returned payout (UNIQUE (month, account_id)); these columns say
-- what it matched. Nullable: written by every import, but the table predates
-- them.
ALTER TABLE payout_returns
    ADD COLUMN payment_id     text REFERENCES payments (payment_id),
    ADD COLUMN original_trace text CHECK (original_trace ~ '^[0-9]{15}$'),
    ADD COLUMN source_file    text,
    ADD COLUMN detail         text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX payout_returns_payment ON payout_returns (payment_id) WHERE payment_id IS NOT NULL;

-- One zero-dollar ACH prenote per US bank payout account, ever: the UNIQUE
-- payout_account_id is what stops a second prenote. A day's file is rebuilt
-- from its rows, so it is the same bytes on every run of that day. Trace
-- sequences restart in every file: a trace is unique within its day only.
CREATE TABLE prenotes (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_account_id bigint NOT NULL UNIQUE REFERENCES payout_accounts (id),
    sent_on           date NOT NULL,
    file              text NOT NULL,
    class             text NOT NULL CHECK (class IN ('PPD', 'CCD')),
    transaction_code  integer NOT NULL CHECK (transaction_code IN (23, 33)),
    individual_id     text NOT NULL UNIQUE CHECK (length(individual_id) BETWEEN 1 AND 15),
    trace             text NOT NULL CHECK (trace ~ '^[0-9]{15}$'),
    recorded_at       timestamptz NOT NULL,
    UNIQUE (sent_on, trace)
);
CREATE INDEX prenotes_sent_on ON prenotes (sent_on);

-- A returned prenote: the payout account was rejected with the code.
CREATE TABLE prenote_returns (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prenote_id  bigint NOT NULL UNIQUE REFERENCES prenotes (id),
    return_code text NOT NULL CHECK (return_code ~ '^R[0-9]{2}$'),
    detail      text NOT NULL DEFAULT '',
    source_file text NOT NULL,
    returned_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL
);

CREATE TRIGGER prenotes_append_only BEFORE UPDATE OR DELETE ON prenotes
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER prenote_returns_append_only BEFORE UPDATE OR DELETE ON prenote_returns
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- +goose Down
DROP TABLE prenote_returns, prenotes;
DROP INDEX payout_returns_payment;
ALTER TABLE payout_returns
    DROP COLUMN payment_id,
    DROP COLUMN original_trace,
    DROP COLUMN source_file,
    DROP COLUMN detail;
