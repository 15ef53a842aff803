-- How each outbox message left: a file under <out>/outbox, or SMTP.

-- +goose Up
ALTER TABLE outbox ADD COLUMN sent_via text CHECK (sent_via IN ('file', 'smtp')), ADD COLUMN sent_at timestamptz;

-- +goose Down
ALTER TABLE outbox DROP COLUMN sent_via, DROP COLUMN sent_at;
