"""Finding what an order names: a group by number or MAX, a fleet, ship type or race by
name, a planet by name or #number."""

from collections.abc import Iterable
from typing import Protocol, TypeVar

from galaxy_engine.model import (
    Fleet,
    Game,
    Group,
    Planet,
    Race,
    ShipType,
    normalise_name,
)
from galaxy_engine.orders import (
    parse_count,
)


def find_group(race: Race, word: str) -> Group | None:
    if word.casefold() == "max":
        # GalaxyNG's findgroup: the last group of the race's list, which after SortGroups
        # renumbering is not always the one with the highest number.
        last = race.groups[-1] if race.groups else None
        return last if last is not None and last.ships > 0 else None
    number = parse_count(word)
    return next((g for g in race.groups if g.ships > 0 and g.number == number), None)


class _Named(Protocol):
    name: str


_T = TypeVar("_T", bound=_Named)


def _by_name(items: Iterable[_T], word: str) -> _T | None:
    """The first item whose name matches `word` as names are compared (normalise_name)."""
    key = normalise_name(word)
    return next((item for item in items if normalise_name(item.name) == key), None)


def find_fleet(race: Race, word: str) -> Fleet | None:
    return _by_name(race.fleets, word)


def find_type(race: Race, word: str) -> ShipType | None:
    return _by_name(race.types, word)


def find_planet(game: Game, word: str) -> Planet | None:
    """A planet by `#number` (its number at turn 0) or by its current name."""
    if word.startswith("#"):
        digits = word[1:]
        # ASCII digits only: int() refuses "²" and strings over 4300 digits.
        if digits.isascii() and digits.isdigit() and len(digits) <= 9:
            number = int(digits)
            if 1 <= number <= len(game.planets):
                return game.planet(number)
        return None
    return _by_name(game.planets, word)


def find_race(game: Game, word: str) -> Race | None:
    return _by_name(game.races, word)
