"""The planet economy (docs/rules.md sections 3 and 4): production, growth, CAP, MAT, research.

Functions act on one planet (and its owner) at a time; the production phase that calls
them in planet order lives in `turn`.
"""

from dataclasses import dataclass

from galaxy_engine.model import (
    CAP,
    CARGO,
    DRIVE,
    SHIELDS,
    SHIP,
    WEAPONS,
    Group,
    Planet,
    Race,
    ShipType,
)
from galaxy_engine.ships import COL_POP, set_group_tech

GROWTH = 0.08
CAP_COST = 5.0
TECH_COST = 5000.0
CARGO_TECH_COST = 2500.0
SHIP_COST_PER_MASS = 10.0


def effective_industry(pop: float, ind: float) -> float:
    """0.75*ind + 0.25*pop: what a planet (or a race, summed) can produce."""
    return 0.75 * ind + 0.25 * pop


def production_points(p: Planet) -> float:
    """P = 0.75*ind + 0.25*pop - upgrade spending + carried ship progress (never below 0)."""
    return max(0.0, effective_industry(p.pop, p.ind) - p.spent + p.progress)


def convert_cap(p: Planet) -> None:
    """Capital becomes industry, as far as the population allows."""
    step = min(p.cap, p.pop - p.ind)
    if step > 0:
        p.cap -= step
        p.ind += step


def grow(p: Planet) -> None:
    """Population grows 8%; growth beyond the planet's size is frozen into COL (8 pop each)."""
    increase = p.pop * GROWTH
    room = min(p.size - p.pop, increase)
    room = max(room, 0.0)
    p.pop += room
    p.col += (increase - room) / COL_POP
    convert_cap(p)


def produce_cap(p: Planet, points: float) -> None:
    """CAP costs 5 production and 1 MAT; stockpiled MAT first, then MAT mined on the spot."""
    from_stock = min(points / CAP_COST, p.mat)
    points -= from_stock * CAP_COST
    p.cap += from_stock
    p.mat -= from_stock
    p.cap += points / (CAP_COST + 1.0 / p.resources)


def produce_mat(p: Planet, points: float) -> None:
    p.mat += points * p.resources


def research(race: Race, product: str, points: float) -> None:
    if product == DRIVE:
        race.drive += points / TECH_COST
    elif product == WEAPONS:
        race.weapons += points / TECH_COST
    elif product == SHIELDS:
        race.shields += points / TECH_COST
    elif product == CARGO:
        race.cargo += points / CARGO_TECH_COST


def build_mass(t: ShipType) -> float:
    """The mass a ship costs to build; GalaxyNG's fudge lets 99.01 ships cost 99.00."""
    mass = t.mass
    return mass - 0.01 if mass > 49.5 else mass


@dataclass(frozen=True, slots=True)
class Built:
    ships: int
    production_used: float
    material_production: float


def ships_affordable(points: float, mass: float, mat: float, resources: float) -> Built:
    """The largest n with 10*n*M + max(0, n*M - MAT)/R <= P, and what it costs."""
    n = int(points / (mass * SHIP_COST_PER_MASS)) + 1
    while n > 0:
        production = n * mass * SHIP_COST_PER_MASS
        material = max(0.0, (n * mass - mat) / resources)
        if production + material <= points:
            return Built(n, production, material)
        n -= 1
    return Built(0, 0.0, 0.0)


def produce_ships(p: Planet, race: Race, t: ShipType, points: float) -> Group | None:
    """Build as many ships as P allows; the rest of P carries over (all of it if none)."""
    mass = build_mass(t)
    built = ships_affordable(points, mass, p.mat, p.resources)
    if built.ships == 0:
        p.progress = points
        return None
    needed = built.ships * mass
    if needed <= p.mat:
        p.mat -= needed
    else:
        p.mat = 0.0
    p.progress = points - built.production_used - built.material_production
    group = Group(
        number=next_group_number(race),
        type_id=t.id,
        ships=built.ships,
        drive=0.0,
        weapons=0.0,
        shields=0.0,
        cargo=0.0,
        where=p.number,
        origin=p.number,
    )
    set_group_tech(
        group, t, drive=race.drive, weapons=race.weapons, shields=race.shields, cargo=race.cargo
    )
    race.groups.append(group)
    race.mass_produced += built.ships * t.mass
    return group


def next_group_number(race: Race) -> int:
    return max((g.number for g in race.groups), default=0) + 1


def ship_full_cost(p: Planet, t: ShipType) -> float:
    """Production for one more ship here, MAT shortfall included (the report's cost column)."""
    mass = t.mass
    cost = mass * SHIP_COST_PER_MASS
    if mass > p.mat:
        cost += (mass - p.mat) / p.resources
    return cost


def set_production(p: Planet, race: Race, product: str, ship_type: int | None, keep: bool) -> None:
    """Change a planet's product; dropped ship progress is credited as MAT (finished fraction).

    With KeepProduction the progress stays and nothing is credited (crediting as well
    as keeping, as GalaxyNG's code does, would let repeated changes mint MAT).
    """
    if p.product == SHIP and p.ship_type is not None and not keep:
        t = race.type_by_id(p.ship_type)
        cost = ship_full_cost(p, t)
        if cost > 0:
            p.mat += t.mass * (p.progress / cost)
    if not keep:
        p.progress = 0.0
    p.product = product
    p.ship_type = ship_type if product == SHIP else None


def reset_planet(p: Planet) -> None:
    """A planet left by its race: empty, unowned, producing CAP (removal of a race)."""
    p.owner = None
    p.pop = p.ind = p.cap = p.mat = p.col = 0.0
    p.product = CAP
    p.ship_type = None
    p.progress = 0.0
    p.spent = 0.0
    p.routes.clear()
