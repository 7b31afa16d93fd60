"""`GET /ws`: accept, authenticate by the first frame, register, read until the client goes.

The token travels only in that first frame (never in the URL) and is never logged.
"""

import asyncio
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from galaxy_gateway.addresses import ClientAddresses, network_of
from galaxy_gateway.backend_client import BackendClient, SessionRefused
from galaxy_gateway.errors import BackendError
from galaxy_gateway.internal_token import TokenUnavailable
from galaxy_gateway.telemetry import get_logger
from galaxy_gateway.ws import frames
from galaxy_gateway.ws.hub import Connection, Hub

_log = get_logger(__name__)

# A session token is 256 random bits in text; anything far longer is not one.
_MAX_TOKEN_LENGTH = 512
# What the backend takes as a token at all (it answers anything else with 422, which would
# read as its failure: 1013, try again): printable ASCII, at most 256 characters.
_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,256}")


class FirstFrameError(Exception):
    """The first frame is not `{"type":"auth","token":"..."}`; the text says why."""


def read_auth_frame(message: Mapping[str, Any], max_bytes: int) -> str:
    """The token of a first frame, or FirstFrameError naming what is wrong with it."""
    text = message.get("text")
    if text is None:
        raise FirstFrameError("the first frame must be a text frame")
    if len(text) > max_bytes:
        raise FirstFrameError("the first frame is too large")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FirstFrameError("the first frame is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != "auth":
        raise FirstFrameError('the first frame must be {"type":"auth","token":...}')
    token = data.get("token")
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise FirstFrameError("the auth frame needs a session token")
    return token


class PushEndpoint:
    """The ASGI handler of `/ws`."""

    def __init__(
        self,
        *,
        hub: Hub,
        backend: BackendClient,
        addresses: ClientAddresses,
        auth_timeout: float,
        max_message_bytes: int,
    ) -> None:
        self._hub = hub
        self._backend = backend
        self._addresses = addresses
        self._auth_timeout = auth_timeout
        self._max_message = max_message_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        forwarded = None
        for key, value in scope["headers"]:
            if key == b"x-forwarded-for":
                forwarded = value if forwarded is None else forwarded + b"," + value
        peer = scope.get("client")
        address = self._addresses.resolve(peer[0] if peer else None, forwarded).address
        network = network_of(address)
        await send({"type": "websocket.accept"})
        if not self._hub.admit_address(network):
            await self._refuse(send, frames.TOO_MANY, "too many connections from this address")
            return
        try:
            await self._serve(send, receive, address)
        finally:
            self._hub.release_address(network)

    async def _refuse(self, send: Send, code: int, reason: str) -> None:
        """Close a socket not (yet) registered, counted with the others' closes."""
        self._hub.closed(code)
        await _close(send, code, reason)

    async def _serve(self, send: Send, receive: Receive, address: str | None) -> None:
        try:
            async with asyncio.timeout(self._auth_timeout):
                message = await receive()
        except TimeoutError:
            # Not signed in, as for a bad token: the client signs in again, not just retries.
            await self._refuse(send, frames.UNAUTHORIZED, "no auth frame in time")
            return
        if message["type"] != "websocket.receive":
            return
        try:
            token = read_auth_frame(message, self._max_message)
        except FirstFrameError as error:
            await self._refuse(send, frames.BAD_FRAME, str(error))
            return
        request_id = f"{random.getrandbits(96):024x}"
        try:
            if _TOKEN_SHAPE.fullmatch(token) is None:
                raise SessionRefused
            session = await self._backend.resolve_session(token, request_id)
        except SessionRefused:
            await self._refuse(send, frames.UNAUTHORIZED, "invalid or expired session")
            return
        except (BackendError, TokenUnavailable) as error:
            _log.warning("session lookup failed", error=str(error), request_id=request_id)
            await self._refuse(send, frames.TRY_AGAIN_LATER, "backend unavailable, try again later")
            return
        if session.expires_at <= datetime.now(UTC):
            await self._refuse(send, frames.UNAUTHORIZED, "invalid or expired session")
            return
        connection = Connection(
            send,
            hub=self._hub,
            user_id=session.user_id,
            session_id=session.session_id,
            address=address,
        )
        if not self._hub.register(connection, token=token, expires_at=session.expires_at):
            await self._refuse(send, frames.TOO_MANY, "too many connections for this session")
            return
        # Queued in the same step as the registration: no event can come before `ready`.
        connection.offer(frames.ready(session.user_id, session.session_id))
        try:
            await self._read(connection, receive)
        finally:
            self._hub.unregister(connection)

    async def _read(self, connection: Connection, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            text = message.get("text")
            if len(text if text is not None else message.get("bytes") or b"") > self._max_message:
                connection.close(frames.BAD_FRAME, "frame too large")
                continue
            if text is None:
                continue
            if text == '{"type":"ping"}' or _is_ping(text):
                connection.offer(frames.PONG)
            # Any other frame is ignored: clients have nothing else to say yet.


def _is_ping(text: str) -> bool:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("type") == "ping"


async def _close(send: Send, code: int, reason: str) -> None:
    try:
        await send({"type": "websocket.close", "code": code, "reason": reason})
    except Exception:
        return
