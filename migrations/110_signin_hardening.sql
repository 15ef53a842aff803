-- Password reset codes: one live code per user (security review, item 6).
--
-- A new request revokes the user's earlier codes (revoked_at) before it
-- inserts its own; completing a reset uses its code and revokes any other.
-- The partial unique index makes a second live code impossible, whatever
-- races. Used and revoked rows stay: RequestPasswordReset counts a user's
-- codes of the last hour (password_resets_recent) and sends no more mail
-- after accounts.MaxPasswordResetsPerHour.
--
-- Sign-in attempts need no change: the lockout's count and the attempt's
-- record became one step under a transaction advisory lock (accounts,
-- checkPassword).

-- +goose Up
ALTER TABLE password_resets ADD COLUMN revoked_at timestamptz;
-- Codes issued before this migration: the newest of each user stays live.
UPDATE password_resets SET revoked_at = now()
WHERE token_hash IN (
    SELECT token_hash FROM (
        SELECT token_hash, row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC, token_hash) AS n
        FROM password_resets WHERE used_at IS NULL) live
    WHERE n > 1);
CREATE UNIQUE INDEX password_resets_one_live ON password_resets (user_id) WHERE used_at IS NULL AND revoked_at IS NULL;
CREATE INDEX password_resets_recent ON password_resets (user_id, created_at);

-- +goose Down
DROP INDEX password_resets_recent;
DROP INDEX password_resets_one_live;
-- Without the column a revoked code would work again: call it used.
UPDATE password_resets SET used_at = revoked_at WHERE used_at IS NULL AND revoked_at IS NOT NULL;
ALTER TABLE password_resets DROP COLUMN revoked_at;
