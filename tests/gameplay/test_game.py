"""Whole games through the HTTP API, with the reference bots writing the orders."""

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from galaxy_backend.runtime import repository
from tests.support import eventually
from tests.support.api import bearer
from tests.support.lobby import Player
from tests.support.table import StartTable


@pytest.mark.parametrize("driver_env", ["process", "docker"], indirect=True)
async def test_a_whole_game_from_start_to_finish(start_table: StartTable) -> None:
    table = await start_table(
        turn_schedule="@every 2s",
        turn_time_zone="UTC",
        settings={"max_turns": 3},
    )
    a, b = table.players
    record = await table.record()
    assert record["status"] == "running"
    assert record["current_turn"] == 0
    status = await table.status(a)
    assert status["turn"] == 0
    assert {p["race_name"] for p in status["players"]} == {"Race A0x", "Race B1x"}
    assert status["next_turn_at"] is not None

    # Reports are only for the game's own players, each their own; the game is public, so
    # an outsider is told they do not play in it.
    outsider = await table.lobby.player("outsider")
    refused = await table.lobby.client.get(
        f"/api/v1/user/games/{table.game_id}/reports/0", headers=outsider.headers
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_a_player"
    assert (await table.report(a, 0))["race"]["name"] == "Race A0x"

    for turn in range(3):
        for player in (a, b):
            verdict = await table.play(player, turn)
            assert verdict["accepted"] is True, verdict
        await table.wait_turn(turn + 1)

    await table.wait_status("finished")
    game = await table.game()
    assert game["final_ranking"]
    record = await table.record()
    assert record["status"] == "finished"
    assert await table.turns() == [1, 2, 3]

    # Every player got a "turn ran" mail per turn, with their own report in it.
    async def three_turn_mails() -> bool:
        return all(
            len([m for m in table.api.inbox.to(p.email) if "has run" in str(m["Subject"])]) == 3
            for p in (a, b)
        )

    await eventually(three_turn_mails, timeout=30, message="the turn mails")
    mail = next(m for m in table.api.inbox.to(a.email) if "turn 1 has run" in str(m["Subject"]))
    text: Any = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Race A0x" in text
    # The game is named by its name, in the mail and in the report it carries.
    assert str(mail["Subject"]) == "Andromeda Cup: turn 1 has run"
    assert "Galaxy Game Andromeda Cup Turn 1 Report for Race A0x" in text
    assert table.game_id not in text
    # The engine is stopped once the game is over; the game stays readable.
    jobs = await table.lobby.runtime_jobs("stop")
    assert [j["reason"] for j in jobs] == ["game finished"]

    async def stopped() -> bool:
        return [j["status"] for j in await table.lobby.runtime_jobs("stop")] == ["done"]

    await eventually(stopped, timeout=30, message="the engine stopped")
    status = await table.status(a)
    assert (status["turn"], status["finished"]) == (3, True)
    assert status["ranking"] == game["final_ranking"]
    assert (await table.report(b, 3))["race"]["name"] == "Race B1x"


async def test_a_forced_turn_and_the_skipped_tick_after_it(start_table: StartTable) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    before = await table.record()
    forced = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/force-next-turn", headers=table.owner.headers
    )
    assert forced.status_code == 202, forced.text
    await table.wait_turn(1)
    record = await table.record()
    assert record["skip_next_tick"] is True
    # The schedule is untouched: the next slot is still the one before the forced turn.
    assert record["next_tick_at"] == before["next_tick_at"]
    # A player (not the owner) may not force a turn.
    refused = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/force-next-turn",
        headers=table.players[0].headers,
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_owner"

    # The clock reaches that slot: the tick is consumed and runs nothing.
    await table.lobby.sql(
        "UPDATE runtime_records SET next_tick_at = now() WHERE game_id = $1",
        before["game_id"],
    )

    async def consumed() -> bool:
        return (await table.record())["skip_next_tick"] is False

    await eventually(consumed, message="the skip flag consumed")
    record = await table.record()
    assert record["current_turn"] == 1
    assert record["next_tick_at"] > before["next_tick_at"]
    assert await table.turns() == [1]

    # What operators read of it: the record with its turns, the list, the jobs.
    admin = bearer(await table.api.admin_token())
    detail = await table.lobby.client.get(
        f"/api/v1/admin/runtime/records/{table.game_id}", headers=admin
    )
    assert detail.status_code == 200, detail.text
    shown = detail.json()
    assert (shown["status"], shown["current_turn"], shown["skip_next_tick"]) == (
        "running",
        1,
        False,
    )
    assert [(t["turn"], t["trigger"]) for t in shown["turns"]] == [(1, "forced")]
    listed = await table.lobby.client.get(
        "/api/v1/admin/runtime/records", params={"status": "running"}, headers=admin
    )
    assert listed.status_code == 200, listed.text
    assert table.game_id in [r["game_id"] for r in listed.json()["items"]]
    jobs = await table.lobby.client.get(
        "/api/v1/admin/runtime/jobs", params={"game_id": table.game_id}, headers=admin
    )
    assert jobs.status_code == 200, jobs.text
    assert [(j["kind"], j["status"]) for j in jobs.json()["items"]] == [("start", "done")]


async def test_the_turn_runs_as_soon_as_every_race_has_sent_orders(
    start_table: StartTable,
) -> None:
    table = await start_table(
        turn_schedule="@every 1h", turn_time_zone="UTC", run_when_all_orders_in=True
    )
    a, b = table.players
    await table.play(a, 0)
    status = await table.status(b)
    assert {p["race_name"]: p["orders_submitted"] for p in status["players"]} == {
        "Race A0x": True,
        "Race B1x": False,
    }
    assert (await table.record())["current_turn"] == 0
    await table.play(b, 0)
    await table.wait_turn(1)
    record = await table.record()
    # The schedule carries on from the turn that just ran.
    assert record["turn_requested"] is None
    assert record["skip_next_tick"] is False


async def test_a_race_that_quit_does_not_hold_back_all_orders_in(start_table: StartTable) -> None:
    table = await start_table(
        players=3, turn_schedule="@every 1h", turn_time_zone="UTC", run_when_all_orders_in=True
    )
    a, b, c = table.players
    name = (await table.report(c, 0))["race"]["name"]
    quit_ = await table.lobby.client.put(
        f"/api/v1/user/games/{table.game_id}/orders",
        json={"orders": f'q "{name}"'},
        headers=c.headers,
    )
    assert quit_.status_code == 200, quit_.text
    assert quit_.json()["accepted"] is True and not quit_.json()["warnings"], quit_.text
    await table.play(a, 0)
    await table.play(b, 0)
    await table.wait_turn(1)
    # The race that quit stays in the game (GalaxyNG keeps its planets) but sends nothing.
    assert {p["race_name"]: p["orders_submitted"] for p in (await table.status(a))["players"]}[
        "Race C2x"
    ] is False
    await table.play(a, 1)
    await table.play(b, 1)
    await table.wait_turn(2)


async def test_a_race_that_quit_is_told_of_no_turn_after_the_one_it_quit_in(
    start_table: StartTable,
) -> None:
    table = await start_table(players=3, turn_schedule="@every 1h", turn_time_zone="UTC")
    a, b, c = table.players
    name = (await table.report(c, 0))["race"]["name"]
    quit_ = await table.lobby.client.put(
        f"/api/v1/user/games/{table.game_id}/orders",
        json={"orders": f'q "{name}"'},
        headers=c.headers,
    )
    assert quit_.status_code == 200 and quit_.json()["accepted"] is True, quit_.text
    admin = bearer(await table.api.admin_token())
    for turn in (1, 2, 3):
        forced = await table.lobby.client.post(
            f"/api/v1/admin/games/{table.game_id}/force-next-turn", headers=admin
        )
        assert forced.status_code == 202, forced.text
        await table.wait_turn(turn)
    # Its orders are refused from then on, and so (as GalaxyNG mails it no more reports) are
    # the turns' notices: the turn it quit in is the last it hears of.
    refused = await table.lobby.client.put(
        f"/api/v1/user/games/{table.game_id}/orders", json={"orders": ""}, headers=c.headers
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "player_quit"
    told = {
        n.payload["turn"]: set(n.user_ids) for n in await table.lobby.notices("runtime.turn.ready")
    }
    everyone = {UUID(p.user_id) for p in (a, b, c)}
    assert told == {1: everyone, 2: everyone - {UUID(c.user_id)}, 3: everyone - {UUID(c.user_id)}}

    def turn_mails(player: Player) -> list[str]:
        return [
            str(m["Subject"])
            for m in table.api.inbox.to(player.email)
            if "has run" in str(m["Subject"])
        ]

    await eventually(
        lambda: all(len(turn_mails(p)) == 3 for p in (a, b)) and bool(turn_mails(c)),
        timeout=30,
        message="the mails",
    )
    assert turn_mails(c) == ["Andromeda Cup: turn 1 has run"]
    response = await table.lobby.client.get("/api/v1/user/notifications", headers=c.headers)
    assert [
        n["payload"]["turn"] for n in response.json()["items"] if n["kind"] == "runtime.turn.ready"
    ] == [1]


async def test_pause_and_resume_by_the_owner_and_by_an_operator(start_table: StartTable) -> None:
    table = await start_table(turn_schedule="@every 1s", turn_time_zone="UTC")
    paused = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/pause", headers=table.owner.headers
    )
    assert paused.status_code == 200, paused.text
    await table.wait_status("paused")
    turn = (await table.record())["current_turn"]
    # No tick runs while paused, even one long overdue: none is due, none can be taken.
    game_id = UUID(table.game_id)
    await table.lobby.sql(
        "UPDATE runtime_records SET next_tick_at = now() - interval '1 minute' WHERE game_id = $1",
        game_id,
    )
    async with table.api.backend.database.pool.acquire() as conn:
        due = await repository.due_ticks(conn, limit=1000)
        assert game_id not in {g for g, _ in due}
        taken = await repository.claim_tick(
            conn, game_id=game_id, token=uuid4(), lease=timedelta(minutes=1)
        )
        assert taken is None
    again = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/pause", headers=table.owner.headers
    )
    assert again.status_code == 409
    assert (await table.record())["current_turn"] == turn
    resumed = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/resume", headers=table.owner.headers
    )
    assert resumed.status_code == 200, resumed.text
    await table.wait_status("running")
    await table.wait_turn(turn + 1)

    # An operator's controls are audited; a refused one leaves no audit row.
    admin = bearer(await table.api.admin_token())
    for action in ("pause", "pause", "resume", "force-next-turn"):
        await table.lobby.client.post(
            f"/api/v1/admin/games/{table.game_id}/{action}", headers=admin
        )
    audit = await table.lobby.client.get("/api/v1/admin/audit", headers=admin)
    assert audit.status_code == 200, audit.text
    actions = [e["action"] for e in audit.json()["items"] if e["target_id"] == table.game_id]
    assert sorted(actions) == ["runtime.force_turn", "runtime.pause", "runtime.resume"]


async def test_an_owner_forces_turns_at_most_once_per_cooldown_and_operators_are_exempt(
    start_table: StartTable,
) -> None:
    table = await start_table(
        turn_schedule="@every 1h",
        turn_time_zone="UTC",
        env={"BACKEND_RUNTIME_FORCE_TURN_COOLDOWN": "5m"},
    )
    force = f"/api/v1/user/games/{table.game_id}/force-next-turn"
    first = await table.lobby.client.post(force, headers=table.owner.headers)
    assert first.status_code == 202, first.text
    await table.wait_turn(1)
    again = await table.lobby.client.post(force, headers=table.owner.headers)
    assert again.status_code == 429, again.text
    assert again.json()["error"]["code"] == "force_turn_cooldown"
    retry_after = int(again.headers["Retry-After"])
    assert 240 < retry_after <= 300
    assert again.json()["error"]["details"]["retry_after_seconds"] == retry_after
    # An operator is not held to it, and does not start the owner's cooldown either.
    admin = bearer(await table.api.admin_token())
    for turn in (2, 3):
        operator = await table.lobby.client.post(
            f"/api/v1/admin/games/{table.game_id}/force-next-turn", headers=admin
        )
        assert operator.status_code == 202, operator.text
        await table.wait_turn(turn)
    assert (await table.lobby.client.post(force, headers=table.owner.headers)).status_code == 429
    # Once the cooldown has passed (the clock moved on), the owner may again.
    await table.lobby.sql(
        "UPDATE runtime_records SET owner_forced_at = now() - interval '5 minutes'"
        " WHERE game_id = $1",
        UUID(table.game_id),
    )
    assert (await table.lobby.client.post(force, headers=table.owner.headers)).status_code == 202
    await table.wait_turn(4)
    assert await table.turns() == [1, 2, 3, 4]


async def test_a_start_beyond_the_platforms_engines_waits_visibly_then_proceeds(
    start_table: StartTable,
) -> None:
    table = await start_table(
        turn_schedule="@every 1h", turn_time_zone="UTC", env={"BACKEND_RUNTIME_MAX_ENGINES": "1"}
    )
    lobby = table.lobby
    owner, *seated = await lobby.players(3)
    second = await lobby.create(owner, turn_schedule="@every 1h", turn_time_zone="UTC")
    for n, player in enumerate(seated):
        await lobby.enrol(owner, second["id"], player, f"Waiting {chr(65 + n)}{n}x")
    started = await lobby.client.post(
        f"/api/v1/user/games/{second['id']}/start", headers=owner.headers
    )
    assert started.status_code == 202, started.text

    async def waiting() -> bool:
        return (await lobby.game(owner, second["id"]))["runtime"]["status"] == "start_waiting"

    await eventually(waiting, timeout=30, message="the start waits")
    page = await lobby.game(seated[0], second["id"])
    assert page["status"] == "starting"
    assert "Every engine of the platform is busy" in page["runtime"]["message"]
    admin = bearer(await table.api.admin_token())
    record = await lobby.client.get(f"/api/v1/admin/runtime/records/{second['id']}", headers=admin)
    assert record.json()["status"] == "starting"
    assert record.json()["waiting_since"] is not None
    # Its start job waits in the queue; waiting uses up none of its attempts.
    jobs = await lobby.client.get(
        "/api/v1/admin/runtime/jobs", params={"game_id": second["id"]}, headers=admin
    )
    [job] = jobs.json()["items"]
    assert (job["kind"], job["last_error"]) == ("start", None)
    assert job["status"] in ("queued", "running") and job["attempts"] <= 1

    # The first game's engine stops: its slot goes to the waiting game.
    stopped = await lobby.client.post(f"/api/v1/admin/games/{table.game_id}/stop", headers=admin)
    assert stopped.status_code == 202, stopped.text

    async def running() -> bool:
        return (await lobby.game(owner, second["id"]))["status"] == "running"

    await eventually(running, timeout=60, interval=0.2, message="the waiting game started")
    record = await lobby.client.get(f"/api/v1/admin/runtime/records/{second['id']}", headers=admin)
    assert record.json()["waiting_since"] is None
    await table.api.backend.runtime_clients.driver.remove(UUID(second["id"]))
