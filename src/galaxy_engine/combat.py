"""Combat and bombing (docs/rules.md section 8), exactly as GalaxyNG's battle simulator.

Every round each surviving armed ship fires once, in random order; each of its guns
picks a uniformly random living enemy ship and kills it when attack/defence > 4^U,
U uniform in [-1, 1]. A ship killed before its turn does not fire. A battle ends when
no armed side has enemies left (won) or no side can hurt any enemy (draw).
"""

import math
import random
from dataclasses import dataclass, field

from galaxy_engine.economy import convert_cap
from galaxy_engine.model import CAP, SHIP, Game, Group, Planet, Race, ShipType
from galaxy_engine.movement import location
from galaxy_engine.ships import group_attack, group_defence
from galaxy_engine.turnlog import BattleRecord, BombingRecord, TurnLog

MAX_ROUNDS = 100000
BOMBED = 0.25


@dataclass(slots=True)
class _Unit:
    group: Group
    type: ShipType
    attack: float
    defence: float
    guns: int
    left: int
    unfired: int = 0


@dataclass(slots=True)
class _Side:
    race: int
    units: list[_Unit]
    enemies: list["_Side"] = field(default_factory=list)

    @property
    def alive(self) -> int:
        return sum(u.left for u in self.units)

    @property
    def armed_alive(self) -> int:
        return sum(u.left for u in self.units if u.guns)


def can_see_planet(game: Game, race: Race, p: Planet) -> bool:
    """A race sees a planet it owns or where it has a group in orbit."""
    if p.owner == race.index:
        return True
    return any(g.dist == 0 and g.where == p.number and g.ships > 0 for g in race.groups)


def _is_draw(sides: list[_Side]) -> bool:
    best: dict[int, float] = {}
    weakest: dict[int, float | None] = {}
    for side in sides:
        living = [u for u in side.units if u.left]
        best[side.race] = max((u.attack for u in living), default=0.0)
        weakest[side.race] = min((u.defence for u in living), default=None)
    for side in sides:
        for enemy in side.enemies:
            floor = weakest[enemy.race]
            if floor is not None and floor / 4.0 < best[side.race]:
                return False
    return True


def _is_won(sides: list[_Side]) -> bool:
    return not any(
        side.armed_alive and any(enemy.alive for enemy in side.enemies) for side in sides
    )


def _pick_attacker(sides: list[_Side], rng: random.Random) -> tuple[_Side, _Unit] | None:
    total = sum(u.unfired for side in sides for u in side.units)
    if total == 0:
        return None
    n = rng.randrange(total)
    for side in sides:
        for unit in side.units:
            if n < unit.unfired:
                unit.unfired -= 1
                return side, unit
            n -= unit.unfired
    raise AssertionError("unreachable")


def _pick_target(side: _Side, rng: random.Random) -> tuple[_Side, _Unit] | None:
    total = sum(enemy.alive for enemy in side.enemies)
    if total == 0:
        return None
    n = rng.randrange(total)
    for enemy in side.enemies:
        for unit in enemy.units:
            if n < unit.left:
                return enemy, unit
            n -= unit.left
    raise AssertionError("unreachable")


def shot_kills(attack: float, defence: float, rng: random.Random) -> bool:
    if defence <= 0:
        return True
    return attack / defence > math.pow(4.0, rng.random() * 2.0 - 1.0)


def _fight(game: Game, sides: list[_Side], rng: random.Random, record: BattleRecord) -> None:
    keep_protocol = any(game.races[s.race].option("BATTLEPROTOCOL") for s in sides)
    rounds = 0
    while not _is_draw(sides) and not _is_won(sides):
        rounds += 1
        if rounds > MAX_ROUNDS:
            break
        for side in sides:
            for unit in side.units:
                unit.unfired = unit.left if unit.guns else 0
        while True:
            picked = _pick_attacker(sides, rng)
            if picked is None:
                break
            side, unit = picked
            for _ in range(unit.guns):
                target_pick = _pick_target(side, rng)
                if target_pick is None:
                    break
                enemy, target = target_pick
                record.shots += 1
                killed = shot_kills(unit.attack, target.defence, rng)
                if killed:
                    if target.unfired and rng.randrange(target.left) < target.unfired:
                        target.unfired -= 1
                    target.left -= 1
                    record.kills += 1
                    record.losses[enemy.race] = record.losses.get(enemy.race, 0) + 1
                    game.races[enemy.race].mass_lost += target.type.mass
                if keep_protocol:
                    record.protocol.append(
                        (side.race, unit.type.name, enemy.race, target.type.name, killed)
                    )


def fight_phase(game: Game, rng: random.Random, phase: int, log: TurnLog) -> None:
    """Battles at every planet where races at war meet and one of them is armed."""
    present: dict[int, dict[int, list[Group]]] = {}
    for race in game.races:
        for g in race.groups:
            if g.ships <= 0:
                continue
            where = location(game, g)
            if where is not None:
                present.setdefault(where, {}).setdefault(race.index, []).append(g)
    for number in sorted(present):
        by_race = present[number]
        if len(by_race) < 2:
            continue
        sides = []
        for index in sorted(by_race):
            race = game.races[index]
            units = []
            for g in by_race[index]:
                t = race.type_by_id(g.type_id)
                units.append(
                    _Unit(g, t, group_attack(g, t), group_defence(g, t), t.attacks, g.ships)
                )
            sides.append(_Side(index, units))
        armed = {s.race for s in sides if any(u.guns for u in s.units)}
        if not any(
            a.race in armed and game.at_war(a.race, b.race)
            for a in sides
            for b in sides
            if a is not b
        ):
            continue
        for side in sides:
            side.enemies = [
                other
                for other in sides
                if other is not side
                and (
                    game.at_war(side.race, other.race)
                    or (game.at_war(other.race, side.race) and other.race in armed)
                )
            ]
        record = BattleRecord(
            planet=number,
            phase=phase,
            participants=[s.race for s in sides],
            groups={},
        )
        before = {id(u): u.left for s in sides for u in s.units}
        _fight(game, sides, rng, record)
        for side in sides:
            rows = []
            for u in side.units:
                rows.append(
                    {
                        "type": u.type.name,
                        "ships": before[id(u)],
                        "drive": u.group.drive,
                        "weapons": u.group.weapons,
                        "shields": u.group.shields,
                        "cargo": u.group.cargo,
                        "load_type": u.group.load_type,
                        "load": u.group.load,
                        "survivors": u.left,
                    }
                )
                u.group.ships = u.left
            record.groups[side.race] = rows
        log.battles.append(record)


def _standoff(game: Game, p: Planet) -> bool:
    """The owner still has armed ships in orbit: nobody takes the planet."""
    assert p.owner is not None
    owner = game.races[p.owner]
    return any(
        location(game, g) == p.number and g.ships > 0 and owner.type_by_id(g.type_id).attacks
        for g in owner.groups
    )


def _must_bomb(game: Game, race: Race, g: Group) -> Planet | None:
    where = location(game, g)
    if where is None or g.ships <= 0 or not race.type_by_id(g.type_id).attacks:
        return None
    p = game.planet(where)
    if p.owner is None or not game.at_war(race.index, p.owner):
        return None
    return p


def _new_owner(game: Game, p: Planet, bomber: Race, log: TurnLog) -> int | None:
    if _standoff(game, p):
        return None
    winner: int | None = bomber.index
    valid = 0
    for other in game.races:
        if p.number not in log.claims.get(other.index, []):
            continue
        if any(_must_bomb(game, other, g) is p for g in other.groups):
            winner = other.index
            valid += 1
    return winner if valid <= 1 else None


def bomb_planet(p: Planet, full: bool) -> None:
    """What bombing leaves: a quarter of pop and industry, CAP production, no progress."""
    p.col = 0.0
    p.product = CAP
    p.ship_type = None
    p.progress = 0.0
    p.spent = 0.0
    p.routes.clear()
    if full:
        p.pop = p.ind = p.cap = p.mat = 0.0
    else:
        p.pop *= BOMBED
        p.ind *= BOMBED
        convert_cap(p)


def bomb_phase(game: Game, log: TurnLog) -> None:
    """Armed groups at a planet whose owner they are at war with bomb it."""
    full = bool(game.settings.get("full_bombing"))
    for race in game.races:
        for g in race.groups:
            p = _must_bomb(game, race, g)
            if p is None:
                continue
            assert p.owner is not None
            old = game.races[p.owner]
            product = p.product
            if product == SHIP and p.ship_type is not None:
                product = old.type_by_id(p.ship_type).name
            viewers = [r.index for r in game.races if can_see_planet(game, r, p)]
            new = None if full else _new_owner(game, p, race, log)
            log.bombings.append(
                BombingRecord(
                    planet=p.number,
                    name=p.name,
                    bomber=race.index,
                    old_owner=old.index,
                    new_owner=new,
                    pop=p.pop,
                    ind=p.ind,
                    product=product,
                    cap=p.cap,
                    mat=p.mat,
                    col=p.col,
                    viewers=viewers,
                )
            )
            p.owner = new
            bomb_planet(p, full)
