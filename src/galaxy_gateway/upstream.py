"""A pooled HTTP/1.1 keep-alive client for the one upstream the gateway talks to.

Framing and pooling only: parsing is httptools' (llhttp, the parser uvicorn serves with).
It exists because forwarding is the gateway's hottest path and the general-purpose clients
measured cost two to three times as much CPU per request (bench/README.md, "Gateway"):
everything here runs on the event loop, a response head and a small body arrive in one
callback, and a request leaves in one write.

Every wait is bounded: connecting and waiting for a free connection by `connect_timeout`
(UpstreamUnavailable), the whole exchange by the caller's deadline (UpstreamTimeout). A
connection that breaks mid-answer is UpstreamBroken; it is never reused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Sequence

import httptools

Headers = Sequence[tuple[bytes, bytes]]
Body = bytes | AsyncIterable[bytes] | None

# Body bytes held for a slow reader before the upstream socket stops being read.
_READ_AHEAD = 256 * 1024
# Methods safe to send again when a reused connection turns out to be closed.
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"})


class UpstreamError(Exception):
    """The upstream could not be asked or did not answer properly."""


class UpstreamUnavailable(UpstreamError):
    """No connection: refused, unreachable, or every connection busy for too long."""


class UpstreamTimeout(UpstreamError):
    """No complete answer before the deadline."""


class UpstreamBroken(UpstreamError):
    """The connection broke or the answer was malformed."""


class _Stale(Exception):
    """A reused connection closed before any answer: the request may be sent again."""


class Response:
    """A response head, with its body to be read with `chunks()` (or dropped with `close()`)."""

    def __init__(self, connection: _Connection, status: int, headers: list[tuple[bytes, bytes]]):
        self.status = status
        self.headers = headers
        self._connection = connection

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; the connection goes back to the pool at its end."""
        connection = self._connection
        while True:
            chunk = await connection.next_chunk()
            if chunk is None:
                return
            yield chunk

    @property
    def buffered(self) -> bool:
        """The next step of `chunks()` will not wait (a chunk, the end or a failure is here)."""
        return self._connection.buffered

    async def read(self, limit: int) -> bytes:
        """The whole body, up to `limit` bytes (UpstreamBroken past it)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                self.close()
                raise UpstreamBroken("the answer is larger than expected")
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        """Give up on the rest of the body (the connection is closed, not reused)."""
        self._connection.abandon()


class _Connection(asyncio.Protocol):
    """One socket to the upstream and the exchange in progress on it."""

    def __init__(self, pool: UpstreamPool) -> None:
        self._pool = pool
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.reused = False
        self.idle_since = 0.0
        self.closed = False
        # Between a request's start and its answer's end (read, dropped or failed).
        self.in_use = False
        self._head: asyncio.Future[Response] | None = None
        self._head_only = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._reading_paused = False
        self._complete = False
        self._failure: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._answered = False
        self._keep_alive = False

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(UpstreamBroken("the upstream's answer is malformed"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if not self._complete:
            if (
                self._head is not None
                and not self._head.done()
                and self.reused
                and not self._answered
            ):
                self._head.set_exception(_Stale())
                self._head = None
            self._fail(UpstreamBroken("the upstream closed the connection"))
        self._wake_writer()

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        self._wake_writer()

    def _wake_writer(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    # -- httptools callbacks --------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        response = Response(self, self._parser.get_status_code(), self._headers)
        self._headers = []
        # Asked now: once the message is complete the parser has moved on to the next one.
        self._keep_alive = self._parser.should_keep_alive()
        if self._head_only:
            # A HEAD answer has no body whatever its length says; the parser cannot be
            # told, so this connection is not used again.
            self._complete = True
        self._deliver_head(response)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _READ_AHEAD and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def on_message_complete(self) -> None:
        if self._complete:
            return
        self._complete = True
        self._wake_reader()

    # -- the exchange ---------------------------------------------------------------------

    def _deliver_head(self, response: Response) -> None:
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_result(response)

    def _wake_reader(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self._failure is None:
            self._failure = error
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(error)
        self._wake_reader()
        if self.transport is not None and not self.closed:
            self.transport.abort()

    async def send(self, method: bytes, head: bytes, body: Body) -> asyncio.Future[Response]:
        """Write the request; the future the response head will arrive in."""
        assert self.transport is not None
        self.in_use = True
        self._head = self._loop.create_future()
        self._head_only = method == b"HEAD"
        self._complete = False
        self._answered = False
        self._failure = None
        self._chunks.clear()
        self._buffered = 0
        future = self._head
        if body is None or isinstance(body, bytes):
            self.transport.write(head + body if body else head)
            return future
        self.transport.write(head)
        try:
            async for chunk in body:
                if self.closed:
                    break
                if chunk:
                    self.transport.write(chunk)
                if self._writable is not None:
                    await self._writable
        except BaseException:
            # The body failed (the client left, or sent too much): no one will await the answer.
            _drop(future)
            raise
        return future

    async def send_chunked(
        self, method: bytes, head: bytes, body: AsyncIterable[bytes]
    ) -> asyncio.Future[Response]:
        """Write a request whose body length is unknown, in chunked transfer coding."""

        async def framed() -> AsyncIterator[bytes]:
            async for chunk in body:
                if chunk:
                    yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
            yield b"0\r\n\r\n"

        return await self.send(method, head, framed())

    @property
    def buffered(self) -> bool:
        return bool(self._chunks) or self._complete or self._failure is not None

    async def next_chunk(self) -> bytes | None:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._reading_paused and self._buffered < _READ_AHEAD // 2 and self.transport:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return chunk
            if self._complete:
                self._finish(reuse=self._keep_alive and not self._head_only)
                return None
            if self._failure is not None:
                raise self._failure
            self._waiter = self._loop.create_future()
            await self._waiter

    def abandon(self) -> None:
        head, self._head = self._head, None
        if head is not None:
            _drop(head)
        if self.in_use:
            self._finish(reuse=False)

    def _finish(self, *, reuse: bool) -> None:
        if not self.in_use:
            return
        self.in_use = False
        if reuse and not self.closed:
            self._pool.release(self)
        elif self.transport is not None and not self.closed:
            self.closed = True
            self._pool.forget(self)
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one host and port, at most `max_connections` at once."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int,
        connect_timeout: float,
        idle_timeout: float,
    ) -> None:
        self._host = host
        self._port = port
        self._host_header = f"{host}:{port}".encode()
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[_Connection] = deque()
        self._all: set[_Connection] = set()

    def release(self, connection: _Connection) -> None:
        connection.reused = True
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        self._slots.release()

    def forget(self, connection: _Connection) -> None:
        if connection in self._all:
            self._all.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)
            else:
                self._slots.release()

    async def _acquire(self) -> _Connection:
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise UpstreamUnavailable("every connection to the upstream is busy") from None
        else:
            # A free slot is taken at once: no timer for the common case.
            await self._slots.acquire()
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < self._idle_timeout:
                return connection
            # Too old: the upstream may be closing it right now.
            self._all.discard(connection)
            if connection.transport is not None and not connection.closed:
                connection.closed = True
                connection.transport.close()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await asyncio.get_running_loop().create_connection(
                    lambda: _Connection(self), self._host, self._port
                )
        except (OSError, TimeoutError) as exc:
            self._slots.release()
            raise UpstreamUnavailable(f"cannot connect to the upstream: {exc!r}") from None
        self._all.add(connection)
        return connection

    def _head(self, method: bytes, target: bytes, headers: Headers, length: int | None) -> bytes:
        lines = [method, b" ", target, b" HTTP/1.1\r\nhost: ", self._host_header, b"\r\n"]
        for name, value in headers:
            lines += [name, b": ", value, b"\r\n"]
        if length is not None:
            lines.append(b"content-length: %d\r\n" % length)
        lines.append(b"\r\n")
        return b"".join(lines)

    async def request(
        self,
        method: bytes,
        target: bytes,
        headers: Headers,
        body: Body = None,
        *,
        length: int | None = None,
        deadline: float,
    ) -> Response:
        """Send a request and return once its head has arrived (`deadline` is monotonic).

        `body` is bytes, or an async iterable of `length` bytes (or of unknown length:
        then it is sent chunked). The caller reads the response's body or closes it.
        """
        if isinstance(body, bytes):
            length = len(body)
        elif body is None:
            length = 0 if method in (b"POST", b"PUT", b"PATCH") else None
        replayable = body is None or isinstance(body, bytes)
        for attempt in (1, 2):
            connection = await self._acquire()
            try:
                async with asyncio.timeout_at(_loop_time(deadline)):
                    if body is not None and not isinstance(body, bytes) and length is None:
                        head = self._head(
                            method, target, [*headers, (b"transfer-encoding", b"chunked")], None
                        )
                        future = await connection.send_chunked(method, head, body)
                    else:
                        head = self._head(method, target, headers, length)
                        future = await connection.send(method, head, body)
                    return await future
            except _Stale:
                if attempt == 1 and replayable and method in _IDEMPOTENT:
                    continue
                raise UpstreamBroken("the upstream closed the connection") from None
            except TimeoutError:
                connection.abandon()
                raise UpstreamTimeout("the upstream did not answer in time") from None
            except BaseException:
                connection.abandon()
                raise
        raise UpstreamBroken("the upstream closed the connection")

    async def close(self) -> None:
        for connection in list(self._all):
            if connection.transport is not None and not connection.closed:
                connection.closed = True
                connection.transport.close()
        self._all.clear()
        self._idle.clear()


def _drop(future: asyncio.Future[Response]) -> None:
    """Give up on an answer: a failure no one retrieves would be logged as an error."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()


def _loop_time(deadline: float) -> float:
    """A `time.monotonic()` deadline on the event loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())
