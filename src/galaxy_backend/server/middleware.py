"""The edge: one pure-ASGI layer that every HTTP request crosses before any framework code.

It assigns the request id, opens the server span, enforces the body limit and each
audience's authentication by path, serves the hot routes, and turns any escaped exception
into the API's error body. Doing this once here keeps every route protected by default
and keeps the hot paths cheap.
"""

import asyncio
import logging
import random
import re
import time
from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galaxy_backend.kernel.errors import (
    DatabaseUnavailable,
    DomainError,
    Unauthenticated,
    Unavailable,
)
from galaxy_backend.kernel.fields import clean_header_text
from galaxy_backend.postgres.faults import database_unavailable
from galaxy_backend.server.auth import (
    CLIENT_IP_SCOPE_KEY,
    PRINCIPAL_SCOPE_KEY,
    AudienceGuard,
    CallerInfo,
    Principal,
    bearer_token,
    scope_client_ip,
)
from galaxy_backend.server.client_address import ClientAddresses
from galaxy_backend.server.errors import PayloadTooLarge, error_body, headers_for, status_for
from galaxy_backend.server.fastpath import JSON_HEADERS, FastRequest, FastRoute
from galaxy_backend.server.html import NOSNIFF, with_page_headers
from galaxy_backend.telemetry import (
    DurationRecorder,
    DurationSeries,
    bind_request_id,
    get_logger,
    unbind_request_id,
)

_log = get_logger(__name__)

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
REQUEST_ID_SCOPE_KEY = "galaxy.request_id"


class EdgeMiddleware:
    """Request id, tracing, body limit, audience auth, fast routes, last-resort errors."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        guards: Sequence[AudienceGuard],
        fast_routes: Sequence[FastRoute],
        client_addresses: ClientAddresses,
        tracer: Tracer,
        durations: DurationRecorder,
        max_body_bytes: int,
    ) -> None:
        self._app = app
        self._guards = sorted(guards, key=lambda g: len(g.prefix), reverse=True)
        for route in fast_routes:
            if not route.traced and route.audience is not None:
                # The untraced path skips authentication too: only open probes may take it.
                raise ValueError(f"{route.path}: only open routes can be untraced")
        self._fast = {(r.method, r.path): r for r in fast_routes}
        self._addresses = client_addresses
        self._tracer = tracer
        self._max_body = max_body_bytes
        self._durations = durations
        self._series: dict[tuple[str, str, int], DurationSeries] = {}
        # Every request is logged at debug; at other levels not even the arguments are built.
        self._log_requests = _log.is_enabled_for(logging.DEBUG)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]

        headers = _read_headers(scope)
        authorization, request_id, content_length = headers[:3]
        user_agent, forwarded_for, propagated = headers[3:]
        request_id, propagated = self._identify(scope, request_id, forwarded_for, propagated)
        rid = request_id.decode()

        route = self._fast.get((method, path))
        if route is not None and not route.traced:
            # Probes, polled every few seconds by orchestrators: no span, no metrics.
            request = FastRequest(
                scope, receive, principal=None, request_id=rid, max_body=self._max_body
            )
            reply = await route.handler(request)
            extra = [(b"x-request-id", request_id), NOSNIFF]
            await _send_reply(send, reply.status, reply.body, [*reply.headers, *extra])
            return
        span = self._open_span(route, method, path, rid, propagated)
        # Attached even when dropped: child spans follow the decision, log lines get the ids.
        context_token = otel_context.attach(trace.set_span_in_context(span))
        request_id_token = bind_request_id(rid)
        response_started = False
        status = 500
        rid_header = (b"x-request-id", request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = with_page_headers([*message.get("headers", ()), rid_header])
            await send(message)

        try:
            principal = await self._authenticate(path, authorization, scope, user_agent)
            if principal is not None:
                scope[PRINCIPAL_SCOPE_KEY] = principal
            if content_length is not None and _too_large(content_length, self._max_body):
                raise PayloadTooLarge(f"request body exceeds {self._max_body} bytes")
            if route is not None:
                request = FastRequest(
                    scope, receive, principal=principal, request_id=rid, max_body=self._max_body
                )
                reply = await route.handler(request)
                await _send_reply(send_with_id, reply.status, reply.body, reply.headers)
            else:
                await self._app(scope, receive, send_with_id)
        except DomainError as error:
            if response_started:
                raise
            await _send_error(send_with_id, error)
        except asyncio.CancelledError:
            # Only shutdown cancels a request task (when the drain deadline passes): answer
            # 503 if nothing was sent yet and end the task quietly.
            _log.warning("request cut by shutdown", method=method, path=path)
            if not response_started:
                await _send_error(send_with_id, Unavailable("server is shutting down"))
        except Exception as exc:
            span.record_exception(exc)
            await _answer_failure(send_with_id, exc, method, path, answered=response_started)
        finally:
            # Closed while the span is still current, so the log line carries the trace ids.
            self._close_span(span, route, scope, method, path, status=status, started=started)
            otel_context.detach(context_token)
            unbind_request_id(request_id_token)

    def _identify(
        self,
        scope: Scope,
        request_id: bytes | None,
        forwarded_for: bytes | None,
        propagated: dict[str, str] | None,
    ) -> tuple[bytes, dict[str, str] | None]:
        """The request's id and client address, put in the scope; the trace context to
        continue, only when a proxy of ours sent it."""
        if request_id is None or not _REQUEST_ID.match(request_id):
            # Correlation ids need to be unique, not secret: no syscall per request.
            request_id = b"%024x" % random.getrandbits(96)
        scope[REQUEST_ID_SCOPE_KEY] = request_id.decode()
        peer = scope.get("client")
        peer_host = peer[0] if peer else None
        scope[CLIENT_IP_SCOPE_KEY] = self._addresses.resolve(peer_host, forwarded_for)
        if propagated is not None and not self._addresses.trusts_peer(peer_host):
            # Anyone else's traceparent could force a sampled trace: only our proxies' count.
            propagated = None
        return request_id, propagated

    def _open_span(
        self,
        route: FastRoute | None,
        method: str,
        path: str,
        rid: str,
        propagated: dict[str, str] | None,
    ) -> Span:
        # The sampler decides first; only a span it records gets attributes built for it.
        span = self._tracer.start_span(
            route.span_name if route else method,
            context=propagate.extract(propagated) if propagated else None,
            kind=SpanKind.SERVER,
        )
        if span.is_recording():
            # The request id lets support find a trace from the X-Request-ID a client reports.
            span.set_attributes(
                {"http.request.method": method, "url.path": path, "http.request.id": rid}
            )
            if route is not None:
                span.set_attribute("http.route", route.path)
        return span

    def _close_span(
        self,
        span: Span,
        route: FastRoute | None,
        scope: Scope,
        method: str,
        path: str,
        *,
        status: int,
        started: float,
    ) -> None:
        """The span's route and status, the request's log line (always when it failed), the
        span ended and the request's duration recorded."""
        template = route.path if route else getattr(scope.get("route"), "path", None)
        elapsed = time.perf_counter() - started
        failed = status >= 500
        if span.is_recording():
            if route is None and template is not None:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", status)
            if failed:
                span.set_status(Status(StatusCode.ERROR))
        if failed or self._log_requests:
            # A 503 (the database away, a shutdown) is the client's to retry, not a bug.
            level = logging.WARNING if status == 503 else logging.ERROR
            _log.log(
                level if failed else logging.DEBUG,
                "request",
                method=method,
                path=path,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
            )
        span.end()
        self._series_for(method, template or "", status).record(elapsed)

    async def _authenticate(
        self, path: str, authorization: bytes | None, scope: Scope, user_agent: bytes | None
    ) -> Principal | None:
        for guard in self._guards:
            if path.startswith(guard.prefix) and (
                len(path) == len(guard.prefix) or path[len(guard.prefix)] == "/"
            ):
                if path in guard.open_paths:
                    return None
                token = bearer_token(authorization)
                if token is None:
                    raise Unauthenticated("missing bearer token")
                caller = CallerInfo(
                    client_ip=scope_client_ip(scope),
                    user_agent=clean_header_text(user_agent),
                )
                return await guard.authenticator.authenticate(token, caller)
        return None

    def _series_for(self, method: str, route: str, status: int) -> DurationSeries:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._durations.series(
                {
                    "http.request.method": method,
                    "http.route": route,
                    "http.response.status_code": status,
                }
            )
            if len(self._series) < 4096:
                self._series[key] = series
        return series


def _too_large(content_length: bytes, limit: int) -> bool:
    try:
        return int(content_length) > limit
    except ValueError:
        return True


def _read_headers(
    scope: Scope,
) -> tuple[
    bytes | None, bytes | None, bytes | None, bytes | None, bytes | None, dict[str, str] | None
]:
    """authorization, x-request-id, content-length, user-agent, the X-Forwarded-For chain
    (repeated headers joined) and the trace context, in one pass over the headers."""
    authorization = request_id = content_length = user_agent = forwarded_for = None
    propagated: dict[str, str] | None = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value
        elif key == b"x-request-id":
            request_id = value
        elif key == b"content-length":
            content_length = value
        elif key == b"user-agent":
            user_agent = value
        elif key == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
        elif key in (b"traceparent", b"tracestate"):
            if propagated is None:
                propagated = {}
            propagated[key.decode()] = value.decode("latin-1")
    return authorization, request_id, content_length, user_agent, forwarded_for, propagated


async def _answer_failure(
    send: Send, exc: Exception, method: str, path: str, *, answered: bool
) -> None:
    """An unexpected exception: 503 when the database is away (not a bug), else a logged 500;
    never a stack trace to the client, and nothing once the reply has started."""
    if database_unavailable(exc):
        _log.warning(
            "request failed: database unavailable",
            method=method,
            path=path,
            error=type(exc).__name__,
        )
        if not answered:
            await _send_error(send, DatabaseUnavailable())
        return
    _log.error("request failed", method=method, path=path, exc_info=exc)
    if not answered:
        await _send_reply(send, 500, error_body("internal_error", "internal error"), JSON_HEADERS)


async def _send_error(send: Send, error: DomainError) -> None:
    await _send_reply(
        send,
        status_for(error),
        error_body(error.code, error.message, error.details),
        [*JSON_HEADERS, *headers_for(error)],
    )


async def _send_reply(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
