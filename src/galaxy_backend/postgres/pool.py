"""The asyncpg pool as a component: connect (or start the embedded server), then close.

Every wait on the pool is bounded (see `bounds.py`): an acquire, a connect, a statement; a
connection that timed out or failed is dropped rather than handed out again.
"""

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from galaxy_backend.postgres.bounds import DatabaseBounds, connection_socket
from galaxy_backend.postgres.embedded import EmbeddedPostgres
from galaxy_backend.postgres.faults import breaks_connection
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

SCHEMA = "backend"

_SERVER_SETTINGS = {"search_path": SCHEMA, "application_name": "galaxy-backend"}

# What repositories take: a plain connection or one borrowed from the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

# What a lost or failing database raises: a worker logs these, waits and tries again.
# (asyncpg's InternalClientError: a query on a connection the server has just ended.)
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)

if TYPE_CHECKING:  # generic only in the stubs
    _AcquireBase = PoolAcquireContext[asyncpg.Record]
    _PoolBase = asyncpg.Pool[asyncpg.Record]
else:
    _AcquireBase = PoolAcquireContext
    _PoolBase = asyncpg.Pool


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


class _BoundedAcquire(_AcquireBase):
    """`async with pool.acquire()` that drops the connection when the block failed in a way
    that leaves it in doubt (a timeout, a lost connection, a cancellation)."""

    __slots__ = ()

    async def __aexit__(self, *exc_info: object) -> None:
        exc = exc_info[1] if len(exc_info) > 1 else None
        if (
            isinstance(exc, BaseException)
            and self.connection is not None
            and breaks_connection(exc)
        ):
            # Already released if its connection closed under it.
            with contextlib.suppress(asyncpg.InterfaceError):
                self.connection.terminate()
            if isinstance(exc, TimeoutError) and isinstance(self.pool, BoundedPool):
                # A statement got no answer at all (the server's own statement_timeout
                # would have answered): the path to the server is suspect, so every idle
                # connection is replaced rather than tried in turn.
                self.pool.drop_idle()
        await super().__aexit__(*exc_info)


class BoundedPool(_PoolBase):
    """asyncpg's pool whose acquires wait at most `acquire_timeout` by default (a new
    connection's connect included; asyncpg then bounds the release by the same)."""

    __slots__ = ("acquire_timeout",)

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> "_AcquireBase":
        return _BoundedAcquire(self, self.acquire_timeout if timeout is None else timeout)

    def drop_idle(self) -> None:
        """End every idle connection now; each is made anew on its next acquire.

        asyncpg's `expire_connections` would close them gracefully in tasks of its own,
        each waiting out its timeout on a silent server and then failing unobserved.
        """
        holders: list[Any] = getattr(self, "_holders", [])  # not in asyncpg's stubs
        for holder in holders:
            conn = holder._con
            if holder.is_idle() and conn is not None:
                conn.terminate()


class PoolProvider(Protocol):
    """Anything that hands out the started pool (the Database component, or a test's)."""

    @property
    def pool(self) -> asyncpg.Pool: ...


async def open_connection(
    dsn: str | None, bounds: DatabaseBounds, **kwargs: Any
) -> "asyncpg.Connection[asyncpg.Record]":
    """One bounded connection: connect timeout, statement timeouts, keepalives."""
    kwargs.setdefault("timeout", bounds.connect_timeout)
    kwargs.setdefault("command_timeout", bounds.client_timeout)
    kwargs["server_settings"] = {
        **_SERVER_SETTINGS,
        **bounds.server_settings(),
        **kwargs.get("server_settings", {}),
    }
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(dsn, **kwargs)
    try:
        bounds.tune(connection_socket(conn))
    except OSError:
        conn.terminate()
        raise
    return conn


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
        bounds: DatabaseBounds | None = None,
    ) -> None:
        self._dsn = dsn
        self._embedded = None if dsn else EmbeddedPostgres(data_dir / "postgres")
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self.bounds = bounds or DatabaseBounds()
        self._pool: BoundedPool | None = None
        self._resolved_dsn: str | None = None

    @property
    def pool(self) -> BoundedPool:
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

    async def _connect(self, dsn: str | None) -> BoundedPool:
        deadline = time.monotonic() + self._connect_timeout
        delay = 0.2
        while True:
            try:
                pool = BoundedPool(
                    dsn,
                    acquire_timeout=self.bounds.acquire_timeout,
                    min_size=1,
                    max_size=self._pool_size,
                    max_queries=50_000,
                    max_inactive_connection_lifetime=300.0,
                    connect=self._open_pooled,
                    init=_init_connection,
                    reset=_reset_connection,
                    loop=None,
                    connection_class=asyncpg.Connection,
                    record_class=asyncpg.Record,
                )
                return await pool
            except (OSError, asyncpg.CannotConnectNowError, TimeoutError) as exc:
                if time.monotonic() + delay > deadline:
                    raise ConnectionError(f"cannot reach PostgreSQL: {exc}") from exc
                _log.warning(
                    "PostgreSQL not reachable yet, retrying", error=str(exc), retry_in_seconds=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _open_pooled(self, dsn: str | None, **kwargs: Any) -> "asyncpg.Connection[Any]":
        # The pool passes its own arguments (loop, connection and record class) along.
        return await open_connection(dsn, self.bounds, **kwargs)

    async def connect(self) -> Connection:
        """A dedicated connection outside the pool, e.g. for LISTEN; the caller closes it."""
        if self._pool is None:
            raise RuntimeError("the database is not started")
        conn = await open_connection(self._resolved_dsn, self.bounds)
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
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
