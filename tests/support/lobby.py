"""Lobby helpers over the HTTP API: players signed in, games created, enrolled, listed."""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from tests.support.api import Api, bearer

LOBBY_ENV = {
    # Many players sign in from 127.0.0.1 in one test.
    "BACKEND_AUTH_IP_RATE_LIMIT": "1000",
    "BACKEND_AUTH_IP_GUESS_LIMIT": "1000",
}
_emails = itertools.count(1)


@dataclass(frozen=True)
class SentNotice:
    """A notice as the notification service stored it: one kind and key, its recipients."""

    kind: str
    key: str | None
    title: str
    body: str
    payload: dict[str, Any]
    user_ids: list[UUID]


@dataclass
class Player:
    email: str
    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def in_future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def game_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Andromeda Cup",
        "description": "A friendly game.",
        "min_players": 2,
        "max_players": 4,
        "enrollment_deadline": in_future(days=7),
        "turn_schedule": "0 18 * * *",
        "turn_time_zone": "Europe/Berlin",
        "visibility": "public",
    }
    body.update(overrides)
    return body


@dataclass
class Lobby:
    """The backend under test with lobby helpers over its HTTP API."""

    api: Api

    async def runtime_jobs(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The real runtime's jobs (its workers are held in these tests, so none runs)."""
        rows = await self.sql(
            "SELECT game_id, kind, reason, status FROM runtime_jobs"
            " WHERE $1::text IS NULL OR kind = $1 ORDER BY created_at",
            kind,
        )
        return [dict(r) for r in rows]

    async def runtime_record(self, game_id: str) -> dict[str, Any]:
        rows = await self.sql("SELECT * FROM runtime_records WHERE game_id = $1", UUID(game_id))
        return dict(rows[0])

    async def notices(self, kind: str | None = None) -> list[SentNotice]:
        """What the real notification service holds, one entry per notice (its recipients'
        rows grouped by kind and key), oldest first."""
        rows = await self.sql(
            """
            SELECT kind, dedupe_key, title, body, payload,
                   array_agg(user_id ORDER BY created_at, id) AS user_ids
            FROM notifications WHERE ($1::text IS NULL OR kind = $1)
            GROUP BY kind, dedupe_key, title, body, payload
            ORDER BY min(created_at), min(id::text)
            """,
            kind,
        )
        return [
            SentNotice(
                kind=r["kind"],
                key=r["dedupe_key"],
                title=r["title"],
                body=r["body"],
                payload=r["payload"],
                user_ids=list(r["user_ids"]),
            )
            for r in rows
        ]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    async def player(self, label: str = "player") -> Player:
        email = f"{label}-{next(_emails)}@example.org"
        signed = await self.api.sign_in(email)
        return Player(email=email, token=signed["token"], user_id=signed["user"]["id"])

    async def players(self, count: int, label: str = "player") -> list[Player]:
        return list(await asyncio.gather(*(self.player(label) for _ in range(count))))

    async def create(self, owner: Player, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/user/games", json=game_body(**overrides), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        game: dict[str, Any] = response.json()
        return game

    async def apply(
        self, player: Player, game_id: str, race_name: str, **extra: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/user/games/{game_id}/applications",
            json={"race_name": race_name, **extra},
            headers=player.headers,
        )

    async def decide(
        self, owner: Player, game_id: str, application_id: str, verdict: str = "approve"
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/user/games/{game_id}/applications/{application_id}/{verdict}",
            headers=owner.headers,
        )

    async def enrol(self, owner: Player, game_id: str, player: Player, race_name: str) -> str:
        applied = await self.apply(player, game_id, race_name)
        assert applied.status_code == 201, applied.text
        decided = await self.decide(owner, game_id, applied.json()["id"])
        assert decided.status_code == 200, decided.text
        return str(applied.json()["id"])

    async def game(self, player: Player, game_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/user/games/{game_id}", headers=player.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def listing(self, **params: Any) -> dict[str, Any]:
        response = await self.client.get("/api/v1/public/games", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def available(self, name: str) -> bool:
        response = await self.client.get(f"/api/v1/public/race-names/{name}")
        assert response.status_code == 200, response.text
        return bool(response.json()["available"])

    async def admin_headers(self) -> dict[str, str]:
        return bearer(await self.api.admin_token())

    async def sql(self, query: str, *args: Any) -> Any:
        async with self.api.backend.database.pool.acquire() as conn:
            return await conn.fetch(query, *args)
