"""A real HTTP stack (edge + FastAPI + uvicorn on loopback) with routes made for tests."""

import asyncio
from dataclasses import dataclass, field
from ipaddress import ip_network

from fastapi import APIRouter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, ConfigDict

from galaxy_backend.config import Address
from galaxy_backend.kernel.errors import Conflict, Unauthenticated
from galaxy_backend.kernel.principal import CallerInfo, Principal
from galaxy_backend.server.auth import AudienceGuard, InternalTokenAuthenticator
from galaxy_backend.server.http_app import audience_router, build_http_app
from galaxy_backend.server.http_server import HttpListener
from galaxy_backend.server.probes import Readiness, probe_routes

TOKEN = "t" * 40
MAX_BODY = 2048


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


class RefuseEveryToken:
    """The edge's tests need a guarded audience, not sessions: the real ones are tested in
    tests/server/test_audiences.py against the backend's own authenticators."""

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        raise Unauthenticated("this test edge accepts no session")


@dataclass
class Gates:
    """Lets a test hold a request in flight and release it."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


def routers(gates: Gates) -> list[APIRouter]:
    public = audience_router("public")

    @public.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @public.post("/things", status_code=201)
    async def create_thing(thing: Thing) -> Thing:
        return thing

    @public.get("/conflict")
    async def conflict() -> None:
        raise Conflict("that name is taken", details={"field": "name"})

    @public.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret detail of the crash")

    @public.get("/slow")
    async def slow() -> dict[str, bool]:
        gates.entered.set()
        await gates.release.wait()
        return {"done": True}

    internal = audience_router("internal")

    @internal.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    admin = audience_router("admin")

    @admin.post("/auth/login")
    async def login() -> dict[str, str]:
        return {"open": "path"}

    @admin.get("/users")
    async def users() -> list[str]:
        return []

    return [public, internal, admin]


@dataclass
class EdgeStack:
    listener: HttpListener
    spans: InMemorySpanExporter
    gates: Gates
    readiness: Readiness

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.listener.port}"


def build_stack(shutdown_timeout: float = 5.0) -> EdgeStack:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    gates = Gates()
    readiness = Readiness()
    guards = [
        AudienceGuard("internal", "/api/v1/internal", InternalTokenAuthenticator(TOKEN)),
        AudienceGuard("user", "/api/v1/user", RefuseEveryToken()),
        AudienceGuard(
            "admin",
            "/api/v1/admin",
            RefuseEveryToken(),
            open_paths=frozenset({"/api/v1/admin/auth/login"}),
        ),
    ]
    app = build_http_app(
        version="test",
        routers=routers(gates),
        fast_routes=probe_routes(readiness),
        guards=guards,
        tracer=provider.get_tracer("test"),
        meter=MeterProvider().get_meter("test"),
        max_body_bytes=MAX_BODY,
        # The backend's default: the tests' client on loopback stands for the gateway.
        trusted_proxies=(ip_network("127.0.0.0/8"), ip_network("::1/128")),
    )
    listener = HttpListener(
        name="http", address=Address("127.0.0.1", 0), app=app, shutdown_timeout=shutdown_timeout
    )
    return EdgeStack(listener=listener, spans=spans, gates=gates, readiness=readiness)
