"""A database host that vanishes (no reset, no FIN: every packet dropped) is noticed by
the keepalives and TCP_USER_TIMEOUT of every connection, the idle ones included, within
the dead-peer bound; the proxy's black hole cannot show this, since its kernel still
acknowledges every segment."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from galaxy_backend.postgres import Database
from galaxy_backend.postgres.bounds import DatabaseBounds
from tests.faults import netns
from tests.faults.cluster import PrivateCluster
from tests.support import eventually

DEAD_PEER_SECONDS = 3.0
BOUNDS = DatabaseBounds(
    acquire_timeout=1.0, statement_timeout=0.5, dead_peer_timeout=DEAD_PEER_SECONDS
)


@pytest.fixture(scope="module")
def far_host() -> Iterator[netns.Namespace]:
    reason = netns.available()
    if reason is not None:
        if os.environ.get("GALAXY_TEST_REQUIRE_NETNS") == "1":
            pytest.fail(f"GALAXY_TEST_REQUIRE_NETNS=1 but {reason}")
        pytest.skip(reason)
    with netns.namespace() as made:
        yield made


@pytest.fixture(scope="module")
def far_cluster(far_host: netns.Namespace) -> Iterator[PrivateCluster]:
    cluster = PrivateCluster(host=far_host.address, netns=far_host.name)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
async def database(far_cluster: PrivateCluster, tmp_path: Path) -> AsyncIterator[Database]:
    opened = Database(
        dsn=far_cluster.dsn(),
        data_dir=tmp_path,
        pool_size=2,
        connect_timeout=10.0,
        bounds=BOUNDS,
    )
    await opened.start()
    yield opened
    await opened.stop()


async def test_idle_connections_notice_a_vanished_host_and_the_pool_recovers(
    far_host: netns.Namespace, far_cluster: PrivateCluster, database: Database
) -> None:
    listening = await database.connect()  # the cache bus's kind: idle for as long as it lives
    await listening.add_listener("galaxy_vanish", lambda *_: None)
    # The same idle wait without our socket options: what a LISTEN was before the bounds.
    unbounded = await asyncpg.connect(far_cluster.dsn(), timeout=10)
    await unbounded.execute("LISTEN galaxy_vanish")
    for _ in range(2):
        assert await database.pool.fetchval("SELECT 1") == 1
    far_host.silence()
    vanished = time.monotonic()
    try:
        # Keepalive probes start after 1 s idle; TCP_USER_TIMEOUT ends the connection once
        # they go unanswered for the dead-peer bound.
        await eventually(
            listening.is_closed, timeout=DEAD_PEER_SECONDS + 5, message="the LISTEN noticed"
        )
        noticed = time.monotonic() - vanished
        assert noticed < DEAD_PEER_SECONDS + 3
        assert not unbounded.is_closed(), "without keepalives nothing would have noticed"
    finally:
        far_host.restore()
    # Back: the pool hands out working connections at once, none of the dead ones.
    for _ in range(4):
        assert await asyncio.wait_for(database.pool.fetchval("SELECT 1"), 5) == 1
    unbounded.terminate()
