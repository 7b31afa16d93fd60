"""The backend's HTTP listener bounds what a client may hold: header size (431), the time to
send headers, idle keep-alive connections and connections at once, through raw sockets
against the whole backend's real listener."""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from galaxy_backend.wiring import Backend
from tests.support import eventually

StartBackend = Callable[..., Awaitable[Backend]]
HEAD = b"GET /healthz HTTP/1.1\r\nhost: backend\r\n"


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server still sends, until it closes the connection."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            received += chunk
    return received


async def healthy(port: int) -> bool:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200


async def test_a_huge_header_is_refused_with_431_before_much_of_it_is_read(
    start_backend: StartBackend,
) -> None:
    backend = await start_backend(BACKEND_HTTP_MAX_HEADER_BYTES="16384")
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.http.port)
    answer = asyncio.create_task(closed_by_server(reader))
    writer.write(HEAD + b"x-big: ")
    sent, chunk = 0, b"a" * 65536
    # 64 MiB offered, a chunk at a time, until the server stops taking them.
    with contextlib.suppress(ConnectionError):
        while sent < 64 << 20 and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
    received = await asyncio.wait_for(answer, 30)
    writer.close()
    assert received.startswith(b"HTTP/1.1 431 "), received[:100]
    body = json.loads(received.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "headers_too_large"
    # Refused early: far less than what was offered ever left this side.
    assert sent < 16 << 20
    assert await healthy(backend.http.port)


async def test_headers_within_the_limit_and_a_large_body_pass(
    start_backend: StartBackend,
) -> None:
    backend = await start_backend(BACKEND_HTTP_MAX_HEADER_BYTES="16384")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.http.port}") as client:
        response = await client.post(
            "/api/v1/public/auth/email-code",
            headers={"x-padding": "p" * 12000},
            # The body goes past the header limit: only the headers are counted.
            content=json.dumps({"email": "padded@example.org", "pad": "q" * 200_000}),
        )
    # Read in full and answered by the app (it refuses the unknown field), not the listener.
    assert response.status_code == 422, response.text


async def test_connections_holding_half_sent_headers_are_closed(
    start_backend: StartBackend,
) -> None:
    backend = await start_backend(BACKEND_HTTP_HEADER_TIMEOUT="1s")
    connections = [
        await asyncio.open_connection("127.0.0.1", backend.http.port) for _ in range(200)
    ]
    for _, writer in connections:
        writer.write(HEAD + b"x-slow: still typi")
        await writer.drain()
    answers = [asyncio.create_task(closed_by_server(reader)) for reader, _ in connections]
    # Another client is served meanwhile.
    assert await healthy(backend.http.port)
    await eventually(lambda: all(a.done() for a in answers), timeout=20, message="all closed")
    for answer in answers:
        assert answer.result().startswith(b"HTTP/1.1 408 "), answer.result()[:60]
    for _, writer in connections:
        writer.close()
    # A connection that never says a word is closed the same way, without an answer.
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.http.port)
    assert await asyncio.wait_for(closed_by_server(reader), 20) == b""
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed(start_backend: StartBackend) -> None:
    backend = await start_backend(BACKEND_HTTP_KEEPALIVE_TIMEOUT="1s")
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.http.port)
    writer.write(HEAD + b"\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    await reader.readexactly(length)
    # Nothing more is asked: the server ends the connection after the keep-alive time.
    assert await asyncio.wait_for(closed_by_server(reader), 20) == b""
    writer.close()


@pytest.mark.parametrize(
    ("request_", "stray"),
    [
        # A CRLF between requests: allowed, and skipped by the parser.
        (HEAD + b"\r\n", b"\r\n"),
        # The rest of a body the server answered without reading (405), sent after the answer.
        (b"POST /healthz HTTP/1.1\r\nhost: backend\r\ncontent-length: 5\r\n\r\n", b"hello"),
    ],
)
async def test_bytes_that_begin_no_request_do_not_keep_a_connection_open(
    start_backend: StartBackend, request_: bytes, stray: bytes
) -> None:
    backend = await start_backend(BACKEND_HTTP_KEEPALIVE_TIMEOUT="1s")
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.http.port)
    writer.write(request_)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await asyncio.wait_for(reader.readexactly(length), 10)
    # The answer is whole; what follows begins no request, so the idle time runs on.
    writer.write(stray)
    assert await asyncio.wait_for(closed_by_server(reader), 20) == b""
    writer.close()


async def test_connections_past_the_limit_are_refused_until_some_close(
    start_backend: StartBackend,
) -> None:
    backend = await start_backend(BACKEND_HTTP_MAX_CONNECTIONS="20")
    held = [await asyncio.open_connection("127.0.0.1", backend.http.port) for _ in range(20)]
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.http.port)
    refused = await asyncio.wait_for(closed_by_server(reader), 20)
    writer.close()
    assert refused.startswith(b"HTTP/1.1 503 "), refused[:60]
    assert json.loads(refused.partition(b"\r\n\r\n")[2])["error"]["code"] == "too_many_connections"
    for _, held_writer in held:
        held_writer.close()
        await held_writer.wait_closed()

    async def served() -> bool:
        try:
            return await healthy(backend.http.port)
        except httpx.HTTPError:
            return False

    await eventually(served, message="served once connections closed")
