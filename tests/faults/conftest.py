"""Fault injection with real parts: a private PostgreSQL the tests stop and start, and a
TCP proxy of our own in front of it that black-holes, resets and heals."""

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from galaxy_backend.postgres.bounds import DatabaseBounds
from tests.faults.cluster import PrivateCluster
from tests.faults.proxy import FaultProxy

# Short bounds, so that what takes seconds in production takes moments here. A request
# may wait on a silent database for at most 1s + 2 x (1s + 1s) = 5s.
FAULT_ENV = {
    "BACKEND_POSTGRES_ACQUIRE_TIMEOUT": "1s",
    "BACKEND_POSTGRES_STATEMENT_TIMEOUT": "1s",
    "BACKEND_POSTGRES_DEAD_PEER_TIMEOUT": "3s",
    "BACKEND_LOOP_DEADLINE": "6s",
    "BACKEND_CACHE_BUS_HEARTBEAT": "1s",
    "BACKEND_LOBBY_SWEEP_SCHEDULE": "@every 1s",
    # An outcome already acted on is recorded within half a lease: longer than any outage
    # here, so nothing is sent twice; a claim whose answer was lost waits out the lease.
    "BACKEND_MAIL_LEASE": "30s",
    "BACKEND_SMTP_TIMEOUT": "5s",
    "BACKEND_NOTIFICATION_LEASE": "30s",
    "BACKEND_NOTIFICATION_BACKOFF_MIN": "100ms",
    "BACKEND_NOTIFICATION_BACKOFF_MAX": "500ms",
}
REQUEST_BOUND_SECONDS = DatabaseBounds(acquire_timeout=1.0, statement_timeout=1.0).request_bound


@pytest.fixture(scope="session")
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
async def fault_database(private_cluster: PrivateCluster) -> AsyncIterator[str]:
    """A new, empty database on the private cluster (the backend migrates it at start)."""
    if not private_cluster.running:
        private_cluster.start()
    name = f"galaxy_f_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(private_cluster.dsn(), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield name
    if not private_cluster.running:
        private_cluster.start()
    admin = await asyncpg.connect(private_cluster.dsn(), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def proxy(private_cluster: PrivateCluster) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy("127.0.0.1", private_cluster.port)
    await proxy.start()
    yield proxy
    await proxy.stop()
