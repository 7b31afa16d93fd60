-- Every turn's reports, every player's, in both forms, kept by the backend as the turn is
-- committed (turn 0's as the game starts), so that a game stays readable whether its engine
-- runs, is paused, stopped, or long removed.

-- One row per turn: the engine's summary of it, and the dictionary its reports are
-- compressed against (runtime/archive.py: one of the turn's reports, zstd-compressed itself;
-- the reports of a turn repeat each other, so each is compressed against it).
CREATE TABLE backend.runtime_report_turns (
    game_id              uuid NOT NULL REFERENCES backend.runtime_records (game_id)
        ON DELETE CASCADE,
    turn                 integer NOT NULL CHECK (turn >= 0),
    -- The engine's summary: every race's line ("players"), the ranking, the winner.
    summary              jsonb NOT NULL,
    dictionary           bytea NOT NULL,
    -- The reports' size as the engine wrote them, and as kept here (with the dictionary).
    raw_bytes            bigint NOT NULL,
    stored_bytes         bigint NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, turn)
);

-- Each player's report of a turn: the JSON report and the text report, each compressed.
CREATE TABLE backend.runtime_reports (
    game_id              uuid NOT NULL,
    turn                 integer NOT NULL,
    player_id            uuid NOT NULL,
    report               bytea NOT NULL,
    text_report          bytea NOT NULL,
    PRIMARY KEY (game_id, turn, player_id),
    FOREIGN KEY (game_id, turn) REFERENCES backend.runtime_report_turns (game_id, turn)
        ON DELETE CASCADE
);

-- Compressed already: PostgreSQL's own compression (pglz) would spend CPU to gain nothing.
ALTER TABLE backend.runtime_report_turns ALTER COLUMN dictionary SET STORAGE EXTERNAL;
ALTER TABLE backend.runtime_reports
    ALTER COLUMN report SET STORAGE EXTERNAL,
    ALTER COLUMN text_report SET STORAGE EXTERNAL;
