-- Runtime: one record per started game (where its engine runs, its turns and schedule),
-- the jobs that start, stop, restart and remove engines, and the engine versions.

CREATE TABLE backend.runtime_engine_versions (
    version              text PRIMARY KEY,
    image                text NOT NULL,
    is_default           boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX runtime_engine_versions_one_default ON backend.runtime_engine_versions
    (is_default) WHERE is_default;

CREATE TABLE backend.runtime_records (
    game_id              uuid PRIMARY KEY,
    game_name            text NOT NULL,
    owner_id             uuid NOT NULL,
    -- The players as the engine knows them: [{"player_id", "race_name"}], the player id
    -- being the user id.
    players              jsonb NOT NULL,
    seed                 bigint NOT NULL,
    settings             jsonb NOT NULL,
    engine_version       text NOT NULL,
    image                text NOT NULL,
    driver               text NOT NULL,
    -- The driver's id of the engine (a container id, or a process's state directory).
    handle               text,
    address              text,
    status               text NOT NULL DEFAULT 'starting' CHECK (status IN
        ('starting', 'running', 'paused', 'stopping', 'stopped', 'finished', 'failed',
         'removed')),
    turn_schedule        text NOT NULL,
    turn_time_zone       text NOT NULL,
    run_when_all_orders_in boolean NOT NULL DEFAULT false,
    current_turn         integer NOT NULL DEFAULT 0 CHECK (current_turn >= 0),
    next_tick_at         timestamptz,
    -- force-next-turn ran a turn out of schedule: the next scheduled tick runs nothing.
    skip_next_tick       boolean NOT NULL DEFAULT false,
    -- A turn to run as soon as possible (forced, or every race's orders are in).
    turn_requested       text CHECK (turn_requested IN ('forced', 'all_orders_in')),
    -- The tick being run and until when (a crashed backend's tick is taken over after).
    tick_token           uuid,
    tick_until           timestamptz,
    health_failures      integer NOT NULL DEFAULT 0,
    restarts             integer NOT NULL DEFAULT 0,
    last_health_at       timestamptz,
    last_error           text,
    final_ranking        jsonb,
    winner               text,
    -- The last status the lobby has acknowledged (OnRuntimeJobResult); behind `status`
    -- means a report is owed, sent again until it is taken.
    reported_status      text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz
);
CREATE INDEX runtime_records_due_idx ON backend.runtime_records (next_tick_at)
    WHERE status = 'running';
CREATE INDEX runtime_records_status_idx ON backend.runtime_records (status);

CREATE TABLE backend.runtime_jobs (
    id                   uuid PRIMARY KEY,
    game_id              uuid NOT NULL REFERENCES backend.runtime_records (game_id)
        ON DELETE CASCADE,
    kind                 text NOT NULL CHECK (kind IN ('start', 'stop', 'restart', 'remove')),
    status               text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts             integer NOT NULL DEFAULT 0,
    not_before           timestamptz NOT NULL DEFAULT now(),
    lease_token          uuid,
    lease_until          timestamptz,
    reason               text,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz
);
-- Due jobs: queued ones, and running ones whose worker's lease ran out (it died).
CREATE INDEX runtime_jobs_due_idx ON backend.runtime_jobs (not_before)
    WHERE status IN ('queued', 'running');
CREATE INDEX runtime_jobs_game_idx ON backend.runtime_jobs (game_id, created_at DESC);

-- Every turn run: when, and how it came (scheduled, forced, all orders in).
CREATE TABLE backend.runtime_turns (
    game_id              uuid NOT NULL REFERENCES backend.runtime_records (game_id)
        ON DELETE CASCADE,
    turn                 integer NOT NULL,
    trigger              text NOT NULL,
    scheduled_at         timestamptz,
    started_at           timestamptz NOT NULL,
    finished_at          timestamptz NOT NULL DEFAULT now(),
    finished             boolean NOT NULL DEFAULT false,
    PRIMARY KEY (game_id, turn)
);

-- A turn mail's report, kept only until the mail is queued (never in the inbox or push).
ALTER TABLE backend.notifications ADD COLUMN mail_text text;
