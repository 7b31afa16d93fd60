"""The operator console (README, "Operator console"): pages served at `/console/` by the backend's
HTTP listener, over the admin API, and the admin routes only the console needed (the
platform's status, a player's sessions, games and inbox, a game's applications, engine
and turns, a mail's attempts, broadcasts)."""
