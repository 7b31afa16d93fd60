"""GET /api/v1/admin/geo/stats through the real edge and FastAPI app, over real PostgreSQL."""

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from galaxy_backend.geo import GeoReader, GeoService
from galaxy_backend.geo.routes import admin_router
from galaxy_backend.kernel.errors import Unauthenticated
from galaxy_backend.postgres import Database
from galaxy_backend.server.auth import AudienceGuard, CallerInfo, Principal
from galaxy_backend.server.http_app import build_http_app
from tests.geo.conftest import Clock
from tests.support import eventually

URL = "/api/v1/admin/geo/stats"


class StaticAdmins:
    """A hand-written authenticator: each known token is an admin with fixed roles."""

    def __init__(self, roles_by_token: dict[str, frozenset[str]]) -> None:
        self._roles = roles_by_token

    async def authenticate(self, token: str, caller: CallerInfo) -> Principal:
        roles = self._roles.get(token)
        if roles is None:
            raise Unauthenticated("unknown admin token")
        return Principal(audience="admin", subject=f"admin-{token}", roles=roles)


@pytest.fixture
async def service(database: Database, test_mmdb: Path, clock: Clock) -> AsyncIterator[GeoService]:
    service = GeoService(database=database, reader=GeoReader.open(test_mmdb), clock=clock)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def client(service: GeoService) -> AsyncIterator[httpx.AsyncClient]:
    authenticator = StaticAdmins(
        {"viewer": frozenset({"viewer"}), "admin": frozenset({"admin"}), "odd": frozenset({"x"})}
    )
    app = build_http_app(
        version="test",
        routers=[admin_router(service)],
        fast_routes=[],
        guards=[AudienceGuard("admin", "/api/v1/admin", authenticator)],
        tracer=TracerProvider().get_tracer("test"),
        meter=MeterProvider().get_meter("test"),
        max_body_bytes=4096,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("token", ["viewer", "admin"])
async def test_operators_read_the_stats(
    client: httpx.AsyncClient, service: GeoService, clock: Clock, token: str
) -> None:
    user = uuid4()
    service.record_sign_in(service.country_for("5.10.0.1"))
    service.record_activity(user, service.country_for("5.10.0.1"))
    clock.advance(days=1)
    service.record_activity(user, service.country_for("2a01:4f8::1"))
    await eventually(lambda: service.pending_writes == 0)

    response = await client.get(URL, headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {"day": "2025-03-15", "country": "DE", "sign_ins": 0, "active_users": 1},
            {"day": "2025-03-14", "country": "FR", "sign_ins": 1, "active_users": 1},
        ]
    }
    narrow = await client.get(URL, params={"days": 1}, headers=bearer(token))
    assert narrow.json()["items"] == [response.json()["items"][0]]


async def test_no_figures_give_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, headers=bearer("viewer"))
    assert response.status_code == 200
    assert response.json() == {"items": []}


@pytest.mark.parametrize("days", ["0", "91", "-3", "seven"])
async def test_a_bad_window_is_a_validation_error(client: httpx.AsyncClient, days: str) -> None:
    response = await client.get(URL, params={"days": days}, headers=bearer("viewer"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [(f["location"], f["field"]) for f in error["details"]["fields"]] == [("query", "days")]


@pytest.mark.parametrize("headers", [{}, bearer("nobody")])
async def test_callers_without_an_admin_session_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_an_admin_without_a_reading_role_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, headers=bearer("odd"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_role"


async def test_the_route_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][URL]["get"]
    assert operation["tags"] == ["geo"]
    assert [p["name"] for p in operation["parameters"]] == ["days"]
