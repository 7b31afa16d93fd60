"""Whole turns: the phases in their order and what the automatic phases do."""

import random

import pytest

from galaxy_engine.model import CAP, COL
from galaxy_engine.orders import Issue
from galaxy_engine.turn import Submitted, merge_groups, run_turn, sort_groups

from .helpers import add_group, orders, tiny_game

TYPES = "d Hauler 4 0 0 0 2\nd Gun 2 1 2 1 0\n"


def turn(game, texts: dict[int, str] | None = None):  # type: ignore[no-untyped-def]
    submitted = {race: Submitted(text, ()) for race, text in (texts or {}).items()}
    return run_turn(game, submitted, random.Random(game.turn))


def typed_game(**settings: object):  # type: ignore[no-untyped-def]
    game = tiny_game(**settings)
    orders(game, 0, TYPES)
    orders(game, 1, TYPES)
    return game


def test_a_turn_without_orders_keeps_standing_production() -> None:
    game = tiny_game()
    log = turn(game)
    assert game.turn == 1 and log.turn == 1
    assert game.races[0].drive == 1 + 1000 / 5000
    assert game.planet(2).product == CAP and game.planet(2).ind > 250.0
    turn(game)
    assert game.turn == 2


def test_cap_production_becomes_industry_the_same_turn_after_growth() -> None:
    game = tiny_game()
    turn(game)
    p = game.planet(2)
    # P = 0.75 * 250 + 0.25 * 500 = 312.5 makes 312.5 / 5.2 CAP, all of it converted.
    assert p.pop == 500.0
    assert round(p.ind, 4) == round(250.0 + 312.5 / 5.2, 4)
    assert p.cap == 0.0 and p.col == 500.0 * 0.08 / 8


def test_cargo_loads_travels_and_unloads_in_one_turn_when_in_reach() -> None:
    game = typed_game()
    add_group(game, 0, "Hauler", 1, 1)
    game.planet(1).col = 2.0
    game.planet(3).x = 15.0
    log = turn(game, {0: "l 1 COL\ns 1 3"})
    assert log.errors[0] == []
    assert game.planet(3).owner == 0
    assert game.planet(3).pop == 2.0 * 8
    assert game.races[0].groups[0].load_type is None


def test_autounload_can_be_switched_off() -> None:
    game = typed_game()
    add_group(game, 0, "Hauler", 1, 1)
    game.planet(1).col = 2.0
    turn(game, {0: "o no AUTOUNLOAD\nl 1 COL\ns 1 3"})
    assert game.planet(3).owner is None
    assert game.races[0].groups[0].load_type == COL


def test_first_race_listed_wins_a_planet_colonised_by_two() -> None:
    game = typed_game()
    add_group(game, 0, "Hauler", 1, 3, load_type=COL, load=1.0)
    add_group(game, 1, "Hauler", 1, 3, load_type=COL, load=1.0)
    turn(game)
    assert game.planet(3).owner == 0
    assert game.races[1].groups[0].load_type == COL


def test_routes_dispatch_cargo_and_unload_it_at_the_destination() -> None:
    game = typed_game()
    add_group(game, 0, "Hauler", 3, 1)
    game.planet(1).cap = 2.0
    turn(game, {0: "r 1 CAP 2"})
    groups = game.races[0].groups
    # One ship (capacity 2.4) took the CAP to planet 2; the two spare ones stayed home.
    carried = [g for g in groups if g.where == 2]
    assert len(carried) == 1 and carried[0].ships == 1 and carried[0].load_type is None
    assert sum(g.ships for g in groups if g.where == 1) == 2
    assert game.planet(1).cap < 2.0


def test_intercept_follows_the_largest_alien_departure() -> None:
    game = typed_game()
    add_group(game, 0, "Gun", 1, 1)
    add_group(game, 1, "Gun", 5, 3)
    add_group(game, 1, "Hauler", 1, 3)
    game.planet(1).x, game.planet(3).x = 30.0, 40.0
    game.planet(5).x, game.planet(5).y = 35.0, 20.0
    # The Gun flies 8 ly a turn: it intercepts what leaves planet 3 for within 16 ly of it.
    turn(game, {0: "i 1 3", 1: "s 1 5\ns 2 2"})
    interceptor = game.races[0].groups[0]
    assert interceptor.where == 5
    game = typed_game()
    add_group(game, 0, "Gun", 1, 1)
    add_group(game, 1, "Gun", 5, 3)
    turn(game, {0: "i 1 3", 1: "s 1 4"})
    assert game.races[0].groups[0].where == 3
    # What leaves planet 3 but is destroyed there in combat I is no mass to follow.
    game = typed_game()
    game.planet(1).x, game.planet(3).x = 30.0, 40.0
    game.planet(5).x, game.planet(5).y = 35.0, 20.0
    interceptor = add_group(game, 0, "Gun", 1, 1)
    add_group(game, 0, "Gun", 10, 3)
    add_group(game, 1, "Hauler", 1, 3)
    log = turn(game, {0: f"i {interceptor.number} 3", 1: "s 1 5"})
    assert log.battles and game.races[1].groups == []
    assert interceptor.where == 3


def test_merge_and_sort_groups() -> None:
    game = typed_game()
    add_group(game, 0, "Gun", 1, 3)
    add_group(game, 0, "Gun", 2, 1)
    add_group(game, 0, "Gun", 3, 1)
    add_group(game, 0, "Hauler", 1, 4)
    merge_groups(game)
    assert [g.ships for g in game.races[0].groups] == [1, 5, 1]
    sort_groups(game)
    numbers = {(g.where, g.type_id): g.number for g in game.races[0].groups}
    assert numbers == {(1, 2): 1, (4, 1): 2, (3, 2): 3}


def test_elimination_and_the_last_race_wins() -> None:
    game = typed_game()
    game.planet(4).owner = 0
    log = turn(game)
    assert log.eliminated == [1]
    assert not game.races[1].alive and game.races[1].eliminated_turn == 1
    assert game.finished and game.winner == 0
    kinds = [m["kind"] for m in log.global_messages]
    assert kinds == ["elimination", "game_end"]


def test_a_race_with_ships_but_no_planets_is_still_alive() -> None:
    game = typed_game()
    game.planet(4).owner = 0
    add_group(game, 1, "Gun", 1, 5)
    turn(game)
    assert game.races[1].alive and not game.finished


def test_turn_limit_ends_the_game_and_ranks_by_production() -> None:
    game = typed_game(max_turns=2)
    game.planet(2).owner = 1
    turn(game)
    assert not game.finished
    log = turn(game)
    assert game.finished and game.winner == 1
    assert "turn limit (2)" in log.global_messages[-1]["text"]


def test_quitting_only_marks_the_race_and_ends_a_game_with_one_race_left_playing() -> None:
    game = typed_game()
    add_group(game, 1, "Gun", 1, 4)
    log = turn(game, {1: "q Beta"})
    beta = game.races[1]
    assert beta.quit and beta.alive and beta.groups[0].ships == 1
    assert game.planet(4).owner == 1 and game.planet(4).pop == 1000.0
    assert [m["kind"] for m in log.global_messages] == ["quit", "game_end"]
    assert game.finished and game.winner == 0


def test_idle_races_are_dropped_only_when_asked() -> None:
    game = typed_game()
    for _ in range(4):
        turn(game, {0: ""})
    assert game.races[1].alive
    game = typed_game(drop_idle_races=True)
    log = turn(game, {0: ""})
    assert not game.races[1].alive
    assert any(m["kind"] == "removed" for m in log.global_messages)


def test_idle_warnings_before_removal() -> None:
    game = typed_game(drop_idle_races=True)
    turn(game, {0: "", 1: ""})
    for _ in range(2):  # GalaxyNG's ORDERGAP1: 2 turns may be missed before turn 12
        log = turn(game, {0: ""})
        assert log.messages[1][0]["kind"] == "idle" and game.races[1].alive
    assert "forfeit your position in the game" in log.messages[1][0]["text"]
    turn(game, {0: ""})
    assert game.races[1].alive is False


def test_lines_refused_on_submission_do_not_run_at_the_turn() -> None:
    game = typed_game()
    refused = (Issue(1, "p 1 CAP", "refused earlier"),)
    log = run_turn(game, {0: Submitted("p 1 CAP\np 2 MAT", refused)}, random.Random(0))
    assert game.planet(1).product == "DRIVE" and game.planet(2).product == "MAT"
    assert [i.message for i in log.errors[0]] == ["refused earlier"]
    assert log.received[0] == ["p 1 CAP", "p 2 MAT"]


def test_movement_arrives_when_less_than_a_hundredth_is_left() -> None:
    game = typed_game()
    add_group(game, 0, "Gun", 1, 1)
    turn(game, {0: "s 1 3"})
    g = game.races[0].groups[0]
    # A Gun (mass 5, drive 2) flies 8 ly a turn; planet 3 is 30 ly away.
    assert (g.dist, g.where, g.origin) == (22.0, 3, 1)
    for left in (14.0, 6.0):
        turn(game)
        assert g.dist == left
    turn(game)
    assert (g.dist, g.origin) == (0.0, 3)


def test_cargo_ships_destroyed_in_combat_one_take_no_route() -> None:
    # Beta is at peace with Alpha (so it does not bomb Alpha's planet and its routes stay)
    # but shoots back at Alpha's armed ships, and its guns kill the shieldless haulers.
    game = typed_game()
    game.races[1].allies = [0]
    add_group(game, 0, "Hauler", 3, 2)
    add_group(game, 0, "Gun", 1, 2)
    add_group(game, 1, "Gun", 50, 2)
    game.planet(2).cap = 5.0
    game.planet(2).routes = {"CAP": 1, "EMP": 1}
    log = turn(game)
    assert log.battles and not log.bombings
    assert not any(g.type_id == 1 for g in game.races[0].groups)
    assert game.planet(2).owner == 0 and game.planet(2).routes == {"CAP": 1, "EMP": 1}


def test_a_fleet_moves_at_the_speed_of_its_slowest_surviving_group() -> None:
    game = typed_game()
    game.races[1].allies = [0]
    orders(game, 0, "d Fast 10 1 1 10 0\nd Slow 1 0 0 0 5\nd FLEET F")
    fast = add_group(game, 0, "Fast", 2, 2)
    slow = add_group(game, 0, "Slow", 3, 2)
    add_group(game, 1, "Gun", 50, 2)
    log = turn(game, {0: f"j {fast.number} F\nj {slow.number} F\ns F 5"})
    assert log.battles and slow.ships == 0 and fast.ships == 2
    total = game.distance(game.planet(2), game.planet(5))
    speed = 20 * 10 / 21
    assert fast.where == 5 and fast.dist == pytest.approx(total - speed)
