"""A busy turn drawn by the client's own modules in Chromium: the reference engine plays a
10-race game with its bots until one race's report holds battles, bombings and groups in
flight, and the report's tables and the map show each of them (the two-player games of the
other browser tests never get that far)."""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from galaxy_engine.bots import orders_for
from galaxy_engine.game import GameService
from tests.support.gateway import Stack
from tests.web.conftest import WEB_ENV, NewPlayer

StartStack = Callable[..., Awaitable[Stack]]

DRAW = """async (report) => {
  const { reportTables } = await import("/assets/js/report.js");
  const { GalaxyMap } = await import("/assets/js/map.js");
  const host = document.createElement("div");
  document.body.append(host);
  host.append(reportTables(report));
  const map = new GalaxyMap({ onSelect: () => {} });
  host.append(map.element);
  map.draw(report);
  const section = (title) => [...host.querySelectorAll("section.report-section")]
    .find((s) => s.querySelector("h3").textContent === title);
  const rows = (element) => [...element.querySelectorAll("tbody tr")]
    .filter((tr) => !tr.querySelector("td.muted"));
  return {
    battles: section("Battles").querySelectorAll(".battle").length,
    battleGroups: rows(section("Battles")).length,
    bombings: rows(section("Bombings")).map((tr) => tr.cells[0].textContent),
    flying: rows(section("Groups")).filter((tr) => tr.textContent.includes("→")).length,
    routes: host.querySelectorAll("line.route-mine").length,
    incoming: host.querySelectorAll("line.route-incoming").length,
    planets: host.querySelectorAll('[data-testid="map-planet"]').length,
  };
}"""


def busy_report(data: Path) -> dict[str, Any]:
    """The first report of a bot game with a battle, a bombing and a group in flight."""
    service = GameService(data)
    service.open()
    players = [{"player_id": f"p{i}", "race_name": f"Race{i}"} for i in range(10)]
    service.init({"game_id": "busy", "seed": 1, "settings": {}, "players": players})
    try:
        for turn in range(1, 41):
            for player in service.status()["players"]:
                if player["alive"]:
                    report = json.loads(service.report(player["player_id"], turn - 1, "json"))
                    service.submit_orders(player["player_id"], turn, orders_for(report))
            service.run_turn(turn)
            for player in service.status()["players"]:
                report = json.loads(service.report(player["player_id"], turn, "json"))
                flying = [g for g in report.get("groups", []) if g.get("to") is not None]
                if report.get("battles") and report.get("bombings") and flying:
                    return dict(report)
    finally:
        service.close()
    raise AssertionError("no busy turn in 40")


async def test_battles_bombings_and_flights_are_drawn(
    start_stack: StartStack, new_player: NewPlayer, tmp_path: Path
) -> None:
    report = busy_report(tmp_path / "game")
    stack = await start_stack(WEB_ENV)
    viewer = await new_player(stack, "viewer@example.org")
    await viewer.open_signin()
    drawn = await viewer.page.evaluate(DRAW, report)

    assert drawn["battles"] == len(report["battles"]) > 0
    assert drawn["battleGroups"] == sum(
        len(p["groups"]) for b in report["battles"] for p in b["participants"]
    )
    assert drawn["bombings"] == [f"{b['name']} (#{b['planet']})" for b in report["bombings"]]
    flying = [g for g in report["groups"] if g.get("to") is not None]
    assert drawn["flying"] == len(flying) > 0
    # A route per group in flight outside a fleet, and per fleet in flight.
    fleets = [f for f in report.get("fleets", []) if f.get("to") is not None]
    assert drawn["routes"] == len([g for g in flying if not g.get("fleet")]) + len(fleets)
    assert drawn["incoming"] == len(report.get("incoming", []))
    assert drawn["planets"] == len(report["planets"]) + len(report["other_planets"])
    await viewer.screenshot("report-busy")
    await viewer.clean()
