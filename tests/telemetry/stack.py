"""The HTTP edge on a real listener with the real telemetry runtime, exporting over OTLP."""

import io
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import ip_network

import httpx
import pytest

from galaxy_backend.config import Address
from galaxy_backend.postgres import Database
from galaxy_backend.server.auth import AudienceGuard, InternalTokenAuthenticator
from galaxy_backend.server.client_address import Network
from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply, json_reply
from galaxy_backend.server.http_app import audience_router, build_http_app
from galaxy_backend.server.http_server import HttpListener
from galaxy_backend.server.probes import Readiness, probe_routes
from galaxy_backend.telemetry import TelemetryRuntime, configure_logging, get_logger
from galaxy_backend.telemetry.runtime import TracesExporter
from tests.telemetry.otlp import Received, otlp_receiver

TOKEN = "t" * 40
# The tests' requests come from here: a gateway, whose traceparent is followed.
LOOPBACK = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
# One stream for the whole session: structlog keeps a logger bound to the stream it was
# first used with, so a stream closed after one test would break that logger in the next.
_LOGS = io.TextIOWrapper(io.BytesIO(), write_through=True)
# Both kinds of route: an ordinary FastAPI one and a fast route served by the edge.
WORK_PATHS = ("/api/v1/public/work", "/api/v1/public/fast-work")


@dataclass
class TracedStack:
    listener: HttpListener
    runtime: TelemetryRuntime
    received: Received
    logs_from: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.port}"

    def log_text(self) -> str:
        """What was logged (as JSON lines) since this stack started."""
        buffer = _LOGS.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue()[self.logs_from :].decode()


@asynccontextmanager
async def traced_stack(
    monkeypatch: pytest.MonkeyPatch,
    database: Database,
    *,
    traces_exporter: TracesExporter = "otlp",
    sample_ratio: float = 1.0,
    trusted_proxies: Sequence[Network] = LOOPBACK,
) -> AsyncIterator[TracedStack]:
    """Each work route runs a query, calls /healthz over httpx and logs a line."""
    with otlp_receiver() as (endpoint, received):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
        runtime = TelemetryRuntime(
            traces_exporter=traces_exporter,
            metrics_exporter="otlp",
            sample_ratio=sample_ratio,
            prometheus=True,
            service_version="test",
        )
        logs_from = len(_LOGS.buffer.getvalue())
        configure_logging("info", "json", stream=_LOGS)
        log = get_logger("tests.telemetry.work")
        base: list[str] = []

        async def work() -> None:
            async with database.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
            async with httpx.AsyncClient() as client:
                await client.get(f"{base[0]}/healthz")
            log.info("work done")

        public = audience_router("public")

        @public.get("/work")
        async def ordinary_work() -> dict[str, bool]:
            await work()
            return {"ok": True}

        async def fast_work(_: FastRequest) -> Reply:
            await work()
            return json_reply({"ok": True})

        app = build_http_app(
            version="test",
            routers=[public],
            fast_routes=[
                *probe_routes(Readiness()),
                FastRoute("GET", WORK_PATHS[1], fast_work, audience="public", summary="work"),
            ],
            guards=[
                AudienceGuard("internal", "/api/v1/internal", InternalTokenAuthenticator(TOKEN))
            ],
            tracer=runtime.tracer("galaxy_backend.http"),
            meter=runtime.meter("galaxy_backend.http"),
            durations=runtime.http_server_durations(),
            max_body_bytes=4096,
            trusted_proxies=trusted_proxies,
        )
        listener = HttpListener(
            name="http", address=Address("127.0.0.1", 0), app=app, shutdown_timeout=5.0
        )
        await runtime.start()
        await listener.start()
        base.append(f"http://127.0.0.1:{listener.port}")
        try:
            yield TracedStack(listener, runtime, received, logs_from)
        finally:
            await listener.stop()
            await runtime.stop()
            configure_logging("warning", "json")
