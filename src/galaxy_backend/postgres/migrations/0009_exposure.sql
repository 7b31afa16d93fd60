-- Safe to expose: abuse limits on forced turns, engine slots and sign-in.

-- When the game's owner last forced a turn (BACKEND_RUNTIME_FORCE_TURN_COOLDOWN);
-- operators' forced turns are not counted.
ALTER TABLE backend.runtime_records ADD COLUMN owner_forced_at timestamptz;

-- What went wrong with a game's engine, for operators (paths, driver errors); players see
-- runtime_message, a plain sentence.
ALTER TABLE backend.games ADD COLUMN runtime_detail text;
