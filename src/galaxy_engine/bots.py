"""A simple computer player that writes GalaxyNG orders from its own JSON report.

Its plan: design a colony ship and a warship; the primary homeworld builds colony ships
once, then warships and research in turn; other planets build up industry with CAP, then research;
colony ships carry each planet's COL to the nearest free planet; warships gather and
attack the nearest alien planet of a race weaker than itself. It uses no randomness,
so the same report always gives the same orders.
"""

import math
from typing import Any

COLONIST = "Colonist"
WARSHIP = "Warship"
DESIGNS = {COLONIST: "2 0 0 0 1", WARSHIP: "3 1 3 3 0"}
RESEARCH = ("DRIVE", "WEAPONS", "SHIELDS")
ATTACK_SHIPS = 20
HOME_GUARD = 0.25


class _Bot:
    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.turn = int(report["turn"])
        self.me = report["race"]
        self.lines: list[str] = []
        self.coords: dict[int, tuple[float, float]] = {}
        self.info: dict[int, dict[str, Any]] = {}
        for p in report["planets"]:
            self.coords[p["number"]] = (p["x"], p["y"])
            self.info[p["number"]] = p
        for p in report["other_planets"]:
            self.coords[p["number"]] = (p["x"], p["y"])
            self.info[p["number"]] = p
        self.mine = {p["number"]: p for p in report["planets"]}
        self.types = {t["name"]: t for t in report["ship_types"]}
        self.targeted: set[int] = {
            g["to"] for g in report["groups"] if "to" in g and g["type"] == COLONIST
        }

    def distance(self, a: int, b: int) -> float:
        (ax, ay), (bx, by) = self.coords[a], self.coords[b]
        return math.hypot(ax - bx, ay - by)

    def order(self, line: str) -> None:
        self.lines.append(line)

    def design(self) -> None:
        for name, parts in DESIGNS.items():
            if name not in self.types:
                self.order(f"d {name} {parts}")

    def production(self) -> None:
        if not self.mine:
            return
        primary = max(self.mine.values(), key=lambda p: (p["size"], -p["number"]))
        colonists = sum(g["ships"] for g in self.report["groups"] if g["type"] == COLONIST)
        for p in sorted(self.mine.values(), key=lambda p: p["number"]):
            if p is primary:
                if colonists == 0 and self.turn < 3:
                    product = COLONIST
                elif self.turn % 4 == 3:
                    product = RESEARCH[(self.turn // 4) % len(RESEARCH)]
                else:
                    product = WARSHIP
            elif p["industry"] < p["population"] * 0.95:
                product = "CAP"
            else:
                product = RESEARCH[(self.turn + p["number"]) % len(RESEARCH)]
            if p["production"] != product:
                self.order(f"p #{p['number']} {product}")

    def _free_targets(self, origin: int) -> list[int]:
        free = [
            number
            for number, p in self.info.items()
            if p.get("status") == "uninhabited"
            and number not in self.targeted
            and (not p.get("seen") or p.get("size", 1) >= 20)
        ]
        return sorted(free, key=lambda n: (self.distance(origin, n), n))

    def colonise(self) -> None:
        capacity = 1.1 * float(self.me["cargo"])
        for g in self.report["groups"]:
            if g["type"] != COLONIST or "at" not in g:
                continue
            here = g["at"]
            planet = self.mine.get(here)
            if planet is None or planet["col"] < 1:
                home = self._best_col_planet(here)
                if home is not None and home != here:
                    self.order(f"s {g['number']} #{home}")
                continue
            targets = self._free_targets(here)
            if not targets:
                continue
            target = targets[0]
            self.targeted.add(target)
            needed = max(1, math.ceil(planet["col"] / capacity))
            if needed >= g["ships"]:
                self.order(f"l {g['number']} COL")
                self.order(f"s {g['number']} #{target}")
            else:
                self.order(f"l {g['number']} COL {needed}")
                self.order(f"s MAX #{target}")

    def _best_col_planet(self, here: int) -> int | None:
        stocked = [p for p in self.mine.values() if p["col"] >= 1]
        if not stocked:
            return None
        best = max(stocked, key=lambda p: p["col"] - self.distance(here, p["number"]) / 10)
        return int(best["number"])

    def _weaker(self, owner: str | None) -> bool:
        if owner is None:
            return True
        mine = float(self.me["production"])
        for race in self.report["races"]:
            if race["name"] == owner:
                return float(race["production"]) < mine * 1.1
        return False

    def _enemy_targets(self, origin: int) -> list[int]:
        targets = [
            number
            for number, p in self.info.items()
            if p.get("status") in ("alien", "unidentified") and self._weaker(p.get("owner"))
        ]
        return sorted(targets, key=lambda n: (self.distance(origin, n), n))

    def attack(self) -> None:
        peace_until = int(self.report["options"]["peace_turns"])
        at_peace = {r["name"] for r in self.report["races"] if r["relation"] == "peace"}
        declared: set[str] = set()
        places: dict[int, list[dict[str, Any]]] = {}
        for g in self.report["groups"]:
            if g["type"] == WARSHIP and "at" in g:
                places.setdefault(g["at"], []).append(g)
        for here in sorted(places):
            groups = sorted(places[here], key=lambda g: g["number"])
            total = sum(int(g["ships"]) for g in groups)
            at_home = here in self.mine
            if at_home and total < ATTACK_SHIPS:
                continue
            if not at_home and self.info.get(here, {}).get("status") == "alien":
                continue
            targets = self._enemy_targets(here)
            if not targets:
                continue
            target = targets[0]
            owner = str(self.info[target].get("owner"))
            if owner in at_peace and owner not in declared:
                if self.turn + 1 < peace_until:
                    continue
                self.order(f"w {owner}")
                declared.add(owner)
            guard = int(total * HOME_GUARD) if at_home else 0
            kept = 0
            for g in groups:
                if kept < guard:
                    kept += int(g["ships"])
                    continue
                self.order(f"s {g['number']} #{target}")

    def orders(self) -> str:
        if not self.me.get("alive", True):
            return ""
        self.design()
        self.production()
        self.colonise()
        self.attack()
        header = f"; orders of the reference bot for {self.me['name']}, turn {self.turn + 1}"
        return "\n".join([header, *self.lines]) + "\n"


def orders_for(report: dict[str, Any]) -> str:
    """GalaxyNG orders for the race whose JSON report this is (deterministic)."""
    return _Bot(report).orders()
