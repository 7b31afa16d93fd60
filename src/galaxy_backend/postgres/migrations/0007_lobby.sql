-- Lobby: games, applications to them, and the Race Name Directory.

CREATE TABLE backend.games (
    id                      uuid PRIMARY KEY,
    owner_id                uuid NOT NULL REFERENCES backend.users (id),
    name                    text NOT NULL,
    description             text NOT NULL DEFAULT '',
    status                  text NOT NULL CHECK (status IN (
                                'enrollment_open', 'enrollment_closed', 'starting', 'running',
                                'paused', 'start_failed', 'finished', 'cancelled')),
    -- Bumped by every status change: the idempotency key of its notice.
    status_seq              integer NOT NULL DEFAULT 0,
    visibility              text NOT NULL CHECK (visibility IN ('public', 'private')),
    invite_code             text,
    min_players             integer NOT NULL CHECK (min_players >= 1),
    max_players             integer NOT NULL CHECK (max_players >= min_players),
    -- Exact: changed only in the transaction that approves or drops a player.
    approved_count          integer NOT NULL DEFAULT 0
                                CHECK (approved_count >= 0 AND approved_count <= max_players),
    enrollment_deadline     timestamptz NOT NULL,
    turn_schedule           text NOT NULL,
    turn_time_zone          text NOT NULL,
    run_when_all_orders_in  boolean NOT NULL DEFAULT false,
    engine_version          text NOT NULL,
    settings                jsonb NOT NULL,
    current_turn            integer NOT NULL DEFAULT 0,
    runtime_status          text,
    runtime_message         text,
    runtime_updated_at      timestamptz,
    final_ranking           jsonb,
    -- The owner was told the deadline passed below min_players (told once).
    below_min_notified_at   timestamptz,
    cancel_reason           text,
    -- Bumped by every change of the row or of its players: caches keep the newest.
    version                 bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    started_at              timestamptz,
    finished_at             timestamptz,
    CONSTRAINT games_invite_code_key UNIQUE (invite_code),
    CONSTRAINT games_private_has_invite_code
        CHECK ((visibility = 'private') = (invite_code IS NOT NULL))
);
CREATE INDEX games_listing_idx ON backend.games (created_at DESC, id DESC)
    WHERE visibility = 'public' AND status <> 'cancelled';
CREATE INDEX games_owner_live_idx ON backend.games (owner_id)
    WHERE status NOT IN ('finished', 'cancelled');
CREATE INDEX games_deadline_idx ON backend.games (enrollment_deadline)
    WHERE status = 'enrollment_open';
CREATE INDEX games_recent_idx ON backend.games (updated_at DESC);
CREATE INDEX games_created_idx ON backend.games (created_at DESC, id DESC);

CREATE TABLE backend.game_applications (
    id                      uuid PRIMARY KEY,
    game_id                 uuid NOT NULL REFERENCES backend.games (id),
    user_id                 uuid NOT NULL REFERENCES backend.users (id),
    race_name               text NOT NULL,
    status                  text NOT NULL CHECK (status IN (
                                'pending', 'approved', 'rejected', 'withdrawn', 'removed',
                                'left', 'expired', 'closed')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    decided_at              timestamptz,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
-- One live application per player and game.
CREATE UNIQUE INDEX game_applications_live_key ON backend.game_applications (game_id, user_id)
    WHERE status IN ('pending', 'approved');
CREATE INDEX game_applications_game_idx ON backend.game_applications (game_id, created_at);
CREATE INDEX game_applications_user_approved_idx ON backend.game_applications (user_id)
    WHERE status = 'approved';

-- The Race Name Directory: one live entry per canonical form and per skeleton.
CREATE TABLE backend.race_names (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    canonical               text NOT NULL,
    skeleton                text NOT NULL,
    status                  text NOT NULL CHECK (status IN (
                                'pending_registration', 'reserved', 'released')),
    user_id                 uuid NOT NULL REFERENCES backend.users (id),
    game_id                 uuid NOT NULL REFERENCES backend.games (id),
    application_id          uuid NOT NULL REFERENCES backend.game_applications (id),
    created_at              timestamptz NOT NULL DEFAULT now(),
    reserved_at             timestamptz,
    released_at             timestamptz,
    release_reason          text,
    CONSTRAINT race_names_application_key UNIQUE (application_id),
    CONSTRAINT race_names_released_has_time
        CHECK ((status = 'released') = (released_at IS NOT NULL))
);
CREATE UNIQUE INDEX race_names_canonical_key ON backend.race_names (canonical)
    WHERE status <> 'released';
CREATE UNIQUE INDEX race_names_skeleton_key ON backend.race_names (skeleton)
    WHERE status <> 'released';
CREATE INDEX race_names_pending_idx ON backend.race_names (created_at)
    WHERE status = 'pending_registration';
CREATE INDEX race_names_user_idx ON backend.race_names (user_id) WHERE status <> 'released';
CREATE INDEX race_names_recent_idx ON backend.race_names (created_at DESC)
    WHERE status <> 'released';
