"""The gateway's pooled HTTP/1.1 client against servers of our own that misbehave on cue."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from galaxy_gateway.upstream import (
    UpstreamBroken,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.support import eventually

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    """Reads each request head and lets `reply` answer; False from it closes the socket."""

    reply: Reply
    port: int = 0
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)


async def ok(head: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    return True


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> Server:
        state = Server(reply)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    state.heads.append(head)
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            await reader.readexactly(int(line.split(b":")[1]))
                    if not await state.reply(head, writer):
                        break
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        state.port = server.sockets[0].getsockname()[1]
        return state

    yield start
    for server in servers:
        server.close()


def pool(server: Server, **options: float) -> UpstreamPool:
    settings = {"max_connections": 4, "connect_timeout": 1.0, "idle_timeout": 20.0} | options
    return UpstreamPool(
        "127.0.0.1",
        server.port,
        max_connections=int(settings["max_connections"]),
        connect_timeout=settings["connect_timeout"],
        idle_timeout=settings["idle_timeout"],
    )


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


async def get(client: UpstreamPool, method: bytes = b"GET") -> tuple[int, bytes]:
    reply = await client.request(method, b"/x", [(b"x-test", b"1")], deadline=soon())
    return reply.status, await reply.read(1 << 20)


async def test_one_connection_carries_request_after_request(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(ok)
    client = pool(server)
    for _ in range(20):
        assert await get(client) == (200, b"ok")
    assert server.connections == 1
    assert server.heads[0].startswith(b"GET /x HTTP/1.1\r\nhost: 127.0.0.1:")
    assert b"x-test: 1\r\n" in server.heads[0]
    await client.close()


async def test_a_closed_idle_connection_is_replaced_for_a_safe_method(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    answered = 0

    async def once_then_close(head: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal answered
        answered += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return False  # closes the kept-alive connection right after answering

    server = await serve(once_then_close)
    client = pool(server)
    for _ in range(3):
        assert await get(client) == (200, b"ok")
    assert answered == 3
    await client.close()


async def test_a_chunked_answer_streams_through_in_pieces(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def chunked(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for part in (b"alpha", b"beta", b"gamma"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True

    server = await serve(chunked)
    client = pool(server)
    reply = await client.request(b"GET", b"/", [], deadline=soon())
    assert [chunk async for chunk in reply.chunks()] == [b"alpha", b"beta", b"gamma"]
    assert await get(client) == (200, b"alphabetagamma")  # and the connection is reused
    assert server.connections == 1
    await client.close()


async def test_a_head_answer_has_no_body_whatever_its_length(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def head_then_get(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
            return True
        return await ok(head, writer)

    server = await serve(head_then_get)
    client = pool(server)
    assert await get(client, b"HEAD") == (200, b"")
    assert await get(client) == (200, b"ok")
    await client.close()


async def test_a_broken_answer_is_upstream_broken(serve: Callable[..., Awaitable[Server]]) -> None:
    async def garbage(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/9 what\r\n\r\n")
        return True

    async def cut(head: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly some")
        await writer.drain()
        return False

    for reply in (garbage, cut):
        client = pool(await serve(reply))
        with pytest.raises(UpstreamBroken):
            await get(client, b"POST")
        await client.close()


async def test_no_answer_in_time_is_upstream_timeout(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def silent(head: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    client = pool(await serve(silent))
    began = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await client.request(b"GET", b"/", [], deadline=time.monotonic() + 0.3)
    assert time.monotonic() - began < 5
    await client.close()


async def test_nobody_listening_and_a_full_pool_are_unavailable(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(ok)
    closed = UpstreamPool("127.0.0.1", 9, max_connections=1, connect_timeout=1, idle_timeout=1)
    with pytest.raises(UpstreamUnavailable):
        await get(closed)

    hold = asyncio.Event()

    async def held(head: bytes, writer: asyncio.StreamWriter) -> bool:
        await hold.wait()
        return await ok(head, writer)

    server.reply = held
    client = pool(server, max_connections=1, connect_timeout=0.3)
    before = len(server.heads)
    first = asyncio.create_task(get(client))
    await eventually(lambda: len(server.heads) > before, message="the first request arrived")
    with pytest.raises(UpstreamUnavailable):
        await get(client)
    hold.set()
    assert await first == (200, b"ok")
    # The slot came back: the pool serves again.
    assert await get(client) == (200, b"ok")
    await client.close()


async def test_a_streamed_body_goes_chunked_or_with_its_length(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    bodies: list[bytes] = []

    async def echo_length(head: bytes, writer: asyncio.StreamWriter) -> bool:
        bodies.append(head)
        return await ok(head, writer)

    server = await serve(echo_length)
    client = pool(server)

    async def parts() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    reply = await client.request(b"POST", b"/", [], parts(), length=4, deadline=soon())
    assert await reply.read(100) == b"ok"
    assert b"content-length: 4\r\n" in bodies[-1]
    await client.close()
