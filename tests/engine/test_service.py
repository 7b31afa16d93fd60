"""The game service shared by the server and the CLI."""

import json
from pathlib import Path

import pytest

from galaxy_engine.game import AlreadyInitialised, GameService, InvalidRequest, WrongTurn
from galaxy_engine.turn import NOT_YET

from .helpers import players

INIT = {"game_id": "s", "seed": 8, "settings": {}, "players": players(2)}


def service(tmp_path: Path) -> GameService:
    s = GameService(tmp_path / "game")
    s.open()
    s.init(INIT)
    return s


def test_init_is_idempotent_on_the_normalised_request(tmp_path: Path) -> None:
    s = service(tmp_path)
    assert s.init({**INIT, "settings": {"galaxy_size": 200, "max_turns": 0}}) == {"turn": 0}
    with pytest.raises(AlreadyInitialised):
        s.init({**INIT, "game_id": "other"})
    s.close()


def test_init_validates_every_field(tmp_path: Path) -> None:
    s = GameService(tmp_path / "game")
    s.open()
    with pytest.raises(InvalidRequest) as caught:
        s.init({"game_id": "", "seed": True, "settings": 3, "players": "x"})
    assert caught.value.details is not None
    assert [e["field"] for e in caught.value.details["errors"]] == [
        "game_id",
        "seed",
        "settings",
        "players",
    ]
    bad_players = [{"player_id": "a/b", "race_name": "A"}, {"player_id": "a/b", "race_name": ""}]
    with pytest.raises(InvalidRequest) as caught:
        s.init({**INIT, "players": bad_players})
    fields = [e["field"] for e in caught.value.details["errors"]]  # type: ignore[index]
    assert "players[0].player_id" in fields and "players[1].race_name" in fields
    s.close()


def test_orders_can_be_replaced_until_the_turn_runs(tmp_path: Path) -> None:
    s = service(tmp_path)
    home = json.loads(s.report("player-0", 0, "json"))["planets"][0]["number"]
    s.submit_orders("player-0", None, f"p #{home} MAT")
    s.submit_orders("player-0", 1, f"p #{home} CAP")
    s.run_turn(1)
    planets = json.loads(s.report("player-0", 1, "json"))["planets"]
    assert next(p for p in planets if p["number"] == home)["production"] == "CAP"
    assert json.loads(s.report("player-0", 1, "json"))["orders_received"] == [f"p #{home} CAP"]
    with pytest.raises(WrongTurn):
        s.submit_orders("player-0", 1, "")
    s.close()


def test_forecast_shows_only_the_own_side_after_the_orders(tmp_path: Path) -> None:
    s = service(tmp_path)
    home = json.loads(s.report("player-0", 0, "json"))["planets"][0]["number"]
    verdict = s.submit_orders("player-0", 1, f"d Gun 1 1 1 1 0\np #{home} Gun\ns 1 #{home}")
    # No group 1 yet: the line is kept and tried when the turn runs, as GalaxyNG does.
    assert verdict["turn"] == 1 and verdict["accepted"] and verdict["errors"] == []
    assert verdict["warnings"] == [
        {"line": 3, "order": f"s 1 #{home}", "message": NOT_YET + "Group or fleet not recognized."}
    ]
    forecast = verdict["forecast"]
    assert set(forecast) == {"turn", "race", "planets", "ship_types", "groups", "fleets"}
    assert forecast["turn"] == 1 and forecast["groups"][0]["ships"] == 33
    assert {p["number"] for p in forecast["planets"]} <= {
        p["number"] for p in json.loads(s.report("player-0", 0, "json"))["planets"]
    }
    s.close()


def test_a_reopened_service_continues_where_it_stopped(tmp_path: Path) -> None:
    s = service(tmp_path)
    s.submit_orders("player-1", 1, "d Probe 1 0 0 0 0")
    s.run_turn(1)
    s.submit_orders("player-0", 2, "")
    status = s.status()
    s.close()
    again = GameService(tmp_path / "game")
    again.open()
    assert again.status() == status
    assert again.status()["players"][0]["orders_submitted"] is True
    assert json.loads(again.run_turn(2))["turn"] == 2
    again.close()


def test_nul_and_control_characters_in_orders_never_break_a_turn(tmp_path: Path) -> None:
    s = service(tmp_path)
    lines = [f"{letter}\x00 a\x00b 1\x00 #1\x00 x" for letter in "@=abcdefghijlmnopqrstuvwxyz"]
    lines += ["@\x00", "hi\x00", "@", "= \x00\x01", "d A\x00 1 0 0 0 0", "d Fleet \x00F", "\x00"]
    verdict = s.submit_orders("player-0", 1, "\n".join(lines))
    assert not verdict["accepted"]
    names = [t["name"] for t in verdict["forecast"]["ship_types"]]
    assert names == [] and verdict["forecast"]["fleets"] == []
    assert json.loads(s.run_turn(1))["turn"] == 1
    assert "\x00" in json.loads(s.report("player-0", 1, "json"))["orders_received"][0]
    assert s.report("player-1", 1, "text")
    s.close()
