"""Real backend processes killed with SIGKILL mid-work: after a restart nothing is lost and
nothing is sent twice."""

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import backend_env, cli, eventually, free_port, wait_ready
from tests.support.api import ADMIN_PASSWORD, ADMIN_USER
from tests.support.receiver import Receiver


class Backend:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"


Spawn = Callable[[], Awaitable[Backend]]


@pytest.fixture
async def spawn(db_dsn: str, smtp: Receiver, tmp_path: Path) -> AsyncIterator[Spawn]:
    started: list[Backend] = []

    async def start() -> Backend:
        port = free_port()
        env = backend_env(
            {
                "BACKEND_POSTGRES_DSN": db_dsn,
                "BACKEND_HTTP_ADDR": f"127.0.0.1:{port}",
                "BACKEND_GRPC_PUSH_ADDR": f"127.0.0.1:{free_port()}",
                "BACKEND_DATA_DIR": str(tmp_path / "data"),
                "BACKEND_SMTP_ADDR": smtp.address,
                "BACKEND_MAIL_BACKOFF_MIN": "100ms",
                "BACKEND_MAIL_BACKOFF_MAX": "300ms",
                # A killed worker's claims come back quickly.
                "BACKEND_SMTP_TIMEOUT": "1s",
                "BACKEND_MAIL_LEASE": "3s",
                "BACKEND_NOTIFICATION_LEASE": "3s",
                "BACKEND_NOTIFICATION_BROADCAST_BATCH": "100",
                "BACKEND_OTEL_TRACES_EXPORTER": "none",
                "BACKEND_OTEL_METRICS_EXPORTER": "none",
                "BACKEND_ADMIN_BOOTSTRAP_USERNAME": ADMIN_USER,
                "BACKEND_ADMIN_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD,
                "BACKEND_LOG_LEVEL": "warning",
            }
        )
        log = (tmp_path / f"backend-{len(started)}.log").open("wb")
        process = await asyncio.create_subprocess_exec(*cli("serve"), env=env, stderr=log)
        log.close()
        backend = Backend(process, port)
        started.append(backend)
        async with httpx.AsyncClient(base_url=backend.url) as client:
            await wait_ready(client)
        return backend

    yield start
    for backend in started:
        if backend.process.returncode is None:
            backend.process.kill()
        await backend.process.wait()


async def add_players(dsn: str, count: int) -> list[str]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "backend"})
    try:
        rows = await conn.fetch(
            """
            INSERT INTO users (id, email, email_normalized)
            SELECT gen_random_uuid(), 'p' || n || '@example.org', 'p' || n || '@example.org'
            FROM generate_series(1, $1) AS n
            RETURNING id
            """,
            count,
        )
    finally:
        await conn.close()
    return [str(row["id"]) for row in rows]


async def admin_token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/api/v1/admin/auth/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def kill(backend: Backend) -> None:
    backend.process.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(backend.process.wait(), 10) == -signal.SIGKILL


async def test_killed_mid_queue_everything_arrives_once_after_a_restart(
    spawn: Spawn, db_dsn: str, smtp: Receiver
) -> None:
    users = await add_players(db_dsn, 300)
    # Fifty mails are accepted; the fifty-first stalls mid-DATA when the process dies.
    smtp.handler.stall_after_accepting = 50
    first = await spawn()
    async with httpx.AsyncClient(base_url=first.url) as client:
        token = await admin_token(client)
        sent = await client.post(
            "/api/v1/admin/notifications",
            json={"user_ids": users, "title": "Hello", "body": "Once only."},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 202, sent.text
    await asyncio.wait_for(smtp.handler.stalled.wait(), 60)
    await kill(first)

    await spawn()

    async def all_sent() -> bool:
        conn = await asyncpg.connect(db_dsn, server_settings={"search_path": "backend"})
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM mail_deliveries WHERE status <> 'sent'"
            )
            routes = await conn.fetchval(
                "SELECT count(*) FROM notification_routes WHERE status <> 'delivered'"
            )
        finally:
            await conn.close()
        return left == 0 and routes == 0

    await eventually(all_sent, timeout=90, interval=0.2, message="every mail sent")
    counts = smtp.counts()
    assert len(counts) == 300
    assert max(counts.values()) == 1, "a mail was delivered twice"


async def test_a_broadcast_interrupted_by_a_kill_reaches_each_player_once(
    spawn: Spawn, db_dsn: str
) -> None:
    await add_players(db_dsn, 2000)
    first = await spawn()
    async with httpx.AsyncClient(base_url=first.url) as client:
        token = await admin_token(client)
        sent = await client.post(
            "/api/v1/admin/notifications",
            json={"audience": "all", "title": "Season 2", "body": "Soon.", "channels": ["push"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 202, sent.text
    broadcast = sent.json()["broadcast_id"]
    conn = await asyncpg.connect(db_dsn, server_settings={"search_path": "backend"})
    try:

        async def part_way() -> bool:
            row = await conn.fetchrow(
                "SELECT recipients, finished_at FROM notification_broadcasts WHERE id = $1",
                broadcast,
            )
            return row is not None and row["recipients"] > 0

        await eventually(part_way, interval=0.005, message="the broadcast has begun")
        await kill(first)
        row = await conn.fetchrow(
            "SELECT recipients, finished_at FROM notification_broadcasts WHERE id = $1", broadcast
        )
        assert row["finished_at"] is None, "the kill came too late to interrupt it"

        await spawn()

        async def finished() -> bool:
            done = await conn.fetchval(
                "SELECT finished_at IS NOT NULL FROM notification_broadcasts WHERE id = $1",
                broadcast,
            )
            pending = await conn.fetchval(
                "SELECT count(*) FROM notification_routes WHERE status <> 'delivered'"
            )
            return bool(done) and pending == 0

        await eventually(finished, timeout=60, interval=0.1, message="finished after restart")
        per_user = await conn.fetch(
            "SELECT user_id, count(*) AS n FROM notifications WHERE kind = 'admin.message'"
            " GROUP BY user_id"
        )
        recipients = await conn.fetchval(
            "SELECT recipients FROM notification_broadcasts WHERE id = $1", broadcast
        )
    finally:
        await conn.close()
    assert len(per_user) == 2000  # the operator has no player account: 2000 players
    assert {row["n"] for row in per_user} == {1}
    assert recipients == 2000
