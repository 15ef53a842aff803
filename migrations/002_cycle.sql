-- Everything the close reads "as of the cutoff" (SPEC §3.2), and what it writes.
-- Every fact is a history of timestamped events, never an updated flag, so the
-- state at any instant can be recomputed and a close gives the same answer
-- whenever it runs. All histories are append-only.

-- +goose Up

-- Account status (SPEC §7.1): the newest event before an instant counts.
CREATE TABLE account_status_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    status     text NOT NULL CHECK (status IN ('pending', 'verified', 'suspended', 'closed')),
    at         timestamptz NOT NULL,
    actor      text NOT NULL
);
CREATE INDEX account_status_events_account ON account_status_events (account_id, at);

-- Publisher agreements (SPEC §7.10).
CREATE TABLE agreements (
    name                text NOT NULL CHECK (name ~ '^[a-z0-9_-]{1,64}$'),
    version             integer NOT NULL CHECK (version > 0),
    published_at        timestamptz NOT NULL,
    required_for_payout boolean NOT NULL,
    grace_days          integer NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 365),
    PRIMARY KEY (name, version)
);
CREATE TABLE agreement_acceptances (
    account_id  bigint NOT NULL REFERENCES accounts (id),
    name        text NOT NULL,
    version     integer NOT NULL,
    accepted_at timestamptz NOT NULL,
    accepted_by text NOT NULL,
    PRIMARY KEY (account_id, name, version),
    FOREIGN KEY (name, version) REFERENCES agreements (name, version)
);

-- Payment hold (SPEC §4): one switch per account, every change recorded.
CREATE TABLE payment_hold_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    hold_on    boolean NOT NULL,
    at         timestamptz NOT NULL,
    actor      text NOT NULL
);
CREATE INDEX payment_hold_events_account ON payment_hold_events (account_id, at);

-- Payout accounts (SPEC §6.1). A change is a new row; the newest row created
-- before an instant is the account's payout account then, and the previous
-- one is never paid again. Sensitive numbers are AES-GCM sealed (package
-- internal/secret) with their last four characters kept for display.
CREATE TABLE payout_accounts (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id            bigint NOT NULL REFERENCES accounts (id),
    method                text NOT NULL CHECK (method IN ('bank', 'paypal')),
    holder_name           text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 140),
    currency              text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    bank_country          text CHECK (bank_country ~ '^[A-Z]{2}$'),
    bank_account_type     text CHECK (bank_account_type IN ('checking', 'savings')),
    routing_number        text CHECK (routing_number ~ '^[0-9]{9}$'),
    account_number_sealed bytea,
    iban_sealed           bytea,
    number_last4          text,
    bic                   text CHECK (bic ~ '^[A-Z0-9]{8}([A-Z0-9]{3})?$'),
    paypal_email          text,
    billing_address       jsonb,
    phone                 text,
    created_at            timestamptz NOT NULL,
    created_by            text NOT NULL,
    CHECK (method <> 'paypal' OR paypal_email IS NOT NULL),
    CHECK (method <> 'bank' OR (bank_country IS NOT NULL AND number_last4 IS NOT NULL)),
    CHECK (method <> 'bank' OR bank_country <> 'US' OR (routing_number IS NOT NULL AND account_number_sealed IS NOT NULL AND bank_account_type IS NOT NULL)),
    CHECK (method <> 'bank' OR bank_country = 'US' OR (iban_sealed IS NOT NULL AND bic IS NOT NULL))
);
CREATE INDEX payout_accounts_account ON payout_accounts (account_id, created_at);

CREATE TABLE payout_account_events (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payout_account_id bigint NOT NULL REFERENCES payout_accounts (id),
    status            text NOT NULL CHECK (status IN ('pending_verification', 'verified', 'rejected', 'needs_update')),
    at                timestamptz NOT NULL,
    actor             text NOT NULL,
    reason            text NOT NULL DEFAULT ''
);
CREATE INDEX payout_account_events_account ON payout_account_events (payout_account_id, at);

-- Tax forms (SPEC §5.1): every submission kept; the newest before an instant
-- counts. The submission JSON holds no TIN: TINs are sealed beside it, with a
-- keyed digest (HMAC-SHA256) so changes can be detected without decrypting.
CREATE TABLE tax_forms (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         bigint NOT NULL REFERENCES accounts (id),
    form               text NOT NULL CHECK (form IN ('W-9', 'W-8BEN', 'W-8BEN-E')),
    submission         jsonb NOT NULL,
    tin_sealed         bytea,
    tin_digest         bytea,
    tin_last4          text,
    foreign_tin_sealed bytea,
    foreign_tin_last4  text,
    submitted_at       timestamptz NOT NULL,
    submitted_by       text NOT NULL
);
CREATE INDEX tax_forms_account ON tax_forms (account_id, submitted_at);

-- Edits of the legal name or TIN without a new form (they invalidate a W-9).
CREATE TABLE tax_profile_changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    legal_name text,
    tin_digest bytea,
    tin_sealed bytea,
    tin_last4  text,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    CHECK (legal_name IS NOT NULL OR tin_digest IS NOT NULL)
);
CREATE INDEX tax_profile_changes_account ON tax_profile_changes (account_id, at);

-- IRS TIN matching results for a form.
CREATE TABLE tin_match_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tax_form_id bigint NOT NULL REFERENCES tax_forms (id),
    matched     boolean NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL
);
CREATE INDEX tin_match_results_form ON tin_match_results (tax_form_id, at);

-- Treaty tables loaded by ops (SPEC §5.4); without one, the embedded table.
CREATE TABLE treaty_tables (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    body        text NOT NULL,
    source_name text NOT NULL,
    loaded_at   timestamptz NOT NULL,
    loaded_by   text NOT NULL
);

-- Cycles (SPEC §3): one per payment month.
CREATE TABLE cycles (
    month          date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    state          text NOT NULL CHECK (state IN ('open', 'closing', 'closed', 'awaiting_approval', 'released', 'settled')),
    cutoff         timestamptz NOT NULL,
    payment_date   date NOT NULL,
    policy         jsonb NOT NULL,
    treaty_sha256  text NOT NULL,
    accounts_done  bigint NOT NULL DEFAULT 0,
    resume_after   bigint NOT NULL DEFAULT 0,
    totals         jsonb,
    closed_at      timestamptz,
    closed_by      text,
    approved_at    timestamptz,
    approved_by    text,
    released_at    timestamptz,
    released_by    text
);

CREATE TABLE cycle_events (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month  date NOT NULL REFERENCES cycles (month),
    state  text NOT NULL,
    at     timestamptz NOT NULL,
    actor  text NOT NULL,
    note   text NOT NULL DEFAULT ''
);
CREATE TRIGGER cycle_events_append_only BEFORE UPDATE OR DELETE ON cycle_events
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- One row per account the close evaluated (non-zero balance): paid, held or
-- carried. The balances carried out of cycle M are the next cycle's opening
-- balances, so a close reads its own month's lines plus the previous cycle's
-- rows, never the history.
CREATE TABLE payouts (
    month             date NOT NULL REFERENCES cycles (month),
    account_id        bigint NOT NULL REFERENCES accounts (id),
    status            text NOT NULL CHECK (status IN ('paid', 'held', 'carried')),
    reasons           text[] NOT NULL,
    opening_us        numeric(20, 6) NOT NULL,
    opening_other     numeric(20, 6) NOT NULL,
    new_us            numeric(20, 6) NOT NULL,
    new_other         numeric(20, 6) NOT NULL,
    balance_us        numeric(20, 6) NOT NULL,
    balance_other     numeric(20, 6) NOT NULL,
    withholding_base  numeric(20, 6) NOT NULL DEFAULT 0 CHECK (withholding_base >= 0),
    rate              numeric(6, 4) CHECK (rate BETWEEN 0 AND 1),
    rate_reason       text NOT NULL DEFAULT '',
    withheld          numeric(20, 2) NOT NULL DEFAULT 0 CHECK (withheld >= 0),
    paid_usd          numeric(20, 2) NOT NULL DEFAULT 0 CHECK (paid_usd >= 0),
    carried_us        numeric(20, 6) NOT NULL,
    carried_other     numeric(20, 6) NOT NULL,
    payout_account_id bigint REFERENCES payout_accounts (id),
    method            text CHECK (method IN ('bank', 'paypal')),
    currency          text,
    payment_id        text UNIQUE,
    PRIMARY KEY (month, account_id),
    -- Conservation per row: what came in is paid, withheld or carried.
    CHECK (balance_us = opening_us + new_us),
    CHECK (balance_other = opening_other + new_other),
    CHECK (balance_us + balance_other = paid_usd + withheld + carried_us + carried_other),
    CHECK ((status = 'paid') = (paid_usd > 0)),
    CHECK (status = 'paid' OR (withheld = 0 AND carried_us = balance_us AND carried_other = balance_other))
);
CREATE INDEX payouts_account ON payouts (account_id, month);

-- Returned payments (SPEC §6.3): credited back into the next cycle's balance,
-- in the non-US part (it was already withheld on).
CREATE TABLE payout_returns (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month       date NOT NULL,
    account_id  bigint NOT NULL,
    amount_usd  numeric(20, 2) NOT NULL CHECK (amount_usd > 0),
    reason      text NOT NULL,
    source      text NOT NULL,
    returned_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    UNIQUE (month, account_id),
    FOREIGN KEY (month, account_id) REFERENCES payouts (month, account_id)
);
CREATE INDEX payout_returns_recorded ON payout_returns (recorded_at);

CREATE TRIGGER payouts_append_only BEFORE UPDATE OR DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER payout_returns_append_only BEFORE UPDATE OR DELETE ON payout_returns
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER account_status_events_append_only BEFORE UPDATE OR DELETE ON account_status_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER payment_hold_events_append_only BEFORE UPDATE OR DELETE ON payment_hold_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER payout_accounts_append_only BEFORE UPDATE OR DELETE ON payout_accounts
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER payout_account_events_append_only BEFORE UPDATE OR DELETE ON payout_account_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER tax_forms_append_only BEFORE UPDATE OR DELETE ON tax_forms
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER tax_profile_changes_append_only BEFORE UPDATE OR DELETE ON tax_profile_changes
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER agreement_acceptances_append_only BEFORE UPDATE OR DELETE ON agreement_acceptances
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- +goose Down
DROP TABLE payout_returns, payouts, cycle_events, cycles, treaty_tables, tin_match_results,
    tax_profile_changes, tax_forms, payout_account_events, payout_accounts, payment_hold_events,
    agreement_acceptances, agreements, account_status_events;
