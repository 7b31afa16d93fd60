"""A first game as a new player plays it: the owner seated at creation, the turn's inbox entry
with its summary and the way to the report, and an operator's stop that the players see."""

from typing import Any
from uuid import UUID

from tests.support import eventually
from tests.support.api import bearer
from tests.support.lobby import Player
from tests.support.table import StartTable, Table


async def inbox(table: Table, player: Player, kind: str) -> list[dict[str, Any]]:
    response = await table.lobby.client.get("/api/v1/user/notifications", headers=player.headers)
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["kind"] == kind]


async def test_the_owner_plays_the_game_they_created(start_table: StartTable) -> None:
    table = await start_table(
        players=1, turn_schedule="@every 1h", turn_time_zone="UTC", owner_race_name="Founders"
    )
    owner, [guest] = table.owner, table.players
    game = await table.game()
    assert game["approved_count"] == 2
    assert {p["race_name"] for p in game["players"]} == {"Founders", "Race A0x"}
    # Nobody was told of the owner's seat, least of all the owner.
    received = await table.lobby.notices("lobby.application.received")
    assert [n.payload["race_name"] for n in received] == ["Race A0x"]

    def mails() -> list[str]:
        return [str(m.get_body(preferencelist=("plain",))) for m in table.api.inbox.to(owner.email)]

    # The guest's application, made after the game was created, is mailed; none of the owner's.
    await eventually(lambda: any("Race A0x applied" in m for m in mails()), message="the mail")
    assert not any("Founders" in m for m in mails())

    report = await table.report(owner, 0)
    assert report["race"]["name"] == "Founders"
    verdict = await table.play(owner, 0)
    assert verdict["accepted"] is True, verdict
    await table.play(guest, 0)
    status = await table.status(owner)
    assert {p["race_name"]: p["orders_submitted"] for p in status["players"]} == {
        "Founders": True,
        "Race A0x": True,
    }
    assert status["engine_answered"] is True


async def test_the_turn_notice_carries_its_summary_and_the_way_to_the_report(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    a = table.players[0]
    forced = await table.lobby.client.post(
        f"/api/v1/user/games/{table.game_id}/force-next-turn", headers=table.owner.headers
    )
    assert forced.status_code == 202, forced.text
    await table.wait_turn(1)

    async def told() -> bool:
        return len(await inbox(table, a, "runtime.turn.ready")) == 1

    await eventually(told, message="the turn in the inbox")
    [entry] = await inbox(table, a, "runtime.turn.ready")
    payload = entry["payload"]
    assert payload["game_id"] == table.game_id
    assert payload["game_name"] == "Andromeda Cup"
    assert (payload["turn"], payload["finished"]) == (1, False)
    summary = payload["summary"]
    assert (summary["battles"], summary["bombings"], summary["eliminated"]) == (0, 0, [])
    assert summary["winner"] is None
    assert sorted(r["race_name"] for r in summary["ranking"]) == ["Race A0x", "Race B1x"]
    assert [r["rank"] for r in summary["ranking"]] == [1, 2]
    assert entry["title"] == "Andromeda Cup: turn 1 has run"
    assert "below" not in entry["body"]
    assert "Your orders for turn 2 are due." in entry["body"]
    assert "Your report of turn 1 is on the game's page" in entry["body"]
    assert payload["report"] == f"/api/v1/user/games/{table.game_id}/reports/1"
    report = await table.lobby.client.get(payload["report"], headers=a.headers)
    assert report.status_code == 200, report.text
    assert report.json()["turn"] == 1


async def test_an_operator_stop_shows_on_the_game_page_and_tells_the_players(
    start_table: StartTable,
) -> None:
    table = await start_table(turn_schedule="@every 1h", turn_time_zone="UTC")
    admin = bearer(await table.api.admin_token())
    stop = await table.lobby.client.post(f"/api/v1/admin/games/{table.game_id}/stop", headers=admin)
    assert stop.status_code == 202, stop.text
    await table.wait_status("paused")
    page = await table.game()
    assert page["runtime"]["status"] == "stopped"
    assert "An operator stopped the game's engine" in page["runtime"]["message"]
    [notice] = [
        n
        for n in await table.lobby.notices("lobby.game.status_changed")
        if n.payload["status"] == "paused"
    ]
    assert set(notice.user_ids) == {UUID(p.user_id) for p in (table.owner, *table.players)}
    assert "An operator stopped the game's engine" in notice.body
    # Its reports and status are still there to read.
    assert (await table.status(table.players[0]))["status"] == "stopped"
    assert (await table.report(table.players[0], 0))["turn"] == 0

    restart = await table.lobby.client.post(
        f"/api/v1/admin/games/{table.game_id}/restart", headers=admin
    )
    assert restart.status_code == 202, restart.text
    await table.wait_status("running", timeout=60)
    assert (await table.game())["runtime"]["status"] == "resumed"
