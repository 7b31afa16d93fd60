"""The gRPC listener: a grpc.aio server with internal-token auth and graceful shutdown."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from galaxy_backend.config import Address
from galaxy_backend.telemetry import get_logger

_log = get_logger(__name__)

if TYPE_CHECKING:
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor

# How long calls left after the drain get before they are cancelled.
_END_GRACE_SECONDS = 1.0

_SERVER_OPTIONS = [
    # Long-lived streams: ping idle connections so dead gateways are noticed.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.so_reuseport", 0),
]


def grpc_target(address: Address) -> str:
    if address.host == "":
        return f"[::]:{address.port}"
    return str(address)


def _wrap_denial(
    handler: grpc.RpcMethodHandler[Any, Any], code: grpc.StatusCode, message: str
) -> grpc.RpcMethodHandler[Any, Any]:
    async def deny_unary(_: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message)

    async def deny_stream(_: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message)
        yield  # pragma: no cover - makes this an async generator

    deserializer = handler.request_deserializer
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(deny_stream, request_deserializer=deserializer)
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(deny_unary, request_deserializer=deserializer)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(deny_stream, request_deserializer=deserializer)
    return grpc.stream_unary_rpc_method_handler(deny_unary, request_deserializer=deserializer)


class InternalTokenInterceptor(_Interceptor):
    """Every call needs `authorization: Bearer <internal token>`; others get UNAUTHENTICATED."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token if callable(token) else lambda: token

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        presented = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                presented = value if isinstance(value, str) else value.decode("latin-1")
                break
        if not hmac.compare_digest(presented.encode(), f"Bearer {self._token()}".encode()):
            return _wrap_denial(
                handler, grpc.StatusCode.UNAUTHENTICATED, "missing or invalid internal token"
            )
        return handler


class ShutdownGateInterceptor(_Interceptor):
    """Refuses new calls with UNAVAILABLE once shutdown begins, while old ones finish."""

    def __init__(self) -> None:
        self.closed = False

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if self.closed and handler is not None:
            return _wrap_denial(handler, grpc.StatusCode.UNAVAILABLE, "server is shutting down")
        return handler


class GrpcListener:
    """Binds at start; on stop runs `drain` (e.g. flush push streams), then stops with grace."""

    name = "grpc"

    def __init__(
        self,
        *,
        address: Address,
        handlers: Sequence[grpc.GenericRpcHandler[Any, Any]],
        interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]],
        shutdown_timeout: float,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._address = address
        self._handlers = list(handlers)
        self._gate = ShutdownGateInterceptor()
        self._interceptors = [self._gate, *interceptors]
        self._drain_timeout = shutdown_timeout
        # The drain, then ending the calls that are left.
        self.stop_timeout: float | None = shutdown_timeout + _END_GRACE_SECONDS + 1.0
        self._drain = drain
        self._server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        server = grpc.aio.server(interceptors=self._interceptors, options=_SERVER_OPTIONS)
        server.add_generic_rpc_handlers(self._handlers)
        target = grpc_target(self._address)
        try:
            self.port = server.add_insecure_port(target)
        except RuntimeError as exc:
            raise OSError(f"cannot bind gRPC listener on {target}: {exc}") from exc
        await server.start()
        self._server = server
        _log.info("gRPC listener bound", address=target, port=self.port)

    def refuse_new(self) -> None:
        self._gate.closed = True

    async def stop(self) -> None:
        """Run `drain` (push events reach the gateways) within the drain budget, then end
        every call: a gateway that stopped reading cannot hold the stop past its budget."""
        self._gate.closed = True
        try:
            if self._drain is not None:
                try:
                    async with asyncio.timeout(self._drain_timeout):
                        await self._drain()
                except TimeoutError:
                    _log.warning(
                        "push streams not drained in time (a gateway is not reading); ending them",
                        budget_seconds=self._drain_timeout,
                    )
        finally:
            server, self._server = self._server, None
            if server is not None:
                # Shielded: even a stop cut short by the App's deadline ends the calls.
                await asyncio.shield(server.stop(grace=_END_GRACE_SECONDS))
