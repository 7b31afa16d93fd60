"""A turn, phase by phase, in GalaxyNG's order (docs/rules.md section 9).

1. orders (phase 1, then 2: g n t, then 3: c), race by race in the order written;
2. merge, combat I, bombing I; 3. route dispatch; 4. fleet speeds, intercepts;
5. movement; 6. merge, combat II, bombing II; 7. production, research, growth;
8. AutoUnload and route unloads; 9. merge, fleets, group numbering, removals;
then eliminations and the end of the game.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from galaxy_engine import economy
from galaxy_engine.cargo import auto_unload, route_load, route_unload
from galaxy_engine.combat import bomb_phase, fight_phase
from galaxy_engine.commands import Executor, Refused
from galaxy_engine.model import CAP, MAT, SHIP, Game, Group, Race
from galaxy_engine.movement import intercept, location, move, update_fleets
from galaxy_engine.orders import Issue, OrderLine, ParsedOrders, parse_orders
from galaxy_engine.turnlog import TurnLog

# GalaxyNG's galaxy.h: ENDPHASE1TURN, ORDERGAP1 and ORDERGAP2 (the turns a race may miss).
EARLY_TURNS = 12
EARLY_GAP = 2
LATE_GAP = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a race's orders: refused lines and warnings, by line."""

    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]


def execute_orders(
    game: Game, race: Race, parsed: ParsedOrders, phase: int, log: TurnLog | None
) -> Outcome:
    """Carry out one race's orders of one phase, line by line."""
    errors: list[Issue] = []
    warnings: list[Issue] = []
    executor = Executor(game, race, log)
    for order in parsed.lines:
        if order.phase != phase:
            continue
        try:
            for message in executor.run(order):
                warnings.append(Issue(order.line, order.text, message))
        except Refused as refusal:
            errors.append(Issue(order.line, order.text, str(refusal)))
    return Outcome(tuple(errors), tuple(warnings))


def merge_groups(game: Game) -> None:
    """Identical groups (type, tech, cargo, place, fleet) become one; empty groups go."""
    for race in game.races:
        merged: list[Group] = []
        index: dict[tuple[object, ...], Group] = {}
        for g in race.groups:
            if g.ships <= 0:
                continue
            key = (
                g.fleet,
                g.type_id,
                g.drive,
                g.weapons,
                g.shields,
                g.cargo,
                g.load_type,
                g.load,
                g.origin,
                g.where,
                g.intercept,
                g.dist,
            )
            first = index.get(key)
            if first is None:
                index[key] = g
                merged.append(g)
            else:
                first.ships += g.ships
        race.groups = merged


def _numbering_order(game: Game, race: Race) -> list[Group]:
    """Groups at own planets, then at alien planets, then at unowned ones, then fleets.

    At each planet, groups in orbit come before those heading there.
    """
    loose = [g for g in race.groups if g.fleet is None]
    places = [location(game, g) for g in loose]
    ranked: list[tuple[int, int, int, int]] = []
    for i, (g, at) in enumerate(zip(loose, places, strict=True)):
        planet = game.planet(at if at is not None else g.where)
        if planet.owner == race.index:
            kind = 0
        elif planet.owner is not None:
            kind = 1
        else:
            kind = 2
        ranked.append((kind, planet.number, 0 if at is not None else 1, i))
    order = [loose[i] for *_key, i in sorted(ranked)]
    for fleet in race.fleets:
        order.extend(g for g in race.groups if g.fleet == fleet.id)
    placed = {id(g) for g in order}
    order.extend(g for g in race.groups if id(g) not in placed)
    return order


def sort_groups(game: Game) -> None:
    """SortGroups: renumber every race's groups by place (see _numbering_order)."""
    for race in game.races:
        if race.option("SORTGROUPS"):
            for number, g in enumerate(_numbering_order(game, race), start=1):
                g.number = number


def production_phase(game: Game) -> None:
    """Ships, MAT and CAP on every planet first; then research and growth planet by planet."""
    for p in game.planets:
        if p.owner is None or p.product not in (SHIP, CAP, MAT):
            continue
        race = game.races[p.owner]
        points = economy.production_points(p)
        p.spent = 0.0
        if p.product == SHIP and p.ship_type is not None:
            economy.produce_ships(p, race, race.type_by_id(p.ship_type), points)
        elif p.product == CAP:
            economy.produce_cap(p, points)
            p.progress = 0.0
        elif p.product == MAT:
            economy.produce_mat(p, points)
            p.progress = 0.0
    for p in game.planets:
        if p.owner is None:
            continue
        race = game.races[p.owner]
        if p.product not in (SHIP, CAP, MAT):
            points = economy.production_points(p)
            p.spent = 0.0
            economy.research(race, p.product, points)
            p.progress = 0.0
        economy.grow(p)


def remove_race(game: Game, race: Race) -> None:
    """A race leaves: its planets reset to unowned and empty, its ships deleted."""
    for p in game.planets:
        if p.owner == race.index:
            economy.reset_planet(p)
    race.groups = []
    race.fleets = []


def _idle_removals(game: Game, log: TurnLog) -> None:
    """With drop_idle_races, GalaxyNG's removeDeadPlayer: warn, then remove idle races.

    A race that quit (`q`) is idle like any other from then on: it stays until this
    removes it, or for good when idle races are not dropped.
    """
    if not game.settings.get("drop_idle_races"):
        return
    gap = EARLY_GAP if game.turn < EARLY_TURNS else LATE_GAP
    for race in game.alive_races():
        idle = game.turn - race.last_orders if race.last_orders else gap + 1
        if idle == 0:
            continue
        if idle < gap:
            left = gap - idle
            log.tell(
                race.index,
                "idle",
                f"You didn't send orders this turn. You have {left} more "
                f"turn{'s' if left != 1 else ''} to remain idle before you forfeit your position.",
            )
        elif idle == gap:
            log.tell(
                race.index,
                "idle",
                "If you do not send orders for this next turn then you will forfeit "
                "your position in the game!",
            )
        else:
            remove_race(game, race)
            log.announce("removed", f"{race.name} had an unfortunate accident and was obliterated.")


def _eliminations(game: Game, log: TurnLog) -> None:
    owners = {p.owner for p in game.planets if p.owner is not None}
    for race in game.alive_races():
        if race.index in owners or any(g.ships > 0 for g in race.groups):
            continue
        race.alive = False
        race.eliminated_turn = game.turn
        log.eliminated.append(race.index)
        log.announce("elimination", f"{race.name} has been eliminated.", race=race.name)


Totals = dict[int, tuple[float, float, int]]


def standings(game: Game, totals: Totals | None = None) -> list[Race]:
    """Ranking: races still playing first, then those that quit, then the eliminated;
    within each, by total production, later elimination, population, industry."""
    if totals is None:
        totals = totals_by_race(game)

    def key(race: Race) -> tuple[float, ...]:
        pop, ind, _count = totals[race.index]
        late = race.eliminated_turn if race.eliminated_turn is not None else game.turn + 1
        return (
            (1.0 if race.quit else 0.0) if race.alive else 2.0,
            -economy.effective_industry(pop, ind),
            -float(late),
            -pop,
            -ind,
            float(race.index),
        )

    return sorted(game.races, key=key)


def totals_by_race(game: Game) -> Totals:
    """Population, industry and planet count of every race."""
    totals = {race.index: [0.0, 0.0, 0] for race in game.races}
    for p in game.planets:
        if p.owner is not None:
            entry = totals[p.owner]
            entry[0] += p.pop
            entry[1] += p.ind
            entry[2] += 1
    return {k: (float(v[0]), float(v[1]), int(v[2])) for k, v in totals.items()}


def _game_end(game: Game, log: TurnLog) -> None:
    """Over when at most one race still plays (alive, not quit) or at the turn limit."""
    playing = [race for race in game.alive_races() if not race.quit]
    limit = int(game.settings.get("max_turns", 0))
    if len(playing) > 1 and not (limit and game.turn >= limit):
        return
    game.finished = True
    first = standings(game)[0]
    if len(playing) == 1:
        game.winner = playing[0].index
        reason = "only one race remains"
    elif not playing:
        game.winner = None
        reason = "no race remains"
    else:
        game.winner = first.index
        reason = f"the turn limit ({limit}) is reached"
    winner = game.races[game.winner].name if game.winner is not None else "nobody"
    log.announce("game_end", f"The game is over: {reason}. The winner is {winner}.", winner=winner)


def run_orders(game: Game, orders: Mapping[int, ParsedOrders], log: TurnLog) -> None:
    """Phases 1, 2 and 3 of the orders of every race still in the game."""
    for phase in (1, 2, 3):
        for race in game.alive_races():
            parsed = orders.get(race.index)
            if parsed is None:
                continue
            outcome = execute_orders(game, race, parsed, phase, log)
            log.errors.setdefault(race.index, []).extend(outcome.errors)
            log.warnings.setdefault(race.index, []).extend(outcome.warnings)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A race's orders for a turn as stored: the text and the lines refused on submission."""

    text: str
    errors: tuple[Issue, ...]


def _after_orders(game: Game, combat: Callable[[int], None]) -> None:
    """Steps 4 to 11 of docs/rules.md section 9 but idle removals; `combat(n)` is combat and
    bombing n, so that a forecast (which has none) runs the very same phases as a turn."""
    merge_groups(game)
    combat(1)
    route_load(game)
    update_fleets(game)
    intercept(game)
    move(game)
    merge_groups(game)
    combat(2)
    production_phase(game)
    auto_unload(game)
    route_unload(game)
    merge_groups(game)
    update_fleets(game)
    sort_groups(game)


def run_turn(game: Game, orders: Mapping[int, Submitted], rng: random.Random) -> TurnLog:
    """Run the next turn on `game` in place; `orders` are those of the races that sent any.

    Lines refused when the orders were submitted are left out, as the verdict said.
    """
    game.turn += 1
    log = TurnLog(turn=game.turn)
    parsed: dict[int, ParsedOrders] = {}
    for race in game.alive_races():
        submitted = orders.get(race.index)
        if submitted is None:
            continue
        race.last_orders = game.turn
        full = parse_orders(submitted.text)
        parsed[race.index] = lines_without(full, {issue.line for issue in submitted.errors})
        log.received[race.index] = list(full.received)
        log.errors[race.index] = list(submitted.errors)
    run_orders(game, parsed, log)
    for race_index, errors in log.errors.items():
        log.errors[race_index] = sorted(errors, key=lambda issue: issue.line)

    def combat(phase: int) -> None:
        fight_phase(game, rng, phase, log)
        bomb_phase(game, log)

    _after_orders(game, combat)
    _idle_removals(game, log)
    _eliminations(game, log)
    _game_end(game, log)
    return log


# A well-formed line the state refuses now may become possible through another race's
# orders of the same turn (an ally unloads the CAP it loads): as in GalaxyNG, it is kept.
NOT_YET = "Not possible now (kept, and tried again when the turn runs): "


def forecast_turn(game: Game, race: Race, parsed: ParsedOrders) -> Outcome:
    """Apply one race's orders and the turn's peaceful phases to `game` (a copy).

    As GalaxyNG's order checker does: no combat, no other race's orders. The errors are
    the malformed lines (dropped); lines refused by the state as it is now are warnings
    (NOT_YET), since they are carried out, or refused, when the turn runs.
    """
    game.turn += 1
    log = TurnLog(turn=game.turn)
    warnings: list[Issue] = []
    for phase in (1, 2, 3):
        outcome = execute_orders(game, race, parsed, phase, log)
        warnings.extend(Issue(i.line, i.order, NOT_YET + i.message) for i in outcome.errors)
        warnings.extend(outcome.warnings)
    _after_orders(game, lambda phase: None)
    return Outcome(
        tuple(sorted(parsed.errors, key=lambda i: i.line)),
        tuple(sorted(warnings, key=lambda i: i.line)),
    )


def lines_without(parsed: ParsedOrders, refused: set[int]) -> ParsedOrders:
    """The same orders minus the lines refused when they were submitted (malformed ones;
    orders stored by earlier versions also list lines the state refused then)."""
    kept: tuple[OrderLine, ...] = tuple(o for o in parsed.lines if o.line not in refused)
    return ParsedOrders(kept, parsed.errors, parsed.received)
