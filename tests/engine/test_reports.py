"""Both report forms: the documented JSON fields, visibility, and the text sections."""

import json
import math
from pathlib import Path
from typing import Any

import pytest

from galaxy_engine.game import GameService
from galaxy_engine.report_text import render

from .helpers import players

TOP_LEVEL = {
    "game_id",
    "turn",
    "finished",
    "winner",
    "galaxy",
    "options",
    "race",
    "races",
    "planets",
    "other_planets",
    "ship_types",
    "alien_ship_types",
    "groups",
    "fleets",
    "alien_groups",
    "incoming",
    "hyperspace_marks",
    "battles",
    "bombings",
    "messages",
    "orders_received",
}
PLANET = {
    "number",
    "name",
    "x",
    "y",
    "size",
    "population",
    "industry",
    "resources",
    "production",
    "cap",
    "mat",
    "col",
}


def started(tmp_path: Path, n: int = 2, **settings: Any) -> GameService:
    service = GameService(tmp_path / "game")
    service.open()
    service.init({"game_id": "r", "seed": 5, "settings": settings, "players": players(n)})
    return service


def report(service: GameService, player: str, turn: int) -> dict[str, Any]:
    return json.loads(service.report(player, turn, "json"))  # type: ignore[no-any-return]


def test_turn_zero_report_has_every_documented_field(tmp_path: Path) -> None:
    service = started(tmp_path)
    data = report(service, "player-0", 0)
    assert set(data) == TOP_LEVEL
    assert data["turn"] == 0
    assert set(data["race"]) >= {"name", "drive", "weapons", "shields", "cargo", "population"}
    assert data["race"]["planets"] == 2 and data["race"]["drive"] == 1.0
    for planet in data["planets"]:
        assert set(planet) >= PLANET
    assert {p["status"] for p in data["other_planets"]} == {"unidentified", "uninhabited"}
    assert data["ship_types"] == [] and data["groups"] == []
    service.close()


def test_own_side_in_full_and_aliens_only_where_seen(tmp_path: Path) -> None:
    service = started(tmp_path)
    home = report(service, "player-0", 0)["planets"][0]["number"]
    verdict = service.submit_orders("player-0", 1, f"d Gun 1 1 1 1 0\np #{home} Gun")
    assert verdict["accepted"], verdict
    service.run_turn(1)
    data = report(service, "player-0", 1)
    group = data["groups"][0]
    assert set(group) >= {"number", "type", "ships", "at", "cargo", "load", "tech", "speed"}
    assert group["type"] == "Gun" and group["ships"] > 0 and group["cargo"] is None
    assert data["ship_types"][0] == {
        "name": "Gun",
        "drive": 1.0,
        "guns": 1,
        "weapons": 1.0,
        "shields": 1.0,
        "cargo": 0.0,
        "mass": 3.0,
        "speed": 6.67,
        "defence": 2.15,
    }
    other = report(service, "player-1", 1)
    assert other["alien_groups"] == [] and other["alien_ship_types"] == []
    enemy_planets = [p for p in other["other_planets"] if p["status"] == "unidentified"]
    assert {"number", "name", "x", "y"} == set(enemy_planets[0]) - {"status"}
    service.close()


def test_groups_in_flight_show_from_to_and_distance(tmp_path: Path) -> None:
    service = started(tmp_path)
    data = report(service, "player-0", 0)
    home = data["planets"][0]
    far = max(
        data["other_planets"],
        key=lambda p: math.hypot(p["x"] - home["x"], p["y"] - home["y"]),
    )
    total = math.hypot(far["x"] - home["x"], far["y"] - home["y"])
    service.submit_orders("player-0", 1, f"d Fast 10 0 0 0 0\np #{home['number']} Fast")
    service.run_turn(1)
    assert report(service, "player-0", 1)["groups"][0]["at"] == home["number"]
    service.submit_orders("player-0", 2, f"s 1 #{far['number']}\np #{home['number']} CAP")
    service.run_turn(2)
    group = report(service, "player-0", 2)["groups"][0]
    assert "at" not in group and (group["from"], group["to"]) == (home["number"], far["number"])
    assert total > group["speed"] and group["distance_left"] == pytest.approx(
        total - group["speed"], abs=0.02
    )
    service.close()


def test_text_report_has_galaxyng_sections_in_order(tmp_path: Path) -> None:
    service = started(tmp_path)
    home = report(service, "player-0", 0)["planets"][0]["number"]
    service.submit_orders("player-0", 1, f"d Gun 1 1 1 1 0\np #{home} Gun\nkill them all")
    service.run_turn(1)
    text = service.report("player-0", 1, "text").decode()
    sections = [
        "Galaxy Game r Turn 1 Report for Race0",
        "Top 2 of turn 1",
        "Game Options",
        "Your Options",
        "ORDERS RECEIVED",
        "MISTAKES",
        "Status of Players",
        "Your Ship Types",
        "0.00,0.00  200.00,0.00",
        "Your Planets",
        "Unidentified Planets",
        "Uninhabited Planets",
        "Your Groups",
    ]
    positions = [text.index(section) for section in sections]
    assert positions == sorted(positions)
    map_lines = text.split("0.00,0.00  200.00,0.00\n")[1].splitlines()[:42]
    assert map_lines[0] == "-" * 80 and map_lines[41] == "-" * 80
    assert all(len(line) <= 80 for line in map_lines)
    assert "*" in "".join(map_lines[1:41])
    assert ">   ERROR: Order not recognized." in text
    assert render(report(service, "player-0", 1)) == text
    service.close()


def test_any_map_window_the_m_order_accepts_renders(tmp_path: Path) -> None:
    service = started(tmp_path)
    windows = ("m 1e20 0 1", "m 0 1e20 1", "m 1e308 1e308 1", "m -1e308 0 1e308", "m 5 5 1e300")
    for turn, window in enumerate(windows, start=1):
        assert service.submit_orders("player-0", turn, window)["accepted"]
        service.run_turn(turn)
        text = service.report("player-0", turn, "text").decode()
        border = "-" * 80
        rows = text.split(border + "\n", 1)[1].split("\n" + border + "\n", 1)[0].split("\n")
        assert len(rows) == 40
        assert "".join(rows) == ("*" if window == "m 5 5 1e300" else "")
    service.close()


def test_battle_and_bombing_reports(tmp_path: Path) -> None:
    service = started(tmp_path, galaxy_size=40, race_spacing=10, empty_planets=0, stuff_planets=0)
    r0 = report(service, "player-0", 0)
    r1 = report(service, "player-1", 0)
    home0 = r0["planets"][0]["number"]
    home1 = r1["planets"][0]["number"]
    service.submit_orders("player-0", 1, f"d Gun 10 3 5 5 0\np #{home0} Gun")
    service.run_turn(1)
    service.submit_orders("player-0", 2, f"s 1 #{home1}")
    for turn in range(2, 15):
        service.run_turn(turn)
        data = report(service, "player-0", turn)
        if data["bombings"]:
            break
    assert data["bombings"], "the warships never reached the enemy homeworld"
    bombing = data["bombings"][0]
    assert set(bombing) == {
        "planet",
        "name",
        "bomber",
        "owner",
        "new_owner",
        "population",
        "industry",
        "production",
        "cap",
        "mat",
        "col",
    }
    assert bombing["bomber"] == "Race0" and bombing["owner"] == "Race1"
    seen_by_victim = report(service, "player-1", turn)
    assert seen_by_victim["bombings"] == data["bombings"]
    assert "Bombings" in service.report("player-0", turn, "text").decode()
    service.close()


def test_text_report_messages_global_and_personal(tmp_path: Path) -> None:
    service = started(tmp_path, 3)
    service.submit_orders("player-0", 1, "@\nhello all\n@\n@ Race1\nhi one\n@")
    service.run_turn(1)
    text = service.report("player-1", 1, "text").decode()
    assert (
        "\nGLOBAL Messages\n\n-message from Race0 starts-\nhello all\n-message ends-\n"
        "\nPERSONAL Messages for Race1\n\n-message from Race0 starts-\nhi one\n-message ends-\n"
    ) in text
    other = service.report("player-2", 1, "text").decode()
    assert "hello all" in other and "PERSONAL Messages" not in other
    service.close()
