"""Every formula of the economy, the ships and combat, against hand-computed values."""

import math
import random

import pytest

from galaxy_engine import economy
from galaxy_engine.cargo import unload_colonists
from galaxy_engine.combat import bomb_planet, shot_kills
from galaxy_engine.mapgen import new_race
from galaxy_engine.model import CAP, DRIVE, MAT, SHIP, Group, Planet, Race, ShipType
from galaxy_engine.settings import defaults
from galaxy_engine.ships import (
    BATTLE_MAGIC,
    base_defence,
    base_speed,
    capacity,
    defence,
    effective_mass,
    group_defence,
    group_mass,
    group_speed,
    kill_probability,
    round2,
    speed,
    upgrade_cost,
)


def planet(**kw: float) -> Planet:
    fields: dict[str, object] = {"number": 1, "name": "1", "x": 0.0, "y": 0.0}
    fields.update({"size": 1000.0, "resources": 10.0, "owner": 0, "pop": 1000.0, "ind": 1000.0})
    fields.update(kw)
    return Planet(**fields)  # type: ignore[arg-type]


def race() -> Race:
    return new_race(0, "p", "R", defaults())


# --- production ---------------------------------------------------------------------------


def test_production_points_weigh_industry_three_quarters_and_population_one_quarter() -> None:
    assert economy.production_points(planet(pop=1000.0, ind=600.0)) == 700.0
    assert economy.production_points(planet(pop=800.0, ind=400.0)) == 0.75 * 400 + 0.25 * 800


def test_production_points_subtract_upgrade_spending_and_add_carried_progress() -> None:
    p = planet(pop=1000.0, ind=1000.0, spent=300.0, progress=45.5)
    assert economy.production_points(p) == 1000.0 - 300.0 + 45.5


def test_growth_is_eight_percent_up_to_the_size_and_the_rest_becomes_col() -> None:
    p = planet(size=1000.0, pop=500.0, ind=500.0)
    economy.grow(p)
    assert p.pop == 540.0 and p.col == 0.0
    full = planet(size=1000.0, pop=1000.0, ind=1000.0)
    economy.grow(full)
    assert full.pop == 1000.0 and full.col == 80.0 / 8
    edge = planet(size=1000.0, pop=960.0, ind=960.0)
    economy.grow(edge)
    assert edge.pop == 1000.0
    assert math.isclose(edge.col, (76.8 - 40.0) / 8)


def test_cap_converts_to_industry_only_up_to_the_population() -> None:
    p = planet(pop=500.0, ind=300.0, cap=50.0)
    economy.convert_cap(p)
    assert (p.ind, p.cap) == (350.0, 0.0)
    p = planet(pop=500.0, ind=300.0, cap=500.0)
    economy.convert_cap(p)
    assert (p.ind, p.cap) == (500.0, 300.0)


def test_cap_without_mat_costs_five_plus_one_over_resources() -> None:
    p = planet(cap=0.0, mat=0.0, resources=10.0)
    economy.produce_cap(p, 1000.0)
    assert round(p.cap, 2) == 196.08


def test_cap_uses_stockpiled_mat_first() -> None:
    p = planet(cap=0.0, mat=100.0, resources=10.0)
    economy.produce_cap(p, 1000.0)
    assert p.mat == 0.0
    assert math.isclose(p.cap, 100.0 + 500.0 / (5 + 0.1))
    rich = planet(cap=0.0, mat=1000.0, resources=10.0)
    economy.produce_cap(rich, 1000.0)
    assert (rich.cap, rich.mat) == (200.0, 800.0)


def test_mat_is_production_times_resources() -> None:
    p = planet(mat=5.0, resources=2.5)
    economy.produce_mat(p, 100.0)
    assert p.mat == 255.0


def test_research_costs_5000_per_level_and_2500_for_cargo() -> None:
    r = race()
    economy.research(r, DRIVE, 1000.0)
    economy.research(r, "WEAPONS", 2500.0)
    economy.research(r, "SHIELDS", 5000.0)
    economy.research(r, "CARGO", 1000.0)
    assert (r.drive, r.weapons, r.shields, r.cargo) == (1.2, 1.5, 2.0, 1.4)


# --- ship building ------------------------------------------------------------------------


def test_ships_affordable_with_mat_shortfall() -> None:
    # 10 ships of mass 10 cost 1000 production plus 100 MAT; 100 MAT short at R=10 is 10 more.
    built = economy.ships_affordable(1000.0, 10.0, 0.0, 10.0)
    assert built.ships == 9
    assert math.isclose(built.production_used + built.material_production, 900.0 + 9.0)
    assert economy.ships_affordable(1000.0, 10.0, 100.0, 10.0).ships == 10
    assert economy.ships_affordable(99.0, 10.0, 100.0, 10.0).ships == 0


def test_ship_building_carries_the_rest_and_all_of_it_when_nothing_is_built() -> None:
    r = race()
    t = ShipType(1, "Big", 50.0, 0, 0.0, 0.0, 50.0)
    r.types.append(t)
    p = planet(pop=200.0, ind=200.0, product=SHIP, ship_type=1, mat=0.0, resources=10.0)
    assert economy.produce_ships(p, r, t, 200.0) is None
    assert p.progress == 200.0
    # With the fudge a 100-mass ship costs 999.9 production plus 9.999 for missing MAT.
    p.progress = 0.0
    group = economy.produce_ships(p, r, t, 1100.0)
    assert group is not None and group.ships == 1
    assert math.isclose(p.progress, 1100.0 - 999.9 - 9.999)
    assert r.mass_produced == 100.0


def test_mass_fudge_only_above_49_5() -> None:
    assert economy.build_mass(ShipType(1, "a", 49.0, 0, 0, 0, 0)) == 49.0
    assert economy.build_mass(ShipType(1, "a", 99.01, 0, 0, 0, 0)) == 99.0


def test_new_groups_copy_race_tech_rounded_and_zero_for_missing_parts() -> None:
    r = race()
    r.drive, r.weapons, r.shields, r.cargo = 1.236, 1.5, 2.0, 3.0
    t = ShipType(1, "Gun", 1.0, 1, 1.0, 0.0, 0.0)
    r.types.append(t)
    p = planet(mat=100.0)
    group = economy.produce_ships(p, r, t, 100.0)
    assert group is not None
    assert (group.drive, group.weapons, group.shields, group.cargo) == (1.24, 1.5, 0.0, 0.0)
    assert group.ships == 5
    assert p.mat == 90.0


def test_changing_product_credits_the_finished_fraction_as_mat() -> None:
    r = race()
    t = ShipType(1, "Ten", 10.0, 0, 0.0, 0.0, 0.0)
    r.types.append(t)
    p = planet(product=SHIP, ship_type=1, progress=55.0, mat=0.0, resources=10.0)
    economy.set_production(p, r, CAP, None, keep=False)
    # One ship costs 100 + 10/10 = 101 production here; 55/101 of it is done.
    assert math.isclose(p.mat, 10.0 * 55.0 / 101.0)
    assert p.progress == 0.0 and p.product == CAP and p.ship_type is None


def test_keep_production_keeps_the_progress_and_credits_nothing() -> None:
    r = race()
    r.types.append(ShipType(1, "Ten", 10.0, 0, 0.0, 0.0, 0.0))
    p = planet(product=SHIP, ship_type=1, progress=55.0, mat=0.0)
    economy.set_production(p, r, MAT, None, keep=True)
    assert (p.progress, p.mat, p.product) == (55.0, 0.0, MAT)


# --- ships --------------------------------------------------------------------------------


def test_mass_counts_every_further_gun_at_half_weight() -> None:
    assert ShipType(1, "a", 1.0, 3, 2.0, 1.0, 1.0).mass == 1 + 2 + 2 * 1 + 1 + 1
    assert ShipType(1, "a", 1.0, 1, 2.0, 0.0, 0.0).mass == 3.0
    assert ShipType(1, "a", 1.0, 0, 0.0, 0.0, 0.0).mass == 1.0


def test_capacity_and_effective_mass() -> None:
    assert capacity(10.0, 1.0) == 20.0
    assert capacity(1.0, 2.0) == 2.2
    assert effective_mass(5.0, 4.0, 2.0) == 7.0
    assert effective_mass(5.0, 4.0, 0.0) == 9.0


def test_speed_uses_effective_mass_and_drive_tech() -> None:
    t = ShipType(1, "Hauler", 2.0, 0, 0.0, 0.0, 2.0)
    g = Group(1, 1, 1, 1.5, 0.0, 0.0, 2.0, where=1, origin=1, load=2.0, load_type="COL")
    assert group_mass(g, t) == 4.0 + 2.0 / 2.0
    assert group_speed(g, t) == 20 * 1.5 * 2.0 / 5.0
    assert base_speed(t) == 10.0
    assert speed(0.0, 5.0, 10.0) == 0.0


def test_defence_formula_and_base_defence() -> None:
    t = ShipType(1, "Wall", 0.0, 0, 0.0, 10.0, 0.0)
    assert math.isclose(base_defence(t), 10 * BATTLE_MAGIC / 10 ** (1 / 3))
    assert math.isclose(defence(10.0, 1.0, 30.0), 10.0)
    g = Group(1, 1, 1, 0.0, 0.0, 2.0, 0.0, where=1, origin=1)
    assert math.isclose(group_defence(g, t), 2 * 10 * BATTLE_MAGIC / 10 ** (1 / 3))


def test_kill_probability_and_its_limits() -> None:
    assert kill_probability(10.0, 10.0) == 0.5
    assert kill_probability(40.0, 10.0) == 1.0
    assert kill_probability(100.0, 10.0) == 1.0
    assert kill_probability(2.5, 10.0) == 0.0
    assert kill_probability(1.0, 10.0) == 0.0
    assert kill_probability(5.0, 0.0) == 1.0
    assert math.isclose(kill_probability(20.0, 10.0), 0.75)


def test_shot_outcomes_follow_the_kill_probability() -> None:
    rng = random.Random(42)
    trials = 20000
    kills = sum(shot_kills(10.0, 10.0, rng) for _ in range(trials))
    assert abs(kills / trials - 0.5) < 0.02
    kills = sum(shot_kills(20.0, 10.0, rng) for _ in range(trials))
    assert abs(kills / trials - 0.75) < 0.02
    assert all(shot_kills(40.0, 10.0, rng) for _ in range(2000))
    assert not any(shot_kills(2.5, 10.0, rng) for _ in range(2000))
    assert shot_kills(1.0, 0.0, rng)


def test_upgrade_cost_counts_each_part_short_of_the_race_level() -> None:
    r = race()
    r.drive, r.weapons, r.shields, r.cargo = 2.0, 2.0, 1.0, 1.0
    t = ShipType(1, "W", 4.0, 2, 2.0, 3.0, 0.0)
    g = Group(1, 1, 1, 1.0, 1.0, 1.0, 0.0, where=1, origin=1)
    # 10 * ((1 - 1/2) * 4 + (1 - 1/2) * weaponsBlock 3) = 35
    assert upgrade_cost(g, t, r) == 35.0


def test_round2_is_printf_rounding() -> None:
    assert round2(1.236) == 1.24
    assert round2(1.004) == 1.0
    assert round2(-0.001) == 0.0


# --- bombing and colonising ---------------------------------------------------------------


def test_bombing_quarters_pop_and_industry_keeps_cap_and_mat_and_resets_production() -> None:
    p = planet(pop=800.0, ind=400.0, cap=50.0, mat=30.0, col=7.0, product=SHIP, ship_type=1)
    p.progress = 12.0
    p.routes["COL"] = 3
    bomb_planet(p, full=False)
    assert (p.pop, p.ind, p.cap, p.mat, p.col) == (200.0, 150.0, 0.0, 30.0, 0.0)
    assert (p.product, p.ship_type, p.progress, p.routes) == (CAP, None, 0.0, {})


def test_full_bombing_wipes_everything() -> None:
    p = planet(pop=800.0, ind=400.0, cap=50.0, mat=30.0, col=7.0)
    bomb_planet(p, full=True)
    assert (p.pop, p.ind, p.cap, p.mat, p.col) == (0.0, 0.0, 0.0, 0.0, 0.0)


def test_col_becomes_eight_pop_up_to_the_size_and_colonises_unowned_planets() -> None:
    p = planet(owner=None, size=100.0, pop=0.0, ind=0.0, cap=20.0)
    unload_colonists(p, 5.0, 3)
    assert (p.owner, p.pop, p.col) == (3, 40.0, 0.0)
    assert (p.ind, p.cap) == (20.0, 0.0)
    unload_colonists(p, 10.0, 4)
    assert (p.owner, p.pop, p.col) == (3, 100.0, 2.5)


@pytest.mark.parametrize(("pop", "ind"), [(1000.0, 1000.0), (400.0, 100.0)])
def test_effective_industry(pop: float, ind: float) -> None:
    assert economy.effective_industry(pop, ind) == (pop - ind) / 4 + ind
