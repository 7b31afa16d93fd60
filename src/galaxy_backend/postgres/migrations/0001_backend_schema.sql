-- The backend schema; every table of every domain lives in it.
CREATE SCHEMA IF NOT EXISTS backend;
COMMENT ON SCHEMA backend IS 'Galaxy backend: identity, lobby, runtime, mail, notifications';
