"""Where the engine once differed from GalaxyNG's code, driven through the HTTP contract.

Each test plays a small game on a real `galaxy-engine serve` subprocess: orders by
`PUT /players/{id}/orders`, turns by `POST /admin/turn`, and what happened read back from
`GET /players/{id}/reports/{turn}` and `GET /admin/status`.
"""

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from galaxy_engine.turn import NOT_YET

from .helpers import EngineProcess, players, running


class Game:
    """One game on a real engine, with the calls these tests repeat."""

    def __init__(self, engine: EngineProcess, races: int, **settings: Any) -> None:
        self.engine = engine
        self.turn = 0
        body = {"game_id": "ng", "seed": 21, "settings": settings, "players": players(races)}
        assert engine.json("POST", "/admin/init", body) == (200, {"turn": 0})

    def orders(self, player: int, text: str) -> dict[str, Any]:
        status, verdict = self.engine.json(
            "PUT", f"/players/player-{player}/orders", {"turn": self.turn + 1, "orders": text}
        )
        assert status == 200, verdict
        return dict(verdict)

    def refused(self, player: int, text: str) -> tuple[int, str]:
        status, body = self.engine.json("PUT", f"/players/player-{player}/orders", {"orders": text})
        return status, body["error"]["code"]

    def run(self) -> dict[str, Any]:
        status, answer = self.engine.json("POST", "/admin/turn", {"turn": self.turn + 1})
        assert status == 200, answer
        self.turn += 1
        return dict(answer)

    def report(self, player: int, turn: int | None = None) -> dict[str, Any]:
        turn = self.turn if turn is None else turn
        status, report = self.engine.json("GET", f"/players/player-{player}/reports/{turn}")
        assert status == 200, report
        return dict(report)

    def home(self, player: int) -> dict[str, Any]:
        """The player's biggest planet (its primary homeworld) as of the latest report."""
        return dict(max(self.report(player)["planets"], key=lambda p: p["size"]))

    def status(self) -> dict[str, Any]:
        return dict(self.engine.json("GET", "/admin/status")[1])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    with running(tmp_path / "data", tmp_path / "log") as started:
        yield started


def _messages(report: dict[str, Any], kind: str) -> list[str]:
    return [m["text"] for m in report["messages"] if m["kind"] == kind]


def _warnings(verdict: dict[str, Any]) -> list[tuple[int, str]]:
    return [(w["line"], w["message"]) for w in verdict["warnings"]]


def _far_planet(report: dict[str, Any], home: dict[str, Any]) -> dict[str, Any]:
    planets: list[dict[str, Any]] = report["other_planets"]
    return max(planets, key=lambda p: math.dist((p["x"], p["y"]), (home["x"], home["y"])))


def test_before_turn_12_idle_races_may_miss_2_turns(engine: EngineProcess) -> None:
    # galaxy.h: ORDERGAP1 2, ORDERGAP2 5, ENDPHASE1TURN 12; removeDeadPlayer removes a race
    # once it has missed more turns than that.
    game = Game(engine, 3, drop_idle_races=True)
    game.orders(2, "")
    for turn in range(1, 5):
        for player in (0, 1):
            game.orders(player, "")
        answer = game.run()
        assert answer["summary"]["eliminated"] == ([] if turn < 4 else ["player-2"]), turn
    idle = [_messages(game.report(2, turn), "idle") for turn in (2, 3)]
    assert "1 more turn to remain idle" in idle[0][0]
    assert "forfeit your position in the game" in idle[1][0]
    assert any("obliterated" in text for text in _messages(game.report(0), "removed"))


def test_from_turn_12_idle_races_may_miss_5_turns(engine: EngineProcess) -> None:
    game = Game(engine, 3, drop_idle_races=True)
    while game.turn < 12:
        for player in (0, 1, 2):
            game.orders(player, "")
        game.run()
    gone = None
    while gone is None:
        for player in (0, 1):
            game.orders(player, "")
        if game.run()["summary"]["eliminated"] == ["player-2"]:
            gone = game.turn
    assert gone == 18
    assert "forfeit your position" in _messages(game.report(2, 17), "idle")[0]


def test_q_only_marks_the_race_as_quit_its_planets_and_ships_stay(
    engine: EngineProcess,
) -> None:
    game = Game(engine, 3)
    home = game.home(2)
    game.orders(2, f"d Drone 1 0 0 0 0\np #{home['number']} Drone")
    game.run()
    before = game.report(2)
    verdict = game.orders(2, "q Race2")
    assert (verdict["accepted"], verdict["errors"], verdict["warnings"]) == (True, [], [])
    answer = game.run()
    row = next(p for p in answer["summary"]["players"] if p["player_id"] == "player-2")
    assert row["alive"] is True and row["quit"] is True
    assert answer["summary"]["eliminated"] == [] and answer["finished"] is False
    assert [r["player_id"] for r in answer["summary"]["ranking"]][-1] == "player-2"
    assert _messages(game.report(0), "quit") == ["Race2 has quit the game."]
    # No more orders from a race that quit; its planets keep producing, its ships stay.
    assert game.refused(2, "") == (409, "player_quit")
    game.run()
    after = game.report(2)
    assert after["race"]["quit"] is True
    assert {p["number"] for p in after["planets"]} == {p["number"] for p in before["planets"]}
    ships = sum(g["ships"] for g in after["groups"] if g["type"] == "Drone")
    assert ships > sum(g["ships"] for g in before["groups"])
    assert next(p for p in game.status()["players"] if p["player_id"] == "player-2")["quit"]


def test_s_and_x_counts_are_read_as_atoi_reads_them(engine: EngineProcess) -> None:
    game = Game(engine, 3)
    home = game.home(0)
    game.orders(0, f"d Drone 1 0 0 0 0\np #{home['number']} Drone")
    game.run()
    drones = game.report(0)["groups"][0]
    assert drones["ships"] == 99
    far = _far_planet(game.report(0), home)["number"]
    verdict = game.orders(0, f"s 1 #{far} 2.5\nx 1 -3")
    assert verdict["accepted"] is True and verdict["errors"] == []
    assert _warnings(verdict) == [
        (1, 'Ship count "2.5" read as 2.'),
        (2, "You must specify more than 0 ships, all available used."),
    ]
    game.run()
    groups = game.report(0)["groups"]
    flying = [g for g in groups if g.get("to") == far]
    assert [g["ships"] for g in flying] == [2]
    # The other 97 were scrapped: their mass became MAT at home (then spent on new drones).
    assert [g["ships"] for g in groups if g.get("at") == home["number"]] == [99]
    verdict = game.orders(0, f"s {flying[0]['number']} #{home['number']} 0\nx 1 many")
    assert _warnings(verdict) == [
        (1, NOT_YET + "Group is in hyperspace."),
        (2, 'Ship count "many" is not a number, all available used.'),
    ]


def test_l_rounds_the_amount_per_ship_up_before_the_minimum(engine: EngineProcess) -> None:
    game = Game(engine, 3)
    home = game.home(0)
    game.orders(0, f"d Box 0 0 0 0 1\np #{home['number']} Box\no NO AUTOUNLOAD")
    game.run()
    assert game.home(0)["col"] == 10.0 and game.report(0)["groups"][0]["ships"] == 99
    # 9 ships take 9.9 COL; 0.1 COL is left for 15 ships, 0.0067 each: roundup2 makes
    # it 0.01, so GalaxyNG loads it.
    verdict = game.orders(0, "l 1 COL 9 AMOUNT 1.1\nl 1 COL 15")
    assert (verdict["accepted"], verdict["warnings"]) == (True, [])
    game.run()
    loaded = {g["ships"]: g for g in game.report(0)["groups"] if g["cargo"] == "COL"}
    assert sorted(loaded) == [9, 15]
    assert loaded[9]["load"] == 1.1 and loaded[15]["load"] == 0.01


def test_s_max_is_the_last_group_of_the_list_as_findgroup_has_it(engine: EngineProcess) -> None:
    game = Game(engine, 3)
    home = game.home(0)
    game.orders(0, f"d Drone 1 0 0 0 0\np #{home['number']} Drone")
    game.run()
    far = _far_planet(game.report(0), home)["number"]
    game.orders(0, f"s 1 #{far}")
    game.run()
    # The new drones were built after the others left: last in the list, yet SortGroups
    # numbers groups at one's own planets first, so they are group 1 and the fleeing ones 2.
    groups = {g["number"]: g for g in game.report(0)["groups"]}
    assert groups[1]["at"] == home["number"] and groups[2]["to"] == far
    near = next(p["number"] for p in game.report(0)["other_planets"] if p["number"] != far)
    verdict = game.orders(0, f"s MAX #{near}")
    assert (verdict["accepted"], verdict["warnings"]) == (True, [])
    game.run()
    moved = [g for g in game.report(0)["groups"] if g.get("to") == near]
    assert [g["ships"] for g in moved] == [99]


def test_ship_type_names_may_have_21_characters(engine: EngineProcess) -> None:
    game = Game(engine, 3)
    verdict = game.orders(0, f"d {'A' * 21} 1 0 0 0 0\nd {'B' * 22} 1 0 0 0 0")
    assert verdict["errors"] == [
        {
            "line": 2,
            "order": f"d {'B' * 22} 1 0 0 0 0",
            "message": "Name is too long (at most 21 characters).",
        }
    ]
    assert [t["name"] for t in verdict["forecast"]["ship_types"]] == ["A" * 21]
    game.run()
    assert [t["name"] for t in game.report(0)["ship_types"]] == ["A" * 21]


def test_empty_names_are_refused(engine: EngineProcess) -> None:
    game = Game(engine, 3)
    home = game.home(0)["number"]
    lines = [
        f'n #{home} ""',
        'd "" 1 0 0 0 0',
        'd FLEET ""',
        "d FLEET {}",
        f'p #{home} ""',
        'p "" CAP',
        "d Drone 1 0 0 0 0",
        't Drone ""',
    ]
    verdict = game.orders(0, "\n".join(lines))
    assert [(e["line"], e["message"]) for e in verdict["errors"]] == [
        (1, "New planet name not provided."),
        (2, "No ship type name given."),
        (3, "No fleet name given."),
        (4, "No fleet name given."),
        (5, 'Production type "" not recognized.'),
        (6, "Planet not recognized."),
        (8, "New name not provided."),
    ]
    game.run()
    report = game.report(0)
    assert [t["name"] for t in report["ship_types"]] == ["Drone"]
    assert report["fleets"] == [] and game.home(0)["name"] == str(home)
    assert game.home(0)["production"] == "DRIVE"


def test_an_order_made_possible_by_another_race_that_turn_is_kept(
    engine: EngineProcess,
) -> None:
    # Two races close together: Race0 brings CAP to Race1's home and unloads it; Race1,
    # whose orders run after Race0's, loads that CAP in the same turn. At submission
    # there is no CAP there yet: the line is a warning, kept, and carried out at the turn.
    game = Game(
        engine,
        2,
        galaxy_size=40,
        race_spacing=5,
        empty_planets=0,
        stuff_planets=0,
        core_sizes=[1000],
    )
    home0, home1 = game.home(0)["number"], game.home(1)["number"]
    game.orders(0, f"d Hauler 10 0 0 0 5\np #{home0} Hauler\no NO AUTOUNLOAD")
    game.orders(1, f"d Box 0 0 0 0 5\np #{home1} Box\no NO AUTOUNLOAD")
    game.run()
    game.orders(0, f"p #{home0} CAP")
    game.run()
    assert game.home(0)["cap"] > 40
    game.orders(0, f"l 1 CAP\ns 1 #{home1}")
    game.run()
    while not any(g.get("at") == home1 for g in game.report(0)["groups"]):
        game.run()
    haulers = next(g for g in game.report(0)["groups"] if g.get("at") == home1)
    carried = haulers["ships"] * haulers["load"]
    assert carried > 0 and haulers["cargo"] == "CAP"
    boxes = next(g for g in game.report(1)["groups"] if g["type"] == "Box")
    game.orders(0, f"u {haulers['number']}")
    verdict = game.orders(1, f"l {boxes['number']} CAP")
    assert verdict["accepted"] is True and verdict["errors"] == []
    name = game.home(1)["name"]
    assert _warnings(verdict) == [(1, NOT_YET + f'No cargo of this type available on "{name}".')]
    game.run()
    boxes = next(g for g in game.report(1)["groups"] if g["type"] == "Box")
    assert boxes["cargo"] == "CAP"
    assert round(boxes["ships"] * boxes["load"], 1) == round(carried, 1)
    assert not any(m["kind"] == "error" for m in game.report(1)["messages"])
