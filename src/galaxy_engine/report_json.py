"""A race's turn report as JSON data (documented field by field in docs/engine.md).

What a race sees follows GalaxyNG: its own planets, groups and ship types in full;
alien planets and groups where it owns the planet or has a group in orbit; the
coordinates of every other planet; alien groups in flight only when they are headed
for its planets (without saying whose); battles it took part in; bombings it saw.
Floats are rounded to 2 decimals, as GalaxyNG's reports print them.
"""

import json
from typing import Any

from galaxy_engine import economy
from galaxy_engine.model import SHIP, Game, Group, Planet, Race
from galaxy_engine.movement import speed_of
from galaxy_engine.orders import Issue
from galaxy_engine.ships import base_defence, base_speed, group_mass
from galaxy_engine.turn import standings, totals_by_race
from galaxy_engine.turnlog import TurnLog


def rounded(value: Any) -> Any:
    """Every float rounded to 2 decimals (and -0.0 made 0.0), recursively."""
    if isinstance(value, float):
        return round(value, 2) + 0.0
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8; same data, same bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def product_name(game: Game, p: Planet) -> str:
    if p.product == SHIP and p.ship_type is not None and p.owner is not None:
        return game.races[p.owner].type_by_id(p.ship_type).name
    return p.product


class Sight:
    """Who has groups in orbit where, computed once for all of a turn's reports."""

    def __init__(self, game: Game) -> None:
        self.game = game
        self.orbiting: dict[int, set[int]] = {}
        for race in game.races:
            for g in race.groups:
                if g.dist == 0 and g.ships > 0:
                    self.orbiting.setdefault(g.where, set()).add(race.index)
        self.totals = totals_by_race(game)
        self.ranking = [race.index for race in standings(game, self.totals)]

    def sees(self, race: int, p: Planet) -> bool:
        return p.owner == race or race in self.orbiting.get(p.number, ())


def _tech(g: Group) -> dict[str, float]:
    return {"drive": g.drive, "weapons": g.weapons, "shields": g.shields, "cargo": g.cargo}


def _planet_full(game: Game, p: Planet) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "number": p.number,
        "name": p.name,
        "x": p.x,
        "y": p.y,
        "size": p.size,
        "population": p.pop,
        "industry": p.ind,
        "resources": p.resources,
        "production": product_name(game, p),
        "cap": p.cap,
        "mat": p.mat,
        "col": p.col,
        "production_points": economy.effective_industry(p.pop, p.ind),
    }
    return entry


def _own_planet(game: Game, race: Race, p: Planet) -> dict[str, Any]:
    entry = _planet_full(game, p)
    entry["routes"] = {cargo: p.routes[cargo] for cargo in sorted(p.routes)}
    entry["progress"] = p.progress
    if p.product == SHIP and p.ship_type is not None:
        entry["ship_cost"] = economy.ship_full_cost(p, race.type_by_id(p.ship_type))
    return entry


def _other_planet(game: Game, sight: Sight, viewer: int, p: Planet) -> dict[str, Any]:
    base: dict[str, Any] = {"number": p.number, "name": p.name, "x": p.x, "y": p.y}
    seen = sight.sees(viewer, p)
    if p.owner is not None:
        if not seen:
            return {**base, "status": "unidentified"}
        return {
            **_planet_full(game, p),
            "status": "alien",
            "owner": game.races[p.owner].name,
        }
    entry = {**base, "status": "uninhabited", "seen": seen}
    if seen:
        entry.update(
            size=p.size,
            resources=p.resources,
            cap=p.cap,
            mat=p.mat,
            population=p.pop,
            industry=p.ind,
        )
    return entry


def _ship_type(race: Race, type_id: int) -> dict[str, Any]:
    t = race.type_by_id(type_id)
    return {
        "name": t.name,
        "drive": t.drive,
        "guns": t.attacks,
        "weapons": t.weapons,
        "shields": t.shields,
        "cargo": t.cargo,
        "mass": t.mass,
        "speed": base_speed(t),
        "defence": base_defence(t),
    }


def _position(g: Group) -> dict[str, Any]:
    if g.dist == 0:
        return {"at": g.where}
    return {"from": g.origin, "to": g.where, "distance_left": g.dist}


def _own_group(race: Race, g: Group) -> dict[str, Any]:
    t = race.type_by_id(g.type_id)
    fleet = race.fleet_by_id(g.fleet).name if g.fleet is not None else None
    return {
        "number": g.number,
        "type": t.name,
        "ships": g.ships,
        "tech": _tech(g),
        "cargo": g.load_type,
        "load": g.load,
        "speed": speed_of(race, g),
        "mass": group_mass(g, t),
        "fleet": fleet,
        **_position(g),
    }


def _alien_group(race: Race, g: Group) -> dict[str, Any]:
    t = race.type_by_id(g.type_id)
    return {
        "race": race.name,
        "type": t.name,
        "ships": g.ships,
        "tech": _tech(g),
        "cargo": g.load_type,
        "load": g.load,
        "at": g.where,
        "speed": speed_of(race, g),
        "mass": group_mass(g, t),
    }


def _race_status(game: Game, sight: Sight, race: Race) -> dict[str, Any]:
    pop, ind, count = sight.totals[race.index]
    return {
        "name": race.name,
        "drive": race.drive,
        "weapons": race.weapons,
        "shields": race.shields,
        "cargo": race.cargo,
        "population": pop,
        "industry": ind,
        "production": economy.effective_industry(pop, ind),
        "planets": count,
        "alive": race.alive,
        "quit": race.quit,
    }


def own_side(game: Game, sight: Sight, race: Race) -> dict[str, Any]:
    """What a race knows of itself: status, planets, ship types, groups and fleets."""
    status = _race_status(game, sight, race)
    status.update(
        mass_produced=race.mass_produced,
        mass_lost=race.mass_lost,
        real_name=race.real_name,
        options={name: race.option(name) for name in sorted(race.options)},
        allies=[game.races[i].name for i in race.allies],
        map={"x": race.map_x, "y": race.map_y, "size": race.map_size},
    )
    groups = sorted((g for g in race.groups if g.ships > 0), key=lambda g: g.number)
    fleets = []
    for fleet in race.fleets:
        members = [g for g in groups if g.fleet == fleet.id]
        entry: dict[str, Any] = {
            "name": fleet.name,
            "speed": fleet.speed,
            "groups": [g.number for g in members],
        }
        if members:
            entry.update(_position(members[0]))
        fleets.append(entry)
    return {
        "race": status,
        "planets": [_own_planet(game, race, p) for p in game.planets if p.owner == race.index],
        "ship_types": [_ship_type(race, t.id) for t in race.types],
        "groups": [_own_group(race, g) for g in groups],
        "fleets": fleets,
    }


def _visible_alien_types(game: Game, sight: Sight, viewer: int, log: TurnLog) -> list[Any]:
    seen: dict[int, set[int]] = {}
    for battle in log.battles:
        if viewer not in battle.participants:
            continue
        for index, rows in battle.groups.items():
            if index == viewer:
                continue
            names = {row["type"] for row in rows}
            for t in game.races[index].types:
                if t.name in names:
                    seen.setdefault(index, set()).add(t.id)
    for race in game.races:
        if race.index == viewer:
            continue
        for g in race.groups:
            if g.ships > 0 and g.dist == 0 and sight.sees(viewer, game.planet(g.where)):
                seen.setdefault(race.index, set()).add(g.type_id)
    for p in game.planets:
        if (
            p.owner is not None
            and p.owner != viewer
            and p.product == SHIP
            and p.ship_type is not None
            and sight.sees(viewer, p)
        ):
            seen.setdefault(p.owner, set()).add(p.ship_type)
    result = []
    for index in sorted(seen):
        race = game.races[index]
        for t in race.types:
            if t.id in seen[index]:
                result.append({"race": race.name, **_ship_type(race, t.id)})
    return result


def _battles(game: Game, viewer: Race, log: TurnLog) -> list[Any]:
    result = []
    for battle in log.battles:
        if viewer.index not in battle.participants:
            continue
        participants = []
        for index in battle.participants:
            rows = [
                {
                    "type": row["type"],
                    "ships": row["ships"],
                    "tech": {k: row[k] for k in ("drive", "weapons", "shields", "cargo")},
                    "cargo": row["load_type"],
                    "load": row["load"],
                    "survivors": row["survivors"],
                }
                for row in battle.groups[index]
            ]
            participants.append(
                {
                    "race": game.races[index].name,
                    "groups": rows,
                    "lost": battle.losses.get(index, 0),
                }
            )
        entry: dict[str, Any] = {
            "planet": battle.planet,
            "name": game.planet(battle.planet).name,
            "phase": battle.phase,
            "participants": participants,
            "shots": battle.shots,
            "kills": battle.kills,
        }
        if viewer.option("BATTLEPROTOCOL"):
            entry["protocol"] = [
                {
                    "attacker": game.races[a].name,
                    "attacker_type": at,
                    "target": game.races[t].name,
                    "target_type": tt,
                    "destroyed": hit,
                }
                for a, at, t, tt, hit in battle.protocol
            ]
        result.append(entry)
    return result


def _bombings(game: Game, viewer: int, log: TurnLog) -> list[Any]:
    return [
        {
            "planet": b.planet,
            "name": b.name,
            "bomber": game.races[b.bomber].name,
            "owner": game.races[b.old_owner].name,
            "new_owner": game.races[b.new_owner].name if b.new_owner is not None else None,
            "population": b.pop,
            "industry": b.ind,
            "production": b.product,
            "cap": b.cap,
            "mat": b.mat,
            "col": b.col,
        }
        for b in log.bombings
        if viewer in b.viewers
    ]


def _issue(kind: str, issue: Issue) -> dict[str, Any]:
    return {"kind": kind, "line": issue.line, "order": issue.order, "text": issue.message}


def _messages(viewer: int, log: TurnLog) -> list[Any]:
    result: list[Any] = [dict(m) for m in log.global_messages]
    result.extend(dict(m) for m in log.messages.get(viewer, []))
    result.extend(_issue("error", i) for i in log.errors.get(viewer, []))
    result.extend(_issue("warning", i) for i in log.warnings.get(viewer, []))
    return result


def group_xy(game: Game, g: Group) -> tuple[float, float]:
    """Where a group in flight is: on the line from its origin, distance_left short of its goal."""
    origin, goal = game.planet(g.origin), game.planet(g.where)
    total = game.distance(origin, goal)
    if total == 0:
        return goal.x, goal.y
    ratio = g.dist / total
    return goal.x - ratio * (goal.x - origin.x), goal.y - ratio * (goal.y - origin.y)


def _hyperspace_marks(game: Game, viewer: int) -> list[Any]:
    """Alien groups in flight, as positions only: the '-' marks of the map."""
    marks = []
    for race in game.races:
        if race.index == viewer:
            continue
        for g in race.groups:
            if g.ships > 0 and g.dist > 0:
                x, y = group_xy(game, g)
                marks.append({"x": x, "y": y})
    return marks


def _incoming(game: Game, viewer: int) -> list[Any]:
    result = []
    for race in game.races:
        if race.index == viewer:
            continue
        for g in race.groups:
            if g.ships > 0 and g.dist > 0 and game.planet(g.where).owner == viewer:
                t = race.type_by_id(g.type_id)
                result.append(
                    {
                        "from": g.origin,
                        "to": g.where,
                        "distance_left": g.dist,
                        "speed": speed_of(race, g),
                        "mass": group_mass(g, t) * g.ships,
                    }
                )
    return result


def build_report(game: Game, sight: Sight, log: TurnLog, viewer: Race) -> dict[str, Any]:
    """The full report of `viewer` for the turn just run (or turn 0)."""
    index = viewer.index
    ranks = {race_index: rank for rank, race_index in enumerate(sight.ranking, start=1)}
    races = []
    for race in game.races:
        entry = _race_status(game, sight, race)
        if race.index == index:
            entry["relation"] = "-"
        else:
            entry["relation"] = "war" if game.at_war(index, race.index) else "peace"
        entry["rank"] = ranks[race.index]
        races.append(entry)
    alien_groups = []
    for race in game.races:
        if race.index == index:
            continue
        for g in race.groups:
            if g.ships > 0 and g.dist == 0 and sight.sees(index, game.planet(g.where)):
                alien_groups.append(_alien_group(race, g))
    settings = game.settings
    report: dict[str, Any] = {
        "game_id": game.game_id,
        "turn": game.turn,
        "finished": game.finished,
        "winner": game.races[game.winner].name if game.winner is not None else None,
        "galaxy": {"size": game.size, "planets": len(game.planets), "races": len(game.races)},
        "options": {
            name: settings[name]
            for name in (
                "full_bombing",
                "keep_production",
                "spherical",
                "drop_idle_races",
                "peace_turns",
                "max_turns",
            )
        },
        **own_side(game, sight, viewer),
        "races": races,
        "other_planets": [
            _other_planet(game, sight, index, p) for p in game.planets if p.owner != index
        ],
        "alien_ship_types": _visible_alien_types(game, sight, index, log),
        "alien_groups": alien_groups,
        "incoming": _incoming(game, index),
        "hyperspace_marks": _hyperspace_marks(game, index),
        "battles": _battles(game, viewer, log),
        "bombings": _bombings(game, index, log),
        "messages": _messages(index, log),
        "orders_received": list(log.received.get(index, [])),
    }
    return rounded(report)  # type: ignore[no-any-return]


def build_forecast(game: Game, viewer: Race) -> dict[str, Any]:
    """The forecast of a race's own side after its orders (no combat, no other orders)."""
    sight = Sight(game)
    return rounded({"turn": game.turn, **own_side(game, sight, viewer)})  # type: ignore[no-any-return]
