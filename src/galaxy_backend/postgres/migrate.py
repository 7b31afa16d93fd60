"""SQL migrations shipped in the package, applied once under a Postgres advisory lock."""

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from galaxy_backend.postgres.pool import Connection, PoolProvider
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# One fixed key serialises migrations across every replica sharing the database.
MIGRATION_LOCK_KEY = 0x6761_6C61_7879_0001
# A migration may rewrite a large table, and a replica may wait for another's: the pool's
# statement bounds are lifted for them, to this (client side; none on the server).
MIGRATION_STATEMENT_SECONDS = 3600.0
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The database and the shipped migrations disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """Every `NNNN_name.sql` in the package, in version order."""
    found = []
    for entry in resources.files("galaxy_backend.postgres.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


async def apply_migrations(pool: asyncpg.Pool) -> list[int]:
    """Apply pending migrations, each in its own transaction; return the versions applied."""
    migrations = load_migrations()
    async with pool.acquire() as conn:
        await conn.execute("SET statement_timeout = 0")
        try:
            await conn.execute(
                "SELECT pg_advisory_lock($1)",
                MIGRATION_LOCK_KEY,
                timeout=MIGRATION_STATEMENT_SECONDS,
            )
            try:
                return await _apply_locked(conn, migrations)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            # Back to the session's own bound before the connection returns to the pool.
            await conn.execute("RESET statement_timeout")


async def _apply_locked(conn: Connection, migrations: list[Migration]) -> list[int]:
    await conn.execute(
        """
        CREATE SCHEMA IF NOT EXISTS backend;
        CREATE TABLE IF NOT EXISTS backend.schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )
    rows = await conn.fetch("SELECT version, name, checksum FROM backend.schema_migrations")
    applied = {row["version"]: row for row in rows}
    shipped = {m.version for m in migrations}
    for migration in migrations:
        row = applied.get(migration.version)
        if row is not None and row["checksum"] != migration.checksum:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} changed after it was applied"
            )
    newer = sorted(v for v in applied if v not in shipped)
    if newer:
        _log.warning("database has migrations this build does not know", versions=newer)
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql, timeout=MIGRATION_STATEMENT_SECONDS)
            await conn.execute(
                "INSERT INTO backend.schema_migrations (version, name, checksum)"
                " VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        _log.info("migration applied", version=migration.version, name=migration.name)
        done.append(migration.version)
    return done


class Migrations:
    """Applies migrations at start, after the pool opens and before any listener binds."""

    name = "migrations"
    stop_timeout: float | None = None

    def __init__(self, pool_provider: PoolProvider) -> None:
        self._pool_provider = pool_provider

    async def start(self) -> None:
        applied = await apply_migrations(self._pool_provider.pool)
        if not applied:
            _log.debug("schema up to date")

    async def stop(self) -> None:
        return None
