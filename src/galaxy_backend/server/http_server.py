"""An HTTP listener component: uvicorn (uvloop + httptools) on a socket we bind ourselves."""

import asyncio
import contextlib
import functools
import socket
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, cast

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from galaxy_backend.config import Address
from galaxy_backend.server.errors import error_body
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)


# Bytes held for the end of the turn at most; more is written at once.
_HOLD_LIMIT = 64 * 1024


class _CoalescingTransport(asyncio.Transport):
    """Sends what is written in one turn of the event loop in one write.

    uvicorn writes a response's head and its body with two `write()` calls: two syscalls
    and, with TCP_NODELAY, two packets for the gateway to read. Held until the end of the
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


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """What one client may hold of the listener (BACKEND_HTTP_* limits)."""

    # A request's line and headers together; more is 431 (httptools has no bound).
    max_header_bytes: int = 32 * 1024
    # From a connection's first byte (or its opening) to the end of a request's headers.
    header_timeout: float = 10.0
    # An idle connection between requests.
    keepalive_timeout: float = 30.0
    # Open connections at once; past it a new one gets 503 and is closed.
    max_connections: int = 2048


# After a refusal, what the client still sends is read and dropped for this long (at most
# this much of it), so that the refusal reaches it before the close (nginx's lingering close).
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1 << 20


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing each response in one go (see above), with the
    listener's limits on headers, on the time to send them, and on connections."""

    def __init__(self, *args: Any, limits: ListenerLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._reading_head = True
        self._head_bytes = 0
        # Ends of heads and of messages seen so far.
        self._boundaries = 0
        # Whether any byte of the current request has come (a silent connection has none).
        self._head_started = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._lingering = -1  # bytes dropped since a refusal; -1: none
        # False while bytes are fed to the parser: only a request's start ends the idle time.
        self._idle_may_end = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without being its subclass.
        socket_transport = cast(asyncio.Transport, transport)
        super().connection_made(_CoalescingTransport(socket_transport, asyncio.get_running_loop()))
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, "too_many_connections", "the server has too many connections")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering >= 0:
            self._lingering += len(data)
            if self._lingering > _LINGER_BYTES:
                self.transport.close()
            return
        boundaries = self._boundaries
        self._idle_may_end = False
        try:
            super().data_received(data)
        finally:
            self._idle_may_end = True
        # Counted only when the whole chunk was head: a chunk that ended a head or a
        # message holds body bytes too (and at most one chunk of the next head).
        if self._reading_head and self._boundaries == boundaries and self._lingering < 0:
            self._head_bytes += len(data)
            if self._head_bytes > self._limits.max_header_bytes:
                self._refuse(
                    431,
                    "headers_too_large",
                    f"request headers exceed {self._limits.max_header_bytes} bytes",
                )

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn ends the idle time on any byte: a stray CRLF, or the rest of a body answered
        # unread, would then hold an idle connection open for ever.
        if self._idle_may_end:
            super()._unset_keepalive_if_required()

    def _end_idle_time(self) -> None:
        self._idle_may_end = True
        super()._unset_keepalive_if_required()

    def on_message_begin(self) -> None:
        self._end_idle_time()
        super().on_message_begin()
        self._head_started = True
        self._reading_head = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        # A head begun while the previous answer was going out ends the idle time only now.
        self._end_idle_time()
        self._boundaries += 1
        self._reading_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._boundaries += 1
        self._reading_head = True
        self._head_started = False
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_late)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self._reading_head or self.transport.is_closing():
            return
        if self._head_started:
            self._refuse(408, "request_timeout", "the request's headers came too slowly")
        else:
            self.transport.close()

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer in the API's error shape and close, unless a response is under way (a
        pipelined request): then only close."""
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        body = error_body(code, message)
        self.transport.write(
            STATUS_LINE[status]
            + b"content-type: application/json\r\nconnection: close\r\n"
            + b"content-length: %d\r\n\r\n" % len(body)
            + body
        )
        self._lingering = 0
        self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)


class _EmbeddedServer(uvicorn.Server):
    # The App owns SIGINT/SIGTERM; uvicorn must neither catch nor re-raise them.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_socket(address: Address, backlog: int = 2048) -> socket.socket:
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
        family = info[0][0]
        sock = socket.create_server((address.host, address.port), family=family, backlog=backlog)
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
        on_failure: Callable[[str], None] | None = None,
        limits: ListenerLimits | None = None,
    ) -> None:
        self.name = name
        self._limits = limits or ListenerLimits()
        self.stop_timeout: float | None = shutdown_timeout
        self._address = address
        self._app = app
        self._on_failure = on_failure
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.port = 0

    async def start(self) -> None:
        sock = bind_socket(self._address)
        self.port = sock.getsockname()[1]
        protocol = functools.partial(_HttpProtocol, limits=self._limits)
        config = uvicorn.Config(
            self._app,
            # uvicorn calls it with its own arguments, as it would the class.
            http=cast(type[asyncio.Protocol], protocol),
            ws="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            # The edge reads X-Forwarded-For itself (server.client_address), normalising
            # the dual-stack socket's IPv4-mapped peers, which uvicorn's check would not.
            proxy_headers=False,
            # No graceful timeout of uvicorn's own: the App's deadline for this stop bounds it.
            timeout_graceful_shutdown=None,
            timeout_keep_alive=max(1, round(self._limits.keepalive_timeout)),
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
        _log.info(
            "HTTP listener bound", listener=self.name, address=str(self._address), port=self.port
        )

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
            _log.error(
                "in-flight requests cut at the drain deadline",
                listener=self.name,
                requests=len(server.server_state.tasks),
            )
            raise
        finally:
            self._server = None
