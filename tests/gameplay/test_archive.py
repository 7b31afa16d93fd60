"""Every turn's reports are kept by the backend: a game stays readable whether its engine
runs, is stopped, or long removed. (That a turn is committed with its reports or not at all
is the scheduler's: tests/runtime/test_scheduler.py.)"""

from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from tests.support import eventually
from tests.support.lobby import Player
from tests.support.table import StartTable, Table

# No reconciler round during the test: it would put the engine's own address back.
QUIET_RECONCILER = {"BACKEND_RUNTIME_RECONCILE_INTERVAL": "1h"}


async def get(table: Table, player: Player, path: str, **params: str) -> httpx.Response:
    return await table.lobby.client.get(
        f"/api/v1/user/games/{table.game_id}/{path}", params=params, headers=player.headers
    )


async def from_engine(table: Table, player: Player, turn: int, *, text: bool) -> bytes:
    """The report as the engine itself serves it."""
    record = await table.record()
    response = await table.api.backend.runtime_clients.engine.call(
        UUID(table.game_id),
        record["address"],
        "GET",
        f"/players/{player.user_id}/reports/{turn}",
        params={"format": "text"} if text else None,
    )
    return response.content


async def test_a_running_game_is_read_without_its_engine(start_table: StartTable) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC", env=QUIET_RECONCILER)
    a, b = table.players
    await table.force_turn()
    await table.wait_turn(1)
    assert await table.kept_turns() == [(0, 2), (1, 2)]
    engine_said: dict[tuple[str, int, bool], bytes] = {}
    for player in (a, b):
        for turn in (0, 1):
            for text in (False, True):
                engine_said[(player.user_id, turn, text)] = await from_engine(
                    table, player, turn, text=text
                )

    # The engine stops behind the backend's back (the record still says running).
    await table.api.backend.runtime_clients.driver.stop(UUID(table.game_id), grace_seconds=5)
    for player in (a, b):
        for turn in (0, 1):
            as_json = await get(table, player, f"reports/{turn}")
            assert as_json.status_code == 200, as_json.text
            assert as_json.headers["content-type"] == "application/json"
            assert as_json.content == engine_said[(player.user_id, turn, False)]
            as_text = await get(table, player, f"reports/{turn}", format="text")
            assert as_text.status_code == 200, as_text.text
            assert as_text.headers["content-type"].startswith("text/plain")
            assert as_text.content == engine_said[(player.user_id, turn, True)]
    assert (await get(table, a, "reports/0")).json()["race"]["name"] == "Race A0x"
    future = await get(table, a, "reports/2")
    assert future.status_code == 404
    assert future.json()["error"]["code"] == "unknown_turn"

    status = await get(table, a, "status")
    assert status.status_code == 200, status.text
    shown = status.json()
    assert (shown["turn"], shown["status"], shown["finished"]) == (1, "running", False)
    assert shown["engine_answered"] is False
    assert {(p["race_name"], p["alive"], p["orders_submitted"]) for p in shown["players"]} == {
        ("Race A0x", True, None),
        ("Race B1x", True, None),
    }
    assert sorted(r["race_name"] for r in shown["ranking"]) == ["Race A0x", "Race B1x"]
    # Orders do need the engine, and say so.
    orders = await table.lobby.client.put(
        f"/api/v1/user/games/{table.game_id}/orders", json={"orders": ""}, headers=a.headers
    )
    assert orders.status_code == 502
    assert orders.json()["error"]["code"] == "engine_unreachable"


async def test_a_finished_game_stays_readable_after_its_engine_is_removed(
    start_table: StartTable,
) -> None:
    table = await start_table(
        turn_schedule="@every 1s",
        turn_time_zone="UTC",
        settings={"max_turns": 2},
        env={"BACKEND_RUNTIME_FINISHED_RETENTION": "1s"},
    )
    a, b = table.players
    await table.wait_status("finished")

    async def removed() -> bool:
        rows = await table.lobby.sql(
            "SELECT status FROM runtime_jobs WHERE game_id = $1 AND kind = 'remove'",
            UUID(table.game_id),
        )
        return [r["status"] for r in rows] == ["done"]

    await eventually(removed, timeout=30, interval=0.1, message="the engine removed")
    record = await table.record()
    assert (record["status"], record["address"]) == ("finished", None)
    engine_dir = Path(table.api.backend.config.data_dir) / "runtime" / table.game_id
    assert not engine_dir.exists()

    game = await table.game()
    status = await get(table, a, "status")
    assert status.status_code == 200, status.text
    shown = status.json()
    assert (shown["turn"], shown["status"], shown["finished"]) == (2, "finished", True)
    assert shown["next_turn_at"] is None
    assert shown["ranking"] == game["final_ranking"]
    assert [r["rank"] for r in shown["ranking"]] == [1, 2]
    for player in (a, b):
        for turn in (0, 1, 2):
            report = await get(table, player, f"reports/{turn}")
            assert report.status_code == 200, report.text
            assert report.json()["turn"] == turn
            text = await get(table, player, f"reports/{turn}", format="text")
            assert text.status_code == 200, text.text
            assert f"Turn {turn}" in text.text
    last: dict[str, Any] = (await get(table, a, "reports/2")).json()
    assert last["finished"] is True
    beyond = await get(table, b, "reports/3")
    assert beyond.status_code == 404
    assert beyond.json()["error"]["code"] == "unknown_turn"
    # No orders are kept or asked for any more: a conflict, not an engine fault.
    orders = await get(table, a, "orders")
    assert orders.status_code == 409, orders.text
    assert orders.json()["error"]["code"] == "game_finished"
