"""Cargo and colonising (docs/rules.md section 7): unloading, AutoUnload and routes."""

from galaxy_engine.economy import convert_cap
from galaxy_engine.model import CAP, COL, EMP, MAT, Game, Group, Planet, Race
from galaxy_engine.movement import send, split
from galaxy_engine.ships import COL_POP, LOAD_MIN, group_capacity

ROUTE_LOAD_ORDER = (COL, CAP, MAT)
ROUTE_UNLOAD_ORDER = (CAP, MAT, COL)


def unload_colonists(p: Planet, amount: float, race: int) -> None:
    """Each COL becomes 8 pop up to the planet's size; an unowned planet becomes yours."""
    people = amount * COL_POP
    room = max(0.0, min(p.size - p.pop, people))
    p.pop += room
    p.col += (people - room) / COL_POP
    if p.owner is None:
        p.owner = race
    convert_cap(p)


def unload(game: Game, race: Race, g: Group, amount: float) -> None:
    """Unload `amount` per ship at the planet the group orbits."""
    total = amount * g.ships
    p = game.planet(g.where)
    if g.load_type == CAP:
        p.cap += total
        convert_cap(p)
    elif g.load_type == MAT:
        p.mat += total
    elif g.load_type == COL:
        unload_colonists(p, total, race.index)
    g.load -= amount
    if g.load < LOAD_MIN:
        g.load_type = None
        g.load = 0.0


def stock(p: Planet, cargo: str) -> float:
    return {CAP: p.cap, MAT: p.mat, COL: p.col}[cargo]


def take_stock(p: Planet, cargo: str, amount: float) -> None:
    if cargo == CAP:
        p.cap -= amount
    elif cargo == MAT:
        p.mat -= amount
    else:
        p.col -= amount


def auto_unload(game: Game) -> None:
    """After production, groups at their own or an unowned planet unload everything.

    Planet by planet, and at each planet race by race (the first to land COL on a free
    planet takes it); the loaded groups in orbit are found in one pass, not per planet.
    """
    loaded: dict[int, list[tuple[Race, Group]]] = {}
    for race in game.races:
        if race.option("AUTOUNLOAD"):
            for g in race.groups:
                if g.dist == 0 and g.ships != 0 and g.load_type is not None:
                    loaded.setdefault(g.where, []).append((race, g))
    for number in sorted(loaded):
        p = game.planet(number)
        for race, g in loaded[number]:
            if p.owner is None or p.owner == race.index:
                unload(game, race, g, g.load)


def route_unload(game: Game) -> None:
    """At a route's destination, cargo of the route's type unloads (COL never on aliens)."""
    for p in game.planets:
        if p.owner is None:
            continue
        race = game.races[p.owner]
        for cargo in ROUTE_UNLOAD_ORDER:
            target = p.routes.get(cargo)
            if target is None:
                continue
            dest = game.planet(target)
            if cargo == COL and dest.owner not in (None, race.index):
                continue
            for g in race.groups:
                if g.where == target and g.dist == 0 and g.load_type == cargo and g.ships:
                    unload(game, race, g, g.load)


def _route_candidates(race: Race, p: Planet) -> list[Group]:
    """Cargo ships that can move, in orbit at `p` and not in a fleet, in group order.

    Groups destroyed in combat I (0 ships until the next merge) are not among them.
    """
    candidates = []
    for g in race.groups:
        if g.where == p.number and g.dist == 0 and g.fleet is None and g.ships > 0:
            t = race.type_by_id(g.type_id)
            if t.cargo > 0 and t.drive > 0:
                candidates.append(g)
    return candidates


def route_load(game: Game) -> None:
    """Route dispatch: idle cargo groups load the route's cargo and fly; spare ships stay."""
    for p in game.planets:
        if p.owner is None:
            continue
        race = game.races[p.owner]
        for cargo in ROUTE_LOAD_ORDER:
            target = p.routes.get(cargo)
            if target is None:
                continue
            for g in _route_candidates(race, p):
                if g.load_type is None and stock(p, cargo) > 0:
                    per_ship = group_capacity(g, race.type_by_id(g.type_id))
                    room = g.ships * per_ship
                    quantity = min(stock(p, cargo), room)
                    take_stock(p, cargo, quantity)
                    spare = int((room - quantity) / per_ship)
                    if 0 < spare < g.ships:
                        split(race, g, spare).load_type = None
                    g.load_type = cargo
                    g.load = quantity / g.ships
                if g.load_type == cargo:
                    send(game, g, game.planet(target))
        target = p.routes.get(EMP)
        if target is not None:
            for g in _route_candidates(race, p):
                if g.load_type is None:
                    send(game, g, game.planet(target))
