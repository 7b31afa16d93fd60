-- Identity: players and their sessions, sign-in challenges, operators, the admin audit trail.

CREATE TABLE backend.users (
    id                   uuid PRIMARY KEY,
    email                text NOT NULL,
    -- Lower-cased email: unique, so addresses compare case-insensitively.
    email_normalized     text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    language             text NOT NULL DEFAULT 'en',
    time_zone            text NOT NULL DEFAULT 'UTC',
    country              text,
    tier                 text,
    max_owned_games      integer CHECK (max_owned_games >= 0),
    max_active_games     integer CHECK (max_active_games >= 0),
    block_kind           text CHECK (block_kind IN ('temporary', 'permanent')),
    block_reason         text,
    blocked_until        timestamptz,
    blocked_at           timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at      timestamptz,
    deleted_at           timestamptz,
    CONSTRAINT users_email_normalized_key UNIQUE (email_normalized),
    CONSTRAINT users_temporary_block_has_end
        CHECK (block_kind IS DISTINCT FROM 'temporary' OR blocked_until IS NOT NULL)
);
CREATE INDEX users_created_at_idx ON backend.users (created_at, id);

CREATE TABLE backend.auth_challenges (
    id                   uuid PRIMARY KEY,
    email                text NOT NULL,
    email_normalized     text NOT NULL,
    -- HMAC-SHA256 of the code under the server's secret key; the code itself is never stored.
    code_hash            bytea NOT NULL,
    attempts             integer NOT NULL DEFAULT 0,
    max_attempts         integer NOT NULL,
    client_ip            inet,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    consumed_at          timestamptz
);
CREATE INDEX auth_challenges_email_idx ON backend.auth_challenges (email_normalized, created_at);
CREATE INDEX auth_challenges_ip_idx ON backend.auth_challenges (client_ip, created_at);
CREATE INDEX auth_challenges_expires_idx ON backend.auth_challenges (expires_at);

CREATE TABLE backend.sessions (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES backend.users (id) ON DELETE CASCADE,
    -- SHA-256 of a 256-bit random token; the token itself is never stored.
    token_hash           bytea NOT NULL,
    device_name          text,
    client_ip            inet,
    user_agent           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz,
    revoke_reason        text,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_idx ON backend.sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_live_idx ON backend.sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE backend.admin_accounts (
    id                   uuid PRIMARY KEY,
    username             text NOT NULL,
    username_normalized  text NOT NULL,
    -- argon2id hash in PHC string form.
    password_hash        text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('admin', 'viewer')),
    failed_logins        integer NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    last_login_at        timestamptz,
    disabled_at          timestamptz,
    CONSTRAINT admin_accounts_username_key UNIQUE (username_normalized)
);

CREATE TABLE backend.admin_sessions (
    id                   uuid PRIMARY KEY,
    admin_id             uuid NOT NULL REFERENCES backend.admin_accounts (id) ON DELETE CASCADE,
    token_hash           bytea NOT NULL,
    client_ip            inet,
    user_agent           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz,
    CONSTRAINT admin_sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX admin_sessions_live_idx ON backend.admin_sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE backend.admin_audit (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id             uuid REFERENCES backend.admin_accounts (id) ON DELETE SET NULL,
    admin_username       text NOT NULL,
    action               text NOT NULL,
    target_type          text,
    target_id            text,
    details              jsonb NOT NULL DEFAULT '{}'::jsonb,
    client_ip            inet,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_audit_created_idx ON backend.admin_audit (created_at DESC);
CREATE INDEX admin_audit_target_idx ON backend.admin_audit (target_type, target_id);
