"""A game's `version` counts its committed changes: one per change, whatever the change
wrote, so the caches and the pushed `lobby.game.updated` events order them without gaps."""

from typing import Any
from uuid import UUID

import orjson

from tests.support import eventually
from tests.support.lobby import Lobby


async def test_each_change_of_a_game_counts_once(lobby: Lobby, push_events: list[Any]) -> None:
    owner, player = await lobby.players(2)
    game = await lobby.create(owner, name="Counted Cup", min_players=2, max_players=3)
    game_id = game["id"]

    async def version() -> int:
        [row] = await lobby.sql("SELECT version FROM games WHERE id = $1", UUID(game_id))
        return int(row["version"])

    created = await version()
    edited = await lobby.client.patch(
        f"/api/v1/user/games/{game_id}", json={"description": "Edited."}, headers=owner.headers
    )
    assert edited.status_code == 200, edited.text
    assert await version() == created + 1
    applied = await lobby.apply(player, game_id, "Counters")
    assert applied.status_code == 201, applied.text
    assert await version() == created + 1  # a pending application leaves the game as it was
    decided = await lobby.decide(owner, game_id, applied.json()["id"])
    assert decided.status_code == 200, decided.text
    assert await version() == created + 2
    cancelled = await lobby.client.post(
        f"/api/v1/user/games/{game_id}/cancel", headers=owner.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await version() == created + 3

    # Read back from the cache: each change shows, the last one last.
    shown = await lobby.game(owner, game_id)
    assert (shown["status"], shown["description"], shown["approved_count"]) == (
        "cancelled",
        "Edited.",
        1,
    )

    def pushed() -> list[int]:
        payloads = [orjson.loads(e.payload) for e in push_events if e.kind == "lobby.game.updated"]
        return [p["version"] for p in payloads if p["game_id"] == game_id]

    await eventually(lambda: len(pushed()) >= 4, message="one event per change")
    assert pushed() == list(range(created, created + 4))
