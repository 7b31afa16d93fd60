"""Carrying out orders (docs/rules.md section 10) for one race, with GalaxyNG's messages.

An order either happens (perhaps with a warning, e.g. "all available used") or is
refused with a reason and changes nothing.
"""

from collections.abc import Callable

from galaxy_engine import economy
from galaxy_engine.cargo import stock, take_stock, unload
from galaxy_engine.lookup import (
    find_fleet,
    find_group,
    find_planet,
    find_race,
    find_type,
)
from galaxy_engine.model import (
    COL,
    PRODUCTS,
    RACE_NAME_MAX,
    SHIP,
    Fleet,
    Game,
    Group,
    Planet,
    Race,
    ShipType,
)
from galaxy_engine.movement import can_reverse, recall, send, speed_of, split
from galaxy_engine.orders import (
    OrderLine,
    leading_integer,
    name_problem,
    parse_count,
    parse_number,
    race_name,
    ship_design,
)
from galaxy_engine.ships import (
    LOAD_MIN,
    group_capacity,
    group_mass,
    set_group_tech,
    upgrade_cost,
)
from galaxy_engine.turnlog import TurnLog

MAX_TYPES = 200
MAX_FLEETS = 100
MAX_GROUPS = 5000


class Refused(Exception):
    """The order cannot be carried out; the message says why."""


class Executor:
    """Carries out one race's order lines against the game; warnings land in `warnings`."""

    def __init__(self, game: Game, race: Race, log: TurnLog | None) -> None:
        self.game = game
        self.race = race
        self.log = log
        self.warnings: list[str] = []
        self._handlers: dict[str, Callable[[OrderLine], None]] = {
            "@": self._message,
            "=": self._real_name,
            "a": self._ally,
            "b": self._break,
            "c": self._rename_race,
            "d": self._design,
            "e": self._eliminate,
            "f": self._ignored,
            "g": self._upgrade,
            "h": self._reverse,
            "i": self._intercept,
            "j": self._join,
            "l": self._load,
            "m": self._map,
            "n": self._rename_planet,
            "o": self._option,
            "p": self._produce,
            "q": self._quit,
            "r": self._route,
            "s": self._send,
            "t": self._rename_type,
            "u": self._unload,
            "v": self._claim,
            "w": self._war,
            "x": self._scrap,
            "y": self._ignored,
            "z": self._ignored,
        }

    def run(self, order: OrderLine) -> list[str]:
        """Carry out one order; raises Refused. Returns the warnings it produced."""
        self.warnings = []
        self._handlers[order.letter](order)
        return self.warnings

    # --- helpers -------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def _group(self, word: str) -> Group:
        g = find_group(self.race, word)
        if g is None:
            raise Refused("Group not recognized.")
        return g

    def _planet(self, word: str, message: str = "Planet not recognized.") -> Planet:
        p = find_planet(self.game, word)
        if p is None:
            raise Refused(message)
        return p

    def _own_planet(self, word: str) -> Planet:
        p = self._planet(word)
        if p.owner != self.race.index:
            raise Refused("Planet not owned by you.")
        return p

    def _count(self, g: Group, word: str | None) -> int:
        """Ships to act on: all of them, or a count read as GalaxyNG's atoi reads it.

        0, a negative count or no number at all means every ship; "2.5" means 2; more
        than the group has means all of them. Each adjustment is a warning.
        """
        if word is None:
            return g.ships
        count = leading_integer(word)
        if count is None:
            self._warn(f'Ship count "{word}" is not a number, all available used.')
            return g.ships
        if parse_count(word) != count:
            self._warn(f'Ship count "{word}" read as {count}.')
        if count <= 0:
            self._warn("You must specify more than 0 ships, all available used.")
            return g.ships
        if count > g.ships:
            self._warn("Not enough ships, all available used.")
            return g.ships
        return count

    def _take(self, g: Group, count: int) -> Group:
        if count == g.ships:
            return g
        self._room_for_a_group()
        return split(self.race, g, count)

    def _room_for_a_group(self) -> None:
        if len(self.race.groups) >= MAX_GROUPS:
            raise Refused(f"Too many groups (at most {MAX_GROUPS}); merge or scrap some.")

    def _in_space(self, g: Group) -> bool:
        return g.dist > 0

    def _fleet_groups(self, fleet: Fleet) -> list[Group]:
        return [g for g in self.race.groups if g.fleet == fleet.id and g.ships > 0]

    def _check_new_name(self, name: str, *, kind: str) -> None:
        problem = name_problem(name, kind)
        if problem is not None:
            raise Refused(problem)
        if find_fleet(self.race, name) is not None:
            raise Refused("Name already in use for fleet.")
        if find_type(self.race, name) is not None:
            raise Refused("Name already in use for ship type.")

    # --- orders --------------------------------------------------------------------------

    def _message(self, order: OrderLine) -> None:
        recipients: list[Race] = []
        for word in order.args:
            other = find_race(self.game, word)
            if other is None:
                self._warn(f'Race "{word}" not recognized.')
            elif other not in recipients:
                recipients.append(other)
        text = "\n".join(order.message)
        if self.log is None:
            return
        if not order.args:
            self.log.announce("message", text, sender=self.race.name)
            return
        names = [r.name for r in recipients]
        for other in recipients:
            self.log.tell(other.index, "message", text, sender=self.race.name, to=names)

    def _real_name(self, order: OrderLine) -> None:
        self.race.real_name = " ".join(order.args)[:RACE_NAME_MAX]

    def _ignored(self, order: OrderLine) -> None:
        self._warn("Ignored: this engine has no passwords or email addresses.")

    def _ally(self, order: OrderLine) -> None:
        other = find_race(self.game, order.args[0])
        if other is None:
            raise Refused("Race not recognized.")
        if other.index != self.race.index and other.index not in self.race.allies:
            self.race.allies = sorted([*self.race.allies, other.index])

    def _war(self, order: OrderLine) -> None:
        peace = int(self.game.settings.get("peace_turns", 0))
        if self.game.turn < peace:
            raise Refused(f"Galactic Peace enforced until turn {peace}.")
        other = find_race(self.game, order.args[0])
        if other is None:
            raise Refused("Race not recognized.")
        self.race.allies = [i for i in self.race.allies if i != other.index]

    def _break(self, order: OrderLine) -> None:
        g = self._group(order.args[0])
        if order.args[1].casefold() == "fleet":
            if g.fleet is None:
                raise Refused("Group is not in a fleet.")
            if self._in_space(g):
                raise Refused("Fleet is in hyperspace.")
            g.fleet = None
            return
        count = parse_count(order.args[1])
        assert count is not None
        if count > g.ships:
            raise Refused("Not enough ships in group.")
        if count == g.ships:
            g.fleet = None
            return
        self._room_for_a_group()
        split(self.race, g, count).fleet = None

    def _rename_race(self, order: OrderLine) -> None:
        name = race_name(order.args[0])
        if find_race(self.game, name) is not None:
            raise Refused("Race name already in use.")
        self.race.name = name

    def _design(self, order: OrderLine) -> None:
        args = order.args
        if args[0].casefold() == "fleet":
            name = args[1]
            self._check_new_name(name, kind="fleet")
            if len(self.race.fleets) >= MAX_FLEETS:
                raise Refused(f"Too many fleets (at most {MAX_FLEETS}).")
            self.race.fleets.append(Fleet(self.race.next_fleet_id, name))
            self.race.next_fleet_id += 1
            return
        name = args[0]
        self._check_new_name(name, kind="type")
        if len(self.race.types) >= MAX_TYPES:
            raise Refused(f"Too many ship types (at most {MAX_TYPES}).")
        design = ship_design(args[1:])
        for warning in design.warnings:
            self._warn(warning)
        self.race.types.append(
            ShipType(
                self.race.next_type_id,
                name,
                design.drive,
                design.attacks,
                design.weapons,
                design.shields,
                design.cargo,
            )
        )
        self.race.next_type_id += 1

    def _eliminate(self, order: OrderLine) -> None:
        name = order.args[0]
        t = find_type(self.race, name)
        fleet = find_fleet(self.race, name)
        if fleet is not None:
            groups = self._fleet_groups(fleet)
            if any(self._in_space(g) for g in groups):
                raise Refused("Group is in hyperspace.")
            for g in groups:
                g.fleet = None
            self.race.fleets.remove(fleet)
            return
        if t is None:
            raise Refused("Ship or fleet type not recognized.")
        if any(g.type_id == t.id and g.ships > 0 for g in self.race.groups):
            raise Refused("Some of these ships still exist.")
        if any(
            p.owner == self.race.index and p.product == SHIP and p.ship_type == t.id
            for p in self.game.planets
        ):
            raise Refused("Some of these ships are still being produced.")
        self.race.types.remove(t)

    def _upgrade(self, order: OrderLine) -> None:
        g = self._group(order.args[0])
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        p = self.game.planet(g.where)
        if p.owner != self.race.index:
            raise Refused("Planet is not owned by you.")
        t = self.race.type_by_id(g.type_id)
        cost = upgrade_cost(g, t, self.race)
        available = economy.effective_industry(p.pop, p.ind) - p.spent
        if cost <= 1e-9:
            self._warn("Group is already at current tech levels.")
            return
        if available <= 0:
            raise Refused("Planet has no remaining industry.")
        count = self._count(g, order.args[1] if len(order.args) > 1 else None)
        g = self._take(g, count)
        per_ship = available / count
        r = self.race
        if per_ship >= cost:
            fraction = 1.0
        else:
            fraction = per_ship / cost
            self._warn(f"Partial upgrade: {fraction * 100:.0f}% of the way.")
        set_group_tech(
            g,
            t,
            drive=g.drive + (r.drive - g.drive) * fraction,
            weapons=g.weapons + (r.weapons - g.weapons) * fraction,
            shields=g.shields + (r.shields - g.shields) * fraction,
            cargo=g.cargo + (r.cargo - g.cargo) * fraction,
        )
        p.spent += cost * fraction * count

    def _reverse(self, order: OrderLine) -> None:
        word = order.args[0]
        fleet = find_fleet(self.race, word)
        if fleet is not None:
            groups = self._fleet_groups(fleet)
            speed = min((speed_of(self.race, g) for g in groups), default=0.0)
            if not groups or any(not self._in_space(g) for g in groups):
                raise Refused("Fleet is not in hyperspace.")
            if not all(can_reverse(g, speed) for g in groups):
                raise Refused("Fleet is too near from landing.")
            for member in groups:
                recall(self.game, member)
            return
        group = find_group(self.race, word)
        if group is None:
            raise Refused("Group or fleet not recognized.")
        if not self._in_space(group):
            raise Refused("Group is not in hyperspace.")
        if not can_reverse(group, speed_of(self.race, group)):
            raise Refused("Group is too near from landing.")
        recall(self.game, group)

    def _move_order(self, order: OrderLine, *, intercept: bool) -> None:
        word = order.args[0]
        fleet = find_fleet(self.race, word)
        g = None if fleet is not None else find_group(self.race, word)
        if fleet is None and g is None:
            raise Refused("Group or fleet not recognized.")
        target = self._planet(order.args[1])
        if fleet is not None:
            groups = self._fleet_groups(fleet)
            if not groups:
                raise Refused("Fleet has no groups.")
            if any(self._in_space(x) for x in groups):
                raise Refused("Fleet is in hyperspace.")
            if any(self.race.type_by_id(x.type_id).drive == 0 for x in groups):
                raise Refused("Fleet cannot move.")
            for x in groups:
                send(self.game, x, target)
                x.intercept = intercept
            return
        assert g is not None
        if self.race.type_by_id(g.type_id).drive == 0:
            raise Refused("Ships in this group can't move.")
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        count = self._count(g, order.args[2] if len(order.args) > 2 else None)
        g = self._take(g, count)
        g.fleet = None
        send(self.game, g, target)
        g.intercept = intercept

    def _send(self, order: OrderLine) -> None:
        self._move_order(order, intercept=False)

    def _intercept(self, order: OrderLine) -> None:
        self._move_order(order, intercept=True)

    def _join(self, order: OrderLine) -> None:
        word = order.args[0]
        source_fleet = find_fleet(self.race, word)
        if source_fleet is not None:
            target = find_fleet(self.race, order.args[1])
            if target is None:
                raise Refused("Destination fleet not recognized.")
            first = self._fleet_groups(source_fleet)
            second = self._fleet_groups(target)
            if any(self._in_space(x) for x in first):
                raise Refused("First fleet is in hyperspace.")
            if any(self._in_space(x) for x in second):
                raise Refused("Second fleet is in hyperspace.")
            if first and second and first[0].where != second[0].where:
                raise Refused("Fleets are not at the same planet.")
            for x in first:
                x.fleet = target.id
            return
        g = find_group(self.race, word)
        if g is None:
            raise Refused("Source Group or fleet not recognized.")
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        target = find_fleet(self.race, order.args[1])
        if target is None:
            raise Refused("Fleet not recognized.")
        members = self._fleet_groups(target)
        if any(self._in_space(x) for x in members):
            raise Refused("Fleet is in hyperspace.")
        if any(x.where != g.where for x in members):
            raise Refused("Group is at the wrong planet.")
        count = self._count(g, order.args[2] if len(order.args) > 2 else None)
        self._take(g, count).fleet = target.id

    @staticmethod
    def _count_and_amount(args: tuple[str, ...]) -> tuple[str | None, float | None]:
        """The optional `[n] [AMOUNT x]` tail of l and u."""
        rest = list(args)
        count = None
        if rest and rest[0].casefold() != "amount":
            count = rest.pop(0)
        amount = parse_number(rest[1]) if len(rest) > 1 else None
        return count, amount

    def _load(self, order: OrderLine) -> None:
        g = self._group(order.args[0])
        cargo = order.args[1].upper()
        t = self.race.type_by_id(g.type_id)
        if t.cargo == 0:
            raise Refused("Group cannot carry cargo.")
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        space = group_capacity(g, t)
        if space - g.load <= 1e-9:
            raise Refused("Group is fully loaded.")
        if g.load_type is not None and g.load_type != cargo:
            raise Refused("Group is already carrying a different load.")
        count_word, amount = self._count_and_amount(order.args[2:])
        if amount is not None and amount > space - g.load + 1e-9:
            raise Refused("Not enough cargo space available to carry this amount.")
        count = self._count(g, count_word)
        per_ship = amount if amount is not None else space - g.load
        p = self.game.planet(g.where)
        available = stock(p, cargo)
        if available <= 0:
            raise Refused(f'No cargo of this type available on "{p.name}".')
        # GalaxyNG's roundup2 (+0.005, then two decimals) before the minimum: 0.006 loads.
        if int((available / count + 0.005) * 100) / 100 < LOAD_MIN:
            raise Refused(
                f'Not enough cargo available on "{p.name}" to load at least '
                f"{LOAD_MIN:.2f} per ship."
            )
        if available < per_ship * count:
            if amount is not None:
                self._warn(
                    f'Not enough cargo available on "{p.name}" to load {amount:.2f} per ship, '
                    f"loading {available / count:.2f} per ship."
                )
            per_ship = available / count
        g = self._take(g, count)
        taken = min(available, per_ship * count)
        take_stock(p, cargo, taken)
        g.load += taken / g.ships
        g.load_type = cargo

    def _unload(self, order: OrderLine) -> None:
        g = self._group(order.args[0])
        if g.load_type is None:
            raise Refused("No cargo on board.")
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        p = self.game.planet(g.where)
        if g.load_type == COL and p.owner not in (None, self.race.index):
            raise Refused("Can't unload colonists onto an alien planet.")
        count_word, amount = self._count_and_amount(order.args[1:])
        if amount is not None and amount > g.load:
            self._warn(f"Group does not carry that much cargo, using amount={g.load:.2f}")
            amount = g.load
        count = self._count(g, count_word)
        g = self._take(g, count)
        unload(self.game, self.race, g, amount if amount is not None else g.load)

    def _map(self, order: OrderLine) -> None:
        x, y, size = (parse_number(w) for w in order.args[:3])
        assert x is not None
        assert y is not None
        assert size is not None
        self.race.map_x, self.race.map_y, self.race.map_size = x, y, size

    def _rename_planet(self, order: OrderLine) -> None:
        p = self._own_planet(order.args[0])
        name = order.args[1]
        other = find_planet(self.game, name)
        if other is not None and other is not p:
            raise Refused("Name already in use.")
        p.name = name

    def _option(self, order: OrderLine) -> None:
        state = True
        word = order.args[0]
        if word.casefold() in ("no", "off"):
            state = False
            word = order.args[1]
        self.race.options[word.upper()] = state

    def _produce(self, order: OrderLine) -> None:
        p = self._own_planet(order.args[0])
        word = order.args[1]
        keep = bool(self.game.settings.get("keep_production"))
        if word.upper() in PRODUCTS:
            economy.set_production(p, self.race, word.upper(), None, keep)
            return
        t = find_type(self.race, word)
        if t is None:
            raise Refused(f'Production type "{word}" not recognized.')
        if p.product != SHIP or p.ship_type != t.id:
            economy.set_production(p, self.race, SHIP, t.id, keep)

    def _quit(self, order: OrderLine) -> None:
        """GalaxyNG's q only marks the race: its planets and ships stay and keep working."""
        if find_race(self.game, order.args[0]) is not self.race:
            raise Refused("Race identification not given.")
        if self.race.quit:
            return
        self.race.quit = True
        if self.log is not None:
            self.log.announce("quit", f"{self.race.name} has quit the game.", race=self.race.name)

    def _route(self, order: OrderLine) -> None:
        word = order.args[0]
        p = self._planet(word, f'Source planet "{word}" not recognized.')
        if p.owner != self.race.index:
            raise Refused(f'You do not own planet "{p.name}".')
        cargo = order.args[1].upper()
        if len(order.args) < 3:
            p.routes.pop(cargo, None)
            return
        dest = self._planet(order.args[2], f'Destination planet "{order.args[2]}" not recognized.')
        p.routes[cargo] = dest.number

    def _rename_type(self, order: OrderLine) -> None:
        word, name = order.args[0], order.args[1]
        t = find_type(self.race, word)
        fleet = find_fleet(self.race, word)
        if t is None and fleet is None:
            raise Refused("Ship or fleet type not recognized.")
        self._check_new_name(name, kind="fleet" if fleet is not None else "type")
        if fleet is not None:
            fleet.name = name
        elif t is not None:
            t.name = name

    def _claim(self, order: OrderLine) -> None:
        p = self._planet(order.args[0])
        if self.log is not None:
            claims = self.log.claims.setdefault(self.race.index, [])
            if p.number not in claims:
                claims.append(p.number)

    def _scrap(self, order: OrderLine) -> None:
        g = self._group(order.args[0])
        if self._in_space(g):
            raise Refused("Group is in hyperspace.")
        p = self.game.planet(g.where)
        if g.load_type == COL and p.owner not in (None, self.race.index):
            raise Refused("Can't unload colonists onto an alien planet.")
        count = self._count(g, order.args[1] if len(order.args) > 1 else None)
        g = self._take(g, count)
        if g.load_type is not None:
            unload(self.game, self.race, g, g.load)
        p.mat += group_mass(g, self.race.type_by_id(g.type_id)) * g.ships
        g.ships = 0
