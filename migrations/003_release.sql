-- Releasing a cycle (SPEC §6): the payments as sent, the files and FX rates.

-- +goose Up

-- The cycle's FX rates (SPEC §6.4): units of currency per USD.
CREATE TABLE fx_rates (
    month     date NOT NULL,
    currency  text NOT NULL CHECK (currency ~ '^[A-Z]{3}$' AND currency <> 'USD'),
    rate      numeric(20, 10) NOT NULL CHECK (rate > 0),
    rate_date date NOT NULL,
    source    text NOT NULL,
    loaded_at timestamptz NOT NULL,
    PRIMARY KEY (month, currency)
);

-- When the release first ran: the creation time written into every file, so
-- a re-run writes the same bytes.
ALTER TABLE cycles ADD COLUMN release_started_at timestamptz;

-- One row per payment sent: which file, the converted amount, the ACH trace.
CREATE TABLE payments (
    month              date NOT NULL,
    account_id         bigint NOT NULL,
    payment_id         text NOT NULL UNIQUE,
    file               text NOT NULL,
    method             text NOT NULL CHECK (method IN ('bank', 'paypal')),
    rail               text NOT NULL CHECK (rail IN ('ach', 'sepa', 'paypal')),
    amount_usd         numeric(20, 2) NOT NULL CHECK (amount_usd > 0),
    currency           text NOT NULL,
    fx_rate            numeric(20, 10) NOT NULL CHECK (fx_rate > 0),
    amount_in_currency numeric(20, 3) NOT NULL CHECK (amount_in_currency > 0),
    trace              text,
    PRIMARY KEY (month, account_id),
    FOREIGN KEY (month, account_id) REFERENCES payouts (month, account_id)
);
-- Trace sequences restart in every file: unique within a cycle only. Returns
-- match on the payment id (the entry's individual id) and check the trace.
CREATE UNIQUE INDEX payments_trace ON payments (month, trace) WHERE trace IS NOT NULL;

-- The manifest: every file of a released cycle.
CREATE TABLE cycle_files (
    month             date NOT NULL REFERENCES cycles (month),
    name              text NOT NULL,
    kind              text NOT NULL,
    sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    records           integer NOT NULL CHECK (records >= 0),
    control_total_usd numeric(20, 2) NOT NULL,
    currency          text NOT NULL,
    control_total     numeric(20, 3) NOT NULL,
    PRIMARY KEY (month, name)
);

CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER cycle_files_append_only BEFORE UPDATE OR DELETE ON cycle_files
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- +goose Down
DROP TABLE cycle_files, payments, fx_rates;
ALTER TABLE cycles DROP COLUMN release_started_at;
