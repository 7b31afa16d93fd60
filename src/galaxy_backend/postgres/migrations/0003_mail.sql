-- Mail: the outbox of messages to send (a transactional outbox) and every attempt at sending one.

CREATE TABLE backend.mail_deliveries (
    id                   uuid PRIMARY KEY,
    -- One logical mail (e.g. 'sign-in:<challenge id>'): a second enqueue returns the first row.
    idempotency_key      text NOT NULL,
    kind                 text NOT NULL,
    to_address           text NOT NULL,
    subject              text NOT NULL,
    body_text            text NOT NULL,
    body_html            text NOT NULL,
    status               text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'retrying', 'sent', 'failed')),
    -- Attempts ever made; mail_attempts numbers them 1, 2, ...
    attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Attempts made before the last admin retry: the attempt budget and backoff count from here.
    retry_base           integer NOT NULL DEFAULT 0 CHECK (retry_base >= 0 AND retry_base <= attempts),
    -- When the row is next due; a claim sets it to the lease's end, so an abandoned
    -- 'sending' row (its worker died) becomes due again when the lease runs out.
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_until          timestamptz,
    -- Set per claim; outcome writes check it, so a worker that lost its lease changes nothing.
    lease_token          uuid,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz,
    CONSTRAINT mail_deliveries_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT mail_deliveries_sending_is_leased
        CHECK ((status = 'sending') = (lease_until IS NOT NULL AND lease_token IS NOT NULL)),
    CONSTRAINT mail_deliveries_sent_has_time CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- The claim query: due rows in due order; finished rows drop out of the index.
CREATE INDEX mail_deliveries_due_idx ON backend.mail_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying', 'sending');
-- The admin list, newest first, with or without a status filter.
CREATE INDEX mail_deliveries_created_idx ON backend.mail_deliveries (created_at DESC, id DESC);
CREATE INDEX mail_deliveries_status_created_idx
    ON backend.mail_deliveries (status, created_at DESC, id DESC);

CREATE TABLE backend.mail_attempts (
    delivery_id          uuid NOT NULL REFERENCES backend.mail_deliveries (id) ON DELETE CASCADE,
    attempt              integer NOT NULL CHECK (attempt >= 1),
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz NOT NULL,
    -- sent; transient (4xx); permanent (5xx or unsendable); connection (no SMTP reply at all).
    outcome              text NOT NULL
        CHECK (outcome IN ('sent', 'transient', 'permanent', 'connection')),
    smtp_code            integer,
    error                text,
    PRIMARY KEY (delivery_id, attempt)
);
