"""The public listener: uvicorn (uvloop, httptools, websockets-sansio) with the edge limits.

uvicorn itself bounds the keep-alive idle time and the WebSocket frame size; the protocol
subclasses here add what it lacks: a cap on open connections (503), a bound on the request
head's size (431), on the time it may take to arrive and on the time its body may take
(408), an idle time that stray bytes cannot extend, and WebSocket closes that cannot be
held up by a client that stopped reading.
"""

import asyncio
import contextlib
import socket
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from galaxy_gateway.config import Address
from galaxy_gateway.errors import error_body
from galaxy_gateway.telemetry import get_logger

_log = get_logger(__name__)

# How long a closing WebSocket waits for the client's close frame before it is cut.
WS_CLOSE_TIMEOUT = 5.0
GOING_AWAY = 1001
INVALID_DATA = 1007


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """What one listener accepts; every value comes from GATEWAY_HTTP_* / GATEWAY_WS_*."""

    max_connections: int
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    ws_max_frame_bytes: int
    ws_ping_interval: float
    ws_ping_timeout: float


def _canned(status: int, reason: bytes, code: str, message: str) -> bytes:
    body = error_body(code, message)
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


_TOO_MANY = _canned(503, b"Service Unavailable", "too_many_connections", "too many connections")
_HEAD_TOO_LARGE = _canned(
    431,
    b"Request Header Fields Too Large",
    "headers_too_large",
    "the request's headers are too large",
)
_HEAD_TIMEOUT = _canned(
    408, b"Request Timeout", "request_timeout", "the request's headers came too slowly"
)
_BODY_TIMEOUT = _canned(
    408, b"Request Timeout", "request_timeout", "the request's body came too slowly"
)
_BAD_REQUEST = _canned(400, b"Bad Request", "bad_request", "malformed HTTP request")


# Bytes held for the end of the turn at most; more is written at once.
_HOLD_LIMIT = 64 * 1024


class _CoalescingTransport(asyncio.Transport):
    """Sends what is written in one turn of the event loop in one write.

    uvicorn writes a response's head and its body with two `write()` calls: two syscalls
    and, with TCP_NODELAY, two packets for the client to read (the backend's listener does
    the same; measured there, it took 12-17 us off each request). Held until the end of the
    turn (never longer), they leave together. Past `_HOLD_LIMIT` bytes the data leaves at
    once, so a large body meets the socket's own flow control as before. Everything else
    is the socket's transport.
    """

    __slots__ = ("_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        chunk = bytes(data)
        self._pending.append(chunk)
        self._held += len(chunk)
        if self._held >= _HOLD_LIMIT:
            self._flush()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._held = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._held = 0
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class _HeadTooLarge(Exception):
    pass


def _http_protocol(limits: EdgeLimits) -> type[HttpToolsProtocol]:
    class GatewayHttpProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with the connection cap and the request-head bounds."""

        _head_raw = 0
        _head_parsed = 0
        _in_head = True
        _in_body = False
        _refused = False
        _head_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections:
                self._refused = True
                self.transport = transport
                transport.write(_TOO_MANY)
                transport.close()
                return
            # uvloop's transports have asyncio.Transport's methods without being its subclass.
            super().connection_made(_CoalescingTransport(transport, self.loop))
            self._start_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            self._stop_body_timer()
            if self._refused:
                return
            super().connection_lost(exc)

        def _start_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(limits.header_timeout, self._head_late)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            self._head_timer = None
            if self._in_head and not self.transport.is_closing():
                self._refuse(_HEAD_TIMEOUT)

        def _refuse(self, reply: bytes) -> None:
            self._in_head = False
            self.transport.write(reply)
            self.transport.close()

        def _stop_body_timer(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _body_late(self) -> None:
            self._body_timer = None
            if not self._in_body or self.transport.is_closing():
                return
            cycle = self.cycle
            if self.pipeline or cycle is None or cycle.response_started:
                # An answer is under way (or queued): closing is the only signal left.
                self.transport.close()
                return
            # Whatever the app would still send is dropped; a reader of the body sees the end.
            cycle.disconnected = True
            cycle.message_event.set()
            self._refuse(_BODY_TIMEOUT)

        def data_received(self, data: bytes) -> None:
            if self._refused or self.transport.is_closing():
                return
            # No keep-alive reset here (uvicorn resets on any byte): a stray CRLF or the rest
            # of a body already answered would hold an idle connection open for ever. A new
            # request's first byte ends the idle time instead (on_message_begin).
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                # Any other upgrade (h2c) is ignored, as HTTP lets a server do, and not logged:
                # uvicorn's warning would be a log line per request at a client's will.
                if self._should_upgrade():
                    self.handle_websocket_upgrade()
                return
            except httptools.HttpParserError as exc:
                too_large = isinstance(exc.__context__, _HeadTooLarge) or isinstance(
                    exc.__cause__, _HeadTooLarge
                )
                self._refuse(_HEAD_TOO_LARGE if too_large else _BAD_REQUEST)
                return
            # Counted after parsing: a request that begins in this chunk resets the count.
            if self._in_head:
                self._head_raw += len(data)
                if self._head_raw > limits.max_header_bytes:
                    self._refuse(_HEAD_TOO_LARGE)
            elif self._in_body and self._body_timer is None:
                # Armed only when a body is still to come: a bodiless request costs no timer.
                self._body_timer = self.loop.call_later(limits.body_timeout, self._body_late)

        def on_message_begin(self) -> None:
            self._unset_keepalive_if_required()
            super().on_message_begin()
            self._in_head = True
            self._head_raw = 0
            self._head_parsed = 0
            self._start_head_timer()

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._count(len(url))

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self._count(len(name) + len(value) + 4)

        def _count(self, size: int) -> None:
            self._head_parsed += size
            if self._head_parsed > limits.max_header_bytes:
                raise _HeadTooLarge

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._in_body = True
            self._stop_head_timer()
            # A head begun while the previous answer was going out ends only now.
            self._unset_keepalive_if_required()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            self._stop_body_timer()
            super().on_message_complete()

    return GatewayHttpProtocol


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, with closes that a stalled client cannot hold.

    A close is written at once, even while the socket is paused for a client that stopped
    reading (uvicorn would wait for it to drain first), and the connection is cut when the
    client has not answered it within WS_CLOSE_TIMEOUT. A server stop says 1001 (going away).
    An upgrade request websockets cannot parse is answered 400 and closed; a text message
    that is not UTF-8 is closed with 1007 without an error in the log.
    """

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if (
            not self.handshake_initiated
            and self.conn.handshake_exc is not None
            and not self.transport.is_closing()
        ):
            # websockets refused the upgrade request before it was one (a body, too many
            # headers) and uvicorn sends nothing for that: the socket would be held for ever.
            self.transport.write(_BAD_REQUEST)
            self.transport.close()

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type != "text":
            super().send_receive_event_to_app()
            return
        # uvicorn's own, but for a text message that is not UTF-8: a client's bad bytes are
        # closed with 1007 without an error line and a traceback in the log for each.
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return
        try:
            text = data.decode()
        except UnicodeDecodeError:
            self.conn.send_close(INVALID_DATA, "invalid UTF-8")
            self.handle_parser_exception()
            return
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def send(self, message: Any) -> None:
        if message["type"] == "websocket.close" and self.handshake_complete:
            if self.disconnected or self.close_sent or self.transport.is_closing():
                return
            # Let the close past a paused transport; nothing is sent after it.
            self.writable.set()
            await super().send(message)
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = self.loop.call_later(WS_CLOSE_TIMEOUT, self.transport.abort)
            return
        await super().send(message)

    def shutdown(self) -> None:
        if self.handshake_complete and not self.close_sent and not self.disconnected:
            self.stop_keepalive()
            self.queue.put_nowait({"type": "websocket.disconnect", "code": GOING_AWAY})
            self.conn.send_close(GOING_AWAY, "server shutting down")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()
            return
        super().shutdown()


class _EmbeddedServer(uvicorn.Server):
    # The App owns SIGINT/SIGTERM; uvicorn must neither catch nor re-raise them.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(address: Address, backlog: int = 4096) -> socket.socket:
    """Bind early so a taken port fails start-up cleanly; `:port` listens on IPv4 and IPv6."""
    if address.host == "":
        if socket.has_dualstack_ipv6():
            sock = socket.create_server(
                ("", address.port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=backlog
            )
        else:
            sock = socket.create_server(("0.0.0.0", address.port), backlog=backlog)  # noqa: S104
    else:
        info = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM)
        sock = socket.create_server(
            (address.host, address.port), family=info[0][0], backlog=backlog
        )
    sock.setblocking(False)
    return sock


class HttpListener:
    """Serves an ASGI app; refusing new traffic closes the socket while requests finish."""

    def __init__(
        self,
        *,
        name: str,
        address: Address,
        app: ASGIApp,
        shutdown_timeout: float,
        limits: EdgeLimits | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.stop_timeout: float | None = shutdown_timeout
        self._address = address
        self._app = app
        self._limits = limits
        self._on_failure = on_failure
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.port = 0

    @property
    def connections(self) -> int:
        """Open connections, WebSockets included."""
        return len(self._server.server_state.connections) if self._server else 0

    async def start(self) -> None:
        sock = bind_socket(self._address)
        self.port = sock.getsockname()[1]
        limits = self._limits
        options: dict[str, Any] = {}
        if limits is not None:
            options = {
                "http": _http_protocol(limits),
                "ws": GatewayWebSocketProtocol,
                "ws_max_size": limits.ws_max_frame_bytes,
                "ws_ping_interval": limits.ws_ping_interval,
                "ws_ping_timeout": limits.ws_ping_timeout,
                # Compression costs memory per connection (about 60 KiB) for small JSON frames.
                "ws_per_message_deflate": False,
                "timeout_keep_alive": limits.keepalive_timeout,
            }
        else:
            options = {"http": "httptools", "ws": "none"}
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            date_header=False,
            # The edge reads X-Forwarded-For itself, trusting only GATEWAY_TRUSTED_PROXIES.
            proxy_headers=False,
            # No graceful timeout of uvicorn's own: the App's deadline for this stop bounds it.
            timeout_graceful_shutdown=None,
            **options,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{self.name}-listener")
        self._task.add_done_callback(self._on_done)
        while not server.started:
            if self._task.done():
                await self._task
                raise OSError(f"{self.name} listener exited during start")
            await asyncio.sleep(0.005)
        _log.info("listener bound", listener=self.name, address=str(self._address), port=self.port)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        error = task.exception()
        reason = f"{self.name} listener stopped unexpectedly"
        _log.error(reason, error=repr(error) if error else None)
        if self._on_failure is not None:
            self._on_failure(reason)

    def refuse_new(self) -> None:
        self._stopping = True
        if self._server is not None:
            for server in getattr(self._server, "servers", []):
                server.close()

    async def stop(self) -> None:
        self._stopping = True
        if self._server is None or self._task is None:
            return
        server = self._server
        server.should_exit = True
        try:
            # Shielded: running out of time must cut the requests, not uvicorn's shutdown.
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            server.force_exit = True
            for task in list(server.server_state.tasks):
                task.cancel()
            _log.error("in-flight requests cut at the drain deadline", listener=self.name)
            raise
        finally:
            self._server = None
