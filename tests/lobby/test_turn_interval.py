"""BACKEND_LOBBY_MIN_TURN_INTERVAL: a schedule with turns closer than it is 422 naming
`turn_schedule`; what is at least that far apart is taken, cron or @every."""

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.lobby import Lobby, game_body


async def create(lobby: Lobby, owner: Any, schedule: str) -> Any:
    return await lobby.client.post(
        "/api/v1/user/games",
        json=game_body(turn_schedule=schedule, turn_time_zone="UTC"),
        headers=owner.headers,
    )


async def test_the_default_minimum_refuses_turns_every_second(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    # The deployed default (the test fixtures lower it to 1s for fast games).
    lobby = await start_lobby(BACKEND_LOBBY_MIN_TURN_INTERVAL="1m")
    (owner,) = await lobby.players(1)
    for schedule in ("@every 1s", "@every 59s"):
        refused = await create(lobby, owner, schedule)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "schedule_too_frequent"
        assert error["details"]["field"] == "turn_schedule"
        assert error["details"]["min_interval_seconds"] == 60
    for schedule in ("@every 1m", "* * * * *", "@hourly"):
        assert (await create(lobby, owner, schedule)).status_code == 201, schedule
    mine = await lobby.client.get("/api/v1/user/games", headers=owner.headers)
    assert len(mine.json()["items"]) == 3


async def test_cron_schedules_are_measured_by_their_closest_turns(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    lobby = await start_lobby(BACKEND_LOBBY_MIN_TURN_INTERVAL="10m")
    (owner,) = await lobby.players(1)
    # Every 5 minutes; twice an hour 5 minutes apart; 23:59 then 00:00 the next day.
    for schedule in ("*/5 * * * *", "0,5 * * * *", "0,59 0,23 * * *"):
        refused = await create(lobby, owner, schedule)
        assert refused.status_code == 422, schedule
        assert refused.json()["error"]["code"] == "schedule_too_frequent"
    assert (await create(lobby, owner, "*/10 * * * *")).status_code == 201
    assert (await create(lobby, owner, "0,30 18 * * *")).status_code == 201


async def test_an_edit_is_held_to_the_minimum_but_a_kept_schedule_is_not(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    fast = await start_lobby(BACKEND_LOBBY_MIN_TURN_INTERVAL="1s")
    (owner,) = await fast.players(1)
    game = await fast.create(owner, turn_schedule="@every 2s", turn_time_zone="UTC")
    # The operators raise the minimum: the same database under a new configuration.
    strict = await start_lobby(BACKEND_LOBBY_MIN_TURN_INTERVAL="1m")
    path = f"/api/v1/user/games/{game['id']}"
    renamed = await strict.client.patch(path, json={"name": "Kept"}, headers=owner.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["turn_schedule"] == "@every 2s"
    faster = await strict.client.patch(
        path, json={"turn_schedule": "@every 5s"}, headers=owner.headers
    )
    assert faster.status_code == 422
    assert faster.json()["error"]["details"]["field"] == "turn_schedule"
    assert (await strict.game(owner, game["id"]))["turn_schedule"] == "@every 2s"
