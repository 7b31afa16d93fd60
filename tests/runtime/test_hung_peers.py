"""A hung engine or Docker daemon is a bounded wait, then an error the reconciler and the
workers know: real servers of our own that accept and never answer, or answer a byte at a
time for ever."""

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from galaxy_backend.kernel.errors import GatewayTimeout
from galaxy_backend.runtime.drivers.base import DriverError
from galaxy_backend.runtime.drivers.docker import DockerDriver
from galaxy_backend.runtime.engine_client import EngineClient, EngineTokens


@contextlib.asynccontextmanager
async def engine_server(*, trickle: bool) -> AsyncIterator[str]:
    """An "engine" that reads the request and then says nothing (or sends an endless reply
    a byte every 100 ms, which no per-read timeout ever notices)."""
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await reader.readuntil(b"\r\n\r\n")
            if trickle:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while True:
                    writer.write(b"x")
                    await writer.drain()
                    await asyncio.sleep(0.1)
            await asyncio.Event().wait()
        writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await server.wait_closed()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
async def test_a_hung_engine_is_a_gateway_timeout_and_an_unhealthy_one(trickle: bool) -> None:
    client = EngineClient(EngineTokens(lambda: b"k" * 32), timeout=0.5)
    try:
        async with engine_server(trickle=trickle) as address:
            with pytest.raises(GatewayTimeout) as caught:
                await client.json(uuid4(), address, "GET", "/admin/status")
            assert caught.value.code == "engine_timeout"
            assert not await client.healthy(address, wait_seconds=0.5)
    finally:
        await client.stop()


@contextlib.contextmanager
def hung_docker_socket(directory: Path) -> Iterator[str]:
    """A unix socket where a "Docker daemon" accepts every connection and never answers."""
    path = directory / "docker.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


async def test_a_hung_docker_daemon_is_a_transient_driver_error(tmp_path: Path) -> None:
    with hung_docker_socket(tmp_path) as host:
        driver = DockerDriver(host, timeout=1)
        try:
            with pytest.raises(DriverError) as caught:
                await driver.inspect(uuid4())
            assert caught.value.transient
        finally:
            await driver.close()
