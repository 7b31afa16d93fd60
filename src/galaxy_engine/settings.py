"""Game settings as data: declared once, validated, described as a schema.

The lobby imports this module (and `galaxy_engine.version`) at game creation, so it
imports nothing but the standard library and runs nothing at import time.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INTEGER = "integer"
NUMBER = "number"
BOOLEAN = "boolean"
NUMBER_LIST = "number_list"


@dataclass(frozen=True, slots=True)
class Setting:
    """One declared setting; `minimum`/`maximum` bound each number (each item of a list)."""

    name: str
    type: str
    default: object
    description: str
    minimum: float | None = None
    maximum: float | None = None
    min_items: int | None = None
    max_items: int | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "galaxy_size",
        NUMBER,
        200.0,
        "Side of the square galaxy in light-years.",
        minimum=20.0,
        maximum=2000.0,
    ),
    Setting(
        "race_spacing",
        NUMBER,
        25.0,
        "Least distance between a new primary homeworld and any owned planet.",
        minimum=0.0,
        maximum=500.0,
    ),
    Setting(
        "core_sizes",
        NUMBER_LIST,
        (1000.0, 400.0),
        "Sizes of each race's homeworlds; the first is the primary, the rest secondaries.",
        minimum=1.0,
        maximum=10000.0,
        min_items=1,
        max_items=10,
    ),
    Setting(
        "secondary_radius",
        NUMBER,
        3.0,
        "Secondary homeworlds lie 1 to this many light-years from the primary.",
        minimum=1.0,
        maximum=100.0,
    ),
    Setting(
        "empty_planets",
        INTEGER,
        6,
        "Development planets per race around its primary (total size 600-700 each).",
        minimum=0,
        maximum=40,
    ),
    Setting(
        "empty_radius",
        NUMBER,
        30.0,
        "Development planets lie 0.2 to this many light-years from the primary.",
        minimum=1.0,
        maximum=500.0,
    ),
    Setting(
        "stuff_planets",
        INTEGER,
        5,
        "Small planets per race scattered anywhere in the galaxy.",
        minimum=0,
        maximum=100,
    ),
    Setting(
        "initial_drive",
        NUMBER,
        1.0,
        "Drive technology every race starts with.",
        minimum=1.0,
        maximum=100.0,
    ),
    Setting(
        "initial_weapons",
        NUMBER,
        1.0,
        "Weapons technology every race starts with.",
        minimum=1.0,
        maximum=100.0,
    ),
    Setting(
        "initial_shields",
        NUMBER,
        1.0,
        "Shields technology every race starts with.",
        minimum=1.0,
        maximum=100.0,
    ),
    Setting(
        "initial_cargo",
        NUMBER,
        1.0,
        "Cargo technology every race starts with.",
        minimum=1.0,
        maximum=100.0,
    ),
    Setting(
        "max_turns",
        INTEGER,
        0,
        "The game ends after this turn (0 = no turn limit).",
        minimum=0,
        maximum=100000,
    ),
    Setting(
        "full_bombing",
        BOOLEAN,
        False,
        "Bombing wipes a planet out and leaves it unowned (GalaxyNG FullBombing).",
    ),
    Setting(
        "keep_production",
        BOOLEAN,
        False,
        "Changing a planet's product keeps its carried progress (GalaxyNG KeepProduction).",
    ),
    Setting(
        "peace_turns",
        INTEGER,
        0,
        "Races start allied and cannot declare war before this turn (GalaxyNG Peace).",
        minimum=0,
        maximum=100000,
    ),
    Setting(
        "spherical",
        BOOLEAN,
        False,
        "Distances wrap around the galaxy's edges (GalaxyNG SphericalGalaxy).",
    ),
    Setting(
        "drop_idle_races",
        BOOLEAN,
        False,
        "Remove races that miss 3 turns in a row (6 from turn 12 on), or never sent orders.",
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


class SettingsError(Exception):
    """Invalid settings; `errors` lists every offending field with a message."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _bound_error(setting: Setting, value: float) -> str | None:
    if setting.minimum is not None and value < setting.minimum:
        return f"must be at least {_show(setting.minimum)}"
    if setting.maximum is not None and value > setting.maximum:
        return f"must be at most {_show(setting.maximum)}"
    return None


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check(setting: Setting, value: object) -> tuple[object, str | None]:
    """The normalised value of one setting, or an error message."""
    if setting.type == BOOLEAN:
        if not isinstance(value, bool):
            return None, "must be a boolean"
        return value, None
    if setting.type == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                return None, "must be an integer"
        return value, _bound_error(setting, value)
    if setting.type == NUMBER:
        if not _is_number(value):
            return None, "must be a number"
        number = float(value)  # type: ignore[arg-type]
        return number, _bound_error(setting, number)
    if not isinstance(value, list | tuple) or not all(_is_number(v) for v in value):
        return None, "must be a list of numbers"
    items = [float(v) for v in value]
    if setting.min_items is not None and len(items) < setting.min_items:
        return None, f"must have at least {setting.min_items} item(s)"
    if setting.max_items is not None and len(items) > setting.max_items:
        return None, f"must have at most {setting.max_items} items"
    for item in items:
        message = _bound_error(setting, item)
        if message is not None:
            return None, f"every item {message}"
    return items, None


def defaults() -> dict[str, object]:
    """Every setting at its default."""
    return validate_settings({})


def validate_settings(raw: Mapping[str, object]) -> dict[str, object]:
    """The complete settings (defaults filled in), or SettingsError listing every problem."""
    if not isinstance(raw, Mapping):
        raise SettingsError([{"field": "settings", "message": "must be an object"}])
    errors: list[dict[str, str]] = []
    for key in sorted(k for k in raw if k not in _BY_NAME):
        errors.append({"field": str(key), "message": "unknown setting"})
    result: dict[str, object] = {}
    for setting in SETTINGS:
        value = raw.get(setting.name, setting.default)
        normalised, message = _check(setting, value)
        if message is not None:
            errors.append({"field": setting.name, "message": message})
        else:
            result[setting.name] = normalised
    if errors:
        raise SettingsError(errors)
    return result


def settings_schema() -> dict[str, Any]:
    """A JSON-Schema description of the settings object, for OpenAPI and documentation."""
    properties: dict[str, Any] = {}
    for setting in SETTINGS:
        entry: dict[str, Any] = {"description": setting.description}
        bounds: dict[str, Any] = {}
        if setting.minimum is not None:
            bounds["minimum"] = setting.minimum
        if setting.maximum is not None:
            bounds["maximum"] = setting.maximum
        if setting.type == NUMBER_LIST:
            entry["type"] = "array"
            entry["items"] = {"type": "number", **bounds}
            entry["default"] = list(setting.default)  # type: ignore[call-overload]
            if setting.min_items is not None:
                entry["minItems"] = setting.min_items
            if setting.max_items is not None:
                entry["maxItems"] = setting.max_items
        else:
            entry["type"] = setting.type
            entry["default"] = setting.default
            entry.update(bounds)
        properties[setting.name] = entry
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
