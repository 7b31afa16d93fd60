-- Notifications: every notice kept in its recipient's inbox, one delivery route per channel
-- (claimed by the notification worker like mail), dead letters, preferences, broadcasts.

CREATE TABLE backend.notifications (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL REFERENCES backend.users (id) ON DELETE CASCADE,
    kind                 text NOT NULL,
    title                text NOT NULL,
    body                 text NOT NULL,
    payload              jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Publishing the same key again notifies this user nobody twice (retries, broadcasts).
    dedupe_key           text,
    -- The W3C traceparent of the change that caused it: its dispatch joins that trace.
    trace_parent         text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    read_at              timestamptz,
    deleted_at           timestamptz
);
CREATE UNIQUE INDEX notifications_dedupe_key ON backend.notifications (user_id, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
-- The inbox, newest first, and its unread count.
CREATE INDEX notifications_inbox_idx ON backend.notifications (user_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX notifications_unread_idx ON backend.notifications (user_id)
    WHERE deleted_at IS NULL AND read_at IS NULL;

CREATE TABLE backend.notification_routes (
    id                   uuid PRIMARY KEY,
    notification_id      uuid NOT NULL REFERENCES backend.notifications (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL,
    channel              text NOT NULL CHECK (channel IN ('push', 'email')),
    status               text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts             integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Attempts made before the last requeue: the budget and backoff count from here.
    retry_base           integer NOT NULL DEFAULT 0 CHECK (retry_base >= 0),
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    lease_token          uuid,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    delivered_at         timestamptz,
    CONSTRAINT notification_routes_one_per_channel UNIQUE (notification_id, channel),
    CONSTRAINT notification_routes_delivering_is_leased
        CHECK ((status = 'delivering') = (lease_token IS NOT NULL))
);
-- The claim: due routes in due order; finished ones drop out of the index. A claim moves
-- next_attempt_at to the lease's end, so an abandoned claim is due again when it runs out.
CREATE INDEX notification_routes_due_idx ON backend.notification_routes (next_attempt_at)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX notification_routes_status_idx ON backend.notification_routes (channel, status)
    WHERE status IN ('pending', 'delivering', 'dead');

CREATE TABLE backend.notification_dead_letters (
    id                   uuid PRIMARY KEY,
    route_id             uuid NOT NULL UNIQUE REFERENCES backend.notification_routes (id)
        ON DELETE CASCADE,
    notification_id      uuid NOT NULL,
    user_id              uuid NOT NULL,
    kind                 text NOT NULL,
    channel              text NOT NULL,
    attempts             integer NOT NULL,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_dead_letters_created_idx
    ON backend.notification_dead_letters (created_at DESC, id DESC);
CREATE INDEX notification_dead_letters_kind_idx
    ON backend.notification_dead_letters (kind, created_at DESC, id DESC);

-- A player's choice per kind; a missing row or column means the catalogue's default.
CREATE TABLE backend.notification_preferences (
    user_id              uuid NOT NULL REFERENCES backend.users (id) ON DELETE CASCADE,
    kind                 text NOT NULL,
    push                 boolean,
    email                boolean,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- An operator's message to every active player, written out in batches by the worker;
-- `after_user_id` is how far it has got (users in id order), so a restart resumes it.
CREATE TABLE backend.notification_broadcasts (
    id                   uuid PRIMARY KEY,
    kind                 text NOT NULL,
    title                text NOT NULL,
    body                 text NOT NULL,
    payload              jsonb NOT NULL DEFAULT '{}'::jsonb,
    channels             text[] NOT NULL,
    trace_parent         text,
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    after_user_id        uuid,
    recipients           integer NOT NULL DEFAULT 0,
    finished_at          timestamptz
);
CREATE INDEX notification_broadcasts_open_idx ON backend.notification_broadcasts (created_at)
    WHERE finished_at IS NULL;

-- Notification mails carry a one-click unsubscribe (RFC 8058) for their kind.
ALTER TABLE backend.mail_deliveries ADD COLUMN unsubscribe_url text;
