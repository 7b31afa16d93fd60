"""The HTTP edge over a real listener: errors, auth by audience, request ids, limits, traces."""

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from galaxy_backend.server.client_address import ClientAddresses
from galaxy_backend.server.fastpath import FastRequest, FastRoute, Reply
from galaxy_backend.server.middleware import EdgeMiddleware
from galaxy_backend.telemetry import http_server_durations
from tests.server.edge_stack import MAX_BODY, TOKEN, EdgeStack, build_stack


@pytest.fixture
async def stack() -> AsyncIterator[EdgeStack]:
    stack = build_stack()
    await stack.listener.start()
    yield stack
    stack.gates.release.set()
    await stack.listener.stop()


@pytest.fixture
async def client(stack: EdgeStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url) as client:
        yield client


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


async def test_unknown_route_is_404_in_the_error_model(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/public/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert response.headers["x-request-id"]


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/public/things/1")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
)
async def test_internal_routes_need_the_internal_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/internal/ping", headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_internal_route_with_the_token(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/internal/ping", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert response.json() == {"pong": "yes"}


async def test_an_unknown_path_under_a_guarded_audience_is_401_not_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/internal/does-not-exist")
    assert response.status_code == 401


async def test_admin_login_is_open_while_other_admin_routes_are_not(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/api/v1/admin/auth/login")).status_code == 200
    assert (await client.get("/api/v1/admin/users")).status_code == 401
    token = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/api/v1/admin/users", headers=token)).status_code == 401


async def test_a_valid_request_id_is_kept_and_an_invalid_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "gw-1234.abc"})
    assert kept.headers["x-request-id"] == "gw-1234.abc"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"
    assert len(replaced.headers["x-request-id"]) == 24


async def test_validation_errors_name_each_field_and_never_echo_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/public/things", json={"name": 5, "count": "hunter2-secret", "extra": 1}
    )
    assert response.status_code == 422
    assert error_code(response) == "validation_failed"
    fields = {f["field"]: f for f in response.json()["error"]["details"]["fields"]}
    assert set(fields) == {"name", "count", "extra"}
    assert fields["count"]["location"] == "body"
    assert fields["extra"]["code"] == "extra_forbidden"
    assert "hunter2" not in response.text


async def test_a_missing_body_and_a_bad_path_parameter_are_422(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/v1/public/things")
    assert missing.status_code == 422
    bad_path = await client.get("/api/v1/public/things/abc")
    assert bad_path.status_code == 422
    assert bad_path.json()["error"]["details"]["fields"][0]["field"] == "thing_id"


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/public/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


async def test_domain_errors_map_to_their_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/public/conflict")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "that name is taken",
        "details": {"field": "name"},
    }


async def test_an_unexpected_error_is_a_bare_500(
    client: httpx.AsyncClient, stack: EdgeStack
) -> None:
    response = await client.get("/api/v1/public/crash")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"]
    span = next(
        s
        for s in stack.spans.get_finished_spans()
        if s.attributes and s.attributes.get("http.route") == "/api/v1/public/crash"
    )
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 500
    assert not span.status.is_ok


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_bodies_are_413(client: httpx.AsyncClient, chunked: bool) -> None:
    body = b'{"name":"' + b"x" * (MAX_BODY + 10) + b'","count":1}'

    async def stream() -> AsyncIterator[bytes]:
        yield body[:100]
        yield body[100:]

    response = await client.post(
        "/api/v1/public/things",
        content=stream() if chunked else body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


async def test_server_spans_are_named_by_route_and_continue_incoming_traces(
    client: httpx.AsyncClient, stack: EdgeStack
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.get(
        "/api/v1/public/things/7", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    )
    assert response.status_code == 200
    span = next(
        s
        for s in stack.spans.get_finished_spans()
        if s.name == "GET /api/v1/public/things/{thing_id}"
    )
    assert span.context is not None and format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.attributes is not None
    assert span.attributes["http.request.id"] == response.headers["x-request-id"]
    assert span.attributes["http.response.status_code"] == 200


async def test_openapi_documents_every_route_with_its_security(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {
        "/healthz",
        "/readyz",
        "/api/v1/public/things",
        "/api/v1/internal/ping",
        "/api/v1/admin/auth/login",
        "/api/v1/admin/users",
    } <= set(paths)
    assert paths["/api/v1/internal/ping"]["get"]["security"] == [{"internalToken": []}]
    assert paths["/api/v1/admin/users"]["get"]["security"] == [{"adminSession": []}]
    assert "security" not in paths["/api/v1/admin/auth/login"]["post"]
    assert "security" not in paths["/api/v1/public/things"]["post"]
    assert paths["/api/v1/public/things"]["post"]["responses"]["422"]["content"][
        "application/json"
    ]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "ErrorBody" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["internalToken"]["scheme"] == "bearer"


def test_a_guarded_route_cannot_skip_the_edge_untraced() -> None:
    async def handler(_: FastRequest) -> Reply:
        return Reply(200)

    route = FastRoute(
        "GET", "/api/v1/internal/x", handler, audience="internal", summary="x", traced=False
    )
    with pytest.raises(ValueError, match="only open routes can be untraced"):
        EdgeMiddleware(
            handler,  # type: ignore[arg-type]
            guards=[],
            fast_routes=[route],
            client_addresses=ClientAddresses(()),
            tracer=TracerProvider().get_tracer("test"),
            durations=http_server_durations(MeterProvider().get_meter("test")),
            max_body_bytes=MAX_BODY,
        )
