"""Every route of the user, internal and admin audiences refuses requests without credentials."""

import httpx
import pytest

from galaxy_backend.wiring import ADMIN_LOGIN_PATH, Backend
from tests.support import eventually
from tests.support.api import Api, bearer

GUARDED = ("/api/v1/user/", "/api/v1/internal/", "/api/v1/admin/")
OPEN = {ADMIN_LOGIN_PATH}


def concrete(path: str) -> str:
    """Fill path parameters with a syntactically valid placeholder."""
    parts = []
    for part in path.split("/"):
        parts.append("00000000-0000-0000-0000-000000000000" if part.startswith("{") else part)
    return "/".join(parts)


async def test_every_guarded_route_refuses_a_request_without_credentials(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        spec = (await client.get("/openapi.json")).json()
        checked = 0
        for path, operations in spec["paths"].items():
            if not path.startswith(GUARDED) or path in OPEN:
                continue
            for method in operations:
                for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
                    response = await client.request(method.upper(), concrete(path), headers=headers)
                    assert response.status_code == 401, (method, path, headers)
                    assert response.json()["error"]["code"] in {
                        "unauthenticated",
                        "invalid_session",
                    }
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("prefix", GUARDED)
async def test_unlisted_paths_under_each_audience_are_refused_too(
    start_backend, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        response = await client.get(prefix + "anything")
    assert response.status_code == 401


async def test_internal_routes_answer_with_the_internal_token(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend()
    cursor = backend.push.publish("k", {})
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        response = await client.get(
            "/api/v1/internal/push/status",
            headers={"Authorization": f"Bearer {backend.internal_token}"},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["last_cursor"] == cursor
    assert body["retained"] == 1
    assert body["subscribers"] == 0


async def test_metrics_listener_serves_prometheus_text(start_backend) -> None:  # type: ignore[no-untyped-def]
    backend: Backend = await start_backend(BACKEND_METRICS_ADDR="127.0.0.1:0")
    assert backend.metrics is not None
    async with httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{backend.http.port}/healthz")
        await client.get(
            f"http://127.0.0.1:{backend.http.port}/api/v1/internal/push/status",
            headers={"Authorization": f"Bearer {backend.internal_token}"},
        )
        backend.push.publish("k", {})
        response = await client.get(f"http://127.0.0.1:{backend.metrics.port}/metrics")
        other = await client.get(f"http://127.0.0.1:{backend.metrics.port}/")
    assert response.status_code == 200
    assert (
        'http_server_request_duration_seconds_count{http_request_method="GET",'
        'http_response_status_code="200",http_route="/api/v1/internal/push/status"' in response.text
    )
    # Buckets in seconds (the SDK's defaults would put every request under le="5.0").
    assert 'http_route="/api/v1/internal/push/status",le="0.005",' in response.text
    # Probes are neither traced nor measured.
    assert 'http_route="/healthz"' not in response.text

    async def mail_queue_counted() -> bool:
        # The mail worker counts its (empty) queue as soon as it runs.
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{backend.metrics.port}/metrics")).text
        return 'mail_queue_depth{mail_status="pending",' in text and "mail_dead_letters{" in text

    await eventually(mail_queue_counted, message="mail queue gauges")
    assert "push_events_published" in response.text
    # Counts that tests read are operators' figures too.
    assert "cache_bus_reconnects_total{" in response.text
    assert "runtime_turns_requested_total{" in response.text
    assert other.status_code == 404


async def test_each_audience_takes_only_its_own_live_tokens(api: Api) -> None:
    """The authenticators production wires: a live session passes, anything else is 401."""
    signed = await api.sign_in("audience@example.org")
    player = bearer(signed["token"])
    operator = bearer(await api.admin_token())
    internal = bearer(api.backend.internal_token)
    assert (await api.client.get("/api/v1/user/me", headers=player)).status_code == 200
    assert (await api.client.get("/api/v1/admin/me", headers=operator)).status_code == 200
    for headers in (operator, internal, bearer("gsu_" + "x" * 43)):
        refused = await api.client.get("/api/v1/user/me", headers=headers)
        assert refused.status_code == 401, headers
    for headers in (player, internal):
        refused = await api.client.get("/api/v1/admin/me", headers=headers)
        assert refused.status_code == 401, headers
    await api.client.post("/api/v1/user/auth/logout", headers=player)
    gone = await api.client.get("/api/v1/user/me", headers=player)
    assert (gone.status_code, gone.json()["error"]["code"]) == (401, "invalid_session")
