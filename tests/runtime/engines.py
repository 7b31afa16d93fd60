"""Talking to a real engine the way the runtime does: /healthz first, then the admin API."""

import asyncio
import time
from typing import Any
from uuid import UUID

import httpx

TOKEN = "test-engine-token-0123456789"
PLAYERS = [
    {"player_id": "p1", "race_name": "Altairians"},
    {"player_id": "p2", "race_name": "Betelgeusians"},
]


async def wait_healthy(address: str, *, timeout: float = 30.0) -> None:
    """Poll /healthz with backoff until it answers 200; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    last: object = None
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            try:
                reply = await client.get(f"http://{address}/healthz")
                if reply.status_code == 200:
                    return
                last = reply.status_code
            except httpx.HTTPError as exc:
                last = exc
            if time.monotonic() > deadline:
                raise AssertionError(f"{address}/healthz did not answer within {timeout}s: {last}")
            await asyncio.sleep(interval)
            interval = min(interval * 2, 0.5)


class EngineClient:
    """The engine's admin API at one address."""

    def __init__(self, address: str, token: str = TOKEN) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"http://{address}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    async def __aenter__(self) -> "EngineClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def init(self, game_id: UUID) -> dict[str, Any]:
        body = {"game_id": str(game_id), "seed": 7, "settings": {}, "players": PLAYERS}
        return await self._ok(await self._client.post("/admin/init", json=body))

    async def turn(self, number: int) -> dict[str, Any]:
        return await self._ok(await self._client.post("/admin/turn", json={"turn": number}))

    async def status(self) -> dict[str, Any]:
        return await self._ok(await self._client.get("/admin/status"))

    async def post_turn(self, number: int) -> httpx.Response:
        return await self._client.post("/admin/turn", json={"turn": number})

    @staticmethod
    async def _ok(reply: httpx.Response) -> dict[str, Any]:
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body
