-- When this database became payrun's: the instant before which no scheduled
-- job is ever caught up (package jobs, Config.InstalledAt). Without it, the
-- first `payrun serve` on a new database took the previous month's close and
-- January's year-end reports for missed occurrences and ran them at once,
-- writing files nobody asked for.
--
-- One row, written by the migration itself: on a new database, during the
-- `payrun migrate` that creates the schema (seconds after the first
-- migration); on an existing one, when this migration runs — occurrences
-- missed before the upgrade are not caught up either.

-- +goose Up
CREATE TABLE installation (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    installed_at timestamptz NOT NULL
);
INSERT INTO installation (installed_at) VALUES (statement_timestamp());

-- +goose Down
DROP TABLE installation;
