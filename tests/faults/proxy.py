"""A TCP proxy of our own between the backend and PostgreSQL, with faults on command.

- `pass_through()`: bytes flow both ways (the start state).
- `black_hole()`: every connection, open or new, stays open and forwards nothing, as on a
  partitioned network (the proxy's kernel still acknowledges, as a middlebox would).
- `reset()`: every open connection is reset (RST) at once; new ones pass.
- `heal(reset_old=...)`: new connections pass again. With `reset_old` the connections
  opened before are reset, as when the network comes back and the peer answers; without,
  they stay open and silent for ever, as after a failover to a new primary (the old
  server's sessions end: their upstream side is closed).
"""

import asyncio
import contextlib
import socket
import struct

_CHUNK = 65536


class _Link:
    """One client connection and its upstream; `muted` ones forward nothing any more."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.muted = False
        self.tasks: list[asyncio.Task[None]] = []

    def close_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.transport.abort()
            self.upstream = None

    def reset(self) -> None:
        _reset(self.client)
        self.close_upstream()
        for task in self.tasks:
            task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger 0: the close is an RST, not a FIN.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._holing = False
        self.port = 0
        self.accepted = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.reset()
        tasks = [task for link in self._links for task in link.tasks]
        self._links.clear()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def open_links(self) -> int:
        return len(self._links)

    # --- faults ------------------------------------------------------------------------------

    def pass_through(self) -> None:
        self._holing = False

    def black_hole(self) -> None:
        self._holing = True
        for link in self._links:
            link.muted = True

    def reset(self) -> None:
        for link in list(self._links):
            link.reset()
            self._links.discard(link)

    def heal(self, *, reset_old: bool) -> None:
        self._holing = False
        for link in list(self._links):
            if not link.muted:
                continue
            if reset_old:
                link.reset()
                self._links.discard(link)
            else:
                # The old server is gone; the client's side never hears of it.
                link.close_upstream()

    # --- plumbing ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            if self._holing:
                # Into the black hole: read and drop, never answer, until the client leaves.
                link.muted = True
                link.tasks = [asyncio.create_task(self._swallow(reader))]
            else:
                try:
                    up_reader, up_writer = await asyncio.open_connection(*self._upstream)
                except OSError:
                    # Nobody listens upstream (the server is down): refuse, as it would.
                    _reset(writer)
                    return
                link.upstream = up_writer
                link.tasks = [
                    asyncio.create_task(self._pump(reader, up_writer, link)),
                    asyncio.create_task(self._pump(up_reader, writer, link)),
                ]
            # Both directions ended: the client went away (a muted link lives until then).
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.discard(link)
            link.close_upstream()
            writer.transport.abort()

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(_CHUNK):
                pass

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link
    ) -> None:
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if link.muted:
                    continue  # swallowed: the far side never sees it
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if not link.muted:
                # One side closed: close the other, as a plain TCP path would.
                with contextlib.suppress(OSError):
                    writer.close()
