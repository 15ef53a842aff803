-- Account settings, the built-in directory, principals, tokens and the audit
-- log (SPEC §7). See packages accounts and admin for the design.

-- +goose Up

-- Verification steps (SPEC §7.1): a history; the newest event per step counts.
CREATE TABLE verification_step_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    step       text NOT NULL CHECK (step IN ('email', 'employment', 'business')),
    state      text NOT NULL CHECK (state IN ('not_started', 'pending', 'passed', 'failed')),
    at         timestamptz NOT NULL,
    actor      text NOT NULL
);
CREATE INDEX verification_step_events_account ON verification_step_events (account_id, step, at);
CREATE TRIGGER verification_step_events_append_only BEFORE UPDATE OR DELETE ON verification_step_events
    FOR EACH ROW EXECUTE FUNCTION append_only();

-- Contact information (SPEC §7.3); the display name stays on accounts.
-- version backs the ETag: every update increments it.
CREATE TABLE account_contacts (
    account_id             bigint PRIMARY KEY REFERENCES accounts (id),
    seller_contact         jsonb NOT NULL DEFAULT '{}',
    company_approver       jsonb NOT NULL DEFAULT '{}',
    version                bigint NOT NULL CHECK (version > 0),
    updated_at             timestamptz NOT NULL,
    updated_by             text NOT NULL
);

-- The built-in directory: tenants, users, groups, apps and app keys.
CREATE TABLE tenants (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        uuid NOT NULL UNIQUE,
    domain           text NOT NULL UNIQUE
                     CHECK (domain ~ '^[a-z0-9][a-z0-9-]{0,62}\.onmicrosoft\.com$'),
    organization     text NOT NULL CHECK (length(organization) BETWEEN 1 AND 200),
    contact_email    text NOT NULL DEFAULT '',
    on_premises_sync boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL
);

CREATE TABLE directory_users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants (id),
    user_name            text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 300),
    first_name           text NOT NULL DEFAULT '',
    last_name            text NOT NULL DEFAULT '',
    kind                 text NOT NULL CHECK (kind IN ('member', 'guest')),
    email                text NOT NULL DEFAULT '',
    global_admin         boolean NOT NULL DEFAULT false,
    recovery_email       text,
    password_hash        text,
    must_change_password boolean NOT NULL DEFAULT false,
    version              bigint NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at           timestamptz NOT NULL,
    UNIQUE (tenant_id, user_name),
    CHECK (kind = 'member' OR email <> '')
);

CREATE TABLE directory_groups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    created_at   timestamptz NOT NULL,
    UNIQUE (tenant_id, display_name)
);

CREATE TABLE directory_group_members (
    group_id bigint NOT NULL REFERENCES directory_groups (id),
    user_id  bigint NOT NULL REFERENCES directory_users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX directory_group_members_user ON directory_group_members (user_id);

-- Reply URLs and app-ID URIs: at most 256 characters (SPEC §7.7, §11) and
-- unique within the tenant's directory.
CREATE TABLE directory_apps (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    client_id    uuid NOT NULL UNIQUE,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    reply_url    text NOT NULL CHECK (length(reply_url) BETWEEN 1 AND 256),
    app_id_uri   text NOT NULL CHECK (length(app_id_uri) BETWEEN 1 AND 256),
    created_at   timestamptz NOT NULL,
    UNIQUE (tenant_id, reply_url),
    UNIQUE (tenant_id, app_id_uri)
);

-- Key secrets are stored only as argon2id hashes.
CREATE TABLE app_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      bigint NOT NULL REFERENCES directory_apps (id),
    key_id      uuid NOT NULL UNIQUE,
    secret_hash text NOT NULL CHECK (secret_hash LIKE '$argon2id$%'),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
    removed_at  timestamptz
);
CREATE INDEX app_keys_app ON app_keys (app_id);

-- Tenants associated with a publisher account (SPEC §7.2, §7.9). A tenant
-- belongs to at most one account at a time.
CREATE TABLE account_tenants (
    tenant_id     bigint PRIMARY KEY REFERENCES tenants (id),
    account_id    bigint NOT NULL REFERENCES accounts (id),
    associated_at timestamptz NOT NULL,
    associated_by text NOT NULL
);
CREATE INDEX account_tenants_account ON account_tenants (account_id);

-- Custom permission sets (SPEC §7.8). Names never collide with built-in
-- roles (checked in Go, where the role table lives).
CREATE TABLE permission_sets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id),
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    permissions text[] NOT NULL,
    created_at  timestamptz NOT NULL,
    UNIQUE (account_id, name)
);

-- Who in the directory has access to an account, with which roles. Exactly
-- one of user, group, app per row. Only rows of the account itself can be
-- removed by it: that is "users the remover's account added".
CREATE TABLE account_members (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    user_id    bigint REFERENCES directory_users (id),
    group_id   bigint REFERENCES directory_groups (id),
    app_id     bigint REFERENCES directory_apps (id),
    roles      text[] NOT NULL,
    version    bigint NOT NULL DEFAULT 1 CHECK (version > 0),
    added_at   timestamptz NOT NULL,
    added_by   text NOT NULL,
    CHECK (num_nonnulls(user_id, group_id, app_id) = 1),
    UNIQUE (account_id, user_id),
    UNIQUE (account_id, group_id),
    UNIQUE (account_id, app_id)
);

-- The owner's personal sign-in identity (SPEC §6.1, §7.4): one per account,
-- never shared between accounts.
CREATE TABLE owner_identities (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id           bigint NOT NULL UNIQUE REFERENCES accounts (id),
    email                text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    must_change_password boolean NOT NULL DEFAULT false,
    linked_at            timestamptz NOT NULL,
    linked_by            text NOT NULL
);

-- Platform staff (SPEC §7.11): a separate kind of principal.
CREATE TABLE operators (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name            text NOT NULL UNIQUE CHECK (user_name ~ '^[a-z][a-z0-9._-]{0,63}$'),
    display_name         text NOT NULL DEFAULT '',
    roles                text[] NOT NULL CHECK (cardinality(roles) > 0),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    must_change_password boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL
);

-- Invitations (SPEC §7.5): a guest has no access until accepting.
CREATE TABLE invitations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    user_id      bigint NOT NULL REFERENCES directory_users (id),
    email        text NOT NULL,
    roles        text[] NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    status       text NOT NULL CHECK (status IN ('pending', 'accepted', 'expired')),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
    sent_count   integer NOT NULL DEFAULT 1 CHECK (sent_count > 0),
    last_sent_at timestamptz NOT NULL,
    accepted_at  timestamptz,
    invited_by   text NOT NULL,
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
);
CREATE INDEX invitations_account ON invitations (account_id, id);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (account_id, user_id) WHERE status = 'pending';

-- Self-service password resets: single use, short-lived, stored hashed.
CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES directory_users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    used_at    timestamptz
);

-- Bearer tokens: opaque, stored as sha256 (they carry 256 random bits, so a
-- slow hash adds nothing), valid 60 minutes, revocable.
CREATE TABLE tokens (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash     bytea NOT NULL UNIQUE,
    principal_kind text NOT NULL CHECK (principal_kind IN ('user', 'owner', 'app', 'operator')),
    principal_id   bigint NOT NULL,
    account_id     bigint REFERENCES accounts (id),
    tenant_id      bigint REFERENCES tenants (id),
    restricted     boolean NOT NULL,
    issued_at      timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL CHECK (expires_at > issued_at),
    revoked_at     timestamptz
);
CREATE INDEX tokens_principal ON tokens (principal_kind, principal_id);
CREATE INDEX tokens_tenant ON tokens (tenant_id) WHERE tenant_id IS NOT NULL;

-- Sign-in attempts, for lockout (5 failures in 15 minutes).
CREATE TABLE sign_in_attempts (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject   text NOT NULL,
    at        timestamptz NOT NULL,
    succeeded boolean NOT NULL
);
CREATE INDEX sign_in_attempts_subject ON sign_in_attempts (subject, at);

-- Mail to send. Bodies are stored with secrets replaced by [redacted]; the
-- message with the secret exists only in the file written for delivery.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    to_address text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    file_name  text
);

-- Idempotency keys of create requests: the request hash beside the key
-- makes a different body under the same key a conflict.
CREATE TABLE idempotency_keys (
    principal    text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status       integer,
    content_type text,
    body         bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);

-- The audit log: every change, who, when, what, before and after (secrets
-- redacted before they get here). Append-only.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint REFERENCES accounts (id),
    actor      text NOT NULL,
    at         timestamptz NOT NULL,
    action     text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    target     text NOT NULL,
    before     jsonb,
    after      jsonb
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- +goose Down
DROP TABLE audit_log, idempotency_keys, outbox, sign_in_attempts, tokens, password_resets,
    invitations, operators, owner_identities, account_members, permission_sets, account_tenants,
    app_keys, directory_apps, directory_group_members, directory_groups, directory_users, tenants,
    account_contacts, verification_step_events;
