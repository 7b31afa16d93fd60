"""Readiness of the real backend: caches, Postgres, shutdown."""

from collections.abc import Iterable

import asyncpg
import httpx

from galaxy_backend.kernel.cache import WriteThroughCache
from galaxy_backend.wiring import Backend
from tests.support import eventually


async def test_ready_once_started(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "reasons": []}


async def test_readiness_waits_for_every_cache(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()

    async def load(limit: int) -> Iterable[tuple[str, int]]:
        return [("a", 1)]

    cache: WriteThroughCache[str, int] = WriteThroughCache("sessions", load)
    backend.readiness.add_cache(cache)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        cold = await client.get("/readyz")
        assert cold.status_code == 503
        assert cold.json() == {"status": "not_ready", "reasons": ["cache sessions is not warm"]}
        await cache.warm()
        assert (await client.get("/readyz")).status_code == 200


async def test_readiness_follows_postgres(start_backend, db_dsn: str, pg_admin_dsn: str) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    database = db_dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(pg_admin_dsn)
    url = f"http://127.0.0.1:{backend.http.port}/readyz"
    try:
        async with httpx.AsyncClient() as client:
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )

            async def not_ready() -> bool:
                response = await client.get(url)
                return response.status_code == 503 and any(
                    r.startswith("postgres:") for r in response.json()["reasons"]
                )

            await eventually(not_ready, message="readyz reports postgres")
            await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

            async def ready() -> bool:
                return (await client.get(url)).status_code == 200

            await eventually(ready, message="readyz recovers")
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_not_ready_once_shutdown_begins(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    backend.readiness.mark_shutting_down()
    assert "shutting down" in await backend.readiness.reasons()
