-- The runtime's engine versions are the one catalogue games choose from: an operator may
-- take a version out of it (no new game may use it; games that use it keep running).
-- The default version, which a game without a version gets, always stays in it.
ALTER TABLE backend.runtime_engine_versions
    ADD COLUMN enabled boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT runtime_engine_versions_default_enabled CHECK (enabled OR NOT is_default);
