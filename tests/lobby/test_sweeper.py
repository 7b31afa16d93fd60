"""The lobby sweeper's three duties, by the running component and by two sweepers at once."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID

from tests.support import eventually
from tests.support.lobby import Lobby, in_future


async def test_the_running_sweeper_does_its_three_duties(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    lobby = await start_lobby(
        BACKEND_LOBBY_SWEEP_SCHEDULE="@every 1s",
        BACKEND_LOBBY_PENDING_REGISTRATION_TTL="2s",
    )
    owner, a, b, c, d = await lobby.players(5)
    ready = await lobby.create(
        owner, name="Ready", min_players=2, enrollment_deadline=in_future(seconds=4)
    )
    short = await lobby.create(
        owner, name="Short", min_players=2, enrollment_deadline=in_future(seconds=4)
    )
    later = await lobby.create(owner, name="Later")
    await lobby.enrol(owner, ready["id"], a, "Ready Ones")
    await lobby.enrol(owner, ready["id"], b, "Ready Twos")
    await lobby.enrol(owner, short["id"], c, "Lonely Ones")
    pending = await lobby.apply(d, later["id"], "Undecided Ones")

    async def status(game_id: str) -> str:
        return str((await lobby.game(owner, game_id))["status"])

    # 1. A registration left pending past the TTL is released and its application expires.
    async def expired() -> bool:
        found = await lobby.client.get(
            f"/api/v1/user/games/{later['id']}/applications", headers=d.headers
        )
        return bool(found.json()["items"][0]["status"] == "expired")

    await eventually(expired, timeout=20, message="application expired")
    assert await lobby.available("Undecided Ones")
    told = await lobby.notices("lobby.application.expired")
    assert [n.user_ids for n in told] == [[UUID(d.user_id)]]
    assert told[0].payload["application_id"] == pending.json()["id"]

    # 2. A game past its deadline with enough players is closed and started.
    async def starting() -> bool:
        return await status(ready["id"]) == "starting"

    await eventually(starting, timeout=20, message="game started by the sweeper")
    assert [str(j["game_id"]) for j in await lobby.runtime_jobs("start")] == [ready["id"]]

    # 3. One without enough players stays open, and its owner is told once.
    await eventually(
        lambda: has_notice(lobby, "lobby.game.below_min_players"),
        timeout=20,
        message="owner told",
    )
    rounds = lobby.api.backend.sweeper.rounds
    await eventually(lambda: lobby.api.backend.sweeper.rounds >= rounds + 2, timeout=20)
    below = await lobby.notices("lobby.game.below_min_players")
    assert len(below) == 1
    assert below[0].user_ids == [UUID(owner.user_id)]
    assert below[0].payload == {
        "game_id": short["id"],
        "game_name": "Short",
        "approved_count": 1,
        "min_players": 2,
        "enrollment_deadline": below[0].payload["enrollment_deadline"],
    }
    assert await status(short["id"]) == "enrollment_open"
    # The reserved names of approved players are not the sweeper's business.
    assert not await lobby.available("Lonely Ones")


async def test_two_sweepers_at_once_start_once_and_tell_once(
    start_lobby: Callable[..., Awaitable[Lobby]], tmp_path: Path
) -> None:
    env = {"BACKEND_LOBBY_SWEEP_SCHEDULE": "@every 1h"}
    first = await start_lobby(BACKEND_DATA_DIR=str(tmp_path / "one"), **env)
    second = await start_lobby(BACKEND_DATA_DIR=str(tmp_path / "two"), **env)
    owner, *players = await first.players(12)
    ready = [await first.create(owner, name=f"Ready {i}", max_players=2) for i in range(2)]
    short = await first.create(owner, name="Short")
    for i, game in enumerate(ready):
        await first.enrol(owner, game["id"], players[2 * i], f"Ready Ones {i}")
        await first.enrol(owner, game["id"], players[2 * i + 1], f"Ready Twos {i}")
    pendings = [
        await first.apply(p, short["id"], f"Pending Ones {i}") for i, p in enumerate(players[4:])
    ]
    # Time passes: every deadline and registration is due.
    await first.sql("UPDATE games SET enrollment_deadline = now() - interval '1 minute'")
    await first.sql("UPDATE race_names SET created_at = created_at - interval '100 hours'")

    services = [first.api.backend.sweeper, second.api.backend.sweeper]
    reports = await asyncio.gather(*(s.sweep() for s in services * 2))

    started = [str(j["game_id"]) for j in await first.runtime_jobs("start")]
    assert sorted(started) == sorted(g["id"] for g in ready)
    assert sum(r.started for r in reports) == 2
    # Both backends share one database: its notifications are everybody's.
    expired = await first.notices("lobby.application.expired")
    assert sorted(n.payload["application_id"] for n in expired) == sorted(
        p.json()["id"] for p in pendings
    )
    assert sum(r.expired_registrations for r in reports) == len(pendings)
    below = await first.notices("lobby.game.below_min_players")
    assert len(below) == 1
    assert sum(r.owners_told for r in reports) == 1
    # Nothing is left for a later round.
    again = await asyncio.gather(*(s.sweep() for s in services))
    assert all(r.started == r.expired_registrations == r.owners_told == 0 for r in again)
    # Both replicas see the outcome.
    for lobby in (first, second):
        for game in ready:
            assert (await lobby.game(owner, game["id"]))["status"] == "starting"
        assert await lobby.available("Pending Ones 0")


async def test_a_start_the_runtime_refuses_is_tried_again_next_round(
    start_lobby: Callable[..., Awaitable[Lobby]],
) -> None:
    # A runtime whose job queue holds one job: the second start of a round is refused.
    lobby = await start_lobby(BACKEND_RUNTIME_JOB_QUEUE_SIZE="1")
    owner, *players = await lobby.players(5)
    games = [await lobby.create(owner, name=f"Game {i}", max_players=2) for i in range(2)]
    for i, game in enumerate(games):
        await lobby.enrol(owner, game["id"], players[2 * i], f"First Ones {i}")
        await lobby.enrol(owner, game["id"], players[2 * i + 1], f"Second Ones {i}")
    await lobby.sql("UPDATE games SET enrollment_deadline = now() - interval '1 minute'")
    service = lobby.api.backend.sweeper
    assert (await service.sweep()).started == 1
    statuses = sorted([(await lobby.game(owner, g["id"]))["status"] for g in games])
    assert statuses == ["enrollment_open", "starting"]
    # The runtime's workers take the queued job: there is room again.
    await lobby.api.backend.runtime_workers.start()
    await eventually(lambda: len(lobby.api.backend.runtime.queue) == 0, message="queue empty")
    assert (await service.sweep()).started == 1
    for game in games:
        assert (await lobby.game(owner, game["id"]))["status"] in ("starting", "running")


async def has_notice(lobby: Lobby, kind: str) -> bool:
    return bool(await lobby.notices(kind))


async def test_expiring_takes_the_game_before_the_application_as_a_decision_does(
    lobby: Lobby,
) -> None:
    owner, player = await lobby.players(2)
    game = await lobby.create(owner)
    applied = await lobby.apply(player, game["id"], "Late Deciders")
    application_id = UUID(applied.json()["id"])
    await lobby.sql("UPDATE race_names SET created_at = created_at - interval '100 hours'")
    service = lobby.api.backend.sweeper
    async with lobby.api.backend.database.pool.acquire() as deciding:
        # A decision in flight (an approval) holds the game's row, then wants the application.
        async with deciding.transaction():
            await deciding.execute("SELECT 1 FROM games WHERE id = $1 FOR UPDATE", UUID(game["id"]))
            sweeping = asyncio.create_task(service.sweep())

            async def sweep_done_or_waiting() -> bool:
                waiting = await deciding.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
                return sweeping.done() or waiting > 0

            await eventually(sweep_done_or_waiting, message="sweep done or blocked")
            # Had the sweeper locked the application first, this would deadlock.
            await deciding.execute(
                "SELECT 1 FROM game_applications WHERE id = $1 FOR UPDATE", application_id
            )
        # The decision ends (undecided): the sweeper, waiting for the game, expires it.
        report = await sweeping
    assert report.expired_registrations == 1
    assert await lobby.available("Late Deciders")
