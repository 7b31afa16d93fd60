"""The gateway's client to the backend: forwarded requests, session lookups, its probe.

One pool of keep-alive connections (`upstream.UpstreamPool`) carries all of them.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import orjson

from galaxy_gateway.errors import BackendError, BackendTimeout, BackendUnavailable
from galaxy_gateway.internal_token import InternalToken
from galaxy_gateway.telemetry import get_logger
from galaxy_gateway.upstream import (
    Body,
    Response,
    UpstreamError,
    UpstreamPool,
    UpstreamTimeout,
    UpstreamUnavailable,
)

_log = get_logger(__name__)

RESOLVE_PATH = b"/api/v1/internal/sessions/resolve"
# A probe or a session lookup is small: it gets a short budget of its own.
_SMALL_CALL_SECONDS = 5.0
# Largest reply of a session lookup or a probe that is read.
_SMALL_REPLY_LIMIT = 64 * 1024
# Below the backend's own keep-alive (30 s), so the gateway lets an idle connection go first.
_IDLE_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class ResolvedSession:
    """What the backend says about a session token."""

    user_id: str
    session_id: str
    expires_at: datetime


class SessionRefused(Exception):
    """The backend does not know the token (revoked, expired or never issued)."""


def backend_error(exc: UpstreamError) -> BackendError:
    """The client's failure as what the gateway answers: 503 unreachable, 504 too slow."""
    if isinstance(exc, UpstreamUnavailable):
        return BackendUnavailable("the backend is unavailable")
    if isinstance(exc, UpstreamTimeout):
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
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            # TLS to the backend is a job for the network (a mesh or a tunnel) here.
            raise ValueError("the backend URL must be http://host:port")
        self.base_url = base_url
        # The backend's own address as it writes it in absolute links (from the Host sent).
        self.origin = f"http://{parts.hostname}:{parts.port or 80}".encode()
        self._token = token
        self.timeout = timeout.total_seconds()
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout.total_seconds()
        self._pool_settings = (
            parts.hostname,
            parts.port or 80,
            max_connections,
            connect_timeout.total_seconds(),
        )
        self._pool: UpstreamPool | None = None

    async def start(self) -> None:
        host, port, max_connections, connect_timeout = self._pool_settings
        self._pool = UpstreamPool(
            host,
            port,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
            idle_timeout=_IDLE_SECONDS,
        )

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def request(
        self,
        method: bytes,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: Body,
        *,
        length: int | None,
        deadline: float,
    ) -> Response:
        """Send a request on (UpstreamError when the backend cannot be asked)."""
        if self._pool is None:
            raise UpstreamUnavailable("the gateway is not started")
        return await self._pool.request(
            method, target, headers, body, length=length, deadline=deadline
        )

    async def _small(
        self, method: bytes, path: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes | None
    ) -> tuple[int, bytes]:
        deadline = time.monotonic() + _SMALL_CALL_SECONDS
        try:
            reply = await self.request(method, path, headers, body, length=None, deadline=deadline)
            return reply.status, await reply.read(_SMALL_REPLY_LIMIT)
        except UpstreamError as exc:
            raise backend_error(exc) from None

    async def resolve_session(self, token: str, request_id: str) -> ResolvedSession:
        """The session behind a player's token; SessionRefused if the backend knows none."""
        internal = self._token.get()
        status, body = await self._small(
            b"POST",
            RESOLVE_PATH,
            [
                (b"authorization", b"Bearer " + internal.encode()),
                (b"content-type", b"application/json"),
                (b"x-request-id", request_id.encode()),
            ],
            orjson.dumps({"token": token}),
        )
        if status == 404:
            raise SessionRefused
        if status == 401:
            self._token.refused()
            _log.error("the backend refused the internal token", source=self._token.source)
            raise BackendUnavailable("the gateway's internal token was refused")
        if status != 200:
            raise BackendError(f"session lookup answered {status}")
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
            status, _ = await self._small(b"GET", b"/healthz", [], None)
        except BackendError as error:
            return error.message
        if status != 200:
            return f"the backend answered /healthz with {status}"
        return None
