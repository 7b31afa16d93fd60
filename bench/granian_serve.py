"""Bench only: `galaxy-backend serve` with granian's embedded server in place of uvicorn.

Builds the backend exactly as `serve` does and swaps its HTTP listener component for one
that runs the same ASGI app (edge and all) under granian in the same event loop, so
`hot_reads.py --granian` compares the two servers on the same application. Not a
production path: see bench/README.md for why granian was not adopted.
"""

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.server.embed import Server
from starlette.types import ASGIApp

from galaxy_backend.config import load_from_env
from galaxy_backend.server.http_server import HttpListener
from galaxy_backend.telemetry import configure_logging
from galaxy_backend.wiring import build_backend


class GranianListener:
    """The HttpListener's component interface over granian's embedded server."""

    def __init__(self, listener: HttpListener, host: str, port: int) -> None:
        self.name = listener.name
        self.stop_timeout = listener.stop_timeout
        self.port = port
        self._app: ASGIApp = listener._app  # the very app uvicorn would serve
        self._server = Server(
            self._app,
            address=host,
            port=port,
            interface=Interfaces.ASGINL,
            http=HTTPModes.http1,
            websockets=False,
            backlog=2048,
            log_enabled=False,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            return
        raise OSError("granian did not start listening")

    def refuse_new(self) -> None:
        self._server.stop()

    async def stop(self) -> None:
        self._server.stop()
        if self._task is not None:
            await self._task


async def main() -> int:
    config = load_from_env()
    configure_logging(config.log_level, config.log_format)
    backend = build_backend(config)
    host, _, port = os.environ["BACKEND_HTTP_ADDR"].rpartition(":")
    granian = GranianListener(backend.http, host, int(port))
    components = backend.app._components  # bench only: swap one component
    components[components.index(backend.http)] = granian  # type: ignore[arg-type]
    return await backend.app.run()


if __name__ == "__main__":
    sys.exit(uvloop.run(main()))
