"""The game state: planets, races, ship types, groups and fleets, and their JSON form.

Plain mutable dataclasses; the rules live in the modules that act on them. Every
container is a list or a dict iterated in a defined order, so a turn is deterministic.
"""

import math
from dataclasses import dataclass, field
from typing import Any

CAP = "CAP"
MAT = "MAT"
COL = "COL"
EMP = "EMP"
DRIVE = "DRIVE"
WEAPONS = "WEAPONS"
SHIELDS = "SHIELDS"
CARGO = "CARGO"
SHIP = "SHIP"

PRODUCTS = (CAP, MAT, DRIVE, WEAPONS, SHIELDS, CARGO)
CARGO_TYPES = (COL, CAP, MAT)
ROUTE_TYPES = (COL, CAP, MAT, EMP)
RACE_OPTIONS = ("AUTOUNLOAD", "SORTGROUPS", "PRODTABLE", "BATTLEPROTOCOL")
DEFAULT_OPTIONS = {"AUTOUNLOAD": True, "SORTGROUPS": True, "PRODTABLE": True}
NAME_MAX = 21  # GalaxyNG's NAMESIZE (galaxy.h): ship types, fleets, planets
RACE_NAME_MAX = 40


@dataclass(slots=True)
class Planet:
    number: int
    name: str
    x: float
    y: float
    size: float
    resources: float
    owner: int | None = None
    pop: float = 0.0
    ind: float = 0.0
    cap: float = 0.0
    mat: float = 0.0
    col: float = 0.0
    product: str = CAP
    ship_type: int | None = None
    progress: float = 0.0
    spent: float = 0.0
    routes: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ShipType:
    id: int
    name: str
    drive: float
    attacks: int
    weapons: float
    shields: float
    cargo: float

    @property
    def weapons_block(self) -> float:
        """Mass of the guns: the first costs W, every further one W/2."""
        if self.attacks < 1:
            return 0.0
        return self.weapons + (self.attacks - 1) * self.weapons / 2

    @property
    def mass(self) -> float:
        return self.drive + self.weapons_block + self.shields + self.cargo


@dataclass(slots=True)
class Group:
    number: int
    type_id: int
    ships: int
    drive: float
    weapons: float
    shields: float
    cargo: float
    where: int
    origin: int
    dist: float = 0.0
    load_type: str | None = None
    load: float = 0.0
    fleet: int | None = None
    intercept: bool = False


@dataclass(slots=True)
class Fleet:
    id: int
    name: str
    speed: float = 0.0


@dataclass(slots=True)
class Race:
    index: int
    player_id: str
    name: str
    drive: float
    weapons: float
    shields: float
    cargo: float
    map_x: float
    map_y: float
    map_size: float
    types: list[ShipType] = field(default_factory=list)
    fleets: list[Fleet] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    allies: list[int] = field(default_factory=list)
    options: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    alive: bool = True
    eliminated_turn: int | None = None
    quit: bool = False
    mass_produced: float = 0.0
    mass_lost: float = 0.0
    real_name: str = ""
    last_orders: int = 0
    next_type_id: int = 1
    next_fleet_id: int = 1

    def type_by_id(self, type_id: int) -> ShipType:
        for ship_type in self.types:
            if ship_type.id == type_id:
                return ship_type
        raise KeyError(type_id)

    def fleet_by_id(self, fleet_id: int) -> Fleet:
        for fleet in self.fleets:
            if fleet.id == fleet_id:
                return fleet
        raise KeyError(fleet_id)

    def option(self, name: str) -> bool:
        return self.options.get(name, False)


@dataclass(slots=True)
class Game:
    game_id: str
    seed: int
    settings: dict[str, Any]
    size: float
    planets: list[Planet]
    races: list[Race]
    turn: int = 0
    finished: bool = False
    winner: int | None = None

    def planet(self, number: int) -> Planet:
        return self.planets[number - 1]

    def distance(self, a: Planet, b: Planet) -> float:
        dx = abs(a.x - b.x)
        dy = abs(a.y - b.y)
        if self.settings.get("spherical"):
            half = self.size / 2
            dx = dx if dx < half else self.size - dx
            dy = dy if dy < half else self.size - dy
        return math.sqrt(dx * dx + dy * dy)

    def at_war(self, race: int, other: int) -> bool:
        """One-sided: `race` is at war with `other` unless it lists `other` as an ally."""
        return race != other and other not in self.races[race].allies

    def alive_races(self) -> list[Race]:
        return [race for race in self.races if race.alive]


def normalise_name(name: str) -> str:
    """How names are compared: case-insensitive, with blanks the same as underscores."""
    return "_".join(name.split()).casefold()


# --- JSON form of the state (full-precision floats; restored exactly) -------------------


def _planet_to_dict(p: Planet) -> dict[str, Any]:
    return {
        "number": p.number,
        "name": p.name,
        "x": p.x,
        "y": p.y,
        "size": p.size,
        "resources": p.resources,
        "owner": p.owner,
        "pop": p.pop,
        "ind": p.ind,
        "cap": p.cap,
        "mat": p.mat,
        "col": p.col,
        "product": p.product,
        "ship_type": p.ship_type,
        "progress": p.progress,
        "spent": p.spent,
        "routes": dict(p.routes),
    }


def _group_to_dict(g: Group) -> dict[str, Any]:
    return {
        "number": g.number,
        "type_id": g.type_id,
        "ships": g.ships,
        "drive": g.drive,
        "weapons": g.weapons,
        "shields": g.shields,
        "cargo": g.cargo,
        "where": g.where,
        "origin": g.origin,
        "dist": g.dist,
        "load_type": g.load_type,
        "load": g.load,
        "fleet": g.fleet,
        "intercept": g.intercept,
    }


def _race_to_dict(r: Race) -> dict[str, Any]:
    return {
        "index": r.index,
        "player_id": r.player_id,
        "name": r.name,
        "drive": r.drive,
        "weapons": r.weapons,
        "shields": r.shields,
        "cargo": r.cargo,
        "map_x": r.map_x,
        "map_y": r.map_y,
        "map_size": r.map_size,
        "types": [
            {
                "id": t.id,
                "name": t.name,
                "drive": t.drive,
                "attacks": t.attacks,
                "weapons": t.weapons,
                "shields": t.shields,
                "cargo": t.cargo,
            }
            for t in r.types
        ],
        "fleets": [{"id": f.id, "name": f.name, "speed": f.speed} for f in r.fleets],
        "groups": [_group_to_dict(g) for g in r.groups],
        "allies": list(r.allies),
        "options": dict(r.options),
        "alive": r.alive,
        "eliminated_turn": r.eliminated_turn,
        "quit": r.quit,
        "mass_produced": r.mass_produced,
        "mass_lost": r.mass_lost,
        "real_name": r.real_name,
        "last_orders": r.last_orders,
        "next_type_id": r.next_type_id,
        "next_fleet_id": r.next_fleet_id,
    }


def game_to_dict(game: Game) -> dict[str, Any]:
    return {
        "game_id": game.game_id,
        "seed": game.seed,
        "settings": game.settings,
        "size": game.size,
        "turn": game.turn,
        "finished": game.finished,
        "winner": game.winner,
        "planets": [_planet_to_dict(p) for p in game.planets],
        "races": [_race_to_dict(r) for r in game.races],
    }


def game_from_dict(data: dict[str, Any]) -> Game:
    planets = [
        Planet(**{**p, "routes": {k: int(v) for k, v in p["routes"].items()}})
        for p in data["planets"]
    ]
    races = []
    for r in data["races"]:
        fields = dict(r)
        fields["types"] = [ShipType(**t) for t in r["types"]]
        fields["fleets"] = [Fleet(**f) for f in r["fleets"]]
        fields["groups"] = [Group(**g) for g in r["groups"]]
        fields["allies"] = list(r["allies"])
        fields["options"] = dict(r["options"])
        races.append(Race(**fields))
    return Game(
        game_id=data["game_id"],
        seed=data["seed"],
        settings=dict(data["settings"]),
        size=data["size"],
        planets=planets,
        races=races,
        turn=data["turn"],
        finished=data["finished"],
        winner=data["winner"],
    )


def copy_game(game: Game) -> Game:
    """An independent copy, for forecasts and for computing a turn off to the side."""
    return game_from_dict(game_to_dict(game))
