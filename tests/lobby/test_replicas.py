"""Two backends on one database: each one's lobby cache sees what the other changed."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID

from tests.support import eventually
from tests.support.lobby import Lobby


async def test_a_second_backend_sees_changes_made_on_the_first(
    start_lobby: Callable[..., Awaitable[Lobby]], tmp_path: Path
) -> None:
    first = await start_lobby(BACKEND_DATA_DIR=str(tmp_path / "one"))
    second = await start_lobby(BACKEND_DATA_DIR=str(tmp_path / "two"))
    owner, player = await first.players(2)
    game = await first.create(owner, name="Shared Cup")
    game_id = game["id"]

    async def listed_on_second() -> list[str]:
        return [g["name"] for g in (await second.listing())["items"]]

    await eventually(lambda: _equals(listed_on_second(), ["Shared Cup"]), message="listed")
    # The second holds the game and the free name in its caches now.
    assert (await second.game(owner, game_id))["approved_count"] == 0
    assert await second.available("Shared Ones")

    applied = await first.apply(player, game_id, "Shared Ones")
    assert applied.status_code == 201

    async def name_taken_on_second() -> bool:
        return not await second.available("SHARED ONES")

    await eventually(name_taken_on_second, message="name taken on the second")
    await first.decide(owner, game_id, applied.json()["id"])

    async def approved_on_second() -> bool:
        page = await second.game(owner, game_id)
        listed = (await second.listing())["items"][0]
        return bool(page["approved_count"] == 1 and listed["approved_count"] == 1)

    await eventually(approved_on_second, message="approval seen on the second")
    assert second.api.backend.lobby.cache.games.get(UUID(game_id)) is not None

    renamed = await first.client.patch(
        f"/api/v1/user/games/{game_id}", json={"name": "Renamed Cup"}, headers=owner.headers
    )
    assert renamed.status_code == 200
    await eventually(lambda: _equals(listed_on_second(), ["Renamed Cup"]), message="renamed")

    cancelled = await first.client.post(
        f"/api/v1/user/games/{game_id}/cancel", headers=owner.headers
    )
    assert cancelled.status_code == 200
    await eventually(lambda: _equals(listed_on_second(), []), message="gone from the listing")

    async def name_free_on_second() -> bool:
        return await second.available("Shared Ones")

    await eventually(name_free_on_second, message="name free on the second")
    assert (await second.game(owner, game_id))["status"] == "cancelled"


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_readyz_waits_on_the_lobby_caches(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    lobby = await start_lobby()
    caches = lobby.api.backend.lobby.cache.all()
    assert {c.name for c in caches} == {
        "lobby-games",
        "lobby-race-names",
        "lobby-listing",
    }
    assert (await lobby.client.get("/readyz")).status_code == 200
    listing = lobby.api.backend.lobby.cache.listing
    listing._ready = False  # as while it re-warms after the bus reconnects
    unready = await lobby.client.get("/readyz")
    assert unready.status_code == 503
    assert "cache lobby-listing is not warm" in unready.text
    await listing.warm()
    assert (await lobby.client.get("/readyz")).status_code == 200
