"""Every wait on PostgreSQL is bounded, and a connection in doubt is never used again:
each part on its own, through the fault proxy."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from galaxy_backend.kernel.housekeeping import Chore, Housekeeping
from galaxy_backend.kernel.liveness import Liveness
from galaxy_backend.postgres import Database, transaction
from galaxy_backend.postgres.bounds import DatabaseBounds, connection_socket
from galaxy_backend.postgres.wakeup import Wakeup
from tests.faults.cluster import PrivateCluster
from tests.faults.proxy import FaultProxy
from tests.support import eventually

BOUNDS = DatabaseBounds(acquire_timeout=1.0, statement_timeout=0.5, dead_peer_timeout=3.0)

OpenDatabase = Callable[..., Awaitable[Database]]


@pytest.fixture
async def open_database(tmp_path: Path) -> AsyncIterator[OpenDatabase]:
    opened: list[Database] = []

    async def open_(dsn: str, *, pool_size: int = 4) -> Database:
        database = Database(
            dsn=dsn, data_dir=tmp_path, pool_size=pool_size, connect_timeout=10.0, bounds=BOUNDS
        )
        await database.start()
        opened.append(database)
        return database

    yield open_
    for database in opened:
        await database.stop()


def _options(sock: socket.socket) -> dict[str, int]:
    return {
        "keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        "idle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        "interval": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        "probes": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        "user_timeout_ms": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    }


async def test_every_connection_has_keepalives_a_user_timeout_and_the_servers_bounds(
    private_cluster: PrivateCluster, fault_database: str, open_database: OpenDatabase
) -> None:
    database = await open_database(private_cluster.dsn(fault_database))
    expected = {"keepalive": 1, "idle": 1, "interval": 1, "probes": 3, "user_timeout_ms": 3000}
    dedicated = await database.connect()  # the cache bus's kind
    try:
        async with database.pool.acquire() as pooled:
            for conn in (pooled, dedicated):
                assert _options(connection_socket(conn)) == expected
                settings = {
                    name: await conn.fetchval(f"SHOW {name}")
                    for name in (
                        "statement_timeout",
                        "idle_in_transaction_session_timeout",
                        "tcp_user_timeout",
                        "tcp_keepalives_idle",
                    )
                }
                assert settings == {
                    "statement_timeout": "500ms",
                    "idle_in_transaction_session_timeout": "30s",
                    "tcp_user_timeout": "3000",
                    "tcp_keepalives_idle": "1",
                }
                with pytest.raises(asyncpg.QueryCanceledError):
                    await conn.execute("SELECT pg_sleep(5)")  # the server's own bound
    finally:
        await dedicated.close()


async def test_a_silent_server_costs_a_statement_its_bound_and_every_idle_connection(
    fault_database: str, proxy: FaultProxy, open_database: OpenDatabase
) -> None:
    database = await open_database(proxy.dsn(fault_database))
    pool = database.pool
    # Four connections open and idle, then the network goes silent.
    held = [await pool.acquire() for _ in range(4)]
    for conn in held:
        await pool.release(conn)
    proxy.black_hole()
    with pytest.raises(TimeoutError):
        await pool.fetchval("SELECT 1")
    with pytest.raises(TimeoutError):  # a new connection cannot be made either
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    before = proxy.accepted
    proxy.heal(reset_old=False)
    # The old connections stay open and silent for ever; none is tried again: the first
    # timeout expired them all, so each query below runs on a new one at once.
    for _ in range(4):
        assert await pool.fetchval("SELECT 1") == 1
    assert proxy.accepted > before


async def test_a_transaction_that_timed_out_leaves_no_session_and_no_connection_behind(
    private_cluster: PrivateCluster,
    fault_database: str,
    proxy: FaultProxy,
    open_database: OpenDatabase,
) -> None:
    database = await open_database(proxy.dsn(fault_database), pool_size=1)
    pids: list[int] = []

    async def write_into_the_silence() -> None:
        async with transaction(database) as tx:
            pids.append(await tx.conn.fetchval("SELECT pg_backend_pid()"))
            await tx.conn.execute("CREATE TEMP TABLE t (x int)")
            proxy.black_hole()
            await tx.conn.execute("INSERT INTO t VALUES (1)")

    with pytest.raises(TimeoutError):
        await write_into_the_silence()
    # Never reused: once the network is back the server's session (and its transaction)
    # is gone, and the pool answers on a new connection.
    proxy.heal(reset_old=False)
    admin = await asyncpg.connect(private_cluster.dsn(fault_database), timeout=5)
    try:

        async def ended() -> bool:
            found = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pids[0]
            )
            return bool(found == 0)

        await eventually(ended, timeout=10, message="the session ended")
    finally:
        await admin.close()
    assert await database.pool.fetchval("SELECT pg_backend_pid()") != pids[0]


async def test_a_listen_whose_connection_went_silent_listens_again(
    private_cluster: PrivateCluster,
    fault_database: str,
    proxy: FaultProxy,
    open_database: OpenDatabase,
) -> None:
    database = await open_database(proxy.dsn(fault_database))
    liveness = Liveness(deadline=5.0, listen_probe=0.2)
    woken = asyncio.Event()
    wakeup = Wakeup(database, "fault_channel", woken, liveness=liveness)
    heartbeat = liveness.get("listen fault_channel")
    await wakeup.ensure()
    woken.clear()
    proxy.black_hole()
    proxy.heal(reset_old=False)
    rounds = heartbeat.rounds

    async def listening_again() -> bool:
        await wakeup.ensure()
        return heartbeat.rounds > rounds

    await eventually(listening_again, timeout=20, interval=0.1, message="listening again")
    woken.clear()
    notifier = await asyncpg.connect(private_cluster.dsn(fault_database), timeout=5)
    try:
        await notifier.execute("NOTIFY fault_channel")
    finally:
        await notifier.close()
    await asyncio.wait_for(woken.wait(), 10)
    await wakeup.close()


async def test_a_chore_fails_while_the_database_is_silent_and_runs_again_after(
    fault_database: str, proxy: FaultProxy, open_database: OpenDatabase
) -> None:
    database = await open_database(proxy.dsn(fault_database))
    liveness = Liveness(deadline=2.0)

    async def chore() -> None:
        await database.pool.fetchval("SELECT 1")

    housekeeping = Housekeeping(
        [Chore("probe", timedelta(milliseconds=100), chore)], liveness=liveness
    )
    heartbeat = liveness.get("housekeeping probe")
    await housekeeping.start()
    try:
        await eventually(lambda: heartbeat.rounds > 0, message="a first round")
        proxy.black_hole()
        await eventually(lambda: bool(liveness.reasons()), timeout=20, message="a late chore")
        proxy.heal(reset_old=False)
        rounds = heartbeat.rounds
        await eventually(
            lambda: heartbeat.rounds > rounds and not liveness.reasons(),
            timeout=20,
            message="the chore back",
        )
    finally:
        await housekeeping.stop()
