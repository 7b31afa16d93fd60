-- Hardening: shared generated secrets, sign-in guesses per address, admin login throttles,
-- redaction of mails that carry a secret.

-- Secrets generated when BACKEND_SECRET_KEY / BACKEND_INTERNAL_TOKEN are unset: the first
-- replica writes them, every replica on this database reads the same ones.
CREATE TABLE backend.generated_secrets (
    name                 text PRIMARY KEY,
    value                text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- Wrong sign-in codes per client address and fixed window (BACKEND_AUTH_RATE_WINDOW).
CREATE TABLE backend.auth_address_failures (
    client_ip            inet NOT NULL,
    window_start         timestamptz NOT NULL,
    failures             integer NOT NULL CHECK (failures >= 0),
    PRIMARY KEY (client_ip, window_start)
);
CREATE INDEX auth_address_failures_window_idx ON backend.auth_address_failures (window_start);

-- Failed operator logins per client address ('' as the username) and per (address, username
-- as typed). A stranger's failures lock only the stranger out, never the real operator, and
-- a username that does not exist is throttled exactly like one that does.
CREATE TABLE backend.admin_login_failures (
    client_ip            inet NOT NULL,
    username_normalized  text NOT NULL,
    failures             integer NOT NULL CHECK (failures >= 0),
    last_failure_at      timestamptz NOT NULL,
    locked_until         timestamptz,
    PRIMARY KEY (client_ip, username_normalized)
);
CREATE INDEX admin_login_failures_last_idx ON backend.admin_login_failures (last_failure_at);

-- The account-wide lockout is gone: anyone could trigger it for any operator.
ALTER TABLE backend.admin_accounts DROP COLUMN failed_logins, DROP COLUMN locked_until;

-- A mail that carries a secret (a sign-in code) keeps its bodies only until it is sent,
-- fails, or its secret expires (redact_at); then they are replaced by a notice.
ALTER TABLE backend.mail_deliveries
    ADD COLUMN redact_at timestamptz,
    ADD COLUMN redacted_at timestamptz;
CREATE INDEX mail_deliveries_redact_idx ON backend.mail_deliveries (redact_at)
    WHERE redact_at IS NOT NULL;

-- Caches warm only the recent working set: these serve "the newest N" without a scan.
CREATE INDEX sessions_recent_idx ON backend.sessions (last_seen_at DESC) WHERE revoked_at IS NULL;
CREATE INDEX users_recent_idx ON backend.users (last_sign_in_at DESC NULLS LAST)
    WHERE deleted_at IS NULL;
CREATE INDEX admin_sessions_recent_idx ON backend.admin_sessions (created_at DESC)
    WHERE revoked_at IS NULL;
