"""The listener's edge limits, hit with raw sockets as an abusive client would."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from galaxy_gateway.wiring import Gateway
from tests.support import eventually

StartGateway = Callable[..., Awaitable[Gateway]]
# Nothing behind it: the limits answer before any request would be forwarded.
NO_BACKEND = {
    "GATEWAY_BACKEND_URL": "http://127.0.0.1:9",
    "GATEWAY_BACKEND_PUSH_ADDRS": "127.0.0.1:9",
    "GATEWAY_INTERNAL_TOKEN": "t" * 40,
}


class Raw:
    """One TCP connection to the gateway."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, timeout: float = 10.0) -> tuple[int, bytes]:
        """The status line's code and everything until the server closes."""
        data = await asyncio.wait_for(self.reader.read(), timeout)
        status = int(data.split(b" ", 2)[1]) if data else 0
        return status, data


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[int], Awaitable[Raw]]]:
    opened: list[Raw] = []

    async def connect(port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        connection = Raw(reader, writer)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.writer.close()


async def test_oversized_headers_are_431(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_MAX_HEADER_BYTES="4096")
    many = await raw(gateway.http.port)
    headers = b"".join(b"x-filler-%d: %s\r\n" % (n, b"a" * 100) for n in range(60))
    await many.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\n" + headers + b"\r\n")
    status, body = await many.answer()
    assert status == 431
    assert json.loads(body.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "headers_too_large"
    # One header line that never ends is cut as soon as it passes the bound.
    endless = await raw(gateway.http.port)
    await endless.send(b"GET / HTTP/1.1\r\nx-endless: " + b"b" * 10_000)
    assert (await endless.answer())[0] == 431
    # Headers within the bound are served.
    fine = await raw(gateway.http.port)
    await fine.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert (await fine.answer())[0] == 200


async def test_headers_that_come_too_slowly_are_cut(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_HEADER_TIMEOUT="300ms")
    silent = await raw(gateway.http.port)
    assert (await silent.answer())[0] == 408
    trickle = await raw(gateway.http.port)
    await trickle.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
    assert (await trickle.answer())[0] == 408


async def test_connections_past_the_maximum_are_refused(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(
        None, **NO_BACKEND, GATEWAY_HTTP_MAX_CONNECTIONS="3", GATEWAY_HTTP_HEADER_TIMEOUT="1m"
    )
    held = [await raw(gateway.http.port) for _ in range(3)]
    extra = await raw(gateway.http.port)
    status, body = await extra.answer()
    assert status == 503
    assert b"too_many_connections" in body
    # A slot freed is a slot for the next client.
    held[0].writer.close()
    await eventually(lambda: gateway.http.connections < 3, message="a slot freed")
    later = await raw(gateway.http.port)
    await later.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert (await later.answer())[0] == 200


async def test_an_idle_keep_alive_connection_is_closed(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_KEEPALIVE_TIMEOUT="300ms")
    connection = await raw(gateway.http.port)
    await connection.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    # The server closes the idle connection by itself after answering.
    status, _ = await connection.answer(timeout=10)
    assert status == 200


async def test_a_malformed_request_is_400(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND)
    connection = await raw(gateway.http.port)
    await connection.send(b"NOT HTTP AT ALL\r\n\r\n")
    assert (await connection.answer())[0] == 400


@pytest.mark.parametrize(
    "stray",
    [
        # A CRLF between requests (allowed, and skipped by the parser).
        b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
        # A body the gateway answered without reading (405), sent after the answer.
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n",
    ],
)
async def test_bytes_that_begin_no_request_do_not_keep_a_connection_open(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]], stray: bytes
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_KEEPALIVE_TIMEOUT="300ms")
    connection = await raw(gateway.http.port)
    await connection.send(stray)
    head = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), 10)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await asyncio.wait_for(connection.reader.readexactly(length), 10)
    # The answer is complete; what follows begins no request, so the idle time runs on.
    await connection.send(b"\r\n" if stray.startswith(b"GET") else b"hello")
    assert await asyncio.wait_for(connection.reader.read(), 10) == b""


@pytest.mark.parametrize("path", ["/api/v1/public/auth/email-code", "/healthz"])
async def test_a_body_that_comes_too_slowly_is_408(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]], path: str
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_BODY_TIMEOUT="300ms")
    connection = await raw(gateway.http.port)
    head = b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{" % path.encode()
    await connection.send(head)
    status, body = await connection.answer()
    if path == "/healthz":
        # Answered before its body was read: the answer is whole and the connection cut.
        assert status == 200
        return
    assert status == 408
    assert json.loads(body.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_timeout"


@pytest.mark.parametrize(
    "extra",
    [
        b"content-length: 5\r\n\r\nhello",
        b"transfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        b"".join(b"x-many-%d: y\r\n" % n for n in range(200)) + b"\r\n",
    ],
)
async def test_an_upgrade_request_websockets_refuses_is_answered_and_closed(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]], extra: bytes
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND)
    connection = await raw(gateway.http.port)
    await connection.send(
        b"GET /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
        b"sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra
    )
    status, body = await connection.answer()
    assert status == 400
    assert json.loads(body.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "bad_request"


async def test_a_pipelined_request_is_not_cut_by_the_idle_time(
    start_gateway: StartGateway, raw: Callable[[int], Awaitable[Raw]]
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND, GATEWAY_HTTP_KEEPALIVE_TIMEOUT="300ms")
    connection = await raw(gateway.http.port)
    # The second request begins before the first is answered, and goes on after it.
    await connection.send(
        b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nPOST /api/v1/public/auth/email-code HTTP/1.1\r\n"
    )
    await asyncio.wait_for(connection.reader.readuntil(b'{"status":"ok"}'), 10)
    await connection.send(b"host: x\r\ncontent-length: 2\r\n\r\n{")
    # Past the idle time: the request under way is not idle.
    await asyncio.sleep(1)
    await connection.send(b"}")
    # Read whole, the body goes on to the backend, which is not there.
    status, _ = await connection.answer()
    assert status == 503


async def test_an_upgrade_the_gateway_does_not_speak_is_served_as_http_and_not_logged(
    start_gateway: StartGateway,
    raw: Callable[[int], Awaitable[Raw]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = await start_gateway(None, **NO_BACKEND)
    connection = await raw(gateway.http.port)
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        await connection.send(
            b"GET /healthz HTTP/1.1\r\nhost: x\r\n"
            b"connection: Upgrade, close\r\nupgrade: h2c\r\n\r\n"
        )
        assert (await connection.answer())[0] == 200
    assert [r.getMessage() for r in caplog.records if r.name.startswith("uvicorn")] == []
