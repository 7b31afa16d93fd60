"""The cache bus against real PostgreSQL: invalidation wins races, and the bus recovers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from galaxy_backend.kernel.cache import WriteThroughCache
from galaxy_backend.kernel.cachebus import CacheBus
from galaxy_backend.postgres import Connection
from tests.support import eventually

Connect = Callable[[], Awaitable[Connection]]


def connector(dsn: str, **options: Any) -> Connect:
    async def connect() -> Connection:
        conn: Connection = await asyncpg.connect(
            dsn, server_settings={"search_path": "backend"}, **options
        )
        return conn

    return connect


@pytest.fixture
async def buses(db_dsn: str) -> AsyncIterator[Callable[..., Awaitable[CacheBus]]]:
    started: list[CacheBus] = []

    async def start(connect: Connect | None = None, heartbeat: float = 10.0) -> CacheBus:
        bus = CacheBus(dsn_provider=connect or connector(db_dsn), heartbeat=heartbeat)
        await bus.start()
        started.append(bus)
        return bus

    yield start
    for bus in started:
        await bus.stop()


async def kill_listeners(admin_dsn: str, dsn: str) -> None:
    """Terminate this test database's cache-bus connections, as a failover would."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND query LIKE 'LISTEN \"galaxy_cache\"%'",
            urlsplit(dsn).path.lstrip("/"),
        )
    finally:
        await admin.close()


async def no_rows(limit: int) -> list[tuple[str, str]]:
    return []


async def test_a_remote_invalidation_during_a_load_is_not_undone_by_it(
    buses: Callable[..., Awaitable[CacheBus]], db_dsn: str
) -> None:
    replica_a, replica_b = await buses(), await buses()
    cache: WriteThroughCache[str, str] = WriteThroughCache("sessions", no_rows)
    replica_b.subscribe("session", cache.discard)
    loading, release = asyncio.Event(), asyncio.Event()

    async def load() -> str:
        loading.set()
        await release.wait()
        return "live session (read before the logout committed)"

    lookup = asyncio.create_task(cache.get_or_load("t1", load))
    await loading.wait()
    # Replica A revokes and notifies inside its transaction; B hears it while loading.
    conn = await connector(db_dsn)()
    try:
        async with conn.transaction():
            await replica_a.invalidate(conn, "session", "t1")
    finally:
        await conn.close()
    await eventually(lambda: "t1" in cache._tombstones, message="B heard the notice")
    release.set()
    await lookup
    assert cache.get("t1") is None


async def test_a_killed_listener_reconnects_and_rewarms(
    buses: Callable[..., Awaitable[CacheBus]], pg_admin_dsn: str, db_dsn: str
) -> None:
    bus = await buses()
    warms = 0

    async def resync() -> None:
        nonlocal warms
        warms += 1

    bus.on_resync(resync)
    await kill_listeners(pg_admin_dsn, db_dsn)
    await eventually(lambda: bus.reconnects == 1 and bus.ready(), message="back and ready")
    assert warms == 1


async def test_a_failing_rewarm_is_retried_and_the_bus_is_not_ready_meanwhile(
    buses: Callable[..., Awaitable[CacheBus]], pg_admin_dsn: str, db_dsn: str
) -> None:
    bus = await buses()
    failures = 2
    readiness_while_failing: list[bool] = []

    async def resync() -> None:
        nonlocal failures
        if failures:
            failures -= 1
            readiness_while_failing.append(bus.ready())
            raise ConnectionError("database busy")

    bus.on_resync(resync)
    await kill_listeners(pg_admin_dsn, db_dsn)
    await eventually(
        lambda: bus.reconnects == 1 and bus.ready(), message="ready once the re-warm succeeds"
    )
    assert failures == 0
    assert readiness_while_failing == [False, False]


class Blackhole:
    """A TCP proxy to PostgreSQL that can stop forwarding without closing: a half-open link."""

    def __init__(self, target: Callable[[], Awaitable[tuple[Any, Any]]]) -> None:
        self._target = target
        self.frozen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._target()
        pumps = [
            asyncio.create_task(self._pump(reader, upstream_writer)),
            asyncio.create_task(self._pump(upstream_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        writer.close()
        upstream_writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.frozen.is_set():
                await asyncio.Event().wait()  # swallow everything from now on, say nothing
            writer.write(data)
            await writer.drain()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


def target_of(dsn: str) -> Callable[[], Awaitable[tuple[Any, Any]]]:
    parts = urlsplit(dsn)
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    if socket_dir and socket_dir.startswith("/"):
        path = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}"
        return lambda: asyncio.open_unix_connection(path)
    return lambda: asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 5432)


async def test_a_half_open_listener_is_found_by_the_heartbeat(
    buses: Callable[..., Awaitable[CacheBus]], db_dsn: str
) -> None:
    proxy = Blackhole(target_of(db_dsn))
    await proxy.start()
    parts = urlsplit(db_dsn)
    database = parts.path.lstrip("/")
    via_proxy = connector(db_dsn, host="127.0.0.1", port=proxy.port, database=database, ssl=False)
    first = True

    async def connect() -> Connection:
        # The first connection goes through the proxy; after the loss, straight to the server.
        nonlocal first
        if first:
            first = False
            return await via_proxy()
        return await connector(db_dsn)()

    try:
        bus = await buses(connect, heartbeat=0.2)
        proxy.frozen.set()  # the link dies silently: no FIN, no RST, no error on the socket
        await eventually(lambda: not bus.ready(), message="the dead listener is noticed")
        await eventually(
            lambda: bus.reconnects == 1 and bus.ready(), message="listening again, directly"
        )
    finally:
        await proxy.stop()


async def test_an_error_in_an_invalidation_does_not_stop_the_bus(
    buses: Callable[..., Awaitable[CacheBus]], db_dsn: str
) -> None:
    replica_a, replica_b = await buses(), await buses()
    seen: list[str] = []

    def broken(key: str) -> None:
        raise ValueError(f"cannot parse {key}")

    replica_b.subscribe("user", broken)
    replica_b.subscribe("user", seen.append)
    conn = await connector(db_dsn)()
    try:
        await replica_a.invalidate(conn, "user", "not-a-uuid", "second")
    finally:
        await conn.close()
    await eventually(lambda: seen == ["not-a-uuid", "second"], message="both notices handled")
    assert replica_b.ready()
