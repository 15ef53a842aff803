-- Publisher payouts exports (issue 20; package payout/publisher, "Exports"):
-- a publisher asks for its payments or transactions of a month range as a
-- CSV or xlsx file; the request is a row here, written in the transaction
-- that enqueues the payouts-export job, which streams the file under the
-- output directory and marks the row done with the file's size and sha256.
--
-- status: queued (the job waits), running (an attempt is writing the file),
-- done (the file is published; a re-run does nothing), failed (the last
-- attempt failed, with its error; a retry sets running again).
-- file_path is relative to the output directory: exports/SELLER/ID.EXT.

-- +goose Up
CREATE TABLE payout_exports (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Z2-7]{26}$'),
    account_id   bigint NOT NULL REFERENCES accounts (id),
    kind         text NOT NULL CHECK (kind IN ('payments', 'transactions')),
    format       text NOT NULL CHECK (format IN ('csv', 'xlsx')),
    from_month   date NOT NULL CHECK (from_month = date_trunc('month', from_month)),
    to_month     date NOT NULL CHECK (to_month = date_trunc('month', to_month)),
    status       text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows         bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
    error        text NOT NULL DEFAULT '' CHECK (char_length(error) <= 8192),
    file_path    text NOT NULL DEFAULT '',
    file_size    bigint NOT NULL DEFAULT 0 CHECK (file_size >= 0),
    file_sha256  text NOT NULL DEFAULT '' CHECK (file_sha256 = '' OR file_sha256 ~ '^[0-9a-f]{64}$'),
    requested_by text NOT NULL CHECK (char_length(requested_by) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    CONSTRAINT payout_exports_range CHECK (to_month >= from_month AND to_month < from_month + interval '24 months'),
    CONSTRAINT payout_exports_done CHECK ((status = 'done') = (file_sha256 <> '' AND finished_at IS NOT NULL)),
    CONSTRAINT payout_exports_failed CHECK ((status = 'failed') = (error <> ''))
);

COMMENT ON TABLE payout_exports IS 'publisher payouts exports (payout/publisher): one row per request, written by the payouts-export job';
COMMENT ON COLUMN payout_exports.file_path IS 'relative to the output directory: exports/SELLER/ID.EXT';

-- An account's exports, newest first.
CREATE INDEX payout_exports_account ON payout_exports (account_id, created_at DESC);

-- +goose Down
DROP TABLE payout_exports;
