"""Stopping the backend that wiring.py builds: the seed's order, nothing published lost."""

import asyncio
import os
from pathlib import Path

import asyncpg
import grpc
import pytest

from galaxy_backend.config import load_from_env
from galaxy_backend.wiring import build_backend
from galaxy_proto.push_pb2 import SubscribePushRequest
from galaxy_proto.push_pb2_grpc import PushStub
from tests.support import eventually
from tests.support.api import Api, bearer


def test_wiring_stops_components_in_the_seeds_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("BACKEND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BACKEND_POSTGRES_DSN", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("BACKEND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKEND_METRICS_ADDR", "127.0.0.1:0")
    monkeypatch.setenv("BACKEND_OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("BACKEND_OTEL_METRICS_EXPORTER", "prometheus")
    order = build_backend(load_from_env()).app.stop_order
    # Seed, "Process lifecycle": drain HTTP, the mail worker's attempt, push to the gateways,
    # geo counters, the pool, telemetry last.
    seed = ["http", "mail-worker", "grpc", "geo", "postgres", "telemetry"]
    assert [name for name in order if name in seed] == seed
    assert order[0] == "metrics"
    # Last-seen times are written back after the requests that moved them have finished.
    assert order.index("http") < order.index("housekeeping") < order.index("postgres")
    assert order.index("mail-worker") < order.index("smtp-sink")


async def test_a_revocation_made_during_the_http_drain_reaches_the_gateway(api: Api) -> None:
    signed = await api.sign_in("leaving@example.org")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{api.backend.grpc.port}")
    call = PushStub(channel).SubscribePush(
        SubscribePushRequest(gateway_id="gw", after_cursor=api.backend.push.status().last_cursor),
        metadata=[("authorization", f"Bearer {api.backend.internal_token}")],
    )
    kinds: list[str] = []

    async def gateway() -> None:
        async for batch in call:
            kinds.extend(event.kind for event in batch.events)

    reading = asyncio.create_task(gateway())
    # Hold the logout inside its UPDATE with a row lock, so it is in flight when stop begins.
    blocker = await asyncpg.connect(api.backend.config.postgres_dsn.get_secret_value())  # type: ignore[union-attr]
    lock = blocker.transaction()
    await lock.start()
    await blocker.execute(
        "SELECT 1 FROM backend.sessions WHERE id = $1 FOR UPDATE", signed["session_id"]
    )
    logout = asyncio.create_task(
        api.client.post("/api/v1/user/auth/logout", headers=bearer(signed["token"]))
    )

    async def waiting_on_the_lock() -> bool:
        # Asked outside the blocker's transaction, which would see one frozen snapshot.
        count = await api.backend.database.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE '%UPDATE sessions SET revoked_at%'"
        )
        return bool(count)

    await eventually(waiting_on_the_lock, message="the logout waits on the row lock")
    stopping = asyncio.create_task(api.backend.app.stop())
    await eventually(api.backend.readiness.reasons, message="stop has begun")
    await lock.rollback()
    await blocker.close()

    assert (await asyncio.wait_for(logout, 10)).status_code == 204
    assert await asyncio.wait_for(stopping, 30) is True
    await asyncio.wait_for(reading, 10)  # the stream ended after the event, not before
    assert "session.revoked" in kinds
    await channel.close()
