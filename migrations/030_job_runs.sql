-- Run history of the scheduled jobs (SPEC §8; package jobs). One row per
-- attempt: inserted as 'running' when the attempt starts, finished as
-- 'succeeded' in the same transaction as River's completion of the job, or as
-- 'failed' with the error. River's own tables (river_job, ...) are migrated by
-- jobs.Migrate; this table does not reference them because River deletes
-- finished jobs after a retention period and the history must outlive that.

-- +goose Up
CREATE TABLE job_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job            text NOT NULL CHECK (job ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    occurrence_key text NOT NULL CHECK (char_length(occurrence_key) BETWEEN 1 AND 64),
    scheduled_at   timestamptz NOT NULL,
    river_job_id   bigint NOT NULL,
    attempt        integer NOT NULL CHECK (attempt > 0),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    outcome        text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
    error          text CHECK (char_length(error) <= 8192),
    CONSTRAINT job_runs_finished CHECK ((outcome = 'running') = (finished_at IS NULL)),
    CONSTRAINT job_runs_error CHECK ((outcome = 'failed') = (error IS NOT NULL)),
    CONSTRAINT job_runs_order CHECK (finished_at IS NULL OR finished_at >= started_at)
);

-- Exactly once, held by the database: an occurrence succeeds at most once,
-- whatever River's retention did to the river_job row that deduplicated it.
CREATE UNIQUE INDEX job_runs_one_success ON job_runs (job, occurrence_key) WHERE outcome = 'succeeded';
-- `payrun jobs list` (newest first) and the last success per job.
CREATE INDEX job_runs_newest ON job_runs (started_at DESC, id DESC);
CREATE INDEX job_runs_job_newest ON job_runs (job, started_at DESC) WHERE outcome = 'succeeded';

-- +goose Down
DROP TABLE job_runs;
