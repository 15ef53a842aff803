-- FX rates can be corrected until the cycle closes (SPEC §6.4: "Rates can be
-- replaced (audited) until the cycle closes, never after").
--
-- fx_rate_changes is the audit: one row per rate an import added or replaced,
-- with the rate before (NULL when added) and after, the previous cycle's rate
-- it was compared with, whether the move beyond the policy's fx_max_change
-- was confirmed, and who loaded it. Append-only.
--
-- fx_rates rows are replaced in place (UPDATE) by a re-import; the trigger
-- refuses any UPDATE or DELETE of a month whose cycle has started closing,
-- whatever the client, so a closed cycle's conversions can always be
-- reproduced. Rows of earlier imports have no audit rows (nothing to backfill:
-- they were never replaced).

-- +goose Up

CREATE TABLE fx_rate_changes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month          date NOT NULL,
    currency       text NOT NULL,
    old_rate       numeric(20, 10),
    old_rate_date  date,
    old_source     text,
    new_rate       numeric(20, 10) NOT NULL CHECK (new_rate > 0),
    new_rate_date  date NOT NULL,
    new_source     text NOT NULL,
    previous_month date,
    previous_rate  numeric(20, 10),
    confirmed      boolean NOT NULL,
    changed_at     timestamptz NOT NULL,
    changed_by     text NOT NULL,
    CHECK ((old_rate IS NULL) = (old_rate_date IS NULL) AND (old_rate IS NULL) = (old_source IS NULL)),
    CHECK ((previous_month IS NULL) = (previous_rate IS NULL))
);
CREATE INDEX fx_rate_changes_month ON fx_rate_changes (month, currency, id);

CREATE TRIGGER fx_rate_changes_append_only BEFORE UPDATE OR DELETE ON fx_rate_changes
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- +goose StatementBegin
CREATE FUNCTION fx_rates_fixed_once_closing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cycle_state text;
BEGIN
    SELECT state INTO cycle_state FROM cycles WHERE month = OLD.month;
    IF cycle_state IS NOT NULL AND cycle_state <> 'open' THEN
        RAISE EXCEPTION 'fx_rates of % are fixed: the cycle is %', to_char(OLD.month, 'YYYY-MM'), cycle_state
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER fx_rates_fixed_once_closing BEFORE UPDATE OR DELETE ON fx_rates
    FOR EACH ROW EXECUTE FUNCTION fx_rates_fixed_once_closing();

-- +goose Down
DROP TRIGGER fx_rates_fixed_once_closing ON fx_rates;
DROP FUNCTION fx_rates_fixed_once_closing();
DROP TABLE fx_rate_changes;
