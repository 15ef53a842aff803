-- The sharded close (package payout/store, "The close in three steps"):
-- a cycle's input is frozen when it starts (cycle_inputs, one row per
-- account with a balance, each assigned to a shard by a hash of its id),
-- the shards are decided and written independently (cycle_shards holds each
-- one's progress), and a last step completes the cycle when every shard has.

-- +goose Up
ALTER TABLE cycles ADD COLUMN shards integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 1024);
COMMENT ON COLUMN cycles.accounts_done IS 'unused since 070: see cycle_shards';
COMMENT ON COLUMN cycles.resume_after IS 'unused since 070: see cycle_shards';

-- Everything payout.Decide needs about one account, as of the cutoff.
-- Written once, in the transaction that starts the close; never changed.
CREATE TABLE cycle_inputs (
    month                 date NOT NULL REFERENCES cycles (month),
    shard                 integer NOT NULL CHECK (shard >= 0),
    account_id            bigint NOT NULL REFERENCES accounts (id),
    seller_id             text NOT NULL,
    opening_us            numeric(20, 6) NOT NULL,
    opening_other         numeric(20, 6) NOT NULL,
    new_us                numeric(20, 6) NOT NULL,
    new_other             numeric(20, 6) NOT NULL,
    account_status        text NOT NULL,
    hold_on               boolean NOT NULL,
    agreement_hold        boolean NOT NULL,
    payout_account_id     bigint,
    method                text NOT NULL,
    currency              text NOT NULL,
    bank_country          text NOT NULL,
    payout_account_status text NOT NULL,
    tax_form_id           bigint,
    submitted_at          timestamptz,
    tin_match_failed      boolean NOT NULL,
    changes               jsonb NOT NULL,
    PRIMARY KEY (month, shard, account_id)
);
CREATE TRIGGER cycle_inputs_append_only BEFORE UPDATE OR DELETE ON cycle_inputs
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER cycle_inputs_no_truncate BEFORE TRUNCATE ON cycle_inputs
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

CREATE TABLE cycle_shards (
    month         date NOT NULL REFERENCES cycles (month),
    shard         integer NOT NULL CHECK (shard >= 0),
    accounts      bigint NOT NULL CHECK (accounts >= 0),
    accounts_done bigint NOT NULL DEFAULT 0 CHECK (accounts_done BETWEEN 0 AND accounts),
    resume_after  bigint NOT NULL DEFAULT 0,
    done_at       timestamptz,
    done_by       text,
    PRIMARY KEY (month, shard),
    CHECK ((done_at IS NULL) = (done_by IS NULL)),
    CHECK (done_at IS NULL OR accounts_done = accounts)
);

-- +goose Down
DROP TABLE cycle_shards, cycle_inputs;
ALTER TABLE cycles DROP COLUMN shards;
COMMENT ON COLUMN cycles.accounts_done IS NULL;
COMMENT ON COLUMN cycles.resume_after IS NULL;
