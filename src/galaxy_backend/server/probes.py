"""Liveness and readiness: `/healthz` while the process serves, `/readyz` when it can work."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson
from pydantic import BaseModel

from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply

Check = Callable[[], Awaitable[str | None]]

_HEALTHY = Reply(200, b'{"status":"ok"}')


class SupportsReady(Protocol):
    name: str

    def ready(self) -> bool: ...


class SupportsReasons(Protocol):
    def reasons(self) -> list[str]: ...


class Readiness:
    """Every registered check must pass: caches warm, Postgres answering, every background
    loop on time, not shutting down."""

    def __init__(self, *, check_timeout: float = 2.0) -> None:
        self._checks: list[tuple[str, Check]] = []
        self._caches: list[SupportsReady] = []
        self._loops: list[SupportsReasons] = []
        self._check_timeout = check_timeout
        self._shutting_down = False

    def add_check(self, name: str, check: Check) -> None:
        self._checks.append((name, check))

    def add_cache(self, cache: SupportsReady) -> None:
        self._caches.append(cache)

    def add_loops(self, loops: SupportsReasons) -> None:
        """Loops whose `reasons()` name each one overdue (see `galaxy_backend.kernel.liveness`)."""
        self._loops.append(loops)

    def mark_shutting_down(self) -> None:
        self._shutting_down = True

    async def reasons(self) -> list[str]:
        """Why the process is not ready; empty when it is."""
        found = [] if not self._shutting_down else ["shutting down"]
        found += [f"cache {c.name} is not warm" for c in self._caches if not c.ready()]
        for loops in self._loops:
            found += loops.reasons()
        results = await asyncio.gather(*(self._run(name, check) for name, check in self._checks))
        found += [reason for reason in results if reason]
        return found

    async def _run(self, name: str, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self._check_timeout):
                reason = await check()
        except TimeoutError:
            return f"{name}: no answer within {self._check_timeout:g}s"
        except Exception as exc:
            return f"{name}: {type(exc).__name__}"
        return f"{name}: {reason}" if reason else None


class ProbeStatus(BaseModel):
    status: str
    reasons: list[str] = []


def probe_routes(readiness: Readiness) -> list[FastRoute]:
    async def healthz(_: FastRequest) -> Reply:
        return _HEALTHY

    async def readyz(_: FastRequest) -> Reply:
        reasons = await readiness.reasons()
        if reasons:
            return Reply(503, orjson.dumps({"status": "not_ready", "reasons": reasons}))
        return Reply(200, b'{"status":"ready","reasons":[]}')

    return [
        FastRoute(
            "GET",
            "/healthz",
            healthz,
            audience=None,
            summary="Liveness probe",
            response_model=ProbeStatus,
            tags=("probes",),
            traced=False,
        ),
        FastRoute(
            "GET",
            "/readyz",
            readyz,
            audience=None,
            summary=(
                "Readiness probe: 503 with reasons unless caches are warm, Postgres answers"
                " and every background loop is on time"
            ),
            response_model=ProbeStatus,
            responses={503: {"model": ProbeStatus}},
            tags=("probes",),
            traced=False,
        ),
    ]
