"""The asyncpg pool as a component: connect (or start the embedded server), then close."""

import asyncio
import time
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from galaxy_backend.postgres.embedded import EmbeddedPostgres
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

SCHEMA = "backend"

_SERVER_SETTINGS = {"search_path": SCHEMA, "application_name": "galaxy-backend"}

# What repositories take: a plain connection or one borrowed from the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

# What a lost or failing database raises: a worker logs these, waits and tries again.
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


async def _reset_connection(_: Connection) -> None:
    """Stands in for asyncpg's default reset (RESET ALL, UNLISTEN *, unlocking: a round trip
    on every release). The pool still rolls back an open transaction and drops listener
    callbacks before calling this; the session state this code sets (the migrations'
    advisory lock, the mail worker's LISTEN) is undone explicitly by whoever set it."""


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        format="text",
    )


class PoolProvider(Protocol):
    """Anything that hands out the started pool (the Database component, or a test's)."""

    @property
    def pool(self) -> asyncpg.Pool: ...


class Database:
    """Owns the pool; when no DSN is configured it runs an embedded PostgreSQL first."""

    name = "postgres"
    stop_timeout: float | None = 10.0

    def __init__(
        self,
        *,
        dsn: str | None,
        data_dir: Path,
        pool_size: int,
        connect_timeout: float,
    ) -> None:
        self._dsn = dsn
        self._embedded = None if dsn else EmbeddedPostgres(data_dir / "postgres")
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None
        self._resolved_dsn: str | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not started")
        return self._pool

    @property
    def embedded(self) -> bool:
        return self._embedded is not None

    async def start(self) -> None:
        dsn = self._dsn
        if self._embedded is not None:
            dsn = await asyncio.to_thread(self._embedded.start)
            _log.info(
                "embedded PostgreSQL running (BACKEND_POSTGRES_DSN is unset)",
                data_dir=str(self._embedded.directory),
            )
        self._resolved_dsn = dsn
        try:
            self._pool = await self._connect(dsn)
        except BaseException:
            await self._stop_embedded()
            raise

    async def _connect(self, dsn: str | None) -> asyncpg.Pool:
        deadline = time.monotonic() + self._connect_timeout
        delay = 0.2
        while True:
            try:
                pool: asyncpg.Pool = await asyncpg.create_pool(
                    dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    init=_init_connection,
                    reset=_reset_connection,
                    server_settings=_SERVER_SETTINGS,
                    timeout=min(10.0, self._connect_timeout),
                )
                return pool
            except (OSError, asyncpg.CannotConnectNowError, TimeoutError) as exc:
                if time.monotonic() + delay > deadline:
                    raise ConnectionError(f"cannot reach PostgreSQL: {exc}") from exc
                _log.warning(
                    "PostgreSQL not reachable yet, retrying", error=str(exc), retry_in_seconds=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def connect(self) -> Connection:
        """A dedicated connection outside the pool, e.g. for LISTEN; the caller closes it."""
        if self._pool is None:
            raise RuntimeError("the database is not started")
        conn: Connection = await asyncpg.connect(
            self._resolved_dsn, server_settings=_SERVER_SETTINGS, timeout=10
        )
        await _init_connection(conn)
        return conn

    async def ping(self) -> None:
        """One round trip, for readiness (the caller bounds how long it may take)."""
        await self.pool.fetchval("SELECT 1")

    def stats(self) -> dict[str, Any]:
        if self._pool is None:
            return {"size": 0, "idle": 0}
        return {"size": self._pool.get_size(), "idle": self._pool.get_idle_size()}

    async def stop(self) -> None:
        try:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()
        finally:
            await self._stop_embedded()

    async def _stop_embedded(self) -> None:
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
