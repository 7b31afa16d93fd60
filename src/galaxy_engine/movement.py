"""Groups and fleets in space (docs/rules.md section 6): where they are, send, reverse, move.

A group's `where` is its destination, or the planet it orbits when `dist` is 0; `origin`
is where it came from. A group sent this turn still counts as being at its origin until
the move phase (it fights there in combat I).
"""

from galaxy_engine.model import Fleet, Game, Group, Planet, Race
from galaxy_engine.ships import REVERSE_TURNS, group_mass, group_speed

ARRIVAL = 0.01


def location(game: Game, g: Group) -> int | None:
    """The planet the group orbits, or None in hyperspace."""
    if g.dist == 0:
        return g.where
    if g.dist == game.distance(game.planet(g.origin), game.planet(g.where)):
        return g.origin
    return None


def send(game: Game, g: Group, target: Planet) -> None:
    g.origin = g.where
    g.where = target.number
    g.dist = game.distance(target, game.planet(g.origin))


def recall(game: Game, g: Group) -> None:
    """Turn around in flight: origin and destination swap."""
    g.dist = game.distance(game.planet(g.origin), game.planet(g.where)) - g.dist
    g.origin, g.where = g.where, g.origin


def split(race: Race, g: Group, ships: int) -> Group:
    """Break `ships` ships off into a new group numbered highest + 1."""
    new = Group(
        number=max(x.number for x in race.groups) + 1,
        type_id=g.type_id,
        ships=ships,
        drive=g.drive,
        weapons=g.weapons,
        shields=g.shields,
        cargo=g.cargo,
        where=g.where,
        origin=g.origin,
        dist=g.dist,
        load_type=g.load_type,
        load=g.load,
        fleet=g.fleet,
        intercept=g.intercept,
    )
    g.ships -= ships
    race.groups.append(new)
    return new


def speed_of(race: Race, g: Group) -> float:
    return group_speed(g, race.type_by_id(g.type_id))


def fleet_speed(race: Race, fleet: Fleet) -> float:
    """A fleet moves at the speed of its slowest group (groups destroyed in combat I,
    at 0 ships until the next merge, no longer count)."""
    speeds = [speed_of(race, g) for g in race.groups if g.fleet == fleet.id and g.ships > 0]
    return min(speeds) if speeds else 0.0


def can_reverse(g: Group, speed: float) -> bool:
    """`h` needs at least REVERSE_TURNS turns of travel left at `speed`."""
    return g.dist >= speed * REVERSE_TURNS


def update_fleets(game: Game) -> None:
    """Drop fleets without groups; recompute every fleet's speed."""
    for race in game.races:
        used = {g.fleet for g in race.groups if g.fleet is not None}
        race.fleets = [f for f in race.fleets if f.id in used]
        for fleet in race.fleets:
            fleet.speed = fleet_speed(race, fleet)


def move(game: Game) -> None:
    """Every group in flight covers its speed (its fleet's speed); < 0.01 left is arrival."""
    for race in game.races:
        speeds = {f.id: f.speed for f in race.fleets}
        for g in race.groups:
            if g.dist == 0:
                continue
            step = speeds[g.fleet] if g.fleet is not None else speed_of(race, g)
            g.dist -= step
            if g.dist < ARRIVAL:
                g.dist = 0.0
                g.origin = g.where


def intercept(game: Game) -> None:
    """Interceptors head for where the most alien mass is leaving their target planet to."""
    for race in game.races:
        speeds = {f.id: f.speed for f in race.fleets}
        for g in race.groups:
            if not g.intercept:
                continue
            g.intercept = False
            reach = 2 * (speeds[g.fleet] if g.fleet is not None else speed_of(race, g))
            here = location(game, g)
            if here is None:
                continue
            mass_to: dict[int, float] = {}
            for other in game.races:
                if other.index == race.index:
                    continue
                for h in other.groups:
                    if h.dist == 0 or h.ships <= 0 or location(game, h) != g.where:
                        continue
                    if game.distance(game.planet(h.where), game.planet(here)) < reach:
                        t = other.type_by_id(h.type_id)
                        mass_to[h.where] = mass_to.get(h.where, 0.0) + h.ships * group_mass(h, t)
            if mass_to:
                target = max(sorted(mass_to), key=lambda number: mass_to[number])
                g.where = g.origin
                send(game, g, game.planet(target))
