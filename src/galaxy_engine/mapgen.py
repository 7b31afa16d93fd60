"""Map generation (docs/rules.md section 2), deterministic from the game's seed.

Per race: a primary homeworld on a disc inside the galaxy, spaced from every owned
planet; secondary homeworlds around it; development ("empty") planets of a fixed total
size nearby; small "stuff" planets anywhere. Planets are numbered in creation order,
then the data of unowned planets is shuffled with 2000 random swaps.
"""

import math
import random
from collections.abc import Sequence
from typing import Any

from galaxy_engine.model import CAP, DRIVE, Planet, Race
from galaxy_engine.ships import trunc2

PRIMARY_TRIES = 4000
PLACEMENT_TRIES = 100000
HOMEWORLD_RESOURCES = 10.0
EMPTY_SIZE_MIN = 80.0
EMPTY_SIZE_MAX = 1000.0
EMPTY_TOTAL_LOW = 600.0
EMPTY_TOTAL_HIGH = 700.0
SHUFFLE_SWAPS = 2000


class MapGenerationError(Exception):
    """The galaxy is too small for the races and spacing asked for."""


def map_random(seed: int) -> random.Random:
    return random.Random(f"galaxy-engine:map:{seed}")  # noqa: S311 - seeded game randomness


def turn_random(seed: int, turn: int) -> random.Random:
    """The one random source of a turn, seeded from (seed, turn)."""
    return random.Random(f"galaxy-engine:turn:{seed}:{turn}")  # noqa: S311 - seeded game randomness


class _Builder:
    def __init__(self, settings: dict[str, Any], rng: random.Random) -> None:
        self.size = float(settings["galaxy_size"])
        self.settings = settings
        self.rng = rng
        self.planets: list[Planet] = []
        self.taken: set[tuple[int, int]] = set()

    def _free(self, x: float, y: float) -> bool:
        if not (0.0 <= x < self.size and 0.0 <= y < self.size):
            return False
        return (int(x * 100), int(y * 100)) not in self.taken

    def _add(self, x: float, y: float, size: float, resources: float, owner: int | None) -> Planet:
        number = len(self.planets) + 1
        planet = Planet(number=number, name=str(number), x=x, y=y, size=size, resources=resources)
        if owner is not None:
            planet.owner = owner
            planet.pop = size
            planet.ind = size
            planet.product = DRIVE
        else:
            planet.product = CAP
        self.taken.add((int(x * 100), int(y * 100)))
        self.planets.append(planet)
        return planet

    def primary(self, race: int, size: float) -> Planet:
        half = self.size / 2.0
        spacing = float(self.settings["race_spacing"])
        for _ in range(PRIMARY_TRIES):
            beta = math.radians(self.rng.random() * 360.0)
            radius = self.rng.random() * (half - 4.0)
            x = trunc2(radius * math.cos(beta) + half)
            y = trunc2(radius * math.sin(beta) + half)
            if not self._free(x, y):
                continue
            if any(
                p.owner is not None and (p.x - x) ** 2 + (p.y - y) ** 2 <= spacing * spacing
                for p in self.planets
            ):
                continue
            return self._add(x, y, size, HOMEWORLD_RESOURCES, race)
        raise MapGenerationError(
            f"cannot space {race + 1} homeworlds {spacing:g} light-years apart in a "
            f"{self.size:g} galaxy; use a larger galaxy_size or a smaller race_spacing"
        )

    def _around(self, cx: float, cy: float, low: float, high: float) -> tuple[float, float]:
        for _ in range(PLACEMENT_TRIES):
            radius = low + self.rng.random() * (high - low)
            angle = math.radians(self.rng.random() * 360.0)
            x = trunc2(cx + math.sin(angle) * radius)
            y = trunc2(cy + math.cos(angle) * radius)
            if self._free(x, y):
                return x, y
        raise MapGenerationError("no free place for a planet; use a larger galaxy_size")

    def secondary(self, race: int, primary: Planet, size: float) -> None:
        radius = float(self.settings["secondary_radius"])
        x, y = self._around(primary.x, primary.y, 1.0, radius)
        self._add(x, y, size, HOMEWORLD_RESOURCES, race)

    def empty_planets(self, primary: Planet) -> None:
        count = int(self.settings["empty_planets"])
        if count == 0:
            return
        sizes = [
            EMPTY_SIZE_MIN + self.rng.random() * (EMPTY_SIZE_MAX - EMPTY_SIZE_MIN)
            for _ in range(count)
        ]
        total = sum(sizes)
        low, high = count * EMPTY_TOTAL_LOW, count * EMPTY_TOTAL_HIGH
        for _ in range(PLACEMENT_TRIES):
            if low <= total <= high:
                break
            step = 7.5 + self.rng.random() * 5.0
            pick = self.rng.randrange(count)
            if total > high:
                sizes[pick] -= step
                total -= step
            else:
                sizes[pick] += step
                total += step
            if sizes[pick] < 20.0:
                sizes[pick] += step
                total += step
            if sizes[pick] > 980.0:
                sizes[pick] -= step
                total -= step
        radius = float(self.settings["empty_radius"])
        for size in sizes:
            x, y = self._around(primary.x, primary.y, 0.2, radius)
            resources = trunc2(0.3 + 8.0 ** self._signed())
            self._add(x, y, size, resources, None)

    def stuff_planets(self) -> None:
        for _ in range(int(self.settings["stuff_planets"])):
            for _ in range(PLACEMENT_TRIES):
                x = trunc2(self.rng.random() * self.size)
                y = trunc2(self.rng.random() * self.size)
                if self._free(x, y):
                    break
            else:
                raise MapGenerationError("no free place for a planet; use a larger galaxy_size")
            size = 2.0 + self.rng.random() * 170.0
            resources = trunc2(2.0 ** self._signed())
            self._add(x, y, size, resources, None)

    def _signed(self) -> float:
        return self.rng.random() * 2.0 - 1.0

    def shuffle(self) -> None:
        """2000 random swaps of the data of two unowned planets, so numbers tell nothing."""
        n = len(self.planets)
        for _ in range(SHUFFLE_SWAPS):
            a = self.planets[self.rng.randrange(n)]
            b = self.planets[self.rng.randrange(n)]
            if a.owner is None and b.owner is None and a is not b:
                a.x, b.x = b.x, a.x
                a.y, b.y = b.y, a.y
                a.size, b.size = b.size, a.size
                a.pop, b.pop = b.pop, a.pop
                a.ind, b.ind = b.ind, a.ind
                a.resources, b.resources = b.resources, a.resources


def generate_planets(settings: dict[str, Any], races: int, seed: int) -> list[Planet]:
    """Every planet of a new galaxy, numbered from 1, for `races` races in list order."""
    builder = _Builder(settings, map_random(seed))
    core: Sequence[float] = settings["core_sizes"]
    for race in range(races):
        primary = builder.primary(race, float(core[0]))
        for size in core[1:]:
            builder.secondary(race, primary, float(size))
        builder.empty_planets(primary)
        builder.stuff_planets()
    builder.shuffle()
    return builder.planets


def new_race(index: int, player_id: str, name: str, settings: dict[str, Any]) -> Race:
    """A race at turn 0: starting tech, no ships and no ship types."""
    size = float(settings["galaxy_size"])
    return Race(
        index=index,
        player_id=player_id,
        name=name,
        drive=float(settings["initial_drive"]),
        weapons=float(settings["initial_weapons"]),
        shields=float(settings["initial_shields"]),
        cargo=float(settings["initial_cargo"]),
        map_x=0.0,
        map_y=0.0,
        map_size=size,
    )
