"""Battles, bombing and who owns a planet afterwards."""

import random

from galaxy_engine.combat import bomb_phase, fight_phase
from galaxy_engine.turnlog import TurnLog

from .helpers import add_group, add_race, orders, tiny_game

TYPES = "d Gun 2 1 2 1 0\nd Hauler 2 0 0 0 1\nd Shield 1 0 0 50 0\nd Pea 1 1 1 0 0\n"


def game():  # type: ignore[no-untyped-def]
    g = tiny_game()
    for race in (0, 1):
        assert orders(g, race, TYPES) == ([], [])
    return g


def test_armed_ships_destroy_unarmed_enemies() -> None:
    g = game()
    add_group(g, 0, "Gun", 3, 5)
    add_group(g, 1, "Hauler", 4, 5)
    log = TurnLog(turn=1)
    fight_phase(g, random.Random(1), 1, log)
    assert [x.ships for x in g.races[1].groups] == [0]
    assert [x.ships for x in g.races[0].groups] == [3]
    battle = log.battles[0]
    assert (battle.planet, battle.participants, battle.kills, battle.losses) == (
        5,
        [0, 1],
        4,
        {1: 4},
    )
    assert battle.groups[1][0]["ships"] == 4 and battle.groups[1][0]["survivors"] == 0
    assert g.races[1].mass_lost == 4 * 3.0


def test_no_battle_between_unarmed_or_allied_races() -> None:
    g = game()
    add_group(g, 0, "Hauler", 1, 5)
    add_group(g, 1, "Hauler", 1, 5)
    log = TurnLog(turn=1)
    fight_phase(g, random.Random(1), 1, log)
    assert log.battles == []
    add_group(g, 0, "Gun", 1, 5)
    orders(g, 0, "a Beta")
    fight_phase(g, random.Random(1), 1, log)
    assert log.battles == []


def test_the_side_at_peace_still_shoots_back_at_an_armed_attacker() -> None:
    g = game()
    orders(g, 0, "a Beta")
    add_group(g, 0, "Gun", 30, 5)
    add_group(g, 1, "Gun", 1, 5)
    log = TurnLog(turn=1)
    fight_phase(g, random.Random(3), 1, log)
    assert len(log.battles) == 1
    assert g.races[1].groups[0].ships == 0


def test_a_battle_nobody_can_win_is_a_draw_with_no_shots() -> None:
    g = game()
    add_group(g, 0, "Pea", 2, 5)
    add_group(g, 1, "Shield", 2, 5)
    log = TurnLog(turn=1)
    fight_phase(g, random.Random(1), 1, log)
    # A pea (attack 1) against defence 50*3.1/51^(1/3) ~ 42: 1 <= 42/4, never a kill.
    assert log.battles[0].shots == 0
    assert [x.ships for x in g.races[1].groups] == [2]


def test_battles_are_decided_by_the_turn_random_source() -> None:
    def outcome(seed: int) -> tuple[int, int]:
        g = game()
        add_group(g, 0, "Gun", 20, 5)
        add_group(g, 1, "Gun", 20, 5)
        fight_phase(g, random.Random(seed), 1, TurnLog(turn=1))
        return g.races[0].groups[0].ships, g.races[1].groups[0].ships

    assert outcome(7) == outcome(7)
    results = {outcome(seed) for seed in range(8)}
    assert len(results) > 1
    assert all(0 in pair for pair in results)


def test_groups_sent_this_turn_fight_at_their_origin() -> None:
    g = game()
    add_group(g, 0, "Gun", 5, 5)
    add_group(g, 1, "Hauler", 1, 5)
    orders(g, 1, "s 1 4")
    log = TurnLog(turn=1)
    fight_phase(g, random.Random(1), 1, log)
    assert g.races[1].groups[0].ships == 0


def test_bombing_takes_an_undefended_planet() -> None:
    g = game()
    add_group(g, 0, "Gun", 1, 4)
    log = TurnLog(turn=1)
    bomb_phase(g, log)
    p = g.planet(4)
    assert (p.owner, p.pop, p.ind, p.product) == (0, 250.0, 250.0, "CAP")
    record = log.bombings[0]
    assert (record.bomber, record.old_owner, record.new_owner, record.pop) == (0, 1, 0, 1000.0)
    assert record.viewers == [0, 1]


def test_standoff_leaves_the_planet_unowned() -> None:
    g = game()
    add_group(g, 0, "Gun", 1, 4)
    add_group(g, 1, "Pea", 1, 4)
    orders(g, 1, "a Alpha")
    log = TurnLog(turn=1)
    bomb_phase(g, log)
    assert g.planet(4).owner is None
    assert log.bombings[0].new_owner is None


def test_full_bombing_leaves_nothing_and_nobody() -> None:
    g = tiny_game(full_bombing=True)
    orders(g, 0, TYPES)
    add_group(g, 0, "Gun", 1, 4)
    bomb_phase(g, TurnLog(turn=1))
    p = g.planet(4)
    assert (p.owner, p.pop, p.ind) == (None, 0.0, 0.0)


def test_a_single_valid_claim_takes_the_planet_and_two_claims_leave_it_unowned() -> None:
    g = tiny_game()
    add_race(g, "Gamma")
    for race in (0, 1, 2):
        orders(g, race, TYPES)
    add_group(g, 0, "Gun", 1, 4)
    add_group(g, 2, "Gun", 1, 4)
    orders(g, 0, "a Gamma")
    orders(g, 2, "a Alpha")
    log = TurnLog(turn=1)
    orders(g, 2, "v 4", log)
    bomb_phase(g, log)
    assert g.planet(4).owner == 2
    g.planet(4).owner = 1
    log = TurnLog(turn=1)
    orders(g, 0, "v 4", log)
    orders(g, 2, "v 4", log)
    bomb_phase(g, log)
    assert g.planet(4).owner is None
