-- The finance console's sessions (issue 21; package console, "Sessions").
--
-- A console session is a token like the API's, with another audience: the
-- console's cookie carries it, the API refuses it as a bearer token and the
-- console refuses an API token as a cookie, so a session cookie never opens
-- the API and a token copied out of a script never opens the console. A
-- console token's expires_at slides: each request moves it to now + 30
-- minutes (the idle limit), never past issued_at + 12 hours (the longest
-- session), so an idle session ends on its own, in the database, whatever
-- the browser keeps.

--
-- The audit log names its actor by kind and name ("operator:ann"); names
-- can be reused after a deletion, ids cannot, so each entry now also keeps
-- the principal's id (operator, user, owner identity or app; NULL for
-- payrun's own jobs and for entries written before this migration).

-- +goose Up
ALTER TABLE tokens ADD COLUMN audience text NOT NULL DEFAULT 'api' CHECK (audience IN ('api', 'console'));
ALTER TABLE audit_log ADD COLUMN actor_id bigint;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN actor_id;
ALTER TABLE tokens DROP COLUMN audience;
