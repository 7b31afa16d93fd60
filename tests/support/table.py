"""A whole platform for playing: a backend whose runtime runs real engines, players signed
in over HTTP, and helpers to create, start and play a game through the public API."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from galaxy_engine.bots import orders_for
from tests.support import eventually
from tests.support.api import Api
from tests.support.lobby import LOBBY_ENV, Lobby, Player, game_body

# Short periods, so that what takes minutes in production takes moments here.
TABLE_ENV = {
    **LOBBY_ENV,
    "BACKEND_RUNTIME_RECONCILE_INTERVAL": "1s",
    "BACKEND_RUNTIME_HEALTH_FAILURES": "2",
    "BACKEND_MAIL_BACKOFF_MIN": "100ms",
    "BACKEND_MAIL_BACKOFF_MAX": "300ms",
}


@dataclass
class Table:
    """A game being played: the backend, its owner, its players."""

    lobby: Lobby
    owner: Player
    players: list[Player]
    game_id: str

    @property
    def api(self) -> Api:
        return self.lobby.api

    async def record(self) -> dict[str, Any]:
        return await self.lobby.runtime_record(self.game_id)

    async def game(self) -> dict[str, Any]:
        return await self.lobby.game(self.owner, self.game_id)

    async def status(self, player: Player) -> dict[str, Any]:
        response = await self.lobby.client.get(
            f"/api/v1/user/games/{self.game_id}/status", headers=player.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def report(self, player: Player, turn: int) -> dict[str, Any]:
        response = await self.lobby.client.get(
            f"/api/v1/user/games/{self.game_id}/reports/{turn}", headers=player.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def play(self, player: Player, turn: int) -> dict[str, Any]:
        """The reference bot reads the player's report and sends its orders."""
        orders = orders_for(await self.report(player, turn))
        response = await self.lobby.client.put(
            f"/api/v1/user/games/{self.game_id}/orders",
            json={"orders": orders},
            headers=player.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_turn(self, turn: int, timeout: float = 30.0) -> None:
        async def reached() -> bool:
            return int((await self.record())["current_turn"]) >= turn

        await eventually(reached, timeout=timeout, interval=0.1, message=f"turn {turn}")

    async def wait_status(self, status: str, timeout: float = 30.0) -> None:
        async def reached() -> bool:
            return (await self.game())["status"] == status

        await eventually(reached, timeout=timeout, interval=0.1, message=f"game {status}")

    async def turns(self) -> list[int]:
        rows = await self.lobby.sql(
            "SELECT turn FROM runtime_turns WHERE game_id = $1 ORDER BY turn", UUID(self.game_id)
        )
        return [r["turn"] for r in rows]

    async def kept_turns(self) -> list[tuple[int, int]]:
        """Each turn the backend keeps, with its number of kept reports."""
        rows = await self.lobby.sql(
            "SELECT t.turn, count(r.player_id) AS reports FROM runtime_report_turns t"
            " LEFT JOIN runtime_reports r USING (game_id, turn) WHERE t.game_id = $1"
            " GROUP BY t.turn ORDER BY t.turn",
            UUID(self.game_id),
        )
        return [(r["turn"], r["reports"]) for r in rows]

    async def force_turn(self) -> None:
        """The owner's forced turn, accepted."""
        forced = await self.lobby.client.post(
            f"/api/v1/user/games/{self.game_id}/force-next-turn", headers=self.owner.headers
        )
        assert forced.status_code == 202, forced.text


StartTable = Callable[..., Awaitable[Table]]


@pytest.fixture
def driver_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The engines' driver: processes, or (parametrised indirectly) docker, which needs the
    Docker API and the engine image of tests/runtime."""
    if getattr(request, "param", "process") == "process":
        return {"BACKEND_RUNTIME_DRIVER": "process"}
    host = request.getfixturevalue("docker_host")
    image = request.getfixturevalue("engine_image")
    return {
        "BACKEND_RUNTIME_DRIVER": "docker",
        "BACKEND_DOCKER_HOST": host or "",
        "BACKEND_RUNTIME_ENGINE_IMAGE": image,
        "BACKEND_RUNTIME_ENGINE_MEMORY_MB": "256",
        "BACKEND_RUNTIME_ENGINE_CPUS": "0.5",
    }


@pytest.fixture
async def start_table(
    start_api: Callable[..., Awaitable[Api]],
    driver_env: dict[str, str],
) -> AsyncIterator[StartTable]:
    tables: list[Table] = []

    async def start(*, players: int = 2, env: dict[str, str] | None = None, **game: Any) -> Table:
        api = await start_api(**{**TABLE_ENV, **driver_env, **(env or {})})
        lobby = Lobby(api=api)
        owner, *seated = await lobby.players(players + 1)
        created = await lobby.create(owner, **game_body(**game))
        for n, player in enumerate(seated):
            await lobby.enrol(owner, created["id"], player, f"Race {chr(65 + n)}{n}x")
        started = await lobby.client.post(
            f"/api/v1/user/games/{created['id']}/start", headers=owner.headers
        )
        assert started.status_code == 202, started.text
        table = Table(lobby=lobby, owner=owner, players=seated, game_id=created["id"])
        tables.append(table)
        await table.wait_status("running", timeout=60)
        return table

    yield start
    for table in tables:
        # Engines outlive backends on purpose; a test's engines go with the test (the
        # process driver's are removed by the start_backend fixture in any case).
        with contextlib.suppress(RuntimeError):
            await table.api.backend.runtime_clients.driver.remove(UUID(table.game_id))
