-- Safe to expose: abuse limits on forced turns, engine slots and sign-in.

-- When the game's owner last forced a turn (BACKEND_RUNTIME_FORCE_TURN_COOLDOWN);
-- operators' forced turns are not counted.
ALTER TABLE backend.runtime_records ADD COLUMN owner_forced_at timestamptz;

-- What went wrong with a game's engine, for operators (paths, driver errors); players see
-- runtime_message, a plain sentence.
ALTER TABLE backend.games ADD COLUMN runtime_detail text;

-- Sign-in limits count per network: an IPv6 client's /64, an IPv4 address (/32). A code
-- asked for from a network the email has signed in from before is `from_known`: strangers
-- share a daily budget per email, the player on their own networks does not.
ALTER TABLE backend.auth_challenges ADD COLUMN from_known boolean NOT NULL DEFAULT false;

-- Networks each email has signed in from (kept 90 days after the last sign-in there).
CREATE TABLE backend.auth_known_networks (
    email_normalized     text NOT NULL,
    network              inet NOT NULL,
    last_signed_in_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email_normalized, network)
);
CREATE INDEX auth_known_networks_last_idx ON backend.auth_known_networks (last_signed_in_at);

-- Wrong codes per email and UTC day from networks the email has not signed in from.
CREATE TABLE backend.auth_email_failures (
    email_normalized     text NOT NULL,
    day                  date NOT NULL,
    failures             integer NOT NULL CHECK (failures >= 0),
    PRIMARY KEY (email_normalized, day)
);
CREATE INDEX auth_email_failures_day_idx ON backend.auth_email_failures (day);

-- Operator logins from a network an operator signed in from before are checked first.
CREATE INDEX admin_sessions_client_idx ON backend.admin_sessions (client_ip, created_at);

-- BACKEND_RUNTIME_MAX_ENGINES: a starting game holds an engine slot once its start is
-- admitted (`slot_taken`); until then it waits, first come first served (`waiting_since`).
ALTER TABLE backend.runtime_records
    ADD COLUMN slot_taken boolean NOT NULL DEFAULT false,
    ADD COLUMN waiting_since timestamptz;
