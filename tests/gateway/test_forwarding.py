"""HTTP through the gateway: the public and user API reach the backend, nothing else does."""

import asyncio
import gc
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from galaxy_gateway.wiring import Gateway
from tests.support import eventually
from tests.support.gateway import Stack


async def test_sign_in_and_me_through_the_gateway(stack: Stack) -> None:
    signed = await stack.sign_in("pilot@example.org")
    me = await stack.client.get(
        "/api/v1/user/me", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == "pilot@example.org"
    assert me.headers["x-request-id"]


async def test_a_request_id_is_kept_and_reaches_the_backend(stack: Stack) -> None:
    reply = await stack.client.get("/api/v1/public/games", headers={"X-Request-ID": "trace-me-42"})
    assert reply.status_code == 200
    assert reply.headers["x-request-id"] == "trace-me-42"
    made = await stack.client.get("/api/v1/public/games", headers={"X-Request-ID": "bad id!"})
    assert made.headers["x-request-id"] not in ("", "bad id!")


async def test_the_backend_sees_the_client_named_by_a_trusted_proxy(stack: Stack) -> None:
    # The test client is on loopback, which the gateway trusts by default (a load balancer).
    signed = await stack.sign_in("far@example.org", **{"X-Forwarded-For": "203.0.113.7"})
    sessions = await stack.client.get(
        "/api/v1/user/me/sessions", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert [s["client_ip"] for s in sessions.json()["items"]] == ["203.0.113.7"]


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        # Left of an entry that is not an address, the caller wrote the chain.
        ("junk, 203.0.113.9", "203.0.113.9"),
        ("198.51.100.4, unknown, 203.0.113.9", "203.0.113.9"),
        ("203.0.113.9, 2001:db8::7", "2001:db8::7"),
        # A chain of nothing but junk names no one: the peer is the client.
        ("junk", "127.0.0.1"),
        ("203.0.113.9,,", "127.0.0.1"),
    ],
)
async def test_a_trusted_chain_is_read_from_the_right_as_far_as_it_holds_addresses(
    stack: Stack, chain: str, client: str
) -> None:
    signed = await stack.sign_in("chain@example.org", **{"X-Forwarded-For": chain})
    sessions = await stack.client.get(
        "/api/v1/user/me/sessions", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert [s["client_ip"] for s in sessions.json()["items"]] == [client]


async def test_an_untrusted_peer_cannot_name_itself(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(GATEWAY_TRUSTED_PROXIES="192.0.2.0/24")
    signed = await stack.sign_in("near@example.org", **{"X-Forwarded-For": "203.0.113.7"})
    sessions = await stack.client.get(
        "/api/v1/user/me/sessions", headers={"Authorization": f"Bearer {signed['token']}"}
    )
    assert [s["client_ip"] for s in sessions.json()["items"]] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/internal/sessions/resolve"),
        ("GET", "/api/v1/admin/me"),
        ("POST", "/api/v1/admin/auth/login"),
        ("GET", "/api/v1/admin/users"),
        ("GET", "/api/v1/internal"),
        ("GET", "/api/v2/public/games"),
        ("GET", "/api"),
    ],
)
async def test_internal_and_admin_paths_are_not_served(
    stack: Stack, method: str, path: str
) -> None:
    token = stack.backend.internal_token
    reply = await stack.client.request(
        method, path, headers={"Authorization": f"Bearer {token}"}, json={"token": "x"}
    )
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"


async def test_bodies_pass_through_both_ways(stack: Stack) -> None:
    # Large enough to be streamed rather than read whole; the backend's own validation answers.
    big = {"email": "x" * 200_000 + "@example.org"}
    reply = await stack.client.post("/api/v1/public/auth/email-code", json=big)
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "validation_failed"

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": '
        yield b'"chunked@example.org"}'

    chunked = await stack.client.post(
        "/api/v1/public/auth/email-code",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 202, chunked.text


async def test_a_body_over_the_limit_is_refused_at_the_gateway(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(GATEWAY_HTTP_MAX_BODY_BYTES="1000")
    reply = await stack.client.post(
        "/api/v1/public/auth/email-code",
        content=b"x" * 5000,
        headers={"content-type": "text/plain"},
    )
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 500

    streamed = await stack.client.post("/api/v1/public/auth/email-code", content=chunks())
    assert streamed.status_code == 413


async def test_a_stopped_backend_is_503_at_once(stack: Stack) -> None:
    await stack.backend.app.stop()
    began = time.monotonic()
    reply = await stack.client.get("/api/v1/public/games")
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "backend_unavailable"
    assert time.monotonic() - began < 5  # bounded by the connect timeout, not a hang
    ready = await stack.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert "the backend is unavailable" in ready.json()["reasons"]


@pytest.fixture
async def silent_backend() -> AsyncIterator[int]:
    """A TCP listener that accepts and never answers: a backend that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    sock: socket.socket = server.sockets[0]
    yield int(sock.getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_backend_that_does_not_answer_is_504_within_the_timeout(
    start_gateway: Callable[..., Awaitable[Gateway]], silent_backend: int
) -> None:
    gateway = await start_gateway(
        None,
        GATEWAY_BACKEND_URL=f"http://127.0.0.1:{silent_backend}",
        GATEWAY_BACKEND_PUSH_ADDRS=f"127.0.0.1:{silent_backend}",
        GATEWAY_INTERNAL_TOKEN="t" * 40,
        GATEWAY_BACKEND_TIMEOUT="300ms",
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.http.port}") as client:
        reply = await client.get("/api/v1/public/games")
    assert reply.status_code == 504
    assert reply.json()["error"]["code"] == "backend_timeout"


async def test_the_web_client_is_served_at_the_root(stack: Stack) -> None:
    page = await stack.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in page.headers
    assert (await stack.client.get("/no-such-page")).status_code == 404


async def test_the_gateways_trace_continues_in_the_backend(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    stack = await start_stack(
        {"BACKEND_OTEL_TRACES_EXPORTER": "stdout"}, GATEWAY_OTEL_TRACES_EXPORTER="stdout"
    )
    seen = {"gateway": InMemorySpanExporter(), "backend": InMemorySpanExporter()}
    stack.gateway.telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(seen["gateway"]))
    stack.backend.telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(seen["backend"]))
    reply = await stack.client.get("/api/v1/public/games", headers={"X-Request-ID": "traced-1"})
    assert reply.status_code == 200
    [outer] = [
        s
        for s in seen["gateway"].get_finished_spans()
        if s.attributes and s.attributes.get("http.request.id") == "traced-1"
    ]
    inner = [
        s
        for s in seen["backend"].get_finished_spans()
        if s.attributes and s.attributes.get("http.request.id") == "traced-1"
    ]
    assert inner, "the backend recorded no span for the request"
    assert outer.context is not None and inner[0].parent is not None
    assert inner[0].context is not None
    assert inner[0].context.trace_id == outer.context.trace_id
    assert inner[0].parent.span_id == outer.context.span_id


async def test_a_clients_traceparent_is_not_followed(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    """The public cannot pick trace ids or force sampling; only a trusted proxy can."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    stack = await start_stack(
        GATEWAY_OTEL_TRACES_EXPORTER="stdout", GATEWAY_TRUSTED_PROXIES="192.0.2.0/24"
    )
    spans = InMemorySpanExporter()
    stack.gateway.telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    forged = "0123456789abcdef0123456789abcdef"
    reply = await stack.client.get(
        "/api/v1/public/games",
        headers={"traceparent": f"00-{forged}-0123456789abcdef-01", "X-Request-ID": "forged-1"},
    )
    assert reply.status_code == 200
    [span] = [
        s
        for s in spans.get_finished_spans()
        if s.attributes and s.attributes.get("http.request.id") == "forged-1"
    ]
    assert span.context is not None
    assert format(span.context.trace_id, "032x") != forged
    assert span.parent is None


async def test_a_request_in_flight_when_the_gateway_stops_is_finished(stack: Stack) -> None:
    # Half a request's body is in when the stop begins: new connections are refused at
    # once, and this request still gets its answer from the backend before the gateway ends.
    body = b'{"email": "late@example.org"}'
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http.port)
    writer.write(
        b"POST /api/v1/public/auth/email-code HTTP/1.1\r\nHost: galaxy\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10]
    )
    await writer.drain()
    stopping = asyncio.create_task(stack.gateway.app.stop())

    def refused() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", stack.gateway.http.port)) != 0

    await eventually(refused, message="new connections refused")
    writer.write(body[10:])
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 202"), head
    writer.close()
    await asyncio.wait_for(stopping, 30)


async def _raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """One request written as it is (an HTTP client would resolve its dot segments)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n" % target)
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


async def test_a_path_with_dot_segments_is_not_forwarded(stack: Stack) -> None:
    # A hop behind the gateway that normalizes paths would turn these into admin and internal
    # routes. With the backend stopped, anything forwarded is 503: a 404 is the gateway's own.
    await stack.backend.app.stop()
    port = stack.gateway.http.port
    assert (await _raw_get(port, b"/api/v1/user/me"))[0] == 503
    for target in [
        b"/api/v1/user/../admin/me",
        b"/api/v1/public/../internal/sessions/resolve",
        b"/api/v1/user/%2e%2e/admin/users",
        b"/api/v1/user/..%2fadmin/me",
        b"/api/v1/user/..%5cadmin/me",
        b"/api/v1/user/./me",
        b"/api/v1/public/games/..",
    ]:
        status, body = await _raw_get(port, target)
        assert (status, json.loads(body)["error"]["code"]) == (404, "not_found"), target


async def test_a_redirect_from_the_backend_does_not_name_the_backend(stack: Stack) -> None:
    signed = await stack.sign_in("slash@example.org")
    auth = {"Authorization": f"Bearer {signed['token']}"}
    # The backend redirects a trailing slash away, naming itself by the Host it was sent.
    moved = await stack.client.get("/api/v1/user/me/", headers=auth)
    assert moved.status_code == 307
    assert moved.headers["location"] == "/api/v1/user/me"
    followed = await stack.client.get(moved.headers["location"], headers=auth)
    assert followed.json()["email"] == "slash@example.org"


async def test_a_client_that_leaves_mid_body_leaves_no_failure_unretrieved(stack: Stack) -> None:
    # asyncio reports a failed future no one awaited as an error: one log line per client
    # that breaks off an upload, at the client's will.
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        heads = [
            b'transfer-encoding: chunked\r\n\r\n2\r\n{"\r\n',
            b"content-length: 100000\r\n\r\n" + b" " * 70_000,
        ]
        for head in heads:
            left = stack.gateway.edge.forwarded[499]
            _, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http.port)
            writer.write(b"POST /api/v1/public/auth/email-code HTTP/1.1\r\nhost: x\r\n" + head)
            await writer.drain()
            writer.close()
            # A 499 comes only from reading the body, which happens as it goes to the backend.
            await eventually(
                lambda left=left: stack.gateway.edge.forwarded[499] > left, message="499"
            )
        assert (await stack.client.get("/api/v1/public/games")).status_code == 200
        gc.collect()
        assert [c["message"] for c in reported] == []
    finally:
        loop.set_exception_handler(previous)


async def test_slow_uploads_cannot_take_every_backend_connection(
    start_stack: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_stack(
        GATEWAY_BACKEND_MAX_CONNECTIONS="4", GATEWAY_BACKEND_CONNECT_TIMEOUT="300ms"
    )
    uploads: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    # As many chunked bodies as the pool has connections, each stopping after one byte.
    for _ in range(4):
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http.port)
        writer.write(
            b"POST /api/v1/public/auth/email-code HTTP/1.1\r\nhost: x\r\n"
            b"content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1\r\n{\r\n"
        )
        await writer.drain()
        uploads.append((reader, writer))
    waiting = {asyncio.ensure_future(reader.readuntil(b"\r\n\r\n")) for reader, _ in uploads}
    try:
        # Streaming bodies get a quarter of the pool: one holds it, the others are refused.
        answered: set[asyncio.Future[bytes]] = set()
        while len(answered) < 3:
            done, waiting = await asyncio.wait(
                waiting, timeout=10, return_when=asyncio.FIRST_COMPLETED
            )
            assert done, "the uploads past the share were not refused"
            answered |= done
        assert [a.result().split(b" ")[1] for a in answered] == [b"503"] * 3
        assert len(waiting) == 1
        # Everyone else still reaches the backend, and the gateway stays ready.
        assert (await stack.client.get("/api/v1/public/games")).status_code == 200
        assert (await stack.client.get("/readyz")).status_code == 200
    finally:
        for _, writer in uploads:
            writer.close()
        for future in waiting:
            future.cancel()
