"""Forwarding `/api/v1/public/...` and `/api/v1/user/...` to the backend, bodies streamed."""

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Final

from opentelemetry import trace
from starlette.types import Receive, Scope, Send

from galaxy_gateway.backend_client import BackendClient, backend_error
from galaxy_gateway.errors import JSON_HEADERS, error_body
from galaxy_gateway.telemetry import get_logger
from galaxy_gateway.upstream import (
    Body,
    Response,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

_log = get_logger(__name__)

FORWARDED_PREFIXES: Final = ("/api/v1/public/", "/api/v1/user/")
# A `.` or `..` segment (either slash): a normalizing hop behind the gateway (a load
# balancer) would resolve `/api/v1/user/../admin/...` to a path the gateway does not serve.
_DOT_SEGMENT: Final = re.compile(r"[/\\]\.{1,2}(?:[/\\]|$)")
# Bodies up to this size are read whole and sent in one write; larger ones stream through.
_WHOLE_BODY_LIMIT = 64 * 1024
# Share of the backend connections that requests streaming a body may hold at once: such a
# body comes at the client's pace, and slow ones must not take the connections every other
# request, session lookup and probe needs.
_STREAMED_SHARE = 4
# Hop-by-hop headers (RFC 9110 7.6.1) and those the gateway writes itself.
_REQUEST_DROPPED: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
    }
)
_RESPONSE_DROPPED: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


class PayloadTooLarge(Exception):
    """The client sent more than the body limit."""


class ClientGone(Exception):
    """The client disconnected while its body was being read."""


def is_forwarded(path: str) -> bool:
    """Under a forwarded prefix, percent-decoded, with no dot segment."""
    if not path.startswith(FORWARDED_PREFIXES):
        return False
    # Paths seldom hold a dot after a slash: only those that do pay for the pattern.
    return ("/." not in path and "\\." not in path) or _DOT_SEGMENT.search(path) is None


async def _read_whole(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _streamed(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The client's body as it arrives, within the limit."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


class Forwarder:
    """Sends a request on to the backend as it is and streams the answer back."""

    def __init__(self, client: BackendClient, *, max_body_bytes: int) -> None:
        self._client = client
        self._max_body = max_body_bytes
        self._streams = asyncio.Semaphore(max(1, client.max_connections // _STREAMED_SHARE))

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        request_id: bytes,
        forwarded_for: bytes | None,
    ) -> int:
        """Forward one request; the status the client got (499: it left first)."""
        deadline = time.monotonic() + self._client.timeout
        headers, length, chunked = _request_headers(scope["headers"])
        headers.append((b"x-request-id", request_id))
        if forwarded_for is not None:
            headers.append((b"x-forwarded-for", forwarded_for))
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        traceparent = _traceparent()
        if traceparent is not None:
            headers.append((b"traceparent", traceparent))
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        method = scope["method"].encode()
        try:
            body: Body = None
            if length is not None:
                if length > self._max_body:
                    raise PayloadTooLarge
                if length <= _WHOLE_BODY_LIMIT:
                    body = await _read_whole(receive, length) if length else b""
                else:
                    body = _streamed(receive, length)
            elif chunked:
                body = _streamed(receive, self._max_body)
            streamed = body is not None and not isinstance(body, bytes)
            async with self._stream_slot() if streamed else contextlib.nullcontext():
                reply = await self._client.request(
                    method, target, headers, body, length=length, deadline=deadline
                )
        except PayloadTooLarge:
            return await _reply(send, 413, "payload_too_large", "the request body is too large")
        except ClientGone:
            return 499
        except UpstreamError as exc:
            failure = backend_error(exc)
            _log.warning("backend unavailable", status=failure.status, error=str(exc))
            return await _reply(send, failure.status, failure.code, failure.message)
        out = _response_headers(reply.headers, self._client.origin)
        chunks = reply.chunks()
        started = False
        try:
            first = await _within(reply, chunks, deadline)
            await send({"type": "http.response.start", "status": reply.status, "headers": out})
            started = True
            chunk = first
            while chunk is not None:
                following = await _within(reply, chunks, deadline)
                await send(
                    {
                        "type": "http.response.body",
                        "body": chunk,
                        "more_body": following is not None,
                    }
                )
                chunk = following
        except UpstreamError as exc:
            reply.close()
            failure = backend_error(exc)
            _log.warning("backend reply cut short", status=failure.status, error=str(exc))
            if not started:
                return await _reply(send, failure.status, failure.code, failure.message)
            # The head is gone already: cutting the connection is the only honest signal.
            raise
        except BaseException:
            reply.close()
            raise
        if first is None:
            await send({"type": "http.response.body", "body": b""})
        return reply.status

    @contextlib.asynccontextmanager
    async def _stream_slot(self) -> AsyncIterator[None]:
        """A place among the requests whose body streams through (503 when none frees up)."""
        if self._streams.locked():
            try:
                async with asyncio.timeout(self._client.connect_timeout):
                    await self._streams.acquire()
            except TimeoutError:
                raise UpstreamUnavailable("too many bodies streaming to the backend") from None
        else:
            await self._streams.acquire()
        try:
            yield
        finally:
            self._streams.release()


async def _within(reply: Response, chunks: AsyncIterator[bytes], deadline: float) -> bytes | None:
    """The next body chunk (None at the end), read before the request's deadline."""
    try:
        if reply.buffered:
            # Already here (a small answer arrives with its head): no timer needed.
            return await anext(chunks)
        async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
            return await anext(chunks)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        raise UpstreamTimeout("the backend's answer did not end in time") from None


def _traceparent() -> bytes | None:
    """The current span as a W3C `traceparent`, so the backend's spans are its children.

    Written here rather than through the global propagator: one format call, where the
    propagator's carrier and baggage handling cost more than the rest of the forwarding.
    """
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id, context.trace_flags)


def _request_headers(
    raw: list[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], int | None, bool]:
    """Headers to pass on, the declared body length, whether the body is chunked."""
    named_hop: set[bytes] = set()
    length: int | None = None
    chunked = False
    for key, value in raw:
        if key == b"connection":
            named_hop.update(token.strip().lower() for token in value.split(b","))
    headers: list[tuple[bytes, bytes]] = []
    for key, value in raw:
        if key == b"content-length":
            # The HTTP parser has checked it is one well-formed number.
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = True
        if key in _REQUEST_DROPPED or key in named_hop:
            continue
        headers.append((key, value))
    return headers, length, chunked


def _response_headers(raw: list[tuple[bytes, bytes]], origin: bytes) -> list[tuple[bytes, bytes]]:
    """The backend's headers to pass on; a redirect to the backend's own address made relative,
    so it neither reveals that address nor sends the client around the gateway."""
    out: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        if name in _RESPONSE_DROPPED:
            continue
        if name == b"location" and value.startswith(origin):
            out.append((name, _relative(value[len(origin) :], value)))
        else:
            out.append((name, value))
    return out


def _relative(rest: bytes, whole: bytes) -> bytes:
    """The path of a link to the backend's origin (`whole` when it only looks like one)."""
    if rest[:1] not in (b"", b"/", b"?"):
        return whole
    return rest if rest.startswith(b"/") else b"/" + rest


async def _reply(send: Send, status: int, code: str, message: str) -> int:
    body = error_body(code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status
