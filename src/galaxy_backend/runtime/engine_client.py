"""The HTTP client of game engines (docs/engine.md): one pooled httpx client for all.

Each game's engine has its own admin token, derived from BACKEND_SECRET_KEY and the game
id, so it is never stored; it travels only in the Authorization header towards that engine
and never reaches a client or a log. Engine refusals (4xx) keep their status and code;
an engine that fails or cannot be reached is a 502, one that does not answer in time 504.
Every call is bounded as a whole (httpx's own timeouts bound each read, not a reply that
trickles in): a hung engine is a bounded wait, then the reconciler's business.
"""

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from galaxy_backend.kernel.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
)
from galaxy_backend.runtime.errors import EngineError, EngineTimeout, EngineUnreachable

_TOKEN_PURPOSE = b"galaxy engine admin token v1"


class EngineTokens:
    def __init__(self, secret_key: Callable[[], bytes]) -> None:
        self._secret_key = secret_key

    def token(self, game_id: UUID) -> str:
        key = hmac.new(self._secret_key(), _TOKEN_PURPOSE, hashlib.sha256).digest()
        return hmac.new(key, game_id.bytes, hashlib.sha256).hexdigest()


def _refusal(status: int, code: str, message: str, details: dict[str, Any]) -> DomainError:
    if status == 404:
        return NotFound(message, code=code, details=details)
    if status == 409:
        return Conflict(message, code=code, details=details)
    if status in (400, 413, 422):
        return InvalidInput(message, code=code, details=details)
    return EngineError(f"the game's engine answered {status}: {message}")


class EngineClient:
    """Calls engines at the address their driver gave; a component for its stop."""

    name = "engine-client"
    stop_timeout: float | None = 5.0

    def __init__(self, tokens: EngineTokens, *, timeout: float = 30.0) -> None:
        self._tokens = tokens
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._http.aclose()

    def _headers(self, game_id: UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens.token(game_id)}"}

    async def healthy(self, address: str, *, wait_seconds: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(wait_seconds):
                response = await self._http.get(f"http://{address}/healthz", timeout=wait_seconds)
        except (httpx.HTTPError, TimeoutError):
            return False
        return response.status_code == 200

    async def call(
        self,
        game_id: UUID,
        address: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        wait_seconds: float | None = None,
    ) -> httpx.Response:
        seconds = wait_seconds if wait_seconds is not None else self._timeout
        try:
            async with asyncio.timeout(seconds):
                response = await self._http.request(
                    method,
                    f"http://{address}{path}",
                    json=json,
                    params=params,
                    headers=self._headers(game_id),
                    timeout=httpx.Timeout(seconds, connect=min(5.0, seconds)),
                )
        except (httpx.TimeoutException, TimeoutError):
            raise EngineTimeout("the game's engine did not answer in time") from None
        except httpx.HTTPError as exc:
            raise EngineUnreachable(
                f"the game's engine cannot be reached ({type(exc).__name__})",
            ) from None
        if response.status_code >= 400:
            code, message, details = "engine_error", response.reason_phrase, {}
            try:
                error = response.json()["error"]
                code = str(error.get("code", code))
                message = str(error.get("message", message))
                details = dict(error.get("details") or {})
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
            raise _refusal(response.status_code, code, message, details)
        return response

    async def json(
        self,
        game_id: UUID,
        address: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        wait_seconds: float | None = None,
    ) -> dict[str, Any]:
        response = await self.call(
            game_id, address, method, path, json=json, wait_seconds=wait_seconds
        )
        try:
            body = response.json()
        except ValueError:
            raise EngineError("the game's engine answered no JSON") from None
        if not isinstance(body, dict):
            raise EngineError("the game's engine answered no JSON object")
        return body
