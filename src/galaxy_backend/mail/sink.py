"""The embedded SMTP sink: with no relay configured, each mail becomes an .eml file."""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from galaxy_backend.kernel.files import write_atomically
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

# Big enough for any mail we send; a bound so a stray client cannot fill the disk at once.
_DATA_SIZE_LIMIT = 10 * 1024 * 1024


def _store(directory: Path, content: bytes) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    # A reader never sees half a file; a dev sink's mail need not survive a power cut.
    write_atomically(target, content, durable=False)
    return target


class _Handler:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or b""
        path = await asyncio.to_thread(_store, self._directory, content)
        _log.info("mail stored by the SMTP sink", file=path.name)
        return "250 OK stored"


class SmtpSink:
    """An aiosmtpd server on this event loop that stores each message under `directory`."""

    name = "smtp-sink"
    stop_timeout: float | None = 5.0

    def __init__(self, *, host: str, port: int, directory: Path) -> None:
        self._bind_host = host
        self._bind_port = port
        self._directory = directory
        self._server: asyncio.Server | None = None
        self._connections: set[SMTP] = set()
        self.host = host
        self.port = port

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def endpoint(self) -> tuple[str, int]:
        """Where to connect once started: for MailWorker(smtp_endpoint=sink.endpoint)."""
        if self._server is None:
            raise RuntimeError("the SMTP sink is not started")
        return self.host, self.port

    async def start(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        handler = _Handler(self._directory)
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            return TrackedSMTP(
                handler,
                self._connections,
                hostname="galaxy-smtp-sink",
                data_size_limit=_DATA_SIZE_LIMIT,
                enable_SMTPUTF8=True,
                loop=loop,
            )

        self._server = await loop.create_server(protocol, self._bind_host, self._bind_port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.host, self.port = str(host), int(port)
        _log.info(
            "SMTP sink storing mail as .eml files (BACKEND_SMTP_ADDR is unset)",
            directory=str(self._directory),
            address=f"{self.host}:{self.port}",
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        await close_smtp_server(server, self._connections)


async def close_smtp_server(server: asyncio.Server, connections: set[SMTP]) -> None:
    """Stop listening and end the open sessions of TrackedSMTP `connections`."""
    server.close()
    # Clients keep persistent connections; close them so wait_closed() can return.
    for connection in list(connections):
        if connection.transport is not None:
            connection.transport.close()
    await server.wait_closed()


class TrackedSMTP(SMTP):
    """aiosmtpd's protocol, remembering itself while connected so stop() can close it."""

    def __init__(self, handler: Any, registry: set[SMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._registry = registry

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._registry.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._registry.discard(self)
        super().connection_lost(error)
