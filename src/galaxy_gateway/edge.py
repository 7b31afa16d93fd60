"""The gateway's ASGI root: request ids, the server span, and who answers what.

`/api/v1/public/...` and `/api/v1/user/...` go to the backend; every other `/api/...`
(internal and admin included) is 404 here; `/healthz` and `/readyz` are the probes; `/ws`
is the push endpoint; everything else is the web app (the player web client, `web/`).
"""

import random
import re
import time
from collections import Counter

import orjson
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galaxy_gateway.addresses import ClientAddresses
from galaxy_gateway.errors import JSON_HEADERS, error_body
from galaxy_gateway.forwarding import Forwarder, is_forwarded
from galaxy_gateway.probes import Readiness
from galaxy_gateway.telemetry import bind_request_id, get_logger, unbind_request_id
from galaxy_gateway.ws.endpoint import PushEndpoint

_log = get_logger(__name__)

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
WS_PATH = "/ws"


def _request_headers(scope: Scope) -> tuple[bytes | None, bytes | None, dict[str, str] | None]:
    """The request id, the X-Forwarded-For chain (repeated headers joined) and trace context."""
    request_id = forwarded_for = None
    propagated: dict[str, str] | None = None
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            request_id = value
        elif key == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
        elif key in (b"traceparent", b"tracestate"):
            propagated = propagated or {}
            propagated[key.decode()] = value.decode("latin-1")
    return request_id, forwarded_for, propagated


class Edge:
    """Routes every request; see the module's description."""

    def __init__(
        self,
        *,
        forwarder: Forwarder,
        push: PushEndpoint,
        web: ASGIApp,
        readiness: Readiness,
        addresses: ClientAddresses,
        tracer: Tracer,
    ) -> None:
        self._forwarder = forwarder
        self._push = push
        self._web = web
        self._readiness = readiness
        self._addresses = addresses
        self._tracer = tracer
        # Forwarded requests by status, read by the metrics at collection time.
        self.forwarded: Counter[int] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            if scope["path"] == WS_PATH:
                await self._push(scope, receive, send)
            else:
                # Refused before the handshake: an HTTP 403.
                await send({"type": "websocket.close", "code": 1008})
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path == "/healthz":
            await _reply(send, 200, b'{"status":"ok"}', [])
            return
        if path == "/readyz":
            reasons = await self._readiness.reasons()
            # The backend's probe body, so one check reads both.
            body = orjson.dumps({"status": "not_ready" if reasons else "ready", "reasons": reasons})
            await _reply(send, 503 if reasons else 200, body, [])
            return
        await self._traced(scope, receive, send, path)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        request_id, forwarded_for, propagated = _request_headers(scope)
        if request_id is None or not _REQUEST_ID.match(request_id):
            # Correlation ids need to be unique, not secret: no syscall per request.
            request_id = b"%024x" % random.getrandbits(96)
        peer = scope.get("client")
        client = self._addresses.resolve(peer[0] if peer else None, forwarded_for)
        span = self._open_span(method, path, request_id, propagated, client.via_trusted_proxy)
        context_token = otel_context.attach(trace.set_span_in_context(span))
        request_id_token = bind_request_id(rid(request_id))
        status = 500
        responded = False
        rid_header = (b"x-request-id", request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = message["status"]
                responded = True
                headers = message.get("headers", ())
                if not any(name == b"x-request-id" for name, _ in headers):
                    message["headers"] = [*headers, rid_header]
            await send(message)

        route = "web"
        try:
            if is_forwarded(path):
                route = "forwarded"
                status = await self._forwarder(
                    scope,
                    receive,
                    send_with_id,
                    request_id=request_id,
                    forwarded_for=client.forwarded_for,
                )
                self.forwarded[status] += 1
            elif path == "/api" or path.startswith("/api/"):
                route = "not_served"
                await _reply(
                    send_with_id,
                    404,
                    error_body("not_found", "not found"),
                    JSON_HEADERS,
                )
            else:
                await self._web(scope, receive, send_with_id)
        except Exception as exc:
            span.record_exception(exc)
            _log.error("request failed", method=method, path=path, exc_info=exc)
            if responded:
                raise
            # No stack trace reaches a client: the API's error body instead.
            await _reply(send_with_id, 500, error_body("internal_error", "internal error"), [])
        finally:
            _close_span(span, method=method, path=path, route=route, status=status, started=started)
            otel_context.detach(context_token)
            unbind_request_id(request_id_token)

    def _open_span(
        self,
        method: str,
        path: str,
        request_id: bytes,
        propagated: dict[str, str] | None,
        trusted: bool,
    ) -> Span:
        # Only a trusted proxy may continue its trace here; a client cannot steer sampling.
        parent = propagate.extract(propagated) if propagated and trusted else None
        span = self._tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
        if span.is_recording():
            span.set_attributes(
                {
                    "http.request.method": method,
                    "url.path": path,
                    "http.request.id": rid(request_id),
                }
            )
        return span


def _close_span(
    span: Span, *, method: str, path: str, route: str, status: int, started: float
) -> None:
    """Name the span by route and status, end it; a server error is logged as well."""
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    if status >= 500:
        _log.warning(
            "request",
            method=method,
            path=path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
    span.end()


def rid(request_id: bytes) -> str:
    return request_id.decode()


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *(headers or JSON_HEADERS),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
