"""Forwarding `/api/v1/public/...` and `/api/v1/user/...` to the backend, bodies streamed."""

from collections.abc import AsyncIterator
from typing import Final

from opentelemetry import propagate
from pyreqwest.exceptions import PyreqwestError
from starlette.types import Receive, Scope, Send

from galaxy_gateway.backend_client import BackendClient, Body, backend_error
from galaxy_gateway.errors import JSON_HEADERS, BackendError, error_body
from galaxy_gateway.telemetry import get_logger

_log = get_logger(__name__)

FORWARDED_PREFIXES: Final = ("/api/v1/public/", "/api/v1/user/")
# Bodies up to this size are read whole and sent in one piece; larger ones stream through.
_WHOLE_BODY_LIMIT = 64 * 1024
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
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class PayloadTooLarge(Exception):
    """The client sent more than the body limit."""


class ClientGone(Exception):
    """The client disconnected while its body was being read."""


def is_forwarded(path: str) -> bool:
    return path.startswith(FORWARDED_PREFIXES)


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


class _StreamedBody:
    """The client's body as an async iterable for the backend request, within the limit."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self.too_large = False
        self.gone = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                raise ClientGone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                self.too_large = True
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

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        request_id: bytes,
        forwarded_for: bytes | None,
    ) -> int:
        """Forward one request; the status the client got."""
        headers, length, chunked = _request_headers(scope["headers"])
        headers.append(("x-request-id", request_id.decode()))
        if forwarded_for is not None:
            headers.append(("x-forwarded-for", forwarded_for.decode()))
        headers.append(("x-forwarded-proto", str(scope.get("scheme", "http"))))
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        headers.extend(carrier.items())

        streamed: _StreamedBody | None = None
        body: Body = None
        try:
            if length is not None:
                if length > self._max_body:
                    raise PayloadTooLarge
                if length <= _WHOLE_BODY_LIMIT:
                    body = await _read_whole(receive, length) if length else None
                else:
                    headers.append(("content-length", str(length)))
                    body = streamed = _StreamedBody(receive, min(length, self._max_body))
            elif chunked:
                body = streamed = _StreamedBody(receive, self._max_body)
        except PayloadTooLarge:
            return await _reply(send, 413, "payload_too_large", "the request body is too large")
        except ClientGone:
            return 499

        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        try:
            request = self._client.request(scope["method"], target, headers, body)
        except (PyreqwestError, ValueError):
            return await _reply(send, 400, "bad_request", "the request could not be forwarded")
        except BackendError as error:
            return await _reply(send, error.status, error.code, error.message)
        started = False
        try:
            async with request as reply:
                status = reply.status
                out = [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in reply.headers.items()
                    if name not in _RESPONSE_DROPPED
                ]
                reader = reply.body_reader
                chunk = await reader.read_chunk()
                await send({"type": "http.response.start", "status": status, "headers": out})
                started = True
                while chunk is not None:
                    following = await reader.read_chunk()
                    await send(
                        {
                            "type": "http.response.body",
                            "body": bytes(chunk),
                            "more_body": following is not None,
                        }
                    )
                    chunk = following
                return status
        except PayloadTooLarge:
            return await _reply(send, 413, "payload_too_large", "the request body is too large")
        except ClientGone:
            return 499
        except PyreqwestError as exc:
            if streamed is not None and streamed.gone:
                return 499
            if streamed is not None and streamed.too_large:
                return await _reply(send, 413, "payload_too_large", "the request body is too large")
            failure = backend_error(exc)
            if started:
                # The head is gone already: cutting the connection is the only honest signal.
                _log.warning("backend reply cut short", error=type(exc).__name__)
                raise
            _log.warning("backend unavailable", status=failure.status, error=type(exc).__name__)
            return await _reply(send, failure.status, failure.code, failure.message)


def _request_headers(
    raw: list[tuple[bytes, bytes]],
) -> tuple[list[tuple[str, str]], int | None, bool]:
    """Headers to pass on, the declared body length, whether the body is chunked."""
    named_hop: set[bytes] = set()
    length: int | None = None
    chunked = False
    for key, value in raw:
        if key == b"connection":
            named_hop.update(token.strip().lower() for token in value.split(b","))
    headers: list[tuple[str, str]] = []
    for key, value in raw:
        if key == b"content-length":
            # The HTTP parser has checked it is one well-formed number.
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = True
        if key in _REQUEST_DROPPED or key in named_hop:
            continue
        headers.append((key.decode("latin-1"), value.decode("latin-1")))
    return headers, length, chunked


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
