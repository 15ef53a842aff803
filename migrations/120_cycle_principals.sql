-- Who moved a cycle, by canonical id (maker-checker, SPEC §3.4; §7.8:
-- "Maker-checker compares principals by id, never by a typed name").
--
-- closed_by, approved_by and released_by stay: they are the names shown
-- ("operator:alice", "job:close-cycle"). Beside each, the operator's id, or
-- NULL for the system principal (the scheduled jobs, the simulator's own
-- bookkeeping, a CLI close or release run without --by), which never
-- approves. cycle_events gets the same id for the events written from now on.
--
-- Backfill: a free-text name "operator:NAME", "cli:NAME" (the CLI's old
-- default, the OS user: mapped too, so that person cannot approve their own
-- close) or "NAME" (any case, spaces around it) of an existing operator maps
-- to that operator's id; any other name stays a system principal (NULL).
-- An approval that maps to no operator, or to the operator who closed the
-- cycle, was given under the old string comparison and would be refused
-- today:
--   - on a cycle not released yet it is withdrawn (approved_at and
--     approved_by cleared, an event records it), so a finance approver other
--     than the closer must approve again before the files are released;
--   - on a released or settled cycle it stays as history (the files went
--     out), without an approver id.
-- After the backfill the table itself refuses what Approve refuses:
-- an approver id equal to the closer's (cycles_maker_checker), an approval
-- pending release without an operator behind it (cycles_approved_by_operator).

-- +goose Up

ALTER TABLE cycles
    ADD COLUMN closed_by_operator_id   bigint REFERENCES operators (id),
    ADD COLUMN approved_by_operator_id bigint REFERENCES operators (id),
    ADD COLUMN released_by_operator_id bigint REFERENCES operators (id);
ALTER TABLE cycle_events ADD COLUMN operator_id bigint REFERENCES operators (id);

COMMENT ON COLUMN cycles.closed_by_operator_id IS 'the operator who closed the cycle; NULL: the system principal (job, simulator, CLI without --by)';
COMMENT ON COLUMN cycles.approved_by_operator_id IS 'the finance approver; never closed_by_operator_id (cycles_maker_checker)';
COMMENT ON COLUMN cycles.released_by_operator_id IS 'the operator who released the files; NULL: the system principal';
COMMENT ON COLUMN cycle_events.operator_id IS 'the operator behind the event (NULL: the system principal, or an event written before 120)';

UPDATE cycles c SET closed_by_operator_id = o.id
  FROM operators o
 WHERE o.user_name = lower(btrim(regexp_replace(btrim(c.closed_by), '^(operator|cli):', '', 'i')));

UPDATE cycles c SET approved_by_operator_id = o.id
  FROM operators o
 WHERE o.user_name = lower(btrim(regexp_replace(btrim(c.approved_by), '^(operator|cli):', '', 'i')))
   AND o.id IS DISTINCT FROM c.closed_by_operator_id;

UPDATE cycles c SET released_by_operator_id = o.id
  FROM operators o
 WHERE o.user_name = lower(btrim(regexp_replace(btrim(c.released_by), '^(operator|cli):', '', 'i')));

INSERT INTO cycle_events (month, state, at, actor, note)
SELECT month, state, now(), 'migration:120',
       format('approval by %s withdrawn: it names no operator, or the operator who closed the cycle; a finance approver other than the closer must approve it again', approved_by)
  FROM cycles
 WHERE state = 'awaiting_approval' AND approved_at IS NOT NULL AND approved_by_operator_id IS NULL
 ORDER BY month;

UPDATE cycles SET approved_at = NULL, approved_by = NULL
 WHERE state = 'awaiting_approval' AND approved_at IS NOT NULL AND approved_by_operator_id IS NULL;

ALTER TABLE cycles
    ADD CONSTRAINT cycles_maker_checker CHECK (approved_by_operator_id <> closed_by_operator_id),
    ADD CONSTRAINT cycles_approved_by_operator CHECK (state <> 'awaiting_approval' OR approved_at IS NULL OR approved_by_operator_id IS NOT NULL);

-- +goose Down
ALTER TABLE cycles
    DROP CONSTRAINT cycles_approved_by_operator,
    DROP CONSTRAINT cycles_maker_checker,
    DROP COLUMN released_by_operator_id,
    DROP COLUMN approved_by_operator_id,
    DROP COLUMN closed_by_operator_id;
ALTER TABLE cycle_events DROP COLUMN operator_id;
