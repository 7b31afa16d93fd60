"""The gateway's pooled, keep-alive HTTP client to the backend (pyreqwest: Rust's reqwest).

Chosen by measuring (bench/README.md, "Gateway"): per forwarded request it cost about half
the CPU of aiohttp's client, and httpx's pool fell over at 64 concurrent requests.
"""

from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    ConnectError,
    PoolTimeoutError,
    PyreqwestError,
    RequestTimeoutError,
)
from pyreqwest.request import StreamRequest

from galaxy_gateway.errors import BackendError, BackendTimeout, BackendUnavailable
from galaxy_gateway.internal_token import InternalToken
from galaxy_gateway.telemetry import get_logger

_log = get_logger(__name__)

RESOLVE_PATH = "/api/v1/internal/sessions/resolve"
# A probe or a session lookup is small: it gets a short budget of its own.
_SMALL_CALL_TIMEOUT = timedelta(seconds=5)
# Largest reply of the session lookup that is read.
_RESOLVE_REPLY_LIMIT = 64 * 1024
Body = bytes | AsyncIterable[bytes] | None


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    """What the backend says about a session token."""

    user_id: str
    session_id: str
    expires_at: datetime


class SessionRefused(Exception):
    """The backend does not know the token (revoked, expired or never issued)."""


def backend_error(exc: PyreqwestError) -> BackendError:
    """The client's failure as what the gateway answers: 503 unreachable, 504 too slow.

    Any timeout is 504: pyreqwest reports a backend that accepted the connection and never
    answered as a connect timeout, so the two cannot be told apart by class.
    """
    if isinstance(exc, ConnectError | PoolTimeoutError):
        return BackendUnavailable("the backend is unavailable")
    if isinstance(exc, RequestTimeoutError):
        return BackendTimeout("the backend did not answer in time")
    return BackendError("the backend's answer was cut short")


class BackendClient:
    """One connection pool for every forwarded request, session lookup and probe."""

    name = "backend-client"
    stop_timeout: float | None = 5.0

    def __init__(
        self,
        *,
        base_url: str,
        token: InternalToken,
        timeout: timedelta,
        connect_timeout: timedelta,
        max_connections: int,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._client: Client | None = None

    async def start(self) -> None:
        builder = (
            ClientBuilder()
            .max_connections(self._max_connections)
            .connect_timeout(self._connect_timeout)
            .timeout(self._timeout)
            # A waiting request is a connection short: it fails as the backend being busy.
            .pool_timeout(self._connect_timeout)
            # Below the backend's own 30 s, so the gateway closes an idle connection first.
            .pool_idle_timeout(timedelta(seconds=20))
            .follow_redirects(False)
            .referer(False)
            # Bodies pass through as they are, compressed or not.
            .gzip(False)
            .brotli(False)
            .zstd(False)
            .deflate(False)
            .http1_only()
        )
        self._client = await builder.build().__aenter__()

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise BackendUnavailable("the gateway is not started")
        return self._client

    def request(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: Body
    ) -> StreamRequest:
        """A request to forward as it is; the caller enters it and streams the reply."""
        builder = self.client.request(method, self.base_url + target).headers(headers)
        if isinstance(body, bytes):
            builder = builder.body_bytes(body)
        elif body is not None:
            builder = builder.body_stream(body)
        return builder.build_streamed()

    async def resolve_session(self, token: str, request_id: str) -> ResolvedSession:
        """The session behind a player's token; SessionRefused if the backend knows none."""
        internal = self._token.get()
        request = (
            self.client.post(self.base_url + RESOLVE_PATH)
            .headers(
                [
                    ("authorization", f"Bearer {internal}"),
                    ("content-type", "application/json"),
                    ("x-request-id", request_id),
                ]
            )
            .body_bytes(orjson.dumps({"token": token}))
            .timeout(_SMALL_CALL_TIMEOUT)
            .build()
        )
        try:
            reply = await request.send()
            body = bytes(await reply.bytes())
        except PyreqwestError as exc:
            raise backend_error(exc) from None
        if reply.status == 404:
            raise SessionRefused
        if reply.status == 401:
            self._token.refused()
            _log.error("the backend refused the internal token", source=self._token.source)
            raise BackendUnavailable("the gateway's internal token was refused")
        if reply.status != 200 or len(body) > _RESOLVE_REPLY_LIMIT:
            raise BackendError(f"session lookup answered {reply.status}")
        try:
            found = orjson.loads(body)
            expires = datetime.fromisoformat(found["expires_at"])
            return ResolvedSession(
                user_id=str(found["user_id"]),
                session_id=str(found["session_id"]),
                expires_at=expires if expires.tzinfo else expires.replace(tzinfo=UTC),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise BackendError("session lookup answered something unreadable") from None

    async def healthy(self) -> str | None:
        """None when the backend answers its liveness probe, else why not."""
        try:
            reply = (
                await self.client.get(self.base_url + "/healthz")
                .timeout(_SMALL_CALL_TIMEOUT)
                .build()
                .send()
            )
        except PyreqwestError as exc:
            return backend_error(exc).message
        if reply.status != 200:
            return f"the backend answered /healthz with {reply.status}"
        return None
